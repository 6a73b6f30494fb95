"""The retry schedule, the 24 h dead-letter age and Retry-After parsing."""

from __future__ import annotations

import email.utils

import pytest

from whatsapp_client.gateway._retry_policy import (
    RETRY_AFTER_CAP_SECONDS,
    RETRY_AFTER_FLOOR_SECONDS,
    next_attempt_at,
    parse_retry_after,
    retry_delay,
)

DAY = 24 * 3600


def test_schedule_fast_then_slow_then_every_six_hours() -> None:
    delays = [retry_delay(n) for n in range(1, 12)]
    assert delays == [1, 2, 4, 30, 300, 1800, 7200, 21600, 21600, 21600, 21600]
    with pytest.raises(ValueError, match="starts at 1"):
        retry_delay(0)


def test_attempt_times_until_dead_after_24_hours() -> None:
    created = 5_000
    now, failures, times = created, 0, [created]
    while True:
        failures += 1
        nxt = next_attempt_at(created_at=created, now=now, failures=failures, max_age_seconds=DAY)
        if nxt is None:
            break
        times.append(nxt)
        now = nxt
    offsets = [(t - created) // 1000 for t in times]
    assert offsets == [0, 1, 3, 7, 37, 337, 2137, 9337, 30937, 52537, 74137, DAY]
    assert failures == len(times)


def test_retry_after_replaces_the_schedule_but_not_the_deadline() -> None:
    assert (
        next_attempt_at(created_at=0, now=1000, failures=1, max_age_seconds=DAY, retry_after=90)
        == 91_000
    )
    assert (
        next_attempt_at(
            created_at=0, now=DAY * 1000 - 10, failures=3, max_age_seconds=DAY, retry_after=90
        )
        == DAY * 1000
    )


def test_parse_retry_after() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after(" 7 ", now) == 7
    assert parse_retry_after("0", now) == RETRY_AFTER_FLOOR_SECONDS
    assert parse_retry_after("99999999", now) == RETRY_AFTER_CAP_SECONDS
    assert parse_retry_after(email.utils.formatdate(now + 600, usegmt=True), now) == 600
    assert parse_retry_after(email.utils.formatdate(now - 600, usegmt=True), now) == 1
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("-5", now) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00", now) is None  # no zone
