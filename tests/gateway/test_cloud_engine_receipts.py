"""Webhooks racing the session. A status webhook can reach the gateway before the send it
is about is recorded (Graph answers the send, Meta posts ``delivered`` at once): it waits
for that record instead of being dropped. A webhook the session stops while handling is
answered 503 (Meta posts it again) rather than 200 with its events dropped."""

from __future__ import annotations

import asyncio
from typing import Any, Optional

from tests.gateway._api_support import GatewayHandle, wait_status
from tests.gateway._cloud_support import (
    CUSTOMER,
    create_cloud_session,
    history,
    hook_url,
    simulator,
    wait_message,
)


async def test_a_receipt_that_overtakes_the_record_of_its_send_is_kept(
    gateway: GatewayHandle,
) -> None:
    assert gateway.components is not None
    storage: Any = gateway.components.storage
    async with simulator() as sim:
        sid = (await create_cloud_session(gateway, sim))["id"]
        await wait_status(gateway, sid, "connected")
        url = hook_url(gateway, sid)
        real_finish = storage.finish_send
        real_status = storage.set_message_status
        status_tried = asyncio.Event()
        posts: list[asyncio.Task[int]] = []

        async def set_status(*args: Any, **kwargs: Any) -> Any:
            status_tried.set()
            return await real_status(*args, **kwargs)

        async def finish_send(item: Any, status: str, **kwargs: Any) -> None:
            wamid: Optional[str] = kwargs.get("engine_message_id")
            if status == "sent" and wamid is not None and not posts:
                # Meta's receipt arrives while the send is being recorded.
                payload = sim.status_payload(wamid, "delivered", CUSTOMER)
                posts.append(asyncio.ensure_future(sim.deliver(url, payload)))
                # Give it the time to reach the storage (it must wait for this record).
                await asyncio.wait({asyncio.ensure_future(status_tried.wait())}, timeout=1.0)
            await real_finish(item, status, **kwargs)

        storage.finish_send = finish_send
        storage.set_message_status = set_status
        try:
            sent = await gateway.call(
                "POST",
                f"/api/v1/sessions/{sid}/messages",
                json_body={"to": CUSTOMER, "text": "fast receipt"},
            )
            assert sent.status == 202, sent.body
            await wait_message(gateway, sid, sent.body["id"], "delivered")
            assert [await p for p in posts] == [200]
        finally:
            storage.finish_send = real_finish
            storage.set_message_status = real_status


async def test_a_webhook_the_session_stops_during_is_not_acknowledged(
    gateway: GatewayHandle,
) -> None:
    assert gateway.components is not None
    service = gateway.components.service
    async with simulator() as sim:
        sid = (await create_cloud_session(gateway, sim))["id"]
        await wait_status(gateway, sid, "connected")
        engine: Any = service.running_engine(sid)
        handlers = engine.receiver.handlers
        real_dispatch = handlers.dispatch
        real_stop = engine.stop
        stopping = asyncio.Event()
        stops: list[asyncio.Task[Any]] = []

        async def stop() -> None:
            stopping.set()
            await real_stop()  # no longer live from its first step on

        engine.stop = stop

        async def dispatch(events: Any) -> None:
            # The operator stops the session after Meta's POST was accepted, before its
            # events are handed over.
            stops.append(
                asyncio.ensure_future(gateway.call("POST", f"/api/v1/sessions/{sid}/stop"))
            )
            await stopping.wait()
            await real_dispatch(events)

        handlers.dispatch = dispatch
        payload = sim.inbound_text(CUSTOMER, "mid-stop")
        # Not recorded: Meta is told to post it again.
        assert await sim.deliver(hook_url(gateway, sid), payload) == 503
        assert (await stops[0]).status == 200
        assert (await gateway.call("POST", f"/api/v1/sessions/{sid}/restart")).status == 200
        await wait_status(gateway, sid, "connected")
        assert await sim.deliver(hook_url(gateway, sid), payload) == 200
        assert [m["text"] for m in await history(gateway, sid)] == ["mid-stop"]
