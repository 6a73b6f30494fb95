from __future__ import annotations

import asyncio
import logging

import pytest

from tests.client.conftest import PASSWORD, ClientFactory, Registered, eventually, unique_name
from whatsapp_client.client import Message, WhatsAppClient
from whatsapp_client.errors import (
    AuthenticationError,
    NotFoundError,
    SessionNotFoundError,
    ValidationError,
)
from whatsapp_client.server.testing import ServerHandle


def inbox(client: WhatsAppClient) -> list[Message]:
    got: list[Message] = []
    client.on_message(got.append)
    return got


async def test_two_clients_exchange_messages_both_ways(registered: Registered) -> None:
    alice = await registered("alice")
    bob = await registered("bob")
    assert alice.user is not None
    assert bob.user is not None
    at_alice, at_bob = inbox(alice), inbox(bob)

    sent = await alice.send_message(bob.user.id, "Hello, World! 👋 héllo ñ 日本語")
    assert sent.status == "sent"
    assert sent.to == bob.user.id
    assert sent.from_user == alice.user.id
    assert sent.timestamp > 0
    assert sent.id
    await eventually(lambda: len(at_bob) == 1, what="bob receives")
    got = at_bob[0]
    assert got.content == "Hello, World! 👋 héllo ñ 日本語"
    assert got.from_user == alice.user.id
    assert got.to == bob.user.id
    assert got.id == sent.id
    assert got.type == "text"
    assert got.timestamp == sent.timestamp

    reply = await bob.send_message(alice.user.id, "Hi there! 🎉")
    await eventually(lambda: len(at_alice) == 1, what="alice receives")
    assert at_alice[0].content == "Hi there! 🎉"
    assert at_alice[0].id == reply.id

    for i in range(5):
        await alice.send_message(bob.user.id, f"m{i}")
        await bob.send_message(alice.user.id, f"r{i}")
    await eventually(lambda: len(at_bob) == 6 and len(at_alice) == 6, what="all delivered")
    assert [m.content for m in at_bob[1:]] == [f"m{i}" for i in range(5)]
    assert [m.content for m in at_alice[1:]] == [f"r{i}" for i in range(5)]

    history = await bob.get_messages(alice.user.id, limit=50)
    assert len(history) == 12
    assert {m.content for m in history} >= {"Hello, World! 👋 héllo ñ 日本語", "Hi there! 🎉"}
    newest_first = [m.timestamp for m in history]
    assert newest_first == sorted(newest_first, reverse=True)
    assert len(await bob.get_messages(alice.user.id, limit=3)) == 3
    older = await bob.get_messages(alice.user.id, before=history[0].timestamp)
    assert all(m.timestamp < history[0].timestamp for m in older)
    mine = [m for m in history if m.direction == "out"]
    assert len(mine) == 6
    assert all(m.from_user == bob.user.id for m in mine)
    one = await bob.get_message(sent.id)
    assert one is not None
    assert one.content == sent.content


async def test_three_clients_in_one_loop(registered: Registered) -> None:
    clients = [await registered(f"c{i}_") for i in range(3)]
    boxes = [inbox(c) for c in clients]
    ids = [c.user_id for c in clients]
    assert all(ids)

    async def talk(i: int) -> None:
        for j in range(3):
            if i != j:
                for k in range(4):
                    await clients[i].send_message(ids[j] or "", f"{i}->{j}#{k}")

    await asyncio.gather(*(talk(i) for i in range(3)))
    await eventually(lambda: all(len(b) == 8 for b in boxes), what="everyone gets 8")
    for j, box in enumerate(boxes):
        for i in range(3):
            if i != j:
                assert [m.content for m in box if m.from_user == ids[i]] == [
                    f"{i}->{j}#{k}" for k in range(4)
                ]


