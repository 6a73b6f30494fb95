"""Typed results of the Cloud API client (msgspec structs, never bare dicts), the inputs
that are more than a string, and the private shapes of Graph's answers.

Graph's answers are documented at
https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages/ and
https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media/ .
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional, Union

import msgspec

__all__ = [
    "BatchItem",
    "MediaInfo",
    "MediaItem",
    "MediaKind",
    "PhoneNumberInfo",
    "ReadResult",
    "SendResult",
    "UploadResult",
]

MediaKind = Literal["image", "video", "audio", "document", "sticker"]


class SendResult(msgspec.Struct, frozen=True):
    """An accepted message: Graph's message id (``wamid...``) and the recipient's wa_id."""

    message_id: str
    to: str
    type: str
    input: Optional[str] = None
    message_status: Optional[str] = None
    media_id: Optional[str] = None  # set when the client uploaded the media first


class BatchItem(msgspec.Struct, frozen=True):
    """One item of :meth:`CloudClient.send_media_batch`: sent (``ok``) or the error."""

    index: int
    kind: str
    ok: bool
    result: Optional[SendResult] = None
    error_type: Optional[str] = None  # the exception class name, e.g. "MediaError"
    error_message: Optional[str] = None
    error_code: Optional[int] = None  # Graph's code when Graph refused


class MediaInfo(msgspec.Struct, frozen=True):
    """``GET /{media_id}``: where to fetch the media (url expires after minutes)."""

    id: str
    url: str
    mime_type: str
    sha256: Optional[str] = None
    file_size: Optional[int] = None
    messaging_product: Optional[str] = None


class UploadResult(msgspec.Struct, frozen=True):
    id: str


class ReadResult(msgspec.Struct, frozen=True):
    message_id: str
    success: bool


class PhoneNumberInfo(msgspec.Struct, frozen=True):
    id: str
    display_phone_number: Optional[str] = None
    verified_name: Optional[str] = None
    quality_rating: Optional[str] = None


class MediaItem(msgspec.Struct, frozen=True):
    """One media to send (by ``media_id``, ``link``, ``path`` or ``data``: exactly one)."""

    kind: MediaKind
    media_id: Optional[str] = None
    link: Optional[str] = None
    path: Union[str, Path, None] = None
    data: Optional[bytes] = None
    caption: Optional[str] = None
    filename: Optional[str] = None
    mime_type: Optional[str] = None


# --- Graph's answers (private) -----------------------------------------------------------


class _Contact(msgspec.Struct):
    wa_id: str = ""
    input: Optional[str] = None


class _Message(msgspec.Struct):
    id: str
    message_status: Optional[str] = None


class SendResponse(msgspec.Struct):
    messages: list[_Message]
    contacts: list[_Contact] = msgspec.field(default_factory=list)
    messaging_product: Optional[str] = None


class SuccessResponse(msgspec.Struct):
    success: bool = False
