"""Spacing between messages to the same recipient (Meta's pair rate limit, error 131056)."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from whatsapp_client.cloud._limiter import LimiterSettings, LocalLimiter, PacingModel

from .limits_support import run_virtual, worst_window_excess

EPS = 1e-6

requests = st.lists(
    st.tuples(st.floats(0.0, 5.0), st.sampled_from(["a", "b", "c", "d"])),
    min_size=1,
    max_size=40,
)


def _schedule(
    reqs: list[tuple[float, str]], rate: float, burst: int, spacing: float
) -> tuple[list[tuple[float, float, str, int]], int]:
    """Runs the requests (gap before each, recipient) concurrently on virtual time;
    returns (arrival, done, recipient, call index) per request."""

    async def scenario() -> tuple[list[tuple[float, float, str, int]], int]:
        loop = asyncio.get_running_loop()
        limiter = LocalLimiter(
            rate_per_second=rate, burst=burst, pair_spacing=spacing, clock=loop.time
        )
        out: list[tuple[float, float, str, int]] = []
        counter = itertools.count()

        async def one(arrival: float, recipient: str) -> None:
            await asyncio.sleep(arrival)
            index = next(counter)
            await limiter.acquire("phone", recipient)
            out.append((arrival, loop.time(), recipient, index))

        arrivals = list(itertools.accumulate(gap for gap, _ in reqs))
        await asyncio.gather(*(one(a, r) for a, (_, r) in zip(arrivals, reqs)))
        return out, limiter.settings.burst

    return run_virtual(scenario())


@settings(max_examples=80, deadline=None)
@given(reqs=requests, spacing=st.sampled_from([0.5, 6.0, 10.0]))
def test_without_a_binding_bucket_each_recipient_is_spaced_exactly(
    reqs: list[tuple[float, str]], spacing: float
) -> None:
    results, _ = _schedule(reqs, rate=1000.0, burst=1000, spacing=spacing)
    per_recipient: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for arrival, done, recipient, _ in results:
        per_recipient[recipient].append((arrival, done))
    for pairs in per_recipient.values():
        # Reference: each message to a recipient goes at its arrival, or `spacing` after
        # the previous one to the same recipient, whichever is later.
        arrivals = sorted(a for a, _ in pairs)
        expected: list[float] = []
        for a in arrivals:
            expected.append(a if not expected else max(a, expected[-1] + spacing))
        assert sorted(d for _, d in pairs) == pytest.approx(expected, abs=EPS)


@settings(max_examples=80, deadline=None)
@given(
    reqs=requests,
    rate=st.sampled_from([1.0, 2.0, 20.0]),
    burst=st.integers(1, 3),
    spacing=st.sampled_from([0.5, 6.0]),
)
def test_with_a_binding_bucket_spacing_order_and_pace_all_hold(
    reqs: list[tuple[float, str]], rate: float, burst: int, spacing: float
) -> None:
    results, cfg_burst = _schedule(reqs, rate=rate, burst=burst, spacing=spacing)
    assert worst_window_excess([d for _, d, _, _ in results], rate, cfg_burst) <= EPS
    per_recipient: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for _, done, recipient, index in results:
        per_recipient[recipient].append((index, done))
    for items in per_recipient.values():
        items.sort()
        done_in_call_order = [d for _, d in items]
        for earlier, later in zip(done_in_call_order, done_in_call_order[1:]):
            assert later - earlier >= spacing - EPS  # spaced, and in call order
    for arrival, done, _, _ in results:
        assert done >= arrival - EPS


def test_a_spaced_recipient_does_not_hold_up_the_others() -> None:
    model = PacingModel(LimiterSettings(rate_per_second=80, pair_spacing=6.0))
    assert model.attempt(0.0, "phone", "a", False).granted
    wait = model.attempt(1.0, "phone", "a", False)
    assert not wait.granted
    assert wait.delay == pytest.approx(5.0)
    other = model.attempt(1.0, "phone", "b", False)
    assert (other.granted, other.delay) == (True, 0.0)
    assert model.attempt(6.0, "phone", "a", False).granted


def test_spacing_zero_turns_it_off_and_no_recipient_means_no_spacing() -> None:
    off = PacingModel(LimiterSettings(rate_per_second=1000, pair_spacing=0))
    assert all(off.attempt(0.0, "p", "a", False).delay == 0 for _ in range(5))
    on = PacingModel(LimiterSettings(rate_per_second=1000, pair_spacing=6))
    assert all(on.attempt(0.0, "p", None, False).granted for _ in range(5))


def test_the_spacing_is_per_phone_number() -> None:
    model = PacingModel(LimiterSettings(rate_per_second=80, pair_spacing=6.0))
    assert model.attempt(0.0, "p1", "a", False).granted
    assert model.attempt(0.0, "p2", "a", False).granted


def test_spacing_records_are_dropped_once_over() -> None:
    async def scenario() -> int:
        loop = asyncio.get_running_loop()
        limiter = LocalLimiter(pair_spacing=6.0, clock=loop.time)
        for i in range(50):
            await limiter.acquire("phone", f"r{i}")
        await asyncio.sleep(7)
        await limiter.acquire("phone", "last")
        return len(limiter._model._pair["phone"]) + len(limiter._turns)

    assert run_virtual(scenario()) == 1
