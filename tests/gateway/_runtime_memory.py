"""An in-memory :class:`Storage` for the runtime's unit tests: the protocol's behaviour
(events with their cause, FIFO queue, forward-only statuses, idempotent answers), no disk.
Every event is kept in ``events`` (the deliveries are the dispatcher's concern)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Optional

from whatsapp_client.gateway._errors import Conflict, NotFound, QueueFull
from whatsapp_client.gateway._models import (
    ApiKeyRecord,
    Delivery,
    DeliveryState,
    Event,
    IdempotentAnswer,
    MediaInfo,
    MessageFilter,
    MessageRecord,
    MessageState,
    QueueItem,
    SessionRecord,
    SessionStatus,
    WebhookEndpoint,
)

_RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}


class MemoryStorage:
    def __init__(self) -> None:
        self.sessions: dict[str, SessionRecord] = {}
        self.credentials: dict[str, bytes] = {}
        self.webhooks: dict[str, list[WebhookEndpoint]] = {}
        self.messages: dict[str, MessageRecord] = {}
        self.queue: list[QueueItem] = []
        self.media: dict[tuple[str, str], tuple[MediaInfo, bytes]] = {}
        self.events: list[Event] = []
        self.idempotent: dict[str, IdempotentAnswer] = {}
        self.opened = False
        self._seq = 0
        self.fail_finish = 0  # finish_send raises this many times (a storage hiccup)

    async def open(self) -> None:
        self.opened = True

    async def close(self) -> None:
        self.opened = False

    async def ping(self) -> None:
        return None

    async def create_session(
        self, session: SessionRecord, credentials: bytes, webhooks: Sequence[WebhookEndpoint]
    ) -> None:
        if any(s.name == session.name for s in self.sessions.values()):
            raise Conflict(f"a session is already named {session.name!r}")
        self.sessions[session.id] = copy.deepcopy(session)
        self.credentials[session.id] = credentials
        self.webhooks[session.id] = list(webhooks)

    async def get_session(self, session_id: str) -> Optional[SessionRecord]:
        s = self.sessions.get(session_id)
        return copy.deepcopy(s) if s else None

    async def list_sessions(self) -> list[SessionRecord]:
        return [copy.deepcopy(s) for s in self.sessions.values()]

    async def get_credentials(self, session_id: str) -> bytes:
        if session_id not in self.credentials:
            raise NotFound(session_id)
        return self.credentials[session_id]

    async def update_session(
        self,
        session_id: str,
        *,
        name: Optional[str] = None,
        rate_limit_per_minute: Optional[int] = None,
        running: Optional[bool] = None,
        user_id: Optional[str] = None,
    ) -> SessionRecord:
        s = self.sessions.get(session_id)
        if s is None:
            raise NotFound(session_id)
        if name is not None:
            if any(o.name == name and o.id != session_id for o in self.sessions.values()):
                raise Conflict(name)
            s.name = name
        if rate_limit_per_minute is not None:
            s.rate_limit_per_minute = rate_limit_per_minute
        if running is not None:
            s.running = running
        if user_id is not None:
            s.user_id = user_id
        return copy.deepcopy(s)

    async def set_session_status(
        self, session_id: str, status: SessionStatus, reason: Optional[str], event: Optional[Event]
    ) -> None:
        s = self.sessions[session_id]
        s.status, s.status_reason = status, reason
        if event is not None:
            self.events.append(event)

    async def touch_session(self, session_id: str, at: int) -> None:
        if session_id in self.sessions:
            self.sessions[session_id].last_activity_at = at

    async def delete_session(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)
        self.credentials.pop(session_id, None)
        self.webhooks.pop(session_id, None)
        self.messages = {k: m for k, m in self.messages.items() if m.session_id != session_id}
        self.queue = [q for q in self.queue if q.session_id != session_id]
        self.media = {k: v for k, v in self.media.items() if k[0] != session_id}
        self.events = [e for e in self.events if e.session_id != session_id]

    async def replace_webhooks(self, session_id: str, webhooks: Sequence[WebhookEndpoint]) -> None:
        self.webhooks[session_id] = list(webhooks)

    async def list_webhooks(self, session_id: str) -> list[WebhookEndpoint]:
        return list(self.webhooks.get(session_id, []))

    async def disable_webhook(self, endpoint_id: str, reason: str) -> None:
        raise NotImplementedError

    async def enqueue_send(
        self,
        message: MessageRecord,
        request_item: QueueItem,
        *,
        max_depth: int,
        idempotency: Optional[tuple[str, IdempotentAnswer]] = None,
    ) -> int:
        depth = await self.queue_depth(message.session_id)
        if depth >= max_depth:
            raise QueueFull(f"the queue holds {depth} messages")
        self._seq += 1
        item = copy.deepcopy(request_item)
        item.seq = self._seq
        self.queue.append(item)
        self.messages[message.id] = copy.deepcopy(message)
        if idempotency is not None:
            self.idempotent[idempotency[0]] = idempotency[1]
        return depth + 1

    async def next_queued(self, session_id: str) -> Optional[QueueItem]:
        for item in self.queue:
            if item.session_id == session_id:
                return copy.deepcopy(item)
        return None

    async def queue_depth(self, session_id: str) -> int:
        return sum(1 for q in self.queue if q.session_id == session_id)

    async def finish_send(
        self,
        item: QueueItem,
        status: MessageState,
        *,
        engine_message_id: Optional[str],
        reason: Optional[str],
        event: Optional[Event],
    ) -> None:
        if self.fail_finish > 0:
            self.fail_finish -= 1
            raise OSError("database is locked")
        self.queue = [q for q in self.queue if q.seq != item.seq]
        m = self.messages[item.message_id]
        m.status, m.reason = status, reason
        m.engine_message_id = engine_message_id or m.engine_message_id
        counters = self.sessions[item.session_id].counters
        if status == "sent":
            counters.sent += 1
        else:
            counters.failed += 1
        if event is not None:
            self.events.append(event)

    async def record_inbound(self, message: MessageRecord, event: Event) -> bool:
        for m in self.messages.values():
            if (
                m.session_id == message.session_id
                and m.direction == "inbound"
                and m.engine_message_id == message.engine_message_id
                and m.peer == message.peer
            ):
                return False
        self.messages[message.id] = copy.deepcopy(message)
        self.sessions[message.session_id].counters.received += 1
        self.events.append(event)
        return True

    async def set_message_status(
        self,
        session_id: str,
        engine_message_id: str,
        status: MessageState,
        event_id: str,
        at: int,
    ) -> Optional[MessageRecord]:
        for m in self.messages.values():
            if (
                m.session_id == session_id
                and m.direction == "outbound"
                and m.engine_message_id == engine_message_id
            ):
                if _RANK.get(status, -1) <= _RANK.get(m.status, 99):
                    return None
                m.status = status
                self.events.append(
                    Event(
                        id=event_id,
                        type="message.status",
                        session_id=session_id,
                        timestamp=at,
                        data={"id": m.id, "status": status},
                    )
                )
                return copy.deepcopy(m)
        return None

    async def add_events(self, events: Sequence[Event]) -> None:
        self.events.extend(events)

    async def get_message(self, session_id: str, message_id: str) -> Optional[MessageRecord]:
        m = self.messages.get(message_id)
        return copy.deepcopy(m) if m is not None and m.session_id == session_id else None

    async def list_messages(
        self,
        session_id: str,
        filters: MessageFilter,
        *,
        limit: int,
        cursor: Optional[str] = None,
    ) -> tuple[list[MessageRecord], Optional[str]]:
        found = [m for m in self.messages.values() if m.session_id == session_id]
        found.sort(key=lambda m: m.timestamp, reverse=True)
        return [copy.deepcopy(m) for m in found[:limit]], None

    async def get_media(self, session_id: str, media_id: str) -> Optional[tuple[MediaInfo, bytes]]:
        return self.media.get((session_id, media_id))

    async def save_media(self, session_id: str, media: MediaInfo, sealed_keys: bytes) -> None:
        self.media[(session_id, media.media_id)] = (media, sealed_keys)

    async def endpoints_with_work(self, now: int) -> list[str]:
        return []

    async def head_delivery(self, endpoint_id: str) -> Optional[Delivery]:
        return None

    async def finish_delivery(
        self,
        seq: int,
        state: DeliveryState,
        *,
        attempts: int,
        next_attempt_at: int,
        status_code: Optional[int],
        error: Optional[str],
        at: int,
    ) -> None:
        raise NotImplementedError

    async def list_deliveries(
        self,
        session_id: str,
        *,
        endpoint_id: Optional[str] = None,
        state: Optional[DeliveryState] = None,
        limit: int = 100,
    ) -> list[Delivery]:
        return []

    async def redeliver(self, session_id: str, seq: int, now: int) -> Delivery:
        raise NotFound(f"no delivery {seq}")

    async def create_api_key(self, key: ApiKeyRecord) -> None:
        raise NotImplementedError

    async def list_api_keys(self) -> list[ApiKeyRecord]:
        return []

    async def find_api_key(self, key_hash: str) -> Optional[ApiKeyRecord]:
        return None

    async def delete_api_key(self, key_id: str) -> bool:
        return False

    async def get_idempotent(self, scope: str) -> Optional[IdempotentAnswer]:
        return self.idempotent.get(scope)
