"""Groups as data (PROTOCOL.md §6.6): :class:`Group` and :class:`GroupMember` parsed from
the server's JSON, the typed errors of group requests, and group messages of the history."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from whatsapp_client import errors
from whatsapp_client.client import store as store_mod
from whatsapp_client.client.frames import GroupMessage
from whatsapp_client.client.models import Message
from whatsapp_client.client.sessions import validate_peer_id

__all__ = [
    "ROLES",
    "Group",
    "GroupMember",
    "dumps_group",
    "group_error",
    "retype_error",
    "row_to_message",
    "validate_group_id",
]

ROLES = ("owner", "admin", "member")


@dataclasses.dataclass(frozen=True)
class GroupMember:
    """A member of a group and its role (``owner``, ``admin`` or ``member``)."""

    user_id: str
    username: str
    role: str


@dataclasses.dataclass(frozen=True)
class Group:
    """A group as the server describes it (§6.6)."""

    id: str
    name: str
    description: str
    owner_id: str
    created_at: int
    members: tuple[GroupMember, ...]

    @property
    def member_ids(self) -> list[str]:
        return [m.user_id for m in self.members]

    def role_of(self, user_id: str) -> str | None:
        """The role of ``user_id`` in the group, or ``None`` when it is not a member."""
        for m in self.members:
            if m.user_id == user_id:
                return m.role
        return None

    def is_member(self, user_id: str) -> bool:
        return self.role_of(user_id) is not None

    @classmethod
    def from_json(cls, data: Any) -> Group:
        try:
            members = tuple(
                GroupMember(str(m["user_id"]), str(m.get("username") or ""), str(m["role"]))
                for m in data["members"]
            )
            return cls(
                id=str(data["id"]),
                name=str(data["name"]),
                description=str(data.get("description") or ""),
                owner_id=str(data["owner_id"]),
                created_at=int(data.get("created_at") or 0),
                members=members,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise errors.ServerError("the server's group object is malformed") from exc


_BY_CODE: dict[str, type[errors.WhatsAppError]] = {
    "group_not_found": errors.NotGroupMemberError,
    "forbidden": errors.GroupPermissionError,
    "owner_must_transfer": errors.OwnerMustTransferError,
    "group_full": errors.GroupFullError,
    "member_not_found": errors.NotFoundError,
    "user_not_found": errors.NotFoundError,
}

_HINTS: dict[str, str] = {
    "group_not_found": "no such group, or you are not a member of it",
    "forbidden": "your role in this group does not allow that",
    "owner_must_transfer": (
        "the owner cannot leave while other members remain: make another member owner "
        "first with add_group_member(group_id, user_id, role='owner')"
    ),
    "group_full": "the group has reached the server's maximum size",
    "member_not_found": "that user is not a member of the group",
    "user_not_found": "no such user",
}


def group_error(code: str, detail: str = "") -> errors.WhatsAppError:
    """The typed exception for a group error code."""
    cls = _BY_CODE.get(code)
    hint = _HINTS.get(code, detail or code)
    if cls is None:
        return errors.ServerError(f"group request failed: {code}: {detail}", code=code)
    return cls(hint, code=code)


def retype_error(exc: errors.WhatsAppError) -> errors.WhatsAppError:
    if exc.code in _BY_CODE:
        new = group_error(exc.code, str(exc))
        new.__cause__ = exc
        return new
    return exc


def validate_group_id(group_id: Any) -> str:
    return validate_peer_id(group_id, "group_id")


def row_to_message(row: Any, me: str, names: dict[str, str]) -> Message:
    content = bytes(row.content).decode("utf-8", "replace")
    gid = row.group_id or row.peer_id
    return Message(
        id=str(row.id),
        from_user=str(row.from_user),
        to=str(row.to),
        content=content,
        type=str(row.type or "text"),
        timestamp=int(row.timestamp),
        status=str(row.status),
        direction="out" if row.from_user == me else "in",
        payload={"type": "text", "text": content},
        group_id=str(gid),
        group_name=names.get(str(gid)),
    )


def dumps_group(group: Group) -> str:
    """A group as JSON text (for logs and the demo)."""
    return json.dumps(dataclasses.asdict(group), ensure_ascii=False)


def group_record(message: Message) -> Any:
    """The local store's record of a group message."""
    assert message.group_id is not None
    return store_mod.message_record(
        id=message.id,
        peer_id=message.group_id,
        from_user=message.from_user,
        to=message.group_id,
        direction=message.direction,
        type="text",
        timestamp=message.timestamp,
        status=message.status,
        content=message.content.encode("utf-8"),
        group_id=message.group_id,
    )


def history_frames(data: Any) -> list[GroupMessage]:
    """The messages of a ``GET /api/groups/{id}/messages`` answer as frames, oldest first."""
    frames = [
        GroupMessage(
            id=str(m["id"]),
            group_id=str(m["group_id"]),
            from_=str(m["from"]),
            content=str(m.get("content") or ""),
            timestamp=int(m.get("timestamp") or 0),
            group_name=m.get("group_name"),
        )
        for m in (data or {}).get("messages", [])
        if isinstance(m, dict)
    ]
    frames.sort(key=lambda f: f.timestamp)
    return frames
