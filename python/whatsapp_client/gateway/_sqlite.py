"""The SQLite :class:`~._storage.Storage` of the gateway (the default, embedded backend).

WAL mode with ``synchronous=FULL``; one writer thread that group-commits (the reference
server's :class:`BatchWriter`: every awaited write returns after its batch is durably
committed, and concurrent writes share one fsync); reads run on a small pool of reader
threads with their own connections, so no database call runs on the event loop. The
methods are :class:`._sql_facade.SqlFacade`'s, on the SQL of ``_sqlite_sessions``,
``_sqlite_messages``, ``_sqlite_events``, ``_sqlite_stats``, ``_sqlite_users`` and
``_sqlite_leases``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, Optional, TypeVar, Union

from whatsapp_client.gateway import _sqlite_events as ev
from whatsapp_client.gateway import _sqlite_leases as leases
from whatsapp_client.gateway import _sqlite_messages as msg
from whatsapp_client.gateway import _sqlite_sessions as ses
from whatsapp_client.gateway import _sqlite_stats as stats
from whatsapp_client.gateway import _sqlite_users as users
from whatsapp_client.gateway._codec import Codec
from whatsapp_client.gateway._sql_facade import SqlFacade
from whatsapp_client.gateway._sql_modules import (
    EventsSql,
    LeasesSql,
    MessagesSql,
    SessionsSql,
    StatsSql,
    UsersSql,
)
from whatsapp_client.gateway._sqlite_schema import check_key, connect, migrate
from whatsapp_client.gateway._vault import Vault
from whatsapp_client.server.storage.writer import BatchWriter

T = TypeVar("T")

log = logging.getLogger("whatsapp_client.gateway.storage")

DB_FILE = "gateway.sqlite3"


class StorageClosedError(RuntimeError):
    """The storage is not open."""


class SqliteStorage(SqlFacade):
    """``SqliteStorage(data_dir, vault)``; ``await open()`` before use, ``close()`` after."""

    # Its SQL modules (mypy checks each against its protocol).
    _ses: ClassVar[SessionsSql] = ses
    _msg: ClassVar[MessagesSql] = msg
    _ev: ClassVar[EventsSql] = ev
    _stats: ClassVar[StatsSql] = stats
    _users: ClassVar[UsersSql] = users
    _leases: ClassVar[LeasesSql] = leases

    def __init__(
        self,
        data_dir: Union[str, Path],
        vault: Vault,
        *,
        synchronous: str = "FULL",
        max_batch: int = 2000,
        reader_threads: int = 2,
    ) -> None:
        if synchronous.upper() not in ("FULL", "EXTRA"):
            raise ValueError("synchronous must be FULL or EXTRA (a commit must survive power loss)")
        self.path = os.path.join(os.fspath(data_dir), DB_FILE)
        self._synchronous = synchronous.upper()
        self._codec = Codec(vault)
        self._max_batch = max_batch
        self._reader_threads = reader_threads
        self._readers: Optional[ThreadPoolExecutor] = None
        self._reader_conns: list[sqlite3.Connection] = []
        self._local = threading.local()
        self._lock = threading.Lock()
        self._writer: Optional[BatchWriter] = None
        self._write_conn: Optional[sqlite3.Connection] = None
        self._touches: dict[str, int] = {}

    # --- plumbing -------------------------------------------------------------------------
    async def open(self) -> None:
        if self._writer is not None:
            return
        loop = asyncio.get_running_loop()
        os.makedirs(os.path.dirname(self.path) or ".", mode=0o700, exist_ok=True)
        readers = ThreadPoolExecutor(self._reader_threads, thread_name_prefix="gw-db-read")
        try:
            self._write_conn = await loop.run_in_executor(readers, self._open_writer)
        except BaseException:
            readers.shutdown(wait=True)  # its one thread has finished the failed open
            raise
        self._readers = readers
        self._writer = BatchWriter(self._write_conn, loop, max_batch=self._max_batch)

    def _open_writer(self) -> sqlite3.Connection:
        # SQLite gives the -wal and -shm files the mode of the database file: make it 0600
        # before the first connection creates them.
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(self.path, 0o600)
        conn = connect(self.path, self._synchronous)
        try:
            migrate(conn)
            check_key(conn, self._codec, self.path)
        except BaseException:
            conn.close()
            raise
        return conn

    async def close(self) -> None:
        """Commits what is queued, then releases every connection and thread."""
        loop = asyncio.get_running_loop()
        self._flush_touches()
        if self._writer is not None:
            writer, self._writer = self._writer, None
            await loop.run_in_executor(None, writer.close)
        if self._readers is not None:
            readers, self._readers = self._readers, None
            readers.shutdown(wait=True)
        with self._lock:
            conns, self._reader_conns = self._reader_conns, []
        for conn in conns:
            conn.close()
        if self._write_conn is not None:
            self._write_conn.close()
            self._write_conn = None

    def _reader_conn(self) -> sqlite3.Connection:
        conn: Optional[sqlite3.Connection] = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, self._synchronous)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._lock:
                self._reader_conns.append(conn)
        return conn

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._readers is None:
            raise StorageClosedError("the gateway storage is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, lambda: fn(self._reader_conn()))

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._writer is None:
            raise StorageClosedError("the gateway storage is not open")
        return await self._writer.submit(fn)

    # The SQL functions are plain functions of a connection: the facade's reads and writes
    # are the reader threads' and the writer thread's.
    _sql_read = _read
    _sql_write = _write

    def _sql_write_unawaited(self, fn: Callable[[Any], object]) -> bool:
        if self._writer is None:
            return False
        self._writer.submit_callback(fn, _touch_written)
        return True


def _touch_written(outcome: object) -> None:
    if isinstance(outcome, BaseException):
        log.warning("last-activity times not recorded: %s", outcome)
