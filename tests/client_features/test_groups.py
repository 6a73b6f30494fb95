"""Groups against the real server: creation, roles, messages, local history, catch-up after
a reconnect, and the typed errors of non-members and wrong roles."""

from __future__ import annotations

import pytest

from whatsapp_client import (
    ConnectionError,
    ForbiddenError,
    GroupPermissionError,
    NotFoundError,
    NotGroupMemberError,
    OwnerMustTransferError,
    ValidationError,
    WhatsAppClient,
)
from whatsapp_client.client import Message
from whatsapp_client.client.frames import GroupMessage

from .conftest import Registered, eventually


def group_inbox(client: WhatsAppClient) -> list[Message]:
    got: list[Message] = []
    client.on_group_message(got.append)
    return got


async def trio(registered: Registered) -> tuple[WhatsAppClient, WhatsAppClient, WhatsAppClient]:
    alice, bob, carol = await registered("alice"), await registered("bob"), await registered("c")
    assert alice.user_id and bob.user_id and carol.user_id
    return alice, bob, carol


async def test_create_and_read_groups(registered: Registered) -> None:
    alice, bob, carol = await trio(registered)
    assert alice.user_id and bob.user_id and carol.user_id
    group = await alice.create_group("Dev Team", "Developers only", [bob.user_id])
    assert group.name == "Dev Team" and group.description == "Developers only"
    assert group.owner_id == alice.user_id
    assert group.role_of(alice.user_id) == "owner"
    assert group.role_of(bob.user_id) == "member"
    assert not group.is_member(carol.user_id)
    assert {m.username for m in group.members} == {alice.user.username, bob.user.username}  # type: ignore[union-attr]

    assert [g.id for g in await bob.get_groups()] == [group.id]
    assert await carol.get_groups() == []
    fetched = await bob.get_group(group.id)
    assert fetched == group

    renamed = await alice.update_group(group.id, name="Core Team")
    assert renamed.name == "Core Team"

    after = await alice.add_group_member(group.id, carol.user_id, role="admin")
    assert after.role_of(carol.user_id) == "admin"
    await alice.remove_group_member(group.id, carol.user_id)
    assert not (await alice.get_group(group.id)).is_member(carol.user_id)


async def test_messages_and_local_history(registered: Registered) -> None:
    alice, bob, carol = await trio(registered)
    assert alice.user_id and bob.user_id and carol.user_id
    at_alice, at_bob, at_carol = group_inbox(alice), group_inbox(bob), group_inbox(carol)
    group = await alice.create_group("Team", member_ids=[bob.user_id])

    sent = await alice.send_group_message(group.id, "Hello everyone! 👋")
    assert sent.status == "sent" and sent.timestamp > 0 and sent.group_id == group.id
    await eventually(lambda: len(at_bob) == 1, what="bob gets the group message")
    msg = at_bob[0]
    assert msg.content == "Hello everyone! 👋"
    assert msg.from_user == alice.user_id and msg.group_id == group.id
    assert msg.group_name == "Team" and msg.direction == "in"

    await bob.send_group_message(group.id, "hi alice")
    await eventually(lambda: len(at_alice) == 1, what="alice gets bob's reply")
    await alice.idle()
    await bob.idle()
    # Your own messages come back from the server but are not handed to your handlers.
    assert [m.content for m in at_alice] == ["hi alice"]
    assert [m.content for m in at_bob] == ["Hello everyone! 👋"]
    assert at_carol == []

    for client in (alice, bob):
        history = await client.get_group_messages(group.id)
        assert [m.content for m in history] == ["hi alice", "Hello everyone! 👋"]
    mine = (await alice.get_group_messages(group.id))[1]
    assert mine.direction == "out" and mine.from_user == alice.user_id
    assert await alice.get_messages(bob.user_id) == []  # group history stays separate


async def test_missed_messages_arrive_after_a_reconnect(registered: Registered) -> None:
    alice, bob, _ = await trio(registered)
    assert bob.user_id
    at_bob = group_inbox(bob)
    group = await alice.create_group("Team", member_ids=[bob.user_id])
    await alice.send_group_message(group.id, "one")
    await eventually(lambda: len(at_bob) == 1, what="live message")
    await bob.disconnect()
    await alice.send_group_message(group.id, "two")
    await alice.send_group_message(group.id, "three")
    await bob.connect()
    await eventually(lambda: len(at_bob) == 3, what="catch-up")
    assert [m.content for m in at_bob] == ["one", "two", "three"]
    assert [m.content for m in await bob.get_group_messages(group.id)] == ["three", "two", "one"]


