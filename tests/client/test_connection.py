from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import pytest

from tests.client.conftest import (
    PASSWORD,
    ClientFactory,
    Registered,
    eventually,
    eventually_async,
    unique_name,
)
from whatsapp_client.client import ConnectionState, Message, WhatsAppClient
from whatsapp_client.client.config import build_config
from whatsapp_client.client.connection import backoff_delay
from whatsapp_client.client.frames import Pong
from whatsapp_client.errors import AuthenticationError, ConnectionError
from whatsapp_client.server.testing import ServerHandle


def test_backoff_schedule_is_jittered_and_capped() -> None:
    cfg = build_config(overrides={"server_url": "http://x"}, environ={})
    random.seed(1)
    for attempt, base in enumerate([3, 6, 12, 24, 60, 60, 60], start=1):
        d = backoff_delay(cfg, attempt)
        assert base * 0.8 <= d <= base * 1.2
    exact = cfg.replace(reconnect_jitter=0.0, reconnect_delays=[1, 2])
    assert [backoff_delay(exact, a) for a in (1, 2, 3)] == [1.0, 2.0, 2.0]


async def test_state_machine_and_events(registered: Registered) -> None:
    alice = await registered("alice")
    changes: list[bool] = []
    alice.on_connection_change(changes.append)
    assert alice.connection_state is ConnectionState.CONNECTED
    await alice.disconnect()
    state: ConnectionState = alice.connection_state
    assert state is ConnectionState.DISCONNECTED
    assert not alice.is_connected()
    await alice.connect()
    await alice.connect()  # already connected: nothing happens
    assert alice.is_connected()
    await eventually(lambda: changes == [False, True], what="connection events")
    assert str(ConnectionState.RECONNECTING) == "reconnecting"


async def test_messages_sent_while_disconnected_go_out_in_order(registered: Registered) -> None:
    alice = await registered("alice")
    bob = await registered("bob")
    assert bob.user_id
    got: list[Message] = []
    bob.on_message(got.append)
    await alice.send_message(bob.user_id, "before")
    await alice.disconnect()
    queued = [await alice.send_message(bob.user_id, f"queued {i}") for i in range(5)]
    assert all(m.status == "pending" for m in queued)
    assert await alice.pending_messages() == 5
    await alice.connect()
    await eventually(lambda: len(got) == 6, what="queued messages")
    assert [m.content for m in got] == ["before"] + [f"queued {i}" for i in range(5)]
    await eventually(lambda: all(m.status in ("sent", "delivered") for m in queued))
    await eventually(lambda: not alice._outbox or not alice._outbox.inflight)
    assert await alice.pending_messages() == 0


async def test_first_message_to_a_new_peer_while_offline(
    make_client: ClientFactory, registered: Registered, server: ServerHandle
) -> None:
    alice = await registered("alice")
    bob = await registered("bob")
    assert bob.user_id
    got: list[Message] = []
    bob.on_message(got.append)
    await server.stop()
    await eventually(lambda: not alice.is_connected())
    m = await alice.send_message(bob.user_id, "written offline, no session yet")
    assert m.status == "pending"
    await server.start()
    await eventually(lambda: len(got) == 1, timeout=15, what="delivery after restart")
    assert got[0].content == "written offline, no session yet"


def _outbox_empty(client: WhatsAppClient) -> Callable[[], Awaitable[bool]]:
    async def empty() -> bool:
        return await client.pending_messages() == 0

    return empty


async def test_send_with_the_server_down_returns_pending_at_once(
    registered: Registered, server: ServerHandle
) -> None:
    """The documented behaviour: with no connection, send_message does not wait
    ``send_timeout`` (an hour here) for a ``sent`` that cannot come; it returns the message
    ``pending`` once it is safely in the outbox, and the same object turns ``sent`` after
    the reconnect."""
    alice = await registered("alice", send_timeout=3600.0)
    bob = await registered("bob")
    assert bob.user_id
    await alice.send_message(bob.user_id, "hello")  # a session exists
    await server.stop()
    await eventually(lambda: not alice.is_connected())
    # The bound only keeps a regression from hanging the suite for an hour.
    m = await asyncio.wait_for(alice.send_message(bob.user_id, "while down"), 60)
    assert m.status == "pending"
    assert await alice.pending_messages() == 1
    await server.start()
    await eventually(lambda: m.status != "pending", timeout=15, what="sent after reconnect")
    await eventually_async(_outbox_empty(alice), what="the outbox emptied")


