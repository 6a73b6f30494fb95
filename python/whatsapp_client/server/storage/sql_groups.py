"""Groups, members with roles, and group history.

Role checks run inside the writer's transaction together with the change they guard, so a
demotion racing a change cannot let the change through. Each mutation returns either the
updated group or a protocol error code.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from whatsapp_client.server.storage.base import GroupResult
from whatsapp_client.server.storage.records import (
    GroupMessageRecord,
    GroupRecord,
    GroupStoreOutcome,
    MemberRecord,
)

# Owner first, then admins, then members; stable by join time within a role.
_ROLE_ORDER = "CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END"


def load_group(conn: sqlite3.Connection, group_id: str) -> GroupRecord | None:
    row = conn.execute(
        "SELECT id, name, description, owner_id, created_at FROM groups WHERE id = ?",
        (group_id,),
    ).fetchone()
    if row is None:
        return None
    members = tuple(
        MemberRecord(r[0], r[1], r[2])
        for r in conn.execute(
            "SELECT m.user_id, u.username, m.role FROM group_members m"  # noqa: S608 (constant)
            " JOIN users u ON u.id = m.user_id WHERE m.group_id = ?"
            f" ORDER BY {_ROLE_ORDER}, m.joined_at, m.user_id",
            (group_id,),
        )
    )
    return GroupRecord(row[0], row[1], row[2], row[3], int(row[4]), members)


def groups_of(conn: sqlite3.Connection, user_id: str) -> list[GroupRecord]:
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT g.id FROM groups g JOIN group_members m ON m.group_id = g.id"
            " WHERE m.user_id = ? ORDER BY g.created_at, g.id",
            (user_id,),
        )
    ]
    groups = [load_group(conn, group_id) for group_id in ids]
    return [group for group in groups if group is not None]


def _missing_users(conn: sqlite3.Connection, user_ids: Sequence[str]) -> bool:
    for start in range(0, len(user_ids), 500):
        chunk = list(user_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        row = conn.execute(
            f"SELECT count(*) FROM users WHERE id IN ({marks})",  # noqa: S608 (placeholders)
            chunk,
        ).fetchone()
        if int(row[0]) != len(chunk):
            return True
    return False


def create_group(
    conn: sqlite3.Connection,
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
    if _missing_users(conn, others):
        return "user_not_found"
    conn.execute(
        "INSERT INTO groups (id, name, description, owner_id, created_at) VALUES (?, ?, ?, ?, ?)",
        (group_id, name, description, owner_id, now),
    )
    conn.executemany(
        "INSERT INTO group_members (group_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)",
        [(group_id, owner_id, "owner", now)] + [(group_id, uid, "member", now) for uid in others],
    )
    group = load_group(conn, group_id)
    assert group is not None
    return group


def _actor_role(conn: sqlite3.Connection, group_id: str, actor: str) -> str | None:
    row = conn.execute(
        "SELECT role FROM group_members WHERE group_id = ? AND user_id = ?", (group_id, actor)
    ).fetchone()
    return str(row[0]) if row else None


def update_group(
    conn: sqlite3.Connection,
    group_id: str,
    actor: str,
    name: str | None,
    description: str | None,
) -> GroupResult:
    role = _actor_role(conn, group_id, actor)
    if role is None:
        return "group_not_found"
    if role not in ("owner", "admin"):
        return "forbidden"
    if name is not None:
        conn.execute("UPDATE groups SET name = ? WHERE id = ?", (name, group_id))
    if description is not None:
        conn.execute("UPDATE groups SET description = ? WHERE id = ?", (description, group_id))
    group = load_group(conn, group_id)
    assert group is not None
    return group


def add_member(
    conn: sqlite3.Connection,
    group_id: str,
    actor: str,
    user_id: str,
    role: str,
    max_size: int,
    now: int,
) -> GroupResult:
    """Add a member or change a member's role; ``role="owner"`` hands ownership over."""
    actor_role = _actor_role(conn, group_id, actor)
    if actor_role is None:
        return "group_not_found"
    if actor_role not in ("owner", "admin"):
        return "forbidden"
    if role == "owner" and actor_role != "owner":
        return "forbidden"
    if conn.execute("SELECT 1 FROM users WHERE id = ?", (user_id,)).fetchone() is None:
        return "user_not_found"
    current = _actor_role(conn, group_id, user_id)
    if current == "owner" and user_id != actor and actor_role != "owner":
        return "forbidden"
    if user_id == actor and actor_role == "owner" and role != "owner":
        return "owner_must_transfer"
    if current is None:
        size = conn.execute(
            "SELECT count(*) FROM group_members WHERE group_id = ?", (group_id,)
        ).fetchone()
        if int(size[0]) >= max_size:
            return "group_full"
        conn.execute(
            "INSERT INTO group_members (group_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)",
            (group_id, user_id, role, now),
        )
    else:
        conn.execute(
            "UPDATE group_members SET role = ? WHERE group_id = ? AND user_id = ?",
            (role, group_id, user_id),
        )
    if role == "owner" and user_id != actor:
        conn.execute(
            "UPDATE group_members SET role = 'admin' WHERE group_id = ? AND user_id = ?",
            (group_id, actor),
        )
        conn.execute("UPDATE groups SET owner_id = ? WHERE id = ?", (user_id, group_id))
    group = load_group(conn, group_id)
    assert group is not None
    return group


