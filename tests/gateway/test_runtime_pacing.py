"""The per-session token bucket, on a test clock."""

from __future__ import annotations

import pytest

from whatsapp_client.gateway._pacing import TokenBucket, burst_for


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_one_message_per_interval() -> None:
    clock = Clock()
    bucket = TokenBucket(60, clock)  # one a second, a burst of 6
    assert [bucket.take() for _ in range(7)] == [True] * 6 + [False]
    assert bucket.delay() == pytest.approx(1.0)
    clock.now += 0.5
    assert not bucket.take()
    assert bucket.delay() == pytest.approx(0.5)
    clock.now += 0.5
    assert bucket.take()
    assert bucket.delay() == pytest.approx(1.0)


def test_never_more_than_the_rate_plus_the_burst_in_a_minute() -> None:
    clock = Clock()
    bucket = TokenBucket(50, clock)
    sent = 0
    for _ in range(6000):  # a minute in 10 ms steps
        while bucket.take():
            sent += 1
        clock.now += 0.01
    assert sent <= 50 + burst_for(50)
    assert sent >= 50


def test_changing_the_rate_keeps_earned_tokens_up_to_the_new_capacity() -> None:
    clock = Clock()
    bucket = TokenBucket(600, clock)  # burst 60
    bucket.set_rate(10)  # burst 1
    assert bucket.rate_per_minute == 10
    assert bucket.take()
    assert not bucket.take()
    assert bucket.delay() == pytest.approx(6.0)


@pytest.mark.parametrize("rate", [0, -5])
def test_a_rate_below_one_is_refused(rate: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        TokenBucket(rate)
    with pytest.raises(ValueError, match="at least 1"):
        TokenBucket(10).set_rate(rate)
