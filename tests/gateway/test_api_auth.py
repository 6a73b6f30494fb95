"""API keys on every route: no key, a wrong key, a key without the scope, a key restricted
to another session (which answers 404 there, as for another user's session); expiry,
revocation, throttling per client address, the first-start key; only hashes stored.
Every refusal changes nothing. (Users, roles and logins: tests/gateway/test_accounts_*.)"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from tests.gateway._api_support import (
    ADMIN_KEY,
    ON_BOTH_BACKENDS,
    GatewayHandle,
    create_session,
    running_gateway,
    snapshot,
)
from whatsapp_client.server.testing import ServerHandle

WRONG_KEY = "wag_not-a-key-Zq7Lm2Vx9Tc4Rb8Nw1Kd5Hf3J"

# Every authenticated route but /api/v1/auth/* (any credential may use those): method, path
# (``{sid}`` is a session the restricted key may not use), the scope an API key needs
# (acting on one's own sessions needs write; managing keys and users, admin), whether it
# needs a key unrestricted to sessions, a body.
ROUTES: list[tuple[str, str, str, bool, Any]] = [
    ("POST", "/api/v1/sessions", "write", True, {"name": "x", "engine": "wac1"}),
    ("GET", "/api/v1/sessions", "read", False, None),
    ("GET", "/api/v1/sessions/{sid}", "read", False, None),
    ("PATCH", "/api/v1/sessions/{sid}", "write", False, {"name": "renamed"}),
    ("DELETE", "/api/v1/sessions/{sid}", "write", False, None),
    ("POST", "/api/v1/sessions/{sid}/stop", "write", False, None),
    ("POST", "/api/v1/sessions/{sid}/restart", "write", False, None),
    ("POST", "/api/v1/sessions/{sid}/messages", "write", False, {"to": "nobody", "text": "x"}),
    ("GET", "/api/v1/sessions/{sid}/messages", "read", False, None),
    ("GET", "/api/v1/sessions/{sid}/messages/msg_x", "read", False, None),
    ("GET", "/api/v1/sessions/{sid}/media/med_x", "read", False, None),
    ("GET", "/api/v1/sessions/{sid}/webhooks", "read", False, None),
    ("GET", "/api/v1/sessions/{sid}/deliveries", "read", False, None),
    ("POST", "/api/v1/sessions/{sid}/deliveries/1/redeliver", "write", False, None),
    ("POST", "/api/v1/keys", "admin", True, {"name": "k", "scope": "read"}),
    ("GET", "/api/v1/keys", "admin", True, None),
    ("GET", "/api/v1/keys/key_x", "admin", True, None),
    ("DELETE", "/api/v1/keys/key_x", "admin", True, None),
    ("GET", "/metrics", "read", True, None),
    ("GET", "/api/v1/users", "admin", True, None),
    ("POST", "/api/v1/users", "admin", True, {"email": "x@example.test"}),
    ("GET", "/api/v1/users/usr_x", "admin", True, None),
    ("PATCH", "/api/v1/users/usr_x", "admin", True, {"disabled": True}),
    ("DELETE", "/api/v1/users/usr_x", "admin", True, None),
    ("POST", "/api/v1/users/usr_x/reset-password", "admin", True, None),
    # Live data: the stream and the logs filter by what the caller sees.
    ("GET", "/api/v1/sessions/{sid}/stats", "read", False, None),
    ("GET", "/api/v1/logs", "read", False, None),
    ("GET", "/api/v1/events/stream", "read", False, None),
]
_RANK = {"read": 0, "write": 1, "admin": 2}


def _template(path: str) -> str:
    return (
        path.replace("{sid}", "{session_id}")
        .replace("msg_x", "{message_id}")
        .replace("med_x", "{media_id}")
        .replace("/1/", "/{seq}/")
        .replace("key_x", "{key_id}")
        .replace("usr_x", "{user_id}")
    )


def test_the_matrix_covers_every_authenticated_route(tmp_path: Path) -> None:
    from whatsapp_client.gateway._openapi import openapi_document

    documented = {
        (method.upper(), path)
        for path, item in openapi_document()["paths"].items()
        for method, op in item.items()
        if op.get("security") and not path.startswith("/api/v1/auth/")
    }
    assert documented == {(m, _template(p)) for m, p, *_ in ROUTES}


async def _key(gw: GatewayHandle, scope: str, session_ids: list[str] | None = None) -> str:
    body: dict[str, Any] = {"name": f"{scope} key", "scope": scope}
    if session_ids is not None:
        body["session_ids"] = session_ids
    answer = await gw.call("POST", "/api/v1/keys", json_body=body)
    assert answer.status == 201, answer.body
    return str(answer.body["key"])


@ON_BOTH_BACKENDS
async def test_every_route_refuses_missing_wrong_weak_and_foreign_keys(
    tmp_path: Path, chat_server: ServerHandle
) -> None:
    # Throttling is tested on its own below; here every refusal must be the key's.
    async with running_gateway(tmp_path / "gw", auth_failures_per_address=10_000) as gateway:
        await _matrix(gateway, chat_server)


async def _matrix(gateway: GatewayHandle, chat_server: ServerHandle) -> None:
    mine = (await create_session(gateway, chat_server.url))["id"]
    other = (await create_session(gateway, chat_server.url))["id"]
    keys = {scope: await _key(gateway, scope) for scope in ("read", "write")}
    restricted_admin = await _key(gateway, "admin", [other])
    before = await snapshot(gateway, [mine, other])
    for method, path, scope, unrestricted, body in ROUTES:
        url = path.replace("{sid}", mine)
        where = f"{method} {path}"
        for key in (None, "", WRONG_KEY, "x" * 300, "ключ"):
            answer = await gateway.call(method, url, key=key, json_body=body)
            assert (answer.status, answer.code) == (401, "unauthorized"), (where, key)
        for have, key in keys.items():
            if _RANK[have] < _RANK[scope]:
                answer = await gateway.call(method, url, key=key, json_body=body)
                assert (answer.status, answer.code) == (403, "forbidden"), (where, have)
        if unrestricted:
            answer = await gateway.call(method, url, key=restricted_admin, json_body=body)
            assert (answer.status, answer.code) == (403, "forbidden"), where
        elif "{sid}" in path:  # a session out of the key's reach does not exist for it
            answer = await gateway.call(method, url, key=restricted_admin, json_body=body)
            assert (answer.status, answer.code) == (404, "not_found"), where
    assert await snapshot(gateway, [mine, other]) == before


async def test_a_restricted_key_sees_only_its_sessions(
    gateway: GatewayHandle, chat_server: ServerHandle
) -> None:
    mine = (await create_session(gateway, chat_server.url))["id"]
    other = (await create_session(gateway, chat_server.url))["id"]
    key = await _key(gateway, "read", [mine])
    listed = await gateway.call("GET", "/api/v1/sessions", key=key)
    assert [s["id"] for s in listed.body["sessions"]] == [mine]
    assert (await gateway.call("GET", f"/api/v1/sessions/{mine}", key=key)).status == 200
    assert (await gateway.call("GET", f"/api/v1/sessions/{other}", key=key)).status == 404


async def test_key_lifecycle_expiry_and_revocation(gateway: GatewayHandle) -> None:
    created = await gateway.call("POST", "/api/v1/keys", json_body={"name": "ci", "scope": "read"})
    assert created.status == 201
    key, key_id = created.body["key"], created.body["id"]
    assert created.headers["Cache-Control"] == "no-store"
    one = await gateway.call("GET", f"/api/v1/keys/{key_id}")
    assert one.status == 200 and "key" not in one.body and one.body["prefix"] == key[:10]
    assert (await gateway.call("GET", "/api/v1/sessions", key=key)).status == 200
    assert (await gateway.call("DELETE", f"/api/v1/keys/{key_id}")).status == 204
    assert (await gateway.call("GET", "/api/v1/sessions", key=key)).status == 401
    assert (await gateway.call("DELETE", f"/api/v1/keys/{key_id}")).code == "not_found"

    expires_at = int(time.time() * 1000) + 2000
    short = await gateway.call(
        "POST",
        "/api/v1/keys",
        json_body={"name": "short", "scope": "read", "expires_at": expires_at},
    )
    assert short.status == 201
    await asyncio.sleep(max(0.0, expires_at / 1000 - time.time()) + 0.05)
    expired = await gateway.call("GET", "/api/v1/sessions", key=short.body["key"])
    assert (expired.status, expired.body["error"]["message"]) == (401, "this API key has expired")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"name": "", "scope": "read"}, "$.name"),
        ({"name": "k", "scope": "root"}, "$.scope"),
        ({"name": "k", "scope": "read", "extra": 1}, "extra"),
        ({"name": "k", "scope": "read", "expires_at": 1}, "past"),
        ({"name": "k", "scope": "read", "session_ids": []}, "$.session_ids"),
        ({"name": "k", "scope": "read", "session_ids": ["ses_nope"]}, "ses_nope"),
    ],
)
async def test_bad_key_requests_change_nothing(
    gateway: GatewayHandle, body: dict[str, Any], fragment: str
) -> None:
    before = await gateway.call("GET", "/api/v1/keys")
    answer = await gateway.call("POST", "/api/v1/keys", json_body=body)
    assert (answer.status, answer.code) == (400, "invalid_request")
    assert fragment in answer.body["error"]["message"]
    assert (await gateway.call("GET", "/api/v1/keys")).body == before.body


async def test_failed_attempts_are_throttled_per_address(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_gateway(
        tmp_path / "gw",
        auth_failures_per_address=3,
        auth_failure_window_seconds=600,
        trusted_proxies="127.0.0.1",
    ) as gw:
        attacker = {"X-Forwarded-For": "198.51.100.7"}
        caplog.set_level(logging.WARNING, logger="whatsapp_client.gateway")
        for _ in range(3):
            answer = await gw.call("GET", "/api/v1/sessions", key=WRONG_KEY, headers=attacker)
            assert answer.status == 401
        # Refused now even with a valid key, so guessing learns nothing more.
        blocked = await gw.call("GET", "/api/v1/sessions", key=ADMIN_KEY, headers=attacker)
        assert (blocked.status, blocked.code) == (429, "too_many_requests")
        assert 1 <= int(blocked.headers["Retry-After"]) <= 600
        # Another address is not affected; nor the probes.
        other = await gw.call(
            "GET", "/api/v1/sessions", headers={"X-Forwarded-For": "198.51.100.8"}
        )
        assert other.status == 200
        assert (await gw.call("GET", "/health", key=None, headers=attacker)).status == 200
    refused = [r for r in caplog.records if r.getMessage() == "credential refused"]
    assert len(refused) == 3
    assert all(getattr(r, "address", None) == "198.51.100.7" for r in refused)
    assert WRONG_KEY not in caplog.text


async def test_forwarded_for_is_ignored_without_trusted_proxies(tmp_path: Path) -> None:
    async with running_gateway(tmp_path / "gw", auth_failures_per_address=2) as gw:
        for n in range(2):  # a new claimed address each time: all count against the peer
            forged = {"X-Forwarded-For": f"203.0.113.{n}"}
            assert (await gw.call("GET", "/metrics", key=WRONG_KEY, headers=forged)).status == 401
        answer = await gw.call("GET", "/metrics", headers={"X-Forwarded-For": "203.0.113.99"})
        assert answer.status == 429


@ON_BOTH_BACKENDS
async def test_first_start_creates_one_admin_key_shown_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="whatsapp_client.gateway")
    data = tmp_path / "gw"
    async with running_gateway(data, api_keys=None) as gw:
        assert len(gw.announced) == 1
        key = gw.announced[0]
        assert key.startswith("wag_")
        listed = await gw.call("GET", "/api/v1/keys", key=key)
        assert listed.status == 200 and [k["scope"] for k in listed.body["keys"]] == ["admin"]
        assert (await gw.call("GET", "/api/v1/sessions", key=ADMIN_KEY)).status == 401
        await gw.restart()
        assert gw.announced == [key]  # not again
        assert (await gw.call("GET", "/api/v1/sessions", key=key)).status == 200
    assert key not in caplog.text
    # Only its hash is kept: the key is nowhere in the data directory.
    for path in data.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path
