"""How fast the outbox may write messages to the server.

The server limits the frames of each connection with a token bucket and refuses a message
over the limit with an ``error`` frame ``rate_limited`` carrying ``retry_after``: the seconds
until its bucket holds a token again, ``(1 - tokens) / rate``. So ``1 / retry_after`` is
never below the server's rate, and the smallest rate implied by the hints seen is the
closest to it (a hint given with an empty bucket is exactly ``1 / rate``).

The pacer lets messages through unthrottled until the server refuses one; from then on it
is a token bucket at 90 % of the smallest implied rate, with room for one message (the
server's burst is unknown), so the server's own bucket refills a little between messages
and absorbs network jitter. After any refusal nothing goes out before the hint has passed.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Callable

__all__ = ["Pacer"]

SAFETY = 0.9  # fraction of the server's implied rate the outbox uses once limited
NO_HINT_PAUSE = 1.0  # seconds to wait after a refusal without a usable hint
MAX_PAUSE = 60.0  # a hint is never followed beyond this


class Pacer:
    """A token bucket for outgoing messages that learns the server's rate from refusals."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.rate: float | None = None  # messages per second; None until a refusal
        self._tokens = 1.0
        self._stamp = clock()
        self._not_before = 0.0

    def _refill(self, now: float) -> None:
        if self.rate is not None:
            self._tokens = min(1.0, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def take(self, n: int = 1) -> bool:
        """Spends ``n`` sends if they may go out now (all or nothing)."""
        now = self._clock()
        if now < self._not_before:
            return False
        if self.rate is None:
            return True
        self._refill(now)
        if self._tokens >= n - 1e-9:
            self._tokens -= n
            return True
        return False

    def delay(self) -> float:
        """Seconds until one message may go out (0 when it may now)."""
        now = self._clock()
        wait = max(0.0, self._not_before - now)
        if self.rate is not None:
            self._refill(now)
            wait = max(wait, (1.0 - self._tokens) / self.rate)
        return wait

    async def acquire(self) -> None:
        """Waits until one message may go out, and spends it."""
        # A timer, not a condition another task sets: polling the clock is the point.
        while not self.take():  # noqa: ASYNC110
            await asyncio.sleep(max(self.delay(), 0.001))

    def refused(self, retry_after: float | None) -> None:
        """The server refused a message for its rate limit: learn, and hold back."""
        now = self._clock()
        if retry_after is not None and math.isfinite(retry_after) and retry_after > 0:
            paced = SAFETY / retry_after
            self.rate = paced if self.rate is None else min(self.rate, paced)
            pause = min(retry_after, MAX_PAUSE)
        else:
            pause = NO_HINT_PAUSE
        self._tokens = 0.0
        self._stamp = now
        self._not_before = max(self._not_before, now + pause)

    def pause(self, seconds: float) -> None:
        """Nothing goes out for ``seconds`` (a transient refusal other than the rate)."""
        self._not_before = max(self._not_before, self._clock() + min(seconds, MAX_PAUSE))
