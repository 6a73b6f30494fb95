"""Group commit on PostgreSQL: the gateway's writes, in call order, several to a transaction.

One task takes the queued writes in order and runs as many as are waiting (up to
``max_batch``) in one transaction on one connection, each inside its own savepoint: a write
that raises (``Conflict``, ``QueueFull``, a bug) is rolled back alone and its caller gets
the error, the others go on. Callers are answered after the ``COMMIT``, so an awaited write
is durable when it returns and concurrent writes share one commit (one WAL flush) as with
SQLite's ``BatchWriter``. A write that loses a deadlock or serialization race to another
gateway process is rolled back to its savepoint and run again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Optional

log = logging.getLogger("whatsapp_client.gateway.storage")

Op = Callable[[Any], Awaitable[Any]]

_RETRIES = 3


class _Write:
    __slots__ = ("done", "fn", "outcome")

    def __init__(self, fn: Op, done: Optional[asyncio.Future[Any]]) -> None:
        self.fn = fn
        self.done = done
        self.outcome: Any = None


class PgWriter:
    """``submit(fn)`` runs ``fn(connection)`` in the next batch and returns its result once
    committed; ``close()`` commits what is queued, then stops."""

    def __init__(self, pool: Any, transient: tuple[type[BaseException], ...], max_batch: int):
        self._pool = pool
        self._transient = transient
        self._max_batch = max_batch
        self._queue: asyncio.Queue[Optional[_Write]] = asyncio.Queue()
        self._closed = False
        self._task = asyncio.ensure_future(self._run())

    async def submit(self, fn: Op) -> Any:
        if self._closed:
            raise RuntimeError("the gateway storage is not open")
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Write(fn, done))
        return await done

    def submit_nowait(self, fn: Op) -> None:
        """A write nobody waits for (last activity); its failure is the writer's to log."""
        if not self._closed:
            self._queue.put_nowait(_Write(fn, None))

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put_nowait(None)
        await self._task

    async def _run(self) -> None:
        stop = False
        while not stop:
            first = await self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self._max_batch and not self._queue.empty():
                nxt = self._queue.get_nowait()
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            await self._commit(batch)

    async def _commit(self, batch: list[_Write]) -> None:
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                for write in batch:
                    write.outcome = await self._one(conn, write.fn)
        except Exception as exc:  # the COMMIT (or the connection) failed: nothing was written
            for write in batch:
                write.outcome = exc
        for write in batch:
            if write.done is None:
                if isinstance(write.outcome, BaseException):
                    log.warning("an unawaited write was not recorded: %s", write.outcome)
                continue
            if write.done.cancelled():
                continue
            if isinstance(write.outcome, BaseException):
                write.done.set_exception(write.outcome)
            else:
                write.done.set_result(write.outcome)

    async def _one(self, conn: Any, fn: Op) -> Any:
        """``fn`` in a savepoint: its result, or the exception it raised (rolled back)."""
        for attempt in range(_RETRIES):
            try:
                async with conn.transaction():
                    return await fn(conn)
            except self._transient as exc:
                if attempt == _RETRIES - 1:
                    return exc
            except Exception as exc:
                return exc
        raise AssertionError("unreachable")
