"""Outbound pacing for the Cloud API, in process: a token bucket per phone number, a spacing
between messages to the same recipient, and a cap on business-initiated conversations per
rolling 24 hours.

The limits come from Meta's documentation: a phone number sends up to 80 messages per
second by default (up to 1,000 when upgraded), a pair of numbers should not exchange more
than about one message every 6 seconds (error 131056, "pair rate limit"), and an account
opens a limited number of business-initiated conversations per rolling 24 hours (its
messaging tier: 250, 1,000, 10,000, 100,000 or unlimited). See
https://developers.facebook.com/docs/whatsapp/cloud-api/overview#throughput and
https://developers.facebook.com/docs/whatsapp/messaging-limits .

The decisions live in :class:`PacingModel` (pure, no waiting, an injectable clock): the
Redis limiter's Lua script implements the very same steps, and the tests compare the two.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable
from typing import (
    TYPE_CHECKING,
    Callable,
    NamedTuple,
    Optional,
    Protocol,
)

from ._errors import ConfigurationError, RateLimitError, ValidationError

if TYPE_CHECKING:
    from ._metrics import CloudMetrics

__all__ = [
    "DEFAULT_CONVERSATION_CAP",
    "DEFAULT_PAIR_SPACING",
    "DEFAULT_RATE_PER_SECOND",
    "Decision",
    "Limiter",
    "LimiterSettings",
    "LocalLimiter",
    "PacingModel",
]

DEFAULT_RATE_PER_SECOND = 80.0
DEFAULT_PAIR_SPACING = 6.0
DEFAULT_CONVERSATION_CAP = 1000
CONVERSATION_WINDOW = 86400.0

Sleep = Callable[[float], Awaitable[None]]


class Limiter(Protocol):
    """What the client needs from a limiter (in process or shared through Redis)."""

    async def acquire(
        self, phone_number_id: str, recipient: Optional[str], *, business_initiated: bool = False
    ) -> None:
        """Waits for a slot of the phone number's bucket and of the recipient's spacing;
        with ``business_initiated=True`` counts a new conversation against the cap and
        raises :class:`RateLimitError` (``status == 0``) when the cap is reached. Never
        raises for the bucket: it waits."""
        ...

    async def close(self) -> None: ...


class LimiterSettings:
    """The knobs shared by both limiters, checked once."""

    __slots__ = (
        "burst",
        "conversation_cap",
        "conversation_window",
        "interval",
        "pair_spacing",
        "rate_per_second",
        "tolerance",
    )

    def __init__(
        self,
        *,
        rate_per_second: float = DEFAULT_RATE_PER_SECOND,
        burst: Optional[int] = None,
        pair_spacing: float = DEFAULT_PAIR_SPACING,
        conversation_cap: int = DEFAULT_CONVERSATION_CAP,
        conversation_window: float = CONVERSATION_WINDOW,
    ) -> None:
        if not (math.isfinite(rate_per_second) and rate_per_second > 0):
            raise ConfigurationError(f"rate_per_second must be > 0, not {rate_per_second!r}")
        if burst is None:
            # A tenth of a second's worth: short batches go out at once, a long queue evenly.
            burst = max(1, math.ceil(rate_per_second / 10))
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ConfigurationError(f"burst must be an integer >= 1, not {burst!r}")
        if not (math.isfinite(pair_spacing) and pair_spacing >= 0):
            raise ConfigurationError(f"pair_spacing must be >= 0 seconds, not {pair_spacing!r}")
        if (
            isinstance(conversation_cap, bool)
            or not isinstance(conversation_cap, int)
            or conversation_cap < 1
        ):
            raise ConfigurationError(
                f"conversation_cap must be an integer >= 1, not {conversation_cap!r}"
            )
        if not (math.isfinite(conversation_window) and conversation_window > 0):
            raise ConfigurationError("conversation_window must be > 0 seconds")
        self.rate_per_second = float(rate_per_second)
        self.burst = burst
        self.pair_spacing = float(pair_spacing)
        self.conversation_cap = conversation_cap
        self.conversation_window = float(conversation_window)
        # GCRA: one slot every `interval`, up to `burst` slots at once.
        self.interval = 1.0 / self.rate_per_second
        self.tolerance = (burst - 1) * self.interval


class Decision(NamedTuple):
    """``granted``: the slot is reserved, send after ``delay`` seconds. Otherwise the
    recipient's spacing is not over: nothing was reserved, try again after ``delay``."""

    granted: bool
    delay: float
    conversations_left: Optional[int] = None  # after a business-initiated grant


