"""A call flow as data: nodes, and a (node, outcome) -> next-node table.

Nodes are small objects with ``name``, ``outcomes`` (every outcome ``run`` may return) and
``run(ctx) -> outcome``. ``END`` ends the flow. ``Flow.check`` proves at load time that
every outcome leads somewhere, every node is reachable and every path ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping, Protocol

END = "end"


class Node(Protocol):
    name: str
    outcomes: tuple[str, ...]

    def run(self, ctx) -> str: ...


@dataclass(frozen=True)
class Flow:
    """start: first node id; nodes: id -> Node; transitions: (id, outcome) -> id or END."""

    start: str
    nodes: Mapping[str, Node]
    transitions: Mapping[tuple[str, str], str]

    def next(self, node_id: str, outcome: str) -> str:
        """The node after ``node_id`` for ``outcome``; raises KeyError for an unknown pair."""
        return self.transitions[(node_id, outcome)]

    def check(self) -> list[str]:
        """Graph problems as messages (empty when sound)."""
        problems = []
        if self.start not in self.nodes:
            problems.append(f"start node {self.start!r} does not exist")
        for node_id, node in self.nodes.items():
            for outcome in node.outcomes:
                target = self.transitions.get((node_id, outcome))
                if target is None:
                    problems.append(f"{node_id}: outcome {outcome!r} leads nowhere")
                elif target != END and target not in self.nodes:
                    problems.append(f"{node_id}: outcome {outcome!r} leads to missing node {target!r}")
        reachable, todo = set(), [self.start]
        while todo:
            node_id = todo.pop()
            if node_id in reachable or node_id == END or node_id not in self.nodes:
                continue
            reachable.add(node_id)
            todo.extend(self.transitions.get((node_id, o)) for o in self.nodes[node_id].outcomes)
        for node_id in self.nodes:
            if node_id not in reachable:
                problems.append(f"{node_id}: unreachable")
        return problems


class FlowBuilder:
    """Collects nodes in order; ``then`` wires the default ``next`` outcome to the following node."""

    def __init__(self):
        self._nodes: dict[str, Node] = {}
        self._order: list[str] = []
        self._edges: dict[tuple[str, str], str] = {}

    def add(self, node_id: str, node: Node, **edges: str) -> "FlowBuilder":
        """Add ``node``; ``edges`` maps outcome -> target node id (or END)."""
        if node_id in self._nodes:
            raise ValueError(f"duplicate node {node_id}")
        self._nodes[node_id] = node
        self._order.append(node_id)
        for outcome, target in edges.items():
            self._edges[(node_id, outcome)] = target
        return self

    def build(self) -> Flow:
        """Wire each node's unbound ``next`` outcome to the node after it (END for the last).

        Other outcomes must be wired explicitly; ``Flow.check`` reports any left loose.
        """
        for i, node_id in enumerate(self._order):
            following = self._order[i + 1] if i + 1 < len(self._order) else END
            if "next" in self._nodes[node_id].outcomes:
                self._edges.setdefault((node_id, "next"), following)
        return Flow(self._order[0], MappingProxyType(dict(self._nodes)), MappingProxyType(dict(self._edges)))
