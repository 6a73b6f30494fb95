"""A circuit breaker per phone number: stop calling Graph for a while when it keeps
failing, or at once when Meta blocks the number for a policy reason.

States: ``closed`` (calls go through) → ``open`` after ``failure_threshold`` consecutive
counted failures, or at once on an :class:`IntegrityError` (131031 account locked, 368
policy, 131048 spam rate limit: retrying makes a block worse) → after ``reset_timeout``
seconds the next :meth:`CircuitBreaker.before_call` moves it to ``half_open`` and lets ONE
probe through → ``closed`` when the probe succeeds, ``open`` again when it fails.

What a failure means (:func:`classify_failure`):

- ``trip``: :class:`IntegrityError`: open at once, in any state.
- ``count``: 5xx answers, retryable Graph codes, Graph rate limits, timeouts, connection
  and transport errors: one more consecutive failure.
- ``answered``: any other Graph error (4xx such as :class:`AuthError`, a template or
  recipient error): Graph is up and answered, so for the breaker it is a success.
- ``ignore``: anything that says nothing about Graph (a local refusal, a cancellation, a
  programming error): no change, except that an ignored probe frees the half-open slot.

A probe that never reports back (a cancelled task) is considered lost after
``reset_timeout`` and another probe is let through.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Callable, Literal, Optional

import aiohttp

from ._errors import (
    CircuitOpenError,
    CloudAPIError,
    ConfigurationError,
    IntegrityError,
    RateLimitError,
    TransportError,
)

__all__ = ["BreakerState", "CircuitBreaker", "FailureKind", "classify_failure"]

logger = logging.getLogger("whatsapp.cloud.breaker")

BreakerState = Literal["closed", "open", "half_open"]
FailureKind = Literal["trip", "count", "answered", "ignore"]


def classify_failure(error: BaseException) -> FailureKind:
    """What an error means for the breaker (see the module docstring)."""
    if isinstance(error, IntegrityError):
        return "trip"
    if isinstance(error, RateLimitError) and error.status == 0:
        return "ignore"  # the local limiter refused: no request was made
    if isinstance(error, CloudAPIError):
        if isinstance(error, RateLimitError) or error.retryable or error.status >= 500:
            return "count"
        return "answered"
    if isinstance(error, (TransportError, asyncio.TimeoutError, TimeoutError)):
        return "count"
    if isinstance(error, (aiohttp.ClientError, ConnectionError)):
        return "count"
    return "ignore"


class _Circuit:
    __slots__ = ("failures", "opened_at", "probe_since", "state")

    def __init__(self) -> None:
        self.state: BreakerState = "closed"
        self.failures = 0
        self.opened_at = 0.0
        self.probe_since: Optional[float] = None


class CircuitBreaker:
    """One circuit per phone number; safe to share between tasks and threads.

    ``on_change(phone_number_id, new_state)`` is called after every state change (e.g.
    ``CloudMetrics.breaker_state``); an exception it raises is logged and swallowed.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: Optional[Callable[[str, str], None]] = None,
    ) -> None:
        if isinstance(failure_threshold, bool) or failure_threshold < 1:
            raise ConfigurationError(f"failure_threshold must be >= 1, not {failure_threshold!r}")
        if not reset_timeout > 0:
            raise ConfigurationError(f"reset_timeout must be > 0 seconds, not {reset_timeout!r}")
        self.failure_threshold = int(failure_threshold)
        self.reset_timeout = float(reset_timeout)
        self._clock = clock
        self._on_change = on_change
        self._circuits: dict[str, _Circuit] = {}
        self._lock = threading.Lock()

    def state(self, phone_number_id: str) -> BreakerState:
        """The current state (``open`` stays ``open`` until a call asks to go through)."""
        with self._lock:
            circuit = self._circuits.get(phone_number_id)
            return "closed" if circuit is None else circuit.state

    def before_call(self, phone_number_id: str) -> None:
        """Raises :class:`CircuitOpenError` when no call may go out now; in ``half_open``
        lets exactly one probe through."""
        with self._lock:
            circuit = self._circuits.setdefault(phone_number_id, _Circuit())
            now = self._clock()
            if circuit.state == "closed":
                return
            if circuit.state == "open":
                if now - circuit.opened_at < self.reset_timeout:
                    raise CircuitOpenError(phone_number_id, self._wait(circuit.opened_at, now))
                circuit.state = "half_open"
                circuit.probe_since = now
                changed: Optional[BreakerState] = "half_open"
            else:  # half_open: one probe at a time; a lost probe is replaced
                since = circuit.probe_since
                if since is not None and now - since < self.reset_timeout:
                    raise CircuitOpenError(phone_number_id, self._wait(since, now))
                circuit.probe_since = now
                changed = None
        if changed is not None:
            self._notify(phone_number_id, changed, "reset timeout over; letting one probe through")

    def _wait(self, since: float, now: float) -> float:
        """Seconds until ``reset_timeout`` has passed since ``since`` (never above it)."""
        return min(self.reset_timeout, max(0.0, since + self.reset_timeout - now))

    def record_success(self, phone_number_id: str) -> None:
        with self._lock:
            changed = self._success(phone_number_id)
        if changed:
            self._notify(phone_number_id, "closed", "probe succeeded")

    def _success(self, phone_number_id: str) -> bool:
        circuit = self._circuits.get(phone_number_id)
        if circuit is None:
            return False
        if circuit.state == "closed":
            circuit.failures = 0
            return False
        if circuit.state == "half_open":
            circuit.state = "closed"
            circuit.failures = 0
            circuit.probe_since = None
            return True
        return False  # a call that started before the circuit opened: no news

    def record_failure(self, phone_number_id: str, error: BaseException) -> None:
        kind = classify_failure(error)
        if kind == "answered":
            with self._lock:
                changed = self._success(phone_number_id)
            if changed:
                self._notify(phone_number_id, "closed", "probe answered by Graph")
            return
        with self._lock:
            circuit = self._circuits.setdefault(phone_number_id, _Circuit())
            if kind == "ignore":
                if circuit.state == "half_open":
                    circuit.probe_since = None
                return
            if kind == "count" and circuit.state == "closed":
                circuit.failures += 1
                if circuit.failures < self.failure_threshold:
                    return
            elif kind == "count" and circuit.state == "open":
                return
            was = circuit.state
            circuit.state = "open"
            circuit.opened_at = self._clock()
            circuit.probe_since = None
            circuit.failures = 0
        reason = f"{type(error).__name__}" + (
            f" (code {error.code})" if isinstance(error, CloudAPIError) else ""
        )
        if was == "closed" and kind == "count":
            reason = f"{self.failure_threshold} consecutive failures, last {reason}"
        self._notify(phone_number_id, "open", reason, level=logging.WARNING, renotify=was == "open")

    def _notify(
        self,
        phone_number_id: str,
        state: BreakerState,
        reason: str,
        *,
        level: int = logging.INFO,
        renotify: bool = False,
    ) -> None:
        if renotify:
            logger.log(level, "breaker for %s stays open: %s", phone_number_id, reason)
            return
        logger.log(level, "breaker for %s -> %s: %s", phone_number_id, state, reason)
        if self._on_change is None:
            return
        try:
            self._on_change(phone_number_id, state)
        except Exception:
            logger.exception("breaker on_change callback failed for %s", phone_number_id)
