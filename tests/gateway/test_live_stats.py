"""``/api/v1/sessions/{id}/stats`` on the real app and reference server, and the per-minute
counts of the storage, SQLite and PostgreSQL (zeros included, oldest first, the window's edges)."""

from __future__ import annotations

from tests.gateway._api_support import (
    GatewayHandle,
    create_session,
    wait_for,
    wait_status,
)
from tests.gateway._live_support import restricted_key
from tests.gateway._store_support import Backend, backend_fixture  # noqa: F401 (the fixture)
from whatsapp_client.gateway._ids import now_ms
from whatsapp_client.gateway._models import (
    Event,
    MessageRecord,
    MessageState,
    OutboundRequest,
    QueueItem,
    SessionRecord,
)
from whatsapp_client.server.testing import ServerHandle

MINUTE = 60_000


async def test_stats_of_a_connected_session_with_traffic(
    gateway: GatewayHandle, chat_server: ServerHandle
) -> None:
    alice = await create_session(gateway, chat_server.url)
    bob = await create_session(gateway, chat_server.url)
    await wait_status(gateway, alice["id"], "connected")
    bob_user = (await wait_status(gateway, bob["id"], "connected"))["user_id"]
    for text in ("one", "two"):
        answer = await gateway.call(
            "POST",
            f"/api/v1/sessions/{alice['id']}/messages",
            json_body={"to": bob_user, "text": text},
        )
        assert answer.status == 202

    async def both_sent() -> bool:
        stats = await gateway.call("GET", f"/api/v1/sessions/{alice['id']}/stats")
        return bool(stats.body["counters"]["sent"] == 2)

    await wait_for(both_sent, what="two sends")
    answer = await gateway.call("GET", f"/api/v1/sessions/{alice['id']}/stats")
    assert answer.status == 200
    stats = answer.body
    assert stats["session_id"] == alice["id"] and stats["status"] == "connected"
    assert stats["counters"] == {"sent": 2, "received": 0, "failed": 0}
    assert stats["queue_depth"] == 0
    assert isinstance(stats["connected_since"], int)
    assert stats["uptime_seconds"] is not None and stats["uptime_seconds"] >= 0
    assert isinstance(stats["last_activity_at"], int)
    minutes = stats["per_minute"]
    assert len(minutes) == 60
    starts = [m["minute"] for m in minutes]
    assert all(s % MINUTE == 0 for s in starts)
    assert starts == sorted(starts) and starts[-1] - starts[0] == 59 * MINUTE
    assert sum(m["sent"] for m in minutes) == 2
    assert sum(1 for m in minutes if m["sent"] == 0 and m["received"] == 0) >= 58

    await gateway.call("POST", f"/api/v1/sessions/{alice['id']}/stop")
    stopped = (await gateway.call("GET", f"/api/v1/sessions/{alice['id']}/stats")).body
    assert stopped["status"] == "stopped"
    assert stopped["connected_since"] is None and stopped["uptime_seconds"] is None
    assert stopped["counters"]["sent"] == 2


async def test_stats_of_an_unseen_or_unknown_session_are_refused(
    gateway: GatewayHandle, chat_server: ServerHandle
) -> None:
    mine = await create_session(gateway, chat_server.url)
    other = await create_session(gateway, chat_server.url)
    key = await restricted_key(gateway, "read", [mine["id"]])
    ok = await gateway.call("GET", f"/api/v1/sessions/{mine['id']}/stats", key=key)
    assert ok.status == 200
    hidden = await gateway.call("GET", f"/api/v1/sessions/{other['id']}/stats", key=key)
    assert (hidden.status, hidden.code) == (404, "not_found")  # as every session route
    unknown = await gateway.call("GET", "/api/v1/sessions/ses_nope/stats")
    assert (unknown.status, unknown.code) == (404, "not_found")
    anonymous = await gateway.call("GET", f"/api/v1/sessions/{mine['id']}/stats", key=None)
    assert anonymous.status == 401


async def test_per_minute_counts_by_direction_and_outcome(backend: Backend) -> None:
    storage = backend.storage
    sid = "ses_stats"
    await storage.create_session(
        SessionRecord(id=sid, name="s", engine="fake", config={}, status="connected", created_at=0),
        b"",
        [],
    )
    now = now_ms()
    start = now - now % MINUTE - 10 * MINUTE
    # Minute 0: two received; minute 3: one sent, one failed, one still queued.
    for i, at in enumerate((start + 1, start + MINUTE - 1)):
        inbound = MessageRecord(
            id=f"msg_in{i}",
            session_id=sid,
            direction="inbound",
            peer="p",
            type="text",
            text="x",
            status="received",
            timestamp=at,
            engine_message_id=f"e{i}",
        )
        event = Event(id=f"evt_{i}", type="message.received", session_id=sid, timestamp=at, data={})
        assert await storage.record_inbound(inbound, event)
    outcomes: tuple[tuple[str, MessageState | None], ...] = (
        ("ok", "sent"),
        ("bad", "failed"),
        ("wait", None),
    )
    for name, outcome in outcomes:
        message = MessageRecord(
            id=f"msg_{name}",
            session_id=sid,
            direction="outbound",
            peer="p",
            type="text",
            text="x",
            status="queued",
            timestamp=start + 3 * MINUTE + 5,
        )
        item = QueueItem(
            seq=0,
            session_id=sid,
            message_id=message.id,
            request=OutboundRequest(to="p", text="x"),
            enqueued_at=0,
        )
        await storage.enqueue_send(message, item, max_depth=10)
        if outcome is not None:
            queued = await storage.next_queued(sid)
            assert queued is not None
            await storage.finish_send(
                queued, outcome, engine_message_id=None, reason=None, event=None
            )
    counts = await storage.message_counts_per_minute(sid, start, start + 10 * MINUTE)
    assert counts == {start: (0, 2, 0), start + 3 * MINUTE: (1, 0, 1)}
    # The window's start is inclusive, its end exclusive.
    edge = start + 3 * MINUTE + 5
    assert await storage.message_counts_per_minute(sid, start + 1, edge + 1) == counts
    assert await storage.message_counts_per_minute(sid, start + 2, edge) == {start: (0, 1, 0)}
    assert await storage.message_counts_per_minute("ses_other", start, now) == {}
