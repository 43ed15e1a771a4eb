"""What the flow needs from a live call: a small protocol, so flow tests can use a fake call.

``fsrouter.session.call.Call`` implements it over a real socket.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Protocol

from fsrouter.session.call import BridgeResult, RecordResult


class CallPort(Protocol):
    """A live call. Every method raises ``CallHungUp`` once the caller is gone."""

    uuid: str | None
    destination: str  # Caller-Destination-Number
    caller: str  # Caller-Caller-ID-Number
    created_at: datetime  # Caller-Channel-Created-Time, UTC
    is_up: bool
    hangup_cause: str | None

    def variable(self, name: str) -> str | None: ...
    def answer(self) -> None: ...
    def set(self, name: str, value: str) -> None: ...
    def execute(self, app: str, arg: str | None = None, *, timeout_s: float | None = None): ...
    def playback(self, path: str) -> str: ...
    def play_and_get_digits(self, prompt: str, *, min_digits: int = 1, max_digits: int = 1,
                            tries: int = 1, timeout_s: float = 5.0, terminators: str = "#",
                            invalid_prompt: str = ..., regex: str = ...,
                            digit_timeout_s: float | None = None) -> str | None: ...
    def bridge(self, dial_string: str, *, ring_time_s: float,
               on_answer: Callable[[str | None], None] | None = None) -> BridgeResult: ...
    def record(self, path: str, *, max_s: int, silence_threshold: int = 200,
               silence_hits_s: int = 3) -> RecordResult: ...
    def hangup(self, cause: str = "NORMAL_CLEARING") -> None: ...
    def end(self, cause: str = "NORMAL_CLEARING", *, timeout_s: float = 10.0): ...
