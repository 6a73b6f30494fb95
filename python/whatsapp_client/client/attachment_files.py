"""Where a client keeps its attachment files, and the pending-upload record of a sealed blob.

Shared by the sender (:mod:`attachment_send`) and the download (:mod:`attachment_download`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from pathlib import Path
from typing import Any

from whatsapp_client.client.config import ClientConfig
from whatsapp_client.client.logging import get_logger

__all__ = ["BackgroundUnlinks", "b64_text", "cache_directory", "pending_record", "unlink_quietly"]

log = get_logger("attachments")


def cache_directory(config: ClientConfig, user_id: str) -> Path:
    """Where a user's sealed blobs and partial downloads live (mode 0700)."""
    return config.storage_dir / ".attachments" / user_id


def unlink_quietly(path: Path) -> None:
    """Removes ``path``; one already gone is fine."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


class BackgroundUnlinks:
    """Deletes files nothing refers to any more without making the caller wait: deleting a
    100 MiB blob just written waits on the file system's journal (25 - 90 ms measured, a
    few ms of it CPU). A file a crash leaves behind this way has no record and is swept as
    an orphan."""

    def __init__(self) -> None:
        self._running: set[asyncio.Future[None]] = set()

    def start(self, path: Path) -> None:
        """Starts deleting ``path`` in a worker thread."""
        done = asyncio.get_running_loop().run_in_executor(None, unlink_quietly, path)
        self._running.add(done)
        done.add_done_callback(self._finished)

    def _finished(self, done: asyncio.Future[None]) -> None:
        self._running.discard(done)
        if not done.cancelled() and done.exception() is not None:
            log.warning("could not delete a sent blob: %s", done.exception())


def b64_text(raw: bytes) -> str:
    """Standard padded base64, as the payload carries binary fields (§1)."""
    return base64.b64encode(raw).decode("ascii")


def pending_record(to: str, fields: dict[str, Any], blob: Path, keys: Any) -> dict[str, Any]:
    """The pending-upload record of a sealed blob (``id`` is set once it is uploaded)."""
    return {
        "to": to,
        "fields": fields,
        "blob": str(blob),
        "key": b64_text(keys.key),
        "digest": b64_text(keys.digest),
        "size": int(keys.size),
        "id": None,
    }
