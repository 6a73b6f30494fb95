"""End-to-end client benchmark: two clients and the server on this machine.

* **flood** — one client sends N messages to another as fast as the client allows; each is
  encrypted, persisted in the outbox, relayed and stored by the server, decrypted, stored in
  the receiver's history and acknowledged. Reported: messages per second from the first send
  until the receiver has stored and acknowledged the last one.
* **latency** — messages at a fixed rate (default 500/s); the time from ``send_message``
  being called to the receiver's handler getting the decrypted message; p50/p99.

Full run (figures in docs/benchmarks-client.md)::

    python benches/bench_client.py --messages 10000 --rate 500 --seconds 10

The server runs as its own process (as in production); the two clients share one event loop
in this process. Under pytest the same code runs at toy sizes as a smoke benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from whatsapp_client.client import Message, WhatsAppClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_load.harness import server as server_process

PASSWORD = "bench password 1"
WINDOW = 1500


def _options(durability: str) -> dict[str, Any]:
    return {
        "durability": durability,
        "kdf_memory_kib": 65536,
        "kdf_iterations": 3,
        "send_timeout": 120.0,
        "request_timeout": 60.0,
    }


async def _pair(url: str, storage: str, durability: str) -> tuple[WhatsAppClient, WhatsAppClient]:
    alice = WhatsAppClient(server_url=url, storage_path=storage, **_options(durability))
    bob = WhatsAppClient(server_url=url, storage_path=storage, **_options(durability))
    tag = uuid.uuid4().hex[:8]
    await alice.register(f"alice_{tag}", PASSWORD)
    await bob.register(f"bob_{tag}", PASSWORD)
    return alice, bob


async def flood(url: str, n: int, durability: str = "full") -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="wac-client-bench-") as storage:
        alice, bob = await _pair(url, storage, durability)
        try:
            assert bob.user_id is not None
            received = 0
            done = asyncio.Event()

            @bob.on_message
            def count(message: Message) -> None:
                nonlocal received
                received += 1
                if received == n:
                    done.set()

            # warm up: the session exists before timing
            await alice.send_message(bob.user_id, "warm-up")
            n += 1
            received_target = n
            loop = asyncio.get_running_loop()
            sem = asyncio.Semaphore(WINDOW)

            async def one(i: int) -> None:
                async with sem:
                    await alice.send_message(bob.user_id or "", f"flood message {i} ✓")

            start = loop.time()
            senders = [asyncio.ensure_future(one(i)) for i in range(n - 1)]
            await asyncio.gather(*senders)
            sent_at = loop.time()
            await asyncio.wait_for(done.wait(), 600)
            await bob.idle()
            end = loop.time()
            assert received == received_target
            history = await bob.get_messages(alice.user_id or "", limit=min(n, 10_000))
            assert len(history) == min(n, 10_000)
            return {
                "messages": n - 1,
                "durability": durability,
                "seconds": round(end - start, 3),
                "msg_per_s": round((n - 1) / (end - start)),
                "all_sent_after_s": round(sent_at - start, 3),
            }
        finally:
            await alice.close()
            await bob.close()


async def latency(
    url: str, rate: float, seconds: float, durability: str = "full"
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="wac-client-bench-") as storage:
        alice, bob = await _pair(url, storage, durability)
        try:
            assert bob.user_id is not None
            loop = asyncio.get_running_loop()
            started: dict[str, float] = {}
            lat: list[float] = []
            total = int(rate * seconds)
            done = asyncio.Event()

            @bob.on_message
            def arrived(message: Message) -> None:
                t0 = started.get(message.content)
                if t0 is not None:
                    lat.append(loop.time() - t0)
                    if len(lat) == total:
                        done.set()

            await alice.send_message(bob.user_id, "warm-up")
            tasks = []
            t_start = loop.time()
            for i in range(total):
                target = t_start + i / rate
                delay = target - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                key = f"latency probe {i}"
                started[key] = loop.time()
                tasks.append(asyncio.ensure_future(alice.send_message(bob.user_id, key)))
            await asyncio.gather(*tasks)
            await asyncio.wait_for(done.wait(), 120)
            lat.sort()
            q = statistics.quantiles(lat, n=100)
            return {
                "messages": total,
                "rate_per_s": rate,
                "durability": durability,
                "p50_ms": round(q[49] * 1000, 2),
                "p99_ms": round(q[98] * 1000, 2),
                "max_ms": round(lat[-1] * 1000, 2),
            }
        finally:
            await alice.close()
            await bob.close()


def _own_cpu_seconds() -> float:
    return time.process_time()  # user + system CPU of this process, all threads


async def run_all(messages: int, rate: float, seconds: float, durability: str) -> dict[str, Any]:
    async with server_process(None) as srv:
        server_cpu, client_cpu = srv.cpu_seconds(), _own_cpu_seconds()
        out = {"flood": await flood(srv.url, messages, durability)}
        # CPU per message of the flood (user + system; registration and login included).
        out["flood"]["clients_cpu_us_per_msg"] = round(
            (_own_cpu_seconds() - client_cpu) / messages * 1e6
        )
        out["flood"]["server_cpu_us_per_msg"] = round(
            (srv.cpu_seconds() - server_cpu) / messages * 1e6
        )
        out["latency"] = await latency(srv.url, rate, seconds, durability)
        return out


def test_client_flood_smoke(benchmark: Any) -> None:
    async def go() -> dict[str, Any]:
        async with server_process(None) as srv:
            return await flood(srv.url, 300)

    result = benchmark.pedantic(lambda: asyncio.run(go()), rounds=1, iterations=1)
    assert result["messages"] == 300
    benchmark.extra_info.update(result)


def test_client_latency_smoke(benchmark: Any) -> None:
    async def go() -> dict[str, Any]:
        async with server_process(None) as srv:
            return await latency(srv.url, 200.0, 1.0)

    result = benchmark.pedantic(lambda: asyncio.run(go()), rounds=1, iterations=1)
    assert result["messages"] == 200
    benchmark.extra_info.update(result)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=10000)
    p.add_argument("--rate", type=float, default=500.0)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--durability", choices=("full", "fast"), default="full")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    result = asyncio.run(run_all(args.messages, args.rate, args.seconds, args.durability))
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
