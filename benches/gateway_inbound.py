"""Gateway inbound latency: a message sent to a gateway session → its webhook POST received.

    PYTHONPATH=python python3 benches/gateway_inbound.py [--sessions 50] [--rate 200] [--seconds 20]

The reference server and the senders (plain SDK clients, one per gateway session) run in
child processes; this process runs the gateway (SQLite storage, real Vault, the webhook
dispatcher) with ``--sessions`` sessions whose webhook is a receiver on loopback, also in
this process. Senders send ``--rate`` messages a second in all, spread evenly; each text
carries the wall-clock time it was handed to the sender's client, and the receiver notes
when the POST arrived. Prints the count and latency percentiles in milliseconds. Linux.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from gateway_sessions import PASSWORD, all_connected, make_gateway, start_server, wait_health

CLIENT_OPTIONS: dict[str, Any] = {
    "kdf_memory_kib": 19 * 1024,
    "kdf_iterations": 2,
    "durability": "fast",
}


async def sender_main(url: str, targets: list[str], rate: float, seconds: float, tag: str) -> None:
    """Child process: one SDK client per target, ``rate`` messages a second in all."""
    from whatsapp_client.client import WhatsAppClient

    with tempfile.TemporaryDirectory(prefix="gw-senders-") as tmp:
        clients = []
        for i, _ in enumerate(targets):
            client = WhatsAppClient(server_url=url, storage_path=tmp, **CLIENT_OPTIONS)
            await client.register(f"snd{tag}x{i}", PASSWORD)
            clients.append(client)
        print("ready", flush=True)
        interval = 1.0 / rate
        start = time.perf_counter()
        n = 0
        while time.perf_counter() - start < seconds:
            target = targets[n % len(targets)]
            client = clients[n % len(clients)]
            await client.send_message(target, json.dumps({"sent": time.time(), "n": n}))
            n += 1
            delay = start + n * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        for client in clients:
            await client.idle()
            await client.close()
        print(f"sent {n}", flush=True)


async def run(sessions: int, rate: float, seconds: float, root: Path) -> dict[str, Any]:
    from whatsapp_client.gateway._requests import CreateSession, WebhookSpec

    latencies: list[float] = []
    expected: list[int] = [-1]
    done = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        if body["type"] == "message.received":
            sent = json.loads(body["data"]["text"])["sent"]
            latencies.append((time.time() - sent) * 1000)
            if 0 <= expected[0] <= len(latencies):
                done.set()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook_url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"

    proc, url = start_server(root / "server")
    try:
        await wait_health(url)
        gateway, dispatcher = make_gateway(root / "gateway", webhooks=True)
        await gateway.start()
        await dispatcher.start()
        targets = []
        for i in range(sessions):
            name = f"rcv{os.getpid()}x{i}"
            record, _ = await gateway.create_session(
                CreateSession(
                    name=name,
                    engine="wac1",
                    server_url=url,
                    username=name,
                    password=PASSWORD,
                    register=True,
                    webhooks=[WebhookSpec(url=hook_url, events=["message.received"])],
                )
            )
            targets.append(record.id)
        await all_connected(gateway, sessions, 300)
        users = [(await gateway.get_session(sid)).user_id for sid in targets]
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--child",
            url,
            json.dumps(users),
            str(rate),
            str(seconds),
            stdout=asyncio.subprocess.PIPE,
        )
        assert child.stdout is not None
        line = (await child.stdout.readline()).decode()
        assert line.strip() == "ready", line
        sent = int((await child.stdout.readline()).decode().split()[1])
        await child.wait()
        expected[0] = sent
        if len(latencies) >= sent:
            done.set()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(done.wait(), 30)
        await dispatcher.close()
        await gateway.close()
    finally:
        proc.terminate()
        proc.wait(30)
        await runner.cleanup()
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 1)

    return {
        "sessions": sessions,
        "rate_per_second": rate,
        "sent": sent,
        "received": len(latencies),
        "p50_ms": pct(50),
        "p99_ms": pct(99),
        "max_ms": round(ordered[-1], 1),
        "mean_ms": round(statistics.fmean(ordered), 1),
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        url, users, rate, seconds = sys.argv[2], json.loads(sys.argv[3]), sys.argv[4], sys.argv[5]
        asyncio.run(sender_main(url, users, float(rate), float(seconds), str(time.time_ns())[-6:]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gw-inbound-") as tmp:
        figures = asyncio.run(run(args.sessions, args.rate, args.seconds, Path(tmp)))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
