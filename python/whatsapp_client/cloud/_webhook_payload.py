"""The Graph webhook body's own shape, as msgspec structs (input side of ``_events``).

Only what the events carry is declared; every other field is ignored (msgspec skips unknown
keys), so new fields Meta adds never break parsing. Shapes follow the ``messages`` webhook
reference and its status page:

https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages.md
https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/status/
"""

from __future__ import annotations

from typing import Any, Optional, Union

import msgspec

# Graph sends timestamps as decimal strings ("1749416383"); numbers are accepted too.
Stamp = Union[str, int]


class _Base(msgspec.Struct, frozen=True):
    pass


class GraphEntry(_Base):
    changes: list[GraphChange]
    id: Optional[str] = None
    time: Optional[int] = None


class GraphChange(_Base):
    # ``value`` stays a plain dict: its shape depends on ``field``; only "messages" is typed.
    value: dict[str, Any]
    field: Optional[str] = None


class GraphEnvelope(_Base):
    object: str
    entry: list[GraphEntry]


class Metadata(_Base):
    phone_number_id: str
    display_phone_number: Optional[str] = None


class Profile(_Base):
    name: Optional[str] = None


class Contact(_Base):
    wa_id: Optional[str] = None
    profile: Optional[Profile] = None


class ErrorData(_Base):
    details: Optional[str] = None


class GraphError(_Base):
    code: int
    title: Optional[str] = None
    message: Optional[str] = None
    error_data: Optional[ErrorData] = None
    href: Optional[str] = None


class Context(_Base):
    id: Optional[str] = None
    # "from" is a Python keyword: renamed on the wire.
    from_: Optional[str] = msgspec.field(default=None, name="from")
    forwarded: Optional[bool] = None
    frequently_forwarded: Optional[bool] = None


class Text(_Base):
    body: str


class Media(_Base):
    id: str
    mime_type: Optional[str] = None
    sha256: Optional[str] = None
    caption: Optional[str] = None
    filename: Optional[str] = None
    voice: Optional[bool] = None


class GraphLocation(_Base):
    latitude: float
    longitude: float
    name: Optional[str] = None
    address: Optional[str] = None
    url: Optional[str] = None


class Reply(_Base):
    id: str
    title: Optional[str] = None
    description: Optional[str] = None


class Interactive(_Base):
    type: str
    button_reply: Optional[Reply] = None
    list_reply: Optional[Reply] = None


class Button(_Base):
    text: Optional[str] = None
    payload: Optional[str] = None


class Reaction(_Base):
    message_id: str
    emoji: Optional[str] = None


class System(_Base):
    body: Optional[str] = None
    type: Optional[str] = None


class GraphMessage(_Base):
    id: str
    from_: str = msgspec.field(name="from")
    timestamp: Stamp
    type: str
    context: Optional[Context] = None
    text: Optional[Text] = None
    image: Optional[Media] = None
    audio: Optional[Media] = None
    video: Optional[Media] = None
    document: Optional[Media] = None
    sticker: Optional[Media] = None
    location: Optional[GraphLocation] = None
    interactive: Optional[Interactive] = None
    button: Optional[Button] = None
    reaction: Optional[Reaction] = None
    system: Optional[System] = None
    errors: list[GraphError] = []


class Origin(_Base):
    type: Optional[str] = None


class Conversation(_Base):
    id: Optional[str] = None
    origin: Optional[Origin] = None
    expiration_timestamp: Optional[Stamp] = None


class Pricing(_Base):
    billable: Optional[bool] = None
    pricing_model: Optional[str] = None
    category: Optional[str] = None


class GraphStatus(_Base):
    id: str
    status: str
    timestamp: Stamp
    recipient_id: str
    conversation: Optional[Conversation] = None
    pricing: Optional[Pricing] = None
    biz_opaque_callback_data: Optional[str] = None
    errors: list[GraphError] = []


class MessagesValue(_Base):
    """``value`` of a change whose ``field`` is ``messages``."""

    metadata: Metadata
    contacts: list[Contact] = []
    messages: list[GraphMessage] = []
    statuses: list[GraphStatus] = []
    errors: list[GraphError] = []
