"""Rate limits: token buckets, keyed (per username, per address) or per connection."""

from __future__ import annotations

import time


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up."""

    __slots__ = ("_burst", "_rate", "_stamp", "_tokens")

    def __init__(self, rate: float, burst: float) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._stamp = time.monotonic()

    def _refill(self, now: float) -> None:
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    def take(self, now: float | None = None) -> float | None:
        """Spend one token; None if allowed, else seconds until one is available."""
        now = time.monotonic() if now is None else now
        self._refill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return (1.0 - self._tokens) / self._rate if self._rate > 0 else float("inf")

    def full(self, now: float) -> bool:
        self._refill(now)
        return self._tokens >= self._burst


class KeyedLimiter:
    """``limit`` events per ``window`` seconds for each key (a bucket refilling steadily).

    Buckets that have refilled completely are forgotten, so memory stays bounded by the
    keys active within one window.
    """

    def __init__(self, limit: int, window: float) -> None:
        self._limit = max(1, limit)
        self._rate = self._limit / window if window > 0 else float("inf")
        self._buckets: dict[str, TokenBucket] = {}
        self._last_sweep = time.monotonic()
        self._window = window

    def retry_after(self, key: str) -> float | None:
        """Seconds to wait if ``key`` has no budget left (does not spend any)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return None
        now = time.monotonic()
        bucket._refill(now)
        if bucket._tokens >= 1.0:
            return None
        return (1.0 - bucket._tokens) / self._rate

    def hit(self, key: str) -> float | None:
        """Spend one event for ``key``; None if allowed, else the seconds to wait."""
        now = time.monotonic()
        self._sweep(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self._rate, self._limit)
        return bucket.take(now)

    def _sweep(self, now: float) -> None:
        if now - self._last_sweep < max(1.0, self._window):
            return
        self._last_sweep = now
        for key in [k for k, b in self._buckets.items() if b.full(now)]:
            del self._buckets[key]
