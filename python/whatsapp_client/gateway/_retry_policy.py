"""When a failed webhook delivery is tried again, and when it is given up (dead-lettered).

Fast retries first for blips (1 s, 2 s, 4 s), then a slower schedule for an endpoint that is
down (30 s, 5 min, 30 min, 2 h, then every 6 h), until the delivery is older than
``webhook_max_age_seconds``; the last try is made at that age, then it is dead. A ``429``
(or ``503``) with ``Retry-After`` is honoured instead of the schedule, within bounds.
"""

from __future__ import annotations

import email.utils
from collections.abc import Sequence
from typing import Optional

RETRY_SCHEDULE: tuple[float, ...] = (1.0, 2.0, 4.0, 30.0, 300.0, 1800.0, 7200.0, 21600.0)
# A receiver cannot park a delivery (and every later one to it) for longer than this...
RETRY_AFTER_CAP_SECONDS = 3600.0
# ...nor make the gateway hammer it with Retry-After: 0.
RETRY_AFTER_FLOOR_SECONDS = 1.0

__all__ = [
    "RETRY_AFTER_CAP_SECONDS",
    "RETRY_AFTER_FLOOR_SECONDS",
    "RETRY_SCHEDULE",
    "next_attempt_at",
    "parse_retry_after",
    "retry_delay",
]


def retry_delay(failures: int, schedule: Sequence[float] = RETRY_SCHEDULE) -> float:
    """Seconds to wait after the ``failures``-th failed attempt (1-based); the last step of
    the schedule repeats."""
    if failures < 1:
        raise ValueError("failures counts failed attempts and starts at 1")
    return schedule[min(failures, len(schedule)) - 1]


def parse_retry_after(value: Optional[str], now: float) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date; ``now``
    in Unix seconds), clamped to the floor and the cap; None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT
            return None
        seconds = when.timestamp() - now
    return min(max(seconds, RETRY_AFTER_FLOOR_SECONDS), RETRY_AFTER_CAP_SECONDS)


def next_attempt_at(
    *,
    created_at: int,
    now: int,
    failures: int,
    max_age_seconds: int,
    retry_after: Optional[float] = None,
    schedule: Sequence[float] = RETRY_SCHEDULE,
) -> Optional[int]:
    """When to try again (ms), or None when the delivery is dead: it failed at or after
    ``created_at + max_age``. The next try never lands after that age, so the last one is
    made exactly at it."""
    deadline = created_at + max_age_seconds * 1000
    if now >= deadline:
        return None
    delay = retry_after if retry_after is not None else retry_delay(failures, schedule)
    return min(now + round(delay * 1000), deadline)
