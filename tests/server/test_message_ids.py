"""Client-chosen message ids (§7, issue 10 item 1): only 1-128 printable ASCII characters."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.server.helpers import call, connect, error_code, message, register, serving

# Every server here runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("serving_backend")

BAD_IDS = ["", "a\x00b", "x" * 129, "has space", "tab\tid", "caf\u00e9", "\x7f", "line\n"]


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_direct_message_with_a_bad_id_is_refused_and_not_stored(bad: str) -> None:
    async with serving() as (server, http):
        alice = await register(http, server.url)
        bob = await register(http, server.url)
        a = await connect(http, server.ws_url, alice)
        frame = {"type": "message", "id": bad, "to": bob.id, "content": "poison"}
        await a.ws.send_str(json.dumps(frame))
        err = await a.expect("error")
        assert err["code"] == "invalid_id"
        assert err.get("id") == bad
        await a.roundtrip()  # refused, socket kept
        status, body = await call(http, "GET", f"{server.url}/api/messages/pending", bob)
        assert (status, body) == (200, {"messages": []})
        await a.close()


async def test_the_longest_and_widest_valid_id_is_accepted() -> None:
    async with serving() as (server, http):
        alice = await register(http, server.url)
        bob = await register(http, server.url)
        a = await connect(http, server.ws_url, alice)
        printable = "".join(chr(c) for c in range(0x21, 0x7F))
        for good in (printable[:128], printable[-1] * 128, "!", str(uuid.uuid4())):
            await a.send(message(bob.id, "ok", good))
            await a.expect("sent", id=good)
        await a.close()


async def test_group_message_with_a_bad_id_is_refused_and_not_stored() -> None:
    async with serving() as (server, http):
        alice = await register(http, server.url)
        status, group = await call(
            http, "POST", f"{server.url}/api/groups", alice, {"name": "g", "member_ids": []}
        )
        assert status == 201
        a = await connect(http, server.ws_url, alice)
        frame = {
            "type": "group_message",
            "id": "nul\x00id",
            "group_id": group["id"],
            "content": "x",
        }
        await a.send(frame)
        err = await a.expect("error")
        assert (err["code"], err["id"]) == ("invalid_id", "nul\x00id")
        await a.roundtrip()
        status, body = await call(
            http, "GET", f"{server.url}/api/groups/{group['id']}/messages", alice
        )
        assert (status, body) == (200, {"messages": []})
        await a.close()


async def test_ack_and_read_with_a_bad_id_change_nothing() -> None:
    async with serving() as (server, http):
        alice = await register(http, server.url)
        bob = await register(http, server.url)
        a = await connect(http, server.ws_url, alice)
        frame = message(bob.id, "keep me")
        await a.send(frame)
        await a.expect("sent", id=frame["id"])
        b = await connect(http, server.ws_url, bob)
        await b.expect("message", id=frame["id"])
        await b.send({"type": "ack", "ids": [frame["id"], "bad id"]})
        assert (await b.expect("error"))["code"] == "invalid_id"
        await b.send({"type": "read", "peer_id": alice.id, "message_ids": [frame["id"], ""]})
        assert (await b.expect("error"))["code"] == "invalid_id"
        await b.roundtrip()
        # Nothing was acknowledged: the message is still pending, and no status went out.
        status, body = await call(http, "GET", f"{server.url}/api/messages/pending", bob)
        assert [m["id"] for m in body["messages"]] == [frame["id"]]
        status, body = await call(
            http, "POST", f"{server.url}/api/messages/ack", bob, {"ids": [frame["id"], "\x01"]}
        )
        assert (status, error_code(body)) == (400, "invalid_id")
        status, body = await call(http, "GET", f"{server.url}/api/messages/pending", bob)
        assert [m["id"] for m in body["messages"]] == [frame["id"]]
        await a.roundtrip()
        assert not [f for f in a.buffer if f["type"] == "status"]
        await a.close()
        await b.close()
