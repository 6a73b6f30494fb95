"""Ids and time (placeholder until the store's version is merged; same API)."""

from __future__ import annotations

import secrets
import time

__all__ = ["new_id", "now_ms"]


def new_id(prefix: str) -> str:
    """``prefix`` + ``_`` + 22 URL-safe characters of 128 random bits."""
    return f"{prefix}_{secrets.token_urlsafe(16)}"


def now_ms() -> int:
    return int(time.time() * 1000)
