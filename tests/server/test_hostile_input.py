"""Hostile input and smaller defects (issue 10 item 12)."""

from __future__ import annotations

import asyncio
import base64
import pathlib
import sqlite3

import bcrypt
import pytest

from tests.server.helpers import (
    Keys,
    b64,
    call,
    connect,
    error_code,
    message,
    register,
    serving,
    sqlite_only,
)
from tests.server.rawhttp import exchange, json_error_code
from whatsapp_client.server import credentials

# Every server here runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("serving_backend")


async def test_undecodable_authorization_header_is_401() -> None:
    async with serving() as (server, _):
        request = (
            b"GET /api/users/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\x80abc\r\n"
            b"Connection: close\r\n\r\n"
        )
        status, headers, body = await exchange(server.port, request)
        assert status == 401
        assert json_error_code(headers, body) == "unauthorized"


async def test_deeply_nested_frame_is_an_error_frame_and_the_socket_stays() -> None:
    async with serving() as (server, http):
        alice = await register(http, server.url)
        a = await connect(http, server.ws_url, alice)
        depth = 200_000
        await a.ws.send_str('{"type":"ping","x":' + "[" * depth + "]" * depth + "}")
        err = await a.expect("error")
        assert err["code"] == "invalid_frame"
        await a.roundtrip()
        await a.close()


async def test_deeply_nested_body_is_400() -> None:
    async with serving() as (server, http):
        depth = 200_000
        async with http.post(
            f"{server.url}/api/auth/login",
            data='{"username":"a","password":"b","x":' + "[" * depth + "]" * depth + "}",
        ) as resp:
            assert resp.status == 400
            assert error_code(await resp.json()) == "invalid_request"


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20_000 + b"\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-Many: c\r\n" * 500 + b"\r\n",
        b"NOT HTTP AT ALL\r\n\r\n",
    ],
    ids=["long-request-line", "long-header", "many-headers", "garbage"],
)
async def test_requests_aiohttp_refuses_itself_get_the_json_error_shape(
    request_bytes: bytes,
) -> None:
    async with serving() as (server, _):
        status, headers, body = await exchange(server.port, request_bytes)
        assert 400 <= status < 500
        assert json_error_code(headers, body) in ("invalid_request", "too_large")


async def test_pending_content_per_recipient_has_a_byte_quota() -> None:
    async with serving(max_pending_bytes_per_recipient=1000) as (server, http):
        alice = await register(http, server.url)
        bob = await register(http, server.url)
        a = await connect(http, server.ws_url, alice)
        frames = [message(bob.id, "\u00e9" * 200) for _ in range(3)]  # 400 bytes each
        for frame in frames:
            await a.send(frame)
        await a.expect("sent", id=frames[0]["id"])
        await a.expect("sent", id=frames[1]["id"])
        err = await a.expect("error")
        assert (err["code"], err["id"]) == ("recipient_quota_exceeded", frames[2]["id"])
        status, _ = await call(
            http, "POST", f"{server.url}/api/messages/ack", bob, {"ids": [frames[0]["id"]]}
        )
        assert status == 204
        await a.send(frames[2])
        await a.expect("sent", id=frames[2]["id"])
        await a.close()


async def test_passwords_longer_than_72_bytes_count_in_full() -> None:
    async with serving() as (server, http):
        prefix = "p" * 72
        status, _ = await call(
            http,
            "POST",
            f"{server.url}/api/auth/register",
            body={"username": "longpass", "password": prefix + "right"},
        )
        assert status == 201
        for password, expected in ((prefix + "wrong", 401), (prefix, 401), (prefix + "right", 200)):
            status, _ = await call(
                http,
                "POST",
                f"{server.url}/api/auth/login",
                body={"username": "longpass", "password": password},
            )
            assert status == expected, password


async def test_hashes_from_before_the_prehash_still_verify() -> None:
    legacy = bcrypt.hashpw(b"correct horse", bcrypt.gensalt(rounds=4))
    assert await credentials.check_password("correct horse", legacy)
    assert not await credentials.check_password("wrong horse", legacy)
    fresh = await credentials.hash_password("correct horse", 4)
    assert await credentials.check_password("correct horse", fresh)
    assert not await credentials.check_password("correct horsf", fresh)


@pytest.mark.parametrize("raw", ["+5", "1_0", "%D9%A5", "%205", "5%20", "0x5", "%EF%BC%95"])
async def test_integers_in_queries_are_ascii_digits_only(raw: str) -> None:
    async with serving() as (server, http):
        alice = await register(http, server.url)
        async with http.get(
            f"{server.url}/api/messages/pending?limit={raw}", headers=alice.headers
        ) as resp:
            assert resp.status == 400
            assert error_code(await resp.json()) == "invalid_request"


