"""Accepted sends per second through the gateway's HTTP API into the durable queue.

    python benches/gateway_accept.py [--requests 10000] [--concurrency 32]

Starts the reference server and the gateway (``whatsapp-client gateway``, rate limit and
queue bound raised) as child processes, creates a session that registers and an account on
the server outside the gateway, then posts ``--requests`` text messages from the session to
that account with ``--concurrency`` callers over keep-alive connections, each with the API
key. Prints the rate of 202 answers (the
requests that were validated, recipient-checked and durably queued) and their latency
percentiles. The sends go out meanwhile, as they would in production. Linux only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_sessions import PASSWORD, _free_port, start_server, wait_health


def start_gateway(data: Path, key: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    # GATEWAY_PROFILE=<file>: the gateway runs under cProfile and writes its profile there.
    profile = os.environ.get("GATEWAY_PROFILE")
    prefix = ["-m", "cProfile", "-o", profile] if profile else []
    cmd = [
        sys.executable, *prefix, "-m", "whatsapp_client", "gateway",
        "--port", str(port), "--data-dir", str(data), "--log-level", "WARNING",
        "--rate-limit-per-minute", "100000", "--max-queue", "1000000",
    ]  # fmt: skip
    env = {**os.environ, "WHATSAPP_GATEWAY_API_KEYS": key}
    return subprocess.Popen(cmd, env=env), f"http://127.0.0.1:{port}"


async def _session(http: aiohttp.ClientSession, url: str, chat: str, name: str) -> Any:
    body = {
        "name": name,
        "engine": "wac1",
        "server_url": chat,
        "username": name,
        "password": PASSWORD,
        "register": True,
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


async def _register(chat: str, name: str) -> str:
    """Registers an account directly on the chat server; returns its user id."""
    async with aiohttp.ClientSession() as http:
        body = {"username": name, "password": PASSWORD}
        async with http.post(chat + "/api/auth/register", json=body) as r:
            created = await r.json()
            assert r.status == 201, created
    return str(created["user"]["id"])


async def run(requests: int, concurrency: int) -> None:
    key = "wag_" + secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="gw-accept-") as tmp:
        server, chat = start_server(Path(tmp) / "chat")
        gateway, url = start_gateway(Path(tmp) / "gw", key)
        try:
            await wait_health(chat)
            await wait_health(url)
            connector = aiohttp.TCPConnector(limit=concurrency)
            headers = {"X-API-Key": key}
            async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
                alice = await _session(http, url, chat, f"alice{os.getpid()}")
                # The recipient is an account outside the gateway, so that the gateway's
                # work is accepting (and sending), not also receiving.
                bob = await _register(chat, f"bob{os.getpid()}")
                path = f"{url}/api/v1/sessions/{alice['id']}/messages"
                body = json.dumps({"to": bob, "text": "benchmark message"})
                latencies: list[float] = []
                todo = iter(range(requests))

                async def caller() -> None:
                    for _ in todo:
                        started = time.perf_counter()
                        async with http.post(
                            path, data=body, headers={"Content-Type": "application/json"}
                        ) as r:
                            await r.read()
                            assert r.status == 202, r.status
                        latencies.append(time.perf_counter() - started)

                started = time.perf_counter()
                await asyncio.gather(*(caller() for _ in range(concurrency)))
                elapsed = time.perf_counter() - started
            cuts = statistics.quantiles(latencies, n=100)
            print(f"accepted sends: {requests} in {elapsed:.2f} s = {requests / elapsed:.0f}/s")
            print(
                f"latency ms: p50 {cuts[49] * 1000:.1f}, p99 {cuts[98] * 1000:.1f},"
                f" max {max(latencies) * 1000:.1f}"
            )
        finally:
            for proc in (gateway, server):
                proc.terminate()
                proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.concurrency))


if __name__ == "__main__":
    main()
