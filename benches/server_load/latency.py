"""Latency at a fixed offered load: send on a schedule, time each message to its recipient.

Latency is measured from the moment the sender wrote the frame to the moment the
recipient read it (one process, one monotonic clock), so it includes the durable commit
that precedes delivery. The first ``warmup`` seconds are not counted.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Any

import aiohttp

from .harness import decode, encode, open_socket, percentile, register_many, spread

TEXT = aiohttp.WSMsgType.TEXT
ACK_BATCH = 20


async def _drain_sender(
    ws: aiohttp.ClientWebSocketResponse[bool], sent_at: dict[str, float], answered: list[float]
) -> None:
    while True:
        msg = await ws.receive()
        if msg.type != TEXT:
            return
        frame: Any = decode(msg.data)
        if frame["type"] == "sent":
            start = sent_at.get(frame["id"])
            if start is not None:
                answered.append(time.perf_counter() - start)
        elif frame["type"] == "error":
            raise RuntimeError(f"server error: {frame}")


async def _receiver(
    ws: aiohttp.ClientWebSocketResponse[bool],
    sent_at: dict[str, float],
    delays: list[float],
    expected: int,
    done: asyncio.Event,
    counter: list[int],
) -> None:
    pending: list[str] = []
    while True:
        msg = await ws.receive()
        if msg.type != TEXT:
            return
        frame: Any = decode(msg.data)
        if frame["type"] != "message":
            continue
        now = time.perf_counter()
        delays.append(now - sent_at[frame["id"]])
        pending.append(frame["id"])
        counter[0] += 1
        if len(pending) >= ACK_BATCH:
            await ws.send_frame(encode({"type": "ack", "ids": pending}), TEXT)
            pending = []
        if counter[0] >= expected:
            done.set()


async def run(
    url: str, ws_url: str | Sequence[str], pairs: int, rate: float, seconds: float, warmup: float
) -> dict[str, Any]:
    total = int(rate * seconds)
    warm = int(rate * warmup)
    sent_at: dict[str, float] = {}
    delays: list[float] = []
    answered: list[float] = []
    counter = [0]
    done = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        users = await register_many(http, url, 2 * pairs)
        # One URL, or one per server process (then half the pairs cross processes).
        urls = [ws_url] if isinstance(ws_url, str) else list(ws_url)
        at_sender, at_recipient = spread(urls, pairs)
        senders = [await open_socket(http, at_sender[i], u) for i, u in enumerate(users[:pairs])]
        receivers = [
            await open_socket(http, at_recipient[i], u) for i, u in enumerate(users[pairs:])
        ]
        tasks = [asyncio.ensure_future(_drain_sender(ws, sent_at, answered)) for ws in senders]
        tasks += [
            asyncio.ensure_future(_receiver(ws, sent_at, delays, total, done, counter))
            for ws in receivers
        ]
        prefix = uuid.uuid4().hex[:8]
        start = time.perf_counter()
        behind = 0
        for i in range(total):
            target = start + i / rate
            now = time.perf_counter()
            if target > now:
                await asyncio.sleep(target - now)
            elif now - target > 0.01:
                behind += 1
            mid = f"{prefix}-{i}"
            pair = i % pairs
            frame = encode(
                {"type": "message", "id": mid, "to": users[pairs + pair].id, "content": "x" * 64}
            )
            sent_at[mid] = time.perf_counter()
            await senders[pair].send_frame(frame, TEXT)
        offered_seconds = time.perf_counter() - start
        await asyncio.wait_for(done.wait(), timeout=120)
        for ws in senders + receivers:
            await ws.close()
        await asyncio.gather(*tasks, return_exceptions=True)
    # Messages are numbered in send order; drop the warm-up ones by id order.
    measured = sorted(delays[warm:]) if len(delays) > warm else sorted(delays)
    acks = sorted(answered[warm:]) if len(answered) > warm else sorted(answered)
    return {
        "scenario": "latency",
        "pairs": pairs,
        "offered_rate": rate,
        "achieved_rate": round(total / offered_seconds, 1),
        "messages": total,
        "measured": len(measured),
        "late_sends": behind,
        "delivery_p50_ms": round(percentile(measured, 0.50) * 1000, 2),
        "delivery_p99_ms": round(percentile(measured, 0.99) * 1000, 2),
        "delivery_max_ms": round(measured[-1] * 1000, 2) if measured else None,
        "sent_ack_p50_ms": round(percentile(acks, 0.50) * 1000, 2),
        "sent_ack_p99_ms": round(percentile(acks, 0.99) * 1000, 2),
    }
