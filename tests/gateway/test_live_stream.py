"""``/api/v1/events/stream`` on the real app and the reference server: status changes,
messages and counters reach a subscriber, only for the sessions it sees; heartbeats; the
stream ends at shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.gateway._api_support import (
    GatewayHandle,
    create_session,
    running_gateway,
    wait_status,
)
from tests.gateway._live_support import StreamReader, restricted_key
from whatsapp_client.server.testing import ServerHandle


async def test_status_changes_messages_and_counters_reach_the_stream(
    gateway: GatewayHandle, chat_server: ServerHandle
) -> None:
    alice = await create_session(gateway, chat_server.url)
    bob = await create_session(gateway, chat_server.url)
    await wait_status(gateway, alice["id"], "connected")
    bob_user = (await wait_status(gateway, bob["id"], "connected"))["user_id"]
    async with StreamReader(gateway) as stream:
        assert stream.content_type == "text/event-stream"
        stopped = await gateway.call("POST", f"/api/v1/sessions/{alice['id']}/stop")
        assert stopped.status == 200
        # Already recorded when the answer came: the event is there within a bounded wait
        # (the stream gets it as the status is stored, well inside the dashboard's 3 s).
        event = await stream.expect("session", session_id=alice["id"], status="stopped")
        assert event["name"] == alice["name"]
        assert event["reason"] == "stopped by the operator"
        assert isinstance(event["at"], int)

        await gateway.call("POST", f"/api/v1/sessions/{alice['id']}/restart")
        await stream.expect("session", session_id=alice["id"], status="connected")

        sent = await gateway.call(
            "POST",
            f"/api/v1/sessions/{alice['id']}/messages",
            json_body={"to": bob_user, "text": "hello"},
        )
        assert sent.status == 202, sent.body
        mid = sent.body["id"]
        await stream.expect("message", session_id=alice["id"], id=mid, status="queued")
        out = await stream.expect("message", session_id=alice["id"], id=mid, status="sent")
        assert out["direction"] == "outbound"
        received = await stream.expect("message", session_id=bob["id"], status="received")
        assert received["direction"] == "inbound"
        await stream.expect("counters", session_id=alice["id"], sent=1)
        counters = await stream.expect("counters", session_id=bob["id"], received=1)
        assert counters["queue_depth"] == 0 and counters["failed"] == 0


async def test_a_stream_carries_only_the_sessions_its_caller_sees(
    gateway: GatewayHandle, chat_server: ServerHandle
) -> None:
    mine = await create_session(gateway, chat_server.url)
    other = await create_session(gateway, chat_server.url)
    for session in (mine, other):
        await wait_status(gateway, session["id"], "connected")
    key = await restricted_key(gateway, "read", [mine["id"]])
    async with StreamReader(gateway, key) as narrow, StreamReader(gateway) as wide:
        await gateway.call("POST", f"/api/v1/sessions/{other['id']}/stop")
        await gateway.call("POST", f"/api/v1/sessions/{mine['id']}/stop")
        # The admin's stream sees both; the restricted one the second only, and it comes
        # after the first in the hub's order: seen the second, the first was skipped.
        await wide.expect("session", session_id=other["id"], status="stopped")
        await wide.expect("session", session_id=mine["id"], status="stopped")
        await narrow.expect("session", session_id=mine["id"], status="stopped")
        assert all(d.get("session_id") in (mine["id"],) for _, d in narrow.events)
        # Log records of no session (the gateway's own) are for unrestricted admins only.
        assert all(d.get("session_id") is not None for n, d in narrow.events if n == "log")


async def test_heartbeat_comments_keep_an_idle_stream_open(tmp_path: Path) -> None:
    gateway = running_gateway(tmp_path / "gw", stream_heartbeat_seconds=0.05)
    async with gateway as gw, StreamReader(gw) as stream:
        await stream.wait(lambda: stream.comments.count("ping") >= 2, what="two pings")
        assert not stream.ended.is_set()


async def test_shutdown_ends_every_stream(tmp_path: Path) -> None:
    gateway = running_gateway(tmp_path / "gw")
    async with gateway as gw, StreamReader(gw) as first, StreamReader(gw) as second:
        # The stop returns (bounded: aiohttp would wait a minute for a handler still
        # streaming) and both streams end with it.
        await asyncio.wait_for(gw.stop(), 30)
        await asyncio.wait_for(first.ended.wait(), 10)
        await asyncio.wait_for(second.ended.wait(), 10)


async def test_head_answers_the_headers_of_a_stream_without_one(gateway: GatewayHandle) -> None:
    answer = await gateway.call("HEAD", "/api/v1/events/stream")
    assert answer.status == 200 and answer.raw == b""
    assert answer.headers["Content-Type"] == "text/event-stream"


async def test_the_chat_server_going_away_and_back_reaches_the_stream(
    gateway: GatewayHandle, chat_server: ServerHandle
) -> None:
    # What the dashboard's badge follows: the engine's own status changes, not the API's.
    session = await create_session(gateway, chat_server.url)
    await wait_status(gateway, session["id"], "connected")
    async with StreamReader(gateway) as stream:
        await chat_server.stop()
        down = await stream.expect("session", session_id=session["id"], status="disconnected")
        assert down["name"] == session["name"]
        await chat_server.start()
        await stream.expect("session", session_id=session["id"], status="connected")
        assert (await wait_status(gateway, session["id"], "connected"))["status"] == "connected"
