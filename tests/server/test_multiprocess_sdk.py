"""Two real server processes on one PostgreSQL and one Redis, with our SDK's clients on
each: messages both ways, receipts, typing, presence and groups cross between them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.server.cluster_support import Factory, inbox, sdk_clients, shared_servers
from tests.support import eventually
from whatsapp_client import GroupPermissionError, WhatsAppClient
from whatsapp_client.client import Message


async def _pair(make: Factory, one: str, two: str) -> tuple[WhatsAppClient, WhatsAppClient]:
    alice: WhatsAppClient = await make(one, "alice")
    bob: WhatsAppClient = await make(two, "bob")
    assert alice.user_id and bob.user_id
    return alice, bob


async def test_messages_receipts_typing_and_presence_cross_processes(
    tmp_path: Path, pg_dsn: str, redis_server: str
) -> None:
    async with (
        shared_servers(tmp_path, pg_dsn, redis_server) as (one, two),
        sdk_clients(tmp_path) as make,
    ):
        alice, bob = await _pair(make, one.url, two.url)
        assert alice.user_id and bob.user_id
        at_alice, at_bob = inbox(alice), inbox(bob)
        statuses: list[tuple[str, str]] = []
        alice.on_message_status(lambda mid, status: statuses.append((mid, status)))

        # Messages both ways.
        sent = await alice.send_message(bob.user_id, "hello from one")
        assert sent.status == "sent"
        await eventually(lambda: [m.content for m in at_bob] == ["hello from one"])
        back = await bob.send_message(alice.user_id, "hello from two")
        assert back.status == "sent"
        await eventually(lambda: [m.content for m in at_alice] == ["hello from two"])

        # Receipts: bob's client acknowledges on receipt (delivered) and marks it read;
        # both statuses reach alice on the other process, in that order.
        await bob.mark_as_read(alice.user_id, [sent.id])
        await eventually(lambda: (sent.id, "read") in statuses, what="read receipt")
        assert statuses.index((sent.id, "delivered")) < statuses.index((sent.id, "read"))
        assert (await alice.get_message(sent.id)).status == "read"  # type: ignore[union-attr]

        # Typing both ways.
        typing_at_bob: list[tuple[str, bool]] = []
        typing_at_alice: list[tuple[str, bool]] = []
        bob.on_typing(lambda user, on: typing_at_bob.append((user, on)))
        alice.on_typing(lambda user, on: typing_at_alice.append((user, on)))
        assert await alice.send_typing(bob.user_id, True)
        await eventually(lambda: typing_at_bob == [(alice.user_id, True)], what="typing")
        assert await alice.send_typing(bob.user_id, False)
        await eventually(lambda: typing_at_bob[-1:] == [(alice.user_id, False)])
        assert await bob.send_typing(alice.user_id, True)
        await eventually(lambda: typing_at_alice == [(bob.user_id, True)], what="typing back")

        # Presence: alice on the first process watches bob on the second go and come back.
        seen: list[tuple[str, bool]] = []
        alice.on_presence(lambda user, online: seen.append((user, online)))
        await alice.subscribe_presence([bob.user_id])
        await eventually(lambda: alice.is_user_online(bob.user_id or ""), what="bob online")
        await bob.disconnect()
        await eventually(lambda: seen[-1:] == [(bob.user_id, False)], what="bob offline")
        last_seen = alice.get_last_seen(bob.user_id)
        assert isinstance(last_seen, int) and last_seen > 0
        await bob.connect()
        await eventually(lambda: seen[-1:] == [(bob.user_id, True)], what="bob back")

        # A message sent while bob was away on his process reaches him through storage.
        await bob.disconnect()
        queued = await alice.send_message(bob.user_id, "while you were away")
        assert queued.status == "sent"
        await bob.connect()
        await eventually(lambda: [m.content for m in at_bob][-1:] == ["while you were away"])
        assert len(at_bob) == 2


async def test_groups_span_processes(tmp_path: Path, pg_dsn: str, redis_server: str) -> None:
    async with (
        shared_servers(tmp_path, pg_dsn, redis_server) as (one, two),
        sdk_clients(tmp_path) as make,
    ):
        alice, bob = await _pair(make, one.url, two.url)
        carol: WhatsAppClient = await make(two.url, "carol")
        assert alice.user_id and bob.user_id and carol.user_id
        at_alice, at_bob, at_carol = _groups(alice), _groups(bob), _groups(carol)

        group = await alice.create_group("Across", "two processes", [bob.user_id])
        assert group.role_of(bob.user_id) == "member"
        # bob, on the other process, sees the group at once (one shared database).
        assert [g.id for g in await bob.get_groups()] == [group.id]

        await alice.send_group_message(group.id, "from one")
        await eventually(lambda: [m.content for m in at_bob] == ["from one"])
        await bob.send_group_message(group.id, "from two")
        await eventually(lambda: [m.content for m in at_alice] == ["from two"])
        assert at_bob[0].group_name == "Across"

        # A role check made on the second process: bob is a plain member.
        with pytest.raises(GroupPermissionError):
            await bob.add_group_member(group.id, carol.user_id)
        assert not (await bob.get_group(group.id)).is_member(carol.user_id)

        # The owner adds carol (connected to the other process): she gets what follows.
        after = await alice.add_group_member(group.id, carol.user_id, role="admin")
        assert after.role_of(carol.user_id) == "admin"
        await alice.send_group_message(group.id, "welcome carol")
        await eventually(lambda: [m.content for m in at_carol] == ["welcome carol"])
        await eventually(lambda: [m.content for m in at_bob] == ["from one", "welcome carol"])
        # carol is an admin now: the same kind of change is allowed for her.
        renamed = await carol.update_group(group.id, name="Across processes")
        assert renamed.name == "Across processes"
        await carol.send_group_message(group.id, "thanks")
        await eventually(lambda: [m.content for m in at_alice] == ["from two", "thanks"])
        await eventually(lambda: [m.content for m in at_bob][-1:] == ["thanks"])


def _groups(client: WhatsAppClient) -> list[Message]:
    got: list[Message] = []
    client.on_group_message(got.append)
    return got
