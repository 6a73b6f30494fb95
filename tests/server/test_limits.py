"""Abuse limits (issue item 5): each configurable, each answered clearly."""

from __future__ import annotations

import json

import aiohttp
import pytest

from tests.server.helpers import Keys, call, connect, error_code, message, register, serving
from whatsapp_client.server.settings import Settings
from whatsapp_client.server.testing import running_server

# Every server here runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("serving_backend")


def _retry_after(headers: dict[str, str]) -> int:
    value = int(headers["Retry-After"])
    assert value >= 1
    return value


async def _login(
    http: aiohttp.ClientSession, url: str, username: str, password: str
) -> aiohttp.ClientResponse:
    async with http.post(
        f"{url}/api/auth/login", json={"username": username, "password": password}
    ) as resp:
        await resp.read()
        return resp


async def test_login_attempts_per_username() -> None:
    async with serving(login_attempts_per_username=3) as (server, http):
        victim = await register(http, server.url)
        for _ in range(3):
            resp = await _login(http, server.url, victim.username, "wrong password")
            assert resp.status == 401
        resp = await _login(http, server.url, victim.username, "correct horse")
        assert resp.status == 429
        _retry_after(dict(resp.headers))
        # Other accounts from the same address are unaffected by this username's budget.
        other = await register(http, server.url)
        resp = await _login(http, server.url, other.username, "correct horse")
        assert resp.status == 200


async def test_login_attempts_per_address() -> None:
    async with serving(login_attempts_per_address=4) as (server, http):
        for i in range(4):
            resp = await _login(http, server.url, f"nobody{i}", "wrong password")
            assert resp.status == 401
        resp = await _login(http, server.url, "nobody9", "wrong password")
        assert resp.status == 429
        async with http.post(
            f"{server.url}/api/auth/login", json={"username": "nobody9", "password": "x" * 8}
        ) as r:
            body = await r.json()
        assert error_code(body) == "rate_limited"


async def test_registrations_per_address() -> None:
    async with serving(registrations_per_address=2) as (server, http):
        await register(http, server.url)
        await register(http, server.url)
        async with http.post(
            f"{server.url}/api/auth/register", json={"username": "third_one", "password": "x" * 8}
        ) as resp:
            assert resp.status == 429
            _retry_after(dict(resp.headers))


async def test_messages_per_connection_per_second() -> None:
    # A refill rate this low makes the outcome independent of how fast the machine is.
    async with serving(messages_per_second=0.001, message_burst=3) as (server, http):
        alice = await register(http, server.url)
        bob = await register(http, server.url)
        a = await connect(http, server.ws_url, alice)
        frames = [message(bob.id, str(i)) for i in range(4)]
        for frame in frames:
            await a.send(frame)
        for frame in frames[:3]:
            await a.expect("sent", id=frame["id"])
        err = await a.expect("error")
        assert (err["code"], err["id"]) == ("rate_limited", frames[3]["id"])
        assert err["retry_after"] > 0
        # The limit is per connection: a fresh one may send.
        a2 = await connect(http, server.ws_url, alice)
        await a2.send(frames[3])
        await a2.expect("sent", id=frames[3]["id"])
        await a.close()
        await a2.close()


async def test_default_frame_limit_is_8_mib() -> None:
    assert Settings().max_frame_bytes == 8 * 1024 * 1024
    async with running_server() as server, aiohttp.ClientSession() as http:
        alice = await register(http, server.url)
        a = await connect(http, server.ws_url, alice)
        big = message(alice.id, "x" * (8 * 1024 * 1024 + 1))
        await a.send(big)
        err = await a.expect("error")
        assert (err["code"], err["id"]) == ("too_large", big["id"])
        await a.roundtrip()  # refused, not disconnected
        await a.close()


async def test_grossly_oversized_frames_close_the_socket() -> None:
    async with running_server(max_frame_bytes=1024) as server, aiohttp.ClientSession() as http:
        alice = await register(http, server.url)
        a = await connect(http, server.ws_url, alice)
        await a.send(message(alice.id, "x" * 5000))
        closing = await a.ws.receive(timeout=30)
        assert closing.type == aiohttp.WSMsgType.CLOSE
        assert a.ws.close_code == 1009
        await a.close()


async def test_frame_just_under_the_limit_is_accepted() -> None:
    async with running_server(max_frame_bytes=4096) as server, aiohttp.ClientSession() as http:
        alice = await register(http, server.url)
        a = await connect(http, server.ws_url, alice)
        frame = message(alice.id, "")
        frame["content"] = "y" * (4096 - len(str(frame).encode()) - 10)
        await a.send(frame)
        await a.expect("sent", id=frame["id"])
        await a.close()


async def test_pending_messages_per_recipient() -> None:
    async with serving(max_pending_per_recipient=2) as (server, http):
        alice = await register(http, server.url)
        bob = await register(http, server.url)
        a = await connect(http, server.ws_url, alice)
        frames = [message(bob.id, str(i)) for i in range(3)]
        for frame in frames:
            await a.send(frame)
        first = await a.expect("sent", id=frames[0]["id"])
        await a.expect("sent", id=frames[1]["id"])
        err = await a.expect("error")
        assert (err["code"], err["id"]) == ("queue_full", frames[2]["id"])
        # A resend of an accepted message still gets its answer while the queue is full.
        await a.send(frames[0])
        assert await a.expect("sent", id=frames[0]["id"]) == first
        status, _ = await call(
            http, "POST", f"{server.url}/api/messages/ack", bob, {"ids": [frames[0]["id"]]}
        )
        assert status == 204
        await a.send(frames[2])
        await a.expect("sent", id=frames[2]["id"])
        await a.close()


