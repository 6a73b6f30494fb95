"""The SQL functions a storage backend provides to :class:`.sql_facade.SqlFacade`.

One protocol per group of functions; a backend names a module for each (SQLite:
``sql_accounts``, ``sql_messages``, ``sql_groups``, ``sql_attachments``; PostgreSQL:
``pg_accounts``, ``pg_messages``, ``pg_groups``, ``pg_attachments``). Every function takes
the backend's connection first and runs inside the caller's transaction (or, for a read,
on a reader's connection).

The protocols give each function's *result*. SQLite's functions return it (mypy checks
those modules against these protocols); PostgreSQL's are coroutine functions returning an
awaitable of it, which ``PostgresStorage`` awaits. Python has no way to say "the same
signatures, results awaited", so ``postgres.py`` casts its modules to these protocols in
one place and ``tests/server/test_storage_sql_modules.py`` checks that every PostgreSQL
function has the protocol's parameters and result and is a coroutine function.

What differs per backend is not here: storing direct messages (a merged write whose
batching each backend's writer does its own way) and acknowledging them (one statement for
the acknowledgements queued together on PostgreSQL, one write each on SQLite).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from whatsapp_client.server.storage.base import GroupResult
from whatsapp_client.server.storage.records import (
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

# The backend's connection (``sqlite3.Connection`` or ``asyncpg.Connection``): the facade
# only passes on what the backend's runner gives it.
Conn = Any


class AccountsSql(Protocol):
    """Users, tokens, identity and prekeys, verification records, presence."""

    def create_user(
        self, conn: Conn, user_id: str, username: str, password_hash: bytes, now: int
    ) -> UserRecord | None: ...

    def credential(self, conn: Conn, username: str) -> Credential | None: ...

    def replace_password_hash(
        self, conn: Conn, user_id: str, expected: bytes, new_hash: bytes
    ) -> None: ...

    def user_by_id(self, conn: Conn, user_id: str) -> UserRecord | None: ...

    def user_by_name(self, conn: Conn, username: str) -> UserRecord | None: ...

    def add_token(self, conn: Conn, token_hash: bytes, user_id: str, now: int) -> None: ...

    def user_for_token(self, conn: Conn, token_hash: bytes) -> str | None: ...

    def revoke_token(self, conn: Conn, token_hash: bytes) -> None: ...

    def replace_keys(
        self,
        conn: Conn,
        user_id: str,
        identity: IdentityKeys,
        prekeys: Sequence[PreKey],
        max_prekeys: int,
        now: int,
    ) -> str | None: ...

    def add_prekeys(
        self, conn: Conn, user_id: str, prekeys: Sequence[PreKey], max_prekeys: int
    ) -> str | None: ...

    def signing_key(self, conn: Conn, user_id: str) -> bytes | None: ...

    def replace_signed_prekey(
        self,
        conn: Conn,
        user_id: str,
        expected_signing_key: bytes,
        spk: SignedPreKeyRecord,
        now: int,
    ) -> str | None: ...

    def key_status(self, conn: Conn, user_id: str) -> KeyStatusRecord: ...

    def delete_prekey(self, conn: Conn, user_id: str, key_id: int) -> bool: ...

    def take_bundle(
        self, conn: Conn, user_id: str, with_prekey: bool = True
    ) -> BundleRecord | None: ...

    def put_verification(
        self, conn: Conn, user_id: str, peer_id: str, fingerprint: str, verified: bool, now: int
    ) -> VerificationRecord: ...

    def get_verification(
        self, conn: Conn, user_id: str, peer_id: str
    ) -> VerificationRecord | None: ...

    def presence_info(self, conn: Conn, user_ids: Sequence[str]) -> dict[str, int | None]: ...

    def set_last_seen(self, conn: Conn, user_id: str, when: int) -> None: ...


class MessagesSql(Protocol):
    """The direct-message queue (all but storing and acknowledging) and the status queue."""

    def pending(
        self, conn: Conn, recipient: str, limit: int, after_seq: int = 0
    ) -> list[tuple[int, StoredMessage]]: ...

    def mark_read(
        self, conn: Conn, reader: str, peer_id: str, ids: Sequence[str]
    ) -> tuple[str, ...]: ...

    def queue_status(self, conn: Conn, user_id: str, payload: bytes) -> None: ...

    def take_statuses(self, conn: Conn, user_id: str) -> list[bytes]: ...

    def pending_total(self, conn: Conn) -> int: ...


class GroupsSql(Protocol):
    """Groups, members with roles, group messages and history."""

    def load_group(self, conn: Conn, group_id: str) -> GroupRecord | None: ...

    def groups_of(self, conn: Conn, user_id: str) -> list[GroupRecord]: ...

    def create_group(
        self,
        conn: Conn,
        group_id: str,
        name: str,
        description: str,
        owner_id: str,
        member_ids: Sequence[str],
        max_size: int,
        now: int,
    ) -> GroupResult: ...

    def update_group(
        self, conn: Conn, group_id: str, actor: str, name: str | None, description: str | None
    ) -> GroupResult: ...

    def add_member(
        self,
        conn: Conn,
        group_id: str,
        actor: str,
        user_id: str,
        role: str,
        max_size: int,
        now: int,
    ) -> GroupResult: ...

    def remove_member(self, conn: Conn, group_id: str, actor: str, user_id: str) -> str | None: ...

    def store_group_message(
        self, conn: Conn, sender: str, message_id: str, group_id: str, content: str, now: int
    ) -> GroupStoreOutcome: ...

    def group_history(
        self, conn: Conn, group_id: str, user_id: str, limit: int, before: int | None
    ) -> list[GroupMessageRecord] | None: ...


class AttachmentsSql(Protocol):
    """Attachment metadata (the blobs are files in the data directory)."""

    def used_bytes(self, conn: Conn, owner_id: str, now: int) -> int: ...

    def add_attachment(
        self, conn: Conn, record: AttachmentRecord, quota: int, now: int
    ) -> bool: ...

    def get_attachment(self, conn: Conn, attachment_id: str) -> AttachmentRecord | None: ...

    def delete_attachment(
        self, conn: Conn, attachment_id: str, owner_id: str, now: int
    ) -> bool: ...

    def take_expired(self, conn: Conn, now: int, limit: int = 1000) -> list[str]: ...

    def known_ids(self, conn: Conn, ids: list[str]) -> set[str]: ...