def check_request(phone_number_id: str, recipient: Optional[str], business_initiated: bool) -> None:
    """Refuses a malformed request before any state changes."""
    if not isinstance(phone_number_id, str) or not phone_number_id:
        raise ValidationError("phone_number_id must be a non-empty string")
    if recipient is not None and (not isinstance(recipient, str) or not recipient):
        raise ValidationError("recipient must be a non-empty string or None")
    if business_initiated and recipient is None:
        raise ValidationError("a business-initiated message needs a recipient")


def cap_error(retry_after: float, cap: int) -> RateLimitError:
    return RateLimitError(
        f"conversation cap reached: {cap} business-initiated conversations in the last 24 h; "
        f"a slot frees in {retry_after:.0f} s",
        status=0,
        code=None,
        retryable=False,
        retry_after=max(0.0, retry_after),
    )


class _Ticket(NamedTuple):
    phone: str
    recipient: Optional[str]
    tat_after: float
    pair_before: Optional[float]
    pair_after: Optional[float]
    conversation_start: Optional[float]


class PacingModel:
    """The limiter's state and decisions, without waiting (the Lua script does the same).

    The bucket is a GCRA (generic cell rate algorithm): ``tat`` is the theoretical time at
    which the bucket is full again; a request is granted at ``max(now, tat - tolerance)``,
    so grants follow the call order (fair) and any window of ``t`` seconds holds at most
    ``rate * t + burst`` of them. Pair spacing and conversations are plain timestamps.
    """

    def __init__(self, settings: LimiterSettings) -> None:
        self.settings = settings
        self._tat: dict[str, float] = {}
        # Per phone: recipient -> earliest next grant; updated in grant order, so the
        # oldest entries sit first and expire first.
        self._pair: dict[str, OrderedDict[str, float]] = {}
        # Per phone: recipient -> start of its conversation, oldest first.
        self._conversations: dict[str, OrderedDict[str, float]] = {}
        self.last_ticket: Optional[_Ticket] = None

    def _open_conversations(self, phone: str, now: float) -> OrderedDict[str, float]:
        convs = self._conversations.setdefault(phone, OrderedDict())
        horizon = now - self.settings.conversation_window
        while convs:
            recipient, start = next(iter(convs.items()))
            if start > horizon:
                break
            del convs[recipient]
        return convs

    def _pairs(self, phone: str, now: float) -> OrderedDict[str, float]:
        pairs = self._pair.setdefault(phone, OrderedDict())
        while pairs:
            recipient, ready = next(iter(pairs.items()))
            if ready > now:
                break
            del pairs[recipient]
        return pairs

    def open_conversations(self, phone: str, now: float) -> int:
        return len(self._open_conversations(phone, now))

    def attempt(
        self, now: float, phone: str, recipient: Optional[str], business_initiated: bool
    ) -> Decision:
        s = self.settings
        convs: Optional[OrderedDict[str, float]] = None
        new_conversation = False
        if business_initiated:
            convs = self._open_conversations(phone, now)
            if recipient not in convs:
                if len(convs) >= s.conversation_cap:
                    oldest = next(iter(convs.values()))
                    # min(): float rounding can put oldest + window - now just above window
                    wait = min(oldest + s.conversation_window - now, s.conversation_window)
                    raise cap_error(wait, s.conversation_cap)
                new_conversation = True
        spaced = recipient is not None and s.pair_spacing > 0
        pairs = self._pairs(phone, now) if spaced else None
        pair_before: Optional[float] = None
        if pairs is not None and recipient is not None:
            pair_before = pairs.get(recipient)
            if pair_before is not None and pair_before > now:
                return Decision(False, pair_before - now)
        tat = self._tat.get(phone, now)
        grant = max(now, tat - s.tolerance)
        self._tat[phone] = max(tat, now) + s.interval
        pair_after: Optional[float] = None
        if pairs is not None and recipient is not None:
            pair_after = grant + s.pair_spacing
            pairs[recipient] = pair_after
            pairs.move_to_end(recipient)
        left: Optional[int] = None
        if convs is not None and recipient is not None:
            if new_conversation:
                convs[recipient] = now
            left = s.conversation_cap - len(convs)
        self.last_ticket = _Ticket(
            phone,
            recipient,
            self._tat[phone],
            pair_before,
            pair_after,
            now if new_conversation else None,
        )
        return Decision(True, grant - now, left)

    def refund(self, ticket: _Ticket) -> None:
        """Gives back what a cancelled grant reserved, where nothing was reserved after it."""
        s = self.settings
        if self._tat.get(ticket.phone) == ticket.tat_after:
            self._tat[ticket.phone] = ticket.tat_after - s.interval
        if ticket.recipient is None:
            return
        pairs = self._pair.get(ticket.phone)
        if pairs is not None and pairs.get(ticket.recipient) == ticket.pair_after:
            if ticket.pair_before is None:
                del pairs[ticket.recipient]
            else:
                pairs[ticket.recipient] = ticket.pair_before
        convs = self._conversations.get(ticket.phone)
        if (
            ticket.conversation_start is not None
            and convs is not None
            and convs.get(ticket.recipient) == ticket.conversation_start
        ):
            del convs[ticket.recipient]


