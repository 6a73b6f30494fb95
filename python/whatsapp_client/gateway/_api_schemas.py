"""API bodies that are not service inputs (those are in :mod:`._requests`): what the
routes answer, the JSON send body and the key creation body. The same structs generate
the OpenAPI components, so the document cannot drift from the handlers."""

from __future__ import annotations

from typing import Annotated, Optional

import msgspec
from msgspec import Meta

from whatsapp_client.gateway._models import (
    Counters,
    DeliveryState,
    Direction,
    EventType,
    MessageState,
    MessageType,
    Scope,
    SessionStatus,
)

Name = Annotated[str, Meta(min_length=1, max_length=100)]


class Out(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Answers leave out fields that are unset (None)."""


class WebhookOut(Out, kw_only=True):
    id: str
    url: str
    events: list[EventType]
    enabled: bool
    disabled_reason: Optional[str] = None
    created_at: int
    # Only in the answer to the request that set it (creation or PATCH).
    secret: Optional[str] = None


class SessionOut(Out, kw_only=True):
    id: str
    name: str
    engine: str
    status: SessionStatus
    status_reason: Optional[str] = None
    running: bool
    config: dict[str, str]
    rate_limit_per_minute: int
    user_id: Optional[str] = None
    created_at: int
    last_activity_at: Optional[int] = None
    counters: Counters
    queue_depth: Optional[int] = None
    webhooks: Optional[list[WebhookOut]] = None
    owner_id: Optional[str] = None  # the operator account that owns the session


class SessionList(msgspec.Struct):
    sessions: list[SessionOut]


class WebhookList(msgspec.Struct):
    webhooks: list[WebhookOut]


class MediaBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    data: Annotated[bytes, Meta(description="the file, standard base64")]
    mime: Optional[str] = None
    filename: Optional[Annotated[str, Meta(min_length=1, max_length=255)]] = None


class SendBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``to`` (a user id or username) or ``group_id``; ``text`` or ``media``."""

    to: Optional[Annotated[str, Meta(min_length=1, max_length=256)]] = None
    group_id: Optional[Annotated[str, Meta(min_length=1, max_length=256)]] = None
    text: Optional[Annotated[str, Meta(min_length=1, max_length=65536)]] = None
    caption: Optional[Annotated[str, Meta(max_length=4096)]] = None
    media: Optional[MediaBody] = None


class AcceptedOut(msgspec.Struct):
    id: str
    status: str
    position: int


class MediaOut(Out, kw_only=True):
    id: str
    mime: str
    size: int
    filename: Optional[str] = None
    sha256: Optional[str] = None
    url: str


class MessageOut(Out, kw_only=True):
    id: str
    direction: Direction
    peer: str
    peer_name: Optional[str] = None
    group_id: Optional[str] = None
    type: MessageType
    text: Optional[str] = None
    caption: Optional[str] = None
    status: MessageState
    reason: Optional[str] = None
    timestamp: int
    media: Optional[MediaOut] = None


class MessagesPage(msgspec.Struct):
    messages: list[MessageOut]
    next_cursor: Optional[str]


class DeliveryOut(Out, kw_only=True):
    seq: int
    endpoint_id: str
    event_id: str
    event_type: EventType
    state: DeliveryState
    attempts: int
    next_attempt_at: int
    last_status: Optional[int] = None
    last_error: Optional[str] = None
    created_at: int
    finished_at: Optional[int] = None


class DeliveryList(msgspec.Struct):
    deliveries: list[DeliveryOut]


class KeyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    scope: Scope
    expires_at: Optional[Annotated[int, Meta(ge=0, le=2**63 - 1)]] = None  # ms; SQLite INTEGER
    session_ids: Optional[Annotated[list[str], Meta(min_length=1, max_length=1000)]] = None


class KeyOut(Out, kw_only=True):
    id: str
    name: str
    scope: Scope
    prefix: str
    session_ids: Optional[list[str]] = None
    expires_at: Optional[int] = None
    created_at: int
    last_used_at: Optional[int] = None
    # Only in the answer to the creation: the key itself, shown this once.
    key: Optional[str] = None
    user_id: Optional[str] = None  # the operator account the key belongs to


class KeyList(msgspec.Struct):
    keys: list[KeyOut]


class Health(msgspec.Struct):
    status: str
