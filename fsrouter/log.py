"""structlog set-up: one event per line, snake_case event names, values as fields.

Call code binds ``call_uuid`` on its logger (``log.bind(call_uuid=...)``) and passes the
bound logger explicitly: greenlets do not inherit contextvars.
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure(level: str = "info", fmt: str = "console", stream=None) -> None:
    """Configure structlog for the process.

    level: "debug" | "info" | "warning" | "error"; fmt: "console" (key=value, one line)
    or "json" (one JSON object per line). stream: a text stream, default stderr.
    """
    renderer = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.processors.KeyValueRenderer(key_order=["timestamp", "level", "event"], sort_keys=False)
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(**bound):
    """A structlog logger with ``bound`` key/values attached (e.g. ``component="server"``)."""
    return structlog.get_logger().bind(**bound)
