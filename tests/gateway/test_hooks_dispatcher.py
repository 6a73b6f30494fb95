"""The webhook dispatcher against a real receiver on loopback (every request verified with
``standardwebhooks``), over the in-memory delivery store; retries run on a test clock."""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Optional

import pytest
from aiohttp import web
from standardwebhooks import Webhook

from tests.gateway._hooks_support import (
    MemoryDeliveries,
    PipelinedMemoryDeliveries,
    TestClock,
    make_endpoint,
    make_event,
    receiver,
)
from tests.support import eventually
from whatsapp_client.gateway._dispatcher import DeliveryStore, WebhookDispatcher
from whatsapp_client.gateway._metrics import GatewayMetrics
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._signing import generate_secret

SESSION = "ses_hooks"
StoreClass = type[MemoryDeliveries]


@pytest.fixture(params=[MemoryDeliveries, PipelinedMemoryDeliveries], ids=["head", "pipelined"])
def store_class(request: pytest.FixtureRequest) -> StoreClass:
    """Every dispatcher test runs over a store that gives only the head and over one that
    lists the deliveries behind it."""
    cls: StoreClass = request.param
    return cls


@asynccontextmanager
async def dispatching(
    store: DeliveryStore,
    clock: Optional[TestClock] = None,
    settings: Optional[GatewaySettings] = None,
    **kw: Any,
) -> AsyncIterator[tuple[WebhookDispatcher, GatewayMetrics]]:
    metrics = GatewayMetrics()
    if clock is not None:
        kw["clock"] = clock
        kw.setdefault("sleep", clock.sleep)
    kw.setdefault("poll_interval", 0.05)
    dispatcher = WebhookDispatcher(store, settings or GatewaySettings(), metrics, **kw)
    await dispatcher.start()
    try:
        yield dispatcher, metrics
    finally:
        await dispatcher.close()


def outcome(metrics: GatewayMetrics, name: str) -> float:
    value = metrics.registry.get_sample_value("gateway_webhook_deliveries_total", {"outcome": name})
    return value or 0.0


async def test_events_arrive_signed_in_order_with_the_documented_body(
    store_class: StoreClass,
) -> None:
    secret = generate_secret()
    clock = TestClock()
    store = store_class(clock)
    async with receiver([secret]) as rec, dispatching(store, clock) as (dispatcher, metrics):
        ep = make_endpoint(SESSION, rec.url, [secret])
        store.add_endpoint(ep)
        events = [make_event(SESSION, n) for n in range(5)]
        for event in events:
            store.add_event(event)
        dispatcher.wake()
        await eventually(
            lambda: sum(d.state == "delivered" for d in store.of(ep.id)) == 5,
            what="5 recorded deliveries",
        )
    assert rec.ids() == [e.id for e in events]
    first = rec.received[0]
    assert first.payload == {
        "type": "message.received",
        "session_id": SESSION,
        "timestamp": events[0].timestamp,
        "data": events[0].data,
    }
    assert first.headers["content-type"] == "application/json"
    assert all(d.state == "delivered" and d.attempts == 1 for d in store.of(ep.id))
    assert outcome(metrics, "delivered") == 5
    assert metrics.registry.get_sample_value("gateway_webhook_latency_seconds_count") == 5


async def test_rotation_either_secret_verifies(store_class: StoreClass) -> None:
    new, old = generate_secret(), generate_secret()
    store = store_class(TestClock())
    async with receiver([old]) as rec, dispatching(store) as (dispatcher, _):
        store.add_endpoint(make_endpoint(SESSION, rec.url, [new, old]))
        store.add_event(make_event(SESSION, 1))
        dispatcher.wake()
        await eventually(lambda: len(rec.received) == 1, what="the delivery")
    got = rec.received[0]
    assert Webhook(new).verify(got.body, got.headers) == Webhook(old).verify(got.body, got.headers)


