"""Groups (§6.6): roles, 404 for non-members, 403 for the wrong role, fan-out, history."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp

from tests.server.helpers import Account, call, connect, error_code, register
from whatsapp_client.server.testing import ServerHandle

# The in-process fan-out and the Redis one (a real redis-server): see conftest.py.
FANOUTS = ("local", "redis")


async def _group(
    http: aiohttp.ClientSession, server: ServerHandle, owner: Account, *members: Account
) -> Any:
    status, body = await call(
        http,
        "POST",
        f"{server.url}/api/groups",
        owner,
        {"name": "team", "description": "d", "member_ids": [m.id for m in members]},
    )
    assert status == 201, body
    return body


async def test_create_get_list(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    group = await _group(http, server, alice, bob, bob)
    assert group["name"] == "team"
    assert group["description"] == "d"
    assert group["owner_id"] == alice.id
    assert isinstance(group["created_at"], int)
    assert group["members"] == [
        {"user_id": alice.id, "username": alice.username, "role": "owner"},
        {"user_id": bob.id, "username": bob.username, "role": "member"},
    ]
    status, body = await call(http, "GET", f"{server.url}/api/groups/{group['id']}", bob)
    assert (status, body) == (200, group)
    status, body = await call(http, "GET", f"{server.url}/api/groups", bob)
    assert body == {"groups": [group]}
    status, body = await call(
        http, "POST", f"{server.url}/api/groups", alice, {"name": "x", "member_ids": ["ghost"]}
    )
    assert (status, error_code(body)) == (404, "user_not_found")
    status, body = await call(http, "POST", f"{server.url}/api/groups", alice, {"name": ""})
    assert (status, error_code(body)) == (400, "invalid_request")


async def test_roles_govern_changes(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    carol = await register(http, server.url)
    dave = await register(http, server.url)
    group = await _group(http, server, alice, bob)
    gid = group["id"]
    base = f"{server.url}/api/groups/{gid}"
    # A plain member may not rename or add.
    status, body = await call(http, "PATCH", base, bob, {"name": "mine"})
    assert (status, error_code(body)) == (403, "forbidden")
    status, body = await call(http, "POST", f"{base}/members", bob, {"user_id": carol.id})
    assert (status, error_code(body)) == (403, "forbidden")
    status, body = await call(http, "DELETE", f"{base}/members/{alice.id}", bob)
    assert (status, error_code(body)) == (403, "forbidden")
    # The owner promotes bob; as admin he may rename and add, but not touch the owner.
    status, body = await call(
        http, "POST", f"{base}/members", alice, {"user_id": bob.id, "role": "admin"}
    )
    assert status == 200
    assert {m["user_id"]: m["role"] for m in body["members"]}[bob.id] == "admin"
    status, body = await call(http, "PATCH", base, bob, {"description": "new"})
    assert (status, body["description"], body["name"]) == (200, "new", "team")
    status, body = await call(http, "POST", f"{base}/members", bob, {"user_id": carol.id})
    assert status == 200
    status, body = await call(
        http, "POST", f"{base}/members", bob, {"user_id": dave.id, "role": "owner"}
    )
    assert (status, error_code(body)) == (403, "forbidden")
    status, body = await call(http, "DELETE", f"{base}/members/{alice.id}", bob)
    assert (status, error_code(body)) == (403, "forbidden")
    status, body = await call(
        http, "POST", f"{base}/members", bob, {"user_id": alice.id, "role": "member"}
    )
    assert (status, error_code(body)) == (403, "forbidden")
    status, _ = await call(http, "DELETE", f"{base}/members/{carol.id}", bob)
    assert status == 204
    status, body = await call(http, "DELETE", f"{base}/members/{carol.id}", bob)
    assert (status, error_code(body)) == (404, "member_not_found")
    status, body = await call(http, "POST", f"{base}/members", bob, {"user_id": "ghost"})
    assert (status, error_code(body)) == (404, "user_not_found")
    status, body = await call(
        http, "POST", f"{base}/members", alice, {"user_id": bob.id, "role": "boss"}
    )
    assert (status, error_code(body)) == (400, "invalid_request")
    # The removed member no longer sees the group at all.
    status, body = await call(http, "GET", base, carol)
    assert (status, error_code(body)) == (404, "group_not_found")


async def test_leaving_and_ownership_transfer(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    group = await _group(http, server, alice, bob)
    base = f"{server.url}/api/groups/{group['id']}"
    status, body = await call(http, "DELETE", f"{base}/members/{alice.id}", alice)
    assert (status, error_code(body)) == (409, "owner_must_transfer")
    status, body = await call(
        http, "POST", f"{base}/members", alice, {"user_id": bob.id, "role": "owner"}
    )
    assert status == 200
    assert body["owner_id"] == bob.id
    roles = {m["user_id"]: m["role"] for m in body["members"]}
    assert roles == {bob.id: "owner", alice.id: "admin"}
    status, _ = await call(http, "DELETE", f"{base}/members/{alice.id}", alice)
    assert status == 204
    status, body = await call(http, "GET", base, alice)
    assert status == 404
    # The last member leaving ends the group.
    status, _ = await call(http, "DELETE", f"{base}/members/{bob.id}", bob)
    assert status == 204
    status, body = await call(http, "GET", base, bob)
    assert (status, error_code(body)) == (404, "group_not_found")


async def test_fan_out_echo_and_history(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    outsider = await register(http, server.url)
    group = await _group(http, server, alice, bob)
    gid = group["id"]
    a = await connect(http, server.ws_url, alice)
    b = await connect(http, server.ws_url, bob)
    o = await connect(http, server.ws_url, outsider)
    ids = []
    for i in range(3):
        frame = {
            "type": "group_message",
            "id": str(uuid.uuid4()),
            "group_id": gid,
            "content": str(i),
        }
        ids.append(frame["id"])
        await a.send(frame)
        sent = await a.expect("sent", id=frame["id"])
        echo = await a.expect("group_message", id=frame["id"])
        got = await b.expect("group_message", id=frame["id"])
        assert echo == got
        assert got == {
            "type": "group_message",
            "id": frame["id"],
            "group_id": gid,
            "group_name": "team",
            "from": alice.id,
            "content": str(i),
            "timestamp": sent["timestamp"],
        }
        await asyncio.sleep(0.005)  # distinct millisecond timestamps, so `before` splits them
    # A resend is answered but not fanned out twice.
    await a.send({"type": "group_message", "id": ids[0], "group_id": gid, "content": "0"})
    await a.expect("sent", id=ids[0])
    # Non-members can neither post nor read.
    await o.send({"type": "group_message", "id": "x1", "group_id": gid, "content": "spam"})
    err = await o.expect("error")
    assert (err["code"], err["id"]) == ("group_not_found", "x1")
    await b.roundtrip()
    assert [f for f in b.buffer if f["type"] == "group_message"] == []
    status, body = await call(http, "GET", f"{server.url}/api/groups/{gid}/messages", bob)
    assert status == 200
    assert [m["id"] for m in body["messages"]] == ids[::-1]
    assert body["messages"][0]["group_name"] == "team"
    newest = body["messages"][0]["timestamp"]
    status, body = await call(
        http, "GET", f"{server.url}/api/groups/{gid}/messages?limit=1&before={newest}", bob
    )
    assert len(body["messages"]) == 1
    assert body["messages"][0]["timestamp"] < newest
    status, body = await call(http, "GET", f"{server.url}/api/groups/{gid}/messages", outsider)
    assert (status, error_code(body)) == (404, "group_not_found")
    for sock in (a, b, o):
        await sock.close()
