"""PostgreSQL implementation of :class:`~whatsapp_client.server.storage.base.Storage`.

For several server processes on one database (docs/scaling.md). asyncpg with a pool; every
awaited write commits (synchronous_commit as configured on the server, ``on`` by default)
before it returns. Ordered writes go through :class:`.pg_writer.OrderedWriter`. asyncpg is
imported only when this storage opens, so the SQLite default needs no extra package.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

from whatsapp_client.server.logs import get_logger
from whatsapp_client.server.storage import pg_accounts, pg_attachments, pg_groups
from whatsapp_client.server.storage import pg_messages as msg
from whatsapp_client.server.storage.pg_schema import migrate
from whatsapp_client.server.storage.pg_writer import Merged, OrderedWriter, settle_into
from whatsapp_client.server.storage.records import AckOutcome
from whatsapp_client.server.storage.sql_facade import SqlFacade, now_ms
from whatsapp_client.server.storage.sql_messages import StoreRequest
from whatsapp_client.server.storage.sql_modules import (
    AccountsSql,
    AttachmentsSql,
    Conn,
    GroupsSql,
    MessagesSql,
)

T = TypeVar("T")
Op = Callable[[Any], Awaitable[T]]

log = get_logger("storage")


def redacted(dsn: str) -> str:
    """The DSN without its password, for logs."""
    parts = urllib.parse.urlsplit(dsn)
    if parts.password is None:
        return dsn
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


class PostgresMissingDriverError(RuntimeError):
    """asyncpg is not installed."""


class PostgresStorage(SqlFacade):
    # Coroutine functions with the protocols' signatures, results awaited (sql_modules.py).
    _acc = cast("AccountsSql", pg_accounts)
    _msg = cast("MessagesSql", msg)
    _grp = cast("GroupsSql", pg_groups)
    _att = cast("AttachmentsSql", pg_attachments)

    def __init__(
        self,
        dsn: str,
        *,
        min_connections: int = 2,
        max_connections: int = 10,
        max_batch: int = 500,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._dsn = dsn
        self._min = min_connections
        self._max = max_connections
        self._max_batch = max_batch
        self._on_batch = on_batch
        self._pool: Any = None
        self._writer: OrderedWriter | None = None

    def __repr__(self) -> str:
        return f"PostgresStorage({redacted(self._dsn)!r})"

    @property
    def path(self) -> str:
        return redacted(self._dsn)

    async def open(self) -> None:
        try:
            import asyncpg
        except ImportError:
            raise PostgresMissingDriverError(
                "the PostgreSQL storage needs asyncpg: pip install 'whatsapp-client[postgres]'"
            ) from None
        conn = await asyncpg.connect(self._dsn)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        self._pool = await asyncpg.create_pool(
            self._dsn, min_size=self._min, max_size=self._max, reset=_no_session_reset
        )
        self._writer = OrderedWriter(self._pool, max_batch=self._max_batch, on_batch=self._on_batch)

    async def close(self) -> None:
        """Commit whatever is queued, then close the pool."""
        writer, self._writer = self._writer, None
        if writer is not None:
            await writer.close()
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    # -- plumbing ------------------------------------------------------------------------

    async def _read(self, fn: Callable[[Conn], T]) -> T:
        if self._pool is None:
            raise RuntimeError("storage is closed")
        async with self._pool.acquire() as conn:
            return await _awaited(fn)(conn)

    async def _write(self, fn: Callable[[Conn], T]) -> T:
        """One transaction, committed before this returns."""
        if self._pool is None or self._writer is None:
            raise RuntimeError("storage is closed")
        async with self._pool.acquire() as conn, conn.transaction():
            return await _awaited(fn)(conn)

    async def _ordered_merged(self, merged: Merged, item: Any) -> Any:
        """Like :meth:`_ordered`, for a one-statement operation that consecutive calls
        share (``merged(conn, items)`` answers each item in order), and that may commit
        ahead of direct messages queued before it in the same batch."""
        if self._writer is None:
            raise RuntimeError("storage is closed")
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._writer.submit_merged(merged, item, settle_into(done), one_statement=True, early=True)
        return await done

    async def _ordered(self, fn: Callable[[Conn], T]) -> T:
        """A write committed in call order with the submitted ones (an ack then a read
        receipt from one socket; a queued status then the take that delivers it)."""
        if self._writer is None:
            raise RuntimeError("storage is closed")
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._writer.submit(_awaited(fn), settle_into(done))
        return await done

    def _submit(self, fn: Callable[[Conn], object], on_commit: Callable[[Any], None]) -> None:
        if self._writer is None:
            raise RuntimeError("storage is closed")
        self._writer.submit(_awaited(fn), on_commit)

    def _advisory(self, fn: Callable[[Conn], None]) -> None:
        """last_seen and queued statuses: dropped with a warning once closed."""
        if self._writer is None:
            log.warning("storage closed; advisory write dropped")
            return
        self._writer.submit(_awaited(fn), _ignore)

    async def ping(self) -> bool:
        await self._read(lambda c: c.fetchval("SELECT 1"))
        return self._writer is not None

    # -- direct messages (the rest is SqlFacade's) ----------------------------------------

    def _store_message(self, request: StoreRequest, on_commit: Callable[[Any], None]) -> None:
        # Consecutive messages share one statement (a group commit), atomic on its own.
        if self._writer is None:
            raise RuntimeError("storage is closed")
        self._writer.submit_merged(_store_messages, request, on_commit, one_statement=True)

    async def acknowledge(self, recipient: str, ids: Sequence[str]) -> AckOutcome:
        # Acknowledgements queued together (from any sockets) share one statement, and go
        # ahead of the direct messages queued with them rather than splitting their batch:
        # a message can only be acknowledged after its own commit, so none of them is
        # acknowledged here, and the order of unrelated messages and acks is free.
        outcome: AckOutcome = await self._ordered_merged(
            msg.acknowledge_many, (recipient, list(ids))
        )
        return outcome


def _awaited(fn: Callable[[Conn], T]) -> Op[T]:
    """``fn`` as what it is on this backend: a coroutine function (the protocols of
    sql_modules.py give only its result; tests/server/test_storage_sql_modules.py checks
    the rest)."""
    return cast("Op[T]", fn)


async def _store_messages(conn: Any, requests: list[Any]) -> list[Any]:
    return list(await msg.store_messages(conn, requests, now_ms()))


async def _no_session_reset(_: Any) -> None:
    """A released connection is not reset: asyncpg's default runs RESET ALL, UNLISTEN and
    friends on every release, one more round trip per query, and this storage never
    changes session state (no SET, LISTEN, cursor or advisory lock on pooled connections).
    An open transaction is still rolled back by asyncpg itself."""


def _ignore(_: Any) -> None:
    """Advisory writes: failures are logged by the writer."""
