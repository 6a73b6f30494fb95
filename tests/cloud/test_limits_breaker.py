"""The circuit breaker per phone number: a state-machine property test against a reference
model, and the behaviour callers and operators see (errors, callback, logs)."""

from __future__ import annotations

import asyncio
import logging
from typing import Optional

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from whatsapp_client.cloud._breaker import CircuitBreaker, classify_failure
from whatsapp_client.cloud._errors import (
    AuthError,
    CircuitOpenError,
    CloudAPIError,
    IntegrityError,
    RateLimitError,
    RecipientError,
    TemplateError,
    TransportError,
    ValidationError,
)

ERRORS: dict[str, BaseException] = {
    "count": TransportError("connection reset"),
    "trip": IntegrityError("blocked", status=400, code=368),
    "answered": AuthError("bad token", status=401, code=190),
    "ignore": asyncio.CancelledError(),
}


class ReferenceBreaker:
    """The rule as a transition table, for one phone number."""

    def __init__(self, threshold: int, reset: float) -> None:
        self.threshold, self.reset = threshold, reset
        self.state, self.fails, self.opened = "closed", 0, 0.0
        self.probe: Optional[float] = None
        self.changes: list[str] = []

    def _go(self, state: str, now: float) -> None:
        if state == "open":
            self.opened, self.fails, self.probe = now, 0, None
        if state == "closed":
            self.fails, self.probe = 0, None
        if state != self.state:
            self.changes.append(state)
        self.state = state

    def allow(self, now: float) -> bool:
        if self.state == "open" and now - self.opened >= self.reset:
            self._go("half_open", now)
            self.probe = now
            return True
        if self.state == "half_open" and (self.probe is None or now - self.probe >= self.reset):
            self.probe = now
            return True
        return self.state == "closed"

    def outcome(self, kind: str, now: float) -> None:
        table = {
            ("closed", "success"): lambda: setattr(self, "fails", 0),
            ("closed", "answered"): lambda: setattr(self, "fails", 0),
            ("closed", "count"): lambda: self._count(now),
            ("half_open", "success"): lambda: self._go("closed", now),
            ("half_open", "answered"): lambda: self._go("closed", now),
            ("half_open", "count"): lambda: self._go("open", now),
            ("half_open", "ignore"): lambda: setattr(self, "probe", None),
        }
        if kind == "trip":
            if self.state == "open":
                self.opened = now  # stays open, from now
            else:
                self._go("open", now)
            return
        table.get((self.state, kind), lambda: None)()

    def _count(self, now: float) -> None:
        self.fails += 1
        if self.fails >= self.threshold:
            self._go("open", now)


step = st.one_of(
    st.tuples(st.just("wait"), st.one_of(st.sampled_from([1.0, 5.0, 30.0]), st.floats(0.0, 40.0))),
    st.tuples(
        st.just("call"), st.sampled_from(["success", "count", "trip", "answered", "ignore", "lost"])
    ),
    # An answer to a call made earlier, arriving whatever the state is now.
    st.tuples(st.just("late"), st.sampled_from(["success", "count", "trip", "answered"])),
)


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(step, max_size=60),
    threshold=st.integers(1, 4),
    reset=st.sampled_from([1.0, 5.0, 30.0]),
)
def test_the_breaker_follows_the_reference_model(
    steps: list[tuple[str, object]], threshold: int, reset: float
) -> None:
    now = [0.0]
    changes: list[tuple[str, str]] = []
    breaker = CircuitBreaker(
        failure_threshold=threshold,
        reset_timeout=reset,
        clock=lambda: now[0],
        on_change=lambda phone, state: changes.append((phone, state)),
    )
    ref = ReferenceBreaker(threshold, reset)

    def report(kind: str) -> None:
        ref.outcome(kind, now[0])
        if kind == "success":
            breaker.record_success("p")
        else:
            breaker.record_failure("p", ERRORS[kind])

    for action, arg in steps:
        if action == "wait":
            assert isinstance(arg, float)
            now[0] += arg
            continue
        assert isinstance(arg, str)
        if action == "late":
            report(arg)
        else:
            allowed = ref.allow(now[0])
            if allowed:
                breaker.before_call("p")
                if arg != "lost":
                    report(arg)
            else:
                with pytest.raises(CircuitOpenError) as info:
                    breaker.before_call("p")
                assert info.value.phone_number_id == "p"
                assert 0 <= info.value.retry_after <= reset
        assert breaker.state("p") == ref.state
    assert changes == [("p", s) for s in ref.changes]
    assert breaker.state("other") == "closed"


def test_exactly_one_probe_in_half_open() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=10, clock=lambda: now[0])
    breaker.record_failure("p", TransportError("down"))
    breaker.before_call("p")  # still closed after one failure
    breaker.record_failure("p", asyncio.TimeoutError())
    assert breaker.state("p") == "open"
    with pytest.raises(CircuitOpenError) as info:
        breaker.before_call("p")
    assert info.value.retry_after == pytest.approx(10)
    now[0] = 10.0
    breaker.before_call("p")  # the probe
    assert breaker.state("p") == "half_open"
    with pytest.raises(CircuitOpenError):
        breaker.before_call("p")  # a second caller waits for the probe's answer
    breaker.record_success("p")
    assert breaker.state("p") == "closed"
    breaker.before_call("p")


