"""Two webhook dispatchers (two gateway processes) on one database, SQLite or PostgreSQL (the
``backend`` fixture), each with its own storage: every endpoint is posted by one of them at a
time, so each event arrives once and in order, and a dispatcher that closes hands its
endpoints to the other at once."""

from __future__ import annotations

from aiohttp import web

from tests.gateway._hooks_support import receiver
from tests.gateway._store_support import Backend, backend_fixture  # noqa: F401 (the fixture)
from tests.gateway.test_hooks_dispatcher import dispatching
from tests.gateway.test_hooks_storage import inbound, new_session
from tests.support import eventually, eventually_async
from whatsapp_client.gateway._ids import now_ms
from whatsapp_client.gateway._models import Event
from whatsapp_client.gateway._requests import WebhookSpec
from whatsapp_client.gateway._signing import generate_secret
from whatsapp_client.gateway._storage import Storage

TTL = 15_000
RETRIES = [0.1] * 100  # retry at once: the test is about who posts, not when


async def _record(store: Storage, session_id: str, first: int, count: int) -> list[Event]:
    events = []
    for n in range(first, first + count):
        message, event = inbound(session_id, n, now_ms())
        assert await store.record_inbound(message, event)
        events.append(event)
    return events


async def test_two_dispatchers_deliver_each_event_once_and_in_order(backend: Backend) -> None:
    secret = generate_secret()
    async with (
        receiver([secret]) as one,
        receiver([secret]) as two,
    ):
        store_a, store_b = backend.storage, await backend.another()
        specs = [WebhookSpec(url=r.url, secret=secret) for r in (one, two)]
        session, _ = await new_session(store_a, specs)
        async with (
            dispatching(store_a, owner="gwp_a") as (a, _),
            dispatching(store_b, owner="gwp_b") as (b, _),
        ):
            events = await _record(store_a, session.id, 0, 30)
            a.wake()
            b.wake()

            async def all_delivered() -> bool:
                done = await store_b.list_deliveries(session.id, state="delivered", limit=100)
                return len(done) == 60

            await eventually_async(all_delivered, timeout=20, what="60 recorded deliveries")
    for rec in (one, two):
        assert rec.ids() == [e.id for e in events]  # once each, in order


async def test_a_closing_dispatcher_hands_its_endpoints_over_at_once(backend: Backend) -> None:
    secret = generate_secret()
    up = [False]

    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(status=204 if up[0] else 503)

    async with (
        receiver([secret]) as rec,
    ):
        store_a, store_b = backend.storage, await backend.another()
        rec.answer = answer
        session, (endpoint,) = await new_session(store_a, [WebhookSpec(url=rec.url, secret=secret)])
        async with dispatching(store_a, owner="gwp_a", schedule=RETRIES) as (a, _):
            events = await _record(store_a, session.id, 0, 5)
            a.wake()
            await eventually(lambda: len(rec.requests) >= 1, timeout=20, what="a's attempt")
            assert await store_b.claim_endpoints("gwp_b", now_ms(), TTL) == []  # a's
        # a closed with work pending: its claim is free now, not in 15 s.
        assert await store_b.claim_endpoints("gwp_b", now_ms(), TTL) == [endpoint]
        up[0] = True
        async with dispatching(store_b, owner="gwp_b", schedule=RETRIES) as (b, _):
            b.wake()
            await eventually_async(
                lambda: _delivered(store_b, session.id, 5), timeout=20, what="b's deliveries"
            )
    assert rec.ids() == [e.id for e in events]


async def _delivered(store: Storage, session_id: str, count: int) -> bool:
    return len(await store.list_deliveries(session_id, state="delivered", limit=100)) == count
