"""JSON logs: one object per line on stderr, with level, logger, and the context of the
request being handled (session id, message id) carried in a context variable so every
module logging under it gets the same fields without passing them around."""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from typing import Optional

from whatsapp_client.server.logs import JsonFormatter
from whatsapp_client.server.logs import configure_logging as configure_json_logging

_ROOT = "whatsapp_client.gateway"

# Never mutated in place: every change sets a new dict (so tasks never share one).
_context: contextvars.ContextVar[Optional[dict[str, str]]] = contextvars.ContextVar(
    "gateway_log_context", default=None
)


def _current() -> dict[str, str]:
    return _context.get() or {}


def current_log_context() -> dict[str, str]:
    """The fields of the enclosing :func:`log_context` (the live log buffer reads them)."""
    return dict(_current())


@contextlib.contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Adds ``fields`` (e.g. ``session_id``, ``message_id``) to every log line written
    inside the block, on this task only."""
    merged = {**_current(), **{k: v for k, v in fields.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def add_log_context(**fields: str | None) -> None:
    """Adds fields to the current context until the enclosing :func:`log_context` ends."""
    _context.set({**_current(), **{k: v for k, v in fields.items() if v is not None}})


def json_formatter() -> JsonFormatter:
    """The JSON formatter with the fields of :func:`log_context` on every line."""
    return JsonFormatter(_current)


def configure_logging(level: str = "INFO") -> None:
    """Routes the gateway's loggers, and those of the SDK it runs the sessions on (all under
    ``whatsapp_client``), to stderr as JSON lines with the current context (idempotent)."""
    configure_json_logging(level, logger="whatsapp_client", formatter=json_formatter())


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"{_ROOT}.{name}")
