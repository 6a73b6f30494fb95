"""Accounts, tokens, keys and verification records on PostgreSQL (asyncpg connections).

Writes that check then change (prekey counts) lock the user's row first, so two
processes cannot both pass the check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from whatsapp_client.server.storage.records import (
    BundleRecord,
    Credential,
    IdentityKeys,
    KeyStatusRecord,
    PreKey,
    SignedPreKeyRecord,
    UserRecord,
    VerificationRecord,
)

if TYPE_CHECKING:
    from asyncpg import Connection


async def create_user(
    conn: Connection, user_id: str, username: str, password_hash: bytes, now: int
) -> UserRecord | None:
    """Insert the user; None when the username is taken."""
    row = await conn.fetchrow(
        "INSERT INTO users (id, username, password_hash, created_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (username) DO NOTHING RETURNING id",
        user_id,
        username,
        password_hash,
        now,
    )
    return UserRecord(user_id, username) if row is not None else None


async def credential(conn: Connection, username: str) -> Credential | None:
    row = await conn.fetchrow(
        "SELECT id, username, password_hash FROM users WHERE username = $1", username
    )
    return Credential(UserRecord(row[0], row[1]), bytes(row[2])) if row else None


async def replace_password_hash(
    conn: Connection, user_id: str, expected: bytes, new_hash: bytes
) -> None:
    await conn.execute(
        "UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3",
        new_hash,
        user_id,
        expected,
    )


async def user_by_id(conn: Connection, user_id: str) -> UserRecord | None:
    row = await conn.fetchrow("SELECT id, username FROM users WHERE id = $1", user_id)
    return UserRecord(row[0], row[1]) if row else None


async def user_by_name(conn: Connection, username: str) -> UserRecord | None:
    row = await conn.fetchrow("SELECT id, username FROM users WHERE username = $1", username)
    return UserRecord(row[0], row[1]) if row else None


async def add_token(conn: Connection, token_hash: bytes, user_id: str, now: int) -> None:
    await conn.execute(
        "INSERT INTO tokens (token_hash, user_id, created_at) VALUES ($1, $2, $3)",
        token_hash,
        user_id,
        now,
    )


async def user_for_token(conn: Connection, token_hash: bytes) -> str | None:
    value = await conn.fetchval("SELECT user_id FROM tokens WHERE token_hash = $1", token_hash)
    return str(value) if value is not None else None


async def revoke_token(conn: Connection, token_hash: bytes) -> None:
    await conn.execute("DELETE FROM tokens WHERE token_hash = $1", token_hash)


async def _lock_user(conn: Connection, user_id: str) -> None:
    await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user_id)


async def _count_prekeys(conn: Connection, user_id: str) -> int:
    return int(
        await conn.fetchval("SELECT count(*) FROM one_time_prekeys WHERE user_id = $1", user_id)
    )


async def _insert_prekeys(conn: Connection, user_id: str, prekeys: Sequence[PreKey]) -> None:
    await conn.executemany(
        "INSERT INTO one_time_prekeys (user_id, key_id, public_key) VALUES ($1, $2, $3)",
        [(user_id, key.key_id, key.public_key) for key in prekeys],
    )


async def replace_keys(
    conn: Connection,
    user_id: str,
    identity: IdentityKeys,
    prekeys: Sequence[PreKey],
    max_prekeys: int,
    now: int,
) -> str | None:
    if len(prekeys) > max_prekeys:
        return "too_many_prekeys"
    await _lock_user(conn, user_id)
    spk = identity.signed_prekey
    await conn.execute(
        "INSERT INTO identities (user_id, identity_key, signing_key, spk_id, spk_public,"
        " spk_signature, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (user_id) DO UPDATE SET identity_key = EXCLUDED.identity_key,"
        " signing_key = EXCLUDED.signing_key, spk_id = EXCLUDED.spk_id,"
        " spk_public = EXCLUDED.spk_public, spk_signature = EXCLUDED.spk_signature,"
        " updated_at = EXCLUDED.updated_at",
        user_id,
        identity.identity_key,
        identity.signing_key,
        spk.key_id,
        spk.public_key,
        spk.signature,
        now,
    )
    await conn.execute("DELETE FROM one_time_prekeys WHERE user_id = $1", user_id)
    await _insert_prekeys(conn, user_id, prekeys)
    return None


async def add_prekeys(
    conn: Connection, user_id: str, prekeys: Sequence[PreKey], max_prekeys: int
) -> str | None:
    await _lock_user(conn, user_id)
    clash = await conn.fetchval(
        "SELECT 1 FROM one_time_prekeys WHERE user_id = $1 AND key_id = ANY($2::bigint[]) LIMIT 1",
        user_id,
        [key.key_id for key in prekeys],
    )
    if clash is not None:
        return "duplicate_prekey"
    if await _count_prekeys(conn, user_id) + len(prekeys) > max_prekeys:
        return "too_many_prekeys"
    await _insert_prekeys(conn, user_id, prekeys)
    return None


async def signing_key(conn: Connection, user_id: str) -> bytes | None:
    value = await conn.fetchval("SELECT signing_key FROM identities WHERE user_id = $1", user_id)
    return bytes(value) if value is not None else None


async def replace_signed_prekey(
    conn: Connection, user_id: str, expected_signing_key: bytes, spk: SignedPreKeyRecord, now: int
) -> str | None:
    current = await conn.fetchval(
        "SELECT signing_key FROM identities WHERE user_id = $1 FOR UPDATE", user_id
    )
    if current is None:
        return "no_keys"
    if bytes(current) != expected_signing_key:
        return "identity_changed"
    await conn.execute(
        "UPDATE identities SET spk_id = $1, spk_public = $2, spk_signature = $3, updated_at = $4"
        " WHERE user_id = $5",
        spk.key_id,
        spk.public_key,
        spk.signature,
        now,
        user_id,
    )
    return None


async def key_status(conn: Connection, user_id: str) -> KeyStatusRecord:
    spk_id = await conn.fetchval("SELECT spk_id FROM identities WHERE user_id = $1", user_id)
    return KeyStatusRecord(
        await _count_prekeys(conn, user_id), int(spk_id) if spk_id is not None else None
    )


async def delete_prekey(conn: Connection, user_id: str, key_id: int) -> bool:
    status = await conn.execute(
        "DELETE FROM one_time_prekeys WHERE user_id = $1 AND key_id = $2", user_id, key_id
    )
    return bool(status == "DELETE 1")


async def take_bundle(
    conn: Connection, user_id: str, with_prekey: bool = True
) -> BundleRecord | None:
    """The bundle, consuming one one-time prekey: SKIP LOCKED lets concurrent fetches (in
    any process) each take a different key instead of queueing on the same row."""
    row = await conn.fetchrow(
        "SELECT identity_key, signing_key, spk_id, spk_public, spk_signature"
        " FROM identities WHERE user_id = $1",
        user_id,
    )
    if row is None:
        return None
    identity = IdentityKeys(
        bytes(row[0]), bytes(row[1]), SignedPreKeyRecord(int(row[2]), bytes(row[3]), bytes(row[4]))
    )
    if not with_prekey:
        return BundleRecord(identity, None)
    taken = await conn.fetchrow(
        "DELETE FROM one_time_prekeys WHERE (user_id, key_id) = ("
        " SELECT user_id, key_id FROM one_time_prekeys WHERE user_id = $1"
        " ORDER BY key_id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING key_id, public_key",
        user_id,
    )
    prekey = PreKey(int(taken[0]), bytes(taken[1])) if taken is not None else None
    return BundleRecord(identity, prekey)


async def put_verification(
    conn: Connection, user_id: str, peer_id: str, fingerprint: str, verified: bool, now: int
) -> VerificationRecord:
    verified_at = now if verified else None
    await conn.execute(
        "INSERT INTO verifications (user_id, peer_id, fingerprint, verified, verified_at)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, peer_id) DO UPDATE SET"
        " fingerprint = EXCLUDED.fingerprint, verified = EXCLUDED.verified,"
        " verified_at = EXCLUDED.verified_at",
        user_id,
        peer_id,
        fingerprint,
        verified,
        verified_at,
    )
    return VerificationRecord(peer_id, fingerprint, verified, verified_at)


async def get_verification(
    conn: Connection, user_id: str, peer_id: str
) -> VerificationRecord | None:
    row = await conn.fetchrow(
        "SELECT fingerprint, verified, verified_at FROM verifications"
        " WHERE user_id = $1 AND peer_id = $2",
        user_id,
        peer_id,
    )
    if row is None:
        return None
    return VerificationRecord(peer_id, row[0], bool(row[1]), row[2])


async def presence_info(conn: Connection, user_ids: Sequence[str]) -> dict[str, int | None]:
    rows = await conn.fetch(
        "SELECT id, last_seen FROM users WHERE id = ANY($1::text[])", list(user_ids)
    )
    return {row[0]: row[1] for row in rows}


async def set_last_seen(conn: Connection, user_id: str, when: int) -> None:
    await conn.execute("UPDATE users SET last_seen = $1 WHERE id = $2", when, user_id)
