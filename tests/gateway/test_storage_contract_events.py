"""The gateway ``Storage`` contract, continued: webhook endpoints and deliveries, API keys,
media records, and what reaches the disk (see ``test_storage_contract``)."""

from __future__ import annotations

import pytest

from tests.gateway import _store_support as f
from tests.gateway._store_support import Backend, backend_fixture  # noqa: F401 (the fixture)
from whatsapp_client.errors import VaultError
from whatsapp_client.gateway._delivery_store import PipelinedDeliveryStore
from whatsapp_client.gateway._errors import Conflict, InvalidRequest, NotFound
from whatsapp_client.gateway._ids import new_id, now_ms
from whatsapp_client.gateway._models import ApiKeyRecord, IdempotentAnswer

# --- webhooks ------------------------------------------------------------------------------


async def test_replace_webhooks_keeps_updates_and_drops(backend: Backend) -> None:
    s = backend.storage
    sid, _ = await f.make_session(s)
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
    sid, (hook,) = await f.make_session(s, None)
    await s.add_events([f.event(sid, "error")])
    assert await s.endpoints_with_work(now_ms()) == [hook]
    await s.disable_webhook(hook, "410 Gone")
    (w,) = await s.list_webhooks(sid)
    assert (w.enabled, w.disabled_reason) == (False, "410 Gone")
    assert await s.endpoints_with_work(now_ms()) == []
    await s.add_events([f.event(sid, "error")])  # no delivery for a disabled endpoint
    assert len(await s.list_deliveries(sid)) == 1


# --- deliveries ---------------------------------------------------------------------------------


async def test_events_fan_out_to_subscribed_endpoints_in_order(backend: Backend) -> None:
    s = backend.storage
    sid, (all_hook, err_hook) = await f.make_session(s, None, ["error"])
    events = [f.event(sid, "error", n=i) for i in range(3)]
    await s.add_events(events)
    await s.record_inbound(f.inbound(sid, "x"), f.event(sid))
    assert len(await s.list_deliveries(sid, endpoint_id=all_hook)) == 4
    assert len(await s.list_deliveries(sid, endpoint_id=err_hook)) == 3
    now = now_ms()
    assert sorted(await s.endpoints_with_work(now)) == sorted([all_hook, err_hook])
    assert isinstance(s, PipelinedDeliveryStore)  # an optional part SQLite offers
    pending = await s.pending_deliveries(err_hook, limit=10)
    assert [d.event.data["n"] for d in pending] == [0, 1, 2]
    assert pending[0] == await s.head_delivery(err_hook)
    assert [d.event.data["n"] for d in await s.pending_deliveries(err_hook, limit=2)] == [0, 1]
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
    assert await s.pending_deliveries(err_hook, limit=10) == []
    listed = await s.list_deliveries(sid, endpoint_id=err_hook, state="delivered")
    assert [d.event.data["n"] for d in listed] == [2, 1, 0]  # newest first
    assert all(d.finished_at == now and d.last_status == 200 for d in listed)


async def test_retry_schedule_dead_letter_and_redeliver(backend: Backend) -> None:
    s = backend.storage
    sid, (hook,) = await f.make_session(s, None)
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
    assert isinstance(s, PipelinedDeliveryStore)
    with pytest.raises(InvalidRequest):
        await s.pending_deliveries(hook, limit=0)
    other, _ = await f.make_session(s)
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


async def test_media_records(backend: Backend) -> None:
    s = backend.storage
    sid, _ = await f.make_session(s)
    other, _ = await f.make_session(s)
    await s.save_media(sid, f.media_info("med_1"), b"sealed-keys")
    assert await s.get_media(sid, "med_1") == (f.media_info("med_1"), b"sealed-keys")
    assert await s.get_media(other, "med_1") is None
    with pytest.raises(NotFound):
        await s.save_media("ses_missing", f.media_info("med_2"), b"k")


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
    assert rec.name.encode() in raw  # what is in clear is found: the raw read sees the rows
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
    sid, _ = await f.make_session(backend.storage)
    # Refused when opening (SQLite checks the key at once) or at the first sealed field.

    async def read_with_another_key() -> bytes:
        s = await backend.reopen(bytes(32))
        return await s.get_credentials(sid)

    with pytest.raises(VaultError):
        await read_with_another_key()


async def test_ping(backend: Backend) -> None:
    await backend.storage.ping()


async def test_programming_errors_are_refused_without_writing(backend: Backend) -> None:
    s = backend.storage
    sid, _ = await f.make_session(s)
    m, q = f.pair(sid)
    q.message_id = "msg_other"
    with pytest.raises(ValueError, match="name the message"):
        await s.enqueue_send(m, q, max_depth=5)
    assert await s.get_message(sid, m.id) is None
    await f.enqueue(s, sid)
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