async def test_server_restart_mid_conversation(
    registered: Registered, server: ServerHandle
) -> None:
    alice = await registered("alice")
    bob = await registered("bob")
    assert alice.user_id
    assert bob.user_id
    at_bob: list[Message] = []
    at_alice: list[Message] = []
    bob.on_message(at_bob.append)
    alice.on_message(at_alice.append)
    states: list[bool] = []
    alice.on_connection_change(states.append)
    n = 30

    async def alice_talks() -> None:
        for i in range(n):
            await alice.send_message(bob.user_id or "", f"a{i}")
            await asyncio.sleep(0.005)

    async def bob_talks() -> None:
        for i in range(n):
            await bob.send_message(alice.user_id or "", f"b{i}")
            await asyncio.sleep(0.005)

    async def restart() -> None:
        await eventually(lambda: len(at_bob) >= 5)
        await server.restart()

    await asyncio.gather(alice_talks(), bob_talks(), restart())
    await eventually(lambda: len(at_bob) >= n and len(at_alice) >= n, timeout=20, what="all")
    await alice.idle()
    await bob.idle()
    assert [m.content for m in at_bob] == [f"a{i}" for i in range(n)]
    assert [m.content for m in at_alice] == [f"b{i}" for i in range(n)]
    assert False in states
    assert states[-1] is True


async def test_no_auto_reconnect(registered: Registered, server: ServerHandle) -> None:
    alice = await registered("alice", auto_reconnect=False)
    await server.restart()
    await eventually(lambda: alice.connection_state is ConnectionState.DISCONNECTED)
    await asyncio.sleep(0.3)
    assert alice.connection_state is ConnectionState.DISCONNECTED
    await alice.connect()
    assert alice.is_connected()


async def test_unreachable_server_gives_a_connection_error(make_client: ClientFactory) -> None:
    client = make_client(server_url="http://127.0.0.1:9", http_retries=1)
    with pytest.raises(ConnectionError) as info:
        await client.login(unique_name("x"), PASSWORD)
    assert isinstance(info.value, OSError)  # also the builtin ConnectionError
    assert "cannot reach the server" in str(info.value)
    assert info.value.__cause__ is not None


async def test_gives_up_after_max_attempts(registered: Registered, server: ServerHandle) -> None:
    alice = await registered("alice", max_reconnect_attempts=2, reconnect_delays=[0.01])
    await server.stop()
    await eventually(lambda: alice.connection_state is ConnectionState.DISCONNECTED, timeout=5)
    assert alice._conn._runner is not None
    await eventually(lambda: alice._conn._runner is not None and alice._conn._runner.done())
    await server.start()
    await alice.connect()
    assert alice.is_connected()


async def test_revoked_token_stops_reconnecting(registered: Registered) -> None:
    alice = await registered("alice")
    errors_seen: list[Exception] = []
    alice.on_error(errors_seen.append)
    await alice._http.request("POST", "/api/auth/logout", idempotent=False)
    await alice._conn.drop()
    await eventually(lambda: any(isinstance(e, AuthenticationError) for e in errors_seen))
    assert alice.connection_state is ConnectionState.DISCONNECTED
    with pytest.raises(AuthenticationError):
        await alice.connect()


async def test_heartbeat_pings(registered: Registered) -> None:
    alice = await registered("alice", heartbeat_interval=0.05)
    pongs: list[Pong] = []

    async def count(frame: Pong) -> None:
        pongs.append(frame)

    alice._frame_handlers[Pong] = count
    await eventually(lambda: len(pongs) >= 2, what="pongs")
    assert alice.is_connected()
