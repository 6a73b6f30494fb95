"""Reference server benchmarks (pytest-benchmark), small enough to run on every CI build.

These drive the same scenarios as the hand-run load generator (``python -m
benches.server_load``), at toy sizes: relay throughput over WebSockets with durable
storage and acknowledgements, latency at a fixed offered load, and idle connections.
The published figures come from the load generator; see docs/benchmarks-server.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from server_load import idle, latency, throughput
from server_load.harness import Server
from whatsapp_client.server.testing import ServerHandle, server_in_thread


@pytest.fixture(scope="module")
def live() -> Iterator[ServerHandle]:
    with server_in_thread(
        registrations_per_address=1_000_000,
        messages_per_second=1_000_000,
        message_burst=1_000_000,
    ) as handle:
        yield handle


def test_relay_throughput(benchmark: Any, live: ServerHandle) -> None:
    def relay() -> dict[str, Any]:
        return asyncio.run(throughput.run(live.url, live.ws_url, 4, 400, 32))

    result = benchmark.pedantic(relay, rounds=3, iterations=1)
    assert result["messages"] == 400
    benchmark.extra_info.update(result)


def test_latency_at_fixed_rate(benchmark: Any, live: ServerHandle) -> None:
    def measure() -> dict[str, Any]:
        return asyncio.run(latency.run(live.url, live.ws_url, 4, 400.0, 1.0, 0.25))

    result = benchmark.pedantic(measure, rounds=1, iterations=1)
    assert result["messages"] == 400
    assert result["measured"] == 300
    benchmark.extra_info.update(result)


def test_idle_connections(benchmark: Any, live: ServerHandle) -> None:
    def hold() -> dict[str, Any]:
        return asyncio.run(idle.run(Server(live.url, None), 100, 0.1))

    result = benchmark.pedantic(hold, rounds=1, iterations=1)
    assert result["sampled_alive"] == "100/100"
    benchmark.extra_info.update(result)
