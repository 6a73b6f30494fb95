"""SQLite implementation of :class:`~whatsapp_client.server.storage.base.Storage`.

WAL mode; one writer thread that group-commits (see :mod:`.writer`) and a small pool of
reader threads, so no database call ever runs on the event loop.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from whatsapp_client.server.logs import get_logger
from whatsapp_client.server.storage import sql_accounts as acc
from whatsapp_client.server.storage import sql_attachments as att
from whatsapp_client.server.storage import sql_groups as grp
from whatsapp_client.server.storage import sql_messages as msg
from whatsapp_client.server.storage.base import GroupResult
from whatsapp_client.server.storage.checkpointer import Checkpointer
from whatsapp_client.server.storage.files import check_database
from whatsapp_client.server.storage.records import (
    AckOutcome,
    AttachmentRecord,
    BundleRecord,
    Credential,
    GroupMessageRecord,
    GroupRecord,
    GroupStoreOutcome,
    IdentityKeys,
    KeyStatusRecord,
    PreKey,
    SignedPreKeyRecord,
    StoredMessage,
    UserRecord,
    VerificationRecord,
)
from whatsapp_client.server.storage.schema import migrate
from whatsapp_client.server.storage.writer import BatchWriter, WriterClosedError

T = TypeVar("T")

log = get_logger("storage")

DB_FILE = "server.sqlite3"


def now_ms() -> int:
    return int(time.time() * 1000)


def _connect(path: str, synchronous: str) -> sqlite3.Connection:
    # Autocommit mode: the writer issues BEGIN/COMMIT itself; readers never hold transactions.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    # Freed pages and deleted cells are zeroed: acknowledged ciphertext does not linger.
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class SqliteStorage:
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

    def _write_cb(
        self, fn: Callable[[sqlite3.Connection], Any], on_commit: Callable[[Any], None]
    ) -> None:
        if self._writer is None:
            raise RuntimeError("storage is closed")
        self._writer.submit_callback(fn, on_commit)

    def _fire_and_forget(self, fn: Callable[[sqlite3.Connection], Any]) -> None:
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

    # -- accounts ------------------------------------------------------------------------

    async def create_user(
        self, user_id: str, username: str, password_hash: bytes
    ) -> UserRecord | None:
        now = now_ms()
        return await self._write(
            lambda c: acc.create_user(c, user_id, username, password_hash, now)
        )

    async def credential(self, username: str) -> Credential | None:
        return await self._read(lambda c: acc.credential(c, username))

    async def user_by_id(self, user_id: str) -> UserRecord | None:
        return await self._read(lambda c: acc.user_by_id(c, user_id))

    async def user_by_name(self, username: str) -> UserRecord | None:
        return await self._read(lambda c: acc.user_by_name(c, username))

    async def add_token(self, token_hash: bytes, user_id: str) -> None:
        now = now_ms()
        await self._write(lambda c: acc.add_token(c, token_hash, user_id, now))

    async def user_for_token(self, token_hash: bytes) -> str | None:
        return await self._read(lambda c: acc.user_for_token(c, token_hash))

    async def revoke_token(self, token_hash: bytes) -> None:
        await self._write(lambda c: acc.revoke_token(c, token_hash))

    # -- keys ----------------------------------------------------------------------------

    async def replace_keys(
        self, user_id: str, identity: IdentityKeys, prekeys: Sequence[PreKey], max_prekeys: int
    ) -> str | None:
        now = now_ms()
        return await self._write(
            lambda c: acc.replace_keys(c, user_id, identity, prekeys, max_prekeys, now)
        )

    async def add_prekeys(
        self, user_id: str, prekeys: Sequence[PreKey], max_prekeys: int
    ) -> str | None:
        return await self._write(lambda c: acc.add_prekeys(c, user_id, prekeys, max_prekeys))

    async def signing_key(self, user_id: str) -> bytes | None:
        return await self._read(lambda c: acc.signing_key(c, user_id))

    async def replace_signed_prekey(
        self, user_id: str, expected_signing_key: bytes, spk: SignedPreKeyRecord
    ) -> str | None:
        now = now_ms()
        return await self._write(
            lambda c: acc.replace_signed_prekey(c, user_id, expected_signing_key, spk, now)
        )

    async def key_status(self, user_id: str) -> KeyStatusRecord:
        return await self._read(lambda c: acc.key_status(c, user_id))

    async def delete_prekey(self, user_id: str, key_id: int) -> bool:
        return await self._write(lambda c: acc.delete_prekey(c, user_id, key_id))

    async def take_bundle(self, user_id: str, with_prekey: bool = True) -> BundleRecord | None:
        return await self._write(lambda c: acc.take_bundle(c, user_id, with_prekey))

    async def put_verification(
        self, user_id: str, peer_id: str, fingerprint: str, verified: bool
    ) -> VerificationRecord:
        now = now_ms()
        return await self._write(
            lambda c: acc.put_verification(c, user_id, peer_id, fingerprint, verified, now)
        )

    async def get_verification(self, user_id: str, peer_id: str) -> VerificationRecord | None:
        return await self._read(lambda c: acc.get_verification(c, user_id, peer_id))

    async def presence_info(self, user_ids: Sequence[str]) -> dict[str, int | None]:
        return await self._read(lambda c: acc.presence_info(c, user_ids))

    def set_last_seen(self, user_id: str, when: int) -> None:
        self._fire_and_forget(lambda c: acc.set_last_seen(c, user_id, when))

    # -- direct messages -----------------------------------------------------------------

    def submit_message(
        self,
        sender: str,
        message_id: str,
        recipient: str,
        content: str,
        max_pending: int,
        on_commit: Callable[[Any], None],
        *,
        max_pending_bytes: int | None = None,
    ) -> None:
        if self._writer is None:
            raise RuntimeError("storage is closed")
        request = msg.StoreRequest(
            sender, message_id, recipient, content, max_pending, max_pending_bytes
        )
        self._writer.submit_merged(_store_messages, request, on_commit)

    async def pending(
        self, recipient: str, limit: int, after_seq: int = 0
    ) -> list[tuple[int, StoredMessage]]:
        return await self._read(lambda c: msg.pending(c, recipient, limit, after_seq))

    async def acknowledge(self, recipient: str, ids: Sequence[str]) -> AckOutcome:
        outcome = await self._write(lambda c: msg.acknowledge(c, recipient, ids))
        if outcome.cleared and self._checkpointer is not None:
            self._checkpointer.scrub()
        return outcome

    async def mark_read(self, reader: str, peer_id: str, ids: Sequence[str]) -> tuple[str, ...]:
        return await self._write(lambda c: msg.mark_read(c, reader, peer_id, ids))

    def queue_status(self, user_id: str, payload: bytes) -> None:
        self._fire_and_forget(lambda c: msg.queue_status(c, user_id, payload))

    async def take_statuses(self, user_id: str) -> list[bytes]:
        return await self._write(lambda c: msg.take_statuses(c, user_id))

    async def pending_total(self) -> int:
        return await self._read(msg.pending_total)

    # -- groups --------------------------------------------------------------------------

    async def create_group(
        self,
        group_id: str,
        name: str,
        description: str,
        owner_id: str,
        member_ids: Sequence[str],
        max_size: int,
    ) -> GroupResult:
        now = now_ms()
        return await self._write(
            lambda c: grp.create_group(
                c, group_id, name, description, owner_id, member_ids, max_size, now
            )
        )

    async def groups_of(self, user_id: str) -> list[GroupRecord]:
        return await self._read(lambda c: grp.groups_of(c, user_id))

    async def get_group(self, group_id: str) -> GroupRecord | None:
        return await self._read(lambda c: grp.load_group(c, group_id))

    async def update_group(
        self, group_id: str, actor: str, name: str | None, description: str | None
    ) -> GroupResult:
        return await self._write(lambda c: grp.update_group(c, group_id, actor, name, description))

    async def add_member(
        self, group_id: str, actor: str, user_id: str, role: str, max_size: int
    ) -> GroupResult:
        now = now_ms()
        return await self._write(
            lambda c: grp.add_member(c, group_id, actor, user_id, role, max_size, now)
        )

    async def remove_member(self, group_id: str, actor: str, user_id: str) -> str | None:
        return await self._write(lambda c: grp.remove_member(c, group_id, actor, user_id))

    def submit_group_message(
        self,
        sender: str,
        message_id: str,
        group_id: str,
        content: str,
        on_commit: Callable[[Any], None],
    ) -> None:
        def op(c: sqlite3.Connection) -> GroupStoreOutcome:
            return grp.store_group_message(c, sender, message_id, group_id, content, now_ms())

        self._write_cb(op, on_commit)

    async def group_history(
        self, group_id: str, user_id: str, limit: int, before: int | None
    ) -> list[GroupMessageRecord] | None:
        return await self._read(lambda c: grp.group_history(c, group_id, user_id, limit, before))

    # -- attachments (metadata; the blobs are files, see blobs.py) -------------------------

    async def attachment_bytes(self, owner_id: str) -> int:
        now = now_ms()
        return await self._read(lambda c: att.used_bytes(c, owner_id, now))

    async def add_attachment(self, record: AttachmentRecord, quota: int) -> bool:
        now = now_ms()
        return await self._write(lambda c: att.add_attachment(c, record, quota, now))

    async def get_attachment(self, attachment_id: str) -> AttachmentRecord | None:
        return await self._read(lambda c: att.get_attachment(c, attachment_id))

    async def delete_attachment(self, attachment_id: str, owner_id: str) -> bool:
        now = now_ms()
        return await self._write(lambda c: att.delete_attachment(c, attachment_id, owner_id, now))

    async def take_expired_attachments(self, now: int) -> list[str]:
        return await self._write(lambda c: att.take_expired(c, now))

    async def known_attachments(self, ids: list[str]) -> set[str]:
        return await self._read(lambda c: att.known_ids(c, ids))


def _store_messages(conn: sqlite3.Connection, requests: list[Any]) -> list[Any]:
    return list(msg.store_messages(conn, requests, now_ms()))


def _ignore(_: Any) -> None:
    """Fire-and-forget writes still go through the writer; failures are logged there."""
