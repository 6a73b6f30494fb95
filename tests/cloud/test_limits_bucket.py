"""The token bucket per phone number: properties on virtual time (no real waiting)."""

from __future__ import annotations

import asyncio
import itertools
from typing import Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from whatsapp_client.cloud._errors import ConfigurationError, ValidationError
from whatsapp_client.cloud._limiter import LimiterSettings, LocalLimiter, PacingModel

from .limits_support import reference_bucket, run_virtual, worst_window_excess

EPS = 1e-6

rates = st.one_of(st.sampled_from([20.0, 80.0, 1000.0]), st.floats(0.5, 1000.0))
bursts = st.one_of(st.none(), st.integers(1, 12))
gaps = st.lists(st.floats(0.0, 0.3), min_size=1, max_size=60)


def _arrivals(gap_list: list[float]) -> list[float]:
    return list(itertools.accumulate(gap_list))


@settings(max_examples=200, deadline=None)
@given(rate=rates, burst=bursts, gap_list=gaps)
def test_grants_match_a_token_bucket_and_respect_every_window(
    rate: float, burst: Optional[int], gap_list: list[float]
) -> None:
    cfg = LimiterSettings(rate_per_second=rate, burst=burst, pair_spacing=0)
    model = PacingModel(cfg)
    arrivals = _arrivals(gap_list)
    grants = []
    for now in arrivals:
        decision = model.attempt(now, "phone", None, False)
        assert decision.granted and decision.delay >= 0
        grants.append(now + decision.delay)
    expected = reference_bucket(arrivals, rate, cfg.burst)
    assert grants == pytest.approx(expected, abs=EPS, rel=1e-9)
    assert grants == sorted(grants)  # first come, first served
    assert worst_window_excess(grants, rate, cfg.burst) <= EPS


@settings(max_examples=60, deadline=None)
@given(rate=rates, burst=bursts, gap_list=gaps)
def test_concurrent_acquires_on_virtual_time_are_paced_and_served_in_call_order(
    rate: float, burst: Optional[int], gap_list: list[float]
) -> None:
    arrivals = _arrivals(gap_list)

    async def scenario() -> tuple[list[float], list[int], int]:
        loop = asyncio.get_running_loop()
        limiter = LocalLimiter(rate_per_second=rate, burst=burst, clock=loop.time)
        calls: list[int] = []
        done: list[tuple[float, int]] = []

        async def one(arrival: float) -> None:
            await asyncio.sleep(arrival)
            index = len(calls)
            calls.append(index)
            await limiter.acquire("phone", None)
            done.append((loop.time(), index))

        await asyncio.gather(*(one(a) for a in arrivals))
        await limiter.close()
        done.sort()
        return [t for t, _ in done], [i for _, i in done], limiter.settings.burst

    times, order, cfg_burst = run_virtual(scenario())
    assert times == pytest.approx(reference_bucket(arrivals, rate, cfg_burst), abs=EPS)
    assert worst_window_excess(times, rate, cfg_burst) <= EPS
    # Fair: a caller never gets its slot after one who called later (ties aside).
    by_index = dict(zip(order, times))
    assert all(by_index[i] <= by_index[i + 1] + EPS for i in range(len(order) - 1))


def test_a_burst_then_an_even_pace_at_the_configured_rate() -> None:
    async def scenario() -> list[float]:
        loop = asyncio.get_running_loop()
        limiter = LocalLimiter(rate_per_second=20, burst=3, clock=loop.time)
        out: list[float] = []

        async def one() -> None:
            await limiter.acquire("phone", None)
            out.append(loop.time())

        await asyncio.gather(*(one() for _ in range(7)))
        return out

    assert run_virtual(scenario()) == pytest.approx([0, 0, 0, 0.05, 0.10, 0.15, 0.20])


def test_phone_numbers_have_buckets_of_their_own() -> None:
    model = PacingModel(LimiterSettings(rate_per_second=1, burst=1, pair_spacing=0))
    assert model.attempt(0.0, "a", None, False).delay == 0
    assert model.attempt(0.0, "a", None, False).delay == pytest.approx(1.0)
    assert model.attempt(0.0, "b", None, False).delay == 0


def test_default_rate_is_80_per_second_with_a_burst_of_a_tenth() -> None:
    cfg = LocalLimiter().settings
    assert (cfg.rate_per_second, cfg.burst) == (80.0, 8)
    assert LimiterSettings(rate_per_second=1000).burst == 100
    assert LimiterSettings(rate_per_second=20).burst == 2


def test_a_cancelled_waiter_gives_its_slot_back() -> None:
    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        limiter = LocalLimiter(rate_per_second=1, burst=1, clock=loop.time, pair_spacing=0)
        await limiter.acquire("phone", None)  # t=0, bucket now empty
        waiter = asyncio.ensure_future(limiter.acquire("phone", None))  # slot at t=1
        await asyncio.sleep(0.5)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        await limiter.acquire("phone", None)
        return loop.time()

    # Without the refund the third call would wait for t=2.
    assert run_virtual(scenario()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate_per_second": 0},
        {"rate_per_second": -5},
        {"rate_per_second": float("nan")},
        {"rate_per_second": float("inf")},
        {"burst": 0},
        {"burst": 2.5},
        {"burst": True},
        {"pair_spacing": -1},
        {"conversation_cap": 0},
        {"conversation_cap": 1.5},
        {"conversation_window": 0},
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        LocalLimiter(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("phone", "recipient", "business"),
    [("", "1555", False), ("p", "", False), ("p", None, True), (None, "1", False)],
)
async def test_malformed_requests_are_refused_without_using_a_slot(
    phone: str, recipient: Optional[str], business: bool
) -> None:
    sleeps: list[float] = []

    async def recording_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    limiter = LocalLimiter(rate_per_second=1, burst=1, clock=lambda: 0.0, sleep=recording_sleep)
    with pytest.raises(ValidationError):
        await limiter.acquire(phone, recipient, business_initiated=business)
    await limiter.acquire("p", None)  # the one token is still there: no wait
    assert sleeps == []
