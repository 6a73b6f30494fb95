"""Sending, receiving and history through the API, against the real service, the reference
server and a real webhook receiver: text and media (JSON and multipart), idempotency, the
signed webhook, history filters and cursors, media downloads with Range; every bad send
gets its documented code and queues nothing."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import Any

import aiohttp
from standardwebhooks import Webhook

from tests.gateway._api_support import (
    ON_BOTH_BACKENDS,
    GatewayHandle,
    Receiver,
    create_session,
    running_gateway,
    snapshot,
    wait_for,
    wait_status,
)
from whatsapp_client.server.testing import ServerHandle

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + bytes(200)


async def _pair(
    gw: GatewayHandle, chat: ServerHandle, receiver: Receiver
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Alice (no webhook) and Bob (webhook to ``receiver``), both connected; Bob's secret."""
    alice = await create_session(gw, chat.url)
    bob = await create_session(gw, chat.url, webhooks=[{"url": receiver.url}])
    alice = await wait_status(gw, alice["id"], "connected")
    secret = bob["webhooks"][0]["secret"]
    bob = await wait_status(gw, bob["id"], "connected")
    return alice, bob, secret


def _received(receiver: Receiver) -> list[dict[str, Any]]:
    return [e for e in receiver.events() if e["type"] == "message.received"]


async def test_text_goes_out_is_received_signed_and_recorded(
    gateway: GatewayHandle, chat_server: ServerHandle, receiver: Receiver
) -> None:
    alice, bob, secret = await _pair(gateway, chat_server, receiver)
    sent = await gateway.call(
        "POST",
        f"/api/v1/sessions/{alice['id']}/messages",
        json_body={"to": bob["config"]["username"], "text": "hello bob"},
    )
    assert sent.status == 202, sent.body
    assert sent.body["status"] == "queued" and sent.body["position"] >= 1
    message_id = sent.body["id"]

    async def arrived() -> bool:
        return bool(_received(receiver))

    await wait_for(arrived, what="the webhook")
    headers, body = next((h, b) for h, b in receiver.requests if b'"message.received"' in b)
    event = Webhook(secret).verify(body, headers)  # the receiver's own check
    assert event["session_id"] == bob["id"]
    data = event["data"]
    assert (data["text"], data["type"], data["from"]) == ("hello bob", "text", alice["user_id"])

    inbound = await gateway.call(
        "GET", f"/api/v1/sessions/{bob['id']}/messages", params={"direction": "inbound"}
    )
    [message] = inbound.body["messages"]
    assert (message["text"], message["peer"], message["status"]) == (
        "hello bob",
        alice["user_id"],
        "received",
    )

    async def delivered() -> bool:
        one = await gateway.call("GET", f"/api/v1/sessions/{alice['id']}/messages/{message_id}")
        return one.body["status"] in ("delivered", "read")

    await wait_for(delivered, what="the delivered receipt")
    outbound = await gateway.call(
        "GET", f"/api/v1/sessions/{alice['id']}/messages", params={"direction": "outbound"}
    )
    assert [m["id"] for m in outbound.body["messages"]] == [message_id]


async def test_media_multipart_and_json_then_download_with_range(
    gateway: GatewayHandle, chat_server: ServerHandle, receiver: Receiver
) -> None:
    alice, bob, _ = await _pair(gateway, chat_server, receiver)
    to = bob["config"]["username"]
    document = bytes(range(256)) * 300  # 76,800 bytes, more than one sealed chunk
    form = aiohttp.FormData()
    form.add_field("to", to)
    form.add_field("caption", "the numbers")
    form.add_field("file", document, filename="numbers.bin")
    sent = await gateway.call("POST", f"/api/v1/sessions/{alice['id']}/messages", data=form)
    assert sent.status == 202, sent.body
    as_json = await gateway.call(
        "POST",
        f"/api/v1/sessions/{alice['id']}/messages",
        json_body={
            "to": to,
            "media": {"data": base64.b64encode(PNG).decode(), "filename": "dot.png"},
        },
    )
    assert as_json.status == 202, as_json.body

    async def both() -> bool:
        return len(_received(receiver)) >= 2

    await wait_for(both, what="two media messages")
    first, second = _received(receiver)[:2]
    assert first["data"]["caption"] == "the numbers"
    assert second["data"]["type"] == "image"

    history = await gateway.call(
        "GET", f"/api/v1/sessions/{bob['id']}/messages", params={"type": "document"}
    )
    [message] = history.body["messages"]
    media = message["media"]
    assert (media["size"], media["filename"]) == (len(document), "numbers.bin")
    whole = await gateway.call("GET", media["url"])
    assert whole.status == 200 and whole.raw == document
    assert whole.headers["Accept-Ranges"] == "bytes"
    part = await gateway.call("GET", media["url"], headers={"Range": "bytes=65530-65545"})
    assert part.status == 206 and part.raw == document[65530:65546]
    assert part.headers["Content-Range"] == f"bytes 65530-65545/{len(document)}"
    tail = await gateway.call("GET", media["url"], headers={"Range": "bytes=-10"})
    assert tail.raw == document[-10:]
    outside = await gateway.call("GET", media["url"], headers={"Range": f"bytes={len(document)}-"})
    assert (outside.status, outside.code) == (416, "range_not_satisfiable")
    assert outside.headers["Content-Range"] == f"bytes */{len(document)}"
    if media.get("sha256"):
        assert media["sha256"] == hashlib.sha256(document).hexdigest()
    missing = await gateway.call("GET", f"/api/v1/sessions/{bob['id']}/media/med_nothing")
    assert (missing.status, missing.code) == (404, "not_found")


