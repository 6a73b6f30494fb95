"""Benchmark fixtures: one parametrized ``impl`` per implementation, peers skipped if absent."""

from __future__ import annotations

import os
import platform
from typing import Any

import pytest

from peers import ADAPTERS, OURS, Implementation, NotInstalled, load

# Cheap Argon2 parameters (below the OWASP floor) for the stores the benchmarks open: honoured
# only by a test build of the extension (cargo feature ``test-hooks``), as in tests/conftest.py.
os.environ.setdefault("WAC1_TEST_WEAK_KDF", "1")


@pytest.fixture(params=list(ADAPTERS), ids=list(ADAPTERS))
def impl(request: pytest.FixtureRequest) -> Implementation[Any, Any]:
    """Each implementation in turn: our core must import, a missing peer is skipped."""
    name: str = request.param
    try:
        return load(name)
    except NotInstalled as e:
        if name == OURS:
            raise
        pytest.skip(str(e))


@pytest.fixture
def ours() -> Implementation[Any, Any]:
    """Our core alone, for the benchmarks of calls only it has."""
    return load(OURS)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def pytest_benchmark_update_machine_info(
    config: pytest.Config, machine_info: dict[str, Any]
) -> None:
    """Records what else was running: the figures only compare within one run."""
    machine_info["cpu_model"] = _cpu_model()
    machine_info["cpu_count"] = os.cpu_count()
    if hasattr(os, "getloadavg"):
        machine_info["load_average_at_start"] = list(os.getloadavg())
    machine_info["implementations"] = {name: _describe(name) for name in ADAPTERS}


def _describe(name: str) -> str:
    try:
        return load(name).description
    except NotInstalled as e:
        return f"not installed ({e})"
