"""The limiter shared by several processes through Redis.

Each attempt is ONE Lua script (bucket + recipient spacing + conversation cap), so it is
atomic across every process using the same Redis and ``key_prefix``. The script mirrors
:class:`~whatsapp_client.cloud._limiter.PacingModel` step by step (the tests compare them).
It runs with EVALSHA and falls back to EVAL when the server answers NOSCRIPT (after a
restart or ``SCRIPT FLUSH``); EVAL caches it again.

Time: by default the script reads the Redis server's ``TIME``, one clock for every process
and host (no skew between them). A ``clock`` may be injected instead (the tests pass a fake
one); its value is passed to the script as an argument, and every process sharing the keys
must then use the same clock.

Keys (all of one phone number share the hash tag ``{phone}``, so the script also works on a
Redis Cluster), each with a TTL (plus a minute's margin, in Redis's own time; an injected
clock must therefore run at the pace of real time) so nothing grows without bound:

- ``<prefix>{<phone>}:tat``: the bucket; expires once the bucket is full again.
- ``<prefix>{<phone>}:pair:<recipient>``: earliest next message to the recipient; expires then.
- ``<prefix>{<phone>}:conv``: sorted set recipient -> conversation start; entries older than
  the window are removed on each business-initiated attempt, the key expires a window after
  the last new conversation.

An acquire that must wait for its recipient's spacing reserves nothing, sleeps, and runs
the script again; a grant is never taken back (a cancelled waiter's slot is lost, which
only errs on the safe side).
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import TYPE_CHECKING, Any, Callable, Optional

from ._errors import TransportError
from ._limiter import (
    CONVERSATION_WINDOW,
    DEFAULT_CONVERSATION_CAP,
    DEFAULT_PAIR_SPACING,
    DEFAULT_RATE_PER_SECOND,
    Decision,
    Limiter,
    LimiterSettings,
    Sleep,
    TurnLocks,
    cap_error,
    check_request,
)

if TYPE_CHECKING:
    from ._metrics import CloudMetrics

__all__ = ["ACQUIRE_SCRIPT", "RedisLimiter"]

# KEYS: tat, pair, conv. ARGV: now ('' = server TIME), interval, tolerance, spacing, cap,
# window, recipient ('' = none), business ('1'/'0').
# Answers {'ok', delay, conversations_left or ''} | {'wait', delay} | {'cap', retry_after}.
ACQUIRE_SCRIPT = """
local function num(x) return string.format('%.17g', x) end
local function ttl(seconds)
  return string.format('%d', math.max(0, math.ceil(seconds * 1000)) + 60000)
end
local now
if ARGV[1] == '' then
  -- Redis 5 and 6 need effects replication to write after TIME; 7+ always does it.
  if redis.replicate_commands then redis.replicate_commands() end
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  now = tonumber(ARGV[1])
end
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local spacing = tonumber(ARGV[4])
local cap = tonumber(ARGV[5])
local window = tonumber(ARGV[6])
local recipient = ARGV[7]
local business = ARGV[8] == '1'
local new_conv = false
if business then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', num(now - window))
  if not redis.call('ZSCORE', KEYS[3], recipient) then
    if redis.call('ZCARD', KEYS[3]) >= cap then
      local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
      return {'cap', num(math.min(tonumber(oldest[2]) + window - now, window))}
    end
    new_conv = true
  end
end
local spaced = recipient ~= '' and spacing > 0
if spaced then
  local ready = redis.call('GET', KEYS[2])
  if ready and tonumber(ready) > now then
    return {'wait', num(tonumber(ready) - now)}
  end
end
local tat = redis.call('GET', KEYS[1])
if tat then tat = tonumber(tat) else tat = now end
local grant = math.max(now, tat - tolerance)
local new_tat = math.max(tat, now) + interval
redis.call('SET', KEYS[1], num(new_tat), 'PX', ttl(new_tat - now))
if spaced then
  redis.call('SET', KEYS[2], num(grant + spacing), 'PX', ttl(grant + spacing - now))
end
local left = ''
if business then
  if new_conv then
    redis.call('ZADD', KEYS[3], num(now), recipient)
    redis.call('PEXPIRE', KEYS[3], ttl(window))
  end
  left = tostring(cap - redis.call('ZCARD', KEYS[3]))
