"""Gateway session figures: many wac1 sessions in one gateway process.

    python benches/gateway_sessions.py [--sessions 200] [--idle-seconds 20]

Starts the reference server in a child process (light bcrypt, registration limits lifted),
then in this process a gateway (SQLite storage, real Vault) and creates N sessions that
register. Prints: the time until all are ``connected``; resident memory (VmRSS) and the
gateway process's CPU while idle; then closes the gateway, starts a new one on the same data
directory and prints the time until every session is ``connected`` again. Linux only.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

PASSWORD = "bench password 1"


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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
        "--max-anonymous-connections", "100000",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd)
    return proc, f"http://127.0.0.1:{port}"


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


async def all_connected(gateway: Any, count: int, limit: float) -> float:
    started = time.perf_counter()
    while True:
        sessions = await gateway.list_sessions()
        done = sum(1 for s in sessions if s.status == "connected")
        if done == count:
            return time.perf_counter() - started
        if time.perf_counter() - started > limit:
            failed = [s.status_reason for s in sessions if s.status != "connected"][:3]
            raise RuntimeError(f"{done}/{count} connected after {limit}s; e.g. {failed}")
        await asyncio.sleep(0.2)


def make_gateway(data: Path, *, webhooks: bool = False, logins: int = 4) -> tuple[Any, Any]:
    """A gateway on ``data`` and, with ``webhooks``, its webhook dispatcher (else None);
    ``logins``: session logins at once."""
    from whatsapp_client.gateway._dispatcher import WebhookDispatcher
    from whatsapp_client.gateway._metrics import GatewayMetrics
    from whatsapp_client.gateway._service import Gateway
    from whatsapp_client.gateway._settings import GatewaySettings
    from whatsapp_client.gateway._sqlite import SqliteStorage
    from whatsapp_client.gateway._vault import Vault
    from whatsapp_client.gateway._wac1_config import Wac1Factory, Wac1Options

    vault = Vault.load(data)
    settings = GatewaySettings(data_dir=str(data))
    storage = SqliteStorage(data, vault)
    metrics = GatewayMetrics()
    dispatcher = WebhookDispatcher(storage, settings, metrics) if webhooks else None
    wake = dispatcher.wake if dispatcher is not None else (lambda: None)
    options = dataclasses.replace(Wac1Options.from_settings(settings), max_concurrent_logins=logins)
    engines = {"wac1": Wac1Factory(options)}
    return Gateway(settings, storage, vault, metrics, engines=engines, wake=wake), dispatcher


async def run(sessions: int, idle: float, root: Path, logins: int) -> dict[str, float]:
    from whatsapp_client.gateway._requests import CreateSession

    proc, url = start_server(root / "server")
    figures: dict[str, float] = {}
    try:
        await wait_health(url)
        data = root / "gateway"
        gateway, _ = make_gateway(data, logins=logins)
        await gateway.start()
        started = time.perf_counter()
        for i in range(sessions):
            name = f"bench{os.getpid() % 1000}x{i}"
            await gateway.create_session(
                CreateSession(
                    name=name,
                    engine="wac1",
                    server_url=url,
                    username=name,
                    password=PASSWORD,
                    register=True,
                )
            )
        figures["create_all_connected_s"] = (
            await all_connected(gateway, sessions, 600) + time.perf_counter() - started
        )
        await gateway.close()
        gateway, _ = make_gateway(data, logins=logins)
        started = time.perf_counter()
        await gateway.start()
        figures["restart_all_connected_s"] = await all_connected(gateway, sessions, 120) + (
            time.perf_counter() - started
        )
        await asyncio.sleep(2)
        figures["rss_mib"] = _rss_mib()
        cpu = _cpu_seconds()
        await asyncio.sleep(idle)
        figures["idle_cpu_percent"] = 100 * (_cpu_seconds() - cpu) / idle
        figures["rss_after_idle_mib"] = _rss_mib()
        await gateway.close()
    finally:
        proc.terminate()
        proc.wait(30)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--logins", type=int, default=4, help="session logins at once")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gw-bench-") as tmp:
        figures = asyncio.run(run(args.sessions, args.idle_seconds, Path(tmp), args.logins))
    print(json.dumps({"sessions": args.sessions, **figures}, indent=2))


if __name__ == "__main__":
    main()
