"""The Gateway service over real wac1 sessions talking to each other through the reference
server, on the real SQLite storage (read back through its own API): sending, media,
errors, idempotency, queue bounds, history and groups."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.gateway._service_world import World, accepted, stored_files
from tests.support import eventually_async
from whatsapp_client.gateway._errors import (
    FileTooLarge,
    InvalidRecipient,
    InvalidRequest,
    NotFound,
    QueueFull,
    RecipientNotFound,
)
from whatsapp_client.gateway._models import MessageFilter
from whatsapp_client.gateway._requests import (
    MediaUpload,
    SendSpec,
)
from whatsapp_client.gateway._settings import GatewaySettings


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
