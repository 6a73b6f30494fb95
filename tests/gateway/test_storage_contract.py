"""The gateway ``Storage`` contract, written against the protocol: sessions, the send
queue, received messages, statuses and history.

The ``backend`` fixture (``_store_support``) yields each implementation (SQLite now;
PostgreSQL is one more parameter later) with a way to reopen it and to read what it put on
disk. Webhooks, deliveries, keys, media and data at rest: ``test_storage_contract_events``.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.gateway import _store_support as f
from tests.gateway._store_support import Backend, backend_fixture  # noqa: F401 (the fixture)
from whatsapp_client.gateway._errors import Conflict, InvalidRequest, NotFound, QueueFull
from whatsapp_client.gateway._models import MessageFilter

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
    sid, _ = await f.make_session(s)
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
    sid, (hook,) = await f.make_session(s, ["session.status"])
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
    sid, (hook,) = await f.make_session(s, None)
    keep, _ = await f.make_session(s, None)
    mid, _ = await f.enqueue(s, sid, idempotency=("scope-1", f.answer()))
    await s.record_inbound(f.inbound(sid, "e1"), f.event(sid))
    await s.save_media(sid, f.media_info("med_1"), b"keys")
    await s.enqueue_send(*f.pair(keep), max_depth=10)
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


# --- the send queue -----------------------------------------------------------------------


async def test_enqueue_positions_fifo_and_depth(backend: Backend) -> None:
    s = backend.storage
    sid, _ = await f.make_session(s)
    ids = []
    for i in range(5):
        mid, position = await f.enqueue(s, sid, f"m{i}")
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
    sid, _ = await f.make_session(s)
    pairs = [f.pair(sid) for _ in range(50)]
    positions = await asyncio.gather(*(s.enqueue_send(m, q, max_depth=100) for m, q in pairs))
    assert sorted(positions) == list(range(1, 51))
    order = []
    while (head := await s.next_queued(sid)) is not None:
        order.append(head.message_id)
        await s.finish_send(head, "sent", engine_message_id=None, reason=None, event=None)
    assert order == [m.id for m, _ in pairs]


async def test_a_refused_write_among_concurrent_ones_changes_only_itself(
    backend: Backend,
) -> None:
    # Writes submitted together may share a transaction (group commit): the refused ones
    # (a reused Idempotency-Key, an unknown session) must not take the others with them.
    s = backend.storage
    sid, _ = await f.make_session(s)
    pairs = [f.pair(sid) for _ in range(12)]
    scopes = [f"scope-{n % 2}" if n % 3 == 0 else None for n in range(12)]
    results = await asyncio.gather(
        *(
            s.enqueue_send(m, q, max_depth=100, idempotency=(sc, f.answer()) if sc else None)
            for (m, q), sc in zip(pairs, scopes)
        ),
        s.enqueue_send(*f.pair("ses_missing"), max_depth=100),
        return_exceptions=True,
    )
    *sends, missing = results
    assert isinstance(missing, NotFound)
    refused = [n for n, r in enumerate(sends) if isinstance(r, Conflict)]
    assert refused == [6, 9]  # scope-0 and scope-1 again (0 and 3 took them first)
    accepted = [pairs[n][0].id for n in range(12) if n not in refused]
    assert sorted(r for r in sends if isinstance(r, int)) == list(range(1, 11))
    assert await s.queue_depth(sid) == 10
    order = []
    while (head := await s.next_queued(sid)) is not None:
        order.append(head.message_id)
        await s.finish_send(head, "sent", engine_message_id=None, reason=None, event=None)
    assert order == accepted
    assert await s.get_message(sid, pairs[9][0].id) is None
    assert await s.get_message(sid, pairs[6][0].id) is None


async def test_queue_full_writes_nothing(backend: Backend) -> None:
    s = backend.storage
    sid, _ = await f.make_session(s)
    for _ in range(3):
        m, q = f.pair(sid)
        await s.enqueue_send(m, q, max_depth=3)
    m, q = f.pair(sid)
    with pytest.raises(QueueFull):
        await s.enqueue_send(m, q, max_depth=3, idempotency=("full-scope", f.answer()))
    assert await s.queue_depth(sid) == 3
    assert await s.get_message(sid, m.id) is None
    assert await s.get_idempotent("full-scope") is None


async def test_enqueue_for_unknown_session(backend: Backend) -> None:
    m, q = f.pair("ses_missing")
    with pytest.raises(NotFound):
        await backend.storage.enqueue_send(m, q, max_depth=3)


async def test_idempotent_answer_stored_with_the_send_and_expires(backend: Backend) -> None:
    s = backend.storage
    sid, _ = await f.make_session(s)
    answer = f.answer()
    await f.enqueue(s, sid, idempotency=("key-a", answer))
    assert await s.get_idempotent("key-a") == answer
    assert await s.get_idempotent("key-b") is None
    # The same scope again while the first answer stands: refused, nothing queued.
    with pytest.raises(Conflict):
        await f.enqueue(s, sid, idempotency=("key-a", f.answer()))
    assert await s.queue_depth(sid) == 1
    # An expired answer is gone, and its scope can be used again.
    await f.enqueue(s, sid, idempotency=("key-old", f.answer(ttl_ms=-1)))
    assert await s.get_idempotent("key-old") is None
    fresh = f.answer()
    await f.enqueue(s, sid, idempotency=("key-old", fresh))
    assert await s.get_idempotent("key-old") == fresh


async def test_finish_send_records_outcome_once(backend: Backend) -> None:
    s = backend.storage
    sid, (hook,) = await f.make_session(s, ["message.status"])
    ok, _ = await f.enqueue(s, sid, "one")
    bad, _ = await f.enqueue(s, sid, "two")
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
    sid, _ = await f.make_session(backend.storage)
    mid, _ = await f.enqueue(backend.storage, sid, "persisted")
    s = await backend.reopen()
    head = await s.next_queued(sid)
    assert head is not None and head.message_id == mid and head.request.text == "persisted"


# --- inbound, statuses, history ---------------------------------------------------------------


async def test_inbound_duplicates_are_by_sender_and_id(backend: Backend) -> None:
    s = backend.storage
    sid, (hook,) = await f.make_session(s, ["message.received"])
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
    sid, (hook,) = await f.make_session(s, ["message.status"])
    mid, _ = await f.enqueue(s, sid)
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
    sid, _ = await f.make_session(s)
    other, _ = await f.make_session(s)
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
