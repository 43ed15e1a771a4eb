"""Step 1 (``sip_pbx`` lines): ring the extension the customer's PBX put in the SIP To header.

FreeSWITCH's sofia module exposes the To header as channel variables: ``sip_to_user``
(``101``), ``sip_to_uri`` (``101@pbx.example.com``) and ``sip_to_params`` (the URI
parameters, e.g. ``ext=101;transport=udp``, where some PBXs put the extension when the
user part carries the DID). The first candidate that is a known extension wins.
"""

from __future__ import annotations

from fsrouter.esl import names as N
from fsrouter.flow.nodes.employee import ring_one

#: URI parameters some PBXs use for the internal extension.
EXTENSION_PARAMS = ("ext", "extension", "x-ext")


def to_header_extensions(variable) -> list[str]:
    """Candidate extensions from the To header, in order; ``variable(name) -> str | None``."""
    found = []
    user = (variable(N.Var.SIP_TO_USER) or "").split(";", 1)[0]
    if user:
        found.append(user)
    for param in (variable(N.Var.SIP_TO_PARAMS) or "").split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() in EXTENSION_PARAMS and value.strip():
            found.append(value.strip())
    uri = variable(N.Var.SIP_TO_URI) or ""
    uri_user = uri.split(":", 1)[-1] if uri.lower().startswith(("sip:", "sips:", "tel:")) else uri
    uri_user = uri_user.split("@", 1)[0].split(";", 1)[0]
    if uri_user:
        found.append(uri_user)
    return [c for i, c in enumerate(found) if c and c not in found[:i]]


class SipToHeader:
    """Ring the employee whose extension is in the SIP To header, ``ring_time_s`` seconds.

    Outcomes: ``answered``; ``next`` (no To header, unknown extension, or not answered).
    """

    name = "sip_to_header"
    outcomes = ("answered", "next")

    def __init__(self, ring_time_s: int):
        self.ring_time_s = ring_time_s

    def run(self, ctx) -> str:
        candidates = to_header_extensions(ctx.call.variable)
        employee = next((e for e in map(ctx.config.employee_by_extension, candidates) if e), None)
        if employee is None:
            ctx.step("sip_to_header", extension=candidates[0] if candidates else None,
                     result="unknown_extension" if candidates else "no_to_header")
            return "next"
        outcome = ring_one(ctx, employee, ring_time_s=self.ring_time_s, step="sip_to_header",
                           extension=employee.extension)
        return "answered" if outcome == "answered" else "next"
