"""The Redis limiter against a real redis-server (fixture in conftest.py): the Lua script
decides exactly like the in-process model, and several limiters — in this process and in a
second one — share one bucket and one conversation cap atomically.

Time: the limiters here get an injected (fake) clock, passed to the script as an argument;
frozen clocks make every expected delay exact. One test covers the default, Redis's TIME.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
import uuid
from pathlib import Path
from typing import Optional, Union

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from whatsapp_client.cloud._errors import RateLimitError, TransportError
from whatsapp_client.cloud._limiter import Decision, LimiterSettings, PacingModel
from whatsapp_client.cloud._metrics import CloudMetrics
from whatsapp_client.cloud._redis_limiter import _SCRIPT_SHA, RedisLimiter

from ._limits_support import reference_bucket

PYTHON_DIR = Path(__file__).resolve().parents[2] / "python"

Outcome = Union[Decision, float]  # a decision, or the retry_after of a cap refusal

ops = st.lists(
    st.tuples(
        st.one_of(st.sampled_from([0.0, 1.0, 2.0, 6.0, 20.0]), st.floats(0.0, 8.0)),
        st.sampled_from(["p1", "p2"]),
        st.sampled_from([None, "a", "b", "c", "d"]),
        st.booleans(),
    ),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ops=ops,
    rate=st.sampled_from([1.0, 5.0, 80.0]),
    burst=st.integers(1, 3),
    spacing=st.sampled_from([0.0, 2.0, 6.0]),
    cap=st.integers(1, 3),
    window=st.sampled_from([20.0, 86400.0]),
)
def test_the_script_decides_exactly_like_the_model(
    redis_server: str,
    ops: list[tuple[float, str, Optional[str], bool]],
    rate: float,
    burst: int,
    spacing: float,
    cap: int,
    window: float,
) -> None:
    cfg = LimiterSettings(
        rate_per_second=rate,
        burst=burst,
        pair_spacing=spacing,
        conversation_cap=cap,
        conversation_window=window,
    )
    model = PacingModel(cfg)
    now = [1_700_000_000.0]

    def run_model(phone: str, recipient: Optional[str], business: bool) -> Outcome:
        try:
            return model.attempt(now[0], phone, recipient, business)
        except RateLimitError as err:
            return -1.0 if err.retry_after is None else err.retry_after

    async def scenario() -> None:
        limiter = RedisLimiter(
            redis_server,
            clock=lambda: now[0],
            key_prefix=f"diff:{uuid.uuid4().hex}:",
            rate_per_second=cfg.rate_per_second,
            burst=cfg.burst,
            pair_spacing=cfg.pair_spacing,
            conversation_cap=cfg.conversation_cap,
            conversation_window=cfg.conversation_window,
        )
        try:
            for gap, phone, recipient, business in ops:
                now[0] += gap
                business = business and recipient is not None
                expected = run_model(phone, recipient, business)
                try:
                    got: Outcome = await limiter.attempt(
                        phone, recipient, business_initiated=business
                    )
                except RateLimitError as err:
                    got = -1.0 if err.retry_after is None else err.retry_after
                if isinstance(expected, Decision):
                    assert isinstance(got, Decision)
                    assert got.granted == expected.granted
                    assert got.delay == pytest.approx(expected.delay, abs=1e-9)
                    assert got.conversations_left == expected.conversations_left
                else:
                    assert got == pytest.approx(expected, abs=1e-9)
        finally:
            await limiter.close()

    asyncio.run(scenario())


SCRIPTED = [
    # (time, phone, recipient, business-initiated): a burst, an idle pause, a recipient's
    # spacing, the cap, and a conversation whose window ends exactly at that moment.
    (0.0, "p", None, False),
    (0.0, "p", None, False),
    (0.0, "p", None, False),
    (10.0, "p", None, False),
    (10.0, "p", None, False),
    (10.0, "p", "a", True),
    (11.0, "p", "a", False),
    (11.0, "p", "b", True),
    (12.0, "p", "c", True),
    (16.0, "p", "a", True),
    (30.0, "p", "c", True),
    (31.0, "p", "b", True),
    (31.0, "p", "d", True),
]


async def test_a_scripted_day_decides_alike(redis_server: str, key_prefix: str) -> None:
    now = [0.0]
    knobs = {"rate_per_second": 1.0, "burst": 2, "conversation_cap": 2}
    model = PacingModel(LimiterSettings(conversation_window=20.0, **knobs))  # type: ignore[arg-type]
    limiter = RedisLimiter(
        redis_server, clock=lambda: now[0], key_prefix=key_prefix, conversation_window=20.0,
        **knobs,  # type: ignore[arg-type]
    )  # fmt: skip
    seen: list[tuple[object, object]] = []
    for t, phone, recipient, business in SCRIPTED:
        now[0] = t
        expected: object
        got: object
        try:
            expected = model.attempt(t, phone, recipient, business)
        except RateLimitError as err:
            expected = ("cap", err.retry_after)
        try:
            got = await limiter.attempt(phone, recipient, business_initiated=business)
        except RateLimitError as err:
            got = ("cap", err.retry_after)
        seen.append((expected, got))
    await limiter.close()
    for expected, got in seen:
        assert got == expected
    assert [o for o, _ in seen] == [
        Decision(True, 0.0),
        Decision(True, 0.0),
        Decision(True, 1.0),
        Decision(True, 0.0),
        Decision(True, 0.0),
        Decision(True, 1.0, 1),  # the bucket (burst 2) is empty: a's slot at t=11
        Decision(False, 6.0),  # a was granted t=11: next at 17
        Decision(True, 1.0, 0),
        ("cap", 18.0),  # a's conversation (from t=10) ends at 30
        Decision(False, 1.0),  # a's window is open (not capped) but its spacing runs to 17
        Decision(True, 0.0, 0),  # at 30, a's window (from 10) just ended: c takes its place
        Decision(True, 0.0, 0),  # at 31, b's window (from 11) just ended: b counts anew
        ("cap", 19.0),  # c (30) and b (31) are open: c's slot frees at 50
    ]


def _frozen(prefix: str, url: str, **knobs: float) -> RedisLimiter:
    return RedisLimiter(url, clock=lambda: 5_000.0, key_prefix=prefix, **knobs)  # type: ignore[arg-type]


async def test_two_limiters_share_one_bucket_atomically(redis_server: str, key_prefix: str) -> None:
    one = _frozen(key_prefix, redis_server, rate_per_second=50, burst=5)
    two = _frozen(key_prefix, redis_server, rate_per_second=50, burst=5)
    limiters = [one, two] * 60
    decisions = await asyncio.gather(*(lim.attempt("phone", None) for lim in limiters))
    await one.close()
    await two.close()
    delays = sorted(d.delay for d in decisions)
    # 120 requests at one instant: 5 at once, then one every 1/50 s, none shared.
    assert delays == pytest.approx(reference_bucket([0.0] * 120, 50, 5), abs=1e-9)


async def test_one_recipient_gets_one_slot_however_many_ask_at_once(
    redis_server: str, key_prefix: str
) -> None:
    one = _frozen(key_prefix, redis_server)
    two = _frozen(key_prefix, redis_server)
    decisions = await asyncio.gather(
        *((one, two)[i % 2].attempt("phone", "15550001") for i in range(12))
    )
    await one.close()
    await two.close()
    assert sum(d.granted for d in decisions) == 1
    assert {d.delay for d in decisions if not d.granted} == {6.0}


async def test_two_limiters_share_one_conversation_cap(redis_server: str, key_prefix: str) -> None:
    one = _frozen(key_prefix, redis_server, conversation_cap=7, pair_spacing=0)
    two = _frozen(key_prefix, redis_server, conversation_cap=7, pair_spacing=0)

    async def ask(limiter: RedisLimiter, recipient: str) -> Optional[str]:
        try:
            await limiter.acquire("phone", recipient, business_initiated=True)
        except RateLimitError:
            return None
        return recipient

    results = await asyncio.gather(*(ask((one, two)[i % 2], f"r{i}") for i in range(20)))
    accepted = [r for r in results if r is not None]
    assert len(accepted) == 7
    assert await one.conversations_left("phone") == 0
    assert await two.conversations_left("phone") == 0
    # A recipient whose window is open is not counted again, from either limiter.
    await two.acquire("phone", accepted[0], business_initiated=True)
    await one.close()
    await two.close()


CHILD = r"""
import asyncio, json, sys
from whatsapp_client.cloud._errors import RateLimitError
from whatsapp_client.cloud._redis_limiter import RedisLimiter
import redis.asyncio as aioredis

