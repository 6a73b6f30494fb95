"""The webhook dispatcher over the real storage, SQLite and PostgreSQL (the ``backend``
fixture): events written with their cause are delivered in order, signed; outcomes,
disabling and redelivery are persisted."""

from __future__ import annotations

from aiohttp import web

from tests.gateway._hooks_support import TestClock, make_event, receiver
from tests.gateway._store_support import Backend, backend_fixture  # noqa: F401 (the fixture)
from tests.gateway.test_hooks_dispatcher import dispatching, outcome
from tests.support import eventually_async
from whatsapp_client.gateway._ids import new_id
from whatsapp_client.gateway._models import Event, MessageRecord, SessionRecord
from whatsapp_client.gateway._requests import WebhookSpec
from whatsapp_client.gateway._signing import generate_secret
from whatsapp_client.gateway._storage import Storage
from whatsapp_client.gateway._webhook_endpoints import build_endpoints


async def new_session(
    store: Storage, specs: list[WebhookSpec], now: int = 1_700_000_000_000
) -> tuple[SessionRecord, list[str]]:
    """A session with endpoints for ``specs``; returns it and the endpoints' ids."""
    session = SessionRecord(
        id=new_id("ses"),
        name=new_id("name"),
        engine="wac1",
        config={},
        status="connected",
        created_at=now,
    )
    endpoints = build_endpoints(session.id, specs, block_private=False, now=now)
    await store.create_session(session, b"credentials", endpoints)
    return session, [ep.id for ep in endpoints]


def inbound(session_id: str, n: int, now: int) -> tuple[MessageRecord, Event]:
    message = MessageRecord(
        id=new_id("msg"),
        session_id=session_id,
        direction="inbound",
        peer="alice",
        type="text",
        text=f"hello {n}",
        status="received",
        timestamp=now,
        engine_message_id=f"wac-{n}",
    )
    event = Event(
        id=new_id("evt"),
        type="message.received",
        session_id=session_id,
        timestamp=now,
        data={"id": message.id, "from": "alice", "text": message.text, "n": n},
    )
    return message, event


async def test_inbound_messages_reach_the_webhook_in_order_and_are_recorded(
    backend: Backend,
) -> None:
    secret = generate_secret()
    store = backend.storage
    async with receiver([secret]) as rec:
        session, (ep_id,) = await new_session(store, [WebhookSpec(url=rec.url, secret=secret)])
        async with dispatching(store) as (dispatcher, metrics):
            events = []
            for n in range(20):
                message, event = inbound(session.id, n, 1_700_000_000_000 + n)
                assert await store.record_inbound(message, event)
                events.append(event)
                dispatcher.wake()

            async def all_delivered() -> bool:
                done = await store.list_deliveries(session.id, state="delivered")
                return len(done) == 20

            await eventually_async(all_delivered, what="20 recorded deliveries")
        assert rec.ids() == [e.id for e in events]
        assert rec.numbers() == list(range(20))
        assert outcome(metrics, "delivered") == 20
        listed = await store.list_deliveries(session.id, endpoint_id=ep_id)
        assert [d.event.id for d in reversed(listed)] == [e.id for e in events]
        assert all(d.attempts == 1 and d.last_status == 204 for d in listed)


async def test_unsubscribed_events_are_not_posted(backend: Backend) -> None:
    secret = generate_secret()
    store = backend.storage
    async with (
        receiver([secret]) as only_errors,
        receiver([secret]) as everything,
    ):
        specs = [
            WebhookSpec(url=only_errors.url, secret=secret, events=["error"]),
            WebhookSpec(url=everything.url, secret=secret),
        ]
        session, _ = await new_session(store, specs)
        async with dispatching(store) as (dispatcher, _):
            message, event = inbound(session.id, 1, 1_700_000_000_000)
            await store.record_inbound(message, event)
            error = make_event(session.id, 2, "error")
            await store.add_events([error])
            dispatcher.wake()

            async def settled() -> bool:
                done = await store.list_deliveries(session.id, state="delivered")
                return len(done) == 3

            await eventually_async(settled, what="3 deliveries")
    assert only_errors.ids() == [error.id]
    assert everything.ids() == [event.id, error.id]


async def test_down_then_up_with_retries_persisted(backend: Backend) -> None:
    secret = generate_secret()
    clock = TestClock()
    up_at = clock.now + 60_000

    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(status=204 if clock.now >= up_at else 500)

    store = backend.storage
    async with receiver([secret]) as rec:
        rec.answer = answer
        session, _ = await new_session(store, [WebhookSpec(url=rec.url, secret=secret)])
        events = [make_event(session.id, n) for n in range(4)]
        for event in events:
            event.timestamp = clock.now
        await store.add_events(events[:2])
        async with dispatching(store, clock) as (dispatcher, _):
            dispatcher.wake()

            async def retried() -> bool:
                return len(rec.requests) >= 3

            await eventually_async(retried, what="retries")
            await store.add_events(events[2:])
            dispatcher.wake()

            async def all_delivered() -> bool:
                done = await store.list_deliveries(session.id, state="delivered")
                return len(done) == 4

            await eventually_async(all_delivered, what="every event")
        first = (await store.list_deliveries(session.id))[-1]
    assert rec.ids() == [e.id for e in events]
    assert (first.attempts, first.last_status, first.last_error) == (6, 204, None)


async def test_410_disables_the_stored_endpoint(backend: Backend) -> None:
    secret = generate_secret()

    async def gone(request: web.Request) -> web.StreamResponse:
        return web.Response(status=410)

    store = backend.storage
    async with receiver([secret]) as rec:
        rec.answer = gone
        session, (ep_id,) = await new_session(store, [WebhookSpec(url=rec.url, secret=secret)])
        async with dispatching(store) as (dispatcher, _):
            await store.add_events([make_event(session.id, 1)])
            dispatcher.wake()

            async def disabled() -> bool:
                (ep,) = await store.list_webhooks(session.id)
                return not ep.enabled

            await eventually_async(disabled, what="the endpoint disabled")
        (ep,) = await store.list_webhooks(session.id)
        assert "410" in (ep.disabled_reason or "")
        assert await store.endpoints_with_work(2**62) == []
        (pending,) = await store.list_deliveries(session.id, endpoint_id=ep_id)
        assert (pending.state, pending.last_status) == ("pending", 410)


async def test_redelivery_posts_the_same_webhook_id_again(backend: Backend) -> None:
    secret = generate_secret()
    store = backend.storage
    async with receiver([secret]) as rec:
        session, _ = await new_session(store, [WebhookSpec(url=rec.url, secret=secret)])
        async with dispatching(store) as (dispatcher, _):
            event = make_event(session.id, 1)
            await store.add_events([event])
            dispatcher.wake()

            async def delivered(n: int) -> bool:
                return len(await store.list_deliveries(session.id, state="delivered")) == n

            await eventually_async(lambda: delivered(1), what="the delivery")
            (done,) = await store.list_deliveries(session.id)
            await store.redeliver(session.id, done.seq, now=1_700_000_000_000)
            dispatcher.wake()
            await eventually_async(lambda: delivered(2), what="the redelivery")
    assert rec.ids() == [event.id, event.id]
    assert rec.received[0].body == rec.received[1].body
