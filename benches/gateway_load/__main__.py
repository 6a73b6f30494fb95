"""Gateway load benchmarks (figures in docs/benchmarks-gateway.md)::

    python -m benches.gateway_load sessions --count 200   # RSS, idle CPU, restart time
    python -m benches.gateway_load accept --requests 8000 # accepted sends per second
    python -m benches.gateway_load webhooks --sessions 50 --rate 200 --seconds 20

Each starts a reference server process and a gateway process on loopback; the load, the
webhook receiver and (for ``webhooks``) the peers sending to the gateway's sessions run in
this process.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from .harness import Gateway, api, call, create_sessions, wait_connected

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from server_load.harness import server as server_process

MiB = 1024 * 1024


async def sessions_bench(count: int, idle_seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="gw-bench-") as tmp:
        async with server_process(None) as srv, api() as http:
            gw = Gateway(Path(tmp) / "data")
            await gw.start()
            try:
                started = time.perf_counter()
                await create_sessions(http, gw.url, srv.url, count)
                created = time.perf_counter() - started
                up = await wait_connected(http, gw.url, count)
                print(f"{count} sessions created in {created:.1f} s, connected {up:.1f} s later")
                await asyncio.sleep(5)
                cpu0, t0 = gw.process.cpu_seconds(), time.perf_counter()
                await asyncio.sleep(idle_seconds)
                cpu = (gw.process.cpu_seconds() - cpu0) / (time.perf_counter() - t0)
                print(f"idle: gateway CPU {100 * cpu:.2f} % of one core over {idle_seconds:.0f} s")
                rss = gw.process.rss_bytes() / MiB
                print(f"gateway RSS with {count} sessions connected: {rss:.0f} MiB")
                for name, sig in (("SIGTERM", signal.SIGTERM), ("SIGKILL", signal.SIGKILL)):
                    await gw.stop(sig)
                    t0 = time.perf_counter()
                    await gw.start()
                    await wait_connected(http, gw.url, count)
                    took = time.perf_counter() - t0
                    print(f"restart after {name}: all {count} connected {took:.1f} s after start")
            finally:
                await gw.stop()
                gw.close()


async def accept_bench(requests: int, sessions: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory(prefix="gw-bench-") as tmp:
        async with server_process(None) as srv, api() as http:
            gw = Gateway(Path(tmp) / "data")
            await gw.start()
            try:
                made = await create_sessions(http, gw.url, srv.url, sessions + 1)
                await wait_connected(http, gw.url, sessions + 1)
                target = await call(http, "GET", f"{gw.url}/api/v1/sessions/{made[-1]['id']}")
                to = target.get("user_id") or target.get("username")
                senders = made[:-1]
                for s in senders:
                    await call(
                        http,
                        "PATCH",
                        f"{gw.url}/api/v1/sessions/{s['id']}",
                        {"rate_limit_per_minute": 100_000},
                    )
                # Warm up the recipient lookup and the session with one send each.
                for s in senders:
                    await call(
                        http,
                        "POST",
                        f"{gw.url}/api/v1/sessions/{s['id']}/messages",
                        {"to": to, "text": "warm up"},
                        expect=202,
                    )
                sem = asyncio.Semaphore(concurrency)
                accepted = 0

                async def one(i: int) -> None:
                    nonlocal accepted
                    sid = senders[i % len(senders)]["id"]
                    async with sem:
                        await call(
                            http,
                            "POST",
                            f"{gw.url}/api/v1/sessions/{sid}/messages",
                            {"to": to, "text": f"load {i}"},
                            expect=202,
                        )
                        accepted += 1

                t0 = time.perf_counter()
                await asyncio.gather(*(one(i) for i in range(requests)))
                wall = time.perf_counter() - t0
                print(
                    f"{accepted} sends accepted (202, durable) in {wall:.2f} s over {len(senders)} "
                    f"sessions, {concurrency} at a time: {accepted / wall:.0f} requests/s"
                )
            finally:
                await gw.stop()
                gw.close()


async def webhooks_bench(sessions: int, rate: float, seconds: float) -> None:
    from whatsapp_client.client import WhatsAppClient

    latencies: list[float] = []
    arrived: dict[str, int] = {}
    warm = asyncio.Event()
    expected_warm = sessions

    async def receive(request: web.Request) -> web.Response:
        now = time.time()
        body: Any = await request.json()
        if body.get("type") == "message.received":
            text = str(body["data"].get("text") or "")
            kind, _, sent = text.partition(" ")
            if kind == "t":
                latencies.append(now - float(sent))
            else:
                arrived["warm"] = arrived.get("warm", 0) + 1
                if arrived["warm"] >= expected_warm:
                    warm.set()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook_port = runner.addresses[0][1]
    hook = {"url": f"http://127.0.0.1:{hook_port}/hook", "events": ["message.received"]}

    with tempfile.TemporaryDirectory(prefix="gw-bench-") as tmp:
        async with server_process(None) as srv, api() as http:
            gw = Gateway(Path(tmp) / "data")
            await gw.start()
            peers: list[WhatsAppClient] = []
            try:
                made = await create_sessions(http, gw.url, srv.url, sessions, webhooks=[hook])
                await wait_connected(http, gw.url, sessions)
                targets = []
                for s in made:
                    info = await call(http, "GET", f"{gw.url}/api/v1/sessions/{s['id']}")
                    targets.append(info.get("user_id") or info.get("username"))
                for i in range(sessions):
                    peer = WhatsAppClient(
                        server_url=srv.url,
                        storage_path=str(Path(tmp) / f"peer{i}"),
                    )
                    await peer.register(f"p{secrets.token_hex(6)}", "peer password 1")
                    await peer.connect()
                    peers.append(peer)
                for peer, to in zip(peers, targets):
                    await peer.send_message(to, "warm up")
                await asyncio.wait_for(warm.wait(), 120)
                total = int(rate * seconds)
                interval = 1.0 / rate
                t0 = time.perf_counter()
                for i in range(total):
                    delay = t0 + i * interval - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    await peers[i % sessions].send_message(
                        targets[i % sessions], f"t {time.time():.6f}"
                    )
                sent_in = time.perf_counter() - t0
                deadline = time.perf_counter() + 60
                while len(latencies) < total and time.perf_counter() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
                lat = sorted(latencies)

                def p(q: float) -> float:
                    return 1000 * lat[min(len(lat) - 1, int(q * len(lat)))]

                print(
                    f"{total} messages at {total / sent_in:.0f}/s over {sessions} sessions; "
                    f"{len(lat)} webhooks received; peer send -> webhook POST received: "
                    f"p50 {p(0.50):.1f} ms, p90 {p(0.90):.1f} ms, p99 {p(0.99):.1f} ms, "
                    f"max {1000 * lat[-1]:.1f} ms, mean {1000 * statistics.mean(lat):.1f} ms"
                )
            finally:
                for peer in peers:
                    await peer.close()
                await gw.stop()
                gw.close()
                await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benches.gateway_load")
    sub = parser.add_subparsers(dest="bench", required=True)
    s = sub.add_parser("sessions")
    s.add_argument("--count", type=int, default=200)
    s.add_argument("--idle-seconds", type=float, default=30.0)
    a = sub.add_parser("accept")
    a.add_argument("--requests", type=int, default=8000)
    a.add_argument("--sessions", type=int, default=4)
    a.add_argument("--concurrency", type=int, default=64)
    w = sub.add_parser("webhooks")
    w.add_argument("--sessions", type=int, default=50)
    w.add_argument("--rate", type=float, default=200.0)
    w.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    if args.bench == "sessions":
        asyncio.run(sessions_bench(args.count, args.idle_seconds))
    elif args.bench == "accept":
        asyncio.run(accept_bench(args.requests, args.sessions, args.concurrency))
    else:
        asyncio.run(webhooks_bench(args.sessions, args.rate, args.seconds))


if __name__ == "__main__":
    main()
