"""Group commit on PostgreSQL: the gateway's writes, in call order, several to a transaction.

One task takes the queued writes in order and runs as many as are waiting (up to
``max_batch``) in one transaction on one connection. When one of them raises (``Conflict``,
``QueueFull``, a bug) the transaction is rolled back and the batch runs again with each
write in its own savepoint, so the refused write is rolled back alone, its caller gets the
error and the others go on (savepoints cost two round trips a write: only then). Callers
are answered after the ``COMMIT``, so an awaited write is durable when it returns and
concurrent writes share one commit (one WAL flush), as with SQLite's ``BatchWriter``. A
write that loses a deadlock or serialization race to another gateway process is run again.
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
            async with self._pool.acquire() as conn:
                outcomes = await self._all_or_nothing(conn, batch)
                if outcomes is None:
                    outcomes = await self._one_by_one(conn, batch)
        except Exception as exc:  # the COMMIT (or the connection) failed: nothing was written
            outcomes = [exc] * len(batch)
        for write, outcome in zip(batch, outcomes):
            if write.done is None:
                if isinstance(outcome, BaseException):
                    log.warning("an unawaited write was not recorded: %s", outcome)
            elif write.done.cancelled():
                pass
            elif isinstance(outcome, BaseException):
                write.done.set_exception(outcome)
            else:
                write.done.set_result(outcome)

    async def _all_or_nothing(self, conn: Any, batch: list[_Write]) -> Optional[list[Any]]:
        """The usual case, in fewest round trips: the batch in one transaction with no
        savepoints. None (all rolled back) if one of the writes raised. Alone in its batch,
        a write's exception is its outcome."""
        tx = conn.transaction()
        await tx.start()
        results: list[Any] = []
        try:
            for write in batch:
                results.append(await write.fn(conn))
        except Exception as exc:
            await tx.rollback()
            if len(batch) == 1 and not isinstance(exc, self._transient):
                return [exc]
            return None
        await tx.commit()
        return results

    async def _one_by_one(self, conn: Any, batch: list[_Write]) -> list[Any]:
        """The batch again, each write in its own savepoint: a refused one is rolled back
        alone and the others are committed."""
        async with conn.transaction():
            return [await self._one(conn, write.fn) for write in batch]

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