async def test_bad_input_is_refused_before_anything_is_sent(registered: Registered) -> None:
    alice = await registered("alice")
    bob = await registered("bob")
    assert bob.user_id is not None
    with pytest.raises(ValidationError, match="limit is 10000"):
        await alice.send_message(bob.user_id, "x" * 10001)
    with pytest.raises(ValidationError):
        await alice.send_message(bob.user_id, "é" * 5001)  # 10,002 bytes of UTF-8
    with pytest.raises(ValidationError):
        await alice.send_message(bob.user_id, b"bytes")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        await alice.send_message("", "hi")
    with pytest.raises(ValidationError):
        await alice.send_message(bob.user_id, "\ud800")
    with pytest.raises(ValidationError, match="yourself"):
        await alice.send_message(alice.user_id or "", "hi")
    with pytest.raises(ValidationError):
        await alice.get_messages(bob.user_id, limit=0)
    with pytest.raises(ValidationError):
        await alice.get_messages(bob.user_id, before=-1)
    with pytest.raises(ValidationError):
        await alice.mark_as_read(bob.user_id, [])
    with pytest.raises(ValidationError):
        await alice.mark_as_read(bob.user_id, "abc")
    with pytest.raises(ValidationError):
        await alice.mark_as_read(bob.user_id, [1, 2])  # type: ignore[list-item]
    with pytest.raises(NotFoundError):
        await alice.send_message("no-such-user", "hi")
    assert await alice.pending_messages() == 0
    assert await alice.get_messages(bob.user_id) == []
    exact = await alice.send_message(bob.user_id, "é" * 5000)  # exactly 10,000 bytes
    assert exact.status == "sent"


async def test_session_not_found_only_when_peer_has_no_keys(
    registered: Registered, server: object
) -> None:
    import aiohttp

    alice = await registered("alice")
    name = unique_name("nokeys")
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            alice.config.server_url + "/api/auth/register",
            json={"username": name, "password": PASSWORD},
        ) as resp,
    ):
        assert resp.status == 201
        keyless = (await resp.json())["user"]["id"]
    with pytest.raises(SessionNotFoundError, match="has no keys"):
        await alice.send_message(keyless, "hello?")
    assert await alice.pending_messages() == 0


async def test_duplicates_and_out_of_order_delivery(registered: Registered) -> None:
    from whatsapp_client.client.frames import IncomingMessage, OutgoingMessage

    alice = await registered("alice")
    bob = await registered("bob")
    assert alice.user_id
    assert bob.user_id
    at_bob = inbox(bob)
    await alice.send_message(bob.user_id, "first")
    await eventually(lambda: len(at_bob) == 1)

    # Three ciphertexts sent in the order 3, 1, 2: bob decrypts all of them.
    store = alice._store()
    wires = [
        store.encrypt(bob.user_id, f'{{"type":"text","text":"n{i}"}}'.encode()) for i in range(3)
    ]
    for i in (2, 0, 1):
        await alice._conn.send(
            OutgoingMessage(id=f"ooo-{alice.user_id}-{i}", to=bob.user_id, content=wires[i])
        )
    await eventually(lambda: len(at_bob) == 4, what="out-of-order messages")
    assert [m.content for m in at_bob[1:]] == ["n2", "n0", "n1"]

    # The same frame delivered twice reaches the handler once.
    dup = IncomingMessage(
        id=at_bob[0].id, from_=alice.user_id, to=bob.user_id, content="E2EE:{}", timestamp=1
    )
    await bob._on_frame(dup)
    await bob._on_frame(dup)
    await bob.idle()
    assert len(at_bob) == 4


async def test_undecryptable_message_is_reported_and_acknowledged(registered: Registered) -> None:
    from whatsapp_client.client.frames import OutgoingMessage
    from whatsapp_client.errors import DecryptionError

    alice = await registered("alice")
    bob = await registered("bob")
    assert bob.user_id
    errors_seen: list[Exception] = []
    bob.on_error(errors_seen.append)
    at_bob = inbox(bob)
    await alice._conn.send(OutgoingMessage(id="garbage-1", to=bob.user_id, content='E2EE:{"v":9}'))
    await eventually(lambda: len(errors_seen) == 1, what="decryption error event")
    assert isinstance(errors_seen[0], DecryptionError)
    assert "garbage-1" in str(errors_seen[0])
    # The client goes on: a good message still arrives.
    await alice.send_message(bob.user_id, "still fine")
    await eventually(lambda: len(at_bob) == 1)


async def test_a_failing_handler_never_stops_the_client(
    registered: Registered, caplog: pytest.LogCaptureFixture
) -> None:
    alice = await registered("alice")
    bob = await registered("bob")
    assert bob.user_id
    calls: list[str] = []

    @bob.on_message
    async def boom(message: Message) -> None:
        calls.append(message.content)
        raise RuntimeError("handler bug")

    ok = inbox(bob)
    with caplog.at_level(logging.ERROR, logger="whatsapp_client"):
        await alice.send_message(bob.user_id, "one")
        await alice.send_message(bob.user_id, "two")
        await eventually(lambda: len(ok) == 2)
    assert calls == ["one", "two"]
    assert any("handler raised" in r.getMessage() for r in caplog.records)
    assert "one" not in caplog.text
    assert "two" not in caplog.text


