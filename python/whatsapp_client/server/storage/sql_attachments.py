"""Attachment metadata (§8): who uploaded which blob, its size and when it expires."""

from __future__ import annotations

import sqlite3

from whatsapp_client.server.storage.records import AttachmentRecord


def used_bytes(conn: sqlite3.Connection, owner_id: str, now: int) -> int:
    """Bytes of the owner's blobs that have not expired."""
    row = conn.execute(
        "SELECT coalesce(sum(size), 0) FROM attachments WHERE owner_id = ? AND expires_at > ?",
        (owner_id, now),
    ).fetchone()
    return int(row[0])


def add_attachment(
    conn: sqlite3.Connection, record: AttachmentRecord, quota: int, now: int
) -> bool:
    """Record a stored blob unless it would take the owner over ``quota`` (checked in the
    same transaction as the insert, so concurrent uploads cannot both slip under it)."""
    if used_bytes(conn, record.owner_id, now) + record.size > quota:
        return False
    conn.execute(
        "INSERT INTO attachments (id, owner_id, size, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (record.id, record.owner_id, record.size, record.created_at, record.expires_at),
    )
    return True


def get_attachment(conn: sqlite3.Connection, attachment_id: str) -> AttachmentRecord | None:
    row = conn.execute(
        "SELECT id, owner_id, size, created_at, expires_at FROM attachments WHERE id = ?",
        (attachment_id,),
    ).fetchone()
    if row is None:
        return None
    return AttachmentRecord(str(row[0]), str(row[1]), int(row[2]), int(row[3]), int(row[4]))


def delete_attachment(
    conn: sqlite3.Connection, attachment_id: str, owner_id: str, now: int
) -> bool:
    """Delete the owner's live blob row (an expired one is left to the sweep: 404)."""
    cursor = conn.execute(
        "DELETE FROM attachments WHERE id = ? AND owner_id = ? AND expires_at > ?",
        (attachment_id, owner_id, now),
    )
    return cursor.rowcount > 0


def take_expired(conn: sqlite3.Connection, now: int, limit: int = 1000) -> list[str]:
    """Delete up to ``limit`` expired rows; their ids (the caller removes the files)."""
    ids = [
        str(row[0])
        for row in conn.execute(
            "SELECT id FROM attachments WHERE expires_at <= ? ORDER BY expires_at LIMIT ?",
            (now, limit),
        )
    ]
    if ids:
        marks = ",".join("?" * len(ids))
        conn.execute(f"DELETE FROM attachments WHERE id IN ({marks})", ids)  # noqa: S608
    return ids


def known_ids(conn: sqlite3.Connection, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found.update(
            str(row[0])
            for row in conn.execute(
                f"SELECT id FROM attachments WHERE id IN ({marks})",  # noqa: S608
                chunk,
            )
        )
    return found
