"""The record of webhook events already seen, so a redelivery is dropped.

Meta redelivers a webhook it thinks failed (no 200 in time), for up to a day or more
(https://developers.facebook.com/docs/graph-api/webhooks/getting-started/ , "Event
Notifications"), so the same message or status can arrive more than once. A duplicate is
the same ``(message_id, status)``; for inbound messages the status is ``"message"``.

:class:`SqliteDedupStore` keeps the record in a file (it survives a restart); its work runs
on one private worker thread, never on the event loop. :class:`MemoryDedupStore` is the
in-process default. Both forget a key after ``ttl`` seconds.

:class:`SqliteDedupStore` is also a durable inbox (:class:`InboxStore`): the receiver keeps
each new event there as *pending*, in the same transaction that records its key, and marks
it done once its handlers ran; the next receiver on the file dispatches what was left
pending. The memory store keeps nothing: a crash mid-dispatch loses that dispatch.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Optional, Protocol, Union, runtime_checkable

from ._errors import ConfigurationError
from ._inbox_lease import Lease, dead_owner, lease_files, others

__all__ = ["DEFAULT_TTL", "DedupStore", "InboxStore", "MemoryDedupStore", "SqliteDedupStore"]

DEFAULT_TTL = 7 * 86400.0
Key = tuple[str, str]


@runtime_checkable
class DedupStore(Protocol):
    """Duplicate = same ``(message_id, status)``; for messages ``status == "message"``."""

    async def seen(self, key: tuple[str, str]) -> bool:
        """Record ``key``; True if it was already recorded (and not expired)."""
        ...


@runtime_checkable
class InboxStore(Protocol):
    """A :class:`DedupStore` that also keeps events until their handlers ran."""

    async def seen(self, key: tuple[str, str]) -> bool: ...

    async def record_pending(
        self, items: Sequence[tuple[Optional[tuple[str, str]], bytes]]
    ) -> list[Optional[int]]:
        """In ONE transaction, for each ``(key, encoded_event)`` in order: record the key
        and keep the event as pending. Returns the pending id of each new event, ``None``
        for a duplicate (its key was live; nothing kept). A ``None`` key (an error event)
        is never a duplicate."""
        ...

    async def mark_done(self, ids: Sequence[int]) -> None:
        """Forget these pending events (their keys stay until the ttl)."""
        ...

    async def pending(self) -> list[tuple[int, bytes]]:
        """The events still pending, in arrival order."""
        ...


def _check_ttl(ttl: float) -> float:
    if not ttl > 0:
        raise ConfigurationError(f"the dedup ttl must be a positive number of seconds: {ttl!r}")
    return float(ttl)


class MemoryDedupStore:
    """In-process record (lost on restart), at most ``max_entries`` keys, oldest first out."""

    def __init__(
        self,
        ttl: float = DEFAULT_TTL,
        *,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ConfigurationError(f"max_entries must be at least 1: {max_entries!r}")
        self.ttl = _check_ttl(ttl)
        self.max_entries = max_entries
        self._clock = clock
        # Insertion order is expiry order (one ttl for all), so pruning pops from the front
        # (an OrderedDict: popping a plain dict's front leaves holes that slow iteration).
        self._expires: OrderedDict[Key, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._expires)

    async def seen(self, key: tuple[str, str]) -> bool:
        return self.seen_now(key)

    async def seen_many(self, keys: Sequence[tuple[str, str]]) -> list[bool]:
        """:meth:`seen` for several keys at once, in order."""
        return [self.seen_now(k) for k in keys]

    def seen_now(self, key: tuple[str, str]) -> bool:
        now = self._clock()
        expires = self._expires
        while expires and next(iter(expires.values())) <= now:
            expires.popitem(last=False)
        if key in expires:  # present after the prune means not expired
            return True
        expires[key] = now + self.ttl
        if len(expires) > self.max_entries:
            expires.popitem(last=False)
        return False


def _check_keys(keys: Sequence[tuple[str, str]]) -> None:
    for key in keys:
        if not (isinstance(key, tuple) and len(key) == 2 and all(isinstance(k, str) for k in key)):
            raise TypeError(f"a dedup key is a (message_id, status) tuple of str: {key!r}")


_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    message_id TEXT NOT NULL,
    status TEXT NOT NULL,
    seen_at REAL NOT NULL,
    PRIMARY KEY (message_id, status)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_by_time ON seen (seen_at);
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    event BLOB NOT NULL
);
"""
# Inserts a new key, or takes over an expired one; changes() == 0 means a live duplicate.
_UPSERT = (
    "INSERT INTO seen (message_id, status, seen_at) VALUES (?, ?, ?) "
    "ON CONFLICT (message_id, status) DO UPDATE SET seen_at = excluded.seen_at "
    "WHERE seen.seen_at <= ?"
)


