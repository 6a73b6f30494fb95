"""End to end: a signed webhook with an inbound voice note reaches a handler registered on
the CloudClient, which downloads the audio and replies, all against the GraphSimulator."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.cloud._client_support import WA_ID, make_client
from whatsapp_client.cloud._errors import ConfigurationError
from whatsapp_client.cloud._events import MessageEvent
from whatsapp_client.cloud._webhook_app import webhook_app
from whatsapp_client.cloud.testing import GraphSimulator

VOICE = b"OggS" + bytes(range(256)) * 8


@pytest.fixture
async def sim() -> AsyncIterator[GraphSimulator]:
    async with GraphSimulator() as simulator:
        yield simulator


async def test_webhook_voice_note_download_and_reply(sim: GraphSimulator) -> None:
    cloud, _ = make_client(sim, app_secret=sim.app_secret, verify_token="verify-me")
    got: asyncio.Queue[bytes] = asyncio.Queue()

    @cloud.on_message(type="audio")
    async def on_voice(event: MessageEvent) -> None:
        media_id = event.media_id
        assert media_id is not None
        data = await cloud.download_media(media_id)
        assert isinstance(data, bytes)
        await cloud.send_text(event.from_, f"got {len(data)} bytes")
        await got.put(data)

    runner = web.AppRunner(webhook_app(cloud))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}/webhooks/whatsapp"
    try:
        media_id = sim.add_media(VOICE, "audio/ogg; codecs=opus")
        status = await sim.deliver(url, sim.inbound_media(WA_ID, "audio", media_id, "audio/ogg"))
        assert status == 200
        data = await asyncio.wait_for(got.get(), 10)
        bad = await sim.deliver(url, sim.inbound_text(WA_ID, "x"), signature="sha256=" + "0" * 64)
    finally:
        await cloud.close()
        await runner.cleanup()
    assert hashlib.sha256(data).digest() == hashlib.sha256(VOICE).digest()
    assert bad == 401
    assert sim.sent[-1]["text"]["body"] == f"got {len(VOICE)} bytes"
    assert sim.sent[-1]["to"] == WA_ID


async def test_webhooks_fail_closed_without_a_secret(sim: GraphSimulator) -> None:
    cloud, _ = make_client(sim, verify_token="v")
    async with cloud:
        with pytest.raises(ConfigurationError):
            _ = cloud.webhooks
    cloud2, _ = make_client(sim, app_secret="s")
    async with cloud2:
        with pytest.raises(ConfigurationError, match="verify_token"):
            _ = cloud2.webhooks


async def test_close_waits_for_a_slow_handler_to_finish(sim: GraphSimulator) -> None:
    cloud, _ = make_client(sim, app_secret=sim.app_secret, verify_token="verify-me")
    steps: list[str] = []
    release = asyncio.Event()

    @cloud.on_message
    async def slow(event: MessageEvent) -> None:
        steps.append("entered")
        await release.wait()
        await asyncio.sleep(0.05)  # still running when close() is called
        steps.append("finished")

    body = json.dumps(sim.inbound_text(WA_ID, "slow")).encode()
    status, _ = await cloud.webhooks.handle_post(body, _sign(body, sim.app_secret))
    assert status == 200
    loop = asyncio.get_running_loop()
    loop.call_soon(release.set)
    await cloud.close()
    assert steps == ["entered", "finished"]


def _sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