async def test_one_time_prekeys_per_account() -> None:
    async with running_server(max_one_time_prekeys=5) as server, aiohttp.ClientSession() as http:
        alice = await register(http, server.url)
        status, body = await call(
            http, "PUT", f"{server.url}/api/keys", alice, Keys(range(1, 7)).upload()
        )
        assert (status, error_code(body)) == (409, "too_many_prekeys")
        status, _ = await call(
            http, "PUT", f"{server.url}/api/keys", alice, Keys(range(1, 5)).upload()
        )
        assert status == 204
        more = {"one_time_prekeys": Keys(range(10, 12)).opks}
        status, body = await call(
            http, "POST", f"{server.url}/api/keys/one-time-prekeys", alice, more
        )
        assert (status, error_code(body)) == (409, "too_many_prekeys")
        more = {"one_time_prekeys": Keys(range(10, 11)).opks}
        status, _ = await call(http, "POST", f"{server.url}/api/keys/one-time-prekeys", alice, more)
        assert status == 204


async def test_group_size() -> None:
    async with running_server(max_group_size=2) as server, aiohttp.ClientSession() as http:
        owner, m1, m2 = [await register(http, server.url) for _ in range(3)]
        status, body = await call(
            http,
            "POST",
            f"{server.url}/api/groups",
            owner,
            {"name": "g", "member_ids": [m1.id, m2.id]},
        )
        assert (status, error_code(body)) == (409, "group_full")
        status, group = await call(
            http, "POST", f"{server.url}/api/groups", owner, {"name": "g", "member_ids": [m1.id]}
        )
        assert status == 201
        status, body = await call(
            http,
            "POST",
            f"{server.url}/api/groups/{group['id']}/members",
            owner,
            {"user_id": m2.id},
        )
        assert (status, error_code(body)) == (409, "group_full")


async def test_unauthenticated_socket_is_closed_after_the_timeout() -> None:
    async with running_server(auth_timeout=0.2) as server, aiohttp.ClientSession() as http:
        ws = await http.ws_connect(server.ws_url)
        frame = await ws.receive_json(timeout=30)
        assert frame["type"] == "error"
        assert frame["code"] == "auth_timeout"
        closing = await ws.receive(timeout=30)
        assert closing.type == aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4401
        await ws.close()


async def test_unauthenticated_socket_cap() -> None:
    async with running_server(max_unauthenticated=1) as server, aiohttp.ClientSession() as http:
        first = await http.ws_connect(server.ws_url)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(server.ws_url)
        assert refused.value.status == 429
        assert refused.value.headers is not None
        _retry_after(dict(refused.value.headers))
        await first.close()


async def test_frame_limit_counts_utf8_bytes_not_characters() -> None:
    async with running_server(max_frame_bytes=4096) as server, aiohttp.ClientSession() as http:
        alice = await register(http, server.url)
        a = await connect(http, server.ws_url, alice)
        fits = message(alice.id, "\u00e9" * 1500)  # 3,000 bytes of content
        await a.ws.send_str(json.dumps(fits, ensure_ascii=False))
        await a.expect("sent", id=fits["id"])
        over = message(alice.id, "\u00e9" * 2100)  # 2,100 characters but 4,200 bytes
        await a.ws.send_str(json.dumps(over, ensure_ascii=False))
        err = await a.expect("error")
        assert (err["code"], err["id"]) == ("too_large", over["id"])
        await a.close()


async def test_forwarded_addresses_have_their_own_login_budget() -> None:
    async with serving(trust_forwarded_for=True, login_attempts_per_address=2) as (server, http):
        url = f"{server.url}/api/auth/login"
        body = {"username": "nobody_at_all", "password": "wrong password"}
        statuses = []
        for address in ("10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.2"):
            async with http.post(url, json=body, headers={"X-Forwarded-For": address}) as resp:
                statuses.append(resp.status)
        assert statuses == [401, 401, 429, 401]


async def test_oversized_rest_body_is_413_in_the_error_shape() -> None:
    async with serving(max_body_bytes=1024) as (server, http):
        status, body = await call(
            http,
            "POST",
            f"{server.url}/api/auth/register",
            body={"username": "abcdef", "password": "x" * 4096},
        )
        assert (status, error_code(body)) == (413, "too_large")


async def test_inflight_window_pauses_reading_without_losing_order() -> None:
    async with serving(max_inflight_per_connection=1) as (server, http):
        alice = await register(http, server.url)
        bob = await register(http, server.url)
        a = await connect(http, server.ws_url, alice)
        b = await connect(http, server.ws_url, bob)
        frames = [message(bob.id, str(i)) for i in range(50)]
        for frame in frames:
            await a.send(frame)
        answers = await a.expect_n("sent", 50)
        assert [s["id"] for s in answers] == [f["id"] for f in frames]
        got = await b.expect_n("message", 50)
        assert [g["content"] for g in got] == [str(i) for i in range(50)]
        await a.close()
        await b.close()
