"""PostgreSQL storage of operator accounts: users, refresh tokens, browser sessions, the
owners of sessions and keys, and sealed gateway secrets (the JWT signing key).

:class:`._pg.PostgresStorage` runs the functions below in its transactions (through
:class:`._sql_facade.SqlFacade`). The "at least one enabled admin" rule locks the admins'
rows first, so two gateway processes cannot each demote one of the last two admins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Optional

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
from whatsapp_client.gateway._pg_events import row_count

if TYPE_CHECKING:
    from asyncpg import Connection

_CONFLICT = "a user with this email already exists"


async def _lock_admins(conn: Connection) -> None:
    await conn.execute("SELECT id FROM users WHERE role = 'admin' AND NOT disabled FOR UPDATE")


async def _enabled_admins(conn: Connection) -> int:
    return int(
        await conn.fetchval("SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled")
    )


async def create_user(conn: Connection, u: UserRecord) -> None:
    inserted = await conn.fetchval(
        f"INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"  # noqa: S608
        " ON CONFLICT DO NOTHING RETURNING id",
        u.id,
        u.email,
        u.role,
        u.password_hash,
        u.must_change_password,
        u.disabled,
        u.created_at,
        u.last_login_at,
        u.password_changed_at,
    )
    if inserted is None:
        raise Conflict(_CONFLICT)


async def get_user(conn: Connection, user_id: str) -> Optional[UserRecord]:
    row = await conn.fetchrow(f"SELECT {USER_COLUMNS} FROM users WHERE id = $1", user_id)  # noqa: S608
    return None if row is None else user_record(row)


async def find_user(conn: Connection, email: str) -> Optional[UserRecord]:
    sql = f"SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower($1)"  # noqa: S608
    row = await conn.fetchrow(sql, email)
    return None if row is None else user_record(row)


async def list_users(conn: Connection) -> list[UserRecord]:
    sql = f"SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id"  # noqa: S608
    return [user_record(r) for r in await conn.fetch(sql)]


async def update_user(conn: Connection, user_id: str, changes: dict[str, Any]) -> UserRecord:
    """Changes the given fields; ``Conflict`` if that would leave no enabled admin."""
    unknown = set(changes) - USER_FIELDS
    if unknown:
        raise ValueError(f"unknown user fields {sorted(unknown)}")
    await _lock_admins(conn)
    if await get_user(conn, user_id) is None:
        raise NotFound(f"no user {user_id!r}")
    if changes:
        email = changes.get("email")
        taken = "SELECT 1 FROM users WHERE lower(email) = lower($1) AND id <> $2"
        if email is not None and await conn.fetchval(taken, email, user_id):
            raise Conflict(_CONFLICT)
        assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, 2))
        await conn.execute(
            f"UPDATE users SET {assignments} WHERE id = $1",  # noqa: S608  (fixed names)
            user_id,
            *changes.values(),
        )
        if await _enabled_admins(conn) == 0:
            raise Conflict("this would leave the gateway without an enabled admin")
    found = await get_user(conn, user_id)
    assert found is not None
    return found


async def delete_user(conn: Connection, user_id: str, heir_id: str) -> bool:
    """Deletes the user, its API keys, refresh tokens and browser sessions; its sessions
    pass to ``heir_id``. ``Conflict`` if it is the last enabled admin."""
    await _lock_admins(conn)
    if await get_user(conn, user_id) is None:
        return False
    await conn.execute("UPDATE sessions SET owner_id = $1 WHERE owner_id = $2", heir_id, user_id)
    await conn.execute("DELETE FROM api_keys WHERE user_id = $1", user_id)
    await conn.execute("DELETE FROM users WHERE id = $1", user_id)
    if await _enabled_admins(conn) == 0:
        raise Conflict("the last enabled admin cannot be deleted")
    return True


async def claim_unowned(conn: Connection, owner_id: str) -> int:
    count = row_count(
        await conn.execute("UPDATE sessions SET owner_id = $1 WHERE owner_id IS NULL", owner_id)
    )
    count += row_count(
        await conn.execute("UPDATE api_keys SET user_id = $1 WHERE user_id IS NULL", owner_id)
    )
    return count


async def set_session_owner(conn: Connection, session_id: str, owner_id: str) -> None:
    changed = await conn.execute(
        "UPDATE sessions SET owner_id = $1 WHERE id = $2", owner_id, session_id
    )
    if not row_count(changed):
        raise NotFound(f"no session {session_id}")


# --- refresh tokens ------------------------------------------------------------------------
async def add_refresh(conn: Connection, t: RefreshToken) -> None:
    # Expired tokens of anyone go at each new login (they open nothing any more).
    await conn.execute("DELETE FROM refresh_tokens WHERE expires_at <= $1", t.created_at)
    await conn.execute(
        f"INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)",  # noqa: S608
        t.token_hash,
        t.family_id,
        t.user_id,
        t.created_at,
        t.expires_at,
        t.used_at,
        t.revoked,
    )


async def rotate_refresh(
    conn: Connection,
    token_hash: str,
    now: int,
    successor: Callable[[RefreshToken], RefreshToken],
) -> tuple[str, Optional[RefreshToken]]:
    """One step of rotation (see ``_sqlite_users.rotate_refresh``); the token's row is
    locked, so a token presented twice at once is used once and then seen as reused."""
    sql = f"SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE"  # noqa: S608
    row = await conn.fetchrow(sql, token_hash)
    if row is None:
        return "invalid", None
    old = refresh_token(row)
    if old.used_at is not None or old.revoked:
        await revoke_family(conn, old.family_id)
        return "reused", None
    if old.expires_at <= now:
        return "invalid", None
    await conn.execute(
        "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2", now, token_hash
    )
    new = successor(old)
    await add_refresh(conn, new)
    return "ok", new


async def revoke_family(conn: Connection, family_id: str) -> None:
    await conn.execute("UPDATE refresh_tokens SET revoked = TRUE WHERE family_id = $1", family_id)


async def revoke_refresh(conn: Connection, token_hash: str) -> None:
    """Revokes the family of the token (logout ends the whole chain)."""
    family = await conn.fetchval(
        "SELECT family_id FROM refresh_tokens WHERE token_hash = $1", token_hash
    )
    if family is not None:
        await revoke_family(conn, family)


async def end_logins(conn: Connection, user_id: str, now: int, keep: Optional[str]) -> None:
    await conn.execute("UPDATE refresh_tokens SET revoked = TRUE WHERE user_id = $1", user_id)
    await conn.execute(
        "DELETE FROM browser_sessions WHERE user_id = $1 AND id_hash <> $2", user_id, keep or ""
    )
    await conn.execute("DELETE FROM refresh_tokens WHERE expires_at <= $1", now)
    await conn.execute("DELETE FROM browser_sessions WHERE expires_at <= $1", now)


# --- browser sessions ----------------------------------------------------------------------
async def add_browser(conn: Connection, b: BrowserSession) -> None:
    await conn.execute("DELETE FROM browser_sessions WHERE expires_at <= $1", b.created_at)
    await conn.execute(
        f"INSERT INTO browser_sessions ({BROWSER_COLUMNS}) VALUES ($1, $2, $3, $4, $5)",  # noqa: S608
        b.id_hash,
        b.user_id,
        b.csrf_hash,
        b.created_at,
        b.expires_at,
    )


async def get_browser(conn: Connection, id_hash: str) -> Optional[BrowserSession]:
    sql = f"SELECT {BROWSER_COLUMNS} FROM browser_sessions WHERE id_hash = $1"  # noqa: S608
    row = await conn.fetchrow(sql, id_hash)
    if row is None:
        return None
    return BrowserSession(
        id_hash=row[0], user_id=row[1], csrf_hash=row[2], created_at=row[3], expires_at=row[4]
    )


async def delete_browser(conn: Connection, id_hash: str) -> None:
    await conn.execute("DELETE FROM browser_sessions WHERE id_hash = $1", id_hash)


# --- sealed secrets ------------------------------------------------------------------------
async def sealed_secret(
    conn: Connection, codec: Codec, name: str, make: Callable[[], bytes]
) -> bytes:
    """The secret ``name`` kept sealed in ``meta``, created with ``make()`` the first time
    (two gateway processes creating it at once both get the first one stored)."""
    key = "secret:" + name
    stored = await conn.fetchval("SELECT value FROM meta WHERE key = $1", key)
    if stored is None:
        sealed = codec.seal(make(), "meta", key).hex()
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING", key, sealed
        )
        stored = await conn.fetchval("SELECT value FROM meta WHERE key = $1", key)
    return codec.open(bytes.fromhex(stored), "meta", key)
