"""fsrouter: an event-driven call-routing engine for FreeSWITCH's outbound event socket."""

__version__ = "0.1.0"
