"""Presence against the real server: subscriptions, online set, last seen, peers watched
automatically after a message, renewal after a reconnect."""

from __future__ import annotations

import pytest

from whatsapp_client import ValidationError, WhatsAppClient

from .conftest import PASSWORD, Registered, eventually, unique_name


def record(client: WhatsAppClient) -> list[tuple[str, bool]]:
    events: list[tuple[str, bool]] = []

    @client.on_presence
    async def on_presence(user_id: str, online: bool) -> None:
        events.append((user_id, online))

    return events


async def test_subscribe_then_peer_goes_and_comes_back(registered: Registered) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    assert alice.user_id and bob.user_id
    seen = record(bob)
    await bob.subscribe_presence([alice.user_id])
    await eventually(lambda: seen == [(alice.user_id, True)], what="alice online")
    assert bob.is_user_online(alice.user_id)
    assert bob.get_online_users() == {alice.user_id}
    assert bob.get_last_seen(alice.user_id) is None

    await alice.disconnect()
    await eventually(lambda: seen[-1:] == [(alice.user_id, False)], what="alice offline")
    assert not bob.is_user_online(alice.user_id)
    assert bob.get_online_users() == set()
    last_seen = bob.get_last_seen(alice.user_id)
    assert isinstance(last_seen, int) and last_seen > 0

    await alice.connect()
    await eventually(lambda: seen[-1:] == [(alice.user_id, True)], what="alice back")
    assert seen == [(alice.user_id, True), (alice.user_id, False), (alice.user_id, True)]


async def test_peers_of_direct_messages_are_watched(registered: Registered) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    assert alice.user_id and bob.user_id
    assert not alice.is_user_online(bob.user_id)
    received: list[str] = []
    bob.on_message(lambda m: received.append(m.content))
    await alice.send_message(bob.user_id, "hi")
    a_id, b_id = alice.user_id, bob.user_id
    await eventually(lambda: alice.is_user_online(b_id), what="alice watches bob")
    await eventually(lambda: received == ["hi"], what="delivery")
    await eventually(lambda: bob.is_user_online(a_id), what="bob watches alice")


async def test_subscriptions_survive_a_reconnect(registered: Registered) -> None:
    alice, bob, carol = await registered("alice"), await registered("bob"), await registered("c")
    assert alice.user_id and carol.user_id
    seen = record(bob)
    await bob.subscribe_presence(alice.user_id)
    await eventually(lambda: (alice.user_id, True) in seen, what="alice online")
    await bob.disconnect()
    await bob.connect()
    # The server forgot bob's subscription with the old socket; the client renewed it.
    await carol.subscribe_presence([alice.user_id])
    await alice.disconnect()
    await eventually(lambda: seen[-1:] == [(alice.user_id, False)], what="offline after renew")


async def test_bad_input(registered: Registered) -> None:
    alice = await registered("alice")
    with pytest.raises(ValidationError):
        await alice.subscribe_presence([""])
    assert alice.is_user_online("nobody") is False
    assert alice.get_last_seen("nobody") is None


async def test_another_account_on_the_same_client_starts_clean(registered: Registered) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    assert bob.user_id
    await alice.subscribe_presence([bob.user_id])
    b_id = bob.user_id
    await eventually(lambda: alice.is_user_online(b_id), what="bob online")
    await alice.logout()
    await alice.register(unique_name("carol"), PASSWORD)
    assert alice.get_online_users() == set()
    assert not alice.is_user_online(b_id)


async def test_watched_peers_are_kept_in_the_store(registered: Registered) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    assert alice.user and bob.user_id
    b_id = bob.user_id
    await alice.subscribe_presence([b_id])
    await eventually(lambda: alice.is_user_online(b_id), what="bob online")
    name = alice.user.username
    await alice.logout()
    await alice.login(name, PASSWORD)
    # Nothing subscribed explicitly after this login: the list came from the store.
    await eventually(lambda: alice.is_user_online(b_id), what="bob online after login")


async def test_subscribing_after_logging_in_again(registered: Registered) -> None:
    alice, bob, carol = await registered("alice"), await registered("bob"), await registered("c")
    assert alice.user and bob.user_id and carol.user_id
    b_id, c_id = bob.user_id, carol.user_id
    await alice.subscribe_presence([b_id])
    name = alice.user.username
    await alice.logout()
    await alice.login(name, PASSWORD)
    await alice.subscribe_presence([c_id])  # stored in the new login's store
    await eventually(lambda: alice.get_online_users() == {b_id, c_id}, what="both online")
    await alice.logout()
    await alice.login(name, PASSWORD)
    await eventually(lambda: alice.get_online_users() == {b_id, c_id}, what="both, from store")
