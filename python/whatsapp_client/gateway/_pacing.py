"""Outbound pacing: one token bucket per session, from its ``rate_limit_per_minute``.

The bucket holds at most ``burst`` tokens (a tenth of a minute's worth, at least one) and
refills continuously at ``rate / 60`` tokens per second, so a session never sends more than
``rate`` messages in any minute plus that small burst, and a long queue goes out evenly
spaced rather than in bursts that a chat network would flag.
"""

from __future__ import annotations

import time
from typing import Callable

__all__ = ["TokenBucket", "burst_for"]


def burst_for(rate_per_minute: int) -> int:
    """The bucket's capacity for a rate: a tenth of a minute's messages, at least one."""
    return max(1, rate_per_minute // 10)


class TokenBucket:
    """A token bucket on an injectable monotonic clock (seconds)."""

    def __init__(self, rate_per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate_per_minute < 1:
            raise ValueError("rate_per_minute must be at least 1")
        self._clock = clock
        self._rate = rate_per_minute / 60.0
        self._burst = float(burst_for(rate_per_minute))
        self._tokens = self._burst
        self._stamp = clock()

    @property
    def rate_per_minute(self) -> int:
        return round(self._rate * 60)

    def set_rate(self, rate_per_minute: int) -> None:
        """Changes the rate (a ``PATCH`` of the session); tokens already earned are kept up
        to the new capacity."""
        if rate_per_minute < 1:
            raise ValueError("rate_per_minute must be at least 1")
        self._refill()
        self._rate = rate_per_minute / 60.0
        self._burst = float(burst_for(rate_per_minute))
        self._tokens = min(self._tokens, self._burst)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    def delay(self) -> float:
        """Seconds until one token is available (0 when one is available now)."""
        self._refill()
        if self._tokens >= 1.0:
            return 0.0
        return (1.0 - self._tokens) / self._rate

    def take(self) -> bool:
        """Spends one token if there is one."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
