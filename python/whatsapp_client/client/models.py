"""Public data types handed to applications."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
from typing import Any

__all__ = ["MEDIA_TYPES", "ConnectionState", "Message", "MessageStatus", "PrekeyStatus", "User"]

MEDIA_TYPES = ("image", "video", "audio", "file")


def _b64(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


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

    # --- media (PROTOCOL.md §5 payloads image, video, audio, file; §8 attachments) ---------

    @property
    def is_media(self) -> bool:
        """True for ``image``, ``video``, ``audio`` and ``file`` messages."""
        return self.type in MEDIA_TYPES

    @property
    def is_attachment(self) -> bool:
        """True when the media travels as an encrypted attachment (``client.download``
        fetches it) rather than inline in the message."""
        return self.is_media and isinstance(self.payload.get("attachment"), dict)

    @property
    def size(self) -> int | None:
        """The media's size in bytes (inline or attachment), ``None`` for other messages."""
        if not self.is_media:
            return None
        attachment = self.payload.get("attachment")
        if isinstance(attachment, dict):
            size = attachment.get("size")
            return size if isinstance(size, int) and not isinstance(size, bool) else None
        data = self.data
        return len(data) if data is not None else None

    @property
    def width(self) -> int | None:
        """An image's width in pixels, when the sender gave it."""
        value = self.payload.get("width")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def height(self) -> int | None:
        """An image's height in pixels, when the sender gave it."""
        value = self.payload.get("height")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def thumbnail(self) -> bytes | None:
        """The small JPEG preview of an attachment, when the sender gave one."""
        return _b64(self.payload.get("thumbnail")) if self.is_media else None

    @property
    def mime(self) -> str | None:
        """The MIME type of a media message."""
        value = self.payload.get("mime")
        return value if isinstance(value, str) else None

    @property
    def filename(self) -> str | None:
        """The file name of a media message, when the sender gave one."""
        value = self.payload.get("filename")
        return value if isinstance(value, str) else None

    @property
    def caption(self) -> str | None:
        """The caption of a media message, when there is one."""
        value = self.payload.get("caption")
        return value if isinstance(value, str) else None

    @property
    def image_data(self) -> str | None:
        """The base64 text of an image message's bytes (``client.decode_image`` decodes it)."""
        value = self.payload.get("data")
        return value if self.type == "image" and isinstance(value, str) else None

    @property
    def data(self) -> bytes | None:
        """The raw bytes of inline media (``None`` for other types, for an attachment, which
        ``client.download`` fetches, or when the payload's base64 is malformed)."""
        return _b64(self.payload.get("data")) if self.is_media else None


@dataclasses.dataclass(frozen=True)
class PrekeyStatus:
    """Prekeys the server holds for this account."""

    available: int
    """Unused one-time prekeys on the server."""
    signed_prekey_id: int | None
    """Id of the current signed prekey on the server."""
