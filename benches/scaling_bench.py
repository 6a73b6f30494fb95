"""The server on its shared backends against the server on SQLite, in one run.

Starts everything itself on this host: a throwaway PostgreSQL (fsync on, as in
production), a throwaway ``redis-server``, and server processes. For each setup it
measures relay throughput and delivery latency at a fixed rate with the load generator of
``benches.server_load``:

- ``sqlite``: one process, SQLite (``--sqlite-synchronous`` as given, ``full`` by default)
  and the in-process fan-out;
- ``pg``: one process on PostgreSQL and Redis;
- ``pg2``: two processes on the same PostgreSQL and Redis (sockets spread over both, half
  of the pairs crossing processes).

    python -m benches.scaling_bench                       # all three, one round each
    python -m benches.scaling_bench --setups pg --rounds 3

Prints one JSON object per measurement, then a summary with the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any, Optional

from tests.pg_support import PostgresCluster, create_database, postgres_cluster

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_load import latency, throughput
from server_load.harness import Server, process_cpu_seconds, server

SETUPS = ("sqlite", "pg", "pg2")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway redis-server without persistence; its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="wac-bench-redis-") as workdir:
        argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", workdir]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            _wait_for_port(port)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.kill()
            proc.wait(timeout=10)


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


@contextlib.asynccontextmanager
async def servers(flags: Sequence[str], count: int) -> AsyncIterator[list[Server]]:
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(server(None, flags)) for _ in range(count)]


async def _measure(setup: str, procs: list[Server], args: argparse.Namespace) -> dict[str, Any]:
    urls = [p.ws_url for p in procs]
    cpu_before = sum(p.cpu_seconds() for p in procs)
    others_before, host_before = _backend_cpu(), _host_cpu()
    moved = await throughput.run(procs[0].url, urls, args.pairs, args.messages, args.window)
    cpu_between = sum(p.cpu_seconds() for p in procs)
    # Where the rest of the host's CPU went during the throughput run: the database, Redis
    # and this process (the load generator), which share the cores with the servers.
    others_after, host_after = _backend_cpu(), _host_cpu()
    moved["backend_cpu_seconds"] = {
        name: round(others_after.get(name, 0.0) - others_before.get(name, 0.0), 2)
        for name in others_after
    }
    moved["host_busy_cpu_seconds"] = round(host_after - host_before, 2)
    timed = await latency.run(procs[0].url, urls, args.pairs, args.rate, args.seconds, args.warmup)
    moved["server_cpu_seconds"] = round(cpu_between - cpu_before, 2)
    timed["server_cpu_seconds"] = round(sum(p.cpu_seconds() for p in procs) - cpu_between, 2)
    return {
        "setup": setup,
        "processes": len(procs),
        "throughput": moved,
        "latency": timed,
        "host_load": _host_load(),
    }


def _backend_cpu() -> dict[str, float]:
    """User + system CPU seconds so far of every PostgreSQL and Redis process on the host,
    and of this process (the load generator); Linux only, empty elsewhere."""
    totals = {"postgres": 0.0, "redis": 0.0}
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not pid.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(f"/proc/{pid}/comm") as comm:
                name = comm.read()
            for backend in totals:
                if name.startswith(backend):
                    totals[backend] += process_cpu_seconds(int(pid))
    own = os.times()
    totals["load_generator"] = own.user + own.system
    return totals


def _host_cpu() -> float:
    """CPU seconds the whole host has been busy (all cores), from /proc/stat; 0 elsewhere."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/stat") as stat:
            ticks = [int(x) for x in stat.readline().split()[1:]]
        idle = ticks[3] + ticks[4]  # idle + iowait
        return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")
    return 0.0


def _hiredis() -> bool:
    """Whether redis-py parses replies with hiredis (the servers run in this environment)."""
    from redis.utils import HIREDIS_AVAILABLE

    return bool(HIREDIS_AVAILABLE)


def _host_load() -> dict[str, float]:
    """How busy the (shared) host was: the 1-minute load average and, where the kernel
    reports it, the share of the last 60 s in which some task waited for a CPU."""
    load: dict[str, float] = {"loadavg_1m": os.getloadavg()[0]}
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/pressure/cpu") as pressure:
            fields = dict(f.split("=") for f in pressure.readline().split()[1:])
        load["cpu_pressure_60s_percent"] = float(fields["avg60"])
    return load


async def _run_setup(
    setup: str, cluster: Optional[PostgresCluster], redis: str, args: argparse.Namespace
) -> dict[str, Any]:
    if setup == "sqlite":
        async with servers(["--sqlite-synchronous", args.synchronous], 1) as procs:
            return await _measure(setup, procs, args)
    assert cluster is not None
    await _flush_redis(redis)
    shared = ["--database", await create_database(cluster), "--redis", redis]
    async with servers(shared, 2 if setup == "pg2" else 1) as procs:
        return await _measure(setup, procs, args)


async def _flush_redis(url: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        await client.flushall()
    finally:
        await client.aclose()


def _summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per setup: the median of its rounds' throughput and latency figures; the ratios."""
    by_setup: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_setup.setdefault(r["setup"], []).append(r)
    out: dict[str, Any] = {"scenario": "summary", "hiredis": _hiredis()}
    rates: dict[str, float] = {}
    for setup, runs in by_setup.items():
        rates[setup] = statistics.median(r["throughput"]["messages_per_second"] for r in runs)
        out[setup] = {
            "messages_per_second": rates[setup],
            "delivery_p50_ms": statistics.median(r["latency"]["delivery_p50_ms"] for r in runs),
            "delivery_p99_ms": statistics.median(r["latency"]["delivery_p99_ms"] for r in runs),
            "rounds": len(runs),
        }
    if "sqlite" in rates and "pg" in rates:
        out["pg_vs_sqlite_throughput"] = round(rates["pg"] / rates["sqlite"], 2)
    if "pg" in rates and "pg2" in rates:
        out["pg2_vs_pg_throughput"] = round(rates["pg2"] / rates["pg"], 2)
    return out


async def _main(args: argparse.Namespace) -> None:
    setups = [s.strip() for s in args.setups.split(",") if s.strip()]
    unknown = set(setups) - set(SETUPS)
    if unknown:
        raise SystemExit(f"unknown setups: {', '.join(sorted(unknown))} (known: {SETUPS})")
    results: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        shared = any(s != "sqlite" for s in setups)
        cluster = stack.enter_context(postgres_cluster(durable=True)) if shared else None
        redis = stack.enter_context(redis_server()) if shared else ""
        for _ in range(args.rounds):
            for setup in setups:
                result = await _run_setup(setup, cluster, redis, args)
                print(json.dumps(result), flush=True)
                results.append(result)
    print(json.dumps(_summary(results)), flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benches.scaling_bench")
    parser.add_argument("--setups", default=",".join(SETUPS), help="comma-separated")
    parser.add_argument("--rounds", type=int, default=1, help="each setup this many times")
    parser.add_argument("--synchronous", default="full", help="SQLite's --sqlite-synchronous")
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--messages", type=int, default=20_000, help="throughput run")
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--rate", type=float, default=1000.0, help="latency run, msg/s")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args = _parser().parse_args(argv)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(_main(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
