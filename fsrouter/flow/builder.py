"""Build a line's Flow from its YAML: one node per routing step that applies, in the spec's order.

The main chain, in the order of number-settings.md §1 (each node's ``next`` goes to the
node after it, so a step that does not apply passes the call on)::

    answer -> working_hours -> sip_to_header -> greeting (+ extension dialing) -> ivr
           -> crm_responsible -> group -> group_no_answer          (or hangup: no group)

An IVR key that leads to a group runs the same crm_responsible node before that group.

Steps a line does not use are simply absent from its graph. ``answered`` goes to
``after_answer`` (the end for now: the place for post-call steps such as rating); ``done``
ends the flow. Side branches (after_hours) are added after the main chain and are reached
only by their explicit edges.
"""

from __future__ import annotations

from fsrouter.flow.graph import END, Flow, FlowBuilder
from fsrouter.flow.nodes.basic import Answer, Greeting, Hangup
from fsrouter.flow.nodes.crm_card import CrmCard
from fsrouter.flow.nodes.crm_responsible import CrmResponsible
from fsrouter.flow.nodes.extension import GreetingWithExtension
from fsrouter.flow.nodes.group import GroupNoAnswer, RingGroup
from fsrouter.flow.nodes.hours import AfterHours, WorkingHoursCheck
from fsrouter.flow.nodes.ivr import Ivr
from fsrouter.flow.nodes.recording import StartRecording
from fsrouter.flow.nodes.sip_to import SipToHeader


def longest_extension(config) -> int:
    """Digits of the longest extension in employees.yaml (how many digits to collect)."""
    return max((len(e.extension) for e in config.employees.values()), default=4)


def build_flow(line, config) -> Flow:
    """The call flow of ``line`` (a flow.model.Line) within ``config``; pure, no I/O."""
    routing = line.routing
    after_answer = END
    b = FlowBuilder()
    if line.crm.enabled:  # the card goes out before answer, while the phone rings
        b.add("crm_card", CrmCard())
    b.add("answer", Answer())
    # working hours: before the greeting (and before any ringing or recording)
    if line.working_hours.enabled:
        b.add("working_hours", WorkingHoursCheck(), closed="after_hours")
    # recording: warning + record_session, once per call; only calls that are routed (an
    # after-hours caller leaves a voice message, which is a recording of its own)
    if line.recording.enabled:
        b.add("recording", StartRecording())
    # 1. the extension in the SIP To header (sip_pbx lines)
    if routing.sip_to_header:
        b.add("sip_to_header", SipToHeader(routing.extension_dialing.ring_time), answered=after_answer)
    # 2. greeting, 3. with extension dialing during it
    if routing.greeting and routing.extension_dialing.enabled:
        b.add("greeting", GreetingWithExtension(routing.extension_dialing, longest_extension(config)),
              answered=after_answer, done=END)
    elif routing.greeting:
        b.add("greeting", Greeting())
    # 5. the CRM's responsible manager, also before a group an IVR key leads to
    crm_responsible = CrmResponsible(routing.crm_responsible) if routing.crm_responsible.enabled else None
    # 4. IVR
    if routing.ivr:
        b.add("ivr", Ivr(routing.ivr, config.menus, routing.extension_dialing, longest_extension(config),
                         crm_responsible=crm_responsible),
              answered=after_answer, done=END)
    if crm_responsible is not None:
        b.add("crm_responsible", crm_responsible, answered=after_answer, done=END)
    # 6. the group (skip_absent, 7., applies inside every step that rings)
    if routing.group:
        group = config.groups[routing.group]
        b.add("group", RingGroup(group), answered=after_answer, no_answer="group_no_answer")
        b.add("group_no_answer", GroupNoAnswer(group, line.outbound.gateway), done=END)
    else:
        b.add("hangup", Hangup(reason="no_route"), done=END)
    # side branches
    if line.working_hours.enabled:
        b.add("after_hours", AfterHours(), done=END)
    return b.build()
