"""The DID catalog: a validated Config plus each line's prebuilt Flow, immutable.

Reload builds a new Catalog and swaps one reference; a call keeps the Catalog it
started with to its end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from fsrouter.errors import ConfigError, ConfigInvalid
from fsrouter.flow.builder import build_flow
from fsrouter.flow.graph import Flow
from fsrouter.flow.loader import load_config
from fsrouter.flow.outbound import OutboundFlows, build_outbound_flows


@dataclass(frozen=True)
class Catalog:
    """config: flow.model.Config; flows: line id -> Flow (incoming calls); outbound: the
    flows of calls employees place (flow.outbound), None only for hand-built catalogs."""

    config: object
    flows: Mapping[str, Flow]
    outbound: OutboundFlows | None = None

    @property
    def version(self) -> str:
        """Content hash of the config folder (stored on every call record)."""
        return self.config.version

    def line_for(self, number: str):
        """The Line for a dialed number (E.164 or national), or None."""
        return self.config.line_for_number(number)

    @classmethod
    def build(cls, config) -> "Catalog":
        """Build every line's flow and check its graph; raises ConfigInvalid on a bad graph."""
        flows, errors = {}, []
        for line_id, line in config.lines.items():
            flow = build_flow(line, config)
            errors += [ConfigError(str(line.path), None, "routing", p) for p in flow.check()]
            flows[line_id] = flow
        outbound = build_outbound_flows(config)
        errors += [ConfigError(str(config.lines[line_id].path) if line_id else str(config.root), None,
                               "outbound", p) for line_id, p in outbound.check()]
        if errors:
            raise ConfigInvalid(errors)
        return cls(config, MappingProxyType(flows), outbound)

    @classmethod
    def load(cls, root: str | Path) -> "Catalog":
        """load_config(root) then build; raises ConfigInvalid listing every problem."""
        return cls.build(load_config(root))
