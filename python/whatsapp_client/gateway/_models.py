"""Records the gateway stores and hands between its parts (msgspec structs, no behaviour).

Times are integer milliseconds since the Unix epoch. Ids are opaque strings with a kind
prefix (``ses_``, ``msg_``, ``med_``, ``whk_``, ``evt_``, ``key_``) and >= 128 random bits.
Nothing secret lives in these records in clear except where a field says so; the storage
keeps sealed fields sealed (see :mod:`._vault`).
"""

from __future__ import annotations

from typing import Literal, Optional

import msgspec

SessionStatus = Literal["connecting", "connected", "disconnected", "failed", "stopped"]
Direction = Literal["inbound", "outbound"]
MessageType = Literal["text", "image", "video", "audio", "document"]
MessageState = Literal["queued", "sent", "delivered", "read", "failed", "received"]
EventType = Literal["message.received", "message.status", "session.status", "error"]
Scope = Literal["read", "write", "admin"]
DeliveryState = Literal["pending", "delivered", "dead"]

EVENT_TYPES: tuple[EventType, ...] = (
    "message.received",
    "message.status",
    "session.status",
    "error",
)


class Counters(msgspec.Struct, kw_only=True):
    sent: int = 0
    received: int = 0
    failed: int = 0


class SessionRecord(msgspec.Struct, kw_only=True):
    """One account on a chat server, run by an engine. ``running`` is what the operator
    wants (restored after a gateway restart); ``status`` is what is actually happening."""

    id: str
    name: str
    engine: str
    # Engine settings that are not secret (wac1: server_url, username).
    config: dict[str, str]
    status: SessionStatus
    status_reason: Optional[str] = None
    running: bool = True
    rate_limit_per_minute: int = 50
    user_id: Optional[str] = None
    created_at: int
    last_activity_at: Optional[int] = None
    counters: Counters = msgspec.field(default_factory=Counters)
    # The operator account that created the session (operator accounts).
    owner_id: Optional[str] = None


class WebhookEndpoint(msgspec.Struct, kw_only=True):
    """Where a session's events are posted. ``secrets``: signing secrets, newest first
    (two during a rotation), sealed at rest by the storage."""

    id: str
    session_id: str
    url: str
    events: list[EventType]
    secrets: list[str]
    enabled: bool = True
    disabled_reason: Optional[str] = None
    created_at: int


class MediaInfo(msgspec.Struct, kw_only=True):
    """A stored media file: sealed on disk under the data directory."""

    media_id: str
    mime: str
    size: int
    filename: Optional[str] = None
    sha256: Optional[str] = None  # hex, of the plaintext


class MessageRecord(msgspec.Struct, kw_only=True):
    """A message in a session's history. ``text``/``caption`` are sealed at rest."""

    id: str
    session_id: str
    direction: Direction
    peer: str  # user id, or the group id for a group message
    peer_name: Optional[str] = None
    group_id: Optional[str] = None
    type: MessageType
    text: Optional[str] = None
    caption: Optional[str] = None
    status: MessageState
    reason: Optional[str] = None
    timestamp: int
    media: Optional[MediaInfo] = None
    # The engine's own id for the message (wac1: the client's message id).
    engine_message_id: Optional[str] = None
    # Inbound: the user id that sent it (the peer of a direct message, the member of a
    # group). Received messages are duplicates by (sender, engine_message_id); None: peer.
    sender: Optional[str] = None


class OutboundRequest(msgspec.Struct, kw_only=True):
    """What a queued send asks the engine to do. Exactly one of ``to`` / ``group_id``;
    ``text`` for a text message, ``media_path`` (a sealed file under the data directory,
    see :class:`MediaInfo`) for media."""

    to: Optional[str] = None
    group_id: Optional[str] = None
    text: Optional[str] = None
    caption: Optional[str] = None
    media: Optional[MediaInfo] = None
    # How the media is sent (image, video, audio, document); None: from its mime type.
    kind: Optional[MessageType] = None
    # Queued through a gateway process that does not run the session: the recipient (and,
    # for media to a group, whether the engine can) is checked before sending.
    unchecked: bool = False


class QueueItem(msgspec.Struct, kw_only=True):
    """One entry of a session's durable FIFO send queue (``seq`` orders it)."""

    seq: int
    session_id: str
    message_id: str
    request: OutboundRequest
    attempts: int = 0
    enqueued_at: int


class Event(msgspec.Struct, kw_only=True):
    """An event for webhooks. ``id`` is the stable ``webhook-id``; the body posted is
    ``{type, session_id, timestamp, data}``."""

    id: str
    type: EventType
    session_id: str
    timestamp: int
    data: dict[str, object]


class Delivery(msgspec.Struct, kw_only=True):
    """One event bound for one endpoint; delivered in ``seq`` order per endpoint."""

    seq: int
    endpoint_id: str
    session_id: str
    event: Event
    state: DeliveryState = "pending"
    attempts: int = 0
    next_attempt_at: int
    last_status: Optional[int] = None
    last_error: Optional[str] = None
    created_at: int
    finished_at: Optional[int] = None


class ApiKeyRecord(msgspec.Struct, kw_only=True):
    """An API key. Only ``key_hash`` (SHA-256 hex of the key) is stored, never the key."""

    id: str
    name: str
    scope: Scope
    key_hash: str
    prefix: str  # first characters of the key, for people to recognise it
    session_ids: Optional[list[str]] = None  # None: every session
    expires_at: Optional[int] = None
    created_at: int
    last_used_at: Optional[int] = None
    # The operator account the key belongs to; the key never reaches further than it.
    user_id: Optional[str] = None


class IdempotentAnswer(msgspec.Struct, kw_only=True):
    status: int
    body: bytes
    expires_at: int


class MessageFilter(msgspec.Struct, kw_only=True):
    direction: Optional[Direction] = None
    peer: Optional[str] = None
    status: Optional[MessageState] = None
    type: Optional[MessageType] = None
    since: Optional[int] = None  # timestamp >= since
    until: Optional[int] = None  # timestamp < until
