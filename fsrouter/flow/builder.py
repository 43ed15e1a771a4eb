"""Build a line's Flow from its YAML: one node per routing step that applies, in the spec's order.

Steps that a line does not use are simply absent from its graph, so the call passes on.
"""

from __future__ import annotations

from fsrouter.flow.graph import END, Flow, FlowBuilder
from fsrouter.flow.nodes.basic import Answer, Greeting, Hangup
from fsrouter.flow.nodes.group import GroupNoAnswer, RingGroup


def build_flow(line, config) -> Flow:
    """The call flow of ``line`` (a flow.model.Line) within ``config``; pure, no I/O."""
    b = FlowBuilder()
    b.add("answer", Answer())
    if line.routing.greeting:
        b.add("greeting", Greeting())
    if line.routing.group:
        group = config.groups[line.routing.group]
        b.add("group", RingGroup(group), answered=END, no_answer="group_no_answer")
        b.add("group_no_answer", GroupNoAnswer(group, line.outbound.gateway), done=END)
    else:
        b.add("hangup", Hangup(reason="no_route"), done=END)
    return b.build()
