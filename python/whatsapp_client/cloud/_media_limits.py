"""Per-kind media type and size limits, checked before an upload.

From Graph's "Supported media types" (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media/#supported-media-types,
also mirrored at https://docs.aws.amazon.com/social-messaging/latest/userguide/supported-media-types.html):
audio aac/amr/mpeg(mp3)/mp4(m4a)/ogg (OPUS codec only) 16 MB; video mp4/3gpp 16 MB;
image jpeg/png 5 MB; sticker webp 100 KB static / 500 KB animated; document 100 MB.
WAV is not on Graph's list for sending, so an audio/wav upload is refused here; inbound
media of any type downloads fine.
"""

from __future__ import annotations

from typing import Optional

from whatsapp_client.cloud._errors import ValidationError
from whatsapp_client.cloud._models import MediaKind

__all__ = ["ALLOWED_TYPES", "MAX_BYTES", "check_media", "is_animated_webp", "kind_for_mime"]

KB = 1024
MB = 1024 * 1024

MAX_BYTES: dict[str, int] = {
    "image": 5 * MB,
    "video": 16 * MB,
    "audio": 16 * MB,
    "document": 100 * MB,
    "sticker": 100 * KB,
    "sticker_animated": 500 * KB,
}

ALLOWED_TYPES: dict[str, frozenset[str]] = {
    "image": frozenset({"image/jpeg", "image/png"}),
    "video": frozenset({"video/mp4", "video/3gpp", "video/3gp"}),
    "audio": frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
    "sticker": frozenset({"image/webp"}),
    "document": frozenset(
        {
            "text/plain",
            "application/pdf",
            "application/msword",
            "application/vnd.ms-excel",
            "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        }
    ),
}


def _base(mime_type: str) -> str:
    return mime_type.split(";", 1)[0].strip().lower()


def kind_for_mime(mime_type: str) -> MediaKind:
    """The kind an upload of ``mime_type`` is for (webp means a sticker)."""
    base = _base(mime_type)
    for kind in ("image", "video", "audio", "sticker", "document"):
        if base in ALLOWED_TYPES[kind]:
            return kind
    raise ValidationError(f"media type {mime_type!r} is not supported by the Cloud API")


def is_animated_webp(head: bytes) -> bool:
    """True for an extended WebP (VP8X chunk) with the animation flag set."""
    return (
        len(head) >= 21
        and head[:4] == b"RIFF"
        and head[8:16] == b"WEBPVP8X"
        and bool(head[20] & 0x02)
    )


def check_media(
    kind: MediaKind, size: int, mime_type: str, *, head: Optional[bytes] = None
) -> None:
    """Raise :class:`ValidationError` unless ``mime_type`` and ``size`` fit ``kind``.

    ``head`` (the first bytes) tells an animated sticker (500 KB) from a static one (100 KB).
    """
    allowed = ALLOWED_TYPES.get(kind)
    if allowed is None:
        raise ValidationError(f"unknown media kind {kind!r}")
    base = _base(mime_type)
    if base not in allowed:
        raise ValidationError(
            f"{kind}: media type {mime_type!r} is not accepted; use one of {sorted(allowed)}"
        )
    if base == "audio/ogg" and "codecs" in mime_type and "opus" not in mime_type.lower():
        raise ValidationError("audio/ogg is accepted with the OPUS codec only")
    key = (
        "sticker_animated"
        if kind == "sticker" and head is not None and is_animated_webp(head)
        else kind
    )
    limit = MAX_BYTES[key]
    if size <= 0:
        raise ValidationError(f"{kind}: the media is empty")
    if size > limit:
        raise ValidationError(
            f"{kind}: {size} bytes is over the Cloud API limit of {limit} bytes ({limit // KB} KB)"
        )