async def test_endpoint_down_for_a_minute_then_up_gets_every_event_in_order(
    store_class: StoreClass,
) -> None:
    secret = generate_secret()
    clock = TestClock()
    store = store_class(clock)
    up_at = clock.now + 60_000

    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(status=204 if clock.now >= up_at else 503)

    async with receiver([secret]) as rec, dispatching(store, clock) as (dispatcher, metrics):
        rec.answer = answer
        ep = make_endpoint(SESSION, rec.url, [secret])
        store.add_endpoint(ep)
        for n in range(3):
            store.add_event(make_event(SESSION, n))
        dispatcher.wake()
        await eventually(lambda: len(rec.requests) >= 2, what="a retry")
        for n in range(3, 6):  # more events while it is down
            store.add_event(make_event(SESSION, n))
        dispatcher.wake()
        await eventually(lambda: len(rec.received) == 6, what="every event")
    assert rec.numbers() == list(range(6))
    # While down, only the head was ever tried, on the fast then slow schedule.
    failed = [r for r in rec.requests if r not in rec.received]
    assert {json.loads(r.body)["data"]["n"] for r in failed} == {0}
    assert clock.sleeps[:5] == [1.0, 2.0, 4.0, 30.0, 300.0]
    assert outcome(metrics, "retry") == len(failed) == 5


async def test_500_forever_is_dead_lettered_after_24_hours_then_the_next_goes(
    store_class: StoreClass,
) -> None:
    secret = generate_secret()
    clock = TestClock()
    store = store_class(clock)
    start = clock.now

    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(status=500)

    async with receiver([secret]) as rec, dispatching(store, clock) as (dispatcher, metrics):
        rec.answer = answer
        ep = make_endpoint(SESSION, rec.url, [secret])
        store.add_endpoint(ep)
        store.add_event(make_event(SESSION, 1))
        store.add_event(make_event(SESSION, 2))
        dispatcher.wake()
        await eventually(
            lambda: all(d.state == "dead" for d in store.of(ep.id)), what="dead letters"
        )
    first, second = sorted(store.of(ep.id), key=lambda d: d.seq)
    assert first.attempts == 12
    assert first.finished_at == start + 24 * 3600 * 1000
    assert first.last_status == 500
    assert first.last_error == "answered 500"
    # The second waited behind the first, past its own age: one try, then dead.
    assert second.attempts == 1
    assert outcome(metrics, "dead") == 2
    assert outcome(metrics, "retry") == 11
    assert len(rec.requests) == 13


async def test_410_disables_the_endpoint_and_keeps_the_event(store_class: StoreClass) -> None:
    secret = generate_secret()
    store = store_class(TestClock())

    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(status=410)

    async with receiver([secret]) as rec, dispatching(store) as (dispatcher, metrics):
        rec.answer = answer
        ep = make_endpoint(SESSION, rec.url, [secret])
        store.add_endpoint(ep)
        store.add_event(make_event(SESSION, 1))
        store.add_event(make_event(SESSION, 2))
        dispatcher.wake()
        await eventually(lambda: not store.endpoints[ep.id].enabled, what="disabled")
        await eventually(lambda: not dispatcher.busy_endpoints, what="the worker to stop")
    assert "410" in (store.endpoints[ep.id].disabled_reason or "")
    assert len(rec.requests) == 1
    head = min(store.of(ep.id), key=lambda d: d.seq)
    assert (head.state, head.last_status, head.attempts) == ("pending", 410, 1)
    assert outcome(metrics, "disabled") == 1


async def _retry_after_sleep(
    store_class: StoreClass, value: str, wall: float, status: int = 429
) -> list[float]:
    secret = generate_secret()
    clock = TestClock()
    store = store_class(clock)
    answers = [web.Response(status=status, headers={"Retry-After": value})]

    async def answer(request: web.Request) -> web.StreamResponse:
        return answers.pop() if answers else web.Response(status=200)

    async with (
        receiver([secret]) as rec,
        dispatching(store, clock, wall=lambda: wall) as (
            dispatcher,
            _,
        ),
    ):
        rec.answer = answer
        store.add_endpoint(make_endpoint(SESSION, rec.url, [secret]))
        store.add_event(make_event(SESSION, 1))
        dispatcher.wake()
        await eventually(lambda: len(store.finishes) == 2, what="the recorded delivery")
    assert [f.status for f in store.finishes] == [status, 200]
    return clock.sleeps


