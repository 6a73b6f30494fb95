"""Structured logs: one JSON object per line on stderr (the server's; the gateway uses the
same formatter with a context of its own)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, Optional

import msgspec

_encode = msgspec.json.Encoder(enc_hook=str).encode

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is logged.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """``context``: fields added to every line (e.g. the request being handled)."""

    def __init__(self, context: Optional[Callable[[], Mapping[str, str]]] = None) -> None:
        super().__init__()
        self._context = context

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if self._context is not None:
            entry.update(self._context())
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return _encode(entry).decode()


def configure_logging(
    level: str = "INFO",
    *,
    logger: str = "whatsapp_client.server",
    formatter: Optional[JsonFormatter] = None,
) -> None:
    """Route the loggers under ``logger`` (the server's) to stderr as JSON lines
    (idempotent)."""
    root = logging.getLogger(logger)
    root.setLevel(level.upper())
    root.propagate = False
    for handler in list(root.handlers):
        if getattr(handler, "_wac_json", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter or JsonFormatter())
    handler._wac_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"whatsapp_client.server.{name}")
