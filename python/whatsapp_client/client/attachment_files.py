"""Where a client keeps its attachment files, and the pending-upload record of a sealed blob.

Shared by the sender (:mod:`attachment_send`) and the download (:mod:`attachment_download`).
"""

from __future__ import annotations

import base64
import contextlib
from pathlib import Path
from typing import Any

from whatsapp_client.client.config import ClientConfig

__all__ = ["b64_text", "cache_directory", "pending_record", "unlink_quietly"]


def cache_directory(config: ClientConfig, user_id: str) -> Path:
    """Where a user's sealed blobs and partial downloads live (mode 0700)."""
    return config.storage_dir / ".attachments" / user_id


def unlink_quietly(path: Path) -> None:
    """Removes ``path``; one already gone is fine."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


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
