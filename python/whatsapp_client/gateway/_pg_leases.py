"""PostgreSQL session leases and webhook endpoint claims (the spec is :mod:`._lease_store`).

The lease is two columns of the session row (``lease_owner``, ``lease_until``), the claim
two of the endpoint row (``claim_owner``, ``claim_until``), added by migration 2. Rows to
take are selected ``FOR NO KEY UPDATE SKIP LOCKED`` in the transaction that updates them:
two processes claiming at the same moment never take the same row and never wait on each
other. ``NO KEY`` because inserting a message, queue entry or delivery takes ``KEY SHARE``
on the session or endpoint row it references; a plain ``FOR UPDATE`` would make a claimer
skip every row another process is writing history for. Renewals and releases only touch
the caller's own rows: they are plain ``UPDATE``\\s, whose ``WHERE`` PostgreSQL checks again
after a wait, so a row another process took meanwhile is left alone.
:class:`PgLeases` is mixed into :class:`._pg.PostgresStorage`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional, TypeVar

from whatsapp_client.gateway._codec import SESSION_COLUMNS, Codec
from whatsapp_client.gateway._models import SessionRecord

if TYPE_CHECKING:
    from asyncpg import Connection

T = TypeVar("T")

# An endpoint with at least one pending delivery (``w`` is the endpoint row).
_PENDING = "EXISTS (SELECT 1 FROM deliveries d WHERE d.endpoint_id = w.id AND d.state = 'pending')"


async def _sessions(conn: Connection, codec: Codec, ids: Sequence[str]) -> list[SessionRecord]:
    if not ids:
        return []
    rows = await conn.fetch(
        f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ANY($1::text[]) "  # noqa: S608
        "ORDER BY created_at, id",
        list(ids),
    )
    return [codec.session(row) for row in rows]


async def claim_sessions(
    conn: Connection,
    codec: Codec,
    owner: str,
    now: int,
    ttl_ms: int,
    only: Optional[Sequence[str]],
    limit: int,
) -> list[SessionRecord]:
    if only is not None and not only:
        return []
    ids = [
        row[0]
        for row in await conn.fetch(
            "SELECT id FROM sessions WHERE running AND lease_until <= $1"
            " AND lease_owner IS DISTINCT FROM $2"
            " AND ($3::text[] IS NULL OR id = ANY($3::text[]))"
            " ORDER BY created_at, id LIMIT $4 FOR NO KEY UPDATE SKIP LOCKED",
            now,
            owner,
            None if only is None else list(only),
            limit,
        )
    ]
    if ids:
        await conn.execute(
            "UPDATE sessions SET lease_owner = $1, lease_until = $2 WHERE id = ANY($3::text[])",
            owner,
            now + ttl_ms,
            ids,
        )
    return await _sessions(conn, codec, ids)


async def renew_leases(
    conn: Connection, codec: Codec, owner: str, now: int, ttl_ms: int
) -> list[SessionRecord]:
    await conn.execute(
        "UPDATE sessions SET lease_owner = NULL, lease_until = 0"
        " WHERE lease_owner = $1 AND NOT running",
        owner,
    )
    rows = await conn.fetch(
        "UPDATE sessions SET lease_until = $2 WHERE lease_owner = $1 RETURNING id",
        owner,
        now + ttl_ms,
    )
    return await _sessions(conn, codec, [r[0] for r in rows])


async def release_leases(conn: Connection, owner: str, only: Optional[Sequence[str]]) -> None:
    await conn.execute(
        "UPDATE sessions SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = $1"
        " AND ($2::text[] IS NULL OR id = ANY($2::text[]))",
        owner,
        None if only is None else list(only),
    )


async def revoke_lease(conn: Connection, session_id: str, by: str) -> None:
    # The holder's own revocation frees the lease at once; anyone else's keeps its end,
    # so nobody takes the session before the holder has noticed at its next renewal.
    await conn.execute(
        "UPDATE sessions SET lease_until = CASE WHEN lease_owner = $1 THEN 0 ELSE lease_until"
        " END, lease_owner = NULL WHERE id = $2",
        by,
        session_id,
    )


async def lease_holder(conn: Connection, session_id: str, now: int) -> Optional[str]:
    holder: Optional[str] = await conn.fetchval(
        "SELECT lease_owner FROM sessions WHERE id = $1 AND lease_until > $2", session_id, now
    )
    return holder


async def queued_sessions(conn: Connection, owner: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT id FROM sessions WHERE lease_owner = $1 AND queue_depth > 0 ORDER BY id", owner
    )
    return [r[0] for r in rows]


async def claim_endpoints(
    conn: Connection, owner: str, now: int, ttl_ms: int, limit: int
) -> list[str]:
    # Claims with nothing left to post (or on a disabled endpoint) go back first.
    await conn.execute(
        "UPDATE webhooks w SET claim_owner = NULL, claim_until = 0 "  # noqa: S608
        f"WHERE w.claim_owner = $1 AND (NOT w.enabled OR NOT {_PENDING})",
        owner,
    )
    # Our own claims are locked without skipping: a row another process briefly locks
    # (disabling it, say) must not look lost to us. Scans run at every wake-up: a claim
    # with two thirds of its time left is not rewritten.
    own = [
        row[0]
        for row in await conn.fetch(
            "SELECT w.id FROM webhooks w WHERE w.claim_owner = $1 ORDER BY w.id LIMIT $2"
            " FOR NO KEY UPDATE",
            owner,
            limit,
        )
    ]
    fresh = now + ttl_ms - ttl_ms // 3
    await conn.execute(
        "UPDATE webhooks SET claim_until = $2 WHERE id = ANY($1::text[]) AND claim_owner = $3"
        " AND claim_until < $4",
        own,
        now + ttl_ms,
        owner,
        fresh,
    )
    taken: list[str] = []
    if len(own) < limit:
        taken = [
            row[0]
            for row in await conn.fetch(
                "SELECT w.id FROM webhooks w WHERE w.enabled AND w.claim_until <= $1"  # noqa: S608
                f" AND w.claim_owner IS DISTINCT FROM $2 AND {_PENDING}"
                " ORDER BY w.id LIMIT $3 FOR NO KEY UPDATE SKIP LOCKED",
                now,
                owner,
                limit - len(own),
            )
        ]
        if taken:
            await conn.execute(
                "UPDATE webhooks SET claim_owner = $1, claim_until = $2 WHERE id = ANY($3::text[])",
                owner,
                now + ttl_ms,
                taken,
            )
    return sorted(own + taken)


async def release_endpoints(conn: Connection, owner: str, only: Optional[Sequence[str]]) -> None:
    await conn.execute(
        "UPDATE webhooks SET claim_owner = NULL, claim_until = 0 WHERE claim_owner = $1"
        " AND ($2::text[] IS NULL OR id = ANY($2::text[]))",
        owner,
        None if only is None else list(only),
    )
