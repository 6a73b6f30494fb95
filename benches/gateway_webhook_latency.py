"""Inbound message → webhook POST received, end to end, across many gateway sessions.

    PYTHONPATH=python python3 benches/gateway_webhook_latency.py [--sessions 50] [--rate 200]
        [--seconds 10] [--senders 10]

Four processes: the reference server; this one, running the gateway (wac1 sessions, SQLite
storage, real Vault, the webhook dispatcher), each session with one endpoint; a sender
process with ``--senders`` plain SDK clients sending ``--rate`` text messages per second in
total, round robin over the gateway's sessions; a receiver process taking the webhook POSTs.
The latency of a message is the receiver's arrival time minus the time the sender called
``send_message`` (the text carries it; same machine, same clock): encryption, the server's
relay, the session's decryption, recording with its event, and the signed POST. Each sender
first sends one untimed message to each of its targets (session set-up, X3DH).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

PASSWORD = "bench password 1"
LIGHT_CLIENT: dict[str, Any] = {"durability": "fast", "send_timeout": 30.0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    cmd = [
        sys.executable, "-m", "whatsapp_client", "serve",
        "--port", str(port), "--data", str(data), "--bcrypt-cost", "4",
        "--no-access-log", "--log-level", "WARNING",
        "--registrations-per-address", "1000000",
        "--login-attempts-per-address", "1000000",
        "--login-attempts-per-username", "1000000",
        "--bundle-fetches-per-requester", "1000000",
        "--messages-per-second", "100000", "--message-burst", "100000",
    ]  # fmt: skip
    return subprocess.Popen(cmd), f"http://127.0.0.1:{port}"


async def wait_health(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            try:
                async with http.get(url + "/health") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the reference server did not start")


# --- the receiver process --------------------------------------------------------------------
async def receive(expected: int) -> None:
    latencies: list[float] = []
    arrivals: dict[int, float] = {}
    done = asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        arrived = time.time()
        payload = json.loads(body["data"]["text"])
        if "sent_at" in payload:
            latencies.append(arrived - payload["sent_at"])
            arrivals[payload["k"]] = arrived
            if len(latencies) >= expected:
                done.set()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/{session}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print(runner.addresses[0][1], flush=True)
    await done.wait()
    await runner.cleanup()
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100)
    summary = {"received": len(ms), "p50_ms": q[49], "p95_ms": q[94], "p99_ms": q[98]}
    print(json.dumps({k: round(v, 1) for k, v in {**summary, "max_ms": ms[-1]}.items()}))
    print(json.dumps(arrivals), flush=True)


# --- the sender process ----------------------------------------------------------------------
async def send(server_url: str, targets: list[str], senders: int, rate: float, total: int) -> None:
    from whatsapp_client.client import WhatsAppClient

    clients = []
    with tempfile.TemporaryDirectory(prefix="gw-senders-") as tmp:
        for i in range(senders):
            client = WhatsAppClient(server_url, str(Path(tmp) / f"s{i}"), **LIGHT_CLIENT)
            await client.register(f"sender{os.getpid()}x{i}", PASSWORD)
            await client.connect()
            clients.append(client)
        # Session set-up with every target, untimed.
        await asyncio.gather(
            *(
                clients[t % senders].send_message(user, json.dumps({"warmup": t}))
                for t, user in enumerate(targets)
            )
        )
        print("warm", flush=True)
        sys.stdin.readline()  # the gateway side is ready to measure
        loop = asyncio.get_running_loop()
        start = loop.time()
        tasks = []
        for k in range(total):
            delay = start + k / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            target = k % len(targets)
            text = json.dumps({"k": k, "sent_at": time.time()})
            tasks.append(
                asyncio.create_task(clients[target % senders].send_message(targets[target], text))
            )
        await asyncio.gather(*tasks)
        print(f"sent {total} in {loop.time() - start:.1f} s", flush=True)
        for client in clients:
            await client.close()


# --- the gateway (this process) --------------------------------------------------------------
def _instrument(storage: Any) -> tuple[dict[str, list[float]], dict[int, float]]:
    """Where the time goes: wraps the storage's ``record_inbound`` to note, per timed
    message, the time from ``send_message`` to the gateway recording it, and the commit."""
    stages: dict[str, list[float]] = {
        "send_message -> gateway records it (server relay, session decrypts)": [],
        "record_inbound (message and event committed)": [],
    }
    committed: dict[int, float] = {}
    original = storage.record_inbound

    async def record_inbound(message: Any, event: Any) -> bool:
        called = time.time()
        result: bool = await original(message, event)
        payload = json.loads(message.text or "{}")
        if "sent_at" in payload:
            stages["send_message -> gateway records it (server relay, session decrypts)"].append(
                called - payload["sent_at"]
            )
            committed[payload["k"]] = time.time()
            stages["record_inbound (message and event committed)"].append(
                committed[payload["k"]] - called
            )
        return result

    storage.record_inbound = record_inbound
    return stages, committed


async def run(args: argparse.Namespace, root: Path) -> None:
    from whatsapp_client.gateway._dispatcher import WebhookDispatcher
    from whatsapp_client.gateway._metrics import GatewayMetrics
    from whatsapp_client.gateway._requests import CreateSession, WebhookSpec
    from whatsapp_client.gateway._service import Gateway
    from whatsapp_client.gateway._settings import GatewaySettings
    from whatsapp_client.gateway._sqlite import SqliteStorage
    from whatsapp_client.gateway._vault import Vault

    total = int(args.rate * args.seconds)
    server, url = start_server(root / "server")
    receiver = subprocess.Popen(  # noqa: ASYNC220 (before anything runs on the loop)
        [sys.executable, __file__, "--receive", str(total)], stdout=subprocess.PIPE, text=True
    )
    assert receiver.stdout is not None
    hook_port = int(receiver.stdout.readline())
    try:
        await wait_health(url)
        data = root / "gateway"
        vault = Vault.load(data)
        settings = GatewaySettings(data_dir=str(data), rate_limit_per_minute=100_000)
        storage = SqliteStorage(data, vault)
        metrics = GatewayMetrics()
        dispatcher = WebhookDispatcher(storage, settings, metrics)
        stages, committed = _instrument(storage)
        gateway = Gateway(settings, storage, vault, metrics, wake=dispatcher.wake)
        await gateway.start()
        await dispatcher.start()
        ids = []
        for i in range(args.sessions):
            name = f"gw{os.getpid() % 1000}x{i}"
            spec = WebhookSpec(
                url=f"http://127.0.0.1:{hook_port}/s{i}", events=["message.received"]
            )
            record, _ = await gateway.create_session(
                CreateSession(
                    name=name,
                    engine="wac1",
                    server_url=url,
                    username=name,
                    password=PASSWORD,
                    register=True,
                    webhooks=[spec],
                )
            )
            ids.append(record.id)
        while True:
            sessions = await gateway.list_sessions()
            if all(s.status == "connected" and s.user_id for s in sessions):
                break
            await asyncio.sleep(0.2)
        targets = [s.user_id for s in sorted(sessions, key=lambda s: ids.index(s.id))]
        sender = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--send", url, json.dumps(targets),
            "--senders", str(args.senders), "--rate", str(args.rate),
            "--seconds", str(args.seconds),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert sender.stdin is not None and sender.stdout is not None
        assert await sender.stdout.readline() == b"warm\n"
        await asyncio.sleep(2)  # the warm-up messages' webhooks go out first
        cpu = time.process_time()
        started = time.perf_counter()
        sender.stdin.write(b"go\n")
        await sender.stdin.drain()
        print((await sender.stdout.readline()).decode().strip())
        loop = asyncio.get_running_loop()
        summary = await loop.run_in_executor(None, receiver.stdout.readline)
        arrivals = json.loads(await loop.run_in_executor(None, receiver.stdout.readline))
        stages["committed -> webhook POST received (dispatcher)"] = [
            arrivals[str(k)] - at for k, at in committed.items() if str(k) in arrivals
        ]
        elapsed = time.perf_counter() - started
        busy = 100 * (time.process_time() - cpu) / elapsed
        print(f"{args.rate:g} messages/s over {args.sessions} sessions, {args.senders} senders")
        print(f"inbound message -> webhook POST received: {summary.strip()}")
        print(f"gateway process CPU during the run: {busy:.0f} % of one core")
        for name, values in stages.items():
            q = statistics.quantiles([v * 1000 for v in values], n=100)
            print(f"  {name}: p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms")
        await sender.wait()
        await dispatcher.close()
        await gateway.close()
    finally:
        receiver.kill()
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--receive", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--send", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receive:
        asyncio.run(receive(args.receive))
    elif args.send:
        total = int(args.rate * args.seconds)
        url, targets = args.send[0], json.loads(args.send[1])
        asyncio.run(send(url, targets, args.senders, args.rate, total))
    else:
        with tempfile.TemporaryDirectory(prefix="gw-latency-") as tmp:
            asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
