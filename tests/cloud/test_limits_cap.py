"""The cap on business-initiated conversations per rolling 24 hours (messaging tiers)."""

from __future__ import annotations

import asyncio
from typing import Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from whatsapp_client.cloud._errors import RateLimitError
from whatsapp_client.cloud._limiter import LimiterSettings, LocalLimiter, PacingModel
from whatsapp_client.cloud._metrics import CloudMetrics

from ._limits_support import run_virtual

DAY = 86400.0


class ReferenceCap:
    """The rule, written plainly: a list of (recipient, start) of every counted
    conversation; one is open while ``now - start < window``."""

    def __init__(self, cap: int, window: float) -> None:
        self.cap, self.window = cap, window
        self.started: list[tuple[str, float]] = []

    def ask(self, now: float, recipient: str) -> Optional[float]:
        """None when allowed (counting it if new), else seconds until a slot frees."""
        open_ = [(r, s) for r, s in self.started if s > now - self.window]
        if any(r == recipient for r, _ in open_):
            return None
        if len(open_) >= self.cap:
            return min(s for _, s in open_) + self.window - now
        self.started.append((recipient, now))
        return None


ops = st.lists(
    st.tuples(
        st.floats(0.0, 40.0),  # time since the previous request
        st.sampled_from([f"r{i}" for i in range(8)]),
        st.booleans(),  # business-initiated
    ),
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(ops=ops, cap=st.integers(1, 5), window=st.sampled_from([30.0, 100.0, DAY]))
def test_the_cap_matches_the_rolling_window_rule(
    ops: list[tuple[float, str, bool]], cap: int, window: float
) -> None:
    model = PacingModel(
        LimiterSettings(
            rate_per_second=1e6, pair_spacing=0, conversation_cap=cap, conversation_window=window
        )
    )
    reference = ReferenceCap(cap, window)
    now = 0.0
    counted: list[float] = []
    for gap, recipient, business in ops:
        now += gap
        expected = reference.ask(now, recipient) if business else None
        if expected is None:
            before = model.open_conversations("phone", now)
            decision = model.attempt(now, "phone", recipient, business)
            assert decision.granted
            if business:
                assert decision.conversations_left == cap - model.open_conversations("phone", now)
                if model.open_conversations("phone", now) > before:
                    counted.append(now)
        else:
            with pytest.raises(RateLimitError) as info:
                model.attempt(now, "phone", recipient, business)
            err = info.value
            assert (err.status, err.code, err.retryable) == (0, None, False)
            assert err.retry_after == pytest.approx(expected)
            assert err.retry_after is not None and 0 <= err.retry_after <= window
    # Never more than `cap` conversations started within any window.
    for start in counted:
        assert sum(1 for s in counted if start - window < s <= start) <= cap


def test_a_recipient_with_an_open_window_does_not_count_again() -> None:
    model = PacingModel(LimiterSettings(pair_spacing=0, conversation_cap=2))
    assert model.attempt(0.0, "p", "a", True).conversations_left == 1
    assert model.attempt(10.0, "p", "a", True).conversations_left == 1
    assert model.attempt(20.0, "p", "b", True).conversations_left == 0
    assert model.attempt(DAY - 1, "p", "a", True).granted  # a's window is still open
    with pytest.raises(RateLimitError) as info:
        model.attempt(DAY - 1, "p", "c", True)
    assert info.value.retry_after == pytest.approx(1.0)  # a's slot frees at t = 24 h
    assert model.attempt(DAY, "p", "c", True).conversations_left == 0


def test_replies_are_not_counted_and_a_refusal_changes_nothing() -> None:
    model = PacingModel(LimiterSettings(rate_per_second=1, burst=1, conversation_cap=1))
    assert model.attempt(0.0, "p", "a", True).granted
    # Not business-initiated (a reply in the customer's window): never capped.
    assert model.attempt(0.0, "p", "b", False).granted
    with pytest.raises(RateLimitError):
        model.attempt(0.0, "p", "c", True)
    # The refusal took no token: the next grant is at t=2 (after a and b), not t=3.
    assert model.attempt(0.0, "p", "d", False).delay == pytest.approx(2.0)
    assert model.open_conversations("p", 0.0) == 1


def test_the_cap_is_per_phone_number() -> None:
    model = PacingModel(LimiterSettings(pair_spacing=0, conversation_cap=1))
    assert model.attempt(0.0, "p1", "a", True).granted
    assert model.attempt(0.0, "p2", "b", True).granted


def test_the_default_cap_is_1000_and_the_limiter_reports_what_is_left() -> None:
    async def scenario() -> tuple[int, int, Optional[float]]:
        loop = asyncio.get_running_loop()
        metrics = CloudMetrics()
        limiter = LocalLimiter(clock=loop.time, metrics=metrics)
        for i in range(3):
            await limiter.acquire("phone", f"r{i}", business_initiated=True)
        left_now = limiter.conversations_left("phone")
        await asyncio.sleep(DAY)
        gauge = metrics.registry.get_sample_value(
            "whatsapp_rate_limit_remaining", {"phone_number_id": "phone"}
        )
        return left_now, limiter.conversations_left("phone"), gauge

    assert run_virtual(scenario()) == (997, 1000, 997.0)


async def test_the_refusal_comes_at_once_instead_of_waiting() -> None:
    sleeps: list[float] = []

    async def recording_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    limiter = LocalLimiter(conversation_cap=1, clock=lambda: 5.0, sleep=recording_sleep)
    await limiter.acquire("p", "a", business_initiated=True)
    with pytest.raises(RateLimitError, match="conversation cap reached"):
        await limiter.acquire("p", "b", business_initiated=True)
    assert sleeps == []


def test_a_cancelled_business_initiated_waiter_gives_back_its_conversation() -> None:
    async def scenario() -> tuple[float, float, int]:
        loop = asyncio.get_running_loop()
        limiter = LocalLimiter(rate_per_second=1, burst=1, conversation_cap=1, clock=loop.time)
        await limiter.acquire("p", None)  # t=0: the bucket is now empty
        waiter = asyncio.ensure_future(limiter.acquire("p", "a", business_initiated=True))
        await asyncio.sleep(0.5)  # the waiter holds the slot at t=1 and the one conversation
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        await limiter.acquire("p", "b", business_initiated=True)  # the cap's slot is free
        b_at = loop.time()
        await limiter.acquire("p", "a")  # no spacing left behind by the cancelled message
        return b_at, loop.time(), limiter.conversations_left("p")

    assert run_virtual(scenario()) == (1.0, 2.0, 0)


def test_the_gauge_shows_the_count_when_the_wait_ends_not_when_it_began() -> None:
    async def scenario() -> tuple[Optional[float], int]:
        loop = asyncio.get_running_loop()
        metrics = CloudMetrics()
        limiter = LocalLimiter(rate_per_second=1, burst=1, clock=loop.time, metrics=metrics)
        await limiter.acquire("p", None)  # t=0: the bucket is now empty
        a = asyncio.ensure_future(limiter.acquire("p", "a", business_initiated=True))  # t=1
        b = asyncio.ensure_future(limiter.acquire("p", "b", business_initiated=True))  # t=2
        await asyncio.sleep(0.5)
        a.cancel()  # a's conversation is given back while b waits
        await asyncio.gather(a, b, return_exceptions=True)
        labels = {"phone_number_id": "p"}
        gauge = metrics.registry.get_sample_value("whatsapp_rate_limit_remaining", labels)
        return gauge, limiter.conversations_left("p")

    assert run_virtual(scenario()) == (999.0, 999)


def test_retry_after_never_exceeds_the_window_by_rounding() -> None:
    # oldest + window - now rounds above the window when now is the next float after oldest
    # (the case the property test above found).
    window, oldest = 30.0, 3.5924329392857612
    model = PacingModel(
        LimiterSettings(
            rate_per_second=1e6, pair_spacing=0, conversation_cap=1, conversation_window=window
        )
    )
    assert model.attempt(oldest, "phone", "a", True).granted
    with pytest.raises(RateLimitError) as info:
        model.attempt(3.5924329392857617, "phone", "b", True)
    assert info.value.retry_after is not None and 0 < info.value.retry_after <= window