async def test_non_members_get_typed_errors(registered: Registered) -> None:
    alice, bob, carol = await trio(registered)
    assert bob.user_id and carol.user_id
    group = await alice.create_group("Private", member_ids=[bob.user_id])
    with pytest.raises(NotGroupMemberError):
        await carol.get_group(group.id)
    with pytest.raises(NotGroupMemberError):
        await carol.send_group_message(group.id, "let me in")
    with pytest.raises(NotGroupMemberError):
        await carol.add_group_member(group.id, carol.user_id)
    with pytest.raises(NotGroupMemberError):
        await carol.leave_group(group.id)
    with pytest.raises(NotGroupMemberError):
        await carol.get_group("no-such-group")
    # A typed error is still the general one.
    with pytest.raises(NotFoundError):
        await carol.get_group(group.id)


async def test_role_errors(registered: Registered) -> None:
    alice, bob, carol = await trio(registered)
    assert alice.user_id and bob.user_id and carol.user_id
    group = await alice.create_group("Roles", member_ids=[bob.user_id])
    with pytest.raises(GroupPermissionError):
        await bob.add_group_member(group.id, carol.user_id)
    with pytest.raises(ForbiddenError):
        await bob.remove_group_member(group.id, alice.user_id)
    with pytest.raises(GroupPermissionError):
        await bob.update_group(group.id, name="Mine now")
    with pytest.raises(OwnerMustTransferError):
        await alice.leave_group(group.id)

    # The owner hands ownership to bob, then may leave.
    after = await alice.add_group_member(group.id, bob.user_id, role="owner")
    assert after.owner_id == bob.user_id and after.role_of(alice.user_id) == "admin"
    await alice.leave_group(group.id)
    assert await alice.get_groups() == []
    with pytest.raises(NotGroupMemberError):
        await alice.send_group_message(group.id, "still here?")


async def test_removed_member_cannot_post(registered: Registered) -> None:
    alice, bob, _ = await trio(registered)
    assert bob.user_id
    group = await alice.create_group("Team", member_ids=[bob.user_id])
    await alice.remove_group_member(group.id, bob.user_id)
    assert await bob.get_groups() == []
    with pytest.raises(NotGroupMemberError):
        await bob.send_group_message(group.id, "hello?")


async def test_bad_input(registered: Registered) -> None:
    alice, bob, _ = await trio(registered)
    assert bob.user_id
    with pytest.raises(ValidationError):
        await alice.create_group("   ")
    with pytest.raises(ValidationError):
        await alice.create_group("x", member_ids=bob.user_id)
    group = await alice.create_group("Team", member_ids=[bob.user_id])
    with pytest.raises(ValidationError):
        await alice.add_group_member(group.id, bob.user_id, role="king")
    with pytest.raises(ValidationError):
        await alice.send_group_message(group.id, "")
    with pytest.raises(ValidationError):
        await alice.send_group_message(group.id, "x" * 10001)
    await alice.disconnect()
    with pytest.raises(ConnectionError):
        await alice.send_group_message(group.id, "offline")


async def test_the_creator_gets_what_was_posted_while_it_was_offline(
    registered: Registered,
) -> None:
    alice, bob, _ = await trio(registered)
    assert bob.user_id
    at_alice = group_inbox(alice)
    group = await alice.create_group("Team", member_ids=[bob.user_id])
    await alice.disconnect()
    await bob.send_group_message(group.id, "posted while alice was away")
    await alice.connect()
    await eventually(lambda: len(at_alice) == 1, what="catch-up of the creator")
    assert at_alice[0].content == "posted while alice was away"
    assert await alice.sync_groups() == 0  # nothing new the second time


async def test_a_live_message_stored_by_a_first_catch_up_is_still_announced(
    registered: Registered,
) -> None:
    alice, bob, _ = await trio(registered)
    assert bob.user_id
    at_bob = group_inbox(bob)
    group = await alice.create_group("Team", member_ids=[bob.user_id])
    await bob.disconnect()
    await alice.send_group_message(group.id, "old news")
    # Bob's first look at the group stores its history without announcing it...
    assert await bob.sync_groups() == 0
    assert [m.content for m in await bob.get_group_messages(group.id)] == ["old news"]
    await bob.idle()
    assert at_bob == []
    # ...and a later catch-up does not announce it either.
    assert await bob.sync_groups() == 0
    # Had that message been in flight, its live frame arriving after the silent first
    # sight is announced, once.
    old = (await bob.get_group_messages(group.id))[0]
    live = GroupMessage(
        id=old.id,
        group_id=group.id,
        from_=old.from_user,
        content=old.content,
        timestamp=old.timestamp,
        group_name="Team",
    )
    await bob._groups.on_frame(live)
    await bob._groups.on_frame(live)
    await bob.idle()
    assert [m.content for m in at_bob] == ["old news"]
    await bob.connect()
    await alice.send_group_message(group.id, "fresh")
    await eventually(lambda: len(at_bob) == 2, what="the live message")
    assert [m.content for m in at_bob] == ["old news", "fresh"]
