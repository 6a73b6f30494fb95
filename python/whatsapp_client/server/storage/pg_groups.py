"""Groups, members with roles, and group history on PostgreSQL.

Every mutation first locks the group's row (``FOR UPDATE``), then checks the actor's role
and makes the change in the same transaction: a demotion racing a change, in this process
or another, cannot let the change through. A group message takes a ``FOR SHARE`` lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from whatsapp_client.server.storage.base import GroupResult
from whatsapp_client.server.storage.records import (
    GroupMessageRecord,
    GroupRecord,
    GroupStoreOutcome,
    MemberRecord,
)

if TYPE_CHECKING:
    from asyncpg import Connection

_ROLE_ORDER = "CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END"


_GROUP = "SELECT id, name, description, owner_id, created_at FROM groups WHERE id = $1"


async def load_group(conn: Connection, group_id: str) -> GroupRecord | None:
    """The group and its members."""
    return await _load_group(conn, group_id, share=False)


async def _load_group(conn: Connection, group_id: str, *, share: bool) -> GroupRecord | None:
    """The group and its members; ``share`` keeps its row from changing until commit."""
    row = await conn.fetchrow(_GROUP + " FOR SHARE" if share else _GROUP, group_id)
    if row is None:
        return None
    members = tuple(
        MemberRecord(r[0], r[1], r[2])
        for r in await conn.fetch(
            "SELECT m.user_id, u.username, m.role FROM group_members m"  # noqa: S608 (constant)
            " JOIN users u ON u.id = m.user_id WHERE m.group_id = $1"
            f" ORDER BY {_ROLE_ORDER}, m.joined_at, m.user_id",
            group_id,
        )
    )
    return GroupRecord(row[0], row[1], row[2], row[3], int(row[4]), members)


async def groups_of(conn: Connection, user_id: str) -> list[GroupRecord]:
    ids = [
        r[0]
        for r in await conn.fetch(
            "SELECT g.id FROM groups g JOIN group_members m ON m.group_id = g.id"
            " WHERE m.user_id = $1 ORDER BY g.created_at, g.id",
            user_id,
        )
    ]
    groups = [await load_group(conn, group_id) for group_id in ids]
    return [group for group in groups if group is not None]


async def _loaded(conn: Connection, group_id: str) -> GroupRecord:
    group = await load_group(conn, group_id)
    assert group is not None
    return group


async def create_group(
    conn: Connection,
    group_id: str,
    name: str,
    description: str,
    owner_id: str,
    member_ids: Sequence[str],
    max_size: int,
    now: int,
) -> GroupResult:
    others = [uid for uid in dict.fromkeys(member_ids) if uid != owner_id]
    if 1 + len(others) > max_size:
        return "group_full"
    found = await conn.fetchval("SELECT count(*) FROM users WHERE id = ANY($1::text[])", others)
    if int(found) != len(others):
        return "user_not_found"
    await conn.execute(
        "INSERT INTO groups (id, name, description, owner_id, created_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        group_id,
        name,
        description,
        owner_id,
        now,
    )
    await conn.executemany(
        "INSERT INTO group_members (group_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)",
        [(group_id, owner_id, "owner", now)] + [(group_id, uid, "member", now) for uid in others],
    )
    return await _loaded(conn, group_id)


async def _role(conn: Connection, group_id: str, user_id: str) -> str | None:
    value = await conn.fetchval(
        "SELECT role FROM group_members WHERE group_id = $1 AND user_id = $2", group_id, user_id
    )
    return str(value) if value is not None else None


async def _lock_group(conn: Connection, group_id: str) -> bool:
    return (
        await conn.fetchval("SELECT 1 FROM groups WHERE id = $1 FOR UPDATE", group_id) is not None
    )


async def _size(conn: Connection, group_id: str) -> int:
    return int(
        await conn.fetchval("SELECT count(*) FROM group_members WHERE group_id = $1", group_id)
    )


async def update_group(
    conn: Connection, group_id: str, actor: str, name: str | None, description: str | None
) -> GroupResult:
    if not await _lock_group(conn, group_id):
        return "group_not_found"
    role = await _role(conn, group_id, actor)
    if role is None:
        return "group_not_found"
    if role not in ("owner", "admin"):
        return "forbidden"
    await conn.execute(
        "UPDATE groups SET name = coalesce($1, name), description = coalesce($2, description)"
        " WHERE id = $3",
        name,
        description,
        group_id,
    )
    return await _loaded(conn, group_id)


async def add_member(
    conn: Connection, group_id: str, actor: str, user_id: str, role: str, max_size: int, now: int
) -> GroupResult:
    """Add a member or change a member's role; ``role="owner"`` hands ownership over."""
    if not await _lock_group(conn, group_id):
        return "group_not_found"
    actor_role = await _role(conn, group_id, actor)
    if actor_role is None:
        return "group_not_found"
    if actor_role not in ("owner", "admin"):
        return "forbidden"
    if role == "owner" and actor_role != "owner":
        return "forbidden"
    if await conn.fetchval("SELECT 1 FROM users WHERE id = $1", user_id) is None:
        return "user_not_found"
    current = await _role(conn, group_id, user_id)
    if current == "owner" and user_id != actor and actor_role != "owner":
        return "forbidden"
    if user_id == actor and actor_role == "owner" and role != "owner":
        return "owner_must_transfer"
    if current is None:
        if await _size(conn, group_id) >= max_size:
            return "group_full"
        await conn.execute(
            "INSERT INTO group_members (group_id, user_id, role, joined_at)"
            " VALUES ($1, $2, $3, $4)",
            group_id,
            user_id,
            role,
            now,
        )
    else:
        await conn.execute(
            "UPDATE group_members SET role = $1 WHERE group_id = $2 AND user_id = $3",
            role,
            group_id,
            user_id,
        )
    if role == "owner" and user_id != actor:
        await conn.execute(
            "UPDATE group_members SET role = 'admin' WHERE group_id = $1 AND user_id = $2",
            group_id,
            actor,
        )
        await conn.execute("UPDATE groups SET owner_id = $1 WHERE id = $2", user_id, group_id)
    return await _loaded(conn, group_id)


