"""The SQLite store as a durable inbox: events kept pending until their handlers ran,
replayed in arrival order by the next receiver, done even when a handler raised."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from whatsapp_client.cloud._dedup import MemoryDedupStore, SqliteDedupStore
from whatsapp_client.cloud._events import Event, MessageEvent, StatusEvent
from whatsapp_client.cloud._handlers import WebhookHandlers
from whatsapp_client.cloud._webhook_app import WebhookReceiver, webhook_app

from ._webhooks_samples import APP_SECRET, VERIFY_TOKEN, batch_payload, encode, sign, text_payload


def receiver(handlers: WebhookHandlers, store: object) -> WebhookReceiver:
    return WebhookReceiver(
        app_secret=APP_SECRET,
        verify_token=VERIFY_TOKEN,
        handlers=handlers,
        dedup=store,  # type: ignore[arg-type]
    )


async def post(rx: WebhookReceiver, payload: dict[str, object]) -> int:
    body = encode(payload)
    status, _ = await rx.handle_post(body, sign(body))
    return status


def pending_rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM inbox").fetchone()[0])


async def test_pending_events_are_replayed_in_arrival_order_before_new_ones(
    tmp_path: Path,
) -> None:
    db = tmp_path / "inbox.sqlite"
    entered = asyncio.Event()
    first = WebhookHandlers()

    @first.on_message
    async def stuck(ev: MessageEvent) -> None:
        entered.set()
        await asyncio.Event().wait()  # never returns: the "crash" below cancels it

    store1 = SqliteDedupStore(db)
    rx1 = receiver(first, store1)
    assert await post(rx1, text_payload("wamid.p1", "one")) == 200
    assert await post(rx1, text_payload("wamid.p2", "two")) == 200
    await entered.wait()
    for task in list(rx1._tasks):  # what a crash does to the dispatch: it never finishes
        task.cancel()
    await rx1.drain()
    await store1.close()
    assert pending_rows(db) == 2

    got: list[str] = []
    second = WebhookHandlers()

    @second.on_message
    async def record(ev: MessageEvent) -> None:
        got.append(ev.message_id)

    store2 = SqliteDedupStore(db)
    rx2 = receiver(second, store2)
    assert await post(rx2, text_payload("wamid.p3", "three")) == 200  # starts rx2 lazily
    assert await post(rx2, text_payload("wamid.p1", "one")) == 200  # a redelivery: duplicate
    await rx2.drain()
    assert got == ["wamid.p1", "wamid.p2", "wamid.p3"]
    assert pending_rows(db) == 0
    await store2.close()


async def test_replayed_events_equal_the_parsed_ones(tmp_path: Path) -> None:
    db = tmp_path / "inbox.sqlite"
    seen1: list[Event] = []
    h1 = WebhookHandlers()

    entered = asyncio.Event()

    async def hang(ev: Event) -> None:
        seen1.append(ev)
        entered.set()
        await asyncio.Event().wait()

    h1.on_message(hang)
    h1.on_status(hang)
    h1.on_error(hang)
    store1 = SqliteDedupStore(db)
    rx1 = receiver(h1, store1)
    body = encode(batch_payload())
    status, fresh = await rx1.handle_post(body, sign(body))
    assert status == 200
    await entered.wait()
    for task in list(rx1._tasks):
        task.cancel()
    await rx1.drain()
    await store1.close()

    seen2: list[Event] = []
    h2 = WebhookHandlers()

    async def keep(ev: Event) -> None:
        seen2.append(ev)

    h2.on_message(keep)
    h2.on_status(keep)
    h2.on_error(keep)
    store2 = SqliteDedupStore(db)
    rx2 = receiver(h2, store2)
    await rx2.start()
    await rx2.drain()
    assert seen2 == fresh
    assert any(isinstance(ev, MessageEvent) and ev.raw for ev in seen2)
    assert any(isinstance(ev, StatusEvent) for ev in seen2)
    await store2.close()


async def test_a_handler_that_raises_still_marks_its_event_done(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "inbox.sqlite"
    calls: list[str] = []
    handlers = WebhookHandlers()

    @handlers.on_message
    async def boom(ev: MessageEvent) -> None:
        calls.append(ev.message_id)
        raise RuntimeError("handler bug")

    store = SqliteDedupStore(db)
    rx = receiver(handlers, store)
    with caplog.at_level(logging.ERROR, logger="whatsapp.cloud.webhooks"):
        assert await post(rx, text_payload("wamid.bad", "x")) == 200
        await rx.drain()
    assert calls == ["wamid.bad"]
    assert "handler" in caplog.text and "failed" in caplog.text
    assert pending_rows(db) == 0
    await store.close()
    assert list((tmp_path / "inbox.sqlite.owners").iterdir()) == []  # nothing left to own

    # A new receiver on the file does not run it again (logged, not retried forever).
    again = SqliteDedupStore(db)
    rx2 = receiver(handlers, again)
    await rx2.start()
    await rx2.drain()
    assert calls == ["wamid.bad"]
    await again.close()


async def test_start_is_idempotent_and_webhook_app_calls_it_on_startup(tmp_path: Path) -> None:
    db = tmp_path / "inbox.sqlite"
    store = SqliteDedupStore(db)
    blocked = WebhookHandlers()
    entered = asyncio.Event()

    @blocked.on_message
    async def stuck(ev: MessageEvent) -> None:
        entered.set()
        await asyncio.Event().wait()

    rx1 = receiver(blocked, store)
    assert await post(rx1, text_payload("wamid.s1", "one")) == 200
    await entered.wait()
    for task in list(rx1._tasks):
        task.cancel()
    await rx1.drain()
    await store.close()

    got: list[str] = []
    handlers = WebhookHandlers()

    @handlers.on_message
    async def record(ev: MessageEvent) -> None:
        got.append(ev.message_id)

    store2 = SqliteDedupStore(db)
    rx2 = receiver(handlers, store2)
    async with TestClient(TestServer(webhook_app(rx2))):
        await rx2.start()  # already started by the app: no second replay
        await rx2.drain()
        assert got == ["wamid.s1"]
    await store2.close()


async def test_memory_store_keeps_no_inbox_and_still_drops_duplicates() -> None:
    got: list[str] = []
    handlers = WebhookHandlers()

    @handlers.on_message
    async def record(ev: MessageEvent) -> None:
        got.append(ev.message_id)

    rx = receiver(handlers, MemoryDedupStore())
    await rx.start()
    assert await post(rx, text_payload("wamid.m1", "a")) == 200
    assert await post(rx, text_payload("wamid.m1", "a")) == 200
    await rx.drain()
    assert got == ["wamid.m1"]


async def test_a_second_live_process_does_not_replay_the_first_ones_pending_events(
    tmp_path: Path,
) -> None:
    db = tmp_path / "inbox.sqlite"
    entered = asyncio.Event()
    busy = WebhookHandlers()

    @busy.on_message
    async def stuck(ev: MessageEvent) -> None:
        entered.set()
        await asyncio.Event().wait()

    store1 = SqliteDedupStore(db)
    rx1 = receiver(busy, store1)
    assert await post(rx1, text_payload("wamid.live", "still being handled")) == 200
    await entered.wait()

    got: list[str] = []
    handlers = WebhookHandlers()

    @handlers.on_message
    async def record(ev: MessageEvent) -> None:
        got.append(ev.message_id)

    # Another worker on the same file while the first is alive: its event is not ours.
    store2 = SqliteDedupStore(db)
    rx2 = receiver(handlers, store2)
    assert await post(rx2, text_payload("wamid.other", "x")) == 200
    await rx2.drain()
    assert got == ["wamid.other"]
    await store2.close()

    # The first one stops mid-dispatch: the next receiver takes its pending event over.
    for task in list(rx1._tasks):
        task.cancel()
    await rx1.drain()
    await store1.close()
    store3 = SqliteDedupStore(db)
    rx3 = receiver(handlers, store3)
    await rx3.start()
    await rx3.drain()
    assert got == ["wamid.other", "wamid.live"]
    assert pending_rows(db) == 0
    await store3.close()


async def test_done_events_leave_no_content_in_the_file(tmp_path: Path) -> None:
    db = tmp_path / "inbox.sqlite"
    handlers = WebhookHandlers()
    entered = asyncio.Event()

    @handlers.on_message
    async def record(ev: MessageEvent) -> None:
        if ev.message_id == "wamid.c2":
            entered.set()
            await asyncio.Event().wait()  # stays pending, on the same page as c1 was

    store = SqliteDedupStore(db)
    rx = receiver(handlers, store)
    assert await post(rx, text_payload("wamid.c1", "private-words-4d2f9e " * 40)) == 200
    await rx.drain()
    assert await post(rx, text_payload("wamid.c2", "still pending")) == 200
    await entered.wait()
    for task in list(rx._tasks):
        task.cancel()
    await rx.drain()
    await store.close()  # the last connection closed: the WAL is checkpointed
    files = store_files(tmp_path)
    assert db.name in files
    for name, content in files.items():
        assert b"private-words-4d2f9e" not in content, name
    assert db.stat().st_mode & 0o077 == 0  # pending events are readable by the owner only


def store_files(folder: Path) -> dict[str, bytes]:
    """The database file and its -wal/-shm, by name."""
    return {
        p.name: p.read_bytes()
        for p in folder.iterdir()
        if p.name.startswith("inbox.sqlite") and p.is_file()
    }
