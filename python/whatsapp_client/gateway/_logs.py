"""JSON logs: one object per line on stderr, with level, logger, and the context of the
request being handled (session id, message id) carried in a context variable so every
module logging under it gets the same fields without passing them around."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any, Optional

import msgspec

_encode = msgspec.json.Encoder(enc_hook=str).encode

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is logged.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_ROOT = "whatsapp_client.gateway"

# Never mutated in place: every change sets a new dict (so tasks never share one).
_context: contextvars.ContextVar[Optional[dict[str, str]]] = contextvars.ContextVar(
    "gateway_log_context", default=None
)


def _current() -> dict[str, str]:
    return _context.get() or {}


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


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(_current())
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return _encode(entry).decode()


def configure_logging(level: str = "INFO") -> None:
    """Routes the gateway's loggers, and those of the SDK it runs the sessions on (all under
    ``whatsapp_client``), to stderr as JSON lines (idempotent)."""
    root = logging.getLogger("whatsapp_client")
    root.setLevel(level.upper())
    root.propagate = False
    for handler in list(root.handlers):
        if getattr(handler, "_wac_json", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._wac_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"{_ROOT}.{name}")
