"""Public data types handed to applications."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

__all__ = ["ConnectionState", "Message", "MessageStatus", "PrekeyStatus", "User"]


class ConnectionState(str, enum.Enum):
    """States of the WebSocket connection."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"

    def __str__(self) -> str:
        return self.value


class MessageStatus(str, enum.Enum):
    """Status of a message. Outgoing: ``pending`` (queued, not yet accepted by the server),
    ``sent``, ``delivered``, ``read``. Incoming messages are ``received`` until marked read."""

    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    RECEIVED = "received"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


_STATUS_RANK = {"pending": 0, "sent": 1, "received": 1, "delivered": 2, "read": 3, "failed": 4}


def status_rank(status: str) -> int:
    """Order of statuses: a status never goes back to a lower rank."""
    return _STATUS_RANK.get(status, -1)


@dataclasses.dataclass(frozen=True)
class User:
    """An account: ``id`` (opaque, from the server) and ``username``."""

    id: str
    username: str


@dataclasses.dataclass
class Message:
    """A direct message, sent or received, with its plaintext content.

    ``content`` is the text of a ``text`` message; for other types it is the caption (or
    ``""``) and ``payload`` holds the whole decrypted object. ``timestamp`` is milliseconds
    since the Unix epoch, set by the server (0 while a message is still queued).
    """

    id: str
    from_user: str
    to: str
    content: str
    type: str = "text"
    timestamp: int = 0
    status: str = "sent"
    direction: str = "out"
    payload: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)
    group_id: str | None = None
    group_name: str | None = None
    """The group's name for a group message (``None`` for a direct message)."""
    sender_verified: bool = False
    """For a received direct message: whether the sender's identity was marked verified on
    this device (``verify_fingerprint``) when the message arrived."""

    @property
    def peer_id(self) -> str:
        """The other party of the conversation."""
        return self.to if self.direction == "out" else self.from_user

    @property
    def outgoing(self) -> bool:
        return self.direction == "out"

    # --- media (PROTOCOL.md §5 plaintext payloads of type "image" and "file") ---------------

    @property
    def is_media(self) -> bool:
        """True for ``image`` and ``file`` messages."""
        return self.type in ("image", "file")

    @property
    def mime(self) -> str | None:
        """The MIME type of an image or file message."""
        value = self.payload.get("mime")
        return value if isinstance(value, str) else None

    @property
    def filename(self) -> str | None:
        """The file name of an image or file message, when the sender gave one."""
        value = self.payload.get("filename")
        return value if isinstance(value, str) else None

    @property
    def caption(self) -> str | None:
        """The caption of an image or file message, when there is one."""
        value = self.payload.get("caption")
        return value if isinstance(value, str) else None

    @property
    def image_data(self) -> str | None:
        """The base64 text of an image message's bytes (``client.decode_image`` decodes it)."""
        value = self.payload.get("data")
        return value if self.type == "image" and isinstance(value, str) else None

    @property
    def data(self) -> bytes | None:
        """The raw bytes of an image or file message (``None`` for other types, or when the
        payload's base64 is malformed)."""
        value = self.payload.get("data")
        if not self.is_media or not isinstance(value, str):
            return None
        import base64
        import binascii

        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None


@dataclasses.dataclass(frozen=True)
class PrekeyStatus:
    """Prekeys the server holds for this account."""

    available: int
    """Unused one-time prekeys on the server."""
    signed_prekey_id: int | None
    """Id of the current signed prekey on the server."""
