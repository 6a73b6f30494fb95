"""Event → webhook POST received: latency of the gateway's webhook path under load.

    PYTHONPATH=python python3 benches/gateway_webhooks.py [--sessions 50] [--rate 200]\
        [--seconds 10]

Measures the part of "inbound message → webhook POST received" that the webhook path owns:
an inbound message and its event written with ``record_inbound`` into the SQLite storage
(synchronous=FULL, group commit), the dispatcher woken, the signed POST received by a
receiver in another process. Messages arrive at ``--rate`` per second spread over
``--sessions`` sessions, one endpoint each. The receiver prints p50/p95/p99/max of (arrival
time - time the message was handed to the storage), both read from the same system clock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web


async def receive(expected: int) -> None:
    latencies: list[float] = []
    arrivals: dict[int, float] = {}
    done = asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        arrived = time.time()
        data = json.loads(body)["data"]
        latencies.append(arrived - data["sent_at"])
        arrivals[data["k"]] = arrived
        if len(latencies) >= expected:
            done.set()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/{session}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    await done.wait()
    await runner.cleanup()
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100)
    print(
        json.dumps(
            {
                "received": len(ms),
                "p50_ms": round(q[49], 1),
                "p95_ms": round(q[94], 1),
                "p99_ms": round(q[98], 1),
                "max_ms": round(ms[-1], 1),
            }
        ),
        flush=True,
    )
    print(json.dumps(arrivals), flush=True)


async def drive(
    sessions: int,
    rate: float,
    seconds: float,
    receiver: subprocess.Popen[str],
    port: int,
    data_dir: Path,
) -> None:
    from whatsapp_client.gateway._dispatcher import WebhookDispatcher
    from whatsapp_client.gateway._ids import new_id, now_ms
    from whatsapp_client.gateway._metrics import GatewayMetrics
    from whatsapp_client.gateway._models import Event, MessageRecord, SessionRecord
    from whatsapp_client.gateway._requests import WebhookSpec
    from whatsapp_client.gateway._settings import GatewaySettings
    from whatsapp_client.gateway._sqlite import SqliteStorage
    from whatsapp_client.gateway._vault import Vault
    from whatsapp_client.gateway._webhook_endpoints import build_endpoints

    store = SqliteStorage(data_dir, Vault.open(data_dir))
    await store.open()
    ids = []
    for i in range(sessions):
        session = SessionRecord(
            id=new_id("ses"),
            name=f"bench{i}",
            engine="wac1",
            config={},
            status="connected",
            created_at=now_ms(),
        )
        spec = WebhookSpec(url=f"http://127.0.0.1:{port}/s{i}")
        endpoints = build_endpoints(session.id, [spec], block_private=False, now=now_ms())
        await store.create_session(session, b"credentials", endpoints)
        ids.append(session.id)
    dispatcher = WebhookDispatcher(store, GatewaySettings(), GatewayMetrics())
    await dispatcher.start()

    async def inbound(k: int) -> None:
        sent_at = time.time()
        now = now_ms()
        session_id = ids[k % sessions]
        message = MessageRecord(
            id=new_id("msg"),
            session_id=session_id,
            direction="inbound",
            peer="alice",
            type="text",
            text=f"message {k}",
            status="received",
            timestamp=now,
            engine_message_id=f"wac-{k}",
        )
        event = Event(
            id=new_id("evt"),
            type="message.received",
            session_id=session_id,
            timestamp=now,
            data={"id": message.id, "text": message.text, "sent_at": sent_at, "k": k},
        )
        await store.record_inbound(message, event)
        commits[k] = (sent_at, time.time())
        dispatcher.wake()

    commits: dict[int, tuple[float, float]] = {}
    cpu_start = time.process_time()
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks = []
    for k in range(int(rate * seconds)):
        delay = start + k / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(inbound(k)))
    await asyncio.gather(*tasks)
    print(f"offered {len(tasks)} messages in {loop.time() - start:.1f} s", flush=True)
    q = statistics.quantiles([(c - s) * 1000 for s, c in commits.values()], n=100)
    print(f"record_inbound committed: p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms", flush=True)
    assert receiver.stdout is not None
    summary = await loop.run_in_executor(None, receiver.stdout.readline)
    arrivals = json.loads(await loop.run_in_executor(None, receiver.stdout.readline))
    after = sorted((arrivals[str(k)] - c) * 1000 for k, (_, c) in commits.items())
    q = statistics.quantiles(after, n=100)
    print(f"commit -> POST received: p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms", flush=True)
    print(f"message handed to the storage -> POST received: {summary.strip()}", flush=True)
    cpu = (time.process_time() - cpu_start) / len(commits) * 1000
    print(f"gateway process CPU per message (storage + delivery): {cpu:.2f} ms", flush=True)
    await dispatcher.close()
    await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--receive", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receive:
        asyncio.run(receive(args.receive))
        return
    total = int(args.rate * args.seconds)
    receiver = subprocess.Popen(
        [sys.executable, __file__, "--receive", str(total)], stdout=subprocess.PIPE, text=True
    )
    assert receiver.stdout is not None
    port = int(receiver.stdout.readline())
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(drive(args.sessions, args.rate, args.seconds, receiver, port, Path(tmp)))
    receiver.wait()


if __name__ == "__main__":
    main()
