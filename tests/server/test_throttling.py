"""Login lock-out and prekey draining (issue 10 item 11)."""

from __future__ import annotations

import aiohttp
import pytest

from tests.server.helpers import Account, Keys, call, error_code, register, serving
from tests.server.test_keys import _upload
from whatsapp_client.server.testing import ServerHandle

# Every server here runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("serving_backend")


async def _login(source: str, url: str, username: str, password: str) -> int:
    """A login from ``source`` (any 127.0.0.0/8 address is loopback)."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    body = {"username": username, "password": password}
    async with aiohttp.ClientSession(connector=connector) as http:
        status, _ = await call(http, "POST", f"{url}/api/auth/login", body=body)
        return status


async def test_failed_logins_elsewhere_do_not_lock_the_owner_out() -> None:
    async with serving(login_attempts_per_username=3) as (server, http):
        owner = await register(http, server.url)
        for _ in range(3):
            assert await _login("127.0.0.2", server.url, owner.username, "wrong guess") == 401
        # The attacker's address is throttled, even with the right password...
        assert await _login("127.0.0.2", server.url, owner.username, "correct horse") == 429
        # ...but the owner, from its own address, still gets in.
        assert await _login("127.0.0.1", server.url, owner.username, "correct horse") == 200


async def test_one_address_guessing_many_usernames_is_throttled() -> None:
    async with serving(login_attempts_per_address=4) as (server, http):
        owner = await register(http, server.url)
        for i in range(4):
            assert await _login("127.0.0.3", server.url, f"nobody{i}", "wrong guess") == 401
        assert await _login("127.0.0.3", server.url, "nobody9", "wrong guess") == 429
        assert await _login("127.0.0.1", server.url, owner.username, "correct horse") == 200


async def _fetch(
    http: aiohttp.ClientSession, server: ServerHandle, who: Account, target: Account
) -> tuple[int, object]:
    return await call(http, "GET", f"{server.url}/api/users/{target.id}/prekeys", who)


async def test_bundle_fetches_per_requester_are_limited() -> None:
    async with serving(bundle_fetches_per_requester=3) as (server, http):
        target, greedy, other = [await register(http, server.url) for _ in range(3)]
        assert await _upload(http, server, target, Keys(range(1, 50))) == 204
        for _ in range(3):
            status, _ = await _fetch(http, server, greedy, target)
            assert status == 200
        async with http.get(
            f"{server.url}/api/users/{target.id}/prekeys", headers=greedy.headers
        ) as resp:
            assert resp.status == 429
            assert int(resp.headers["Retry-After"]) >= 1
            assert error_code(await resp.json()) == "rate_limited"
        status, _ = await _fetch(http, server, other, target)
        assert status == 200


async def test_one_requester_gets_few_prekeys_of_one_target() -> None:
    async with serving(prekeys_per_requester_and_target=2) as (server, http):
        target, requester = [await register(http, server.url) for _ in range(2)]
        assert await _upload(http, server, target, Keys(range(1, 50))) == 204
        bodies = [(await _fetch(http, server, requester, target))[1] for _ in range(5)]
        handed = [b["one_time_prekey"] for b in bodies]  # type: ignore[index]
        assert [key is not None for key in handed] == [True, True, False, False, False]
        # Everything else of the bundle is still there: a session can be started.
        assert all(b["signed_prekey"]["key_id"] == 1 for b in bodies)  # type: ignore[index]
        _, body = await call(http, "GET", f"{server.url}/api/keys/status", target)
        assert body["available"] == 49 - 2


async def test_many_requesters_cannot_drain_one_target_quickly() -> None:
    async with serving(prekeys_per_target=3) as (server, http):
        target = await register(http, server.url)
        assert await _upload(http, server, target, Keys(range(1, 50))) == 204
        requesters = [await register(http, server.url) for _ in range(6)]
        handed = []
        for requester in requesters:
            status, body = await _fetch(http, server, requester, target)
            assert status == 200
            handed.append(body["one_time_prekey"] is not None)  # type: ignore[index]
        assert handed == [True, True, True, False, False, False]
        _, body = await call(http, "GET", f"{server.url}/api/keys/status", target)
        assert body["available"] == 49 - 3