end
return {'ok', num(grant - now), left}
"""

_SCRIPT_SHA = hashlib.sha1(ACQUIRE_SCRIPT.encode(), usedforsecurity=False).hexdigest()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisLimiter(Limiter):
    """Same semantics as :class:`LocalLimiter`, shared by every process that uses the same
    Redis and ``key_prefix``. Needs the ``cloud`` extra (``redis>=5``)."""

    def __init__(
        self,
        redis_url: str,
        *,
        rate_per_second: float = DEFAULT_RATE_PER_SECOND,
        burst: Optional[int] = None,
        pair_spacing: float = DEFAULT_PAIR_SPACING,
        conversation_cap: int = DEFAULT_CONVERSATION_CAP,
        clock: Optional[Callable[[], float]] = None,
        key_prefix: str = "wac:cloud:",
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
        try:
            import redis.asyncio as redis_asyncio
        except ImportError as exc:  # pragma: no cover - the cloud extra is installed in CI
            from whatsapp_client.errors import MissingExtraError

            raise MissingExtraError(
                "RedisLimiter needs the redis package: pip install 'whatsapp-client[cloud]'"
            ) from exc
        self._redis = redis_asyncio.Redis.from_url(redis_url)
        self._clock = clock
        self._prefix = key_prefix
        self._sleep = sleep
        self._metrics = metrics
        self._turns = TurnLocks()

    def _keys(self, phone: str, recipient: Optional[str]) -> list[str]:
        base = f"{self._prefix}{{{phone}}}:"
        return [base + "tat", base + "pair:" + (recipient or ""), base + "conv"]

    async def _run(self, keys: list[str], args: list[str]) -> list[Any]:
        from redis.exceptions import NoScriptError, RedisError

        try:
            try:
                reply = await self._redis.evalsha(_SCRIPT_SHA, len(keys), *keys, *args)
            except NoScriptError:
                reply = await self._redis.eval(ACQUIRE_SCRIPT, len(keys), *keys, *args)
        except RedisError as exc:
            raise TransportError(f"the Redis limiter failed: {type(exc).__name__}") from exc
        return list(reply)

    async def attempt(
        self, phone_number_id: str, recipient: Optional[str], *, business_initiated: bool = False
    ) -> Decision:
        """One run of the script: reserves a slot (``granted``), or says how long the
        recipient's spacing still runs. Raises :class:`RateLimitError` at the cap."""
        check_request(phone_number_id, recipient, business_initiated)
        s = self.settings
        now = "" if self._clock is None else repr(float(self._clock()))
        args = [
            now,
            repr(s.interval),
            repr(s.tolerance),
            repr(s.pair_spacing),
            str(s.conversation_cap),
            repr(s.conversation_window),
            recipient or "",
            "1" if business_initiated else "0",
        ]
        reply = await self._run(self._keys(phone_number_id, recipient), args)
        verdict = _text(reply[0])
        value = float(_text(reply[1]))
        if verdict == "cap":
            raise cap_error(value, s)
        if verdict == "wait":
            return Decision(False, value)
        left_text = _text(reply[2])
        return Decision(True, value, int(left_text) if left_text else None)

    async def acquire(
        self, phone_number_id: str, recipient: Optional[str], *, business_initiated: bool = False
    ) -> None:
        check_request(phone_number_id, recipient, business_initiated)
        async with self._turns.turn(phone_number_id, recipient):
            while True:
                decision = await self.attempt(
                    phone_number_id, recipient, business_initiated=business_initiated
                )
                if decision.granted:
                    break
                await self._sleep(decision.delay)
        if decision.conversations_left is not None and self._metrics is not None:
            self._metrics.rate_limit_remaining(phone_number_id, float(decision.conversations_left))
        if decision.delay > 0:
            await self._sleep(decision.delay)

    async def conversations_left(self, phone_number_id: str) -> int:
        """Business-initiated conversations the phone number may still open (approximate:
        counts the entries whose window has not ended by this process's reading)."""
        from redis.exceptions import RedisError

        key = self._keys(phone_number_id, None)[2]
        try:
            if self._clock is None:
                seconds, micros = await self._redis.time()
                now = seconds + micros / 1_000_000
            else:
                now = self._clock()
            horizon = now - self.settings.conversation_window
            count = await self._redis.zcount(key, f"({horizon!r}", "+inf")
        except RedisError as exc:
            raise TransportError(f"the Redis limiter failed: {type(exc).__name__}") from exc
        return self.settings.conversation_cap - int(count)

    async def close(self) -> None:
        await self._redis.aclose()