async def test_429_retry_after_seconds_is_honoured(store_class: StoreClass) -> None:
    assert await _retry_after_sleep(store_class, "120", time.time()) == [120.0]


async def test_503_retry_after_is_honoured_too(store_class: StoreClass) -> None:
    assert await _retry_after_sleep(store_class, "45", time.time(), status=503) == [45.0]


async def test_500_retry_after_is_ignored(store_class: StoreClass) -> None:
    assert await _retry_after_sleep(store_class, "45", time.time(), status=500) == [1.0]


async def test_429_retry_after_http_date_is_honoured_and_capped(store_class: StoreClass) -> None:
    wall = float(int(time.time()))
    date = email.utils.formatdate(wall + 900, usegmt=True)
    assert await _retry_after_sleep(store_class, date, wall) == [900.0]
    assert await _retry_after_sleep(store_class, "86400", wall) == [3600.0]


async def test_a_slow_endpoint_does_not_delay_another(store_class: StoreClass) -> None:
    secret = generate_secret()
    store = store_class(TestClock())
    release = asyncio.Event()

    async def stuck(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.Response(status=204)

    async with (
        receiver([secret]) as slow,
        receiver([secret]) as fast,
        dispatching(store) as (
            dispatcher,
            _,
        ),
    ):
        slow.answer = stuck
        store.add_endpoint(make_endpoint(SESSION, slow.url, [secret]))
        store.add_endpoint(make_endpoint(SESSION, fast.url, [secret]))
        for n in range(3):
            store.add_event(make_event(SESSION, n))
        dispatcher.wake()
        await eventually(lambda: len(fast.received) == 3, what="the fast endpoint")
        # The slow endpoint's head is still in flight and nothing behind it was sent.
        assert len(slow.requests) == 1
        assert not slow.received
        release.set()
        await eventually(lambda: len(slow.received) == 3, what="the slow endpoint")
    assert slow.numbers() == fast.numbers() == [0, 1, 2]


async def test_timeout_is_bounded_then_retried(store_class: StoreClass) -> None:
    secret = generate_secret()
    clock = TestClock()
    store = store_class(clock)
    hang = asyncio.Event()
    calls = []

    async def answer(request: web.Request) -> web.StreamResponse:
        calls.append(1)
        if len(calls) == 1:
            await hang.wait()  # set only after the retry: the client's timeout ends this one
        return web.Response(status=204)

    settings = GatewaySettings(webhook_timeout=0.2)
    async with receiver([secret]) as rec, dispatching(store, clock, settings) as (dispatcher, _):
        rec.answer = answer
        store.add_endpoint(make_endpoint(SESSION, rec.url, [secret]))
        store.add_event(make_event(SESSION, 1))
        dispatcher.wake()
        await eventually(
            lambda: any(f.state == "delivered" for f in store.finishes), what="a delivered retry"
        )
        hang.set()
    # On a slow machine a retry may time out too; each failure is the bounded timeout.
    *failed, done = store.finishes
    assert failed and all(f.status is None for f in failed)
    assert all(f.error == "no answer within 0.2 s" for f in failed)
    assert done.state == "delivered"


async def test_redirects_are_not_followed(store_class: StoreClass) -> None:
    secret = generate_secret()
    clock = TestClock()
    store = store_class(clock)
    moved: list[int] = []

    async def answer(request: web.Request) -> web.StreamResponse:
        if not moved:
            moved.append(1)
            raise web.HTTPTemporaryRedirect(location="/elsewhere")
        return web.Response(status=204)

    async with receiver([secret]) as rec, dispatching(store, clock) as (dispatcher, _):
        rec.answer = answer
        store.add_endpoint(make_endpoint(SESSION, rec.url, [secret]))
        store.add_event(make_event(SESSION, 1))
        dispatcher.wake()
        await eventually(lambda: len(rec.received) == 1, what="the retry")
    assert store.finishes[0].status == 307
    assert "redirects are not followed" in (store.finishes[0].error or "")
    assert len(rec.requests) == 2  # the same URL twice, never /elsewhere
