"""The Gateway service over real wac1 sessions talking to each other through the reference
server, on the real SQLite storage (read back through its own API)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.gateway._runtime_support import PASSWORD, make_vault, unique_name, wac1_factory
from tests.support import eventually_async, reference_server
from whatsapp_client.gateway._errors import (
    Conflict,
    FileTooLarge,
    InvalidRecipient,
    InvalidRequest,
    NotFound,
    QueueFull,
    RecipientNotFound,
    SessionNotConnected,
)
from whatsapp_client.gateway._metrics import GatewayMetrics
from whatsapp_client.gateway._models import Event, MessageFilter, MessageRecord, SessionRecord
from whatsapp_client.gateway._requests import (
    CreateSession,
    MediaUpload,
    SendSpec,
    SessionPatch,
    WebhookSpec,
)
from whatsapp_client.gateway._service import Gateway
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._sqlite import SqliteStorage
from whatsapp_client.gateway._wac1_config import Wac1Factory
from whatsapp_client.server.testing import ServerHandle


class World:
    def __init__(self, server: ServerHandle, tmp: Path) -> None:
        self.server = server
        self.tmp = tmp
        self.vault = make_vault()
        self.storage = SqliteStorage(tmp / "db", self.vault)
        self.wakes = 0
        self.settings = GatewaySettings(data_dir=str(tmp / "gw"), max_file_bytes=300_000)
        self.max_failures = 3
        self.gateway = self.make()

    def make(self) -> Gateway:
        def wake() -> None:
            self.wakes += 1

        self.metrics = GatewayMetrics()
        return Gateway(
            self.settings,
            self.storage,
            self.vault,
            self.metrics,
            engines={"wac1": wac1_factory(max_failures=self.max_failures)},
            wake=wake,
        )

    async def session(self, prefix: str, *, hooked: bool = False, **extra: Any) -> SessionRecord:
        """``hooked``: with an endpoint taking every event (nothing posts in these tests), so
        the session's events can be read back as its deliveries."""
        if hooked:
            extra["webhooks"] = [WebhookSpec(url="http://127.0.0.1:9/events")]
        spec = CreateSession(
            name=unique_name(prefix),
            engine="wac1",
            server_url=self.server.url,
            username=unique_name(prefix),
            password=PASSWORD,
            register=True,
            **extra,
        )
        record, _ = await self.gateway.create_session(spec)
        await eventually_async(lambda: self.has_status(record.id, "connected"), what="connected")
        return await self.gateway.get_session(record.id)

    async def has_status(self, session_id: str, status: str) -> bool:
        record = await self.storage.get_session(session_id)
        assert record is not None
        return record.status == status

    async def history(self, session_id: str) -> list[MessageRecord]:
        """The session's messages, oldest first."""
        found, _ = await self.storage.list_messages(session_id, MessageFilter(), limit=1000)
        return found[::-1]

    async def history_has(self, session_id: str, count: int) -> bool:
        return len(await self.history(session_id)) == count

    async def message(self, session_id: str, message_id: str) -> MessageRecord:
        found = await self.storage.get_message(session_id, message_id)
        assert found is not None
        return found

    async def message_has(self, session_id: str, message_id: str, status: str) -> bool:
        return (await self.message(session_id, message_id)).status == status

    async def events(self, session_id: str) -> list[Event]:
        """The events of a ``hooked`` session, in order."""
        deliveries = await self.storage.list_deliveries(session_id, limit=1000)
        return [d.event for d in sorted(deliveries, key=lambda d: d.seq)]

    def media_records(self) -> int:
        """Media records of every session. The storage has no listing of them, so this one
        count is read from its database file directly (read-only)."""
        conn = sqlite3.connect(f"file:{self.storage.path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT count(*) FROM media").fetchone()
        finally:
            conn.close()
        return int(row[0])


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with reference_server(tmp_path) as server:
        w = World(server, tmp_path)
        await w.gateway.start()
        try:
            yield w
        finally:
            await w.gateway.close()


def stored_files(folder: Path) -> list[bytes]:
    return [p.read_bytes() for p in folder.rglob("*") if p.is_file()]


