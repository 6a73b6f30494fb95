"""``/api/v1/sessions`` against the real service and reference server: create, list, read,
change, stop, restart, delete; a restart of the gateway brings running sessions back;
every bad input gets its documented code and changes nothing."""

from __future__ import annotations

import io
from typing import Any

import pytest

from tests.gateway._api_support import (
    PASSWORD,
    GatewayHandle,
    Receiver,
    create_session,
    snapshot,
    unique_name,
    wait_status,
)
from whatsapp_client.server.testing import ServerHandle


async def test_create_list_get_patch_stop_restart_delete(
    gateway: GatewayHandle, chat_server: ServerHandle, receiver: Receiver
) -> None:
    created = await create_session(gateway, chat_server.url, webhooks=[{"url": receiver.url}])
    sid = created["id"]
    assert sid.startswith("ses_") and created["engine"] == "wac1"
    assert created["config"]["server_url"] == chat_server.url
    assert "password" not in str(created)
    secret = created["webhooks"][0]["secret"]
    assert secret.startswith("whsec_")  # generated, shown in this answer only
    connected = await wait_status(gateway, sid, "connected")
    assert connected["user_id"]
    assert all("secret" not in w for w in connected["webhooks"])
    assert connected["queue_depth"] == 0

    listed = await gateway.call("GET", "/api/v1/sessions")
    assert [s["id"] for s in listed.body["sessions"]] == [sid]

    patched = await gateway.call(
        "PATCH",
        f"/api/v1/sessions/{sid}",
        json_body={"name": "renamed", "rate_limit_per_minute": 7},
    )
    assert patched.status == 200
    assert (patched.body["name"], patched.body["rate_limit_per_minute"]) == ("renamed", 7)

    stopped = await gateway.call("POST", f"/api/v1/sessions/{sid}/stop")
    assert stopped.status == 200 and stopped.body["status"] == "stopped"
    refused = await gateway.call(
        "POST", f"/api/v1/sessions/{sid}/messages", json_body={"to": "someone", "text": "hi"}
    )
    assert (refused.status, refused.code) == (503, "session_not_connected")

    restarted = await gateway.call("POST", f"/api/v1/sessions/{sid}/restart")
    assert restarted.status == 200
    await wait_status(gateway, sid, "connected")

    assert (await gateway.call("DELETE", f"/api/v1/sessions/{sid}")).status == 204
    gone = await gateway.call("GET", f"/api/v1/sessions/{sid}")
    assert (gone.status, gone.code) == (404, "not_found")
    assert (await gateway.call("GET", "/api/v1/sessions")).body == {"sessions": []}


async def test_running_sessions_come_back_after_a_gateway_restart(
    gateway: GatewayHandle, chat_server: ServerHandle
) -> None:
    running = (await create_session(gateway, chat_server.url))["id"]
    stopped = (await create_session(gateway, chat_server.url))["id"]
    await wait_status(gateway, running, "connected")
    await wait_status(gateway, stopped, "connected")
    assert (await gateway.call("POST", f"/api/v1/sessions/{stopped}/stop")).status == 200
    await gateway.restart()
    await wait_status(gateway, running, "connected")
    again = await gateway.call("GET", f"/api/v1/sessions/{stopped}")
    assert again.body["status"] == "stopped"


def _create(chat_url: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": unique_name(),
        "engine": "wac1",
        "server_url": chat_url,
        "username": unique_name(),
        "password": PASSWORD,
        "register": True,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"name": None}, "name"),
        ({"name": 5}, "$.name"),
        ({"name": " "}, "name"),
        ({"engine": None}, "engine"),
        ({"engine": "carrier-pigeon"}, "engine"),
        ({"server_url": "ftp://chat.example"}, "server_url"),
        ({"username": "No Spaces Allowed"}, "username"),
        ({"password": "short"}, "password"),
        ({"register": "yes"}, "$.register"),
        ({"rate_limit_per_minute": 0}, "rate_limit_per_minute"),
        ({"webhooks": [{"url": "file:///etc/passwd"}]}, "url"),
        ({"webhooks": [{"url": "http://u:p@example.org/hook"}]}, "url"),
        ({"webhooks": [{"url": "http://example.org", "events": ["message.sent"]}]}, "events"),
        ({"webhooks": [{"url": "http://example.org", "color": "red"}]}, "color"),
        ({"unexpected": True}, "unexpected"),
    ],
)
async def test_bad_creations_are_refused_and_change_nothing(
    gateway: GatewayHandle, chat_server: ServerHandle, changes: dict[str, Any], fragment: str
) -> None:
    before = await snapshot(gateway, [])
    answer = await gateway.call(
        "POST", "/api/v1/sessions", json_body=_create(chat_server.url, **changes)
    )
    assert (answer.status, answer.code) == (400, "invalid_request"), answer.body
    assert fragment in answer.body["error"]["message"]
    assert await snapshot(gateway, []) == before


async def test_malformed_bodies(gateway: GatewayHandle) -> None:
    for data, content_type in (
        (b"{not json", "application/json"),
        (b"[]", "application/json"),
        (b'{"a":' * 10_000, "application/json"),
        (b"name=x", "application/x-www-form-urlencoded"),
    ):
        answer = await gateway.call(
            "POST", "/api/v1/sessions", data=data, headers={"Content-Type": content_type}
        )
        assert (answer.status, answer.code) == (400, "invalid_request"), data[:20]
    huge = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    answer = await gateway.call(
        "POST",
        "/api/v1/sessions",
        data=io.BytesIO(huge),
        headers={"Content-Type": "application/json"},
    )
    assert (answer.status, answer.code) == (413, "request_too_large")
    assert (await gateway.call("GET", "/api/v1/sessions")).body == {"sessions": []}


async def test_conflicts_and_unknown_sessions(
    gateway: GatewayHandle, chat_server: ServerHandle
) -> None:
    first = await create_session(gateway, chat_server.url)
    before = await snapshot(gateway, [first["id"]])
    taken = await gateway.call(
        "POST", "/api/v1/sessions", json_body=_create(chat_server.url, name=first["name"])
    )
    assert (taken.status, taken.code) == (409, "conflict")
    for method, suffix in (
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/stop"),
        ("POST", "/restart"),
        ("GET", "/messages"),
        ("GET", "/webhooks"),
        ("GET", "/deliveries"),
    ):
        body = {"name": "x"} if method == "PATCH" else None
        answer = await gateway.call(method, f"/api/v1/sessions/ses_unknown{suffix}", json_body=body)
        assert (answer.status, answer.code) == (404, "not_found"), (method, suffix)
    for patch in ({"name": ""}, {"rate_limit_per_minute": -1}, {"name": 3}, {"color": "red"}):
        answer = await gateway.call("PATCH", f"/api/v1/sessions/{first['id']}", json_body=patch)
        assert (answer.status, answer.code) == (400, "invalid_request"), patch
    assert await snapshot(gateway, [first["id"]]) == before


async def test_unknown_routes_and_methods_answer_in_the_error_shape(gateway: GatewayHandle) -> None:
    missing = await gateway.call("GET", "/api/v1/nothing-here")
    assert (missing.status, missing.code) == (404, "not_found")
    wrong = await gateway.call("PUT", "/api/v1/sessions")
    assert (wrong.status, wrong.code) == (405, "method_not_allowed")
    assert "POST" in wrong.headers["Allow"]
