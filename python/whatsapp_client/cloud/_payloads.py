"""Message bodies for ``POST /{phone_number_id}/messages``, validated before sending.

Shapes from https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages/ and
https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-messages/ .
Every builder raises :class:`ValidationError` for bad input; nothing is sent then.
"""

from __future__ import annotations

from typing import Any, Optional

import phonenumbers

from whatsapp_client.cloud._errors import ValidationError
from whatsapp_client.cloud._models import MediaKind

__all__ = [
    "MAX_CAPTION",
    "MAX_TEXT",
    "envelope",
    "media_payload",
    "normalize_recipient",
    "reaction_payload",
    "read_payload",
    "text_payload",
]

MAX_TEXT = 4096
MAX_CAPTION = 1024
_CAPTIONED = ("image", "video", "document")


def normalize_recipient(to: str) -> str:
    """``to`` as Graph's wa_id: E.164 digits without ``+`` (the ``+`` is optional in input).

    Checked with ``phonenumbers``: a known country code and a possible length for it.
    (Whether the number is on WhatsApp is Graph's answer: RecipientError 131026.)
    """
    if not isinstance(to, str):
        raise ValidationError(f"recipient must be a string, not {type(to).__name__}")
    raw = to.strip()
    digits = raw[1:] if raw.startswith("+") else raw
    if not digits.isdigit() or not digits.isascii() or not 8 <= len(digits) <= 15:
        raise ValidationError(
            f"recipient {to!r} is not an E.164 number (8 to 15 digits, optional leading '+')"
        )
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"recipient {to!r} is not an E.164 number: {exc}") from None
    if not phonenumbers.is_possible_number(number):
        raise ValidationError(f"recipient {to!r} is not a possible phone number for its country")
    return digits


def envelope(
    to: str, kind: str, body: dict[str, Any], reply_to: Optional[str] = None
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": normalize_recipient(to),
        "type": kind,
        kind: body,
    }
    if reply_to is not None:
        payload["context"] = {"message_id": require_id(reply_to, "reply_to")}
    return payload


def require_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{what} must be a non-empty string")
    return value


def text_payload(
    to: str, text: str, preview_url: bool = False, reply_to: Optional[str] = None
) -> dict[str, Any]:
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("text must be a non-empty string")
    if len(text) > MAX_TEXT:
        raise ValidationError(f"text is {len(text)} characters; Graph allows at most {MAX_TEXT}")
    return envelope(to, "text", {"body": text, "preview_url": bool(preview_url)}, reply_to)


def media_payload(
    kind: MediaKind,
    to: str,
    *,
    media_id: Optional[str] = None,
    link: Optional[str] = None,
    caption: Optional[str] = None,
    filename: Optional[str] = None,
    reply_to: Optional[str] = None,
) -> dict[str, Any]:
    """A media message by uploaded ``media_id`` or by public https ``link`` (exactly one)."""
    if (media_id is None) == (link is None):
        raise ValidationError(f"{kind}: give exactly one of media_id or link")
    body: dict[str, Any] = {}
    if media_id is not None:
        body["id"] = require_id(media_id, "media_id")
    else:
        body["link"] = check_link(link, kind)
    if caption is not None:
        if kind not in _CAPTIONED:
            raise ValidationError(f"{kind} messages take no caption (only image, video, document)")
        if len(caption) > MAX_CAPTION:
            raise ValidationError(f"caption is {len(caption)} characters; at most {MAX_CAPTION}")
        body["caption"] = caption
    if filename is not None:
        if kind != "document":
            raise ValidationError(f"{kind} messages take no filename (only document)")
        body["filename"] = require_id(filename, "filename")
    return envelope(to, kind, body, reply_to)


def check_link(link: object, what: str) -> str:
    if not isinstance(link, str) or not link.startswith(("https://", "http://")) or " " in link:
        raise ValidationError(f"{what}: link must be an http(s) URL, got {link!r}")
    return link


def reaction_payload(to: str, message_id: str, emoji: str) -> dict[str, Any]:
    """A reaction; ``emoji=""`` removes an earlier reaction (Graph's convention)."""
    require_id(message_id, "message_id")
    if not isinstance(emoji, str) or len(emoji) > 10:
        raise ValidationError("emoji must be a single emoji (or '' to remove the reaction)")
    return envelope(to, "reaction", {"message_id": message_id, "emoji": emoji})


def read_payload(message_id: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": require_id(message_id, "message_id"),
    }
