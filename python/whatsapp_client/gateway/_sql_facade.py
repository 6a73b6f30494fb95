"""The :class:`~._storage.Storage` methods both SQL backends share, written once.

Each method runs one of the backend's SQL functions (:mod:`._sql_modules`) in a read or a
write. What a backend class adds is only what differs: opening and closing, how a function
runs (``_sql_read``/``_sql_write``: a reader thread or the group-committing writer thread
for SQLite, the pool or the group-committing writer task for PostgreSQL, where the
function's coroutine is awaited), the write nobody waits for (``_sql_write_unawaited``),
and its SQL modules (the class attributes ``_ses``, ``_msg``, ``_ev``, ``_stats``,
``_users``, and ``_leases`` for :class:`._lease_facade.LeaseFacade`'s lease methods).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Optional, TypeVar

from whatsapp_client.gateway._account_records import BrowserSession, RefreshToken, UserRecord
from whatsapp_client.gateway._codec import Codec
from whatsapp_client.gateway._ids import now_ms
from whatsapp_client.gateway._lease_facade import LeaseFacade
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
from whatsapp_client.gateway._sql_modules import (
    EventsSql,
    MessagesSql,
    SessionsSql,
    StatsSql,
    UsersSql,
)

T = TypeVar("T")

log = logging.getLogger("whatsapp_client.gateway.storage")


class SqlFacade(LeaseFacade):
    """The shared part of ``SqliteStorage`` and ``PostgresStorage``."""

    _ses: ClassVar[SessionsSql]
    _msg: ClassVar[MessagesSql]
    _ev: ClassVar[EventsSql]
    _stats: ClassVar[StatsSql]
    _users: ClassVar[UsersSql]
    _codec: Codec
    # Last-activity times not yet written: {session id: newest time}.
    _touches: dict[str, int]

    # --- what each backend provides -------------------------------------------------------
    async def _sql_read(self, fn: Callable[[Any], T]) -> T:
        """``fn(connection)``'s result, read beside the writes."""
        raise NotImplementedError

    async def _sql_write(self, fn: Callable[[Any], T]) -> T:
        """``fn(connection)``'s result, once its transaction is committed (in call order)."""
        raise NotImplementedError

    def _sql_write_unawaited(self, fn: Callable[[Any], object]) -> bool:
        """Queues a write nobody waits for (its failure is logged); False if closed."""
        raise NotImplementedError

    async def ping(self) -> None:
        await self._sql_write(self._ses.ping)

    # --- sessions -------------------------------------------------------------------------
    async def create_session(
        self, session: SessionRecord, credentials: bytes, webhooks: Sequence[WebhookEndpoint]
    ) -> None:
        hooks = list(webhooks)
        await self._sql_write(
            lambda c: self._ses.create_session(c, self._codec, session, credentials, hooks)
        )

    async def get_session(self, session_id: str) -> Optional[SessionRecord]:
        return await self._sql_read(lambda c: self._ses.get_session(c, self._codec, session_id))

    async def list_sessions(self) -> list[SessionRecord]:
        return await self._sql_read(lambda c: self._ses.list_sessions(c, self._codec))

    async def get_credentials(self, session_id: str) -> bytes:
        return await self._sql_read(lambda c: self._ses.get_credentials(c, self._codec, session_id))

    async def update_session(
        self,
        session_id: str,
        *,
        name: Optional[str] = None,
        rate_limit_per_minute: Optional[int] = None,
        running: Optional[bool] = None,
        user_id: Optional[str] = None,
    ) -> SessionRecord:
        given: dict[str, Any] = {
            "name": name,
            "rate_limit_per_minute": rate_limit_per_minute,
            "running": running,
            "user_id": user_id,
        }
        changes = {k: v for k, v in given.items() if v is not None}
        return await self._sql_write(
            lambda c: self._ses.update_session(c, self._codec, session_id, changes)
        )

    async def set_session_status(
        self, session_id: str, status: SessionStatus, reason: Optional[str], event: Optional[Event]
    ) -> None:
        await self._sql_write(
            lambda c: self._ses.set_session_status(
                c, self._codec, session_id, status, reason, event
            )
        )

    async def touch_session(self, session_id: str, at: int) -> None:
        # Coalesced on the loop: the touches of one loop turn become one write, which the
        # caller does not wait for (last activity is advisory).
        scheduled = bool(self._touches)
        self._touches[session_id] = max(at, self._touches.get(session_id, 0))
        if not scheduled:
            asyncio.get_running_loop().call_soon(self._flush_touches)

    def _flush_touches(self) -> None:
        touches, self._touches = self._touches, {}
        if not touches:
            return
        if not self._sql_write_unawaited(lambda c: self._ses.touch_sessions(c, touches)):
            log.warning("storage closed; %d last-activity times not recorded", len(touches))

    async def delete_session(self, session_id: str) -> None:
        self._touches.pop(session_id, None)
        await self._sql_write(lambda c: self._ses.delete_session(c, session_id))

    # --- webhooks -------------------------------------------------------------------------
    async def replace_webhooks(self, session_id: str, webhooks: Sequence[WebhookEndpoint]) -> None:
        hooks = list(webhooks)
        await self._sql_write(
            lambda c: self._ses.replace_webhooks(c, self._codec, session_id, hooks)
        )

    async def list_webhooks(self, session_id: str) -> list[WebhookEndpoint]:
        return await self._sql_read(lambda c: self._ses.list_webhooks(c, self._codec, session_id))

    async def disable_webhook(self, endpoint_id: str, reason: str) -> None:
        await self._sql_write(lambda c: self._ses.disable_webhook(c, endpoint_id, reason))

    # --- history and the send queue -------------------------------------------------------
    async def enqueue_send(
        self,
        message: MessageRecord,
        request_item: QueueItem,
        *,
        max_depth: int,
        idempotency: Optional[tuple[str, IdempotentAnswer]] = None,
    ) -> int:
        now = now_ms()
        return await self._sql_write(
            lambda c: self._msg.enqueue_send(
                c, self._codec, message, request_item, max_depth, idempotency, now
            )
        )

    async def next_queued(self, session_id: str) -> Optional[QueueItem]:
        return await self._sql_read(lambda c: self._msg.next_queued(c, self._codec, session_id))

    async def queue_depth(self, session_id: str) -> int:
        return await self._sql_read(lambda c: self._msg.queue_depth(c, session_id))

    async def finish_send(
        self,
        item: QueueItem,
        status: MessageState,
        *,
        engine_message_id: Optional[str],
        reason: Optional[str],
        event: Optional[Event],
    ) -> None:
        await self._sql_write(
            lambda c: self._msg.finish_send(
                c, self._codec, item, status, engine_message_id, reason, event
            )
        )

    async def record_inbound(self, message: MessageRecord, event: Event) -> bool:
        return await self._sql_write(
            lambda c: self._msg.record_inbound(c, self._codec, message, event)
        )

    async def set_message_status(
        self,
        session_id: str,
        engine_message_id: str,
        status: MessageState,
        event_id: str,
        at: int,
    ) -> Optional[MessageRecord]:
        return await self._sql_write(
            lambda c: self._msg.set_message_status(
                c, self._codec, session_id, engine_message_id, status, event_id, at
            )
        )

    async def add_events(self, events: Sequence[Event]) -> None:
        batch = list(events)
        await self._sql_write(lambda c: self._ev.add_events(c, self._codec, batch))

    async def get_message(self, session_id: str, message_id: str) -> Optional[MessageRecord]:
        return await self._sql_read(
            lambda c: self._msg.get_message(c, self._codec, session_id, message_id)
        )

    async def list_messages(
        self,
        session_id: str,
        filters: MessageFilter,
        *,
        limit: int,
        cursor: Optional[str] = None,
    ) -> tuple[list[MessageRecord], Optional[str]]:
        return await self._sql_read(
            lambda c: self._msg.list_messages(c, self._codec, session_id, filters, limit, cursor)
        )

    async def get_media(self, session_id: str, media_id: str) -> Optional[tuple[MediaInfo, bytes]]:
        return await self._sql_read(
            lambda c: self._ses.get_media(c, self._codec, session_id, media_id)
        )

    async def save_media(self, session_id: str, media: MediaInfo, sealed_keys: bytes) -> None:
        await self._sql_write(
            lambda c: self._ses.save_media(c, self._codec, session_id, media, sealed_keys)
        )

    # --- webhook deliveries ---------------------------------------------------------------
    async def endpoints_with_work(self, now: int) -> list[str]:
        return await self._sql_read(lambda c: self._ev.endpoints_with_work(c, now))

    async def head_delivery(self, endpoint_id: str) -> Optional[Delivery]:
        return await self._sql_read(lambda c: self._ev.head_delivery(c, self._codec, endpoint_id))

    async def pending_deliveries(self, endpoint_id: str, *, limit: int) -> list[Delivery]:
        return await self._sql_read(
            lambda c: self._ev.pending_deliveries(c, self._codec, endpoint_id, limit)
        )

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
        await self._sql_write(
            lambda c: self._ev.finish_delivery(
                c, seq, state, attempts, next_attempt_at, status_code, error, at
            )
        )

    async def prune(self, before: int, now: int) -> int:
        return await self._sql_write(lambda c: self._ev.prune(c, before, now))

    async def list_deliveries(
        self,
        session_id: str,
        *,
        endpoint_id: Optional[str] = None,
        state: Optional[DeliveryState] = None,
        limit: int = 100,
    ) -> list[Delivery]:
        return await self._sql_read(
            lambda c: self._ev.list_deliveries(
                c, self._codec, session_id, endpoint_id, state, limit
            )
        )

    async def redeliver(self, session_id: str, seq: int, now: int) -> Delivery:
        return await self._sql_write(
            lambda c: self._ev.redeliver(c, self._codec, session_id, seq, now)
        )

    # --- API keys and idempotency ---------------------------------------------------------
    async def create_api_key(self, key: ApiKeyRecord) -> None:
        await self._sql_write(lambda c: self._ses.create_api_key(c, key))

    async def list_api_keys(self) -> list[ApiKeyRecord]:
        return await self._sql_read(self._ses.list_api_keys)

    async def find_api_key(self, key_hash: str) -> Optional[ApiKeyRecord]:
        return await self._sql_read(lambda c: self._ses.find_api_key(c, key_hash))

    async def delete_api_key(self, key_id: str) -> bool:
        return await self._sql_write(lambda c: self._ses.delete_api_key(c, key_id))

    async def get_idempotent(self, scope: str) -> Optional[IdempotentAnswer]:
        now = now_ms()
        return await self._sql_read(lambda c: self._ses.get_idempotent(c, self._codec, scope, now))

    # --- operator accounts ----------------------------------------------------------------
    async def create_user(self, user: UserRecord) -> None:
        await self._sql_write(lambda c: self._users.create_user(c, user))

    async def get_user(self, user_id: str) -> Optional[UserRecord]:
        return await self._sql_read(lambda c: self._users.get_user(c, user_id))

    async def find_user(self, email: str) -> Optional[UserRecord]:
        return await self._sql_read(lambda c: self._users.find_user(c, email))

    async def list_users(self) -> list[UserRecord]:
        return await self._sql_read(self._users.list_users)

    async def update_user(self, user_id: str, **changes: Any) -> UserRecord:
        return await self._sql_write(lambda c: self._users.update_user(c, user_id, changes))

    async def delete_user(self, user_id: str, heir_id: str) -> bool:
        return await self._sql_write(lambda c: self._users.delete_user(c, user_id, heir_id))

    async def claim_unowned(self, owner_id: str) -> int:
        return await self._sql_write(lambda c: self._users.claim_unowned(c, owner_id))

    async def set_session_owner(self, session_id: str, owner_id: str) -> None:
        await self._sql_write(lambda c: self._users.set_session_owner(c, session_id, owner_id))

    async def add_refresh_token(self, token: RefreshToken) -> None:
        await self._sql_write(lambda c: self._users.add_refresh(c, token))

    async def rotate_refresh_token(
        self, token_hash: str, now: int, successor: Callable[[RefreshToken], RefreshToken]
    ) -> tuple[str, Optional[RefreshToken]]:
        return await self._sql_write(
            lambda c: self._users.rotate_refresh(c, token_hash, now, successor)
        )

    async def revoke_refresh_token(self, token_hash: str) -> None:
        await self._sql_write(lambda c: self._users.revoke_refresh(c, token_hash))

    async def end_logins(self, user_id: str, now: int, keep: Optional[str] = None) -> None:
        await self._sql_write(lambda c: self._users.end_logins(c, user_id, now, keep))

    async def add_browser_session(self, session: BrowserSession) -> None:
        await self._sql_write(lambda c: self._users.add_browser(c, session))

    async def get_browser_session(self, id_hash: str) -> Optional[BrowserSession]:
        return await self._sql_read(lambda c: self._users.get_browser(c, id_hash))

    async def delete_browser_session(self, id_hash: str) -> None:
        await self._sql_write(lambda c: self._users.delete_browser(c, id_hash))

    async def sealed_secret(self, name: str, make: Callable[[], bytes]) -> bytes:
        return await self._sql_write(
            lambda c: self._users.sealed_secret(c, self._codec, name, make)
        )

    # --- live data (dashboard stats) ------------------------------------------------------
    async def message_counts_per_minute(
        self, session_id: str, since: int, until: int
    ) -> dict[int, tuple[int, int, int]]:
        return await self._sql_read(lambda c: self._stats.per_minute(c, session_id, since, until))
