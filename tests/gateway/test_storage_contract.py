"""The gateway ``Storage`` contract, written against the protocol.

The ``backend`` fixture yields each implementation (SQLite now; PostgreSQL is one more
parameter later) with a way to reopen it and to read what it put on disk.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.gateway import _store_support as f
from whatsapp_client.errors import VaultError
from whatsapp_client.gateway._errors import Conflict, InvalidRequest, NotFound, QueueFull
from whatsapp_client.gateway._ids import new_id, now_ms
from whatsapp_client.gateway._models import (
    ApiKeyRecord,
    IdempotentAnswer,
    MediaInfo,
    MessageFilter,
)
from whatsapp_client.gateway._sqlite import SqliteStorage, StorageClosedError
from whatsapp_client.gateway._storage import Storage
from whatsapp_client.gateway._vault import Vault

KEY = bytes(range(32))


@dataclass
class Backend:
    storage: Storage
    # Closes and opens the storage again (a restart), optionally with another vault.
    reopen: Callable[..., Awaitable[Storage]]
    # Everything the backend wrote to disk, for "never in clear" checks.
    raw: Callable[[], bytes]


def _sqlite_files(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.iterdir()) if p.is_file())


@pytest.fixture(params=["sqlite"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    assert request.param == "sqlite"
    current: list[SqliteStorage] = [SqliteStorage(tmp_path, Vault.from_key(KEY))]
    await current[0].open()

    async def reopen(key: bytes = KEY) -> Storage:
        await current[0].close()
        current[0] = SqliteStorage(tmp_path, Vault.from_key(key))
        await current[0].open()
        box.storage = current[0]
        return current[0]

    box = Backend(current[0], reopen, lambda: _sqlite_files(tmp_path))
    yield box
    await current[0].close()


async def _session(s: Storage, *hooks: list[str] | None) -> tuple[str, list[str]]:
    rec = f.session()
    endpoints = [f.endpoint(rec.id, h) for h in hooks]  # type: ignore[arg-type]
    await s.create_session(rec, b"credentials", endpoints)
    return rec.id, [e.id for e in endpoints]


async def _enqueue(s: Storage, sid: str, text: str = "hello", **kw: object) -> tuple[str, int]:
    m = f.outbound(sid, text)
    position = await s.enqueue_send(m, f.queue_item(m), max_depth=100, **kw)  # type: ignore[arg-type]
    return m.id, position


# --- sessions ------------------------------------------------------------------------------


async def test_session_round_trip_and_credentials(backend: Backend) -> None:
    s = backend.storage
    rec = f.session("alpha")
    await s.create_session(rec, b"\x00secret creds\xff", [])
    assert await s.get_session(rec.id) == rec
    assert [x.id for x in await s.list_sessions()] == [rec.id]
    assert await s.get_credentials(rec.id) == b"\x00secret creds\xff"
    assert await s.get_session("ses_missing") is None
    with pytest.raises(NotFound):
        await s.get_credentials("ses_missing")


async def test_duplicate_session_name_is_a_conflict_and_writes_nothing(backend: Backend) -> None:
    s = backend.storage
    await s.create_session(f.session("same"), b"c", [])
    other = f.session("same")
    with pytest.raises(Conflict):
        await s.create_session(other, b"c", [f.endpoint(other.id)])
    assert await s.get_session(other.id) is None
    assert await s.list_webhooks(other.id) == []


async def test_update_session_changes_only_what_is_given(backend: Backend) -> None:
    s = backend.storage
    sid, _ = await _session(s)
    await s.create_session(f.session("taken"), b"c", [])
    before = await s.get_session(sid)
    assert before is not None
    after = await s.update_session(sid, rate_limit_per_minute=7)
    assert after.rate_limit_per_minute == 7 and after.name == before.name and after.running
    after = await s.update_session(sid, name="renamed", running=False, user_id="u_1")
    assert (after.name, after.running, after.user_id) == ("renamed", False, "u_1")
    with pytest.raises(Conflict):
        await s.update_session(sid, name="taken")
    assert (await s.get_session(sid)) == after
    with pytest.raises(NotFound):
        await s.update_session("ses_missing", name="x")


async def test_status_and_touch(backend: Backend) -> None:
    s = backend.storage
    sid, (hook,) = await _session(s, ["session.status"])
    ev = f.event(sid, "session.status", status="failed", reason="bad password")
    await s.set_session_status(sid, "failed", "bad password", ev)
    rec = await s.get_session(sid)
    assert rec is not None and (rec.status, rec.status_reason) == ("failed", "bad password")
    head = await s.head_delivery(hook)
    assert head is not None and head.event == ev
    # A status without an event, and for a session deleted meanwhile: no error, no event.
    await s.set_session_status(sid, "connected", None, None)
    await s.set_session_status("ses_gone", "stopped", None, f.event("ses_gone", "session.status"))
    await s.touch_session(sid, 1000)
    await s.touch_session(sid, 5000)
    await s.touch_session(sid, 3000)
    # Writes are FIFO: once a write submitted after the touches is committed, so are they.
    await s.ping()
    await s.ping()
    touched = await s.get_session(sid)
    assert touched is not None and touched.last_activity_at == 5000
    await s.touch_session(sid, 6000)
    reopened = await backend.reopen()  # close flushes the coalesced touches
    got = await reopened.get_session(sid)
    assert got is not None and got.status == "connected" and got.last_activity_at == 6000


async def test_delete_session_removes_every_row(backend: Backend) -> None:
    s = backend.storage
    sid, (hook,) = await _session(s, None)
    keep, _ = await _session(s, None)
    mid, _ = await _enqueue(s, sid, idempotency=("scope-1", _answer()))
    await s.record_inbound(f.inbound(sid, "e1"), f.event(sid))
    await s.save_media(sid, _media("med_1"), b"keys")
    await s.enqueue_send(*_pair(keep), max_depth=10)
    await s.delete_session(sid)
    assert await s.get_session(sid) is None
    assert await s.get_message(sid, mid) is None
    assert await s.next_queued(sid) is None and await s.queue_depth(sid) == 0
    assert await s.list_webhooks(sid) == [] and await s.head_delivery(hook) is None
    assert await s.list_deliveries(sid) == []
    assert await s.get_media(sid, "med_1") is None
    assert await s.get_idempotent("scope-1") is None
    assert await s.queue_depth(keep) == 1  # the other session is untouched
    with pytest.raises(NotFound):
        await s.delete_session(sid)


# --- webhooks ------------------------------------------------------------------------------


async def test_replace_webhooks_keeps_updates_and_drops(backend: Backend) -> None:
    s = backend.storage
    sid, _ = await _session(s)
    a, b = f.endpoint(sid), f.endpoint(sid, ["error"])
    await s.replace_webhooks(sid, [a, b])
    assert await s.list_webhooks(sid) == [a, b]
    await s.add_events([f.event(sid, "error", code="x")])
    a.secrets = ["whsec_bmV3", "whsec_b2xk"]  # a rotation: newest first
    c = f.endpoint(sid, ["message.status"])
    await s.replace_webhooks(sid, [c, a])
    assert await s.list_webhooks(sid) == [c, a]
    assert await s.head_delivery(b.id) is None  # removed with its pending deliveries
    assert await s.head_delivery(a.id) is not None  # kept with its own
    with pytest.raises(NotFound):
        await s.replace_webhooks("ses_missing", [])


async def test_disable_webhook_stops_its_work(backend: Backend) -> None:
    s = backend.storage
    sid, (hook,) = await _session(s, None)
    await s.add_events([f.event(sid, "error")])
    assert await s.endpoints_with_work(now_ms()) == [hook]
    await s.disable_webhook(hook, "410 Gone")
    (w,) = await s.list_webhooks(sid)
    assert (w.enabled, w.disabled_reason) == (False, "410 Gone")
    assert await s.endpoints_with_work(now_ms()) == []
    await s.add_events([f.event(sid, "error")])  # no delivery for a disabled endpoint
    assert len(await s.list_deliveries(sid)) == 1


# --- the send queue -----------------------------------------------------------------------


def _pair(sid: str) -> tuple:  # type: ignore[type-arg]
    m = f.outbound(sid)
    return m, f.queue_item(m)


def _answer(ttl_ms: int = 60_000) -> IdempotentAnswer:
    return IdempotentAnswer(status=202, body=b'{"id":"msg_x"}', expires_at=now_ms() + ttl_ms)


async def test_enqueue_positions_fifo_and_depth(backend: Backend) -> None:
    s = backend.storage
    sid, _ = await _session(s)
    ids = []
    for i in range(5):
        mid, position = await _enqueue(s, sid, f"m{i}")
        assert position == i + 1
        ids.append(mid)
    assert await s.queue_depth(sid) == 5
    head = await s.next_queued(sid)
    assert head is not None and head.message_id == ids[0] and head.request.text == "m0"
    assert head.seq > 0
    stored = await s.get_message(sid, ids[0])
    assert stored is not None and stored.status == "queued" and stored.text == "m0"


async def test_concurrent_enqueues_keep_submission_order(backend: Backend) -> None:
    s = backend.storage
    sid, _ = await _session(s)
    pairs = [_pair(sid) for _ in range(50)]
    positions = await asyncio.gather(*(s.enqueue_send(m, q, max_depth=100) for m, q in pairs))
    assert sorted(positions) == list(range(1, 51))
    order = []
    while (head := await s.next_queued(sid)) is not None:
        order.append(head.message_id)
        await s.finish_send(head, "sent", engine_message_id=None, reason=None, event=None)
    assert order == [m.id for m, _ in pairs]


async def test_queue_full_writes_nothing(backend: Backend) -> None:
    s = backend.storage
    sid, _ = await _session(s)
    for _ in range(3):
        m, q = _pair(sid)
        await s.enqueue_send(m, q, max_depth=3)
    m, q = _pair(sid)
    with pytest.raises(QueueFull):
        await s.enqueue_send(m, q, max_depth=3, idempotency=("full-scope", _answer()))
    assert await s.queue_depth(sid) == 3
    assert await s.get_message(sid, m.id) is None
    assert await s.get_idempotent("full-scope") is None


async def test_enqueue_for_unknown_session(backend: Backend) -> None:
    m, q = _pair("ses_missing")
    with pytest.raises(NotFound):
        await backend.storage.enqueue_send(m, q, max_depth=3)


async def test_idempotent_answer_stored_with_the_send_and_expires(backend: Backend) -> None:
    s = backend.storage
    sid, _ = await _session(s)
    answer = _answer()
    await _enqueue(s, sid, idempotency=("key-a", answer))
    assert await s.get_idempotent("key-a") == answer
    assert await s.get_idempotent("key-b") is None
    # The same scope again while the first answer stands: refused, nothing queued.
    with pytest.raises(Conflict):
        await _enqueue(s, sid, idempotency=("key-a", _answer()))
    assert await s.queue_depth(sid) == 1
    # An expired answer is gone, and its scope can be used again.
    await _enqueue(s, sid, idempotency=("key-old", _answer(ttl_ms=-1)))
    assert await s.get_idempotent("key-old") is None
    fresh = _answer()
    await _enqueue(s, sid, idempotency=("key-old", fresh))
    assert await s.get_idempotent("key-old") == fresh


async def test_finish_send_records_outcome_once(backend: Backend) -> None:
    s = backend.storage
    sid, (hook,) = await _session(s, ["message.status"])
    ok, _ = await _enqueue(s, sid, "one")
    bad, _ = await _enqueue(s, sid, "two")
    item = await s.next_queued(sid)
    assert item is not None and item.message_id == ok
    ev = f.event(sid, "message.status", id=ok, status="sent")
    await s.finish_send(item, "sent", engine_message_id="wac-1", reason=None, event=ev)
    await s.finish_send(item, "sent", engine_message_id="wac-1", reason=None, event=ev)  # again
    item2 = await s.next_queued(sid)
    assert item2 is not None and item2.message_id == bad
    await s.finish_send(item2, "failed", engine_message_id=None, reason="blocked", event=None)
    assert await s.next_queued(sid) is None and await s.queue_depth(sid) == 0
    sent, failed = await s.get_message(sid, ok), await s.get_message(sid, bad)
    assert sent is not None and (sent.status, sent.engine_message_id) == ("sent", "wac-1")
    assert failed is not None and (failed.status, failed.reason) == ("failed", "blocked")
    rec = await s.get_session(sid)
    assert rec is not None and (rec.counters.sent, rec.counters.failed) == (1, 1)
    assert [d.event.id for d in await s.list_deliveries(sid, endpoint_id=hook)] == [ev.id]


async def test_queue_survives_reopen(backend: Backend) -> None:
    sid, _ = await _session(backend.storage)
    mid, _ = await _enqueue(backend.storage, sid, "persisted")
    s = await backend.reopen()
    head = await s.next_queued(sid)
    assert head is not None and head.message_id == mid and head.request.text == "persisted"


# --- inbound, statuses, history ---------------------------------------------------------------


async def test_inbound_duplicates_are_by_sender_and_id(backend: Backend) -> None:
    s = backend.storage
    sid, (hook,) = await _session(s, ["message.received"])
    assert await s.record_inbound(f.inbound(sid, "id-1", peer="u_a"), f.event(sid))
    assert not await s.record_inbound(f.inbound(sid, "id-1", peer="u_a"), f.event(sid))
    # The same message id from someone else is another message.
    assert await s.record_inbound(f.inbound(sid, "id-1", peer="u_b"), f.event(sid))
    # In a group, the sender (not the group) decides.
    g = "g_1"
    assert await s.record_inbound(
        f.inbound(sid, "gid", peer=g, sender="u_a", group_id=g), f.event(sid)
    )
    assert await s.record_inbound(
        f.inbound(sid, "gid", peer=g, sender="u_b", group_id=g), f.event(sid)
    )
    assert not await s.record_inbound(
        f.inbound(sid, "gid", peer=g, sender="u_b", group_id=g), f.event(sid)
    )
    rec = await s.get_session(sid)
    assert rec is not None and rec.counters.received == 4
    assert len(await s.list_deliveries(sid, endpoint_id=hook)) == 4
    assert not await s.record_inbound(f.inbound("ses_gone", "x"), f.event("ses_gone"))


async def test_status_moves_only_forward(backend: Backend) -> None:
    s = backend.storage
    sid, (hook,) = await _session(s, ["message.status"])
    mid, _ = await _enqueue(s, sid)
    item = await s.next_queued(sid)
    assert item is not None
    await s.finish_send(item, "sent", engine_message_id="e-1", reason=None, event=None)
    got = await s.set_message_status(sid, "e-1", "read", "evt_r", 123)
    assert got is not None and got.id == mid and got.status == "read"
    assert await s.set_message_status(sid, "e-1", "delivered", "evt_d", 124) is None
    assert await s.set_message_status(sid, "e-1", "read", "evt_r2", 125) is None
    assert await s.set_message_status(sid, "unknown", "read", "evt_u", 126) is None
    stored = await s.get_message(sid, mid)
    assert stored is not None and stored.status == "read"
    (d,) = await s.list_deliveries(sid, endpoint_id=hook)
    assert d.event.id == "evt_r" and d.event.data == {"id": mid, "status": "read", "timestamp": 123}


async def test_history_newest_first_with_cursor_and_filters(backend: Backend) -> None:
    s = backend.storage
    sid, _ = await _session(s)
    other, _ = await _session(s)
    expected = []
    for i in range(7):
        m = f.outbound(sid, f"out{i}", ts=1000 + i // 2)  # equal timestamps too
        await s.enqueue_send(m, f.queue_item(m), max_depth=100)
        expected.append(m.id)
        inb = f.inbound(sid, f"in{i}", peer="u_x" if i % 2 else "u_y", ts=2000 + i)
        await s.record_inbound(inb, f.event(sid))
        expected.append(inb.id)
    await s.record_inbound(f.inbound(other, "o"), f.event(other))
    seen, cursor = [], None
    while True:
        page, cursor = await s.list_messages(sid, MessageFilter(), limit=3, cursor=cursor)
        seen += page
        if cursor is None:
            break
    assert len(seen) == 14 and len({m.id for m in seen}) == 14
    keys = [(m.timestamp, m.id) for m in seen]
    assert [m.timestamp for m in seen] == sorted((m.timestamp for m in seen), reverse=True)
    assert set(expected) == {k[1] for k in keys}

    async def ids(**kw: object) -> list[str]:
        page, _ = await s.list_messages(sid, MessageFilter(**kw), limit=100)  # type: ignore[arg-type]
        return [m.id for m in page]

    assert len(await ids(direction="inbound")) == 7
    assert len(await ids(direction="outbound", status="queued", type="text")) == 7
    assert len(await ids(peer="u_x")) == 3
    assert len(await ids(type="image")) == 0
    assert len(await ids(since=2003, until=2005)) == 2
    with pytest.raises(InvalidRequest):
        await s.list_messages(sid, MessageFilter(), limit=10, cursor="!!not-a-cursor")
    with pytest.raises(InvalidRequest):
        await s.list_messages(sid, MessageFilter(), limit=0)
    m = seen[0]
    assert await s.get_message(sid, m.id) == m
    assert await s.get_message(other, m.id) is None


# --- deliveries ---------------------------------------------------------------------------------


async def test_events_fan_out_to_subscribed_endpoints_in_order(backend: Backend) -> None:
    s = backend.storage
    sid, (all_hook, err_hook) = await _session(s, None, ["error"])
    events = [f.event(sid, "error", n=i) for i in range(3)]
    await s.add_events(events)
    await s.record_inbound(f.inbound(sid, "x"), f.event(sid))
    assert len(await s.list_deliveries(sid, endpoint_id=all_hook)) == 4
    assert len(await s.list_deliveries(sid, endpoint_id=err_hook)) == 3
    now = now_ms()
    assert sorted(await s.endpoints_with_work(now)) == sorted([all_hook, err_hook])
    delivered = []
    while (head := await s.head_delivery(err_hook)) is not None:
        delivered.append(head.event.data["n"])
        await s.finish_delivery(
            head.seq,
            "delivered",
            attempts=1,
            next_attempt_at=now,
            status_code=200,
            error=None,
            at=now,
        )
    assert delivered == [0, 1, 2]
    listed = await s.list_deliveries(sid, endpoint_id=err_hook, state="delivered")
    assert [d.event.data["n"] for d in listed] == [2, 1, 0]  # newest first
    assert all(d.finished_at == now and d.last_status == 200 for d in listed)


async def test_retry_schedule_dead_letter_and_redeliver(backend: Backend) -> None:
    s = backend.storage
    sid, (hook,) = await _session(s, None)
    await s.add_events([f.event(sid, "error", n=0), f.event(sid, "error", n=1)])
    head = await s.head_delivery(hook)
    assert head is not None
    later = head.next_attempt_at + 60_000
    await s.finish_delivery(
        head.seq, "pending", attempts=1, next_attempt_at=later, status_code=500, error="500", at=0
    )
    assert await s.endpoints_with_work(later - 1) == []
    assert await s.endpoints_with_work(later) == [hook]
    again = await s.head_delivery(hook)
    assert again is not None and again.seq == head.seq and again.attempts == 1
    assert again.last_status == 500 and again.finished_at is None
    await s.finish_delivery(
        head.seq, "dead", attempts=9, next_attempt_at=later, status_code=500, error="500", at=later
    )
    nxt = await s.head_delivery(hook)
    assert nxt is not None and nxt.event.data == {"n": 1}
    redo = await s.redeliver(sid, head.seq, later)
    assert redo.event == head.event and redo.seq > nxt.seq and redo.state == "pending"
    assert (await s.list_deliveries(sid, state="dead"))[0].seq == head.seq
    with pytest.raises(InvalidRequest):
        await s.list_deliveries(sid, limit=0)
    other, _ = await _session(s)
    with pytest.raises(NotFound):
        await s.redeliver(other, head.seq, later)


# --- keys and media -------------------------------------------------------------------------------


async def test_api_keys(backend: Backend) -> None:
    s = backend.storage
    key = ApiKeyRecord(
        id=new_id("key"),
        name="ci",
        scope="write",
        key_hash="ab" * 32,
        prefix="gw_abcd",
        session_ids=["ses_1"],
        expires_at=now_ms() + 1000,
        created_at=now_ms(),
    )
    await s.create_api_key(key)
    assert await s.find_api_key("ab" * 32) == key
    assert await s.find_api_key("cd" * 32) is None
    assert await s.list_api_keys() == [key]
    with pytest.raises(Conflict):
        await s.create_api_key(key)
    assert await s.delete_api_key(key.id)
    assert not await s.delete_api_key(key.id)
    assert await s.list_api_keys() == []


def _media(media_id: str) -> MediaInfo:
    return MediaInfo(media_id=media_id, mime="image/png", size=10, filename="cat.png", sha256="00")


async def test_media_records(backend: Backend) -> None:
    s = backend.storage
    sid, _ = await _session(s)
    other, _ = await _session(s)
    await s.save_media(sid, _media("med_1"), b"sealed-keys")
    assert await s.get_media(sid, "med_1") == (_media("med_1"), b"sealed-keys")
    assert await s.get_media(other, "med_1") is None
    with pytest.raises(NotFound):
        await s.save_media("ses_missing", _media("med_2"), b"k")


# --- at rest ------------------------------------------------------------------------------------


async def test_secrets_never_on_disk_in_clear(backend: Backend) -> None:
    s = backend.storage
    rec = f.session()
    hook = f.endpoint(rec.id, secret="whsec_TOPSECRETWEBHOOK")
    await s.create_session(rec, b"CREDENTIAL-PLAINTEXT", [hook])
    m = f.outbound(rec.id, "OUTBOUND-PLAINTEXT")
    await s.enqueue_send(
        m,
        f.queue_item(m),
        max_depth=5,
        idempotency=(
            "scope",
            IdempotentAnswer(status=202, body=b"IDEM-BODY", expires_at=now_ms() + 9999),
        ),
    )
    await s.record_inbound(
        f.inbound(rec.id, "e", text="INBOUND-PLAINTEXT"), f.event(rec.id, text="EVENT-PLAINTEXT")
    )
    await backend.reopen()
    raw = backend.raw()
    for secret in (
        b"CREDENTIAL",
        b"TOPSECRETWEBHOOK",
        b"OUTBOUND-PLAIN",
        b"IDEM-BODY",
        b"INBOUND-PLAIN",
        b"EVENT-PLAIN",
    ):
        assert secret not in raw, secret


async def test_another_master_key_cannot_read(backend: Backend) -> None:
    sid, _ = await _session(backend.storage)
    s = await backend.reopen(bytes(32))
    with pytest.raises(VaultError):
        await s.get_credentials(sid)
    assert (await s.get_session(sid)) is not None  # clear columns still readable


async def test_ping(backend: Backend) -> None:
    await backend.storage.ping()


async def test_database_file_is_private(tmp_path: Path) -> None:
    s = SqliteStorage(tmp_path / "data", Vault.from_key(KEY))
    await s.open()
    try:
        await s.ping()  # the WAL and its index exist once something was written
        files = sorted(p.name for p in (tmp_path / "data").iterdir())
        assert files == ["gateway.sqlite3", "gateway.sqlite3-shm", "gateway.sqlite3-wal"]
        for name in files:
            assert os.stat(tmp_path / "data" / name).st_mode & 0o077 == 0, name
        assert os.stat(tmp_path / "data").st_mode & 0o077 == 0
    finally:
        await s.close()


def test_synchronous_must_be_durable(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="FULL"):
        SqliteStorage(tmp_path, Vault.from_key(KEY), synchronous="OFF")


async def test_programming_errors_are_refused_without_writing(backend: Backend) -> None:
    s = backend.storage
    sid, _ = await _session(s)
    m, q = _pair(sid)
    q.message_id = "msg_other"
    with pytest.raises(ValueError, match="name the message"):
        await s.enqueue_send(m, q, max_depth=5)
    assert await s.get_message(sid, m.id) is None
    await _enqueue(s, sid)
    item = await s.next_queued(sid)
    assert item is not None
    with pytest.raises(ValueError, match="sent or failed"):
        await s.finish_send(item, "read", engine_message_id=None, reason=None, event=None)
    assert await s.queue_depth(sid) == 1
    with pytest.raises(ValueError, match="inbound"):
        await s.record_inbound(f.outbound(sid), f.event(sid))
    rec = f.session()
    with pytest.raises(ValueError, match="belongs to session"):
        await s.create_session(rec, b"c", [f.endpoint(sid)])
    assert await s.get_session(rec.id) is None
    same_id = f.session(id=sid)
    with pytest.raises(Conflict):
        await s.create_session(same_id, b"c", [])


async def test_closed_storage_refuses_calls(tmp_path: Path) -> None:
    s = SqliteStorage(tmp_path, Vault.from_key(KEY))
    with pytest.raises(StorageClosedError):
        await s.get_session("ses_x")
    await s.open()
    await s.open()  # opening twice is harmless
    await s.close()
    with pytest.raises(StorageClosedError):
        await s.ping()


async def test_database_of_a_newer_gateway_is_refused(tmp_path: Path) -> None:
    s = SqliteStorage(tmp_path, Vault.from_key(KEY))
    await s.open()
    await s.close()
    conn = sqlite3.connect(s.path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(RuntimeError, match="upgrade the gateway"):
        await SqliteStorage(tmp_path, Vault.from_key(KEY)).open()
    # The failed open left no reader thread behind.
    assert not [t for t in threading.enumerate() if t.name.startswith("gw-db-read")]
