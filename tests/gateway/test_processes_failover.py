"""Two real gateway processes on one PostgreSQL database, one killed with SIGKILL while
traffic flows: its sessions continue on the other within 30 s (the takeover time is
measured and printed), every message sent to a session produces its ``message.received``
webhook, in order per endpoint, and every accepted send goes out exactly once.

Webhooks are at-least-once (docs/gateway-processes.md): a POST the killed process made but
whose outcome it had not committed is made again by the other with the same
``webhook-id``. Those repeats, and only those (first posted before the kill, at most one
repeat each), are allowed; everything posted after the kill is posted once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp

from tests.gateway._api_support import CLIENT_OPTIONS, PASSWORD, Receiver, unique_name
from tests.gateway._processes_support import (
    GatewayProcess,
    lease_owners,
    poll,
    start_gateway,
)
from whatsapp_client import WhatsAppClient
from whatsapp_client.server.testing import ServerHandle

PER_PROCESS = 2  # sessions created through (so run by) each process
ROUNDS_BEFORE, ROUNDS_AFTER = 4, 12  # traffic rounds before and after the kill
TAKEOVER_LIMIT = 30.0  # seconds, the bound (default lease_ttl 15 s)


class Traffic:
    """What the test sent: per session the texts its peer sent it (in order), and the
    sends through the gateways' API, accepted (202) or not."""

    def __init__(self, peer: WhatsAppClient, sessions: list[dict[str, Any]]) -> None:
        self.peer = peer
        self.sessions = sessions
        self.inbound: dict[str, list[str]] = {s["id"]: [] for s in sessions}
        self.sent_after_kill: dict[str, set[str]] = {s["id"]: set() for s in sessions}
        self.accepted: list[str] = []
        self.unanswered: list[str] = []
        self.killed = False

    async def round(self, n: int, gateways: list[GatewayProcess], peer_name: str) -> None:
        for i, s in enumerate(self.sessions):
            text = f"in-{i}-{n}"
            await self.peer.send_message(s["user_id"], text)
            self.inbound[s["id"]].append(text)
            if self.killed:
                self.sent_after_kill[s["id"]].add(text)
        for i, s in enumerate(self.sessions):
            alive = [g for g in gateways if g.alive]
            gw = alive[(n + i) % len(alive)]  # both processes' API while both live
            text = f"out-{i}-{n}"
            try:
                status, body = await gw.call(
                    "POST", f"/api/v1/sessions/{s['id']}/messages", {"to": peer_name, "text": text}
                )
            except aiohttp.ClientError:  # the process died under the request
                self.unanswered.append(text)
                continue
            assert status == 202, body
            self.accepted.append(text)


async def _session(gw: GatewayProcess, chat_url: str, hook: str) -> dict[str, Any]:
    name = unique_name("fo")
    body = {
        "name": name,
        "engine": "wac1",
        "server_url": chat_url,
        "username": name,
        "password": PASSWORD,
        "register": True,
        "webhooks": [{"url": hook}],
    }
    status, created = await gw.call("POST", "/api/v1/sessions", body)
    assert status == 201, created

    async def connected() -> Any:
        _, one = await gw.call("GET", f"/api/v1/sessions/{created['id']}")
        return one if one["status"] == "connected" else None

    return dict(await poll(connected, f"session {name} connected"))


def _received(receiver: Receiver) -> list[tuple[str, dict[str, Any]]]:
    """(webhook-id, event) of every message.received POST, in arrival order."""
    found = []
    for headers, raw in list(receiver.requests):
        event = json.loads(raw)
        if event["type"] == "message.received":
            wid = next(v for k, v in headers.items() if k.lower() == "webhook-id")
            found.append((wid, event))
    return found


