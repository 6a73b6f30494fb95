"""PostgreSQL implementation of :class:`~whatsapp_client.server.storage.base.Storage`.

For several server processes on one database (docs/scaling.md). asyncpg with a pool; every
awaited write commits (synchronous_commit as configured on the server, ``on`` by default)
before it returns. Ordered writes go through :class:`.pg_writer.OrderedWriter`. asyncpg is
imported only when this storage opens, so the SQLite default needs no extra package.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from whatsapp_client.server.logs import get_logger
from whatsapp_client.server.storage import pg_accounts as acc
from whatsapp_client.server.storage import pg_attachments as att
from whatsapp_client.server.storage import pg_groups as grp
from whatsapp_client.server.storage import pg_messages as msg
from whatsapp_client.server.storage.base import GroupResult
from whatsapp_client.server.storage.pg_schema import migrate
from whatsapp_client.server.storage.pg_writer import Merged, OrderedWriter, settle_into
from whatsapp_client.server.storage.records import (
    AckOutcome,
    AttachmentRecord,
    BundleRecord,
    Credential,
    GroupMessageRecord,
    GroupRecord,
    IdentityKeys,
    KeyStatusRecord,
    PreKey,
    SignedPreKeyRecord,
    StoredMessage,
    UserRecord,
    VerificationRecord,
)
from whatsapp_client.server.storage.sql_messages import StoreRequest

T = TypeVar("T")
Op = Callable[[Any], Awaitable[T]]

log = get_logger("storage")


def now_ms() -> int:
    return int(time.time() * 1000)


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


class PostgresStorage:
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

    async def _read(self, fn: Op[T]) -> T:
        if self._pool is None:
            raise RuntimeError("storage is closed")
        async with self._pool.acquire() as conn:
            return await fn(conn)

    async def _write(self, fn: Op[T]) -> T:
        """One transaction, committed before this returns."""
        if self._pool is None or self._writer is None:
            raise RuntimeError("storage is closed")
        async with self._pool.acquire() as conn, conn.transaction():
            return await fn(conn)

    async def _ordered_merged(self, merged: Merged, item: Any) -> Any:
        """Like :meth:`_ordered`, for a one-statement operation that consecutive calls
        share (``merged(conn, items)`` answers each item in order), and that may commit
        ahead of direct messages queued before it in the same batch."""
        if self._writer is None:
            raise RuntimeError("storage is closed")
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._writer.submit_merged(merged, item, settle_into(done), one_statement=True, early=True)
        return await done

    async def _ordered(self, fn: Op[T]) -> T:
        """A write committed in call order with the submitted ones (an ack then a read
        receipt from one socket; a queued status then the take that delivers it)."""
        if self._writer is None:
            raise RuntimeError("storage is closed")
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._writer.submit(fn, settle_into(done))
        return await done

    def _advisory(self, fn: Op[None]) -> None:
        """last_seen and queued statuses: dropped with a warning once closed."""
        if self._writer is None:
            log.warning("storage closed; advisory write dropped")
            return
        self._writer.submit(fn, _ignore)

    async def ping(self) -> bool:
        await self._read(lambda c: c.fetchval("SELECT 1"))
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

    async def replace_password_hash(self, user_id: str, expected: bytes, new_hash: bytes) -> None:
        await self._write(lambda c: acc.replace_password_hash(c, user_id, expected, new_hash))

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
        self._advisory(lambda c: acc.set_last_seen(c, user_id, when))

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
        request = StoreRequest(
            sender, message_id, recipient, content, max_pending, max_pending_bytes
        )
        self._writer.submit_merged(_store_messages, request, on_commit, one_statement=True)

    async def pending(
        self, recipient: str, limit: int, after_seq: int = 0
    ) -> list[tuple[int, StoredMessage]]:
        return await self._read(lambda c: msg.pending(c, recipient, limit, after_seq))

    async def acknowledge(self, recipient: str, ids: Sequence[str]) -> AckOutcome:
        # Acknowledgements queued together (from any sockets) share one statement, and go
        # ahead of the direct messages queued with them rather than splitting their batch:
        # a message can only be acknowledged after its own commit, so none of them is
        # acknowledged here, and the order of unrelated messages and acks is free.
        outcome: AckOutcome = await self._ordered_merged(
            msg.acknowledge_many, (recipient, list(ids))
        )
        return outcome

    async def mark_read(self, reader: str, peer_id: str, ids: Sequence[str]) -> tuple[str, ...]:
        return await self._ordered(lambda c: msg.mark_read(c, reader, peer_id, ids))

    def queue_status(self, user_id: str, payload: bytes) -> None:
        self._advisory(lambda c: msg.queue_status(c, user_id, payload))

    async def take_statuses(self, user_id: str) -> list[bytes]:
        return await self._ordered(lambda c: msg.take_statuses(c, user_id))

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
        if self._writer is None:
            raise RuntimeError("storage is closed")
        self._writer.submit(
            lambda c: grp.store_group_message(c, sender, message_id, group_id, content, now_ms()),
            on_commit,
        )

    async def group_history(
        self, group_id: str, user_id: str, limit: int, before: int | None
    ) -> list[GroupMessageRecord] | None:
        return await self._read(lambda c: grp.group_history(c, group_id, user_id, limit, before))

    # -- attachments (metadata here; the blobs stay files in the data directory) ----------

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


async def _store_messages(conn: Any, requests: list[Any]) -> list[Any]:
    return list(await msg.store_messages(conn, requests, now_ms()))


async def _no_session_reset(_: Any) -> None:
    """A released connection is not reset: asyncpg's default runs RESET ALL, UNLISTEN and
    friends on every release, one more round trip per query, and this storage never
    changes session state (no SET, LISTEN, cursor or advisory lock on pooled connections).
    An open transaction is still rolled back by asyncpg itself."""


def _ignore(_: Any) -> None:
    """Advisory writes: failures are logged by the writer."""