def accepted(answer: tuple[int, bytes]) -> dict[str, Any]:
    status, body = answer
    assert status == 202
    data: dict[str, Any] = msgspec.json.decode(body)
    assert data["status"] == "queued"
    return data


async def test_two_sessions_talk_and_statuses_move_forward(world: World) -> None:
    a = await world.session("alice", hooked=True)
    b = await world.session("bob", hooked=True)
    assert a.user_id is not None and b.user_id is not None
    bob_name = b.config["username"]
    first = accepted(await world.gateway.send(a.id, SendSpec(to=bob_name, text="hi bob")))
    assert first["position"] == 1
    await eventually_async(lambda: world.history_has(b.id, 1), what="bob has it")
    got = (await world.history(b.id))[0]
    assert (got.direction, got.text, got.peer, got.status) == (
        "inbound",
        "hi bob",
        a.user_id,
        "received",
    )
    await eventually_async(
        lambda: world.message_has(a.id, first["id"], "delivered"), what="delivered"
    )
    kinds = [(e.type, e.data.get("status")) for e in await world.events(a.id)]
    assert ("message.status", "sent") in kinds and ("message.status", "delivered") in kinds
    assert ("session.status", "connected") in kinds
    events = await world.events(a.id) + await world.events(b.id)
    received = [e for e in events if e.type == "message.received"]
    assert received[0].data["from"] == a.user_id and received[0].data["text"] == "hi bob"
    assert received[0].data["from_name"] == a.config["username"]
    assert world.wakes > 0
    metric = world.metrics.registry.get_sample_value
    assert metric("gateway_sessions", {"status": "connected"}) == 2
    assert metric("gateway_messages_sent_total", {"session": a.id}) == 1
    assert metric("gateway_messages_received_total", {"session": b.id}) == 1
    # And back, by user id.
    accepted(await world.gateway.send(b.id, SendSpec(to=a.user_id, text="hi alice")))

    async def alice_has_it() -> bool:
        return any(m.text == "hi alice" for m in await world.history(a.id))

    await eventually_async(alice_has_it, what="back")


async def test_media_goes_sealed_and_comes_out_the_same(world: World) -> None:
    a = await world.session("alice")
    b = await world.session("bob", hooked=True)
    data = b"\x89PNG\r\n\x1a\n" + os.urandom(100_000)
    spec = SendSpec(
        to=b.user_id, media=MediaUpload(source=data, filename="pic.png"), caption="look"
    )
    sent = accepted(await world.gateway.send(a.id, spec))
    out = await world.message(a.id, sent["id"])
    assert out.type == "image" and out.media is not None and out.media.mime == "image/png"
    await eventually_async(lambda: world.history_has(b.id, 1), timeout=20, what="bob has the image")
    got = (await world.history(b.id))[0]
    assert (got.type, got.caption) == ("image", "look")
    assert got.media is not None and got.media.size == len(data)
    reader = await world.gateway.open_media(b.id, got.media.media_id)
    assert b"".join([p async for p in reader.read(0, len(data))]) == data
    assert b"".join([p async for p in reader.read(10, 20)]) == data[10:20]
    event = next(e for e in await world.events(b.id) if e.type == "message.received")
    media = event.data["media"]
    assert isinstance(media, dict)
    assert media["url"] == f"/api/v1/sessions/{b.id}/media/{got.media.media_id}"
    # Nothing in clear on disk.
    for content in stored_files(Path(world.settings.data_dir, "media")):
        assert data[:4096] not in content


async def test_multipart_file_is_taken_over_and_removed(world: World, tmp_path: Path) -> None:
    a = await world.session("alice")
    b = await world.session("bob")
    upload = tmp_path / "upload.bin"
    upload.write_bytes(b"%PDF-1.7\n" + os.urandom(1000))
    spec = SendSpec(to=b.user_id, media=MediaUpload(source=upload, filename="../../doc.pdf"))
    sent = accepted(await world.gateway.send(a.id, spec))
    assert not upload.exists()
    record = await world.message(a.id, sent["id"])
    assert record.type == "document" and record.media is not None
    assert (record.media.mime, record.media.filename) == ("application/pdf", "doc.pdf")
    await eventually_async(lambda: world.history_has(b.id, 1), what="bob has the file")


