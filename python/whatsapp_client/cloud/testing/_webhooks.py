"""Webhook payloads in Graph's shape, and their ``X-Hub-Signature-256`` signature.

Shape: ``{"object": "whatsapp_business_account", "entry": [{"id": <WABA id>, "changes":
[{"field": "messages", "value": {"messaging_product": "whatsapp", "metadata":
{"display_phone_number", "phone_number_id"}, "contacts": [...], "messages": [...] |
"statuses": [...] | "errors": [...]}}]}]}`` — see
https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples and
https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components ; the signature
is ``sha256=`` + the lowercase hex HMAC-SHA256 of the raw body keyed with the app secret
(https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any, Optional

from whatsapp_client.cloud.testing._errors import KNOWN_CODES
from whatsapp_client.cloud.testing._state import new_media_id, new_wamid

ERROR_DOCS = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"


@dataclass(frozen=True)
class Business:
    """The receiving business number a payload is about."""

    phone_number_id: str
    display_phone_number: str
    waba_id: str


def sign(raw_body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` header value for ``raw_body``."""
    digest = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return "sha256=" + digest


def encode(payload: dict[str, Any]) -> bytes:
    """The raw body as Graph sends it (compact JSON, non-ASCII kept as UTF-8)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def business_scoped_id(wa_id: str) -> str:
    """A stable business-scoped user id (BSUID) for ``wa_id``, shaped like Meta's (a country
    code, a dot, digits); current payloads carry it as ``contacts[].user_id``
    (https://docs.360dialog.com/docs/resources/phone-numbers/usernames-and-bsuid)."""
    digest = hashlib.sha256(b"bsuid:" + wa_id.encode()).digest()
    return "US." + str(int.from_bytes(digest[:8], "big")).zfill(20)


def envelope(business: Business, values: list[dict[str, Any]]) -> dict[str, Any]:
    """One entry with one ``messages`` change per value."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": business.waba_id,
                "changes": [{"value": value, "field": "messages"} for value in values],
            }
        ],
    }


def value(
    business: Business,
    *,
    messages: Optional[list[dict[str, Any]]] = None,
    statuses: Optional[list[dict[str, Any]]] = None,
    errors: Optional[list[dict[str, Any]]] = None,
    contact_names: Optional[dict[str, str]] = None,
) -> dict[str, Any]:
    """A change value; ``contacts`` lists each sender of ``messages``."""
    out: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": business.display_phone_number,
            "phone_number_id": business.phone_number_id,
        },
    }
    if messages:
        names = contact_names or {}
        senders = list(dict.fromkeys(str(m["from"]) for m in messages))
        out["contacts"] = [
            {
                "profile": {"name": names.get(wa_id, "Test User")},
                "wa_id": wa_id,
                "user_id": business_scoped_id(wa_id),
            }
            for wa_id in senders
        ]
        out["messages"] = messages
    if statuses:
        out["statuses"] = statuses
    if errors:
        out["errors"] = errors
    return out


def batch(*payloads: dict[str, Any]) -> dict[str, Any]:
    """Several payloads as one delivery: every entry of each, in order."""
    entries: list[dict[str, Any]] = []
    for payload in payloads:
        entries.extend(payload["entry"])
    return {"object": "whatsapp_business_account", "entry": entries}


def _timestamp(timestamp: Optional[int]) -> str:
    return str(int(time.time()) if timestamp is None else timestamp)


def text_message(
    from_: str,
    text: str,
    *,
    message_id: Optional[str] = None,
    timestamp: Optional[int] = None,
    reply_to: Optional[str] = None,
) -> dict[str, Any]:
    """An inbound text message object."""
    message: dict[str, Any] = {
        "from": from_,
        "id": message_id or new_wamid(),
        "timestamp": _timestamp(timestamp),
        "text": {"body": text},
        "type": "text",
    }
    if reply_to is not None:
        message["context"] = {"from": from_, "id": reply_to}
    return message


def media_message(
    from_: str,
    kind: str,
    media_id: str,
    mime_type: str,
    *,
    sha256: Optional[str] = None,
    caption: Optional[str] = None,
    filename: Optional[str] = None,
    message_id: Optional[str] = None,
    timestamp: Optional[int] = None,
) -> dict[str, Any]:
    """An inbound media message object (image, video, audio, document or sticker)."""
    media: dict[str, Any] = {"mime_type": mime_type, "sha256": sha256 or "", "id": media_id}
    if kind == "audio":
        media["voice"] = mime_type.startswith("audio/ogg")
    if kind == "sticker":
        media["animated"] = False
    if caption is not None:
        media["caption"] = caption
    if filename is not None:
        media["filename"] = filename
    return {
        "from": from_,
        "id": message_id or new_wamid(),
        "timestamp": _timestamp(timestamp),
        "type": kind,
        kind: media,
    }


def status_object(
    message_id: str,
    status: str,
    recipient: str,
    *,
    timestamp: Optional[int] = None,
    error_code: Optional[int] = None,
    category: str = "service",
) -> dict[str, Any]:
    """A status update (sent, delivered, read, failed) of an outbound message."""
    out: dict[str, Any] = {
        "id": message_id,
        "status": status,
        "timestamp": _timestamp(timestamp),
        "recipient_id": recipient,
    }
    if status in ("sent", "delivered"):
        out["conversation"] = {
            "id": "CONVERSATION_" + new_media_id(),
            "expiration_timestamp": str(int(time.time()) + 86400),
            "origin": {"type": category},
        }
        out["pricing"] = {"billable": True, "pricing_model": "CBP", "category": category}
    if status == "failed" or error_code is not None:
        out["errors"] = [error_object(error_code or 131026)]
    return out


def error_object(code: int, details: Optional[str] = None) -> dict[str, Any]:
    """One error as webhooks carry it (``statuses[].errors[]`` or ``value.errors[]``)."""
    title = KNOWN_CODES.get(code, (400, "Error"))[1]
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details or title},
        "href": ERROR_DOCS,
    }