async def remove_member(conn: Connection, group_id: str, actor: str, user_id: str) -> str | None:
    if not await _lock_group(conn, group_id):
        return "group_not_found"
    actor_role = await _role(conn, group_id, actor)
    if actor_role is None:
        return "group_not_found"
    if user_id == actor:
        if actor_role == "owner":
            if await _size(conn, group_id) > 1:
                return "owner_must_transfer"
            # The last member leaving ends the group.
            await conn.execute("DELETE FROM group_members WHERE group_id = $1", group_id)
            await conn.execute("DELETE FROM group_messages WHERE group_id = $1", group_id)
            await conn.execute("DELETE FROM groups WHERE id = $1", group_id)
            return None
    else:
        if actor_role not in ("owner", "admin"):
            return "forbidden"
        target_role = await _role(conn, group_id, user_id)
        if target_role is None:
            return "member_not_found"
        if target_role == "owner" or (target_role == "admin" and actor_role != "owner"):
            return "forbidden"
    await conn.execute(
        "DELETE FROM group_members WHERE group_id = $1 AND user_id = $2", group_id, user_id
    )
    return None


async def store_group_message(
    conn: Connection, sender: str, message_id: str, group_id: str, content: str, now: int
) -> GroupStoreOutcome:
    group = await _load_group(conn, group_id, share=True)
    if group is None or group.role_of(sender) is None:
        return GroupStoreOutcome(0, False, "", (), "group_not_found")
    members = tuple(member.user_id for member in group.members)
    stamp = await conn.fetchval(
        "INSERT INTO group_messages (group_id, sender, id, content, timestamp)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sender, id) DO NOTHING RETURNING timestamp",
        group_id,
        sender,
        message_id,
        content,
        now,
    )
    if stamp is not None:
        return GroupStoreOutcome(now, True, group.name, members)
    old = await conn.fetchval(
        "SELECT timestamp FROM group_messages WHERE sender = $1 AND id = $2", sender, message_id
    )
    return GroupStoreOutcome(int(old), False, group.name, members)


async def group_history(
    conn: Connection, group_id: str, user_id: str, limit: int, before: int | None
) -> list[GroupMessageRecord] | None:
    name = await conn.fetchval("SELECT name FROM groups WHERE id = $1", group_id)
    if name is None or await _role(conn, group_id, user_id) is None:
        return None
    bound = before if before is not None else 2**63 - 1
    rows = await conn.fetch(
        "SELECT id, sender, content, timestamp FROM group_messages"
        " WHERE group_id = $1 AND timestamp < $2 ORDER BY timestamp DESC, seq DESC LIMIT $3",
        group_id,
        bound,
        limit,
    )
    return [
        GroupMessageRecord(row[0], group_id, str(name), row[1], row[2], int(row[3])) for row in rows
    ]