def remove_member(conn: sqlite3.Connection, group_id: str, actor: str, user_id: str) -> str | None:
    """Remove ``user_id`` (or leave, when it is the actor); an error code or None."""
    actor_role = _actor_role(conn, group_id, actor)
    if actor_role is None:
        return "group_not_found"
    if user_id == actor:
        if actor_role == "owner":
            size = conn.execute(
                "SELECT count(*) FROM group_members WHERE group_id = ?", (group_id,)
            ).fetchone()
            if int(size[0]) > 1:
                return "owner_must_transfer"
            # The last member leaving ends the group.
            conn.execute("DELETE FROM group_members WHERE group_id = ?", (group_id,))
            conn.execute("DELETE FROM group_messages WHERE group_id = ?", (group_id,))
            conn.execute("DELETE FROM groups WHERE id = ?", (group_id,))
            return None
    else:
        if actor_role not in ("owner", "admin"):
            return "forbidden"
        target_role = _actor_role(conn, group_id, user_id)
        if target_role is None:
            return "member_not_found"
        if target_role == "owner" or (target_role == "admin" and actor_role != "owner"):
            return "forbidden"
    conn.execute(
        "DELETE FROM group_members WHERE group_id = ? AND user_id = ?", (group_id, user_id)
    )
    return None


def store_group_message(
    conn: sqlite3.Connection,
    sender: str,
    message_id: str,
    group_id: str,
    content: str,
    now: int,
) -> GroupStoreOutcome:
    """Append to the group's history; the members to fan out to, or an error code."""
    group = load_group(conn, group_id)
    if group is None or group.role_of(sender) is None:
        return GroupStoreOutcome(0, False, "", (), "group_not_found")
    members = tuple(member.user_id for member in group.members)
    row = conn.execute(
        "SELECT timestamp FROM group_messages WHERE sender = ? AND id = ?", (sender, message_id)
    ).fetchone()
    if row is not None:
        return GroupStoreOutcome(int(row[0]), False, group.name, members)
    conn.execute(
        "INSERT INTO group_messages (group_id, sender, id, content, timestamp)"
        " VALUES (?, ?, ?, ?, ?)",
        (group_id, sender, message_id, content, now),
    )
    return GroupStoreOutcome(now, True, group.name, members)


def group_history(
    conn: sqlite3.Connection,
    group_id: str,
    user_id: str,
    limit: int,
    before: int | None,
) -> list[GroupMessageRecord] | None:
    """Newest first; None when ``user_id`` is not a member."""
    group_row = conn.execute("SELECT name FROM groups WHERE id = ?", (group_id,)).fetchone()
    if group_row is None or _actor_role(conn, group_id, user_id) is None:
        return None
    bound = before if before is not None else 2**63 - 1
    rows = conn.execute(
        "SELECT id, sender, content, timestamp FROM group_messages"
        " WHERE group_id = ? AND timestamp < ? ORDER BY timestamp DESC, seq DESC LIMIT ?",
        (group_id, bound, limit),
    ).fetchall()
    name = str(group_row[0])
    return [GroupMessageRecord(row[0], group_id, name, row[1], row[2], int(row[3])) for row in rows]