async def test_bad_sends_get_their_error_and_change_nothing(world: World) -> None:
    a = await world.session("alice")
    b = await world.session("bob")

    async def state() -> tuple[object, ...]:
        return (
            await world.history(a.id),
            await world.history(b.id),
            await world.storage.queue_depth(a.id),
            await world.storage.queue_depth(b.id),
            world.media_records(),
        )

    before = await state()
    cases: list[tuple[SendSpec, type[Exception]]] = [
        (SendSpec(text="no recipient"), InvalidRequest),
        (SendSpec(to="x", group_id="g", text="both"), InvalidRequest),
        (SendSpec(to=b.user_id), InvalidRequest),
        (SendSpec(to=b.user_id, text="  "), InvalidRequest),
        (SendSpec(to=b.user_id, text="x" * 10_001), InvalidRequest),
        (SendSpec(to=b.user_id, text="t", caption="c"), InvalidRequest),
        (SendSpec(to="Not a name!", text="x"), InvalidRecipient),
        (SendSpec(to="nobody_at_all", text="x"), RecipientNotFound),
        (SendSpec(group_id="no-such-group", text="x"), RecipientNotFound),
        (SendSpec(group_id="g", media=MediaUpload(source=b"%PDF-1.4")), InvalidRequest),
        (SendSpec(to=b.user_id, media=MediaUpload(source=b"x" * 300_001)), FileTooLarge),
        (SendSpec(to=b.user_id, media=MediaUpload(source=b"")), InvalidRequest),
        (SendSpec(to=b.user_id, media=MediaUpload(source=b"ab", mime="nonsense")), InvalidRequest),
    ]
    for spec, error in cases:
        with pytest.raises(error):
            await world.gateway.send(a.id, spec)
    with pytest.raises(NotFound):
        await world.gateway.send("ses_nope", SendSpec(to=b.user_id, text="x"))
    assert before == await state()
    assert stored_files(Path(world.settings.data_dir, "media")) == []


async def test_stopped_session_refuses_and_restart_sends_what_was_queued(world: World) -> None:
    a = await world.session("alice")
    b = await world.session("bob")
    stopped = await world.gateway.stop_session(a.id)
    assert (stopped.status, stopped.running) == ("stopped", False)
    with pytest.raises(SessionNotConnected):
        await world.gateway.send(a.id, SendSpec(to=b.user_id, text="x"))
    # Stop the receiver instead: the sender still queues for it.
    await world.gateway.restart_session(a.id)
    await eventually_async(lambda: world.has_status(a.id, "connected"), what="back")
    await world.gateway.stop_session(b.id)
    accepted(await world.gateway.send(a.id, SendSpec(to=b.user_id, text="while away")))
    await world.gateway.restart_session(b.id)
    await eventually_async(lambda: world.history_has(b.id, 1), what="delivered after restart")


async def test_idempotency_key_returns_the_first_answer(world: World) -> None:
    a = await world.session("alice")
    b = await world.session("bob")
    spec = SendSpec(to=b.user_id, text="once")
    first = await world.gateway.send(a.id, spec, idempotency_scope="key1")
    again = await world.gateway.send(a.id, spec, idempotency_scope="key1")
    assert first == again
    await eventually_async(lambda: world.history_has(b.id, 1), what="bob has one")
    assert len([m for m in await world.history(a.id) if m.direction == "outbound"]) == 1


