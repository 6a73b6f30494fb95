"""Identifiers and clock of the gateway records."""

from __future__ import annotations

import re
import secrets
import time

__all__ = ["new_id", "now_ms"]

_PREFIX = re.compile(r"[a-z]{1,8}")


def new_id(prefix: str) -> str:
    """``<prefix>_`` followed by 22 URL-safe characters (128 random bits): unguessable, and
    a valid message id (printable ASCII, no spaces, well under 128 characters)."""
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(f"an id prefix is 1 to 8 lowercase letters, got {prefix!r}")
    return f"{prefix}_{secrets.token_urlsafe(16)}"


def now_ms() -> int:
    """Milliseconds since the Unix epoch (wall clock: records carry it to callers)."""
    return time.time_ns() // 1_000_000
