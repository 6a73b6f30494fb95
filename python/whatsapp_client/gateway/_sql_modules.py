"""The SQL functions a storage backend provides to :class:`._sql_facade.SqlFacade`.

One protocol per group of functions; a backend names a module for each (SQLite:
``_sqlite_sessions``, ``_sqlite_messages``, ``_sqlite_events``, ``_sqlite_stats``,
``_sqlite_users``; PostgreSQL: ``_pg_sessions``, ``_pg_messages`` (also the stats),
``_pg_events``, ``_pg_users``). Every function takes the backend's connection first and
runs inside the caller's transaction.

The protocols give each function's *result*. SQLite's functions return it (mypy checks
those modules against these protocols); PostgreSQL's are coroutine functions returning an
awaitable of it, which ``PostgresStorage`` awaits. Python has no way to say "the same
signatures, results awaited", so ``_pg`` casts its modules to these protocols in one place
and ``tests/gateway/test_sql_modules.py`` checks that every PostgreSQL function has the
protocol's parameters and result and is a coroutine function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Optional, Protocol

from whatsapp_client.gateway._account_records import BrowserSession, RefreshToken, UserRecord
from whatsapp_client.gateway._codec import Codec
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

# The backend's connection (``sqlite3.Connection`` or ``asyncpg.Connection``): the facade
# only passes on what the backend's runner gives it.
Conn = Any


class SessionsSql(Protocol):
    """Sessions, webhook endpoints, API keys, media records, idempotent answers, ping."""

    def ping(self, conn: Conn) -> None: ...

    def create_session(
        self,
        conn: Conn,
        codec: Codec,
        s: SessionRecord,
        credentials: bytes,
        webhooks: Sequence[WebhookEndpoint],
    ) -> None: ...

    def get_session(self, conn: Conn, codec: Codec, session_id: str) -> Optional[SessionRecord]: ...

    def list_sessions(self, conn: Conn, codec: Codec) -> list[SessionRecord]: ...

    def get_credentials(self, conn: Conn, codec: Codec, session_id: str) -> bytes: ...

    def update_session(
        self, conn: Conn, codec: Codec, session_id: str, changes: dict[str, object]
    ) -> SessionRecord: ...

    def set_session_status(
        self,
        conn: Conn,
        codec: Codec,
        session_id: str,
        status: SessionStatus,
        reason: Optional[str],
        event: Optional[Event],
    ) -> None: ...

    def touch_sessions(self, conn: Conn, touches: dict[str, int]) -> None: ...

    def delete_session(self, conn: Conn, session_id: str) -> None: ...

    def replace_webhooks(
        self, conn: Conn, codec: Codec, session_id: str, webhooks: Sequence[WebhookEndpoint]
    ) -> None: ...

    def list_webhooks(self, conn: Conn, codec: Codec, session_id: str) -> list[WebhookEndpoint]: ...

    def disable_webhook(self, conn: Conn, endpoint_id: str, reason: str) -> None: ...

    def create_api_key(self, conn: Conn, k: ApiKeyRecord) -> None: ...

    def list_api_keys(self, conn: Conn) -> list[ApiKeyRecord]: ...

    def find_api_key(self, conn: Conn, key_hash: str) -> Optional[ApiKeyRecord]: ...

    def delete_api_key(self, conn: Conn, key_id: str) -> bool: ...

    def save_media(
        self, conn: Conn, codec: Codec, session_id: str, media: MediaInfo, sealed_keys: bytes
    ) -> None: ...

    def get_media(
        self, conn: Conn, codec: Codec, session_id: str, media_id: str
    ) -> Optional[tuple[MediaInfo, bytes]]: ...

    def get_idempotent(
        self, conn: Conn, codec: Codec, scope: str, now: int
    ) -> Optional[IdempotentAnswer]: ...


class MessagesSql(Protocol):
    """History and the send queue."""

    def enqueue_send(
        self,
        conn: Conn,
        codec: Codec,
        message: MessageRecord,
        item: QueueItem,
        max_depth: int,
        idempotency: Optional[tuple[str, IdempotentAnswer]],
        now: int,
    ) -> int: ...

    def next_queued(self, conn: Conn, codec: Codec, session_id: str) -> Optional[QueueItem]: ...

    def queue_depth(self, conn: Conn, session_id: str) -> int: ...

    def finish_send(
        self,
        conn: Conn,
        codec: Codec,
        item: QueueItem,
        status: MessageState,
        engine_message_id: Optional[str],
        reason: Optional[str],
        event: Optional[Event],
    ) -> None: ...

    def record_inbound(
        self, conn: Conn, codec: Codec, message: MessageRecord, event: Event
    ) -> bool: ...

    def set_message_status(
        self,
        conn: Conn,
        codec: Codec,
        session_id: str,
        engine_message_id: str,
        status: MessageState,
        event_id: str,
        at: int,
    ) -> Optional[MessageRecord]: ...

    def get_message(
        self, conn: Conn, codec: Codec, session_id: str, message_id: str
    ) -> Optional[MessageRecord]: ...

    def list_messages(
        self,
        conn: Conn,
        codec: Codec,
        session_id: str,
        f: MessageFilter,
        limit: int,
        cursor: Optional[str],
    ) -> tuple[list[MessageRecord], Optional[str]]: ...


class EventsSql(Protocol):
    """Events and webhook deliveries."""

    def add_events(self, conn: Conn, codec: Codec, events: Sequence[Event]) -> None: ...

    def endpoints_with_work(self, conn: Conn, now: int) -> list[str]: ...

    def head_delivery(self, conn: Conn, codec: Codec, endpoint_id: str) -> Optional[Delivery]: ...

    def pending_deliveries(
        self, conn: Conn, codec: Codec, endpoint_id: str, limit: int
    ) -> list[Delivery]: ...

    def finish_delivery(
        self,
        conn: Conn,
        seq: int,
        state: DeliveryState,
        attempts: int,
        next_attempt_at: int,
        status_code: Optional[int],
        error: Optional[str],
        at: int,
    ) -> None: ...

    def list_deliveries(
        self,
        conn: Conn,
        codec: Codec,
        session_id: str,
        endpoint_id: Optional[str],
        state: Optional[DeliveryState],
        limit: int,
    ) -> list[Delivery]: ...

    def redeliver(
        self, conn: Conn, codec: Codec, session_id: str, seq: int, now: int
    ) -> Delivery: ...

    def prune(self, conn: Conn, before: int, now: int) -> int: ...


class StatsSql(Protocol):
    """Live data for the dashboard."""

    def per_minute(
        self, conn: Conn, session_id: str, since: int, until: int
    ) -> dict[int, tuple[int, int, int]]: ...


class UsersSql(Protocol):
    """Operator accounts: users, logins, owners of sessions and keys, sealed secrets."""

    def create_user(self, conn: Conn, u: UserRecord) -> None: ...

    def get_user(self, conn: Conn, user_id: str) -> Optional[UserRecord]: ...

    def find_user(self, conn: Conn, email: str) -> Optional[UserRecord]: ...

    def list_users(self, conn: Conn) -> list[UserRecord]: ...

    def update_user(self, conn: Conn, user_id: str, changes: dict[str, Any]) -> UserRecord: ...

    def delete_user(self, conn: Conn, user_id: str, heir_id: str) -> bool: ...

    def claim_unowned(self, conn: Conn, owner_id: str) -> int: ...

    def set_session_owner(self, conn: Conn, session_id: str, owner_id: str) -> None: ...

    def add_refresh(self, conn: Conn, t: RefreshToken) -> None: ...

    def rotate_refresh(
        self,
        conn: Conn,
        token_hash: str,
        now: int,
        successor: Callable[[RefreshToken], RefreshToken],
    ) -> tuple[str, Optional[RefreshToken]]: ...

    def revoke_refresh(self, conn: Conn, token_hash: str) -> None: ...

    def end_logins(self, conn: Conn, user_id: str, now: int, keep: Optional[str]) -> None: ...

    def add_browser(self, conn: Conn, b: BrowserSession) -> None: ...

    def get_browser(self, conn: Conn, id_hash: str) -> Optional[BrowserSession]: ...

    def delete_browser(self, conn: Conn, id_hash: str) -> None: ...

    def sealed_secret(
        self, conn: Conn, codec: Codec, name: str, make: Callable[[], bytes]
    ) -> bytes: ...


class LeasesSql(Protocol):
    """Session leases and endpoint claims (:mod:`._lease_store`): ``_sqlite_leases``,
    ``_pg_leases``."""

    def claim_sessions(
        self,
        conn: Conn,
        codec: Codec,
        owner: str,
        now: int,
        ttl_ms: int,
        only: Optional[Sequence[str]],
        limit: int,
    ) -> list[SessionRecord]: ...

    def renew_leases(
        self, conn: Conn, codec: Codec, owner: str, now: int, ttl_ms: int
    ) -> list[SessionRecord]: ...

    def release_leases(self, conn: Conn, owner: str, only: Optional[Sequence[str]]) -> None: ...

    def revoke_lease(self, conn: Conn, session_id: str, by: str) -> None: ...

    def lease_holder(self, conn: Conn, session_id: str, now: int) -> Optional[str]: ...

    def queued_sessions(self, conn: Conn, owner: str) -> list[str]: ...

    def claim_endpoints(
        self, conn: Conn, owner: str, now: int, ttl_ms: int, limit: int
    ) -> list[str]: ...

    def release_endpoints(self, conn: Conn, owner: str, only: Optional[Sequence[str]]) -> None: ...
