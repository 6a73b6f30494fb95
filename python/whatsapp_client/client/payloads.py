"""Decrypted plaintext payloads (PROTOCOL.md §5) as :class:`Message` fields."""

from __future__ import annotations

import json
from typing import Any

from whatsapp_client.client.models import Message

__all__ = ["parse_payload", "to_message"]


def parse_payload(plaintext: bytes) -> tuple[str, str, dict[str, Any]]:
    """``(type, content, payload)`` of a plaintext; text that is not JSON is a text message."""
    try:
        obj = json.loads(plaintext.decode("utf-8"))
    except RecursionError:  # nested too deep for the parser: not a payload of §5
        return "unknown", "", {"type": "unknown"}
    except (UnicodeDecodeError, ValueError):
        text = plaintext.decode("utf-8", "replace")
        return "text", text, {"type": "text", "text": text}
    if not isinstance(obj, dict):
        return "unknown", "", {"type": "unknown", "value": obj}
    raw_type = obj.get("type")
    mtype = raw_type if isinstance(raw_type, str) else "unknown"
    if mtype == "text":
        body = obj.get("text")
        return "text", body if isinstance(body, str) else "", obj
    caption = obj.get("caption")
    return str(mtype), caption if isinstance(caption, str) else "", obj


def to_message(row: Any) -> Message:
    """A :class:`Message` of a row of the local history."""
    plaintext = bytes(row.content)
    mtype, content, payload = parse_payload(plaintext)
    return Message(
        id=str(row.id),
        from_user=str(row.from_user),
        to=str(row.to),
        content=content,
        type=str(row.type or mtype),
        timestamp=int(row.timestamp),
        status=str(row.status),
        direction=str(row.direction),
        payload=payload,
        group_id=row.group_id,
    )
