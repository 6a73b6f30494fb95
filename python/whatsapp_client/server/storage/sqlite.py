"""SQLite implementation of :class:`~whatsapp_client.server.storage.base.Storage`.

WAL mode; one writer thread that group-commits (see :mod:`.writer`) and a small pool of
reader threads, so no database call ever runs on the event loop.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, TypeVar

from whatsapp_client.server.logs import get_logger
from whatsapp_client.server.storage import sql_accounts, sql_attachments, sql_groups
from whatsapp_client.server.storage import sql_messages as msg
from whatsapp_client.server.storage.checkpointer import Checkpointer
from whatsapp_client.server.storage.files import check_database
from whatsapp_client.server.storage.records import AckOutcome
from whatsapp_client.server.storage.schema import migrate
from whatsapp_client.server.storage.sql_facade import SqlFacade, now_ms
from whatsapp_client.server.storage.sql_modules import (
    AccountsSql,
    AttachmentsSql,
    GroupsSql,
    MessagesSql,
)
from whatsapp_client.server.storage.writer import BatchWriter, WriterClosedError

T = TypeVar("T")

log = get_logger("storage")

DB_FILE = "server.sqlite3"


def _connect(path: str, synchronous: str) -> sqlite3.Connection:
    # Autocommit mode: the writer issues BEGIN/COMMIT itself; readers never hold transactions.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    # Freed pages and deleted cells are zeroed: acknowledged ciphertext does not linger.
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class SqliteStorage(SqlFacade):
    _acc: ClassVar[AccountsSql] = sql_accounts
    _msg: ClassVar[MessagesSql] = msg
    _grp: ClassVar[GroupsSql] = sql_groups
    _att: ClassVar[AttachmentsSql] = sql_attachments

    def __init__(
        self,
        data_dir: str,
        *,
        synchronous: str = "full",
        max_batch: int = 2000,
        reader_threads: int = 2,
        on_batch: Callable[[int], None] | None = None,
        scrub_interval: float = 5.0,
    ) -> None:
        if synchronous.lower() not in ("full", "normal", "extra"):
            raise ValueError("sqlite_synchronous must be full, normal or extra")
        self._path = os.path.join(data_dir, DB_FILE)
        self._synchronous = synchronous
        self._max_batch = max_batch
        self._reader_threads = reader_threads
        self._on_batch = on_batch
        self._scrub_interval = scrub_interval
        self._readers: ThreadPoolExecutor | None = None
        self._reader_conns: list[sqlite3.Connection] = []
        self._local = threading.local()
        self._lock = threading.Lock()
        self._writer: BatchWriter | None = None
        self._write_conn: sqlite3.Connection | None = None
        self._checkpointer: Checkpointer | None = None

    @property
    def path(self) -> str:
        return self._path

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._readers = ThreadPoolExecutor(self._reader_threads, thread_name_prefix="db-read")
        self._write_conn = await loop.run_in_executor(self._readers, self._open_writer_conn)
        self._writer = BatchWriter(
            self._write_conn, loop, max_batch=self._max_batch, on_batch=self._on_batch
        )
        self._checkpointer = Checkpointer(
            _connect(self._path, self._synchronous), scrub_interval=self._scrub_interval
        )

    def _open_writer_conn(self) -> sqlite3.Connection:
        check_database(self._path)
        conn = _connect(self._path, self._synchronous)
        migrate(conn)
        # Checkpoints run on their own thread (see checkpointer.py), never inside a commit.
        conn.execute("PRAGMA wal_autocheckpoint=0")
        return conn

    async def close(self) -> None:
        """Commit whatever is queued, then release every connection and thread."""
        loop = asyncio.get_running_loop()
        if self._writer is not None:
            writer, self._writer = self._writer, None
            await loop.run_in_executor(None, writer.close)
        if self._readers is not None:
            readers, self._readers = self._readers, None
            readers.shutdown(wait=True)
        checkpointer = self._checkpointer
        self._checkpointer = None
        if checkpointer is not None:
            await loop.run_in_executor(None, checkpointer.close)
        with self._lock:
            conns, self._reader_conns = self._reader_conns, []
        for conn in conns:
            conn.close()
        if self._write_conn is not None:
            self._write_conn.close()
            self._write_conn = None

    # -- plumbing ------------------------------------------------------------------------

    def _reader_conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self._path, self._synchronous)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._lock:
                self._reader_conns.append(conn)
        return conn

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._readers is None:
            raise RuntimeError("storage is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, lambda: fn(self._reader_conn()))

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        if self._writer is None:
            raise RuntimeError("storage is closed")
        return self._writer.submit(fn)

    # One writer thread: every write already commits in call order.
    _ordered = _write

    def _submit(
        self, fn: Callable[[sqlite3.Connection], object], on_commit: Callable[[Any], None]
    ) -> None:
        if self._writer is None:
            raise RuntimeError("storage is closed")
        self._writer.submit_callback(fn, on_commit)

    def _advisory(self, fn: Callable[[sqlite3.Connection], None]) -> None:
        """Advisory writes (last_seen, queued statuses): dropped, not raised, at shutdown."""
        if self._writer is None:
            log.warning("storage closed; advisory write dropped")
            return
        try:
            self._writer.submit_callback(fn, _ignore)
        except WriterClosedError:
            log.warning("storage closed; advisory write dropped")

    # -- health --------------------------------------------------------------------------

    async def ping(self) -> bool:
        await self._read(lambda c: c.execute("SELECT 1").fetchone())
        return self._writer is not None

    # -- direct messages (the rest is SqlFacade's) ----------------------------------------

    def _store_message(self, request: msg.StoreRequest, on_commit: Callable[[Any], None]) -> None:
        if self._writer is None:
            raise RuntimeError("storage is closed")
        self._writer.submit_merged(_store_messages, request, on_commit)

    async def acknowledge(self, recipient: str, ids: Sequence[str]) -> AckOutcome:
        outcome = await self._write(lambda c: msg.acknowledge(c, recipient, ids))
        if outcome.cleared and self._checkpointer is not None:
            self._checkpointer.scrub()
        return outcome


def _store_messages(conn: sqlite3.Connection, requests: list[Any]) -> list[Any]:
    return list(msg.store_messages(conn, requests, now_ms()))


def _ignore(_: Any) -> None:
    """Fire-and-forget writes still go through the writer; failures are logged there."""
