"""Command line of the load generator; prints one JSON object per scenario."""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
from typing import Any, Optional

from . import idle, latency, throughput
from .harness import server


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benches.server_load")
    parser.add_argument("--url", help="use a running server instead of starting one")
    parser.add_argument(
        "--synchronous", default="full", help="server --sqlite-synchronous (full or normal)"
    )
    sub = parser.add_subparsers(dest="scenario", required=True)
    t = sub.add_parser("throughput")
    t.add_argument("--pairs", type=int, default=50)
    t.add_argument("--messages", type=int, default=100_000)
    t.add_argument("--window", type=int, default=64)
    lat = sub.add_parser("latency")
    lat.add_argument("--pairs", type=int, default=50)
    lat.add_argument("--rate", type=float, default=2000.0)
    lat.add_argument("--seconds", type=float, default=20.0)
    lat.add_argument("--warmup", type=float, default=2.0)
    i = sub.add_parser("idle")
    i.add_argument("--connections", type=int, default=10_000)
    i.add_argument("--hold", type=float, default=5.0)
    return parser


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    extra = ["--sqlite-synchronous", args.synchronous]
    async with server(args.url, extra) as srv:
        cpu_before = srv.cpu_seconds()
        own_before = resource.getrusage(resource.RUSAGE_SELF)
        if args.scenario == "throughput":
            result = await throughput.run(
                srv.url, srv.ws_url, args.pairs, args.messages, args.window
            )
        elif args.scenario == "latency":
            result = await latency.run(
                srv.url, srv.ws_url, args.pairs, args.rate, args.seconds, args.warmup
            )
        else:
            result = await idle.run(srv, args.connections, args.hold)
        own_after = resource.getrusage(resource.RUSAGE_SELF)
        result["server_cpu_seconds"] = round(srv.cpu_seconds() - cpu_before, 2)
        result["loadgen_cpu_seconds"] = round(
            own_after.ru_utime + own_after.ru_stime - own_before.ru_utime - own_before.ru_stime, 2
        )
    result["sqlite_synchronous"] = args.synchronous
    return result


def main(argv: Optional[list[str]] = None) -> int:
    args = _parser().parse_args(argv)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(json.dumps(asyncio.run(_main(args))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
