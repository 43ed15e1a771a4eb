"""Calls employees place (number-settings.md §5 "Outbound line selection"): which line, which number.

An employee's call reaches fsrouter through the generated dialplan's ``fsrouter-outbound``
extension (fsrouter.freeswitch_dialplan), which sets the channel variable
``fsrouter_direction=outbound``. :func:`placed_call` reads such a call:

* the employee: the one whose extension is ``Caller-Caller-ID-Number``, else
  ``variable_sip_from_user``;
* the line: the selectable line whose ``outbound.prefix`` starts the dialed string
  (``Caller-Destination-Number``; the prefix is stripped: ``*123*380954558888`` ->
  ``380954558888``), else the employee's ``default_line``;
* the number: the rest, normalised to E.164 with ``settings.country``
  (``380954558888``, ``0954558888`` and ``+380954558888`` all give ``+380954558888``).

Refusals (``Placed.refused``): ``unknown_employee``, ``no_line`` (no prefix matched and no
``default_line``), ``not_a_number``, ``not_allowed`` (not in the line's
``allowed_employees``). :func:`build_outbound_flows` builds, at catalog build time, one
outbound Flow per line plus one for calls that found no line; the nodes are in
:mod:`fsrouter.flow.nodes.outbound`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from fsrouter.esl import names as N
from fsrouter.flow.graph import END, Flow, FlowBuilder
from fsrouter.flow.nodes.crm_card import CrmCard
from fsrouter.flow.nodes.outbound import DialOut, OutboundGate, RefuseOutbound
from fsrouter.flow.nodes.recording import StartRecording
from fsrouter.flow.phone import normalize

#: Value of the ``fsrouter_direction`` channel variable that marks a call an employee places.
OUTBOUND = "outbound"


@dataclass(frozen=True)
class Placed:
    """An outgoing call as read from its channel.

    employee: flow.model.Employee or None; line: the chosen Line or None; dialed: the
    string the employee dialed; prefix: the prefix that chose the line (None: the
    default line); number: the E.164 number to dial, or None; refused: None, or why the
    call may not go out (see the module docstring).
    """

    employee: object | None
    line: object | None
    dialed: str
    prefix: str | None
    number: str | None
    refused: str | None

    def as_extra(self) -> dict:
        """What the call record keeps (``CallRecord.extra["outbound"]``): JSON-ready."""
        return {"employee": self.employee.id if self.employee else None, "dialed": self.dialed,
                "prefix": self.prefix, "number": self.number, "refused": self.refused}


class PlacedCallView:
    """The call as an outgoing call's flow and record see it: ``destination`` is the E.164
    number dialed (prefix stripped; the dialed string when it is not a number) and
    ``caller`` the employee's extension; everything else is the live call's."""

    def __init__(self, call, *, destination: str, caller: str):
        self._call = call
        self.destination = destination
        self.caller = caller

    def __getattr__(self, name: str):
        return getattr(self._call, name)


def is_outbound(call) -> bool:
    """True when the dialplan marked the call as placed by an employee (``fsrouter_direction``)."""
    return (call.variable(N.Var.FSROUTER_DIRECTION) or "").lower() == OUTBOUND


def calling_employee(call, config):
    """The employee placing ``call``.

    FreeSWITCH's ``user_name`` (the directory user the phone authenticated as) decides
    when it is set: the caller ID and ``sip_from_user`` come from the phone itself, so an
    employee could otherwise pose as a colleague allowed on a line. Without ``user_name``
    (a call from a trusted trunk or loopback), ``Caller-Caller-ID-Number``, then
    ``sip_from_user``.
    """
    user = call.variable(N.Var.USER_NAME)
    if user:
        return config.employee_by_extension(user)
    for candidate in (call.caller, call.variable(N.Var.SIP_FROM_USER)):
        employee = config.employee_by_extension(candidate or "")
        if employee is not None:
            return employee
    return None


def choose(config, employee, dialed: str) -> Placed:
    """Pick the line and number for ``employee`` dialing ``dialed`` (pure; see the module docstring)."""
    if employee is None:
        return Placed(None, None, dialed, None, None, "unknown_employee")
    match = config.outbound_line_for(dialed)
    if match is not None:
        line, rest = match
        prefix = line.outbound.prefix
    else:
        line, rest, prefix = config.lines.get(employee.default_line or ""), dialed, None
    if line is None:
        return Placed(employee, None, dialed, None, None, "no_line")
    number = normalize(rest, config.settings.country)
    if number is None:
        return Placed(employee, line, dialed, prefix, None, "not_a_number")
    if employee.id not in line.outbound.allowed_employees:
        return Placed(employee, line, dialed, prefix, number, "not_allowed")
    return Placed(employee, line, dialed, prefix, number, None)


def placed_call(call, config) -> "tuple[Placed, PlacedCallView] | None":
    """For an outgoing call (:func:`is_outbound`): what was placed and the call's view; else None."""
    if not is_outbound(call):
        return None
    employee = calling_employee(call, config)
    placed = choose(config, employee, call.destination)
    view = PlacedCallView(call, destination=placed.number or call.destination,
                          caller=employee.extension if employee else call.caller)
    return placed, view


def build_line_outbound_flow(line) -> Flow:
    """The flow of an employee's call out of ``line``: gate (refusals), CRM card, recording,
    then the bridge through the line's gateway. Pure, no I/O."""
    b = FlowBuilder()
    b.add("outbound_gate", OutboundGate(), refused="outbound_refused")
    if line.crm.enabled:
        b.add("crm_card", CrmCard())
    if line.recording.enabled:  # no warning on outgoing calls: StartRecording checks the direction
        b.add("recording", StartRecording())
    b.add("dial_out", DialOut(line), done=END)
    b.add("outbound_refused", RefuseOutbound(), done=END)
    return b.build()


def build_unrouted_flow() -> Flow:
    """The flow of an outgoing call that found no line (unknown employee, no default line)."""
    return FlowBuilder().add("outbound_refused", RefuseOutbound(), done=END).build()


@dataclass(frozen=True)
class OutboundFlows:
    """by_line: line id -> that line's outbound Flow; unrouted: the flow for calls without a line."""

    by_line: Mapping[str, Flow]
    unrouted: Flow

    def flow_for(self, line) -> Flow:
        return self.unrouted if line is None else self.by_line[line.id]

    def check(self) -> list[tuple[str | None, str]]:
        """Graph problems as (line id or None, message)."""
        problems = [(line_id, p) for line_id, flow in self.by_line.items() for p in flow.check()]
        return problems + [(None, p) for p in self.unrouted.check()]


def build_outbound_flows(config) -> OutboundFlows:
    """Every line's outbound flow and the unrouted one (called when the Catalog is built)."""
    flows = {line_id: build_line_outbound_flow(line) for line_id, line in config.lines.items()}
    return OutboundFlows(MappingProxyType(flows), build_unrouted_flow())
