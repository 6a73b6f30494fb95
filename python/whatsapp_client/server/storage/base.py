"""The storage interface the server is written against.

The SQLite implementation is the default; a PostgreSQL one can drop in behind the same
methods (see docs/scaling.md). Contract every implementation keeps:

- an awaited write returns only after it is durably committed;
- ``submit_message`` / ``submit_group_message`` call ``on_commit`` on the event loop, after
  the commit, in the order the calls were made (this is what keeps per-pair order);
- ``take_bundle`` hands out each one-time prekey at most once, even under concurrency.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, Union

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

GroupResult = Union[GroupRecord, str]


class Storage(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> bool: ...

    async def create_user(
        self, user_id: str, username: str, password_hash: bytes
    ) -> UserRecord | None: ...

    async def credential(self, username: str) -> Credential | None: ...

    async def user_by_id(self, user_id: str) -> UserRecord | None: ...

    async def user_by_name(self, username: str) -> UserRecord | None: ...

    async def add_token(self, token_hash: bytes, user_id: str) -> None: ...

    async def user_for_token(self, token_hash: bytes) -> str | None: ...

    async def revoke_token(self, token_hash: bytes) -> None: ...

    async def replace_keys(
        self, user_id: str, identity: IdentityKeys, prekeys: Sequence[PreKey], max_prekeys: int
    ) -> str | None: ...

    async def add_prekeys(
        self, user_id: str, prekeys: Sequence[PreKey], max_prekeys: int
    ) -> str | None: ...

    async def signing_key(self, user_id: str) -> bytes | None: ...

    async def replace_signed_prekey(
        self, user_id: str, expected_signing_key: bytes, spk: SignedPreKeyRecord
    ) -> str | None: ...

    async def key_status(self, user_id: str) -> KeyStatusRecord: ...

    async def delete_prekey(self, user_id: str, key_id: int) -> bool: ...

    async def take_bundle(self, user_id: str, with_prekey: bool = True) -> BundleRecord | None: ...

    async def put_verification(
        self, user_id: str, peer_id: str, fingerprint: str, verified: bool
    ) -> VerificationRecord: ...

    async def get_verification(self, user_id: str, peer_id: str) -> VerificationRecord | None: ...

    async def presence_info(self, user_ids: Sequence[str]) -> dict[str, int | None]: ...

    def set_last_seen(self, user_id: str, when: int) -> None: ...

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
    ) -> None: ...

    async def pending(
        self, recipient: str, limit: int, after_seq: int = 0
    ) -> list[tuple[int, StoredMessage]]: ...

    async def acknowledge(self, recipient: str, ids: Sequence[str]) -> AckOutcome: ...

    async def mark_read(self, reader: str, peer_id: str, ids: Sequence[str]) -> tuple[str, ...]: ...

    def queue_status(self, user_id: str, payload: bytes) -> None: ...

    async def take_statuses(self, user_id: str) -> list[bytes]: ...

    async def pending_total(self) -> int: ...

    async def create_group(
        self,
        group_id: str,
        name: str,
        description: str,
        owner_id: str,
        member_ids: Sequence[str],
        max_size: int,
    ) -> GroupResult: ...

    async def groups_of(self, user_id: str) -> list[GroupRecord]: ...

    async def get_group(self, group_id: str) -> GroupRecord | None: ...

    async def update_group(
        self, group_id: str, actor: str, name: str | None, description: str | None
    ) -> GroupResult: ...

    async def add_member(
        self, group_id: str, actor: str, user_id: str, role: str, max_size: int
    ) -> GroupResult: ...

    async def remove_member(self, group_id: str, actor: str, user_id: str) -> str | None: ...

    def submit_group_message(
        self,
        sender: str,
        message_id: str,
        group_id: str,
        content: str,
        on_commit: Callable[[Any], None],
    ) -> None: ...

    async def group_history(
        self, group_id: str, user_id: str, limit: int, before: int | None
    ) -> list[GroupMessageRecord] | None: ...

    async def attachment_bytes(self, owner_id: str) -> int: ...

    async def add_attachment(self, record: AttachmentRecord, quota: int) -> bool: ...

    async def get_attachment(self, attachment_id: str) -> AttachmentRecord | None: ...

    async def delete_attachment(self, attachment_id: str, owner_id: str) -> bool: ...

    async def take_expired_attachments(self, now: int) -> list[str]: ...

    async def known_attachments(self, ids: list[str]) -> set[str]: ...
