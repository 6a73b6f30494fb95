"""The SQLite :class:`~._storage.Storage` of the gateway (the default, embedded backend).

WAL mode with ``synchronous=FULL``; one writer thread that group-commits (the reference
server's :class:`BatchWriter`: every awaited write returns after its batch is durably
committed, and concurrent writes share one fsync); reads run on a small pool of reader
threads with their own connections, so no database call runs on the event loop. The SQL
lives in ``_sqlite_sessions``, ``_sqlite_messages`` and ``_sqlite_events``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional, TypeVar, Union

from whatsapp_client.gateway import _sqlite_events as ev
from whatsapp_client.gateway import _sqlite_messages as msg
from whatsapp_client.gateway import _sqlite_sessions as ses
from whatsapp_client.gateway import _sqlite_stats as stats
from whatsapp_client.gateway._codec import Codec
from whatsapp_client.gateway._ids import now_ms
from whatsapp_client.gateway._models import (
    ApiKeyRecord,
    Delivery,
    DeliveryState,
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
from whatsapp_client.gateway._sqlite_leases import SqliteLeases  # several processes
from whatsapp_client.gateway._sqlite_schema import check_key, connect, migrate
from whatsapp_client.gateway._sqlite_users import SqliteUsers  # operator accounts
from whatsapp_client.gateway._vault import Vault
from whatsapp_client.server.storage.writer import BatchWriter

T = TypeVar("T")

log = logging.getLogger("whatsapp_client.gateway.storage")

DB_FILE = "gateway.sqlite3"


class StorageClosedError(RuntimeError):
    """The storage is not open."""


class SqliteStorage(SqliteUsers, SqliteLeases):
    """``SqliteStorage(data_dir, vault)``; ``await open()`` before use, ``close()`` after."""

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

    async def ping(self) -> None:
        def write(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('ping', ?)", (str(now_ms()),)
            )

        await self._write(write)

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
            "running": None if running is None else int(running),
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
        self._writer.submit_callback(lambda c: ses.touch_sessions(c, touches), _touch_written)

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

    async def add_events(self, events: Sequence[Event]) -> None:
        batch = list(events)

        def write(c: sqlite3.Connection) -> None:
            for event in batch:
                ev.fan_out(c, self._codec, event)

        await self._write(write)

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

    # --- webhook deliveries ---------------------------------------------------------------
    async def endpoints_with_work(self, now: int) -> list[str]:
        return await self._read(lambda c: ev.endpoints_with_work(c, now))

    async def head_delivery(self, endpoint_id: str) -> Optional[Delivery]:
        return await self._read(lambda c: ev.head_delivery(c, self._codec, endpoint_id))

    async def pending_deliveries(self, endpoint_id: str, *, limit: int) -> list[Delivery]:
        return await self._read(lambda c: ev.pending_deliveries(c, self._codec, endpoint_id, limit))

    async def finish_delivery(
        self,
        seq: int,
        state: DeliveryState,
        *,
        attempts: int,
        next_attempt_at: int,
        status_code: Optional[int],
        error: Optional[str],
        at: int,
    ) -> None:
        await self._write(
            lambda c: ev.finish_delivery(
                c, seq, state, attempts, next_attempt_at, status_code, error, at
            )
        )

    async def prune(self, before: int, now: int) -> int:
        return await self._write(lambda c: ev.prune(c, before, now))

    async def list_deliveries(
        self,
        session_id: str,
        *,
        endpoint_id: Optional[str] = None,
        state: Optional[DeliveryState] = None,
        limit: int = 100,
    ) -> list[Delivery]:
        return await self._read(
            lambda c: ev.list_deliveries(c, self._codec, session_id, endpoint_id, state, limit)
        )

    async def redeliver(self, session_id: str, seq: int, now: int) -> Delivery:
        return await self._write(lambda c: ev.redeliver(c, self._codec, session_id, seq, now))

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

    # --- live data (dashboard stats) ----------------------------------------------------
    async def message_counts_per_minute(
        self, session_id: str, since: int, until: int
    ) -> dict[int, tuple[int, int, int]]:
        return await self._read(lambda c: stats.per_minute(c, session_id, since, until))


def _touch_written(outcome: object) -> None:
    if isinstance(outcome, BaseException):
        log.warning("last-activity times not recorded: %s", outcome)
