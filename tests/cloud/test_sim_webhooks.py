"""Webhook deliveries of the simulator: Graph's payload shape, signed with the app secret
(checked here with plain ``hmac``), batched payloads, and the builders."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from whatsapp_client.cloud.testing import (
    GraphSimulator,
    batch,
    business_scoped_id,
    sign,
    status_object,
    text_message,
)

SECRET = "app-secret-for-tests"


class Receiver:
    """A webhook endpoint on loopback that records raw bodies and headers."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[tuple[bytes, dict[str, str]]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((await request.read(), dict(request.headers)))
        return web.Response(status=self.status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/hook"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    await hook.start()
    yield hook
    assert hook.runner is not None
    await hook.runner.cleanup()


@pytest.fixture
async def sim() -> AsyncIterator[GraphSimulator]:
    async with GraphSimulator(app_secret=SECRET, phone_number_id="555000", waba_id="777") as s:
        yield s


def expected_signature(raw: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()


async def test_delivery_is_signed_over_the_raw_body(
    sim: GraphSimulator, receiver: Receiver
) -> None:
    payload = sim.inbound_text(
        "15557654321", "ol\N{LATIN SMALL LETTER A WITH ACUTE} \N{GRINNING FACE}"
    )
    assert await sim.deliver(receiver.url, payload) == 200
    [(raw, headers)] = receiver.requests
    assert headers["X-Hub-Signature-256"] == expected_signature(raw)
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(raw) == payload
    assert "\N{GRINNING FACE}".encode() in raw  # UTF-8 on the wire, as Graph sends it


async def test_inbound_text_has_graphs_shape(sim: GraphSimulator) -> None:
    payload = sim.inbound_text("15557654321", "hi", message_id="wamid.IN1", timestamp=1700000000)
    assert payload == {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "777",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": sim.display_phone_number,
                                "phone_number_id": "555000",
                            },
                            "contacts": [
                                {
                                    "profile": {"name": "Test User"},
                                    "wa_id": "15557654321",
                                    "user_id": business_scoped_id("15557654321"),
                                }
                            ],
                            "messages": [
                                {
                                    "from": "15557654321",
                                    "id": "wamid.IN1",
                                    "timestamp": "1700000000",
                                    "text": {"body": "hi"},
                                    "type": "text",
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


def test_business_scoped_id_is_stable_and_shaped_like_metas() -> None:
    first, again, other = (business_scoped_id(w) for w in ("1555", "1555", "1666"))
    assert first == again != other
    country, _, digits = first.partition(".")
    assert country == "US" and digits.isdigit() and len(digits) == 20


async def test_reply_context(sim: GraphSimulator) -> None:
    payload = sim.inbound_text("1555", "yes", reply_to="wamid.OUT")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    assert message["context"] == {"from": "1555", "id": "wamid.OUT"}


@pytest.mark.parametrize(
    ("kind", "mime"),
    [
        ("audio", "audio/ogg; codecs=opus"),
        ("image", "image/jpeg"),
        ("video", "video/mp4"),
        ("document", "application/pdf"),
        ("sticker", "image/webp"),
    ],
)
async def test_inbound_media_carries_the_stored_sha256(
    sim: GraphSimulator, kind: str, mime: str
) -> None:
    data = b"media bytes of " + kind.encode()
    media_id = sim.add_media(data, mime)
    payload = sim.inbound_media("15557654321", kind, media_id, mime)
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    assert message["type"] == kind
    assert message[kind]["id"] == media_id
    assert message[kind]["mime_type"] == mime
    assert message[kind]["sha256"] == hashlib.sha256(data).hexdigest()
    if kind == "audio":
        assert message[kind]["voice"] is True


async def test_inbound_media_caption_and_filename(sim: GraphSimulator) -> None:
    media_id = sim.add_media(b"%PDF", "application/pdf")
    payload = sim.inbound_media(
        "1555", "document", media_id, "application/pdf", caption="c", filename="f.pdf"
    )
    document = payload["entry"][0]["changes"][0]["value"]["messages"][0]["document"]
    assert (document["caption"], document["filename"]) == ("c", "f.pdf")


@pytest.mark.parametrize("status", ["sent", "delivered", "read"])
async def test_status_payload(sim: GraphSimulator, status: str) -> None:
    payload = sim.status_payload("wamid.OUT", status, "15557654321", timestamp=1700000001)
    value = payload["entry"][0]["changes"][0]["value"]
    assert "messages" not in value and "contacts" not in value
    [update] = value["statuses"]
    assert update["id"] == "wamid.OUT"
    assert update["status"] == status
    assert update["recipient_id"] == "15557654321"
    assert update["timestamp"] == "1700000001"
    if status == "read":
        assert "conversation" not in update
    else:
        assert update["conversation"]["origin"] == {"type": "service"}
        assert update["pricing"]["category"] == "service"


async def test_failed_status_carries_an_error(sim: GraphSimulator) -> None:
    payload = sim.status_payload("wamid.OUT", "failed", "1555", error_code=131047)
    [update] = payload["entry"][0]["changes"][0]["value"]["statuses"]
    [error] = update["errors"]
    assert error["code"] == 131047
    assert error["title"] == "Re-engagement message"
    assert set(error) == {"code", "title", "message", "error_data", "href"}


async def test_error_payload(sim: GraphSimulator) -> None:
    payload = sim.error_payload(131000, "boom")
    [error] = payload["entry"][0]["changes"][0]["value"]["errors"]
    assert (error["code"], error["error_data"]["details"]) == (131000, "boom")


async def test_batched_delivery_keeps_every_entry_and_change(
    sim: GraphSimulator, receiver: Receiver
) -> None:
    first = sim.inbound_text("1555", "one", message_id="wamid.A")
    second = sim.status_payload("wamid.OUT", "delivered", "1555")
    third = sim.inbound_text("1666", "two", message_id="wamid.B")
    payload = batch(first, second, third)
    assert len(payload["entry"]) == 3
    assert await sim.deliver(receiver.url, payload) == 200
    [(raw, headers)] = receiver.requests
    assert headers["X-Hub-Signature-256"] == expected_signature(raw)
    assert json.loads(raw)["entry"] == first["entry"] + second["entry"] + third["entry"]


async def test_deliver_wraps_several_messages_and_statuses_in_one_change(
    sim: GraphSimulator, receiver: Receiver
) -> None:
    messages = [text_message("1555", "a"), text_message("1666", "b"), text_message("1555", "c")]
    statuses = [status_object("wamid.X", "read", "1555")]
    assert await sim.deliver(receiver.url, messages=messages, statuses=statuses) == 200
    body: dict[str, Any] = json.loads(receiver.requests[0][0])
    value = body["entry"][0]["changes"][0]["value"]
    assert [m["text"]["body"] for m in value["messages"]] == ["a", "b", "c"]
    assert [c["wa_id"] for c in value["contacts"]] == ["1555", "1666"]
    assert value["statuses"] == statuses


async def test_deliver_returns_the_receivers_status(sim: GraphSimulator) -> None:
    hook = Receiver(status=401)
    await hook.start()
    try:
        assert await sim.deliver(hook.url, sim.inbound_text("1555", "x")) == 401
    finally:
        assert hook.runner is not None
        await hook.runner.cleanup()


async def test_signature_can_be_overridden_or_left_out(
    sim: GraphSimulator, receiver: Receiver
) -> None:
    payload = sim.inbound_text("1555", "x")
    await sim.deliver(receiver.url, payload, signature="sha256=" + "0" * 64)
    await sim.deliver(receiver.url, payload, signature="")
    assert receiver.requests[0][1]["X-Hub-Signature-256"] == "sha256=" + "0" * 64
    assert "X-Hub-Signature-256" not in receiver.requests[1][1]


async def test_deliver_needs_something(sim: GraphSimulator, receiver: Receiver) -> None:
    with pytest.raises(ValueError, match="payload"):
        await sim.deliver(receiver.url)


async def test_deliver_needs_a_running_simulator(receiver: Receiver) -> None:
    sim = GraphSimulator()
    with pytest.raises(RuntimeError, match="not running"):
        await sim.deliver(receiver.url, sim.inbound_text("1555", "x"))


def test_sign_matches_plain_hmac() -> None:
    raw = b'{"object":"whatsapp_business_account","entry":[]}'
    assert sign(raw, SECRET) == expected_signature(raw)
    assert GraphSimulator(app_secret=SECRET).sign(raw) == expected_signature(raw)
