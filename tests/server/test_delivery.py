"""Delivery (§6.5, §7): offline queue, at-least-once, idempotent resend, order, statuses."""

from __future__ import annotations

import uuid

import aiohttp
import pytest

from tests.server.helpers import Account, call, connect, error_code, message, register
from whatsapp_client.server.testing import ServerHandle, running_server

# The in-process fan-out and the Redis one (a real redis-server): see conftest.py.
FANOUTS = ("local", "redis")
# Every server here runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("serving_backend")


async def test_offline_messages_arrive_in_order_after_auth_ok(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    a = await connect(http, server.ws_url, alice)
    frames = [message(bob.id, f"m{i}") for i in range(30)]
    for frame in frames:
        await a.send(frame)
    for frame in frames:
        await a.expect("sent", id=frame["id"])
    b = await connect(http, server.ws_url, bob, drain_auth=False)
    first = await b._next()
    assert first == {"type": "auth_ok", "user_id": bob.id}
    got = [await b._next() for _ in frames]
    assert [g["content"] for g in got] == [f["content"] for f in frames]
    assert all(g["type"] == "message" and g["from"] == alice.id for g in got)
    await a.close()
    await b.close()


async def test_unacknowledged_messages_are_resent_on_every_connection(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    a = await connect(http, server.ws_url, alice)
    frame = message(bob.id, "again and again")
    await a.send(frame)
    await a.expect("sent", id=frame["id"])
    for _ in range(2):
        b = await connect(http, server.ws_url, bob)
        got = await b.expect("message", id=frame["id"])
        assert got["content"] == "again and again"
        await b.close()
    b = await connect(http, server.ws_url, bob)
    await b.expect("message", id=frame["id"])
    await b.send({"type": "ack", "ids": [frame["id"]]})
    await a.expect("status", status="delivered")
    await b.close()
    b = await connect(http, server.ws_url, bob)
    await b.roundtrip()
    assert b.buffer == []
    await a.close()
    await b.close()


async def test_resend_of_a_known_id_gets_the_same_answer_and_no_duplicate(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    a = await connect(http, server.ws_url, alice)
    b = await connect(http, server.ws_url, bob)
    frame = message(bob.id, "once")
    await a.send(frame)
    first = await a.expect("sent", id=frame["id"])
    await b.expect("message", id=frame["id"])
    await a.send(frame)
    second = await a.expect("sent", id=frame["id"])
    assert first == second
    await b.roundtrip()
    assert [f for f in b.buffer if f["type"] == "message"] == []
    # Still idempotent after the recipient acknowledged, and from another connection.
    await b.send({"type": "ack", "ids": [frame["id"]]})
    await a.expect("status")
    a2 = await connect(http, server.ws_url, alice)
    await a2.send(frame)
    assert await a2.expect("sent", id=frame["id"]) == first
    for sock in (a, a2, b):
        await sock.close()


async def test_order_is_kept_per_pair_with_the_recipient_online(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    a = await connect(http, server.ws_url, alice)
    b = await connect(http, server.ws_url, bob)
    frames = [message(bob.id, str(i)) for i in range(200)]
    for frame in frames:
        await a.send(frame)
    got = await b.expect_n("message", len(frames))
    assert [g["content"] for g in got] == [str(i) for i in range(200)]
    stamps = [g["timestamp"] for g in got]
    assert stamps == sorted(stamps)
    await a.close()
    await b.close()


async def test_order_is_kept_across_a_reconnect_during_sending(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    a = await connect(http, server.ws_url, alice)
    frames = [message(bob.id, str(i)) for i in range(300)]
    for frame in frames[:150]:
        await a.send(frame)
    b = await connect(http, server.ws_url, bob)  # connects while messages are in flight
    for frame in frames[150:]:
        await a.send(frame)
    got = await b.expect_n("message", len(frames))
    assert [g["content"] for g in got] == [str(i) for i in range(300)]
    await a.close()
    await b.close()


async def test_delivered_and_read_statuses_are_queued_for_an_offline_sender(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    a = await connect(http, server.ws_url, alice)
    frames = [message(bob.id, "x") for _ in range(3)]
    for frame in frames:
        await a.send(frame)
    for frame in frames:
        await a.expect("sent", id=frame["id"])
    await a.close()
    b = await connect(http, server.ws_url, bob)
    await b.expect_n("message", 3)
    ids = [f["id"] for f in frames]
    await b.send({"type": "ack", "ids": ids})
    await b.send({"type": "read", "peer_id": alice.id, "message_ids": ids[:2]})
    await b.roundtrip()
    a = await connect(http, server.ws_url, alice)
    delivered = await a.expect("status", status="delivered")
    assert delivered == {"type": "status", "message_ids": ids, "status": "delivered", "by": bob.id}
    read = await a.expect("status", status="read")
    assert read["message_ids"] == ids[:2]
    assert read["by"] == bob.id
    await a.close()
    await b.close()


async def test_read_status_reaches_an_online_sender(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    a = await connect(http, server.ws_url, alice)
    b = await connect(http, server.ws_url, bob)
    frame = message(bob.id)
    await a.send(frame)
    await b.expect("message", id=frame["id"])
    await b.send({"type": "read", "peer_id": alice.id, "message_ids": [frame["id"]]})
    status = await a.expect("status", status="read")
    assert status["message_ids"] == [frame["id"]]
    # Somebody else's message ids cannot be marked read: nothing is sent to alice.
    await a.send({"type": "read", "peer_id": bob.id, "message_ids": [frame["id"]]})
    await a.roundtrip()
    await b.roundtrip()
    assert [f for f in b.buffer if f["type"] == "status"] == []
    await a.close()
    await b.close()


async def test_typing_relay(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    a = await connect(http, server.ws_url, alice)
    b = await connect(http, server.ws_url, bob)
    await a.send({"type": "typing", "to": bob.id, "typing": True})
    assert await b.expect("typing") == {"type": "typing", "from": alice.id, "typing": True}
    await a.send({"type": "typing", "to": bob.id, "typing": False})
    assert (await b.expect("typing"))["typing"] is False
    await a.close()
    await b.close()


async def test_presence_subscription_and_last_seen(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    a = await connect(http, server.ws_url, alice)
    await a.send({"type": "subscribe_presence", "user_ids": [bob.id]})
    first = await a.expect("online", user_id=bob.id)
    assert first == {"type": "online", "user_id": bob.id, "online": False}  # never seen
    b = await connect(http, server.ws_url, bob)
    assert (await a.expect("online", user_id=bob.id))["online"] is True
    b2 = await connect(http, server.ws_url, bob)  # a second device: no new event
    await b2.close()
    await b.close()
    offline = await a.expect("online", user_id=bob.id)
    assert offline["online"] is False
    assert isinstance(offline["last_seen"], int)
    assert [f for f in a.buffer if f["type"] == "online"] == []
    # A later subscriber gets the current state with last_seen at once.
    c = await connect(http, server.ws_url, alice)
    await c.send({"type": "subscribe_presence", "user_ids": [bob.id, "no-such-user"]})
    assert (await c.expect("error"))["code"] == "user_not_found"
    now = await c.expect("online", user_id=bob.id)
    assert now["last_seen"] == offline["last_seen"]
    await a.close()
    await c.close()


async def test_last_seen_survives_a_restart(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    b = await connect(http, server.ws_url, bob)
    await b.close()
    a = await connect(http, server.ws_url, alice)
    await a.send({"type": "subscribe_presence", "user_ids": [bob.id]})
    before = await a.expect("online", user_id=bob.id)
    await a.close()
    await server.restart()
    a = await connect(http, server.ws_url, alice)
    await a.send({"type": "subscribe_presence", "user_ids": [bob.id]})
    after = await a.expect("online", user_id=bob.id)
    assert isinstance(before["last_seen"], int)
    assert after["last_seen"] == before["last_seen"]
    await a.close()


async def test_rest_pending_and_ack(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    a = await connect(http, server.ws_url, alice)
    frames = [message(bob.id, str(i)) for i in range(5)]
    for frame in frames:
        await a.send(frame)
    stamps = [(await a.expect("sent", id=f["id"]))["timestamp"] for f in frames]
    status, body = await call(http, "GET", f"{server.url}/api/messages/pending?limit=3", bob)
    assert status == 200
    assert body["messages"] == [
        {
            "type": "message",
            "id": f["id"],
            "from": alice.id,
            "to": bob.id,
            "content": f["content"],
            "timestamp": t,
        }
        for f, t in zip(frames[:3], stamps[:3])
    ]
    status, _ = await call(
        http, "POST", f"{server.url}/api/messages/ack", bob, {"ids": [frames[0]["id"], "nope"]}
    )
    assert status == 204
    assert (await a.expect("status"))["message_ids"] == [frames[0]["id"]]
    status, body = await call(http, "GET", f"{server.url}/api/messages/pending", bob)
    assert [m["id"] for m in body["messages"]] == [f["id"] for f in frames[1:]]
    for bad in ("0", "501", "x"):
        status, body = await call(
            http, "GET", f"{server.url}/api/messages/pending?limit={bad}", bob
        )
        assert (status, error_code(body)) == (400, "invalid_request")
    await a.close()


async def test_frame_errors_name_the_request(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account
) -> None:
    a = await connect(http, server.ws_url, alice)
    missing = message("no-such-user")
    await a.send(missing)
    err = await a.expect("error")
    assert (err["code"], err["id"]) == ("user_not_found", missing["id"])
    await a.send({"type": "message", "id": "abc", "to": 5, "content": "x"})
    err = await a.expect("error")
    assert (err["code"], err["id"]) == ("invalid_frame", "abc")
    for raw in ("not json", '{"type": "teleport"}', "[]", '{"no": "type"}'):
        await a.ws.send_str(raw)
        assert (await a.expect("error"))["code"] == "invalid_frame"
    await a.send({"type": "auth", "token": alice.token})
    assert (await a.expect("error"))["code"] == "invalid_frame"
    await a.send({"type": "read", "peer_id": "x", "message_ids": ["a"] * 101})
    assert (await a.expect("error"))["code"] == "invalid_frame"
    await a.roundtrip()  # still connected and serving
    await a.close()


async def test_bad_handshakes_close_with_4401(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account
) -> None:
    for first in ({"type": "auth", "token": "nope"}, {"type": "ping"}, message(alice.id)):
        ws = await http.ws_connect(server.ws_url)
        await ws.send_json(first)
        frame = await ws.receive_json()
        assert frame["type"] == "error"
        assert frame["code"] == "unauthorized"
        closing = await ws.receive()
        assert closing.type == aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4401
        await ws.close()


async def test_messages_to_yourself_and_between_devices(
    server: ServerHandle, http: aiohttp.ClientSession
) -> None:
    me = await register(http, server.url)
    d1 = await connect(http, server.ws_url, me)
    d2 = await connect(http, server.ws_url, me)
    frame = message(me.id, "note to self", str(uuid.uuid4()))
    await d1.send(frame)
    await d1.expect("sent", id=frame["id"])
    await d1.expect("message", id=frame["id"])
    await d2.expect("message", id=frame["id"])
    await d1.close()
    await d2.close()


async def test_a_slow_consumer_is_disconnected_and_loses_nothing() -> None:
    async with running_server(outbound_queue_frames=6) as server, aiohttp.ClientSession() as http:
        alice = await register(http, server.url)
        bob = await register(http, server.url)
        # A backlog larger than the outbound queue is paged, not refused.
        a = await connect(http, server.ws_url, alice)
        early = [message(bob.id, str(i)) for i in range(9)]
        for frame in early:
            await a.send(frame)
        for frame in early:
            await a.expect("sent", id=frame["id"])
        b = await connect(http, server.ws_url, bob)
        got = await b.expect_n("message", 9)
        assert [g["id"] for g in got] == [f["id"] for f in early]
        await b.send({"type": "ack", "ids": [f["id"] for f in early]})
        await a.expect("status")
        # Now bob stops reading while alice sends far more than the socket buffers hold.
        big = [message(bob.id, "z" * 1_000_000) for _ in range(40)]
        for frame in big:
            await a.send(frame)
        for frame in big:
            await a.expect("sent", id=frame["id"])
        received = []
        while True:
            msg = await b.ws.receive(timeout=30)
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            received.append(msg.json()["id"])
        assert b.ws.close_code == 1008
        assert len(received) < len(big)
        await b.close()
        # Everything not acknowledged comes back on the next connection, in order.
        b = await connect(http, server.ws_url, bob)
        again = await b.expect_n("message", len(big))
        assert [g["id"] for g in again] == [f["id"] for f in big]
        await a.close()
        await b.close()
