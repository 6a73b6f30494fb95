"""Storage behind a small interface: :class:`Storage`, with SQLite as the implementation."""

from __future__ import annotations

from whatsapp_client.server.storage.base import Storage
from whatsapp_client.server.storage.sqlite import SqliteStorage

__all__ = ["SqliteStorage", "Storage"]