async def main(url, prefix, name):
    control = aioredis.Redis.from_url(url)
    await control.blpop([prefix + "go"], timeout=60)
    await control.aclose()
    lim = RedisLimiter(url, clock=lambda: 5000.0, key_prefix=prefix, rate_per_second=40,
                       burst=3, conversation_cap=25, pair_spacing=0)
    delays, refused = [], 0
    for i in range(60):
        try:
            d = await lim.attempt("phone", f"{name}-{i}", business_initiated=i % 3 == 0)
            delays.append(d.delay)
        except RateLimitError:
            refused += 1
    await lim.close()
    print(json.dumps({"delays": delays, "refused": refused}))

asyncio.run(main(*sys.argv[1:]))
"""


async def test_a_second_process_shares_the_bucket_and_the_cap(
    redis_server: str, key_prefix: str
) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PYTHON_DIR), *sys.path]))
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, redis_server, key_prefix, "child",
        stdout=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    here = RedisLimiter(
        redis_server, clock=lambda: 5000.0, key_prefix=key_prefix, rate_per_second=40,
        burst=3, conversation_cap=25, pair_spacing=0,
    )  # fmt: skip
    control = redis.Redis.from_url(redis_server)
    control.rpush(key_prefix + "go", "1")  # both processes start together
    delays: list[float] = []
    refused = 0
    try:
        for i in range(60):
            try:
                decision = await here.attempt("phone", f"parent-{i}", business_initiated=i % 3 == 0)
                delays.append(decision.delay)
            except RateLimitError:
                refused += 1
        out, _ = await asyncio.wait_for(child.communicate(), timeout=120)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        await here.close()
        control.close()
    assert child.returncode == 0
    theirs = json.loads(out)
    # 40 business-initiated asks for 25 conversations: exactly 15 refused in all; the
    # refused took no token, every other attempt got a slot of its own.
    assert refused + theirs["refused"] == 15
    granted = sorted(delays + theirs["delays"])
    assert len(granted) == 105
    assert granted == pytest.approx(reference_bucket([0.0] * 105, 40, 3), abs=1e-9)


async def test_recipient_spacing_is_shared_between_limiters(
    redis_server: str, key_prefix: str
) -> None:
    now = [100.0]
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    metrics = CloudMetrics()
    one, two = (
        RedisLimiter(
            redis_server,
            clock=lambda: now[0],
            sleep=fake_sleep,
            key_prefix=key_prefix,
            rate_per_second=10,
            burst=2,
            metrics=metrics,
        )
        for _ in range(2)
    )
    await one.acquire("phone", "15550001", business_initiated=True)
    await two.acquire("phone", "15550002", business_initiated=True)  # another: no wait
    await one.acquire("phone", None)  # the bucket (burst 2) is empty: 0.1 s
    await two.acquire("phone", "15550001")  # the same one: 6 s after the first, at t=106
    assert sleeps == [pytest.approx(0.1), pytest.approx(5.9)]
    labels = {"phone_number_id": "phone"}
    assert metrics.registry.get_sample_value("whatsapp_rate_limit_remaining", labels) == 998
    await one.close()
    await two.close()


async def test_noscript_falls_back_to_eval(redis_server: str, key_prefix: str) -> None:
    control = redis.Redis.from_url(redis_server)
    control.script_flush()
    assert control.script_exists(_SCRIPT_SHA) == [False]
    limiter = _frozen(key_prefix, redis_server)
    assert (await limiter.attempt("phone", None)).granted
    assert control.script_exists(_SCRIPT_SHA) == [True]  # EVAL cached it again
    assert (await limiter.attempt("phone", None)).granted
    await limiter.close()
    control.close()


async def test_every_key_expires(redis_server: str, key_prefix: str) -> None:
    limiter = _frozen(key_prefix, redis_server)
    await limiter.attempt("phone", "a", business_initiated=True)
    await limiter.attempt("phone", "b")
    await limiter.attempt("phone", None)
    await limiter.close()
    control = redis.Redis.from_url(redis_server)
    keys = sorted(k.decode() for k in control.scan_iter(match=key_prefix + "*"))
    assert keys == [
        f"{key_prefix}{{phone}}:conv",
        f"{key_prefix}{{phone}}:pair:a",
        f"{key_prefix}{{phone}}:pair:b",
        f"{key_prefix}{{phone}}:tat",
    ]
    ttls = {k: control.pttl(k) for k in keys}
    control.close()
    assert all(ttl > 0 for ttl in ttls.values()), ttls
    assert ttls[f"{key_prefix}{{phone}}:conv"] > 86_400_000  # a window and a margin


async def test_by_default_the_servers_clock_is_used(redis_server: str, key_prefix: str) -> None:
    limiter = RedisLimiter(redis_server, key_prefix=key_prefix)
    assert (await limiter.attempt("phone", "a")).granted
    again = await limiter.attempt("phone", "a")
    assert not again.granted
    assert 0 < again.delay <= 6.0
    assert await limiter.conversations_left("phone") == 1000
    await limiter.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_an_unreachable_redis_is_a_transport_error_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"redis://:hunter2-secret@127.0.0.1:{_closed_port()}/0"
    limiter = RedisLimiter(url)
    with pytest.raises(TransportError) as info:
        await asyncio.wait_for(limiter.acquire("phone", "a"), timeout=60)
    with pytest.raises(TransportError):
        await asyncio.wait_for(limiter.conversations_left("phone"), timeout=60)
    await limiter.close()
    assert "hunter2" not in str(info.value) and "hunter2" not in repr(info.value)
    assert "hunter2" not in caplog.text
