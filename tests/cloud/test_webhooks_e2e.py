"""End to end: the Graph simulator delivers signed webhooks to webhook_app over HTTP; the
handlers download the audio, reply through CloudClient; duplicates stay dropped across a
restart."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from whatsapp_client.cloud._client import CloudClient
from whatsapp_client.cloud._dedup import SqliteDedupStore
from whatsapp_client.cloud._events import MessageEvent, StatusEvent
from whatsapp_client.cloud._limiter import LocalLimiter
from whatsapp_client.cloud._webhook_app import webhook_app
from whatsapp_client.cloud.testing import GraphSimulator

USER = "16505551234"
VOICE = b"OggS" + bytes(range(256)) * 20


async def _served(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/webhooks/whatsapp"
    finally:
        await runner.cleanup()


def _client(sim: GraphSimulator, dedup: SqliteDedupStore) -> CloudClient:
    return CloudClient(
        sim.access_token,
        sim.phone_number_id,
        app_secret=sim.app_secret,
        verify_token="e2e-verify",
        base_url=sim.base_url,
        dedup=dedup,
        limiter=LocalLimiter(pair_spacing=0),
    )


def _bot(
    sim: GraphSimulator,
    dedup: SqliteDedupStore,
    statuses: list[tuple[str, str]],
    reply_ids: list[str],
) -> CloudClient:
    cloud = _client(sim, dedup)

    @cloud.on_message(type="audio")
    async def transcribe(ev: MessageEvent) -> None:
        assert ev.media_id is not None
        data = await cloud.download_media(ev.media_id)
        # A mismatch would not reply (the failure is logged): the final checks catch it.
        assert isinstance(data, bytes) and hashlib.sha256(data).hexdigest() == ev.sha256
        sent = await cloud.send_text(ev.from_, f"got {len(data)} bytes", reply_to=ev.message_id)
        reply_ids.append(sent.message_id)

    @cloud.on_message(text="hello")
    def greet(ev: MessageEvent) -> None:  # sync: runs in a worker thread
        statuses.append(("greeted", ev.message_id))

    @cloud.on_status
    async def on_status(ev: StatusEvent) -> None:
        statuses.append((ev.status, ev.message_id))

    return cloud


async def test_voice_note_is_downloaded_and_answered_once_across_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "dedup.sqlite"
    async with GraphSimulator() as sim:
        media_id = sim.add_media(VOICE, "audio/ogg")
        voice = sim.inbound_media(USER, "audio", media_id, "audio/ogg; codecs=opus",
                                  message_id="wamid.voice1")  # fmt: skip
        text = sim.inbound_text(USER, "hello", message_id="wamid.text1")
        statuses: list[tuple[str, str]] = []
        reply_ids: list[str] = []

        for restart in range(2):
            dedup = SqliteDedupStore(db)
            cloud = _bot(sim, dedup, statuses, reply_ids)

            async for url in _served(webhook_app(cloud)):
                for payload in (voice, text, voice):  # the voice note is delivered twice
                    assert await sim.deliver(url, payload) == 200
                await cloud.webhooks.drain()
                if restart == 0:
                    (reply_id,) = reply_ids
                    assert await sim.deliver(url, sim.status_payload(reply_id, "read", USER)) == 200
                    await cloud.webhooks.drain()
            await cloud.close()
            await dedup.close()

        replies = [m for m in sim.sent if m.get("type") == "text"]
        assert [r["text"]["body"] for r in replies] == [f"got {len(VOICE)} bytes"]
        assert replies[0]["context"]["message_id"] == "wamid.voice1"
        assert statuses == [("greeted", "wamid.text1"), ("read", reply_id)]


async def test_forged_delivery_is_refused_and_not_handled(tmp_path: Path) -> None:
    async with GraphSimulator() as sim:
        dedup = SqliteDedupStore(tmp_path / "d.sqlite")
        cloud = _client(sim, dedup)
        seen: list[str] = []
        cloud.on_message(lambda ev: seen.append(ev.message_id))
        payload = sim.inbound_text(USER, "pay me", message_id="wamid.forged")
        async for url in _served(webhook_app(cloud)):
            assert await sim.deliver(url, payload, signature="sha256=" + "0" * 64) == 401
            assert await sim.deliver(url, payload, signature="") == 401
            assert await sim.deliver(url, payload) == 200  # the genuine one still goes through
            await cloud.webhooks.drain()
        await cloud.close()
        await dedup.close()
        assert seen == ["wamid.forged"]