async def test_integers_in_paths_are_ascii_digits_only() -> None:
    async with serving() as (server, http):
        alice = await register(http, server.url)
        keys = Keys(range(1, 6))
        status, _ = await call(http, "PUT", f"{server.url}/api/keys", alice, keys.upload())
        assert status == 204
        for raw in ("%D9%A5", "+5", "%EF%BC%95", "5%20"):  # Arabic-Indic and full-width 5
            async with http.delete(
                f"{server.url}/api/users/prekeys/{raw}", headers=alice.headers
            ) as resp:
                assert resp.status == 404, raw
        status, body = await call(http, "GET", f"{server.url}/api/keys/status", alice)
        assert body["available"] == 5
        status, _ = await call(http, "DELETE", f"{server.url}/api/users/prekeys/5", alice)
        assert status == 204


_P = 2**255 - 19
_LOW_ORDER = [
    bytes(32),
    (1).to_bytes(32, "little"),
    (_P - 1).to_bytes(32, "little"),
    (325606250916557431795983626356110631294008115727848805560023387167927233504).to_bytes(
        32, "little"
    ),
    _P.to_bytes(32, "little"),  # non-canonical zero
]


@pytest.mark.parametrize("weak", _LOW_ORDER, ids=["zero", "one", "p-1", "order8", "p"])
@pytest.mark.parametrize("where", ["identity_key", "signed_prekey", "one_time_prekey"])
async def test_low_order_public_keys_are_refused(weak: bytes, where: str) -> None:
    async with serving() as (server, http):
        alice = await register(http, server.url)
        keys = Keys(range(1, 3))
        upload = keys.upload()
        if where == "identity_key":
            upload["identity_key"] = b64(weak)
        elif where == "one_time_prekey":
            upload["one_time_prekeys"][1]["public_key"] = b64(weak)
        else:
            signature = keys.signer.sign(b"WAC1/spk" + (7).to_bytes(4, "big") + weak)
            upload["signed_prekey"] = {
                "key_id": 7,
                "public_key": b64(weak),
                "signature": base64.b64encode(signature).decode(),
            }
        status, body = await call(http, "PUT", f"{server.url}/api/keys", alice, upload)
        assert (status, error_code(body)) == (400, "invalid_key")
        status, body = await call(http, "GET", f"{server.url}/api/users/{alice.id}/prekeys", alice)
        assert status == 404  # nothing was stored


@sqlite_only  # reads server.sqlite3 itself
async def test_acknowledged_content_does_not_linger_in_the_database_files() -> None:
    marker = "LINGERING-CIPHERTEXT-" * 50
    async with serving(wal_scrub_interval=0.05) as (server, http):
        alice = await register(http, server.url)
        bob = await register(http, server.url)
        a = await connect(http, server.ws_url, alice)
        frame = message(bob.id, marker)
        await a.send(frame)
        await a.expect("sent", id=frame["id"])
        data = pathlib.Path(server.data_dir)

        def files_hold_marker() -> bool:
            needle = marker[:40].encode()
            return any(needle in p.read_bytes() for p in data.iterdir() if p.is_file())

        assert files_hold_marker()  # the check can see it while it is pending
        status, _ = await call(
            http, "POST", f"{server.url}/api/messages/ack", bob, {"ids": [frame["id"]]}
        )
        assert status == 204
        for _ in range(600):  # polls for up to ~30 s; normally done in a few ticks
            if not files_hold_marker():
                break
            await asyncio.sleep(0.05)
        assert not files_hold_marker()
        await a.close()


async def test_unsupported_methods_get_405_with_allow() -> None:
    async with serving() as (server, _):
        status, headers, body = await exchange(
            server.port, b"TRACE /api/users/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        assert status == 405
        assert json_error_code(headers, body) == "method_not_allowed"
        assert "GET" in headers["allow"]


@sqlite_only  # reads server.sqlite3 itself
async def test_a_legacy_hash_is_upgraded_at_the_next_login() -> None:
    async with serving() as (server, http):
        alice = await register(http, server.url)
        db = pathlib.Path(server.data_dir) / "server.sqlite3"
        legacy = bcrypt.hashpw(b"correct horse", bcrypt.gensalt(rounds=4))
        conn = sqlite3.connect(db, timeout=30)
        with conn:
            conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (legacy, alice.id))
        body = {"username": alice.username, "password": "correct horse"}
        status, _ = await call(http, "POST", f"{server.url}/api/auth/login", body=body)
        assert status == 200
        (stored,) = conn.execute(
            "SELECT password_hash FROM users WHERE id = ?", (alice.id,)
        ).fetchone()
        conn.close()
        assert bytes(stored).startswith(b"$wac1-hmac-sha256$")
        status, _ = await call(http, "POST", f"{server.url}/api/auth/login", body=body)
        assert status == 200
