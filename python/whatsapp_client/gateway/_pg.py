"""The PostgreSQL :class:`~._storage.Storage` of the gateway (``--database postgresql://``).

asyncpg with a small pool. Every awaited write is one transaction, committed before it
returns (``synchronous_commit`` as the server has it, ``on`` by default). A gateway's
writes run in call order through one task that group-commits them (``_pg_writer``, as
SQLite's single writer), so the queue order of concurrent enqueues is their submission
order; what several gateway processes on one database must not both do is guarded by row
locks in the SQL (``_pg_sessions``, ``_pg_messages``, ``_pg_events``, ``_pg_users``).
Reads run on the pool beside the writes. The delivery and account methods are mixed in
from ``_pg_events`` and ``_pg_users``, the leases and claims from ``_pg_leases``.
Sealing is SQLite's (:class:`._codec.Codec`): nothing secret reaches the database in clear.
asyncpg is imported when the storage opens, so SQLite needs no extra package.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Optional, TypeVar

from whatsapp_client.gateway import _pg_messages as msg
from whatsapp_client.gateway import _pg_sessions as ses
from whatsapp_client.gateway._codec import Codec
from whatsapp_client.gateway._database import DatabaseUnavailable
from whatsapp_client.gateway._errors import Conflict, NotFound
from whatsapp_client.gateway._ids import now_ms
from whatsapp_client.gateway._models import (
    ApiKeyRecord,
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
from whatsapp_client.gateway._pg_events import PgDeliveries  # events, webhook deliveries
from whatsapp_client.gateway._pg_leases import PgLeases  # several processes
from whatsapp_client.gateway._pg_notify import PgListener
from whatsapp_client.gateway._pg_schema import check_key, migrate
from whatsapp_client.gateway._pg_users import PgUsers  # operator accounts
from whatsapp_client.gateway._pg_writer import PgWriter
from whatsapp_client.gateway._vault import Vault
from whatsapp_client.server.storage.postgres import redacted

T = TypeVar("T")
Op = Callable[[Any], Awaitable[T]]

log = logging.getLogger("whatsapp_client.gateway.storage")

CONNECT_TIMEOUT = 10.0
# A statement that hangs (a partitioned network, a lock held elsewhere) fails after this
# rather than stalling the writer for ever; the longest normal one is a retention prune.
COMMAND_TIMEOUT = 120.0


class PostgresStorage(PgDeliveries, PgUsers, PgLeases):
    """``PostgresStorage(dsn, vault)``; ``await open()`` before use, ``close()`` after."""

    def __init__(
        self, dsn: str, vault: Vault, *, max_connections: int = 10, max_batch: int = 500
    ) -> None:
        if max_connections < 2:
            raise ValueError("max_connections must be at least 2 (a write and a read)")
        self._dsn = dsn
        self._codec = Codec(vault)
        self._max = max_connections
        self._max_batch = max_batch
        self._pool: Any = None
        self._asyncpg: Any = None
        self._writer: Optional[PgWriter] = None
        self._listener: Optional[PgListener] = None
        self._touches: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"PostgresStorage({self.path!r})"

    @property
    def path(self) -> str:
        """Where the records are, without the password (for logs and errors)."""
        return redacted(self._dsn)

    # --- plumbing -------------------------------------------------------------------------
    async def open(self) -> None:
        if self._pool is not None:
            return
        try:
            import asyncpg
        except ImportError:
            raise DatabaseUnavailable(
                "the PostgreSQL storage needs asyncpg: pip install 'whatsapp-client[postgres]'"
            ) from None
        try:
            conn = await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT)
        except (OSError, asyncio.TimeoutError, asyncpg.PostgresError) as exc:
            raise DatabaseUnavailable(
                f"cannot reach the gateway database {self.path}: {str(exc) or type(exc).__name__}"
            ) from None
        except (ValueError, asyncpg.InterfaceError) as exc:
            raise DatabaseUnavailable(f"the gateway database DSN is not usable: {exc}") from None
        try:
            await migrate(conn)
            await check_key(conn, self._codec, self.path)
        finally:
            await conn.close()
        self._asyncpg = asyncpg
        self._pool = await asyncpg.create_pool(
            self._dsn,
            min_size=1,
            max_size=self._max,
            timeout=CONNECT_TIMEOUT,
            command_timeout=COMMAND_TIMEOUT,
        )
        transient = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)
        self._writer = PgWriter(self._pool, transient, self._max_batch)

    async def close(self) -> None:
        """Commits what is queued (the coalesced last-activity times too), then closes the
        pool."""
        listener, self._listener = self._listener, None
        if listener is not None:
            await listener.close()
        self._flush_touches()
        writer, self._writer = self._writer, None
        if writer is not None:
            await writer.close()
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    def _need_pool(self) -> Any:
        if self._pool is None:
            raise RuntimeError("the gateway storage is not open")
        return self._pool

    async def subscribe(
        self, on_queued: Callable[[str], None], on_events: Callable[[], None]
    ) -> None:
        """``LISTEN`` for sends queued and events written by any process (``_pg_notify``)."""
        self._need_pool()
        if self._listener is not None:
            await self._listener.close()
        asyncpg, dsn = self._asyncpg, self._dsn
        listener = PgListener(
            lambda: asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT), on_queued, on_events
        )
        await listener.start()
        self._listener = listener

    async def _read(self, fn: Op[T]) -> T:
        async with self._need_pool().acquire() as conn:
            return await fn(conn)

    async def _write(self, fn: Op[T]) -> T:
        """One write, committed before this returns; writes commit in call order."""
        if self._writer is None:
            raise RuntimeError("the gateway storage is not open")
        pg = self._asyncpg
        try:
            result: T = await self._writer.submit(fn)
        # Races with another gateway process that the SQL's checks did not see.
        except pg.UniqueViolationError:
            raise Conflict("conflicts with a record written at the same time") from None
        except pg.ForeignKeyViolationError:
            raise NotFound("the session (or endpoint) is gone") from None
        return result

    async def ping(self) -> None:
        await self._write(
            lambda c: c.execute(
                "INSERT INTO meta (key, value) VALUES ('ping', $1)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                str(now_ms()),
            )
        )

    # --- sessions -------------------------------------------------------------------------
    async def create_session(
        self, session: SessionRecord, credentials: bytes, webhooks: Sequence[WebhookEndpoint]
    ) -> None:
        hooks = list(webhooks)
        await self._write(lambda c: ses.create_session(c, self._codec, session, credentials, hooks))

    async def get_session(self, session_id: str) -> Optional[SessionRecord]:
        return await self._read(lambda c: ses.get_session(c, self._codec, session_id))

    async def list_sessions(self) -> list[SessionRecord]:
        return await self._read(lambda c: ses.list_sessions(c, self._codec))

    async def get_credentials(self, session_id: str) -> bytes:
        return await self._read(lambda c: ses.get_credentials(c, self._codec, session_id))

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
        return await self._write(lambda c: ses.update_session(c, self._codec, session_id, changes))

    async def set_session_status(
        self, session_id: str, status: SessionStatus, reason: Optional[str], event: Optional[Event]
    ) -> None:
        await self._write(
            lambda c: ses.set_session_status(c, self._codec, session_id, status, reason, event)
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
        if self._writer is None:
            log.warning("storage closed; %d last-activity times not recorded", len(touches))
            return
        self._writer.submit_nowait(lambda c: ses.touch_sessions(c, touches))

    async def delete_session(self, session_id: str) -> None:
        self._touches.pop(session_id, None)
        await self._write(lambda c: ses.delete_session(c, session_id))

    # --- webhooks -------------------------------------------------------------------------
    async def replace_webhooks(self, session_id: str, webhooks: Sequence[WebhookEndpoint]) -> None:
        hooks = list(webhooks)
        await self._write(lambda c: ses.replace_webhooks(c, self._codec, session_id, hooks))

    async def list_webhooks(self, session_id: str) -> list[WebhookEndpoint]:
        return await self._read(lambda c: ses.list_webhooks(c, self._codec, session_id))

    async def disable_webhook(self, endpoint_id: str, reason: str) -> None:
        await self._write(lambda c: ses.disable_webhook(c, endpoint_id, reason))

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
        return await self._write(
            lambda c: msg.enqueue_send(
                c, self._codec, message, request_item, max_depth, idempotency, now
            )
        )

    async def next_queued(self, session_id: str) -> Optional[QueueItem]:
        return await self._read(lambda c: msg.next_queued(c, self._codec, session_id))

    async def queue_depth(self, session_id: str) -> int:
        return await self._read(lambda c: msg.queue_depth(c, session_id))

    async def finish_send(
        self,
        item: QueueItem,
        status: MessageState,
        *,
        engine_message_id: Optional[str],
        reason: Optional[str],
        event: Optional[Event],
    ) -> None:
        await self._write(
            lambda c: msg.finish_send(
                c, self._codec, item, status, engine_message_id, reason, event
            )
        )

    async def record_inbound(self, message: MessageRecord, event: Event) -> bool:
        return await self._write(lambda c: msg.record_inbound(c, self._codec, message, event))

    async def set_message_status(
        self,
        session_id: str,
        engine_message_id: str,
        status: MessageState,
        event_id: str,
        at: int,
    ) -> Optional[MessageRecord]:
        return await self._write(
            lambda c: msg.set_message_status(
                c, self._codec, session_id, engine_message_id, status, event_id, at
            )
        )

    async def get_message(self, session_id: str, message_id: str) -> Optional[MessageRecord]:
        return await self._read(lambda c: msg.get_message(c, self._codec, session_id, message_id))

    async def list_messages(
        self,
        session_id: str,
        filters: MessageFilter,
        *,
        limit: int,
        cursor: Optional[str] = None,
    ) -> tuple[list[MessageRecord], Optional[str]]:
        return await self._read(
            lambda c: msg.list_messages(c, self._codec, session_id, filters, limit, cursor)
        )

    async def get_media(self, session_id: str, media_id: str) -> Optional[tuple[MediaInfo, bytes]]:
        return await self._read(lambda c: ses.get_media(c, self._codec, session_id, media_id))

    async def save_media(self, session_id: str, media: MediaInfo, sealed_keys: bytes) -> None:
        await self._write(lambda c: ses.save_media(c, self._codec, session_id, media, sealed_keys))

    # --- API keys and idempotency ---------------------------------------------------------
    async def create_api_key(self, key: ApiKeyRecord) -> None:
        await self._write(lambda c: ses.create_api_key(c, key))

    async def list_api_keys(self) -> list[ApiKeyRecord]:
        return await self._read(ses.list_api_keys)

    async def find_api_key(self, key_hash: str) -> Optional[ApiKeyRecord]:
        return await self._read(lambda c: ses.find_api_key(c, key_hash))

    async def delete_api_key(self, key_id: str) -> bool:
        return await self._write(lambda c: ses.delete_api_key(c, key_id))

    async def get_idempotent(self, scope: str) -> Optional[IdempotentAnswer]:
        now = now_ms()
        return await self._read(lambda c: ses.get_idempotent(c, self._codec, scope, now))

    # --- live data (dashboard stats) ------------------------------------------------------
    async def message_counts_per_minute(
        self, session_id: str, since: int, until: int
    ) -> dict[int, tuple[int, int, int]]:
        return await self._read(lambda c: msg.per_minute(c, session_id, since, until))
