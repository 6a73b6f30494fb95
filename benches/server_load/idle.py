"""Idle capacity: many authenticated sockets held open; server memory per connection."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from .harness import Server, decode, encode, open_socket, register_many

TEXT = aiohttp.WSMsgType.TEXT


async def run(server: Server, connections: int, hold: float) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        users = await register_many(http, server.url, connections)
        await asyncio.sleep(1.0)
        before = server.rss_bytes()
        sem = asyncio.Semaphore(200)

        async def one(i: int) -> aiohttp.ClientWebSocketResponse[bool]:
            async with sem:
                return await open_socket(http, server.ws_url, users[i])

        started = time.perf_counter()
        sockets = list(await asyncio.gather(*(one(i) for i in range(connections))))
        connect_seconds = time.perf_counter() - started
        await asyncio.sleep(hold)
        after = server.rss_bytes()
        # Every socket must still be alive and served: ping a spread of them.
        alive = 0
        for ws in sockets[:: max(1, connections // 200)]:
            await ws.send_frame(encode({"type": "ping"}), TEXT)
            msg = await ws.receive(timeout=30)
            if msg.type == TEXT and decode(msg.data).get("type") == "pong":
                alive += 1
        sampled = len(sockets[:: max(1, connections // 200)])
        await asyncio.gather(*(ws.close() for ws in sockets))
    return {
        "scenario": "idle",
        "connections": connections,
        "connect_seconds": round(connect_seconds, 2),
        "server_rss_before_mib": round(before / 2**20, 1),
        "server_rss_after_mib": round(after / 2**20, 1),
        "kib_per_connection": round((after - before) / connections / 1024, 1) if before else None,
        "sampled_alive": f"{alive}/{sampled}",
    }