async def test_a_killed_process_s_sessions_continue_on_the_other_and_nothing_is_lost(
    tmp_path: Path, chat_server: ServerHandle, receiver: Receiver, pg_database: str
) -> None:
    data = tmp_path / "gw"  # one data directory: master key, session stores, media
    one = await start_gateway("gwp_one", data, pg_database)
    two = await start_gateway("gwp_two", data, pg_database)
    peer = WhatsAppClient(
        server_url=chat_server.url, storage_path=str(tmp_path / "peer"), **CLIENT_OPTIONS
    )
    got: list[str] = []
    try:
        peer_user = await peer.register(unique_name("peer"), PASSWORD)

        @peer.on_message
        async def collect(message: Any) -> None:
            got.append(message.content)

        sessions: list[dict[str, Any]] = []
        for gw in (one, two):
            for _ in range(PER_PROCESS):
                sessions.append(await _session(gw, chat_server.url, receiver.url))
        killed = [s["id"] for s in sessions[:PER_PROCESS]]
        owners = await lease_owners(pg_database)
        assert [owners[s["id"]] for s in sessions] == ["gwp_one"] * 2 + ["gwp_two"] * 2

        traffic = Traffic(peer, sessions)
        for n in range(ROUNDS_BEFORE):
            await traffic.round(n, [one, two], peer_user.username)
        loop = asyncio.get_running_loop()
        await one.kill()
        killed_at, kill_mark = loop.time(), len(receiver.requests)
        traffic.killed = True
        took: dict[str, float] = {}

        async def taken_over() -> bool:
            """A killed session counts as running on ``two`` once ``two`` holds its lease and
            a message sent to it after the kill reached its webhook (only two posts now)."""
            owners = await lease_owners(pg_database)
            for _, event in _received(receiver):
                sid, text = event["session_id"], event["data"]["text"]
                after_kill = sid in killed and text in traffic.sent_after_kill[sid]
                if after_kill and sid not in took and owners[sid] == "gwp_two":
                    took[sid] = loop.time() - killed_at
            return len(took) == len(killed)

        async def more_traffic() -> None:
            for n in range(ROUNDS_BEFORE, ROUNDS_BEFORE + ROUNDS_AFTER):
                await traffic.round(n, [one, two], peer_user.username)
                await asyncio.sleep(0.5)

        flowing = asyncio.ensure_future(more_traffic())
        await poll(taken_over, "the killed process's sessions running on the other", 60)
        await flowing
        takeover = max(took.values())
        print(f"\ntakeover after SIGKILL: {takeover:.1f} s (per session: {took})")
        assert takeover < TAKEOVER_LIMIT

        expected = {t for texts in traffic.inbound.values() for t in texts}

        async def all_posted() -> bool:
            return expected <= {e["data"]["text"] for _, e in _received(receiver)}

        async def all_sent() -> bool:
            return set(traffic.accepted) <= set(got)

        await poll(all_posted, "a message.received webhook for every message", 90)
        await poll(all_sent, "every accepted send at the peer", 90)
        _check_webhooks(_received(receiver), traffic, kill_mark)
        for text in traffic.accepted + traffic.unanswered:
            assert got.count(text) <= 1, f"{text} went out twice"
        assert all(text in got for text in traffic.accepted)
        assert set(got) <= set(traffic.accepted + traffic.unanswered)
        owners = await lease_owners(pg_database)
        for s in sessions:  # all four on the survivor now, connected
            _, now = await two.call("GET", f"/api/v1/sessions/{s['id']}")
            assert (owners[s["id"]], now["status"]) == ("gwp_two", "connected")
    finally:
        await peer.close()
        await two.close()
        await one.close()


def _check_webhooks(
    received: list[tuple[str, dict[str, Any]]], traffic: Traffic, kill_mark: int
) -> None:
    """One webhook-id per message, none repeated but a POST of the killed process, and the
    first arrivals of each endpoint (one per session here) in the order sent."""
    first: dict[str, int] = {}
    copies: dict[str, int] = {}
    text_of: dict[str, str] = {}
    for at, (wid, event) in enumerate(received):
        first.setdefault(wid, at)
        copies[wid] = copies.get(wid, 0) + 1
        assert text_of.setdefault(wid, event["data"]["text"]) == event["data"]["text"]
    assert len(set(text_of.values())) == len(text_of), "one message, two webhook-ids"
    repeated = sorted(wid for wid, n in copies.items() if n > 1)
    print(f"webhooks: {len(received)} POSTs, {len(first)} ids, repeated {len(repeated)}")
    assert all(copies[w] == 2 for w in repeated)
    # Only POSTs the killed process made can be repeated (the receiver's log before the kill
    # has every POST it made, and some of the survivor's).
    assert all(first[w] < kill_mark for w in repeated)
    for sid, texts in traffic.inbound.items():
        order = [
            e["data"]["text"]
            for at, (wid, e) in enumerate(received)
            if e["session_id"] == sid and first[wid] == at
        ]
        assert order == texts, f"session {sid}: webhooks out of order or missing"
