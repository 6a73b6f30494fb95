"""Gateway scaling figures in one run: one gateway on SQLite, one on PostgreSQL, and two
gateway processes on one PostgreSQL database: accepted sends per second and webhook latency.

    PYTHONPATH=python python3 benches/gateway_processes.py [--database DSN] [--sessions 8]
        [--rate 50] [--seconds 10] [--requests 3000] [--concurrency 32]

For each setup: a fresh reference server; the gateway(s) as ``whatsapp-client gateway``
child processes (rate limit and queue bound raised; two processes share the data directory
and the database, each with its own port and process id); ``--sessions`` sessions created
alternately through each process (so each runs its half), each with a webhook to a
receiver in this process. Then:

1. webhook latency: SDK clients in a child process (``gateway_inbound.py --child``) send
   ``--rate`` messages a second in all to the sessions for ``--seconds``; each text carries
   the time it was handed to the client, the receiver notes when the ``message.received``
   POST arrived. p50/p99 in ms.
2. accepted sends: ``--concurrency`` callers post ``--requests`` text sends in all, spread
   over the sessions and, round robin, over the processes (as a load balancer would: a send
   may reach the process that does not run its session), to an account outside the
   gateway. The rate of 202 answers and their latency p50/p99.

``--database``: a PostgreSQL server DSN on which the bench may create databases; default:
a throwaway server started here, with ``fsync`` on (as in production). Linux only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.pg_support
from gateway_accept import _register
from gateway_sessions import PASSWORD, _free_port, start_server, wait_health

HERE = Path(__file__).resolve().parent

CHEAP_CLIENTS = {"WHATSAPP_KDF_MEMORY_KIB": "64", "WHATSAPP_KDF_ITERATIONS": "1"}


def start_gateways(
    count: int, data: Path, key: str, database: Optional[str]
) -> list[tuple[subprocess.Popen[bytes], str]]:
    started = []
    for n in range(count):
        port = _free_port()
        cmd = [
            sys.executable, "-m", "whatsapp_client", "gateway",
            "--port", str(port), "--data-dir", str(data), "--log-level", "WARNING",
            "--rate-limit-per-minute", "100000", "--max-queue", "1000000",
            "--process-id", f"gwp_bench_{n}",
        ]  # fmt: skip
        env = {**os.environ, **CHEAP_CLIENTS, "WHATSAPP_GATEWAY_API_KEYS": key}
        if database is not None:
            env["WHATSAPP_GATEWAY_DATABASE"] = database
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
        started.append((proc, f"http://127.0.0.1:{port}"))
        asyncio.run(wait_health(started[-1][1]))  # one at a time: the first makes the key
    return started


class Hook:
    """The webhook receiver: the latency of every ``message.received``."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.runner: Optional[web.AppRunner] = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        if body["type"] == "message.received":
            sent = json.loads(body["data"]["text"])["sent"]
            self.latencies.append((time.time() - sent) * 1000)
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/hook"


async def _session(http: aiohttp.ClientSession, url: str, chat: str, name: str, hook: str) -> Any:
    body = {
        "name": name,
        "engine": "wac1",
        "server_url": chat,
        "username": name,
        "password": PASSWORD,
        "register": True,
        "webhooks": [{"url": hook, "events": ["message.received"]}],
    }
    async with http.post(url + "/api/v1/sessions", json=body) as r:
        created = await r.json()
        assert r.status == 201, created
    for _ in range(600):
        async with http.get(f"{url}/api/v1/sessions/{created['id']}") as r:
            one = await r.json()
        if one["status"] == "connected":
            return one
        await asyncio.sleep(0.1)
    raise RuntimeError(f"session {name} did not connect")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 1)


async def inbound(chat: str, users: list[str], hook: Hook, rate: float, seconds: float) -> Any:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE / "gateway_inbound.py"),
        "--child",
        chat,
        json.dumps(users),
        str(rate),
        str(seconds),
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    assert (await child.stdout.readline()).decode().strip() == "ready"
    sent = int((await child.stdout.readline()).decode().split()[1])
    await child.wait()
    for _ in range(300):  # up to 30 s for the last webhooks
        if len(hook.latencies) >= sent:
            break
        await asyncio.sleep(0.1)
    got = hook.latencies
    return {"sent": sent, "received": len(got), "p50_ms": pct(got, 50), "p99_ms": pct(got, 99)}


