"""Plain records the storage layer returns; no database types leak past it."""

from __future__ import annotations

from typing import NamedTuple


class UserRecord(NamedTuple):
    id: str
    username: str


class Credential(NamedTuple):
    user: UserRecord
    password_hash: bytes


class PreKey(NamedTuple):
    key_id: int
    public_key: bytes


class SignedPreKeyRecord(NamedTuple):
    key_id: int
    public_key: bytes
    signature: bytes


class IdentityKeys(NamedTuple):
    identity_key: bytes
    signing_key: bytes
    signed_prekey: SignedPreKeyRecord


class BundleRecord(NamedTuple):
    identity: IdentityKeys
    one_time_prekey: PreKey | None


class KeyStatusRecord(NamedTuple):
    available: int
    signed_prekey_id: int | None


class VerificationRecord(NamedTuple):
    peer_id: str
    fingerprint: str
    verified: bool
    verified_at: int | None


class StoredMessage(NamedTuple):
    id: str
    sender: str
    recipient: str
    content: str
    timestamp: int


class StoreOutcome(NamedTuple):
    """Answer to a direct or group message: ``error`` is a protocol error code or None."""

    timestamp: int
    new: bool
    error: str | None = None


class GroupStoreOutcome(NamedTuple):
    timestamp: int
    new: bool
    group_name: str
    member_ids: tuple[str, ...]
    error: str | None = None


class AckedBatch(NamedTuple):
    """Messages one sender sent that the recipient just acknowledged or read."""

    sender: str
    ids: tuple[str, ...]


class AckOutcome(NamedTuple):
    batches: list[AckedBatch]
    # Messages whose content was dropped (some may already have been marked read).
    cleared: int


class MemberRecord(NamedTuple):
    user_id: str
    username: str
    role: str


class GroupRecord(NamedTuple):
    id: str
    name: str
    description: str
    owner_id: str
    created_at: int
    members: tuple[MemberRecord, ...]

    def role_of(self, user_id: str) -> str | None:
        for member in self.members:
            if member.user_id == user_id:
                return member.role
        return None


class GroupMessageRecord(NamedTuple):
    id: str
    group_id: str
    group_name: str
    sender: str
    content: str
    timestamp: int


class AttachmentRecord(NamedTuple):
    id: str
    owner_id: str
    size: int
    created_at: int
    expires_at: int
