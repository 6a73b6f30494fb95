"""Nothing acknowledged with ``sent`` is lost by a kill (SIGKILL) or a restart."""

from __future__ import annotations

import asyncio
import json
import signal
import tempfile

import aiohttp

from tests.server.helpers import Socket, connect, message, register
from tests.server.process import server_process

ROUNDS = 3
IN_FLIGHT = 400
KILL_AFTER = 60


async def _collect_sent(sock: Socket, ids: set[str], sent: set[str], stop_at: int) -> None:
    while len(sent) < stop_at:
        frame = await sock._next()
        if frame["type"] == "sent" and frame["id"] in ids:
            sent.add(frame["id"])


async def test_sigkill_loses_nothing_acknowledged() -> None:
    with tempfile.TemporaryDirectory() as data:
        acknowledged: set[str] = set()
        async with aiohttp.ClientSession() as http:
            async with server_process(data) as proc:
                alice = await register(http, proc.url)
                bob = await register(http, proc.url)
            for _ in range(ROUNDS):
                async with server_process(data) as proc:
                    a = await connect(http, proc.ws_url, alice)
                    frames = [message(bob.id, "durable") for _ in range(IN_FLIGHT)]
                    ids = {f["id"] for f in frames}
                    # Pipeline everything, then kill the server mid-stream once some
                    # acknowledgements have arrived and many writes are still in flight.
                    sender = asyncio.ensure_future(
                        asyncio.gather(*(a.ws.send_json(f) for f in frames))
                    )
                    sent: set[str] = set()
                    await _collect_sent(a, ids, sent, KILL_AFTER)
                    proc.signal(signal.SIGKILL)
                    assert await proc.wait() == -signal.SIGKILL
                    try:
                        while True:
                            frame = await a._next()
                            if frame["type"] == "sent":
                                sent.add(frame["id"])
                    except ConnectionError:
                        pass
                    await asyncio.gather(sender, return_exceptions=True)
                    await a.close()
                    acknowledged |= sent
            async with server_process(data) as proc:
                b = await connect(http, proc.ws_url, bob)
                await b.send({"type": "ping"})
                await b.expect("pong")
                delivered = {f["id"] for f in b.buffer if f["type"] == "message"}
                await b.close()
        assert len(acknowledged) >= ROUNDS * KILL_AFTER
        assert acknowledged <= delivered


async def test_sigterm_is_graceful() -> None:
    with tempfile.TemporaryDirectory() as data:
        async with aiohttp.ClientSession() as http, server_process(data) as proc:
            alice = await register(http, proc.url)
            a = await connect(http, proc.ws_url, alice)
            frame = message(alice.id)
            await a.send(frame)
            await a.expect("sent", id=frame["id"])
            await a.expect("message", id=frame["id"])
            closing = asyncio.ensure_future(a.ws.receive(timeout=60))
            proc.signal(signal.SIGTERM)
            msg = await closing
            assert msg.type == aiohttp.WSMsgType.CLOSE
            assert a.ws.close_code == 1001
            await a.close()
            assert await proc.wait() == 0
            # Logs are structured: one JSON object per line.
            entries = [json.loads(line) for line in proc.log]
            assert all({"ts", "level", "logger", "msg"} <= set(e) for e in entries)
            assert [e["msg"] for e in entries][-2:] == ["storage closed", "stopped"]
