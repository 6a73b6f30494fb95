"""The single database writer: one thread, FIFO operations, one commit per batch.

Handlers submit small functions that run inside the writer's transaction. The writer takes
everything queued (up to ``max_batch``), runs each operation inside its own savepoint, commits
once, and only then reports the results back to the event loop, in submission order. So an
answer that depends on a write (``sent``, ``201``) is never given before the commit is durable,
and many concurrent writes share one fsync (group commit).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, Union

from whatsapp_client.server.logs import get_logger

T = TypeVar("T")

log = get_logger("writer")

Outcome = Union[Any, BaseException]
OnCommit = Callable[[Outcome], None]


class WriterClosedError(RuntimeError):
    """The writer is shut down; nothing more can be written."""


# Runs many queued items of one kind as one piece of work: one outcome per item, in order.
Merged = Callable[[sqlite3.Connection, list[Any]], list[Any]]


class _Op(Generic[T]):
    __slots__ = ("fn", "future", "item", "merged", "on_commit")

    def __init__(
        self,
        fn: Callable[[sqlite3.Connection], T],
        future: asyncio.Future[T] | None,
        on_commit: OnCommit | None,
        merged: Merged | None = None,
        item: Any = None,
    ) -> None:
        self.fn = fn
        self.future = future
        self.on_commit = on_commit
        self.merged = merged
        self.item = item


_STOP = object()


class BatchWriter:
    def __init__(
        self,
        connection: sqlite3.Connection,
        loop: asyncio.AbstractEventLoop,
        *,
        max_batch: int = 2000,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._conn = connection
        self._loop = loop
        self._max_batch = max_batch
        self._on_batch = on_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="db-writer", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """Run ``fn`` in the next batch; the future resolves after the batch is committed."""
        future: asyncio.Future[T] = self._loop.create_future()
        self._put(_Op(fn, future, None))
        return future

    def submit_callback(self, fn: Callable[[sqlite3.Connection], Any], on_commit: OnCommit) -> None:
        """Run ``fn``; call ``on_commit(result or exception)`` on the loop after the commit.

        Callbacks run in submission order, synchronously, which is what keeps per-pair
        message order without one round trip per message.
        """
        self._put(_Op(fn, None, on_commit))

    def submit_merged(self, merged: Merged, item: Any, on_commit: OnCommit) -> None:
        """Like :meth:`submit_callback`, but consecutive items for the same ``merged``
        function in a batch are handled by one call of it (fewer statements per commit)."""

        def alone(conn: sqlite3.Connection) -> Any:
            return merged(conn, [item])[0]

        self._put(_Op(alone, None, on_commit, merged, item))

    def _put(self, op: _Op[Any]) -> None:
        if self._closed:
            raise WriterClosedError("the database writer is closed")
        self._queue.put(op)

    def _attempt(self, batch: list[_Op[Any]], *, isolated: bool) -> list[Outcome]:
        conn = self._conn
        outcomes: list[Outcome] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            if not isolated:
                try:
                    self._run_merged(conn, batch, outcomes)
                except Exception as exc:
                    raise _Retry() from exc
            # The replay: each operation alone (merged ones too) inside its own savepoint.
            for op in batch if isolated else ():
                conn.execute("SAVEPOINT op")
                try:
                    outcomes.append(op.fn(conn))
                except Exception as exc:  # one bad operation must not sink the batch
                    conn.execute("ROLLBACK TO op")
                    outcomes.append(exc)
                conn.execute("RELEASE op")
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        return outcomes

    @staticmethod
    def _run_merged(
        conn: sqlite3.Connection, batch: list[_Op[Any]], outcomes: list[Outcome]
    ) -> None:
        i = 0
        while i < len(batch):
            op = batch[i]
            merged = op.merged
            if merged is None:
                outcomes.append(op.fn(conn))
                i += 1
                continue
            j = i + 1
            while j < len(batch) and batch[j].merged is merged:
                j += 1
            results = merged(conn, [o.item for o in batch[i:j]])
            if len(results) != j - i:
                raise RuntimeError("a merged operation must answer every item")
            outcomes.extend(results)
            i = j

    def close(self) -> None:
        """Commit everything already submitted, then stop the thread (blocking)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is _STOP:
                break
            batch: list[_Op[Any]] = [first]
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self._run_batch(batch)

    def _run_batch(self, batch: list[_Op[Any]]) -> None:
        try:
            outcomes = self._attempt(batch, isolated=False)
        except _Retry:
            # Some operation failed: undo the whole batch and replay it with a savepoint per
            # operation, so that only the failing one is rolled back. Savepoints cost three
            # statements per operation, which is why the common path goes without them.
            try:
                outcomes = self._attempt(batch, isolated=True)
            except Exception as exc:
                log.exception("database commit failed")
                outcomes = [exc] * len(batch)
        except Exception as exc:
            log.exception("database commit failed")
            outcomes = [exc] * len(batch)
        if self._on_batch is not None:
            self._on_batch(len(batch))
        # RuntimeError: the loop is gone (interpreter shutdown) and the results have no reader.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(_deliver, batch, outcomes)


class _Retry(Exception):
    """An operation raised inside a batch run without savepoints."""


def _deliver(batch: list[_Op[Any]], outcomes: list[Outcome]) -> None:
    for op, outcome in zip(batch, outcomes):
        if op.on_commit is not None:
            try:
                op.on_commit(outcome)
            except Exception:
                log.exception("commit callback failed")
        future = op.future
        if future is None or future.done():
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