class TurnLocks:
    """One FIFO lock per (phone, recipient), kept only while someone holds or waits for it,
    so that a process's messages to one recipient leave in the order they were asked for."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, phone: str, recipient: Optional[str]) -> AsyncIterator[None]:
        if recipient is None:
            yield
            return
        key = (phone, recipient)
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class LocalLimiter(Limiter):
    """The in-process limiter (one event loop). Callers are served in call order."""

    def __init__(
        self,
        *,
        rate_per_second: float = DEFAULT_RATE_PER_SECOND,
        burst: Optional[int] = None,
        pair_spacing: float = DEFAULT_PAIR_SPACING,
        conversation_cap: int = DEFAULT_CONVERSATION_CAP,
        clock: Callable[[], float] = time.monotonic,
        conversation_window: float = CONVERSATION_WINDOW,
        sleep: Sleep = asyncio.sleep,
        metrics: Optional[CloudMetrics] = None,
    ) -> None:
        self.settings = LimiterSettings(
            rate_per_second=rate_per_second,
            burst=burst,
            pair_spacing=pair_spacing,
            conversation_cap=conversation_cap,
            conversation_window=conversation_window,
        )
        self._model = PacingModel(self.settings)
        self._clock = clock
        self._sleep = sleep
        self._metrics = metrics
        self._turns = TurnLocks()

    def conversations_left(self, phone_number_id: str) -> int:
        """Business-initiated conversations the phone number may still open right now."""
        open_now = self._model.open_conversations(phone_number_id, self._clock())
        return self.settings.conversation_cap - open_now

    async def acquire(
        self, phone_number_id: str, recipient: Optional[str], *, business_initiated: bool = False
    ) -> None:
        check_request(phone_number_id, recipient, business_initiated)
        async with self._turns.turn(phone_number_id, recipient):
            while True:
                decision = self._model.attempt(
                    self._clock(), phone_number_id, recipient, business_initiated
                )
                if decision.granted:
                    break
                await self._sleep(decision.delay)
            ticket = self._model.last_ticket
            if decision.conversations_left is not None and self._metrics is not None:
                self._metrics.rate_limit_remaining(
                    phone_number_id, float(decision.conversations_left)
                )
            if decision.delay > 0:
                try:
                    await self._sleep(decision.delay)
                except asyncio.CancelledError:
                    if ticket is not None:
                        self._model.refund(ticket)
                    raise

    async def close(self) -> None:
        """Nothing to release; present for the :class:`Limiter` protocol."""
