"""The dispatcher's life: private addresses at delivery time, wake-ups from other threads,
restart with retries pending, storage trouble, endpoints removed while waiting."""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Optional

import msgspec
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from standardwebhooks import Webhook, WebhookVerificationError

from tests.gateway._hooks_support import (
    MemoryDeliveries,
    PipelinedMemoryDeliveries,
    TestClock,
    make_endpoint,
    make_event,
    receiver,
)
from tests.gateway.test_hooks_dispatcher import SESSION, dispatching, outcome
from tests.support import eventually
from whatsapp_client.gateway._models import Delivery
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._signing import generate_secret

BLOCKING = GatewaySettings(webhook_block_private=True)


class _Loopback(AbstractResolver):
    """Every name is 127.0.0.1: what a DNS rebinding attack makes a public name do."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host, host="127.0.0.1", port=port, family=family, proto=0, flags=0
            )
        ]

    async def close(self) -> None:
        pass


def _public_name(url: str) -> str:
    return url.replace("127.0.0.1", "hooks.example")


async def test_name_resolving_to_loopback_is_allowed_by_default() -> None:
    secret = generate_secret()
    store = MemoryDeliveries(TestClock())
    async with receiver([secret]) as rec, dispatching(store, resolver=_Loopback()) as (d, _):
        store.add_endpoint(make_endpoint(SESSION, _public_name(rec.url), [secret]))
        store.add_event(make_event(SESSION, 1))
        d.wake()
        await eventually(lambda: len(rec.received) == 1, what="the delivery")


async def test_name_resolving_to_loopback_is_refused_when_connecting() -> None:
    secret = generate_secret()
    clock = TestClock()
    store = MemoryDeliveries(clock)
    async with (
        receiver([secret]) as rec,
        dispatching(store, clock, BLOCKING, resolver=_Loopback()) as (d, _),
    ):
        store.add_endpoint(make_endpoint(SESSION, _public_name(rec.url), [secret]))
        store.add_event(make_event(SESSION, 1))
        d.wake()
        await eventually(lambda: len(store.finishes) >= 1, what="an attempt")
    assert not rec.requests
    assert store.finishes[0].status is None
    assert "refused address (127.0.0.1)" in (store.finishes[0].error or "")


async def test_private_literal_stored_before_the_setting_is_refused_at_delivery() -> None:
    secret = generate_secret()
    clock = TestClock()
    store = MemoryDeliveries(clock)
    async with receiver([secret]) as rec, dispatching(store, clock, BLOCKING) as (d, metrics):
        store.add_endpoint(make_endpoint(SESSION, rec.url, [secret]))
        store.add_event(make_event(SESSION, 1))
        d.wake()
        await eventually(lambda: len(store.finishes) >= 1, what="an attempt")
    assert not rec.requests
    assert (store.finishes[0].error or "").startswith("url refused:")
    assert outcome(metrics, "retry") >= 1


async def test_wake_from_another_thread() -> None:
    secret = generate_secret()
    store = MemoryDeliveries(TestClock())
    async with receiver([secret]) as rec, dispatching(store, poll_interval=3600) as (d, _):
        store.add_endpoint(make_endpoint(SESSION, rec.url, [secret]))
        store.add_event(make_event(SESSION, 1))
        await asyncio.to_thread(d.wake)
        await eventually(lambda: len(rec.received) == 1, what="the delivery")


async def test_restart_resumes_a_pending_retry_on_its_schedule() -> None:
    secret = generate_secret()
    clock = TestClock()
    store = MemoryDeliveries(clock)
    status = [503]

    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status[0])

    async with receiver([secret]) as rec:
        rec.answer = answer
        ep = make_endpoint(SESSION, rec.url, [secret])
        store.add_endpoint(ep)
        events = [make_event(SESSION, n) for n in range(3)]
        for event in events:
            store.add_event(event)
        # A sleep that never ends: the dispatcher is stopped while it waits for a retry.
        never = asyncio.Event()

        async def parked(seconds: float) -> None:
            await never.wait()

        async with dispatching(store, clock=clock, sleep=parked) as (d, _):
            d.wake()
            await eventually(lambda: len(store.finishes) == 1, what="the first failure")
        head = min(store.of(ep.id), key=lambda x: x.seq)
        assert (head.state, head.attempts, head.next_attempt_at) == (
            "pending",
            1,
            clock.now + 1000,
        )
        status[0] = 204
        async with dispatching(store, clock) as (d, _):  # a new process: picks it up alone
            await eventually(lambda: len(rec.received) == 3, what="every event")
    assert rec.ids() == [e.id for e in events]
    assert clock.sleeps == [1.0]


class _Flaky(MemoryDeliveries):
    def __init__(self, clock: TestClock) -> None:
        super().__init__(clock)
        self.failures = 2

    async def head_delivery(self, endpoint_id: str) -> Optional[Delivery]:
        if self.failures:
            self.failures -= 1
            raise OSError("database is locked")
        return await super().head_delivery(endpoint_id)


async def test_storage_trouble_in_a_worker_is_retried_by_the_next_scan() -> None:
    secret = generate_secret()
    store = _Flaky(TestClock())
    async with receiver([secret]) as rec, dispatching(store) as (d, _):
        store.add_endpoint(make_endpoint(SESSION, rec.url, [secret]))
        store.add_event(make_event(SESSION, 1))
        d.wake()
        await eventually(lambda: len(rec.received) == 1, what="the delivery")
    assert store.failures == 0


class _Broken(MemoryDeliveries):
    scans = 0

    async def claim_endpoints(
        self, owner: str, now: int, ttl_ms: int, *, limit: int = 1000
    ) -> list[str]:
        self.scans += 1
        if self.scans <= 3:
            raise OSError("disk I/O error")
        return await super().claim_endpoints(owner, now, ttl_ms, limit=limit)


async def test_the_scheduler_survives_storage_trouble() -> None:
    secret = generate_secret()
    store = _Broken(TestClock())
    async with receiver([secret]) as rec, dispatching(store) as (d, _):
        store.add_endpoint(make_endpoint(SESSION, rec.url, [secret]))
        store.add_event(make_event(SESSION, 1))
        d.wake()
        await eventually(lambda: len(rec.received) == 1, what="the delivery")
    assert store.scans > 3


async def test_worker_stops_when_its_endpoint_is_removed_while_waiting() -> None:
    secret = generate_secret()
    clock = TestClock()
    store = MemoryDeliveries(clock)
    gate = asyncio.Event()

    async def sleep(seconds: float) -> None:
        await gate.wait()
        await clock.sleep(seconds)

    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(status=500)

    async with receiver([secret]) as rec, dispatching(store, clock=clock, sleep=sleep) as (d, _):
        rec.answer = answer
        ep = make_endpoint(SESSION, rec.url, [secret])
        store.add_endpoint(ep)
        store.add_event(make_event(SESSION, 1))
        d.wake()
        await eventually(lambda: len(store.finishes) == 1, what="the first failure")
        del store.endpoints[ep.id]  # replaced by a PATCH while the worker waits
        gate.set()
        await eventually(lambda: not d.busy_endpoints, what="the worker to stop")
    assert len(rec.requests) == 1


async def test_connection_refused_is_recorded_and_retried() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clock = TestClock()
    store = MemoryDeliveries(clock)
    async with dispatching(store, clock) as (d, _):
        d.wake()  # nothing to do yet
        store.add_endpoint(make_endpoint(SESSION, f"http://127.0.0.1:{port}/", [generate_secret()]))
        store.add_event(make_event(SESSION, 1))
        d.wake()
        await eventually(lambda: len(store.finishes) >= 2, what="a retry")
    assert (store.finishes[0].error or "").startswith("ClientConnectorError")
    assert store.finishes[0].next_attempt_at == store.finishes[0].at + 1000


async def test_start_twice_is_refused_and_wake_before_start_is_harmless() -> None:
    from whatsapp_client.gateway._dispatcher import WebhookDispatcher
    from whatsapp_client.gateway._metrics import GatewayMetrics

    d = WebhookDispatcher(MemoryDeliveries(TestClock()), GatewaySettings(), GatewayMetrics())
    d.wake()
    await d.start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            await d.start()
    finally:
        await d.close()
    await d.close()  # twice is fine


async def test_receiver_hanging_up_is_recorded_and_retried() -> None:
    secret = generate_secret()
    clock = TestClock()
    store = MemoryDeliveries(clock)

    async def answer(request: web.Request) -> web.StreamResponse:
        if len(store.finishes) == 0 and request.transport is not None:
            request.transport.close()  # no answer at all
        return web.Response(status=204)

    async with receiver([secret]) as rec, dispatching(store, clock) as (d, _):
        rec.answer = answer
        store.add_endpoint(make_endpoint(SESSION, rec.url, [secret]))
        store.add_event(make_event(SESSION, 1))
        d.wake()
        await eventually(
            lambda: store.finishes[-1:] != [] and store.finishes[-1].state == "delivered",
            what="the retry",
        )
    assert store.finishes[0].status is None
    assert "ServerDisconnected" in (store.finishes[0].error or "")


async def _close_during_a_post(grace: float) -> MemoryDeliveries:
    secret = generate_secret()
    store = MemoryDeliveries(TestClock())
    release = asyncio.Event()

    async def answer(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.Response(status=204)

    async with receiver([secret]) as rec:
        rec.answer = answer
        async with dispatching(store) as (d, _):
            store.add_endpoint(make_endpoint(SESSION, rec.url, [secret]))
            store.add_event(make_event(SESSION, 1))
            store.add_event(make_event(SESSION, 2))
            d.wake()
            await eventually(lambda: len(rec.requests) == 1, what="a POST in flight")
            closing = asyncio.create_task(d.close(grace=grace))
            if grace > 1:
                await asyncio.sleep(0)
                release.set()
            await closing
        release.set()
    return store


async def test_close_lets_a_post_in_flight_finish_and_records_it() -> None:
    store = await _close_during_a_post(grace=60.0)
    first, second = sorted(store.deliveries.values(), key=lambda x: x.seq)
    assert first.state == "delivered"
    assert second.state == "pending" and second.attempts == 0  # not started while closing


async def test_close_cuts_a_post_short_after_the_grace_and_keeps_it_pending() -> None:
    store = await _close_during_a_post(grace=0.01)
    assert all(d.state == "pending" and d.attempts == 0 for d in store.deliveries.values())


async def test_a_rotated_secret_takes_effect_during_a_backlog() -> None:
    old, new = generate_secret(), generate_secret()
    store = MemoryDeliveries(TestClock())
    async with receiver([old, new]) as rec, dispatching(store) as (d, _):
        ep = make_endpoint(SESSION, rec.url, [old])
        store.add_endpoint(ep)
        n = 0

        def signed_with_new_only() -> bool:
            nonlocal n
            if not rec.received:
                return False
            last = rec.received[-1]
            try:
                Webhook(old).verify(last.body, last.headers)
            except WebhookVerificationError:
                return True
            n += 1  # keep the backlog going
            store.add_event(make_event(SESSION, n))
            d.wake()
            return False

        store.add_event(make_event(SESSION, 0))
        d.wake()
        await eventually(lambda: len(rec.received) == 1, what="the first delivery")
        store.endpoints[ep.id] = msgspec.structs.replace(ep, secrets=[new])
        await eventually(signed_with_new_only, what="a delivery signed with the new secret")


class _SlowCommits(PipelinedMemoryDeliveries):
    """Outcomes are committed only when the test says so."""

    def __init__(self, clock: TestClock) -> None:
        super().__init__(clock)
        self.commit = asyncio.Event()

    async def finish_delivery(self, seq: int, state: Any, **kw: Any) -> None:
        await self.commit.wait()
        await super().finish_delivery(seq, state, **kw)


async def test_a_slow_commit_does_not_hold_up_the_next_post() -> None:
    secret = generate_secret()
    store = _SlowCommits(TestClock())
    async with receiver([secret]) as rec, dispatching(store) as (d, _):
        ep = make_endpoint(SESSION, rec.url, [secret])
        store.add_endpoint(ep)
        for n in range(3):
            store.add_event(make_event(SESSION, n))
        d.wake()
        await eventually(lambda: len(rec.received) == 3, what="3 POSTs before any commit")
        assert not store.finishes
        store.commit.set()
        await eventually(
            lambda: [x.state for x in store.of(ep.id)] == ["delivered"] * 3, what="3 recorded"
        )
    assert rec.numbers() == [0, 1, 2]
