"""Retention: finished deliveries, unneeded events and expired idempotent answers are pruned;
nothing pending is; the gateway's periodic sweep runs it."""

from __future__ import annotations

from tests.gateway import _store_support as f
from tests.gateway._store_support import Backend, backend_fixture  # noqa: F401 (the fixture)
from tests.support import eventually_async
from whatsapp_client.gateway._ids import now_ms
from whatsapp_client.gateway._retention import RetentionSweep


async def _finish(backend: Backend, hook: str, at: int) -> int:
    s = backend.storage
    head = await s.head_delivery(hook)
    assert head is not None
    await s.finish_delivery(
        head.seq, "delivered", attempts=1, next_attempt_at=at, status_code=200, error=None, at=at
    )
    return head.seq


async def test_prune_keeps_what_is_pending_or_recent(backend: Backend) -> None:
    s = backend.storage
    sid, (hook,) = await f.make_session(s, None)
    old, recent, pending = (f.event(sid, "error", n=i) for i in range(3))
    for e in (old, recent, pending):
        e.timestamp = 1_000
    await s.add_events([old, recent, pending])
    await _finish(backend, hook, at=2_000)  # old: finished long ago
    await _finish(backend, hook, at=9_000)  # recent: finished after the cut
    _, _ = await f.enqueue(s, sid, "b", idempotency=("live", f.answer()))
    _, _ = await f.enqueue(s, sid, "a", idempotency=("expired", f.answer(ttl_ms=-1)))

    gone = await s.prune(before=5_000, now=now_ms())

    assert gone == 3  # the old delivery, its event, the expired answer
    left = await s.list_deliveries(sid)
    assert [d.event.id for d in left] == [pending.id, recent.id]  # newest first
    assert (await s.head_delivery(hook)) is not None  # the pending one is still due
    assert await s.get_idempotent("expired") is None
    assert await s.get_idempotent("live") is not None
    assert await s.prune(before=5_000, now=now_ms()) == 0  # nothing more to do


async def test_redelivering_before_the_cut_keeps_the_event(backend: Backend) -> None:
    s = backend.storage
    sid, (hook,) = await f.make_session(s, None)
    e = f.event(sid, "error")
    e.timestamp = 1_000
    await s.add_events([e])
    seq = await _finish(backend, hook, at=2_000)
    again = await s.redeliver(sid, seq, now_ms())
    await s.prune(before=5_000, now=now_ms())
    head = await s.head_delivery(hook)
    assert head is not None and head.seq == again.seq and head.event == e


async def test_the_sweep_runs_periodically_and_stops(backend: Backend) -> None:
    s = backend.storage
    sid, (hook,) = await f.make_session(s, None)
    e = f.event(sid, "error")
    e.timestamp = 1_000
    await s.add_events([e])
    await _finish(backend, hook, at=2_000)
    sweep = RetentionSweep(s, keep_seconds=1, interval=0.05)
    sweep.start()
    try:

        async def pruned() -> bool:
            return await s.list_deliveries(sid) == []

        await eventually_async(pruned, what="the old delivery pruned by the sweep")
    finally:
        await sweep.close()
    await sweep.close()  # idempotent
