"""The PostgreSQL :class:`~._storage.Storage` of the gateway (``--database postgresql://``).

asyncpg with a small pool. Every awaited write is one transaction, committed before it
returns (``synchronous_commit`` as the server has it, ``on`` by default). A gateway's
writes run in call order through one task that group-commits them (``_pg_writer``, as
SQLite's single writer), so the queue order of concurrent enqueues is their submission
order; what several gateway processes on one database must not both do is guarded by row
locks in the SQL (``_pg_sessions``, ``_pg_messages``, ``_pg_events``, ``_pg_users``).
Reads run on the pool beside the writes. The methods are :class:`._sql_facade.SqlFacade`'s,
on the SQL of those modules and ``_pg_leases`` (the leases and claims).
Sealing is SQLite's (:class:`._codec.Codec`): nothing secret reaches the database in clear.
asyncpg is imported when the storage opens, so SQLite needs no extra package.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Optional, TypeVar, cast

from whatsapp_client.gateway import _pg_events as ev
from whatsapp_client.gateway import _pg_leases as leases
from whatsapp_client.gateway import _pg_messages as msg
from whatsapp_client.gateway import _pg_sessions as ses
from whatsapp_client.gateway import _pg_users as users
from whatsapp_client.gateway._codec import Codec
from whatsapp_client.gateway._database import DatabaseUnavailable
from whatsapp_client.gateway._errors import Conflict, NotFound
from whatsapp_client.gateway._pg_notify import PgListener
from whatsapp_client.gateway._pg_schema import check_key, migrate
from whatsapp_client.gateway._pg_writer import PgWriter
from whatsapp_client.gateway._sql_facade import SqlFacade
from whatsapp_client.gateway._sql_modules import (
    EventsSql,
    LeasesSql,
    MessagesSql,
    SessionsSql,
    StatsSql,
    UsersSql,
)
from whatsapp_client.gateway._vault import Vault
from whatsapp_client.server.storage.postgres import redacted

T = TypeVar("T")
Op = Callable[[Any], Awaitable[T]]

log = logging.getLogger("whatsapp_client.gateway.storage")

CONNECT_TIMEOUT = 10.0
# A statement that hangs (a partitioned network, a lock held elsewhere) fails after this
# rather than stalling the writer for ever; the longest normal one is a retention prune.
COMMAND_TIMEOUT = 120.0


class PostgresStorage(SqlFacade):
    """``PostgresStorage(dsn, vault)``; ``await open()`` before use, ``close()`` after."""

    # The one place the coroutine functions are seen as the functions of their results
    # (tests/gateway/test_sql_modules.py checks that their signatures are the protocols').
    _ses = cast("SessionsSql", ses)
    _msg = cast("MessagesSql", msg)
    _ev = cast("EventsSql", ev)
    _stats = cast("StatsSql", msg)  # per_minute lives with the messages
    _users = cast("UsersSql", users)
    _leases = cast("LeasesSql", leases)

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

    # The SQL functions are coroutine functions: the facade sees their results (see
    # _sql_modules), made true here by awaiting them.
    async def _sql_read(self, fn: Callable[[Any], T]) -> T:
        return await self._read(lambda c: cast("Awaitable[T]", fn(c)))

    async def _sql_write(self, fn: Callable[[Any], T]) -> T:
        return await self._write(lambda c: cast("Awaitable[T]", fn(c)))

    def _sql_write_unawaited(self, fn: Callable[[Any], object]) -> bool:
        if self._writer is None:
            return False
        self._writer.submit_nowait(lambda c: cast("Awaitable[object]", fn(c)))
        return True