async def test_queue_bound(world: World) -> None:
    a = await world.session("alice")
    b = await world.session("bob")
    world.gateway.settings = GatewaySettings(data_dir=world.settings.data_dir, max_queue=2)
    runtime = world.gateway.sessions.runtime(a.id)
    assert runtime is not None and runtime.worker is not None
    await runtime.worker.stop()  # nothing leaves the queue
    accepted(await world.gateway.send(a.id, SendSpec(to=b.user_id, text="1")))
    assert (
        accepted(await world.gateway.send(a.id, SendSpec(to=b.user_id, text="2")))["position"] == 2
    )
    with pytest.raises(QueueFull):
        await world.gateway.send(a.id, SendSpec(to=b.user_id, text="3"))
    media = MediaUpload(source=b"%PDF-1.4" + b"x" * 1000, filename="a.pdf")
    with pytest.raises(QueueFull):
        await world.gateway.send(a.id, SendSpec(to=b.user_id, media=media))
    assert stored_files(Path(world.settings.data_dir, "media")) == []
    assert await world.storage.queue_depth(a.id) == 2


async def test_sessions_come_back_after_a_gateway_restart(world: World) -> None:
    a = await world.session("alice")
    b = await world.session("bob")
    await world.gateway.stop_session(b.id)
    await world.gateway.close()  # closes the storage; the new gateway opens it again
    world.gateway = world.make()
    await world.gateway.start()
    await eventually_async(lambda: world.has_status(a.id, "connected"), what="a back")
    assert await world.has_status(b.id, "stopped")
    assert world.gateway.sessions.runtime(b.id) is None


async def test_update_and_delete(world: World) -> None:
    a = await world.session(
        "alice", webhooks=[WebhookSpec(url="http://127.0.0.1:9/hook", events=["error"])]
    )
    hooks = await world.gateway.list_webhooks(a.id)
    assert len(hooks) == 1 and hooks[0].secrets[0].startswith("whsec_")
    record, endpoints = await world.gateway.update_session(
        a.id, SessionPatch(name="renamed", rate_limit_per_minute=5)
    )
    assert (record.name, record.rate_limit_per_minute) == ("renamed", 5)
    assert endpoints == hooks
    runtime = world.gateway.sessions.runtime(a.id)
    assert runtime is not None and runtime.worker is not None
    assert runtime.worker.bucket.rate_per_minute == 5
    with pytest.raises(InvalidRequest):
        await world.gateway.update_session(a.id, SessionPatch(rate_limit_per_minute=0))
    with pytest.raises(InvalidRequest):
        await world.gateway.update_session(
            a.id, SessionPatch(webhooks=[WebhookSpec(url="ftp://x")])
        )
    assert (await world.gateway.get_session(a.id)).name == "renamed"
    folder = world.gateway.sessions.directory(a.id)
    assert folder.exists()
    await world.gateway.delete_session(a.id)
    assert not folder.exists()
    assert await world.storage.get_session(a.id) is None
    with pytest.raises(NotFound):
        await world.storage.get_credentials(a.id)
    with pytest.raises(NotFound):
        await world.gateway.get_session(a.id)
    with pytest.raises(NotFound):
        await world.gateway.delete_session(a.id)


async def test_creation_is_checked_before_anything_is_stored(world: World) -> None:
    bad = [
        CreateSession(name="x", engine="cloud"),
        CreateSession(
            name=" ", engine="wac1", server_url=world.server.url, username="abc", password=PASSWORD
        ),
        CreateSession(
            name="x", engine="wac1", server_url="nope", username="abc", password=PASSWORD
        ),
        CreateSession(
            name="x",
            engine="wac1",
            server_url=world.server.url,
            username="abc",
            password=PASSWORD,
            rate_limit_per_minute=0,
        ),
        CreateSession(
            name="x",
            engine="wac1",
            server_url=world.server.url,
            username="abc",
            password=PASSWORD,
            webhooks=[WebhookSpec(url="http://u:p@example.com/")],
        ),
    ]
    for spec in bad:
        with pytest.raises(InvalidRequest):
            await world.gateway.create_session(spec)
    assert await world.storage.list_sessions() == []


async def test_one_account_runs_in_one_session_only(world: World) -> None:
    a = await world.session("alice")
    again = CreateSession(
        name="another name",
        engine="wac1",
        server_url=a.config["server_url"],
        username=a.config["username"],
        password=PASSWORD,
    )
    with pytest.raises(Conflict):
        await world.gateway.create_session(again)
    assert [s.id for s in await world.storage.list_sessions()] == [a.id]