async def accept(
    urls: list[str], key: str, sessions: list[str], bob: str, requests: int, concurrency: int
) -> Any:
    connector = aiohttp.TCPConnector(limit=concurrency)
    body = json.dumps({"to": bob, "text": "benchmark message"})
    latencies: list[float] = []
    todo = iter(range(requests))
    async with aiohttp.ClientSession(connector=connector, headers={"X-API-Key": key}) as http:

        async def caller() -> None:
            for n in todo:
                url = f"{urls[n % len(urls)]}/api/v1/sessions/{sessions[n % len(sessions)]}"
                started = time.perf_counter()
                async with http.post(
                    url + "/messages", data=body, headers={"Content-Type": "application/json"}
                ) as r:
                    await r.read()
                    assert r.status == 202, r.status
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "per_second": round(requests / elapsed),
        "p50_ms": pct(latencies, 50),
        "p99_ms": pct(latencies, 99),
    }


async def measure(
    urls: list[str], chat: str, key: str, args: argparse.Namespace, tag: str
) -> dict[str, Any]:
    hook = Hook()
    await hook.start()
    try:
        headers = {"X-API-Key": key}
        async with aiohttp.ClientSession(headers=headers) as http:
            created = []
            for i in range(args.sessions):
                url = urls[i % len(urls)]  # created through a process: run by it
                created.append(await _session(http, url, chat, f"r{tag}x{i}", hook.url))
        users = [s["user_id"] for s in created]
        figures = {"webhooks": await inbound(chat, users, hook, args.rate, args.seconds)}
        bob = await _register(chat, f"bob{tag}")
        ids = [s["id"] for s in created]
        figures["accepted"] = await accept(urls, key, ids, bob, args.requests, args.concurrency)
        return figures
    finally:
        assert hook.runner is not None
        await hook.runner.cleanup()


def run_setup(
    name: str, processes: int, database: Optional[str], args: argparse.Namespace, root: Path
) -> dict[str, Any]:
    key = "wag_" + secrets.token_urlsafe(32)
    server, chat = start_server(root / name / "chat")
    gateways: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        asyncio.run(wait_health(chat))
        gateways = start_gateways(processes, root / name / "gw", key, database)
        tag = f"{os.getpid()}{name.replace('-', '')}"
        figures = asyncio.run(measure([u for _, u in gateways], chat, key, args, tag))
    finally:
        for proc, _ in [*gateways, (server, chat)]:
            proc.terminate()
            proc.wait(timeout=60)
    return {"setup": name, **figures}


@contextlib.contextmanager
def postgres(dsn: Optional[str]) -> Iterator[Any]:
    """A function giving a fresh database's DSN on ``dsn``'s server, or on a throwaway one."""
    from tests.pg_support import PostgresCluster, create_database, postgres_cluster

    if dsn is not None:
        base = dsn.rsplit("/", 1)[0]

        async def fresh() -> str:
            import asyncpg

            name = f"gwbench_{secrets.token_hex(6)}"
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()
            return f"{base}/{name}"

        yield lambda: asyncio.run(fresh())
        return
    with postgres_cluster(durable=True) as cluster:
        c: PostgresCluster = cluster
        yield lambda: asyncio.run(create_database(c))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=None)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="gw-processes-") as tmp,
        postgres(args.database) as fresh,
    ):
        root = Path(tmp)
        results.append(run_setup("sqlite-1", 1, None, args, root))
        results.append(run_setup("postgres-1", 1, fresh(), args, root))
        results.append(run_setup("postgres-2", 2, fresh(), args, root))
    print(json.dumps(results, indent=2))
    print("| setup | accepted sends/s | accept p50 / p99 ms | webhook p50 / p99 ms |")
    print("|---|---|---|---|")
    for r in results:
        a, w = r["accepted"], r["webhooks"]
        print(
            f"| {r['setup']} | {a['per_second']} | {a['p50_ms']} / {a['p99_ms']} |"
            f" {w['p50_ms']} / {w['p99_ms']} ({w['received']}/{w['sent']}) |"
        )


if __name__ == "__main__":
    main()
