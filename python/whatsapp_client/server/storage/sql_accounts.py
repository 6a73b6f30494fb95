"""Accounts, tokens, keys and verification records: functions run by the reader or writer."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

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


def create_user(
    conn: sqlite3.Connection, user_id: str, username: str, password_hash: bytes, now: int
) -> UserRecord | None:
    """Insert the user; None when the username is taken."""
    cursor = conn.execute(
        "INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (username) DO NOTHING",
        (user_id, username, password_hash, now),
    )
    return UserRecord(user_id, username) if cursor.rowcount == 1 else None


def credential(conn: sqlite3.Connection, username: str) -> Credential | None:
    row = conn.execute(
        "SELECT id, username, password_hash FROM users WHERE username = ?", (username,)
    ).fetchone()
    return Credential(UserRecord(row[0], row[1]), bytes(row[2])) if row else None


def user_by_id(conn: sqlite3.Connection, user_id: str) -> UserRecord | None:
    row = conn.execute("SELECT id, username FROM users WHERE id = ?", (user_id,)).fetchone()
    return UserRecord(row[0], row[1]) if row else None


def user_by_name(conn: sqlite3.Connection, username: str) -> UserRecord | None:
    row = conn.execute("SELECT id, username FROM users WHERE username = ?", (username,)).fetchone()
    return UserRecord(row[0], row[1]) if row else None


def add_token(conn: sqlite3.Connection, token_hash: bytes, user_id: str, now: int) -> None:
    conn.execute(
        "INSERT INTO tokens (token_hash, user_id, created_at) VALUES (?, ?, ?)",
        (token_hash, user_id, now),
    )


def user_for_token(conn: sqlite3.Connection, token_hash: bytes) -> str | None:
    row = conn.execute("SELECT user_id FROM tokens WHERE token_hash = ?", (token_hash,)).fetchone()
    return str(row[0]) if row else None


def revoke_token(conn: sqlite3.Connection, token_hash: bytes) -> None:
    conn.execute("DELETE FROM tokens WHERE token_hash = ?", (token_hash,))


def _count_prekeys(conn: sqlite3.Connection, user_id: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM one_time_prekeys WHERE user_id = ?", (user_id,)
    ).fetchone()
    return int(row[0])


def _insert_prekeys(conn: sqlite3.Connection, user_id: str, prekeys: Sequence[PreKey]) -> None:
    conn.executemany(
        "INSERT INTO one_time_prekeys (user_id, key_id, public_key) VALUES (?, ?, ?)",
        [(user_id, key.key_id, key.public_key) for key in prekeys],
    )


def replace_keys(
    conn: sqlite3.Connection,
    user_id: str,
    identity: IdentityKeys,
    prekeys: Sequence[PreKey],
    max_prekeys: int,
    now: int,
) -> str | None:
    """Replace identity, signed prekey and every one-time prekey; an error code or None."""
    if len(prekeys) > max_prekeys:
        return "too_many_prekeys"
    spk = identity.signed_prekey
    conn.execute(
        "INSERT OR REPLACE INTO identities (user_id, identity_key, signing_key, spk_id,"
        " spk_public, spk_signature, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            user_id,
            identity.identity_key,
            identity.signing_key,
            spk.key_id,
            spk.public_key,
            spk.signature,
            now,
        ),
    )
    conn.execute("DELETE FROM one_time_prekeys WHERE user_id = ?", (user_id,))
    _insert_prekeys(conn, user_id, prekeys)
    return None


def add_prekeys(
    conn: sqlite3.Connection, user_id: str, prekeys: Sequence[PreKey], max_prekeys: int
) -> str | None:
    """Add one-time prekeys; ``duplicate_prekey`` / ``too_many_prekeys`` or None."""
    ids = [key.key_id for key in prekeys]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        row = conn.execute(
            f"SELECT 1 FROM one_time_prekeys WHERE user_id = ? AND key_id IN ({marks}) LIMIT 1",  # noqa: S608
            (user_id, *chunk),
        ).fetchone()
        if row:
            return "duplicate_prekey"
    if _count_prekeys(conn, user_id) + len(prekeys) > max_prekeys:
        return "too_many_prekeys"
    _insert_prekeys(conn, user_id, prekeys)
    return None


def signing_key(conn: sqlite3.Connection, user_id: str) -> bytes | None:
    row = conn.execute(
        "SELECT signing_key FROM identities WHERE user_id = ?", (user_id,)
    ).fetchone()
    return bytes(row[0]) if row else None


def replace_signed_prekey(
    conn: sqlite3.Connection,
    user_id: str,
    expected_signing_key: bytes,
    spk: SignedPreKeyRecord,
    now: int,
) -> str | None:
    """Store a signed prekey checked against ``expected_signing_key``.

    ``no_keys`` if there is no identity; ``identity_changed`` if the identity was replaced
    between the signature check and this write (the caller checks again).
    """
    current = signing_key(conn, user_id)
    if current is None:
        return "no_keys"
    if current != expected_signing_key:
        return "identity_changed"
    conn.execute(
        "UPDATE identities SET spk_id = ?, spk_public = ?, spk_signature = ?, updated_at = ?"
        " WHERE user_id = ?",
        (spk.key_id, spk.public_key, spk.signature, now, user_id),
    )
    return None


def key_status(conn: sqlite3.Connection, user_id: str) -> KeyStatusRecord:
    row = conn.execute("SELECT spk_id FROM identities WHERE user_id = ?", (user_id,)).fetchone()
    return KeyStatusRecord(_count_prekeys(conn, user_id), int(row[0]) if row else None)


def delete_prekey(conn: sqlite3.Connection, user_id: str, key_id: int) -> bool:
    cursor = conn.execute(
        "DELETE FROM one_time_prekeys WHERE user_id = ? AND key_id = ?", (user_id, key_id)
    )
    return cursor.rowcount == 1


def take_bundle(
    conn: sqlite3.Connection, user_id: str, with_prekey: bool = True
) -> BundleRecord | None:
    """The user's bundle, consuming one one-time prekey if ``with_prekey`` (run by the
    single writer: atomic)."""
    row = conn.execute(
        "SELECT identity_key, signing_key, spk_id, spk_public, spk_signature"
        " FROM identities WHERE user_id = ?",
        (user_id,),
    ).fetchone()
    if row is None:
        return None
    identity = IdentityKeys(
        bytes(row[0]), bytes(row[1]), SignedPreKeyRecord(int(row[2]), bytes(row[3]), bytes(row[4]))
    )
    if not with_prekey:
        return BundleRecord(identity, None)
    opk_row = conn.execute(
        "SELECT key_id, public_key FROM one_time_prekeys WHERE user_id = ? ORDER BY key_id LIMIT 1",
        (user_id,),
    ).fetchone()
    prekey: PreKey | None = None
    if opk_row is not None:
        prekey = PreKey(int(opk_row[0]), bytes(opk_row[1]))
        conn.execute(
            "DELETE FROM one_time_prekeys WHERE user_id = ? AND key_id = ?",
            (user_id, prekey.key_id),
        )
    return BundleRecord(identity, prekey)


def put_verification(
    conn: sqlite3.Connection,
    user_id: str,
    peer_id: str,
    fingerprint: str,
    verified: bool,
    now: int,
) -> VerificationRecord:
    verified_at = now if verified else None
    conn.execute(
        "INSERT OR REPLACE INTO verifications (user_id, peer_id, fingerprint, verified,"
        " verified_at) VALUES (?, ?, ?, ?, ?)",
        (user_id, peer_id, fingerprint, int(verified), verified_at),
    )
    return VerificationRecord(peer_id, fingerprint, verified, verified_at)


def get_verification(
    conn: sqlite3.Connection, user_id: str, peer_id: str
) -> VerificationRecord | None:
    row = conn.execute(
        "SELECT fingerprint, verified, verified_at FROM verifications"
        " WHERE user_id = ? AND peer_id = ?",
        (user_id, peer_id),
    ).fetchone()
    if row is None:
        return None
    return VerificationRecord(peer_id, row[0], bool(row[1]), row[2])


def presence_info(conn: sqlite3.Connection, user_ids: Sequence[str]) -> dict[str, int | None]:
    """``last_seen`` of each existing user among ``user_ids`` (unknown ids are absent)."""
    found: dict[str, int | None] = {}
    for start in range(0, len(user_ids), 500):
        chunk = list(user_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(
            f"SELECT id, last_seen FROM users WHERE id IN ({marks})",  # noqa: S608
            chunk,
        ):
            found[row[0]] = row[1]
    return found


def set_last_seen(conn: sqlite3.Connection, user_id: str, when: int) -> None:
    conn.execute("UPDATE users SET last_seen = ? WHERE id = ?", (when, user_id))
