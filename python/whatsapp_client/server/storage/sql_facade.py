"""The :class:`~.base.Storage` methods both SQL backends share, written once.

Each method runs one of the backend's SQL functions (:mod:`.sql_modules`) in a read or a
write. What a backend class adds is only what differs: opening and closing, ``ping``, how a
function runs (SQLite: a reader thread or the group-committing writer thread; PostgreSQL:
the pool, or the writer task for the ordered writes, where the function's coroutine is
awaited), how direct messages are stored (merged, each writer its own way) and
acknowledged, and its SQL modules (the class attributes ``_acc``, ``_msg``, ``_grp`` and
``_att``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, TypeVar

from whatsapp_client.server.storage.base import GroupResult
from whatsapp_client.server.storage.records import (
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
from whatsapp_client.server.storage.sql_modules import (
    AccountsSql,
    AttachmentsSql,
    Conn,
    GroupsSql,
    MessagesSql,
)

T = TypeVar("T")


def now_ms() -> int:
    return int(time.time() * 1000)


class SqlFacade:
    """The shared part of ``SqliteStorage`` and ``PostgresStorage``."""

    _acc: ClassVar[AccountsSql]
    _msg: ClassVar[MessagesSql]
    _grp: ClassVar[GroupsSql]
    _att: ClassVar[AttachmentsSql]

    # --- what each backend provides -------------------------------------------------------
    def _read(self, fn: Callable[[Conn], T]) -> Awaitable[T]:
        """``fn(connection)``'s result, read beside the writes."""
        raise NotImplementedError

    def _write(self, fn: Callable[[Conn], T]) -> Awaitable[T]:
        """``fn(connection)``'s result, once its transaction is committed."""
        raise NotImplementedError

    def _ordered(self, fn: Callable[[Conn], T]) -> Awaitable[T]:
        """Like :meth:`_write`, committed in call order with the submitted writes (an ack
        then a read receipt from one socket; a queued status then the take that delivers
        it)."""
        raise NotImplementedError

    def _submit(self, fn: Callable[[Conn], object], on_commit: Callable[[Any], None]) -> None:
        """Queues ``fn`` in call order with the other submitted writes; ``on_commit`` gets
        its result (or exception) on the loop after the commit."""
        raise NotImplementedError

    def _store_message(self, request: StoreRequest, on_commit: Callable[[Any], None]) -> None:
        """Queues a direct message to store, merged with the ones queued beside it the
        backend's way; ``on_commit`` as for :meth:`_submit`."""
        raise NotImplementedError

    def _advisory(self, fn: Callable[[Conn], None]) -> None:
        """Queues a write nobody waits for (last_seen, queued statuses): dropped with a
        warning once the storage is closed."""
        raise NotImplementedError

    # --- accounts -------------------------------------------------------------------------
    async def create_user(
        self, user_id: str, username: str, password_hash: bytes
    ) -> UserRecord | None:
        now = now_ms()
        return await self._write(
            lambda c: self._acc.create_user(c, user_id, username, password_hash, now)
        )

    async def credential(self, username: str) -> Credential | None:
        return await self._read(lambda c: self._acc.credential(c, username))

    async def replace_password_hash(self, user_id: str, expected: bytes, new_hash: bytes) -> None:
        await self._write(lambda c: self._acc.replace_password_hash(c, user_id, expected, new_hash))

    async def user_by_id(self, user_id: str) -> UserRecord | None:
        return await self._read(lambda c: self._acc.user_by_id(c, user_id))

    async def user_by_name(self, username: str) -> UserRecord | None:
        return await self._read(lambda c: self._acc.user_by_name(c, username))

    async def add_token(self, token_hash: bytes, user_id: str) -> None:
        now = now_ms()
        await self._write(lambda c: self._acc.add_token(c, token_hash, user_id, now))

    async def user_for_token(self, token_hash: bytes) -> str | None:
        return await self._read(lambda c: self._acc.user_for_token(c, token_hash))

    async def revoke_token(self, token_hash: bytes) -> None:
        await self._write(lambda c: self._acc.revoke_token(c, token_hash))

    # --- keys -----------------------------------------------------------------------------
    async def replace_keys(
        self, user_id: str, identity: IdentityKeys, prekeys: Sequence[PreKey], max_prekeys: int
    ) -> str | None:
        now = now_ms()
        return await self._write(
            lambda c: self._acc.replace_keys(c, user_id, identity, prekeys, max_prekeys, now)
        )

    async def add_prekeys(
        self, user_id: str, prekeys: Sequence[PreKey], max_prekeys: int
    ) -> str | None:
        return await self._write(lambda c: self._acc.add_prekeys(c, user_id, prekeys, max_prekeys))

    async def signing_key(self, user_id: str) -> bytes | None:
        return await self._read(lambda c: self._acc.signing_key(c, user_id))

    async def replace_signed_prekey(
        self, user_id: str, expected_signing_key: bytes, spk: SignedPreKeyRecord
    ) -> str | None:
        now = now_ms()
        return await self._write(
            lambda c: self._acc.replace_signed_prekey(c, user_id, expected_signing_key, spk, now)
        )

    async def key_status(self, user_id: str) -> KeyStatusRecord:
        return await self._read(lambda c: self._acc.key_status(c, user_id))

    async def delete_prekey(self, user_id: str, key_id: int) -> bool:
        return await self._write(lambda c: self._acc.delete_prekey(c, user_id, key_id))

    async def take_bundle(self, user_id: str, with_prekey: bool = True) -> BundleRecord | None:
        return await self._write(lambda c: self._acc.take_bundle(c, user_id, with_prekey))

    async def put_verification(
        self, user_id: str, peer_id: str, fingerprint: str, verified: bool
    ) -> VerificationRecord:
        now = now_ms()
        return await self._write(
            lambda c: self._acc.put_verification(c, user_id, peer_id, fingerprint, verified, now)
        )

    async def get_verification(self, user_id: str, peer_id: str) -> VerificationRecord | None:
        return await self._read(lambda c: self._acc.get_verification(c, user_id, peer_id))

    async def presence_info(self, user_ids: Sequence[str]) -> dict[str, int | None]:
        return await self._read(lambda c: self._acc.presence_info(c, user_ids))

    def set_last_seen(self, user_id: str, when: int) -> None:
        self._advisory(lambda c: self._acc.set_last_seen(c, user_id, when))

    # --- direct messages (acknowledging is the backend's) ---------------------------------
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
        request = StoreRequest(
            sender, message_id, recipient, content, max_pending, max_pending_bytes
        )
        self._store_message(request, on_commit)

    async def pending(
        self, recipient: str, limit: int, after_seq: int = 0
    ) -> list[tuple[int, StoredMessage]]:
        return await self._read(lambda c: self._msg.pending(c, recipient, limit, after_seq))

    async def mark_read(self, reader: str, peer_id: str, ids: Sequence[str]) -> tuple[str, ...]:
        return await self._ordered(lambda c: self._msg.mark_read(c, reader, peer_id, ids))

    def queue_status(self, user_id: str, payload: bytes) -> None:
        self._advisory(lambda c: self._msg.queue_status(c, user_id, payload))

    async def take_statuses(self, user_id: str) -> list[bytes]:
        return await self._ordered(lambda c: self._msg.take_statuses(c, user_id))

    async def pending_total(self) -> int:
        return await self._read(self._msg.pending_total)

    # --- groups ---------------------------------------------------------------------------
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
            lambda c: self._grp.create_group(
                c, group_id, name, description, owner_id, member_ids, max_size, now
            )
        )

    async def groups_of(self, user_id: str) -> list[GroupRecord]:
        return await self._read(lambda c: self._grp.groups_of(c, user_id))

    async def get_group(self, group_id: str) -> GroupRecord | None:
        return await self._read(lambda c: self._grp.load_group(c, group_id))

    async def update_group(
        self, group_id: str, actor: str, name: str | None, description: str | None
    ) -> GroupResult:
        return await self._write(
            lambda c: self._grp.update_group(c, group_id, actor, name, description)
        )

    async def add_member(
        self, group_id: str, actor: str, user_id: str, role: str, max_size: int
    ) -> GroupResult:
        now = now_ms()
        return await self._write(
            lambda c: self._grp.add_member(c, group_id, actor, user_id, role, max_size, now)
        )

    async def remove_member(self, group_id: str, actor: str, user_id: str) -> str | None:
        return await self._write(lambda c: self._grp.remove_member(c, group_id, actor, user_id))

    def submit_group_message(
        self,
        sender: str,
        message_id: str,
        group_id: str,
        content: str,
        on_commit: Callable[[Any], None],
    ) -> None:
        # The time is taken when the write runs, so it follows commit order.
        self._submit(
            lambda c: self._grp.store_group_message(
                c, sender, message_id, group_id, content, now_ms()
            ),
            on_commit,
        )

    async def group_history(
        self, group_id: str, user_id: str, limit: int, before: int | None
    ) -> list[GroupMessageRecord] | None:
        return await self._read(
            lambda c: self._grp.group_history(c, group_id, user_id, limit, before)
        )

    # --- attachments (metadata here; the blobs stay files in the data directory) ----------
    async def attachment_bytes(self, owner_id: str) -> int:
        now = now_ms()
        return await self._read(lambda c: self._att.used_bytes(c, owner_id, now))

    async def add_attachment(self, record: AttachmentRecord, quota: int) -> bool:
        now = now_ms()
        return await self._write(lambda c: self._att.add_attachment(c, record, quota, now))

    async def get_attachment(self, attachment_id: str) -> AttachmentRecord | None:
        return await self._read(lambda c: self._att.get_attachment(c, attachment_id))

    async def delete_attachment(self, attachment_id: str, owner_id: str) -> bool:
        now = now_ms()
        return await self._write(
            lambda c: self._att.delete_attachment(c, attachment_id, owner_id, now)
        )

    async def take_expired_attachments(self, now: int) -> list[str]:
        return await self._write(lambda c: self._att.take_expired(c, now))

    async def known_attachments(self, ids: list[str]) -> set[str]:
        return await self._read(lambda c: self._att.known_ids(c, ids))
