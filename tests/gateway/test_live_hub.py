"""The event hub: fan-out in order, bounded queues (a slow subscriber is dropped, nobody
waits), coalesced counters, close at shutdown; and on the real app, a client that stops
reading is dropped while the gateway keeps serving."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Optional

import pytest

from tests.gateway._api_support import ADMIN_KEY, running_gateway
from tests.gateway._live_support import StreamReader
from tests.support import eventually
from whatsapp_client.gateway._errors import NotFound
from whatsapp_client.gateway._event_hub import EventHub, LiveEvent, StreamClosed
from whatsapp_client.gateway._principal import Principal

log = logging.getLogger("whatsapp_client.gateway.test_live_hub")


def _event(n: int) -> LiveEvent:
    return LiveEvent("message", "ses_a", {"n": n})


async def test_a_slow_subscriber_is_dropped_and_the_others_get_everything() -> None:
    hub = EventHub(queue_limit=3)
    hub.bind()
    fast, slow = hub.subscribe(), hub.subscribe()
    got = []
    for n in range(10):
        hub.publish(_event(n))  # synchronous: returns without waiting for anyone
        event = await fast.next(1.0)
        assert event is not None
        got.append(event.data["n"])
    assert got == list(range(10))
    assert slow.dropped and slow.closed and hub.subscribers == 1
    with pytest.raises(StreamClosed):
        await slow.next(1.0)  # nothing queued is handed to a dropped subscriber


async def test_next_times_out_for_a_heartbeat_and_ends_after_close() -> None:
    hub = EventHub()
    hub.bind()
    sub = hub.subscribe()
    assert await sub.next(0.01) is None
    hub.publish(_event(1))
    await hub.close()
    first = await sub.next(1.0)  # what was queued before the close still arrives
    assert first is not None and first.data["n"] == 1
    with pytest.raises(StreamClosed):
        await sub.next(1.0)
    with pytest.raises(StreamClosed):
        hub.subscribe()


async def test_counters_are_coalesced_per_session() -> None:
    reads: list[str] = []

    async def counters(session_id: str) -> Optional[Mapping[str, int]]:
        reads.append(session_id)
        return {"sent": len(reads), "received": 0, "failed": 0, "queue_depth": 0}

    hub = EventHub(counters=counters, counters_interval=60.0)
    hub.bind()
    sub = hub.subscribe()
    for _ in range(5):
        hub.counters_changed("ses_a")
    hub.counters_changed("ses_b")
    first = await sub.next(5.0)
    second = await sub.next(5.0)
    assert first is not None and second is not None
    assert {first.session_id, second.session_id} == {"ses_a", "ses_b"}
    assert sorted(reads) == ["ses_a", "ses_b"]  # five changes of ses_a: one read
    hub.counters_changed("ses_a")  # within the interval: waits for it (not sent now)
    assert await sub.next(0.05) is None
    await hub.close()  # and the pending one is cancelled


async def test_log_records_from_another_thread_reach_the_loop() -> None:
    hub = EventHub()
    hub.bind()
    sub = hub.subscribe()
    thread_event = _event(7)
    await asyncio.to_thread(hub.publish, thread_event)
    assert await sub.next(5.0) is thread_event


async def test_a_client_that_stops_reading_is_dropped_and_the_gateway_keeps_serving(
    tmp_path: Path,
) -> None:
    async with running_gateway(tmp_path / "gw") as gw:
        assert gw.components is not None and gw.components.live is not None
        hub = gw.components.live.hub
        hub.queue_limit = 4
        reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
        writer.write(
            b"GET /api/v1/events/stream HTTP/1.1\r\nHost: gw\r\n"
            b"X-API-Key: " + ADMIN_KEY.encode() + b"\r\n\r\n"
        )
        await writer.drain()
        await eventually(lambda: hub.subscribers == 1, what="the stream subscribed")
        # Large records, the stream handler running after each, until the socket buffers
        # fill, the handler waits on its write and its queue fills up; bounded: 40,000
        # records of 2 kB are far more than any socket buffer holds.
        for i in range(40_000):
            log.warning("%d %s", i, "x" * 2000)
            await asyncio.sleep(0)
            if hub.subscribers == 0:
                break
        assert hub.subscribers == 0, "the slow subscriber was never dropped"
        health = await gw.call("GET", "/health")
        assert health.status == 200
        async with StreamReader(gw) as fresh:  # and a new stream works
            log.warning("after the drop")
            await fresh.expect("log", message="after the drop")
        # The dropped stream's handler is not left waiting on the client (which still
        # reads nothing): the gateway stops well before aiohttp's 60 s shutdown timeout.
        await asyncio.wait_for(gw.stop(), 20)

        async def drain() -> None:
            with contextlib.suppress(ConnectionError):
                while await reader.read(1 << 20):
                    pass

        await asyncio.wait_for(drain(), 20)
        writer.close()


class _Sessions:
    """A stand-in service: sessions with owners (as operator accounts give them)."""

    def __init__(self, owners: dict[str, str]) -> None:
        self.owners = owners

    async def get_session(self, session_id: str) -> Any:
        if session_id not in self.owners:
            raise NotFound(session_id)
        return SimpleNamespace(
            id=session_id, name=f"name {session_id}", owner_id=self.owners[session_id]
        )


async def test_a_user_streams_only_its_own_sessions_and_an_admin_everything() -> None:
    from whatsapp_client.gateway._routes_stream import _Visibility

    service = _Sessions({"ses_mine": "usr_me", "ses_theirs": "usr_other"})
    user = Principal(user_id="usr_me", email="me@x", role="user", scope="write", via="cookie")
    admin = Principal(user_id="usr_admin", email="a@x", role="admin", scope="admin")
    events = [
        LiveEvent("session", "ses_mine", {"session_id": "ses_mine", "status": "connected"}),
        LiveEvent("message", "ses_theirs", {"session_id": "ses_theirs", "id": "msg_1"}),
        LiveEvent("log", None, {"message": "gateway started"}),
        LiveEvent("counters", "ses_gone", {"session_id": "ses_gone", "sent": 1}),
    ]
    as_user = _Visibility(service, user)  # type: ignore[arg-type]
    as_admin = _Visibility(service, admin)  # type: ignore[arg-type]
    user_frames = [await as_user.frame(e) for e in events]
    admin_frames = [await as_admin.frame(e) for e in events]
    assert [f is not None for f in user_frames] == [True, False, False, False]
    assert [f is not None for f in admin_frames] == [True, True, True, False]
    first = user_frames[0]
    assert first is not None and first.startswith(b"event: session\ndata: ")
    assert json.loads(first.split(b"data: ")[1])["name"] == "name ses_mine"


async def test_a_deleted_session_is_forgotten() -> None:
    hub = EventHub()
    hub.bind()
    hub.session_status("ses_a", "connected", None)
    assert "ses_a" in hub.connected_since
    hub.session_deleted("ses_a")
    assert "ses_a" not in hub.connected_since