async def test_history_and_messages_are_read_through_the_service(world: World) -> None:
    a = await world.session("alice")
    b = await world.session("bob")
    sent = accepted(await world.gateway.send(a.id, SendSpec(to=b.user_id, text="hello")))
    msgs, cursor = await world.gateway.list_messages(a.id, MessageFilter(), limit=10, cursor=None)
    assert [m.id for m in msgs] == [sent["id"]] and cursor is None
    assert (await world.gateway.get_message(a.id, sent["id"])).text == "hello"
    with pytest.raises(NotFound):
        await world.gateway.get_message(b.id, sent["id"])
    with pytest.raises(NotFound):
        await world.gateway.open_media(a.id, "med_nope")
    assert await world.gateway.queue_depth(a.id) in (0, 1)
    assert await world.gateway.list_deliveries(a.id) == []
    with pytest.raises(NotFound):
        await world.gateway.redeliver(a.id, 1)
    assert [s.id for s in await world.gateway.list_sessions()] == [a.id, b.id]


async def test_group_text_through_the_queue(world: World) -> None:
    a = await world.session("alice")
    b = await world.session("bob")
    runtime = world.gateway.sessions.runtime(a.id)
    assert runtime is not None and b.user_id is not None
    client = runtime.engine._client  # type: ignore[union-attr]
    group = await client.create_group("team", member_ids=[b.user_id])
    sent = accepted(await world.gateway.send(a.id, SendSpec(group_id=group.id, text="hi all")))
    await eventually_async(lambda: world.history_has(b.id, 1), what="bob has the group message")
    got = (await world.history(b.id))[0]
    assert (got.peer, got.group_id, got.text) == (group.id, group.id, "hi all")
    await eventually_async(lambda: world.message_has(a.id, sent["id"], "sent"), what="sent")


def test_the_default_engines_follow_the_settings(tmp_path: Path) -> None:
    settings = GatewaySettings(data_dir=str(tmp_path), max_reconnect_failures=7)
    vault = make_vault()
    gateway = Gateway(settings, SqliteStorage(tmp_path, vault), vault, GatewayMetrics())
    factory = gateway.sessions.factories["wac1"]
    assert isinstance(factory, Wac1Factory)
    assert factory.options.max_failures == 7


async def test_a_reconnecting_session_still_queues(world: World) -> None:
    await world.gateway.close()
    world.max_failures = 1000
    world.gateway = world.make()
    await world.gateway.start()
    a = await world.session("alice")
    b = await world.session("bob")
    assert b.user_id is not None
    await world.server.stop()
    await eventually_async(lambda: world.has_status(a.id, "disconnected"), what="reconnecting")
    sent = accepted(await world.gateway.send(a.id, SendSpec(to=b.user_id, text="queued")))
    with pytest.raises(SessionNotConnected):  # a name cannot be resolved meanwhile
        await world.gateway.send(a.id, SendSpec(to=b.config["username"], text="x"))
    await world.server.start()
    await eventually_async(lambda: world.history_has(b.id, 1), timeout=20, what="sent once back")
    assert (await world.history(b.id))[0].text == "queued"

    async def left_the_queue() -> bool:
        return (await world.message(a.id, sent["id"])).status != "queued"

    await eventually_async(left_the_queue, what="sent")


async def test_a_patch_keeping_a_webhook_url_keeps_the_endpoint(world: World) -> None:
    a = await world.session("alice", webhooks=[WebhookSpec(url="http://127.0.0.1:9/one")])
    [before] = await world.gateway.list_webhooks(a.id)
    _, after = await world.gateway.update_session(
        a.id,
        SessionPatch(
            webhooks=[
                WebhookSpec(url="http://127.0.0.1:9/one", events=["error"]),
                WebhookSpec(url="http://127.0.0.1:9/two"),
            ]
        ),
    )
    assert (after[0].id, after[0].secrets, after[0].events) == (
        before.id,
        before.secrets,
        ["error"],
    )
    assert after[1].id != before.id and after[1].secrets[0].startswith("whsec_")
    assert await world.gateway.list_webhooks(a.id) == after
