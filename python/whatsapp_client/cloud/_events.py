"""Typed webhook events (skeleton; the parser follows)."""

from __future__ import annotations

from typing import Any, ClassVar, Optional, Union

import msgspec

from ._errors import ValidationError

__all__ = [
    "ErrorEvent",
    "Event",
    "GraphErrorInfo",
    "Location",
    "MessageEvent",
    "StatusEvent",
    "parse_webhook",
]


class GraphErrorInfo(msgspec.Struct, frozen=True):
    """One Graph error object (``code``, ``title``, ``message``, ``error_data.details``)."""

    code: int
    title: Optional[str] = None
    message: Optional[str] = None
    details: Optional[str] = None
    href: Optional[str] = None


class Location(msgspec.Struct, frozen=True):
    """A shared location."""

    latitude: float
    longitude: float
    name: Optional[str] = None
    address: Optional[str] = None
    url: Optional[str] = None


class MessageEvent(msgspec.Struct, frozen=True, kw_only=True, tag="message", tag_field="kind"):
    """An inbound message (``value.messages[]``)."""

    kind: ClassVar[str] = "message"
    phone_number_id: str
    display_phone_number: Optional[str] = None
    business_account_id: Optional[str] = None
    timestamp: int
    message_id: str
    from_: str = msgspec.field(name="from")
    type: str
    text: Optional[str] = None
    media_id: Optional[str] = None
    mime_type: Optional[str] = None
    sha256: Optional[str] = None
    caption: Optional[str] = None
    filename: Optional[str] = None
    voice: Optional[bool] = None
    reply_to: Optional[str] = None
    reply_to_from: Optional[str] = None
    forwarded: bool = False
    interactive_reply_id: Optional[str] = None
    interactive_reply_title: Optional[str] = None
    button_payload: Optional[str] = None
    reaction_emoji: Optional[str] = None
    reaction_message_id: Optional[str] = None
    location: Optional[Location] = None
    contact_name: Optional[str] = None
    system_body: Optional[str] = None
    errors: list[GraphErrorInfo] = msgspec.field(default_factory=list)
    raw: dict[str, Any] = msgspec.field(default_factory=dict)


class StatusEvent(msgspec.Struct, frozen=True, kw_only=True, tag="status", tag_field="kind"):
    """A delivery status of a message we sent (``value.statuses[]``)."""

    kind: ClassVar[str] = "status"
    phone_number_id: str
    display_phone_number: Optional[str] = None
    business_account_id: Optional[str] = None
    timestamp: int
    message_id: str
    recipient_id: str
    status: str
    conversation_id: Optional[str] = None
    conversation_origin: Optional[str] = None
    conversation_expiration: Optional[int] = None
    pricing_category: Optional[str] = None
    pricing_model: Optional[str] = None
    billable: Optional[bool] = None
    biz_opaque_callback_data: Optional[str] = None
    errors: list[GraphErrorInfo] = msgspec.field(default_factory=list)


class ErrorEvent(msgspec.Struct, frozen=True, kw_only=True, tag="error", tag_field="kind"):
    """An error reported for the phone number or app (``value.errors[]``)."""

    kind: ClassVar[str] = "error"
    phone_number_id: str
    display_phone_number: Optional[str] = None
    business_account_id: Optional[str] = None
    timestamp: int = 0
    code: int
    title: Optional[str] = None
    message: Optional[str] = None
    details: Optional[str] = None


Event = Union[MessageEvent, StatusEvent, ErrorEvent]


def parse_webhook(raw_body: bytes) -> list[Event]:
    """Every event of a webhook POST body, in order; ValidationError on bad JSON or shape."""
    raise ValidationError("not implemented yet")