async def test_user_lookup(registered: Registered) -> None:
    alice = await registered("alice")
    bob = await registered("bob")
    assert bob.user is not None
    assert await alice.find_user(bob.user.username) == bob.user
    assert await alice.get_user_by_username(bob.user.username) == bob.user
    assert await alice.get_user(bob.user.id) == bob.user
    with pytest.raises(NotFoundError):
        await alice.find_user("nobody_here")
    with pytest.raises(NotFoundError):
        await alice.get_user("nobody-id")
    with pytest.raises(ValidationError):
        await alice.find_user("")


async def test_calls_need_a_login(make_client: ClientFactory) -> None:
    client = make_client()
    with pytest.raises(AuthenticationError, match="not logged in"):
        await client.send_message("x", "hi")
    with pytest.raises(AuthenticationError):
        client.get_fingerprint()
    with pytest.raises(AuthenticationError):
        await client.get_prekey_status()
    with pytest.raises(AuthenticationError):
        await client.connect()
    assert client.user is None
    assert client.user_id is None
    await client.logout()  # nothing to do


async def test_a_send_to_an_unknown_user_fails_cleanly_and_leaves_no_trace(
    registered: Registered,
) -> None:
    """The send raises NotFoundError; nothing waits in the outbox, the id is not watched,
    and later connects raise nothing about it."""
    from whatsapp_client.client.frames import Online
    from whatsapp_client.client.presence import PEERS_KEY
    from whatsapp_client.errors import NotFoundError

    alice = await registered("alice")
    bob = await registered("bob")
    assert bob.user_id
    errors_seen: list[Exception] = []
    alice.on_error(errors_seen.append)
    await alice.send_message(bob.user_id, "hi bob")  # bob is watched: his state comes on connect
    ghost = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(NotFoundError):
        await alice.send_message(ghost, "anyone there?")
    await alice.idle()
    assert await alice.pending_messages() == 0
    stored = alice._store().kv_get(PEERS_KEY) or b""
    assert ghost.encode() not in stored
    assert ghost not in alice._presence.watched()

    # A reconnect renews the presence subscriptions: bob's state arrives, nothing else.
    states: list[Online] = []
    handle = alice._frame_handlers[Online]

    async def spy(frame: Online) -> None:
        states.append(frame)
        await handle(frame)

    alice._frame_handlers[Online] = spy
    await alice.disconnect()
    await alice.connect()
    await eventually(lambda: any(s.user_id == bob.user_id for s in states), what="bob's state")
    await alice.idle()
    assert errors_seen == []


async def test_a_queued_message_to_an_unknown_user_fails_and_the_id_is_forgotten(
    registered: Registered, server: ServerHandle
) -> None:
    """Written while the server is down, the message is queued (the user cannot be
    checked); after the reconnect it fails for good, and the id is no longer watched: the
    next connect reports nothing about it."""
    from whatsapp_client.client.frames import Online

    alice = await registered("alice")
    bob = await registered("bob")
    assert bob.user_id
    await alice.send_message(bob.user_id, "hi bob")  # bob is watched: his state comes on connect
    statuses: list[tuple[str, str]] = []
    alice.on_message_status(lambda mid, status: statuses.append((mid, status)))
    await server.stop()
    await eventually(lambda: not alice.is_connected())
    ghost = "00000000-0000-4000-8000-00000000000f"
    queued = await alice.send_message(ghost, "anyone there?")
    assert queued.status == "pending"
    await server.start()
    await eventually(lambda: (queued.id, "failed") in statuses, 15, "the message failed")
    await alice.idle()
    assert await alice.pending_messages() == 0
    assert ghost not in alice._presence.watched()

    errors_seen: list[Exception] = []
    alice.on_error(errors_seen.append)
    states: list[Online] = []
    handle = alice._frame_handlers[Online]

    async def spy(frame: Online) -> None:
        states.append(frame)
        await handle(frame)

    alice._frame_handlers[Online] = spy
    await alice.disconnect()
    await alice.connect()
    await eventually(lambda: any(s.user_id == bob.user_id for s in states), what="bob's state")
    await alice.idle()
    assert errors_seen == []
