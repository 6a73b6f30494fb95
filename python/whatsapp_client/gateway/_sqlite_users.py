"""SQLite storage of operator accounts: users, refresh tokens, browser sessions, the
owners of sessions and keys, and sealed gateway secrets (the JWT signing key).

:class:`._sqlite.SqliteStorage` runs the functions below on its writer and readers (through
:class:`._sql_facade.SqlFacade`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, Optional

from whatsapp_client.gateway._account_records import BrowserSession, RefreshToken, UserRecord
from whatsapp_client.gateway._account_rows import (
    BROWSER_COLUMNS,
    REFRESH_COLUMNS,
    USER_COLUMNS,
    USER_FIELDS,
    refresh_token,
    user_record,
)
from whatsapp_client.gateway._codec import Codec
from whatsapp_client.gateway._errors import Conflict, NotFound


def _enabled_admins(conn: sqlite3.Connection) -> int:
    (count,) = conn.execute(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0"
    ).fetchone()
    return int(count)


def create_user(conn: sqlite3.Connection, u: UserRecord) -> None:
    try:
        conn.execute(
            f"INSERT INTO users ({USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
                u.id,
                u.email,
                u.role,
                u.password_hash,
                int(u.must_change_password),
                int(u.disabled),
                u.created_at,
                u.last_login_at,
                u.password_changed_at,
            ),
        )
    except sqlite3.IntegrityError as exc:
        raise Conflict("a user with this email already exists") from exc


def get_user(conn: sqlite3.Connection, user_id: str) -> Optional[UserRecord]:
    sql = f"SELECT {USER_COLUMNS} FROM users WHERE id = ?"  # noqa: S608
    row = conn.execute(sql, (user_id,)).fetchone()
    return None if row is None else user_record(row)


def find_user(conn: sqlite3.Connection, email: str) -> Optional[UserRecord]:
    sql = f"SELECT {USER_COLUMNS} FROM users WHERE email = ?"  # noqa: S608  (NOCASE)
    row = conn.execute(sql, (email,)).fetchone()
    return None if row is None else user_record(row)


def list_users(conn: sqlite3.Connection) -> list[UserRecord]:
    sql = f"SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id"  # noqa: S608
    return [user_record(r) for r in conn.execute(sql)]


def update_user(conn: sqlite3.Connection, user_id: str, changes: dict[str, Any]) -> UserRecord:
    """Changes the given fields; ``Conflict`` if that would leave no enabled admin (checked
    in the same transaction as the change, so two admins cannot demote each other)."""
    unknown = set(changes) - USER_FIELDS
    if unknown:
        raise ValueError(f"unknown user fields {sorted(unknown)}")
    if get_user(conn, user_id) is None:
        raise NotFound(f"no user {user_id!r}")
    if changes:
        assignments = ", ".join(f"{name} = ?" for name in changes)
        values = [int(v) if isinstance(v, bool) else v for v in changes.values()]
        try:
            conn.execute(
                f"UPDATE users SET {assignments} WHERE id = ?",  # noqa: S608  (fixed names)
                (*values, user_id),
            )
        except sqlite3.IntegrityError as exc:
            raise Conflict("a user with this email already exists") from exc
        if _enabled_admins(conn) == 0:
            raise Conflict("this would leave the gateway without an enabled admin")
    found = get_user(conn, user_id)
    assert found is not None
    return found


def delete_user(conn: sqlite3.Connection, user_id: str, heir_id: str) -> bool:
    """Deletes the user, its API keys, refresh tokens and browser sessions; its sessions
    pass to ``heir_id``. ``Conflict`` if it is the last enabled admin."""
    if get_user(conn, user_id) is None:
        return False
    conn.execute("UPDATE sessions SET owner_id = ? WHERE owner_id = ?", (heir_id, user_id))
    conn.execute("DELETE FROM api_keys WHERE user_id = ?", (user_id,))
    conn.execute("DELETE FROM users WHERE id = ?", (user_id,))
    if _enabled_admins(conn) == 0:
        raise Conflict("the last enabled admin cannot be deleted")
    return True


def claim_unowned(conn: sqlite3.Connection, owner_id: str) -> int:
    """Sessions and keys without an owner (from before operator accounts) go to
    ``owner_id``; returns how many rows changed."""
    count = conn.execute(
        "UPDATE sessions SET owner_id = ? WHERE owner_id IS NULL", (owner_id,)
    ).rowcount
    count += conn.execute(
        "UPDATE api_keys SET user_id = ? WHERE user_id IS NULL", (owner_id,)
    ).rowcount
    return count


def set_session_owner(conn: sqlite3.Connection, session_id: str, owner_id: str) -> None:
    if not conn.execute(
        "UPDATE sessions SET owner_id = ? WHERE id = ?", (owner_id, session_id)
    ).rowcount:
        raise NotFound(f"no session {session_id}")


# --- refresh tokens ------------------------------------------------------------------------
def add_refresh(conn: sqlite3.Connection, t: RefreshToken) -> None:
    # Expired tokens of anyone go at each new login (they open nothing any more).
    conn.execute("DELETE FROM refresh_tokens WHERE expires_at <= ?", (t.created_at,))
    conn.execute(
        f"INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
        (
            t.token_hash,
            t.family_id,
            t.user_id,
            t.created_at,
            t.expires_at,
            t.used_at,
            int(t.revoked),
        ),
    )


def rotate_refresh(
    conn: sqlite3.Connection,
    token_hash: str,
    now: int,
    successor: Callable[[RefreshToken], RefreshToken],
) -> tuple[str, Optional[RefreshToken]]:
    """One step of rotation, atomically: ``("ok", new)`` after marking the token used and
    storing its successor; ``("reused", None)`` for a token already used or revoked (its
    whole family is revoked); ``("invalid", None)`` for an unknown or expired one."""
    sql = f"SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = ?"  # noqa: S608
    row = conn.execute(sql, (token_hash,)).fetchone()
    if row is None:
        return "invalid", None
    old = refresh_token(row)
    if old.used_at is not None or old.revoked:
        revoke_family(conn, old.family_id)
        return "reused", None
    if old.expires_at <= now:
        return "invalid", None
    conn.execute("UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?", (now, token_hash))
    new = successor(old)
    add_refresh(conn, new)
    return "ok", new


def revoke_family(conn: sqlite3.Connection, family_id: str) -> None:
    conn.execute("UPDATE refresh_tokens SET revoked = 1 WHERE family_id = ?", (family_id,))


def revoke_refresh(conn: sqlite3.Connection, token_hash: str) -> None:
    """Revokes the family of the token (logout ends the whole chain)."""
    row = conn.execute(
        "SELECT family_id FROM refresh_tokens WHERE token_hash = ?", (token_hash,)
    ).fetchone()
    if row is not None:
        revoke_family(conn, row[0])


def end_logins(conn: sqlite3.Connection, user_id: str, now: int, keep: Optional[str]) -> None:
    """Every refresh token and browser session of the user (but the browser session
    ``keep``), and expired ones of anyone."""
    conn.execute("UPDATE refresh_tokens SET revoked = 1 WHERE user_id = ?", (user_id,))
    conn.execute(
        "DELETE FROM browser_sessions WHERE user_id = ? AND id_hash != ?", (user_id, keep or "")
    )
    conn.execute("DELETE FROM refresh_tokens WHERE expires_at <= ?", (now,))
    conn.execute("DELETE FROM browser_sessions WHERE expires_at <= ?", (now,))


# --- browser sessions ----------------------------------------------------------------------
def add_browser(conn: sqlite3.Connection, b: BrowserSession) -> None:
    conn.execute("DELETE FROM browser_sessions WHERE expires_at <= ?", (b.created_at,))
    conn.execute(
        f"INSERT INTO browser_sessions ({BROWSER_COLUMNS}) VALUES (?, ?, ?, ?, ?)",  # noqa: S608
        (b.id_hash, b.user_id, b.csrf_hash, b.created_at, b.expires_at),
    )


def get_browser(conn: sqlite3.Connection, id_hash: str) -> Optional[BrowserSession]:
    sql = f"SELECT {BROWSER_COLUMNS} FROM browser_sessions WHERE id_hash = ?"  # noqa: S608
    row = conn.execute(sql, (id_hash,)).fetchone()
    if row is None:
        return None
    return BrowserSession(
        id_hash=row[0], user_id=row[1], csrf_hash=row[2], created_at=row[3], expires_at=row[4]
    )


def delete_browser(conn: sqlite3.Connection, id_hash: str) -> None:
    conn.execute("DELETE FROM browser_sessions WHERE id_hash = ?", (id_hash,))


# --- sealed secrets ------------------------------------------------------------------------
def sealed_secret(
    conn: sqlite3.Connection, codec: Codec, name: str, make: Callable[[], bytes]
) -> bytes:
    """The secret ``name`` kept sealed in ``meta``, created with ``make()`` the first time."""
    key = "secret:" + name
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    if row is not None:
        return codec.open(bytes.fromhex(row[0]), "meta", key)
    value = make()
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)", (key, codec.seal(value, "meta", key).hex())
    )
    return value