def test_a_lost_probe_is_replaced_after_the_timeout_and_a_cancelled_one_at_once() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=10, clock=lambda: now[0])
    breaker.record_failure("p", TransportError("down"))
    now[0] = 10.0
    breaker.before_call("p")  # a probe whose task dies without reporting
    now[0] = 19.0
    with pytest.raises(CircuitOpenError):
        breaker.before_call("p")
    now[0] = 20.0
    breaker.before_call("p")  # the lost probe is given up: a new one goes
    breaker.record_failure("p", asyncio.CancelledError())
    breaker.before_call("p")  # a cancelled probe frees the slot at once
    assert breaker.state("p") == "half_open"


def test_a_failed_probe_opens_again_for_a_full_timeout() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=10, clock=lambda: now[0])
    breaker.record_failure("p", CloudAPIError("oops", status=500, code=1, retryable=True))
    now[0] = 12.0
    breaker.before_call("p")
    breaker.record_failure("p", CloudAPIError("oops", status=503))
    assert breaker.state("p") == "open"
    now[0] = 21.0
    with pytest.raises(CircuitOpenError) as info:
        breaker.before_call("p")
    assert info.value.retry_after == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (IntegrityError("locked", status=400, code=131031), "trip"),
        (IntegrityError("spam", status=400, code=131048), "trip"),
        (RateLimitError("throttled", status=400, code=130429, retryable=True), "count"),
        (RateLimitError("pair", status=400, code=131056), "count"),
        (RateLimitError("cap reached", status=0, retryable=False), "ignore"),
        (CloudAPIError("server", status=502), "count"),
        (CloudAPIError("retry me", status=400, code=1, retryable=True), "count"),
        (TransportError("timeout"), "count"),
        (asyncio.TimeoutError(), "count"),
        (aiohttp.ClientConnectionError(), "count"),
        (ConnectionResetError(), "count"),
        (AuthError("token", status=401, code=190), "answered"),
        (TemplateError("template", status=400, code=132001), "answered"),
        (RecipientError("not on wa", status=400, code=131026), "answered"),
        (ValidationError("bad input"), "ignore"),
        (CircuitOpenError("p", 1.0), "ignore"),
        (asyncio.CancelledError(), "ignore"),
        (KeyError("bug"), "ignore"),
    ],
)
def test_which_errors_count(error: BaseException, kind: str) -> None:
    assert classify_failure(error) == kind


def test_auth_and_validation_errors_never_open_it() -> None:
    breaker = CircuitBreaker(failure_threshold=1)
    for _ in range(10):
        breaker.before_call("p")
        breaker.record_failure("p", AuthError("bad token", status=401, code=190))
        breaker.record_failure("p", ValidationError("bad recipient"))
    assert breaker.state("p") == "closed"


def test_state_changes_are_logged_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    seen: list[tuple[str, str]] = []

    def on_change(phone: str, state: str) -> None:
        seen.append((phone, state))
        raise RuntimeError("a broken callback must not break the breaker")

    breaker = CircuitBreaker(reset_timeout=5, clock=lambda: now[0], on_change=on_change)
    caplog.set_level(logging.DEBUG, logger="whatsapp.cloud.breaker")
    breaker.record_failure("15550001", IntegrityError("policy", status=400, code=368))
    now[0] = 5.0
    breaker.before_call("15550001")
    breaker.record_success("15550001")
    assert seen == [("15550001", "open"), ("15550001", "half_open"), ("15550001", "closed")]
    records = [r for r in caplog.records if r.name == "whatsapp.cloud.breaker"]
    messages = [r.getMessage() for r in records if "callback" not in r.getMessage()]
    assert messages[0] == "breaker for 15550001 -> open: IntegrityError (code 368)"
    assert records[0].levelno == logging.WARNING
    assert "-> half_open" in messages[1] and "-> closed" in messages[2]
    assert sum("on_change callback failed" in r.getMessage() for r in records) == 3


@pytest.mark.parametrize(
    "kwargs", [{"failure_threshold": 0}, {"reset_timeout": 0}, {"reset_timeout": -1.0}]
)
def test_bad_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        CircuitBreaker(**kwargs)  # type: ignore[arg-type]


def test_the_metrics_callback_fits() -> None:
    from whatsapp_client.cloud._metrics import CloudMetrics

    metrics = CloudMetrics()
    breaker = CircuitBreaker(failure_threshold=1, on_change=metrics.breaker_state)
    breaker.record_failure("p", TransportError("down"))
    value = metrics.registry.get_sample_value("whatsapp_breaker_state", {"phone_number_id": "p"})
    assert value == 2.0
