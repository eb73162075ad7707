"""Structured logs: every line a set of keys, as JSON in production and readable text in
development, chosen by the INI's ``[formatter_*]`` section (``class = datacapt.logs.JSONFormatter``
or ``datacapt.logs.ConsoleFormatter``).

A request binds its id (then its tenant's and its user's ids, once known) and a job its id, in
context variables that every line logged meanwhile carries, whether it comes from structlog or
from the standard ``logging`` module. Lines name people and subjects by id only: never a name, an
e-mail address, a subject's personal data or a value entered in a form.
"""

from __future__ import annotations

from typing import Any

import structlog
from structlog.contextvars import bind_contextvars, bound_contextvars, clear_contextvars
from structlog.stdlib import ProcessorFormatter

__all__ = [
    "ConsoleFormatter",
    "JSONFormatter",
    "bind",
    "bound",
    "clear",
    "configure_structlog",
    "get_logger",
]

#: What every line gets, whether it was logged through structlog or the ``logging`` module.
SHARED_PROCESSORS: tuple[Any, ...] = (
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
)

bind = bind_contextvars
bound = bound_contextvars
clear = clear_contextvars


def configure_structlog() -> None:
    """Send structlog's events through the ``logging`` module, so the INI's handlers, levels
    and formatters decide where they go and how they read."""
    if structlog.is_configured():
        return
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # below the logger's level: dropped at once
            *SHARED_PROCESSORS,
            ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> Any:
    configure_structlog()
    return structlog.get_logger(name)


class _Formatter(ProcessorFormatter):
    """A structlog formatter that ``logging.config.fileConfig`` can build from an INI section
    (it passes the section's format, date format and style, which a structured line ignores)."""

    renderers: tuple[Any, ...]

    def __init__(
        self, fmt: str | None = None, datefmt: str | None = None, style: str = "%"
    ) -> None:
        super().__init__(
            processors=[ProcessorFormatter.remove_processors_meta, *self.renderers],
            foreign_pre_chain=SHARED_PROCESSORS,
        )


class JSONFormatter(_Formatter):
    """One JSON object per line: for log collectors (production)."""

    renderers = (
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer(sort_keys=True),
    )


class ConsoleFormatter(_Formatter):
    """Aligned ``key=value`` text without colours: for a person reading a terminal. Tracebacks
    are plain: a pretty one (rich, when installed) would print the frames' local variables,
    people's data among them."""

    renderers = (
        structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        ),
    )