class SqliteDedupStore:
    """Persistent record in an SQLite file; keys older than ``ttl`` seconds are pruned.

    Times are wall-clock (``time.time``) so the record stays right across a restart. The
    file uses WAL with ``synchronous=NORMAL``: a process crash loses nothing committed; a
    power cut may forget the last keys, which only means one duplicate delivered again.
    """

    def __init__(
        self,
        path: Union[str, Path],
        ttl: float = DEFAULT_TTL,
        *,
        prune_every: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise ConfigurationError(f"the dedup store's folder does not exist: {self.path.parent}")
        self.ttl = _check_ttl(ttl)
        self._prune_every = prune_every
        self._clock = clock
        self._next_prune = 0.0
        self._lock = threading.Lock()
        self._conn: Optional[sqlite3.Connection] = None
        # One worker thread: SQLite work stays off the event loop and is serialized.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wac-dedup")
        self._closed = False
        # Marks the pending events this store keeps as owned by a live process.
        self._lease = Lease(self.path.with_name(self.path.name + ".owners"))

    def __repr__(self) -> str:
        return f"SqliteDedupStore(path={str(self.path)!r}, ttl={self.ttl!r})"

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            # Pending events hold message content: owner-only file (SQLite gives its -wal
            # and -shm the same mode), and done rows overwritten, not just unlinked.
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            self._conn = conn
        return self._conn

    def _seen_many_sync(self, keys: Sequence[tuple[str, str]]) -> list[bool]:
        ids = self._record_sync([(k, None) for k in keys])
        return [i is None for i in ids]

    def _record_sync(
        self, items: Sequence[tuple[Optional[Key], Optional[bytes]]]
    ) -> list[Optional[int]]:
        # Per item: None for a live duplicate; else the inbox id (0 when nothing is kept).
        with self._lock:
            if self._closed:
                raise ConfigurationError("the dedup store is closed")
            conn = self._connect()
            now = self._clock()
            cutoff = now - self.ttl
            out: list[Optional[int]] = []
            conn.execute("BEGIN IMMEDIATE")
            try:
                for key, event in items:
                    if key is not None:
                        cur = conn.execute(_UPSERT, (key[0], key[1], now, cutoff))
                        if cur.rowcount == 0:
                            out.append(None)
                            continue
                    if event is None:
                        out.append(0)
                        continue
                    self._lease.hold()
                    cur = conn.execute(
                        "INSERT INTO inbox (owner, event) VALUES (?, ?)", (self._lease.token, event)
                    )
                    out.append(cur.lastrowid)
                if now >= self._next_prune:
                    conn.execute("DELETE FROM seen WHERE seen_at <= ?", (cutoff,))
                    self._next_prune = now + self._prune_every
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return out

    async def seen(self, key: tuple[str, str]) -> bool:
        return (await self.seen_many([key]))[0]

    async def seen_many(self, keys: Sequence[tuple[str, str]]) -> list[bool]:
        """:meth:`seen` for several keys in one transaction, in order."""
        if not keys:
            return []
        _check_keys(keys)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._seen_many_sync, list(keys))

    async def record_pending(
        self, items: Sequence[tuple[Optional[tuple[str, str]], bytes]]
    ) -> list[Optional[int]]:
        """See :meth:`InboxStore.record_pending`."""
        if not items:
            return []
        _check_keys([k for k, _ in items if k is not None])
        rows: list[tuple[Optional[Key], Optional[bytes]]] = [(k, bytes(e)) for k, e in items]
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._record_sync, rows)

    async def mark_done(self, ids: Sequence[int]) -> None:
        """See :meth:`InboxStore.mark_done`."""
        if ids:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, self._done_sync, list(ids))

    def _done_sync(self, ids: list[int]) -> None:
        with self._lock:
            conn = self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("DELETE FROM inbox WHERE seq = ?", [(i,) for i in ids])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    async def pending(self) -> list[tuple[int, bytes]]:
        """See :meth:`InboxStore.pending`. Takes over the events of stores that are gone
        (their process died or closed them) and returns the ones this store now owns;
        those of a store still open, in this process or another, stay theirs."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._pending_sync)

    def _pending_sync(self) -> list[tuple[int, bytes]]:
        with self._lock:
            if self._closed:
                raise ConfigurationError("the dedup store is closed")
            conn = self._connect()
            self._lease.hold()
            folder, mine = self._lease.folder, self._lease.token
            owners = [r[0] for r in conn.execute("SELECT DISTINCT owner FROM inbox")]
            for token in others(owners + lease_files(folder), mine):
                with dead_owner(folder, token) as dead:
                    if dead:
                        conn.execute("UPDATE inbox SET owner = ? WHERE owner = ?", (mine, token))
            rows = conn.execute(
                "SELECT seq, event FROM inbox WHERE owner = ? ORDER BY seq", (mine,)
            )
            return [(int(seq), bytes(event)) for seq, event in rows]

    def prune(self) -> int:
        """Delete expired keys now (blocking); returns how many were removed."""
        with self._lock:
            conn = self._connect()
            cur = conn.execute("DELETE FROM seen WHERE seen_at <= ?", (self._clock() - self.ttl,))
            return cur.rowcount

    def __len__(self) -> int:
        """How many keys are recorded (blocking: not for use on the event loop)."""
        with self._lock:
            row = self._connect().execute("SELECT count(*) FROM seen").fetchone()
            return int(row[0])

    async def close(self) -> None:
        """Close the file and the worker thread; the record stays on disk. Idempotent."""
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close_sync)
        self._executor.shutdown(wait=True)

    def _close_sync(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                if self._lease.held:
                    row = self._conn.execute(
                        "SELECT count(*) FROM inbox WHERE owner = ?", (self._lease.token,)
                    ).fetchone()
                    # Events still pending stay claimable by the next store on the file.
                    self._lease.release(remove=int(row[0]) == 0)
                self._conn.close()
                self._conn = None
            self._lease.release(remove=False)