async def test_idempotency_key_returns_the_first_answer_and_sends_once(
    gateway: GatewayHandle, chat_server: ServerHandle, receiver: Receiver
) -> None:
    alice, bob, _ = await _pair(gateway, chat_server, receiver)
    path = f"/api/v1/sessions/{alice['id']}/messages"
    body = {"to": bob["config"]["username"], "text": "only once"}
    first = await gateway.call("POST", path, json_body=body, headers={"Idempotency-Key": "order-1"})
    again = await gateway.call("POST", path, json_body=body, headers={"Idempotency-Key": "order-1"})
    assert first.status == again.status == 202
    assert first.body == again.body
    other = await gateway.call("POST", path, json_body=body, headers={"Idempotency-Key": "order-2"})
    assert other.body["id"] != first.body["id"]
    writer = await gateway.call("POST", "/api/v1/keys", json_body={"name": "w", "scope": "write"})
    theirs = await gateway.call(
        "POST",
        path,
        key=writer.body["key"],
        json_body=body,
        headers={"Idempotency-Key": "order-1"},
    )
    assert theirs.body["id"] != first.body["id"]  # another caller's key is its own
    outbound = await gateway.call("GET", path, params={"direction": "outbound"})
    assert len(outbound.body["messages"]) == 3
    bad = await gateway.call("POST", path, json_body=body, headers={"Idempotency-Key": "x" * 300})
    assert (bad.status, bad.code) == (400, "invalid_request")


async def test_history_filters_and_cursor(
    gateway: GatewayHandle, chat_server: ServerHandle, receiver: Receiver
) -> None:
    alice, bob, _ = await _pair(gateway, chat_server, receiver)
    path = f"/api/v1/sessions/{alice['id']}/messages"
    ids = []
    for n in range(5):
        sent = await gateway.call(
            "POST", path, json_body={"to": bob["config"]["username"], "text": f"m{n}"}
        )
        ids.append(sent.body["id"])
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await gateway.call("GET", path, params=params)
        assert page.status == 200 and len(page.body["messages"]) <= 2
        seen += [m["id"] for m in page.body["messages"]]
        cursor = page.body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))  # newest first, each once
    none = await gateway.call("GET", path, params={"direction": "inbound"})
    assert none.body["messages"] == []
    texts = await gateway.call("GET", path, params={"type": "text", "peer": bob["user_id"]})
    assert len(texts.body["messages"]) == 5
    first = await gateway.call("GET", f"{path}/{ids[0]}")
    assert first.body["text"] == "m0"
    for params in (
        {"direction": "up"},
        {"status": "lost"},
        {"type": "sticker"},
        {"since": "yesterday"},
        {"until": "-1"},
        {"limit": "0"},
        {"limit": "501"},
        {"cursor": "not a cursor"},
        {"colour": "red"},
    ):
        answer = await gateway.call("GET", path, params=params)
        assert (answer.status, answer.code) == (400, "invalid_request"), params
    unknown = await gateway.call("GET", f"{path}/msg_unknown")
    assert (unknown.status, unknown.code) == (404, "not_found")


BAD_SENDS: list[tuple[dict[str, Any], int, str]] = [
    ({"text": "no recipient"}, 400, "invalid_request"),
    ({"to": "bob", "group_id": "g1", "text": "both"}, 400, "invalid_request"),
    ({"to": "bob"}, 400, "invalid_request"),
    ({"to": "bob", "text": "x", "media": {"data": "aGk="}}, 400, "invalid_request"),
    ({"to": "bob", "text": "x", "caption": "c"}, 400, "invalid_request"),
    ({"to": 5, "text": "x"}, 400, "invalid_request"),
    ({"to": "bob", "text": ""}, 400, "invalid_request"),
    ({"to": "bob", "media": {"data": "not base64!"}}, 400, "invalid_request"),
    ({"to": "bob", "media": {"data": ""}}, 400, "invalid_request"),
    ({"to": "bob", "media": {"data": "aGk=", "mime": "nonsense"}}, 400, "invalid_request"),
    ({"to": "bob", "text": "x", "priority": "high"}, 400, "invalid_request"),
    ({"to": "Not A Name!", "text": "x"}, 400, "invalid_recipient"),
    ({"to": "nobody_here_at_all", "text": "x"}, 404, "recipient_not_found"),
    ({"group_id": "g_not_a_group", "text": "x"}, 404, "recipient_not_found"),
    (
        {"to": "bob", "media": {"data": base64.b64encode(bytes(2048)).decode()}},
        413,
        "file_too_large",
    ),
]


