"""Loggers of the client, all under ``whatsapp_client.*``.

Nothing secret goes into a log record above DEBUG: no token, password, key or plaintext.
Message ids and user ids are not secret and may appear at INFO.
"""

from __future__ import annotations

import logging

__all__ = ["get_logger", "redact", "set_level", "show_id"]

ROOT = "whatsapp_client"


def get_logger(name: str) -> logging.Logger:
    """The logger ``whatsapp_client.<name>``."""
    return logging.getLogger(f"{ROOT}.{name}")


def set_level(level: str | None) -> None:
    """Sets the level of every ``whatsapp_client`` logger (``None`` leaves it as it is)."""
    if level is not None:
        logging.getLogger(ROOT).setLevel(level.upper())


def redact(secret: str | None, keep: int = 4) -> str:
    """A printable stand-in for a secret: its length and at most ``keep`` leading characters
    when it is long enough for that to reveal nothing useful."""
    if not secret:
        return "<empty>"
    if len(secret) < 16:
        return f"<{len(secret)} chars>"
    return f"{secret[:keep]}...<{len(secret)} chars>"


def show_id(value: str, limit: int = 64) -> str:
    """An id chosen by someone else, fit for a log line or an error message: quoted with
    control characters escaped (no forged log lines), and shortened."""
    return repr(value[:limit]) + ("..." if len(value) > limit else "")
