"""The whole runtime on real parts: the reference server, two wac1 sessions, the storage
(SQLite and PostgreSQL), the Vault, the webhook dispatcher and a real receiver verifying
signatures with ``standardwebhooks``; then a gateway restart with messages still queued."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.gateway._api_support import BACKEND
from tests.gateway._hooks_support import Receiver, receiver
from tests.gateway._runtime_support import CLIENT_OPTIONS, PASSWORD, unique_name
from tests.support import eventually, eventually_async, reference_server
from whatsapp_client.gateway._database import make_storage
from whatsapp_client.gateway._dispatcher import WebhookDispatcher
from whatsapp_client.gateway._metrics import GatewayMetrics
from whatsapp_client.gateway._models import MessageFilter, SessionRecord
from whatsapp_client.gateway._requests import (
    CreateSession,
    MediaUpload,
    SendSpec,
    SessionPatch,
    WebhookSpec,
)
from whatsapp_client.gateway._service import Gateway
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._signing import generate_secret
from whatsapp_client.gateway._vault import Vault
from whatsapp_client.gateway._wac1_config import Wac1Factory, Wac1Options
from whatsapp_client.server.testing import ServerHandle

SECRET = generate_secret()


class Stack:
    def __init__(self, server: ServerHandle, data: Path) -> None:
        self.server = server
        self.data = data
        self.settings = GatewaySettings(
            data_dir=str(data),
            base_url="http://gw.test",
            reconnect_base_delay=0.05,
            database=BACKEND.get("database"),  # SQLite in data_dir, or the test's PostgreSQL
        )
        self.gateway: Gateway
        self.dispatcher: WebhookDispatcher

    async def start(self) -> None:
        vault = Vault.load(self.data)
        storage = make_storage(self.settings, self.data, vault)
        metrics = GatewayMetrics()
        self.dispatcher = WebhookDispatcher(storage, self.settings, metrics, poll_interval=0.2)
        factory = Wac1Factory(Wac1Options.from_settings(self.settings, CLIENT_OPTIONS))
        self.gateway = Gateway(
            self.settings,
            storage,
            vault,
            metrics,
            engines={"wac1": factory},
            wake=self.dispatcher.wake,
        )
        await self.gateway.start()
        await self.dispatcher.start()

    async def stop(self) -> None:
        # The sessions first (no wake() reaches the dispatcher while it closes), the
        # storage last.
        await self.gateway.sessions.close()
        await self.dispatcher.close()
        await self.gateway.close()

    async def session(self, prefix: str, hook: Receiver | None = None) -> SessionRecord:
        webhooks = [WebhookSpec(url=hook.url, secret=SECRET)] if hook else None
        record, endpoints = await self.gateway.create_session(
            CreateSession(
                name=unique_name(prefix),
                engine="wac1",
                server_url=self.server.url,
                username=unique_name(prefix),
                password=PASSWORD,
                register=True,
                webhooks=webhooks,
            )
        )
        assert [e.secrets for e in endpoints] == ([[SECRET]] if hook else [])
        await self.connected(record.id)
        return await self.gateway.get_session(record.id)

    async def connected(self, session_id: str) -> None:
        async def ok() -> bool:
            return (await self.gateway.get_session(session_id)).status == "connected"

        await eventually_async(ok, timeout=20, what=f"{session_id} connected")

    async def history(self, session_id: str, **filters: Any) -> list[Any]:
        found, _ = await self.gateway.list_messages(
            session_id, MessageFilter(**filters), limit=100, cursor=None
        )
        return found


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerHandle]:
    async with reference_server(tmp_path) as srv:
        yield srv


@pytest.fixture
async def stack(server: ServerHandle, tmp_path: Path, gateway_backend: str) -> AsyncIterator[Stack]:
    s = Stack(server, tmp_path / "gateway")
    await s.start()
    try:
        yield s
    finally:
        await s.stop()


def bodies(hook: Receiver, type_: str) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in hook.received if json.loads(r.body)["type"] == type_]


async def test_a_message_reaches_the_other_sessions_webhook_signed(stack: Stack) -> None:
    async with receiver([SECRET]) as hook:
        a = await stack.session("alice")
        b = await stack.session("bob", hook)
        status, body = await stack.gateway.send(
            a.id, SendSpec(to=b.config["username"], text="hello over http")
        )
        assert status == 202
        sent_id = msgspec.json.decode(body)["id"]
        await eventually(lambda: bodies(hook, "message.received") != [], what="webhook")
        [event] = bodies(hook, "message.received")
        assert event["session_id"] == b.id
        data = event["data"]
        assert (data["from"], data["from_name"], data["text"], data["type"]) == (
            a.user_id,
            a.config["username"],
            "hello over http",
            "text",
        )
        statuses = [e["data"]["status"] for e in bodies(hook, "session.status")]
        assert "connected" in statuses

        async def delivered() -> bool:
            return (await stack.gateway.get_message(a.id, sent_id)).status == "delivered"

        await eventually_async(delivered, what="delivered")
        [inbound] = await stack.history(b.id, direction="inbound")
        assert (inbound.text, inbound.peer, inbound.peer_name) == (
            "hello over http",
            a.user_id,
            a.config["username"],
        )


async def test_media_on_the_webhook_downloads_the_same_bytes(stack: Stack) -> None:
    async with receiver([SECRET]) as hook:
        a = await stack.session("alice")
        b = await stack.session("bob", hook)
        data = b"RIFF\x00\x00\x00\x00WAVEfmt " + os.urandom(150_000)
        await stack.gateway.send(
            a.id, SendSpec(to=b.user_id, media=MediaUpload(source=data, filename="a.wav"))
        )
        await eventually(lambda: bodies(hook, "message.received") != [], timeout=20, what="hook")
        media = bodies(hook, "message.received")[0]["data"]["media"]
        assert (media["mime"], media["size"], media["filename"]) == (
            "audio/wav",
            len(data),
            "a.wav",
        )
        assert media["url"] == f"http://gw.test/api/v1/sessions/{b.id}/media/{media['id']}"
        reader = await stack.gateway.open_media(b.id, media["id"])
        assert b"".join([p async for p in reader.read(0, len(data))]) == data
        [inbound] = await stack.history(b.id, type="audio")
        assert inbound.media is not None and inbound.media.media_id == media["id"]


async def test_queued_messages_survive_a_restart_and_go_out_once(stack: Stack) -> None:
    a = await stack.session("alice")
    b = await stack.session("bob")
    await stack.gateway.update_session(a.id, SessionPatch(rate_limit_per_minute=1))
    ids = []
    for i in range(4):
        _, body = await stack.gateway.send(a.id, SendSpec(to=b.user_id, text=f"m{i}"))
        ids.append(msgspec.json.decode(body)["id"])
    assert await stack.gateway.queue_depth(a.id) >= 3  # one token a minute: they wait
    await stack.stop()
    await stack.start()
    await stack.connected(a.id)
    await stack.connected(b.id)
    await stack.gateway.update_session(a.id, SessionPatch(rate_limit_per_minute=6000))

    async def all_in() -> bool:
        return len(await stack.history(b.id, direction="inbound")) >= 4

    await eventually_async(all_in, timeout=30, what="everything arrives")
    got = sorted(m.text for m in await stack.history(b.id, direction="inbound"))
    assert got == ["m0", "m1", "m2", "m3"]
    assert await stack.gateway.queue_depth(a.id) == 0
    sent = [(await stack.gateway.get_message(a.id, i)).status for i in ids]
    assert all(s in ("sent", "delivered", "read") for s in sent)
