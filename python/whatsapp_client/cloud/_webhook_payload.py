"""The Graph webhook body's own shape, as msgspec structs (input side of ``_events``).

Only what the events carry is declared; every other field is ignored (msgspec skips unknown
keys), so new fields Meta adds never break parsing. Shapes follow the ``messages`` webhook
reference and its status page:

https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages.md
https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/status/
"""

from __future__ import annotations

from typing import Optional, Union

import msgspec

# Graph sends timestamps as decimal strings ("1749416383"); numbers are accepted too.
Stamp = Union[str, int]


class GraphEntry(msgspec.Struct, frozen=True):
    changes: list[GraphChange]
    id: Optional[str] = None
    time: Optional[int] = None


class GraphChange(msgspec.Struct, frozen=True):
    # ``value`` stays undecoded JSON: its shape depends on ``field``; only "messages" is
    # decoded (into MessagesValue), the others are skipped without being parsed.
    value: msgspec.Raw
    field: Optional[str] = None


class GraphEnvelope(msgspec.Struct, frozen=True):
    object: str
    entry: list[GraphEntry]


class Metadata(msgspec.Struct, frozen=True):
    phone_number_id: str
    display_phone_number: Optional[str] = None


class Profile(msgspec.Struct, frozen=True):
    name: Optional[str] = None


class Contact(msgspec.Struct, frozen=True):
    wa_id: Optional[str] = None
    profile: Optional[Profile] = None


class ErrorData(msgspec.Struct, frozen=True):
    details: Optional[str] = None


class GraphError(msgspec.Struct, frozen=True):
    code: int
    title: Optional[str] = None
    message: Optional[str] = None
    error_data: Optional[ErrorData] = None
    href: Optional[str] = None


class Context(msgspec.Struct, frozen=True):
    id: Optional[str] = None
    # "from" is a Python keyword: renamed on the wire.
    from_: Optional[str] = msgspec.field(default=None, name="from")
    forwarded: Optional[bool] = None
    frequently_forwarded: Optional[bool] = None


class Text(msgspec.Struct, frozen=True):
    body: str


class Media(msgspec.Struct, frozen=True):
    id: str
    mime_type: Optional[str] = None
    sha256: Optional[str] = None
    caption: Optional[str] = None
    filename: Optional[str] = None
    voice: Optional[bool] = None


class GraphLocation(msgspec.Struct, frozen=True):
    latitude: float
    longitude: float
    name: Optional[str] = None
    address: Optional[str] = None
    url: Optional[str] = None


class Reply(msgspec.Struct, frozen=True):
    id: str
    title: Optional[str] = None
    description: Optional[str] = None


class Interactive(msgspec.Struct, frozen=True):
    type: str
    button_reply: Optional[Reply] = None
    list_reply: Optional[Reply] = None


class Button(msgspec.Struct, frozen=True):
    text: Optional[str] = None
    payload: Optional[str] = None


class Reaction(msgspec.Struct, frozen=True):
    message_id: str
    emoji: Optional[str] = None


class System(msgspec.Struct, frozen=True):
    body: Optional[str] = None
    type: Optional[str] = None


class GraphMessage(msgspec.Struct, frozen=True):
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


class Origin(msgspec.Struct, frozen=True):
    type: Optional[str] = None


class Conversation(msgspec.Struct, frozen=True):
    id: Optional[str] = None
    origin: Optional[Origin] = None
    expiration_timestamp: Optional[Stamp] = None


class Pricing(msgspec.Struct, frozen=True):
    billable: Optional[bool] = None
    pricing_model: Optional[str] = None
    category: Optional[str] = None


class GraphStatus(msgspec.Struct, frozen=True):
    id: str
    status: str
    timestamp: Stamp
    recipient_id: str
    conversation: Optional[Conversation] = None
    pricing: Optional[Pricing] = None
    biz_opaque_callback_data: Optional[str] = None
    errors: list[GraphError] = []


class MessagesValue(msgspec.Struct, frozen=True):
    """``value`` of a change whose ``field`` is ``messages``."""

    metadata: Metadata
    contacts: list[Contact] = []
    # Each message stays raw JSON too: decoded into GraphMessage and kept as received.
    messages: list[msgspec.Raw] = []
    statuses: list[GraphStatus] = []
    errors: list[GraphError] = []