@ON_BOTH_BACKENDS
async def test_bad_sends_get_their_code_and_queue_nothing(
    tmp_path: Any, chat_server: ServerHandle
) -> None:
    async with running_gateway(tmp_path / "gw", max_file_bytes=1024) as gw:
        alice = await create_session(gw, chat_server.url)
        bob = await create_session(gw, chat_server.url)
        await wait_status(gw, alice["id"], "connected")
        await wait_status(gw, bob["id"], "connected")
        path = f"/api/v1/sessions/{alice['id']}/messages"
        before = await snapshot(gw, [alice["id"]])
        for body, status, code in BAD_SENDS:
            if body.get("to") == "bob":
                body = {**body, "to": bob["config"]["username"]}
            answer = await gw.call("POST", path, json_body=body)
            assert (answer.status, answer.code) == (status, code), (body, answer.body)
        for data, content_type in (
            (b"to=bob&text=x", "application/x-www-form-urlencoded"),
            (b"{", "application/json"),
        ):
            answer = await gw.call("POST", path, data=data, headers={"Content-Type": content_type})
            assert (answer.status, answer.code) == (400, "invalid_request")
        assert await snapshot(gw, [alice["id"]]) == before


async def test_oversized_multipart_is_refused_while_streaming(
    tmp_path: Any, chat_server: ServerHandle
) -> None:
    async with running_gateway(tmp_path / "gw", max_file_bytes=100_000) as gw:
        alice = await create_session(gw, chat_server.url)
        await wait_status(gw, alice["id"], "connected")
        before = await snapshot(gw, [alice["id"]])
        form = aiohttp.FormData()
        form.add_field("to", alice["config"]["username"])
        form.add_field("file", bytes(100_001), filename="big.bin")
        answer = await gw.call("POST", f"/api/v1/sessions/{alice['id']}/messages", data=form)
        assert (answer.status, answer.code) == (413, "file_too_large")
        to = alice["config"]["username"]
        for fields, with_file in (
            ({"to": to}, False),  # neither text nor a file
            ({"to": to, "colour": "red"}, True),  # an unknown field
            ({"caption": "no recipient"}, True),
            ({"to": to, "group_id": "g1"}, True),
        ):
            form = aiohttp.FormData()
            for name, value in fields.items():
                form.add_field(name, value)
            if with_file:
                form.add_field("file", b"data", filename="a.txt")
            answer = await gw.call("POST", f"/api/v1/sessions/{alice['id']}/messages", data=form)
            assert (answer.status, answer.code) == (400, "invalid_request"), fields
        assert await snapshot(gw, [alice["id"]]) == before
        leftovers = list((tmp_path / "gw" / "tmp").glob("upload-*"))
        assert leftovers == []


async def test_two_callers_sending_at_once_keep_fifo(
    gateway: GatewayHandle, chat_server: ServerHandle, receiver: Receiver
) -> None:
    alice, bob, _ = await _pair(gateway, chat_server, receiver)
    path = f"/api/v1/sessions/{alice['id']}/messages"
    to = bob["config"]["username"]

    async def caller(name: str) -> list[tuple[int, str]]:
        accepted = []
        for n in range(10):
            answer = await gateway.call("POST", path, json_body={"to": to, "text": f"{name}{n}"})
            assert answer.status == 202, answer.body
            accepted.append((answer.body["position"], f"{name}{n}"))
        return accepted

    first, second = await asyncio.gather(caller("a"), caller("b"))

    async def all_in() -> bool:
        page = await gateway.call(
            "GET", f"/api/v1/sessions/{bob['id']}/messages", params={"limit": "100"}
        )
        return len(page.body["messages"]) == 20

    await wait_for(all_in, what="all 20 messages")
    page = await gateway.call(
        "GET", f"/api/v1/sessions/{bob['id']}/messages", params={"limit": "100"}
    )
    received = [m["text"] for m in reversed(page.body["messages"])]
    assert sorted(received) == sorted(t for _, t in first + second)  # each once, intact
    for texts in ([t for _, t in first], [t for _, t in second]):
        assert [t for t in received if t in texts] == texts  # each caller's order kept
