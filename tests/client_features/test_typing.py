"""Typing indicators against the real server: both directions, auto-stop, expiry."""

from __future__ import annotations

import pytest

from whatsapp_client import ValidationError, WhatsAppClient
from whatsapp_client.client.typing_indicators import TYPING_TIMEOUT

from .conftest import Registered, eventually


def record(client: WhatsAppClient) -> list[tuple[str, bool]]:
    events: list[tuple[str, bool]] = []

    @client.on_typing
    async def on_typing(user_id: str, is_typing: bool) -> None:
        events.append((user_id, is_typing))

    return events


async def test_typing_reaches_the_peer_both_ways(registered: Registered) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    assert alice.user_id and bob.user_id
    at_bob, at_alice = record(bob), record(alice)

    assert await alice.send_typing(bob.user_id, True)
    await eventually(lambda: at_bob == [(alice.user_id, True)], what="typing at bob")
    assert bob.get_typing_users() == {alice.user_id}
    assert await alice.send_typing(bob.user_id, False)
    await eventually(lambda: at_bob[-1:] == [(alice.user_id, False)], what="stop at bob")
    assert bob.get_typing_users() == set()

    assert await bob.send_typing(alice.user_id)
    await eventually(lambda: at_alice == [(bob.user_id, True)], what="typing at alice")


async def test_typing_stops_by_itself(registered: Registered) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    assert alice.user_id and bob.user_id
    at_bob = record(bob)
    assert TYPING_TIMEOUT == 5.0
    # Only the sender's timer stops it here: the receiver's own expiry is set far away.
    bob._typing.receive_timeout = 60.0
    assert await alice.send_typing(bob.user_id, True, auto_stop=0.2)
    await eventually(
        lambda: at_bob == [(alice.user_id, True), (alice.user_id, False)],
        what="the automatic stop",
    )


async def test_repeated_typing_restarts_the_timer_and_is_reported_once(
    registered: Registered,
) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    assert alice.user_id and bob.user_id
    at_bob = record(bob)
    bob._typing.receive_timeout = 60.0
    for _ in range(3):
        assert await alice.send_typing(bob.user_id, True, auto_stop=30.0)
    await eventually(lambda: len(alice._typing._stop_timers) == 1, what="one timer")
    await alice.send_typing(bob.user_id, False)
    await eventually(lambda: at_bob[-1:] == [(alice.user_id, False)], what="stop")
    assert at_bob == [(alice.user_id, True), (alice.user_id, False)]
    assert alice._typing._stop_timers == {}


async def test_a_silent_peer_is_reported_as_stopped(registered: Registered) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    assert alice.user_id and bob.user_id
    at_bob = record(bob)
    bob._typing.receive_timeout = 0.2
    assert await alice.send_typing(bob.user_id, True, auto_stop=None)
    await eventually(
        lambda: at_bob == [(alice.user_id, True), (alice.user_id, False)],
        what="expiry at the receiver",
    )


async def test_typing_when_offline_or_invalid(registered: Registered) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    assert bob.user_id
    with pytest.raises(ValidationError):
        await alice.send_typing("", True)
    with pytest.raises(ValidationError):
        await alice.send_typing(bob.user_id, True, auto_stop=-1)
    await alice.disconnect()
    assert await alice.send_typing(bob.user_id, True) is False
