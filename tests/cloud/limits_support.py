"""Helpers of the limits tests: an event loop on virtual time, and reference models.

:class:`VirtualTimeLoop` is a real asyncio loop whose clock only moves when every task is
waiting on a timer: then it jumps straight to the next timer. ``asyncio.sleep`` and the
limiter's waits behave as usual, nothing sleeps for real, and the times a test observes are
exact, so the assertions are about the schedule, never about how fast the machine is.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine, Sequence
from typing import Any, Optional, TypeVar

T = TypeVar("T")


class _VirtualSelector(selectors.DefaultSelector):
    def __init__(self) -> None:
        super().__init__()
        self.loop: Optional[VirtualTimeLoop] = None

    def select(self, timeout: Optional[float] = None) -> list[Any]:
        events: list[Any] = super().select(0)
        if events or timeout == 0:
            return events
        if timeout is None:
            raise RuntimeError("deadlock: every task waits and no timer is pending")
        assert self.loop is not None
        self.loop.now += timeout
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        selector = _VirtualSelector()
        super().__init__(selector)
        selector.loop = self
        self.now = 0.0

    def time(self) -> float:
        return self.now


def run_virtual(coro: Coroutine[Any, Any, T]) -> T:
    """Runs ``coro`` to completion on a fresh :class:`VirtualTimeLoop`."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def reference_bucket(arrivals: Sequence[float], rate: float, burst: int) -> list[float]:
    """A plain token bucket (capacity ``burst``, refilled at ``rate``/s) serving requests
    first come, first served: the time each request gets its token."""
    tokens = float(burst)
    last: Optional[float] = None
    previous = float("-inf")
    out: list[float] = []
    for arrival in arrivals:
        t = max(arrival, previous)
        if last is not None:
            tokens = min(float(burst), tokens + (t - last) * rate)
        last = t
        if tokens < 1.0:
            t += (1.0 - tokens) / rate
            tokens = 1.0
            last = t
        tokens -= 1.0
        previous = t
        out.append(t)
    return out


def worst_window_excess(times: Sequence[float], rate: float, burst: int) -> float:
    """max over windows [t_i, t_j] of (events in it) - (rate * length + burst); must be <= 0."""
    ts = sorted(times)
    worst = float("-inf")
    for i in range(len(ts)):
        for j in range(i, len(ts)):
            worst = max(worst, (j - i + 1) - (rate * (ts[j] - ts[i]) + burst))
    return worst
