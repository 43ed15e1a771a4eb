"""settings.yaml ``crm_webhook:``: where CRM cards are POSTed (see fsrouter.flow.webhook)."""

from __future__ import annotations

from typing import Optional

from pydantic import Field, field_validator

from fsrouter.flow.model_base import Frozen


class CrmWebhook(Frozen):
    """url: http(s) URL the card JSON is POSTed to; secret_env: name of the environment
    variable holding the secret header's value (the value itself never goes in YAML or
    logs); secret_header: that header's name; timeout: s per attempt; retries: extra
    attempts after a failure (0..10)."""

    url: str = Field(pattern=r"^https?://[^\s/]+")
    secret_env: Optional[str] = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    secret_header: str = Field("X-Fsrouter-Secret", pattern=r"^[A-Za-z0-9-]+$")
    timeout: float = Field(5, gt=0, le=60)
    retries: int = Field(3, ge=0, le=10)

    @field_validator("url")
    @classmethod
    def _no_credentials(cls, value: str) -> str:
        if "@" in value.split("/", 3)[2]:
            raise ValueError("put no credentials in the URL: use secret_env")
        return value
