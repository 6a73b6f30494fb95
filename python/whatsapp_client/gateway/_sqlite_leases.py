"""SQLite session leases and webhook endpoint claims (the spec is :mod:`._lease_store`).

The lease is two columns of the session row (``lease_owner``, ``lease_until``), the claim
two of the endpoint row (``claim_owner``, ``claim_until``). Every change runs on the single
writer thread inside one transaction, which is what ``FOR UPDATE SKIP LOCKED`` gives a
backend with concurrent writers. :class:`SqliteLeases` is mixed into
:class:`._sqlite.SqliteStorage`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Optional, TypeVar

from whatsapp_client.gateway._codec import SESSION_COLUMNS, Codec
from whatsapp_client.gateway._models import SessionRecord

T = TypeVar("T")


def _pending(endpoint: str) -> str:
    # ``endpoint`` is one of two fixed column references, never input.
    return (
        "EXISTS (SELECT 1 FROM deliveries d "  # noqa: S608
        f"WHERE d.endpoint_id = {endpoint} AND d.state = 'pending')"
    )


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _sessions(conn: sqlite3.Connection, codec: Codec, ids: Sequence[str]) -> list[SessionRecord]:
    if not ids:
        return []
    sql = (
        f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id IN ({_marks(len(ids))}) "  # noqa: S608
        "ORDER BY created_at, id"
    )
    return [codec.session(row) for row in conn.execute(sql, tuple(ids))]


def claim_sessions(
    conn: sqlite3.Connection,
    codec: Codec,
    owner: str,
    now: int,
    ttl_ms: int,
    only: Optional[Sequence[str]],
    limit: int,
) -> list[SessionRecord]:
    where = "running = 1 AND lease_until <= ? AND (lease_owner IS NULL OR lease_owner != ?)"
    args: list[object] = [now, owner]
    if only is not None:
        if not only:
            return []
        where += f" AND id IN ({_marks(len(only))})"
        args.extend(only)
    ids = [
        row[0]
        for row in conn.execute(
            f"SELECT id FROM sessions WHERE {where} ORDER BY created_at, id LIMIT ?",  # noqa: S608
            (*args, limit),
        )
    ]
    conn.executemany(
        "UPDATE sessions SET lease_owner = ?, lease_until = ? WHERE id = ?",
        [(owner, now + ttl_ms, i) for i in ids],
    )
    return _sessions(conn, codec, ids)


def renew_leases(
    conn: sqlite3.Connection, codec: Codec, owner: str, now: int, ttl_ms: int
) -> list[SessionRecord]:
    conn.execute(
        "UPDATE sessions SET lease_owner = NULL, lease_until = 0 "
        "WHERE lease_owner = ? AND running = 0",
        (owner,),
    )
    conn.execute("UPDATE sessions SET lease_until = ? WHERE lease_owner = ?", (now + ttl_ms, owner))
    ids = [r[0] for r in conn.execute("SELECT id FROM sessions WHERE lease_owner = ?", (owner,))]
    return _sessions(conn, codec, ids)


def release_leases(conn: sqlite3.Connection, owner: str, only: Optional[Sequence[str]]) -> None:
    sql = "UPDATE sessions SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = ?"
    if only is None:
        conn.execute(sql, (owner,))
    else:
        conn.executemany(sql + " AND id = ?", [(owner, i) for i in only])


def revoke_lease(conn: sqlite3.Connection, session_id: str, by: str) -> None:
    # The holder's own revocation frees the lease at once; anyone else's keeps its end,
    # so nobody takes the session before the holder has noticed at its next renewal.
    conn.execute(
        "UPDATE sessions SET lease_until = CASE WHEN lease_owner = ? THEN 0 ELSE lease_until "
        "END, lease_owner = NULL WHERE id = ?",
        (by, session_id),
    )


def lease_holder(conn: sqlite3.Connection, session_id: str, now: int) -> Optional[str]:
    row = conn.execute(
        "SELECT lease_owner FROM sessions WHERE id = ? AND lease_until > ?", (session_id, now)
    ).fetchone()
    return None if row is None else row[0]


def queued_sessions(conn: sqlite3.Connection, owner: str) -> list[str]:
    rows = conn.execute(
        "SELECT id FROM sessions WHERE lease_owner = ? AND queue_depth > 0 ORDER BY id", (owner,)
    )
    return [r[0] for r in rows]


def claim_endpoints(
    conn: sqlite3.Connection, owner: str, now: int, ttl_ms: int, limit: int
) -> list[str]:
    # Claims with nothing left to post (or on a disabled endpoint) go back first.
    conn.execute(
        "UPDATE webhooks SET claim_owner = NULL, claim_until = 0 "  # noqa: S608
        f"WHERE claim_owner = ? AND (enabled = 0 OR NOT {_pending('webhooks.id')})",
        (owner,),
    )
    rows = conn.execute(
        "SELECT w.id, w.claim_owner, w.claim_until FROM webhooks w WHERE w.enabled = 1 "  # noqa: S608
        f"AND (w.claim_owner = ? OR w.claim_until <= ?) AND {_pending('w.id')} "
        "ORDER BY w.claim_owner IS ? DESC, w.id LIMIT ?",
        (owner, now, owner, limit),
    ).fetchall()
    # Scans run at every wake-up: a claim of ours with two thirds of its time left is not
    # rewritten (the contract only needs it to outlive the next scans).
    fresh = now + ttl_ms - ttl_ms // 3
    conn.executemany(
        "UPDATE webhooks SET claim_owner = ?, claim_until = ? WHERE id = ?",
        [(owner, now + ttl_ms, i) for i, holder, until in rows if holder != owner or until < fresh],
    )
    return sorted(row[0] for row in rows)


def release_endpoints(conn: sqlite3.Connection, owner: str, only: Optional[Sequence[str]]) -> None:
    sql = "UPDATE webhooks SET claim_owner = NULL, claim_until = 0 WHERE claim_owner = ?"
    if only is None:
        conn.execute(sql, (owner,))
    else:
        conn.executemany(sql + " AND id = ?", [(owner, i) for i in only])
