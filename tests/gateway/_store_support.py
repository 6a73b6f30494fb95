"""Record factories for the storage tests (contract, crash, throughput)."""

from __future__ import annotations

from typing import Optional

from whatsapp_client.gateway._ids import new_id, now_ms
from whatsapp_client.gateway._models import (
    Event,
    EventType,
    MessageRecord,
    OutboundRequest,
    QueueItem,
    SessionRecord,
    WebhookEndpoint,
)

ALL_EVENTS: list[EventType] = ["message.received", "message.status", "session.status", "error"]


def session(name: Optional[str] = None, **kw: object) -> SessionRecord:
    sid = new_id("ses")
    fields: dict[str, object] = {
        "id": sid,
        "name": name or f"name-{sid}",
        "engine": "wac1",
        "config": {"server_url": "http://127.0.0.1:1", "username": "alice"},
        "status": "connecting",
        "created_at": now_ms(),
    }
    fields.update(kw)
    return SessionRecord(**fields)  # type: ignore[arg-type]


def endpoint(
    session_id: str, events: Optional[list[EventType]] = None, secret: str = "whsec_c2VjcmV0"
) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=new_id("whk"),
        session_id=session_id,
        url="http://127.0.0.1:9/hook",
        events=list(ALL_EVENTS if events is None else events),
        secrets=[secret],
        created_at=now_ms(),
    )


def outbound(session_id: str, text: str = "hello", ts: Optional[int] = None) -> MessageRecord:
    return MessageRecord(
        id=new_id("msg"),
        session_id=session_id,
        direction="outbound",
        peer="u_bob",
        type="text",
        text=text,
        status="queued",
        timestamp=now_ms() if ts is None else ts,
    )


def queue_item(message: MessageRecord) -> QueueItem:
    return QueueItem(
        seq=0,
        session_id=message.session_id,
        message_id=message.id,
        request=OutboundRequest(to=message.peer, text=message.text),
        enqueued_at=message.timestamp,
    )


def inbound(
    session_id: str,
    engine_id: str,
    *,
    peer: str = "u_carol",
    sender: Optional[str] = None,
    group_id: Optional[str] = None,
    text: str = "hi",
    ts: Optional[int] = None,
) -> MessageRecord:
    return MessageRecord(
        id=new_id("msg"),
        session_id=session_id,
        direction="inbound",
        peer=peer,
        sender=sender,
        group_id=group_id,
        type="text",
        text=text,
        status="received",
        timestamp=now_ms() if ts is None else ts,
        engine_message_id=engine_id,
    )


def event(session_id: str, type_: EventType = "message.received", **data: object) -> Event:
    return Event(
        id=new_id("evt"), type=type_, session_id=session_id, timestamp=now_ms(), data=dict(data)
    )
