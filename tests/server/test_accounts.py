"""Accounts (§6.1): registration rules, login, logout revocation, user lookup."""

from __future__ import annotations

import aiohttp
import pytest

from tests.server.helpers import Account, call, connect, error_code, new_username, register
from whatsapp_client.server.testing import ServerHandle


async def test_register_answers_user_and_token(
    server: ServerHandle, http: aiohttp.ClientSession
) -> None:
    name = new_username()
    status, body = await call(
        http,
        "POST",
        f"{server.url}/api/auth/register",
        body={"username": name, "password": "p" * 8},
    )
    assert status == 201
    assert body["user"]["username"] == name
    assert isinstance(body["user"]["id"], str)
    assert body["user"]["id"]
    assert len(body["token"]) >= 22  # ≥ 128 bits of base64url


@pytest.mark.parametrize(
    "username", ["ab", "x" * 33, "Upper", "has space", "emoji\u2603", "semi;colon", ""]
)
async def test_invalid_usernames_are_refused(
    server: ServerHandle, http: aiohttp.ClientSession, username: str
) -> None:
    status, body = await call(
        http,
        "POST",
        f"{server.url}/api/auth/register",
        body={"username": username, "password": "long enough"},
    )
    assert status == 400
    assert error_code(body) == "invalid_username"


async def test_username_edge_cases_are_accepted(
    server: ServerHandle, http: aiohttp.ClientSession
) -> None:
    for name in ("abc", "a" * 32, "a.b-c_9"):
        await register(http, server.url, name)


async def test_weak_password_and_taken_username(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account
) -> None:
    status, body = await call(
        http,
        "POST",
        f"{server.url}/api/auth/register",
        body={"username": new_username(), "password": "1234567"},
    )
    assert (status, error_code(body)) == (400, "weak_password")
    status, body = await call(
        http,
        "POST",
        f"{server.url}/api/auth/register",
        body={"username": alice.username, "password": "whatever123"},
    )
    assert (status, error_code(body)) == (409, "username_taken")


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"username": "abcdef"}',
        b'{"username": 5, "password": "abcdefgh"}',
        b'{"username": "abcdef", "password": "abcdefgh", "extra": 1}',
    ],
)
async def test_malformed_bodies_get_400_in_the_error_shape(
    server: ServerHandle, http: aiohttp.ClientSession, raw: bytes
) -> None:
    async with http.post(
        f"{server.url}/api/auth/register",
        data=raw,
        headers={"Content-Type": "application/json"},
    ) as resp:
        assert resp.status == 400
        assert error_code(await resp.json()) == "invalid_request"


async def test_login_and_wrong_password(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account
) -> None:
    url = f"{server.url}/api/auth/login"
    status, body = await call(
        http, "POST", url, body={"username": alice.username, "password": "correct horse"}
    )
    assert status == 200
    assert body["user"] == {"id": alice.id, "username": alice.username}
    assert body["token"] != alice.token
    status, body = await call(
        http, "POST", url, body={"username": alice.username, "password": "wrong horse"}
    )
    assert (status, error_code(body)) == (401, "invalid_credentials")
    status, body = await call(
        http, "POST", url, body={"username": "nobody_here", "password": "wrong horse"}
    )
    assert (status, error_code(body)) == (401, "invalid_credentials")


async def test_logout_revokes_only_that_token(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account
) -> None:
    status, body = await call(
        http,
        "POST",
        f"{server.url}/api/auth/login",
        body={"username": alice.username, "password": "correct horse"},
    )
    second = Account(alice.id, alice.username, body["token"])
    status, _ = await call(http, "POST", f"{server.url}/api/auth/logout", alice)
    assert status == 204
    status, body = await call(http, "GET", f"{server.url}/api/users/me", alice)
    assert (status, error_code(body)) == (401, "unauthorized")
    status, body = await call(http, "GET", f"{server.url}/api/users/me", second)
    assert status == 200
    # The revoked token no longer opens a WebSocket either.
    sock = await connect(http, server.ws_url, alice, drain_auth=False)
    err = await sock.expect("error")
    assert err["code"] == "unauthorized"
    await sock.ws.receive()
    assert sock.ws.close_code == 4401
    await sock.close()


async def test_user_lookup(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    status, body = await call(http, "GET", f"{server.url}/api/users/me", alice)
    assert (status, body) == (200, {"id": alice.id, "username": alice.username})
    status, body = await call(http, "GET", f"{server.url}/api/users/{bob.id}", alice)
    assert (status, body) == (200, {"id": bob.id, "username": bob.username})
    status, body = await call(http, "GET", f"{server.url}/api/users?username={bob.username}", alice)
    assert (status, body) == (200, {"id": bob.id, "username": bob.username})
    status, body = await call(http, "GET", f"{server.url}/api/users/no-such-id", alice)
    assert (status, error_code(body)) == (404, "user_not_found")
    status, body = await call(http, "GET", f"{server.url}/api/users?username=nobody_x", alice)
    assert (status, error_code(body)) == (404, "user_not_found")
    status, body = await call(http, "GET", f"{server.url}/api/users", alice)
    assert (status, error_code(body)) == (400, "invalid_request")


async def test_unknown_route_and_method_use_the_error_shape(
    server: ServerHandle, http: aiohttp.ClientSession
) -> None:
    status, body = await call(http, "GET", f"{server.url}/api/nothing-here")
    assert (status, error_code(body)) == (404, "not_found")
    status, body = await call(http, "DELETE", f"{server.url}/api/auth/login")
    assert (status, error_code(body)) == (405, "method_not_allowed")
    status, body = await call(http, "GET", f"{server.url}/ws")  # no upgrade headers
    assert (status, error_code(body)) == (400, "invalid_request")
