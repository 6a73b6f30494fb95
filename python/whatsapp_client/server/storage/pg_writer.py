"""Ordered writes on PostgreSQL: messages, group messages and advisory updates.

``submit_message`` / ``submit_group_message`` promise ``on_commit`` in call order, after
the commit. One task takes the queued operations in order; consecutive direct messages
share one transaction (a group commit), everything else commits alone. An operation that
is one statement (a server-side function) runs without BEGIN/COMMIT around it: the
statement is its own transaction, one round trip. A transaction that loses a race to
another process (a unique or serialization conflict) is retried.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from whatsapp_client.server.logs import get_logger

log = get_logger("storage")

OnCommit = Callable[[Any], None]
# (connection, items) -> one result per item
Merged = Callable[[Any, list[Any]], Awaitable[list[Any]]]
Single = Callable[[Any], Awaitable[Any]]

_RETRIES = 3


class _Op:
    __slots__ = ("early", "item", "merged", "on_commit", "one_statement", "single")

    def __init__(
        self,
        single: Single | None,
        merged: Merged | None,
        item: Any,
        on_commit: OnCommit,
        one_statement: bool,
        early: bool = False,
    ) -> None:
        self.early = early
        self.single = single
        self.merged = merged
        self.item = item
        self.on_commit = on_commit
        self.one_statement = one_statement


def settle_into(done: asyncio.Future[Any]) -> OnCommit:
    """An ``on_commit`` that hands the outcome (or the failure) to ``done``."""

    def settle(outcome: Any) -> None:
        if done.done():
            return
        if isinstance(outcome, BaseException):
            done.set_exception(outcome)
        else:
            done.set_result(outcome)

    return settle


async def _run(conn: Any, ops: list[_Op]) -> list[Any]:
    if ops[0].merged is not None:
        return list(await ops[0].merged(conn, [op.item for op in ops]))
    single = ops[0].single
    assert single is not None
    return [await single(conn)]


class OrderedWriter:
    def __init__(
        self, pool: Any, *, max_batch: int, on_batch: Callable[[int], None] | None
    ) -> None:
        self._pool = pool
        self._max_batch = max_batch
        self._on_batch = on_batch
        self._queue: asyncio.Queue[_Op | None] = asyncio.Queue()
        self._closed = False
        self._task = asyncio.ensure_future(self._run())

    def submit(self, single: Single, on_commit: OnCommit) -> None:
        self._put(_Op(single, None, None, on_commit, False))

    def submit_merged(
        self,
        merged: Merged,
        item: Any,
        on_commit: OnCommit,
        *,
        one_statement: bool = False,
        early: bool = False,
    ) -> None:
        """``merged(conn, items)`` answers consecutive items of the same ``merged`` at once;
        ``one_statement``: it runs exactly one statement (atomic on its own). ``early``: the
        item may be committed before other merged items queued ahead of it (never before
        a single operation queued ahead of it), so that it does not split their batch."""
        self._put(_Op(None, merged, item, on_commit, one_statement, early))

    def _put(self, op: _Op) -> None:
        if self._closed:
            raise RuntimeError("storage is closed")
        self._queue.put_nowait(op)

    async def close(self) -> None:
        """Commit everything queued, then stop."""
        if not self._closed:
            self._closed = True
            self._queue.put_nowait(None)
        await self._task

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self._max_batch and not self._queue.empty():
                nxt = self._queue.get_nowait()
                if nxt is None:
                    await self._process(batch)
                    return
                batch.append(nxt)
            await self._process(batch)

    async def _process(self, batch: list[_Op]) -> None:
        start = 0
        while start < len(batch):
            if batch[start].merged is None:
                await self._commit([batch[start]])
                start += 1
                continue
            end = start
            while end < len(batch) and batch[end].merged is not None:
                end += 1
            await self._commit_merged(batch[start:end])
            start = end
        if self._on_batch is not None:
            self._on_batch(len(batch))

    async def _commit_merged(self, run: list[_Op]) -> None:
        """A run of merged items between single operations: the early ones first, one
        commit per function, then the others in contiguous same-function segments."""
        early = [op for op in run if op.early]
        while early:
            merged = early[0].merged
            await self._commit([op for op in early if op.merged is merged])
            early = [op for op in early if op.merged is not merged]
        rest = [op for op in run if not op.early]
        start = 0
        while start < len(rest):
            end = start
            while end < len(rest) and rest[end].merged is rest[start].merged:
                end += 1
            await self._commit(rest[start:end])
            start = end

    async def _commit(self, ops: list[_Op]) -> None:
        import asyncpg

        outcomes: list[Any]
        for attempt in range(_RETRIES):
            try:
                async with self._pool.acquire() as conn:
                    if ops[0].one_statement:
                        outcomes = await _run(conn, ops)
                    else:
                        async with conn.transaction():
                            outcomes = await _run(conn, ops)
                break
            except (
                asyncpg.UniqueViolationError,
                asyncpg.SerializationError,
                asyncpg.DeadlockDetectedError,
            ) as exc:
                if attempt == _RETRIES - 1:
                    log.exception("database commit failed")
                    outcomes = [exc] * len(ops)
            except Exception as exc:
                log.exception("database commit failed")
                outcomes = [exc] * len(ops)
                break
        for op, outcome in zip(ops, outcomes):
            try:
                op.on_commit(outcome)
            except Exception:
                log.exception("commit callback failed")
