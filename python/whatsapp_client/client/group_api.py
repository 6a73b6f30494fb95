"""The group methods of :class:`~whatsapp_client.WhatsAppClient` (a mixin): thin calls into
the ``Groups`` manager that ``FeaturesMixin`` creates (see ``groups.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

from whatsapp_client.client.events import Handler
from whatsapp_client.client.group_models import Group
from whatsapp_client.client.models import Message

if TYPE_CHECKING:
    from whatsapp_client.client.events import EventRegistry
    from whatsapp_client.client.groups import Groups

__all__ = ["GroupsMixin"]

H = TypeVar("H", bound=Handler)


class GroupsMixin:
    """Group chats: create, manage, send, read the local history."""

    # What the host class provides, declared for the type checker only.
    if TYPE_CHECKING:
        _groups: Groups
        _events: EventRegistry

    async def create_group(
        self, name: str, description: str = "", member_ids: Iterable[str] = ()
    ) -> Group:
        """Creates a group with you as ``owner`` and ``member_ids`` as members."""
        return await self._groups.create(name, description, member_ids)

    async def get_groups(self) -> list[Group]:
        """The groups you belong to."""
        return await self._groups.list_groups()

    async def get_group(self, group_id: str) -> Group:
        """One group with its members and roles (``NotGroupMemberError`` if you are not
        a member)."""
        return await self._groups.get(group_id)

    async def update_group(
        self, group_id: str, name: str | None = None, description: str | None = None
    ) -> Group:
        """Renames a group or changes its description (owner or admin)."""
        return await self._groups.update(group_id, name, description)

    async def add_group_member(self, group_id: str, user_id: str, role: str = "member") -> Group:
        """Adds a member, or changes a member's role (owner or admin; ``role="owner"`` hands
        ownership over and is for the owner only). ``GroupPermissionError`` otherwise."""
        return await self._groups.add_member(group_id, user_id, role)

    async def remove_group_member(self, group_id: str, user_id: str) -> None:
        """Removes a member (owner or admin; only the owner removes admins)."""
        await self._groups.remove_member(group_id, user_id)

    async def leave_group(self, group_id: str) -> None:
        """Leaves a group (the owner must hand ownership over first while others remain:
        ``OwnerMustTransferError``)."""
        await self._groups.leave(group_id)

    async def send_group_message(self, group_id: str, content: str) -> Message:
        """Sends a text to a group (members only; ``NotGroupMemberError`` otherwise).
        Group messages are not end-to-end encrypted, and need a live connection."""
        return await self._groups.send(group_id, content)

    async def get_group_messages(
        self, group_id: str, limit: int = 50, before: int | None = None
    ) -> list[Message]:
        """The local history of a group, newest first."""
        return await self._groups.history(group_id, limit, before)

    async def sync_groups(self) -> int:
        """Fetches group messages missed while offline (also done after every connect);
        returns how many new ones were handed to the handlers."""
        return await self._groups.catch_up()

    def on_group_message(self, handler: H) -> H:
        """Decorator: ``handler(message)`` for each group message from another member
        (``message.group_id``, ``message.group_name``, ``message.from_user``)."""
        self._events.add("group_message", handler)
        return handler
