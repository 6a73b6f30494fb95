"""Attachment metadata (§8) on PostgreSQL; the blobs themselves stay in a directory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from whatsapp_client.server.storage.records import AttachmentRecord

if TYPE_CHECKING:
    from asyncpg import Connection


async def used_bytes(conn: Connection, owner_id: str, now: int) -> int:
    return int(
        await conn.fetchval(
            "SELECT coalesce(sum(size), 0) FROM attachments WHERE owner_id = $1"
            " AND expires_at > $2",
            owner_id,
            now,
        )
    )


async def add_attachment(conn: Connection, record: AttachmentRecord, quota: int, now: int) -> bool:
    """Record a blob unless it takes the owner over ``quota``; the owner's row is locked so
    concurrent uploads (in any process) cannot both slip under it."""
    await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", record.owner_id)
    if await used_bytes(conn, record.owner_id, now) + record.size > quota:
        return False
    await conn.execute(
        "INSERT INTO attachments (id, owner_id, size, created_at, expires_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        *record,
    )
    return True


async def get_attachment(conn: Connection, attachment_id: str) -> AttachmentRecord | None:
    row = await conn.fetchrow(
        "SELECT id, owner_id, size, created_at, expires_at FROM attachments WHERE id = $1",
        attachment_id,
    )
    if row is None:
        return None
    return AttachmentRecord(str(row[0]), str(row[1]), int(row[2]), int(row[3]), int(row[4]))


async def delete_attachment(conn: Connection, attachment_id: str, owner_id: str, now: int) -> bool:
    status = await conn.execute(
        "DELETE FROM attachments WHERE id = $1 AND owner_id = $2 AND expires_at > $3",
        attachment_id,
        owner_id,
        now,
    )
    return bool(status != "DELETE 0")


async def take_expired(conn: Connection, now: int, limit: int = 1000) -> list[str]:
    rows = await conn.fetch(
        "DELETE FROM attachments WHERE id IN (SELECT id FROM attachments WHERE expires_at <= $1"
        " ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING id",
        now,
        limit,
    )
    return [str(row[0]) for row in rows]


async def known_ids(conn: Connection, ids: list[str]) -> set[str]:
    rows = await conn.fetch("SELECT id FROM attachments WHERE id = ANY($1::text[])", ids)
    return {str(row[0]) for row in rows}
