"""Authorization matrix: every REST endpoint x {no token, bad token, another user, the owner}.

Setup: ``alice`` owns keys, a group, a verification record and a pending message; ``bob``
is the other user. Unauthenticated calls get 401; bob may touch only his own keys and
pending messages and gets 404 for alice's group; alice gets what she asks for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from tests.server.helpers import Account, Keys, call, connect, error_code, message, register
from whatsapp_client.server.openapi import openapi_document
from whatsapp_client.server.testing import ServerHandle


@dataclasses.dataclass
class World:
    server: ServerHandle
    http: aiohttp.ClientSession
    alice: Account
    bob: Account
    carol: Account
    group_id: str
    message_id: str
    attachment_id: str

    def url(self, path: str) -> str:
        return self.server.url + path


Check = Callable[[World, int, Any], Any]


@dataclasses.dataclass
class Case:
    name: str
    method: str
    path: Callable[[World], str]
    body: Callable[[World], Any] = lambda w: None
    owner_status: int = 200
    # What bob (authenticated, not the owner) sees; may make follow-up calls to confirm.
    other: Check = lambda w, status, body: None


async def _setup(server: ServerHandle, http: aiohttp.ClientSession) -> World:
    alice = await register(http, server.url)
    bob = await register(http, server.url)
    carol = await register(http, server.url)
    status, _ = await call(http, "PUT", server.url + "/api/keys", alice, Keys().upload())
    assert status == 204
    status, group = await call(
        http, "POST", server.url + "/api/groups", alice, {"name": "g", "member_ids": [carol.id]}
    )
    assert status == 201
    status, _ = await call(
        http,
        "POST",
        server.url + "/api/verify-key",
        alice,
        {"peer_id": bob.id, "fingerprint": "ab" * 32, "verified": True},
    )
    assert status == 200
    sock = await connect(http, server.ws_url, carol)
    frame = message(alice.id, "pending for alice")
    await sock.send(frame)
    await sock.expect("sent", id=frame["id"])
    await sock.close()
    async with http.post(
        server.url + "/api/attachments", data=b"alice's blob", headers=alice.headers
    ) as resp:
        assert resp.status == 201
        attachment = await resp.json()
    return World(server, http, alice, bob, carol, group["id"], frame["id"], attachment["id"])


def _not_found(code: str) -> Check:
    def check(w: World, status: int, body: Any) -> None:
        assert (status, error_code(body)) == (404, code)

    return check


def _ok(status_expected: int = 200) -> Check:
    def check(w: World, status: int, body: Any) -> None:
        assert status == status_expected, body

    return check


async def _alice_still_has_opk(w: World) -> None:
    _status, body = await call(w.http, "GET", w.url("/api/keys/status"), w.alice)
    assert body["available"] == 5


def _other_keys_are_his_own(w: World, status: int, body: Any) -> Any:
    async def check() -> None:
        assert status in (200, 204), body
        await _alice_still_has_opk(w)
        # Bob's upload landed on bob's account.
        _status2, mine = await call(w.http, "GET", w.url("/api/keys/status"), w.bob)
        assert mine["signed_prekey_id"] is not None

    return check()


def _other_status(w: World, status: int, body: Any) -> None:
    assert status == 200
    assert body == {"available": 0, "signed_prekey_id": None}


def _other_delete_prekey(w: World, status: int, body: Any) -> Any:
    async def check() -> None:
        assert status == 404
        await _alice_still_has_opk(w)

    return check()


def _other_pending(w: World, status: int, body: Any) -> None:
    assert status == 200
    assert body == {"messages": []}


def _other_ack(w: World, status: int, body: Any) -> Any:
    async def check() -> None:
        assert status == 204
        _status2, pending = await call(w.http, "GET", w.url("/api/messages/pending"), w.alice)
        assert [m["id"] for m in pending["messages"]] == [w.message_id]

    return check()


def _other_me(w: World, status: int, body: Any) -> None:
    assert (status, body["id"]) == (200, w.bob.id)


def _other_groups(w: World, status: int, body: Any) -> None:
    assert (status, body) == (200, {"groups": []})


def _other_spk(w: World, status: int, body: Any) -> Any:
    async def check() -> None:
        # Bob has no identity yet, so his rotation is refused; alice's is untouched.
        assert (status, error_code(body)) == (404, "no_keys")
        _status2, alice_status = await call(w.http, "GET", w.url("/api/keys/status"), w.alice)
        assert alice_status["signed_prekey_id"] == 1

    return check()


def _other_deletes_attachment(w: World, status: int, body: Any) -> Any:
    async def check() -> None:
        assert (status, error_code(body)) == (404, "not_found")
        still, blob = await call(w.http, "GET", w.url(f"/api/attachments/{w.attachment_id}"), w.bob)
        assert (still, blob) == (200, "alice's blob")

    return check()


def _other_uploads_his_own(w: World, status: int, body: Any) -> Any:
    async def check() -> None:
        assert status == 201
        # Bob may download his own, and alice's; the ids differ.
        assert body["id"] != w.attachment_id
        mine, _ = await call(w.http, "DELETE", w.url(f"/api/attachments/{body['id']}"), w.bob)
        assert mine == 204

    return check()


_SPK_KEYS = Keys()

CASES = [
    Case("logout", "POST", lambda w: "/api/auth/logout", owner_status=204, other=_ok(204)),
    Case("me", "GET", lambda w: "/api/users/me", other=_other_me),
    Case("get_user", "GET", lambda w: f"/api/users/{w.alice.id}", other=_ok()),
    Case("find_user", "GET", lambda w: f"/api/users?username={w.alice.username}", other=_ok()),
    Case(
        "put_keys",
        "PUT",
        lambda w: "/api/keys",
        lambda w: Keys(range(100, 102)).upload(),
        owner_status=204,
        other=_other_keys_are_his_own,
    ),
    Case(
        "add_prekeys",
        "POST",
        lambda w: "/api/keys/one-time-prekeys",
        lambda w: {"one_time_prekeys": Keys(range(50, 52)).opks},
        owner_status=204,
        other=_ok(204),
    ),
    Case(
        "put_signed_prekey",
        "PUT",
        lambda w: "/api/keys/signed-prekey",
        lambda w: _SPK_KEYS.signed_prekey(2),
        owner_status=400,  # signed by another key than alice's: refused, see test_keys
        other=_other_spk,
    ),
    Case("key_status", "GET", lambda w: "/api/keys/status", other=_other_status),
    Case(
        "delete_prekey",
        "DELETE",
        lambda w: "/api/users/prekeys/1",
        owner_status=204,
        other=_other_delete_prekey,
    ),
    Case("bundle", "GET", lambda w: f"/api/users/{w.alice.id}/prekeys", other=_ok()),
    Case(
        "put_verification",
        "POST",
        lambda w: "/api/verify-key",
        lambda w: {"peer_id": w.carol.id, "fingerprint": "cd" * 32, "verified": False},
        other=_ok(),
    ),
    Case(
        "get_verification",
        "GET",
        lambda w: f"/api/verify-key/{w.bob.id}",
        other=_not_found("verification_not_found"),
    ),
    Case("pending", "GET", lambda w: "/api/messages/pending", other=_other_pending),
    Case(
        "ack",
        "POST",
        lambda w: "/api/messages/ack",
        lambda w: {"ids": [w.message_id]},
        owner_status=204,
        other=_other_ack,
    ),
    Case(
        "create_group",
        "POST",
        lambda w: "/api/groups",
        lambda w: {"name": "new"},
        owner_status=201,
        other=_ok(201),
    ),
    Case("list_groups", "GET", lambda w: "/api/groups", other=_other_groups),
    Case(
        "get_group",
        "GET",
        lambda w: f"/api/groups/{w.group_id}",
        other=_not_found("group_not_found"),
    ),
    Case(
        "update_group",
        "PATCH",
        lambda w: f"/api/groups/{w.group_id}",
        lambda w: {"name": "renamed"},
        other=_not_found("group_not_found"),
    ),
    Case(
        "add_member",
        "POST",
        lambda w: f"/api/groups/{w.group_id}/members",
        lambda w: {"user_id": w.bob.id},
        other=_not_found("group_not_found"),
    ),
    Case(
        "remove_member",
        "DELETE",
        lambda w: f"/api/groups/{w.group_id}/members/{w.carol.id}",
        owner_status=204,
        other=_not_found("group_not_found"),
    ),
    Case(
        "group_history",
        "GET",
        lambda w: f"/api/groups/{w.group_id}/messages",
        other=_not_found("group_not_found"),
    ),
    Case(
        "upload_attachment",
        "POST",
        lambda w: "/api/attachments",
        lambda w: {"any": "bytes"},
        owner_status=201,
        other=_other_uploads_his_own,
    ),
    # Any account may download by id (a random capability over ciphertext, §8).
    Case(
        "download_attachment", "GET", lambda w: f"/api/attachments/{w.attachment_id}", other=_ok()
    ),
    Case(
        "delete_attachment",
        "DELETE",
        lambda w: f"/api/attachments/{w.attachment_id}",
        owner_status=204,
        other=_other_deletes_attachment,
    ),
]


# The OpenAPI path of each case, to check that the matrix misses no authenticated route.
ROUTES = {
    "logout": "/api/auth/logout",
    "me": "/api/users/me",
    "get_user": "/api/users/{user_id}",
    "find_user": "/api/users",
    "put_keys": "/api/keys",
    "add_prekeys": "/api/keys/one-time-prekeys",
    "put_signed_prekey": "/api/keys/signed-prekey",
    "key_status": "/api/keys/status",
    "delete_prekey": "/api/users/prekeys/{key_id}",
    "bundle": "/api/users/{user_id}/prekeys",
    "put_verification": "/api/verify-key",
    "get_verification": "/api/verify-key/{peer_id}",
    "pending": "/api/messages/pending",
    "ack": "/api/messages/ack",
    "create_group": "/api/groups",
    "list_groups": "/api/groups",
    "get_group": "/api/groups/{group_id}",
    "update_group": "/api/groups/{group_id}",
    "add_member": "/api/groups/{group_id}/members",
    "remove_member": "/api/groups/{group_id}/members/{user_id}",
    "group_history": "/api/groups/{group_id}/messages",
    "upload_attachment": "/api/attachments",
    "download_attachment": "/api/attachments/{attachment_id}",
    "delete_attachment": "/api/attachments/{attachment_id}",
}


def test_the_matrix_covers_every_authenticated_route() -> None:
    secured = {
        (method.upper(), path)
        for path, item in openapi_document()["paths"].items()
        for method, op in item.items()
        if op["security"]
    }
    assert {(case.method, ROUTES[case.name]) for case in CASES} == secured


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_endpoint_authorization(
    server: ServerHandle, http: aiohttp.ClientSession, case: Case
) -> None:
    w = await _setup(server, http)
    bad = Account(w.alice.id, w.alice.username, "not-a-real-token")

    for account, headers in ((None, {}), (bad, {}), (None, {"Authorization": "Basic abc"})):
        status, body = await call(
            http, case.method, w.url(case.path(w)), account, case.body(w), headers
        )
        assert (status, error_code(body)) == (401, "unauthorized"), case.name

    status, body = await call(http, case.method, w.url(case.path(w)), w.bob, case.body(w))
    follow_up = case.other(w, status, body)
    if follow_up is not None:
        await follow_up

    status, body = await call(http, case.method, w.url(case.path(w)), w.alice, case.body(w))
    assert status == case.owner_status, (case.name, body)
