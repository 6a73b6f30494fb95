"""Relay throughput: pairs of sockets, each message stored, delivered, acknowledged.

A message counts once its sender has the ``sent`` answer (durably stored), its recipient
has received it, and the sender has the ``delivered`` status (the recipient's ack is
committed). Senders keep ``window`` messages in flight; recipients ack in batches.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Any

import aiohttp

from .harness import User, decode, encode, open_socket, register_many, spread

ACK_BATCH = 50
TEXT = aiohttp.WSMsgType.TEXT


async def _sender(
    ws: aiohttp.ClientWebSocketResponse[bool], to: str, quota: int, window: int
) -> None:
    sent = 0
    answered = 0
    delivered = 0
    prefix = uuid.uuid4().hex[:8]
    while sent < min(window, quota):
        await ws.send_frame(
            encode({"type": "message", "id": f"{prefix}-{sent}", "to": to, "content": "x" * 64}),
            TEXT,
        )
        sent += 1
    while answered < quota or delivered < quota:
        msg = await ws.receive()
        if msg.type != TEXT:
            raise RuntimeError(f"sender socket closed: {msg}")
        frame: Any = decode(msg.data)
        kind = frame["type"]
        if kind == "sent":
            answered += 1
            if sent < quota:
                await ws.send_frame(
                    encode(
                        {"type": "message", "id": f"{prefix}-{sent}", "to": to, "content": "x" * 64}
                    ),
                    TEXT,
                )
                sent += 1
        elif kind == "status":
            delivered += len(frame["message_ids"])
        elif kind == "error":
            raise RuntimeError(f"server error: {frame}")


async def _receiver(ws: aiohttp.ClientWebSocketResponse[bool], quota: int) -> None:
    received = 0
    pending: list[str] = []
    while received < quota:
        msg = await ws.receive()
        if msg.type != TEXT:
            raise RuntimeError(f"receiver socket closed: {msg}")
        frame: Any = decode(msg.data)
        if frame["type"] != "message":
            continue
        received += 1
        pending.append(frame["id"])
        if len(pending) >= ACK_BATCH or received == quota:
            await ws.send_frame(encode({"type": "ack", "ids": pending}), TEXT)
            pending = []


async def run(
    url: str, ws_url: str | Sequence[str], pairs: int, messages: int, window: int
) -> dict[str, Any]:
    quota = messages // pairs
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        users: list[User] = await register_many(http, url, 2 * pairs)
        # One URL, or one per server process (then half the pairs cross processes).
        urls = [ws_url] if isinstance(ws_url, str) else list(ws_url)
        at_sender, at_recipient = spread(urls, pairs)
        senders = [await open_socket(http, at_sender[i], u) for i, u in enumerate(users[:pairs])]
        receivers = [
            await open_socket(http, at_recipient[i], u) for i, u in enumerate(users[pairs:])
        ]
        started = time.perf_counter()
        await asyncio.gather(
            *(_sender(ws, users[pairs + i].id, quota, window) for i, ws in enumerate(senders)),
            *(_receiver(ws, quota) for ws in receivers),
        )
        elapsed = time.perf_counter() - started
        for ws in senders + receivers:
            await ws.close()
    total = quota * pairs
    return {
        "scenario": "throughput",
        "pairs": pairs,
        "connections": 2 * pairs,
        "window": window,
        "messages": total,
        "seconds": round(elapsed, 3),
        "messages_per_second": round(total / elapsed, 1),
    }
