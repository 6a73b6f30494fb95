"""The one ordered queue through which a fan-out process talks to Redis.

Every step (a command, a subscription, an unsubscription) is queued in call order and
sent by one task: consecutive commands as one pipeline, (un)subscriptions one at a time on
the pub/sub connection. So frames for one user leave in call order and an attach/detach
pair of the same user cannot be reordered. A subscription is confirmed when the reader
sees Redis's ``subscribe`` message for it (:meth:`RedisSteps.confirmed`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from whatsapp_client.server.backends import BackendError
from whatsapp_client.server.logs import get_logger

log = get_logger("redis_fanout")

Done = Callable[[Any], None]


class _Op:
    """One queued step: a command, or a (un)subscription of the pub/sub connection."""

    __slots__ = ("args", "done", "kind")

    def __init__(self, kind: str, args: tuple[Any, ...], done: Done | None = None) -> None:
        self.kind = kind  # "cmd", "sub" or "unsub"
        self.args = args
        self.done = done


class RedisSteps:
    def __init__(self, client: aioredis.Redis, pubsub: Any) -> None:
        self._client = client
        self._pubsub = pubsub
        self._ops: deque[_Op] = deque()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._confirm: dict[bytes, deque[asyncio.Future[None]]] = {}

    def command(self, *args: Any, done: Done | None = None) -> None:
        """Queue a command; ``done`` gets its reply (or the error)."""
        self._push(_Op("cmd", args, done))

    def call(self, *args: Any) -> asyncio.Future[Any]:
        """Queue a command; its reply (or the error, as a value) when it has been sent."""
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._push(_Op("cmd", args, settle_into(reply)))
        return reply

    def subscribe(self, channel: str) -> asyncio.Future[None]:
        """Queue a subscription; done once Redis confirms it."""
        confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._confirm.setdefault(channel.encode(), deque()).append(confirmed)
        self._push(_Op("sub", (channel,)))
        return confirmed

    def unsubscribe(self, channel: str) -> None:
        self._push(_Op("unsub", (channel,)))

    def confirmed(self, channel: bytes) -> None:
        """The reader saw Redis confirm a subscription to ``channel``."""
        waiters = self._confirm.get(channel)
        if waiters:
            waiters.popleft().set_result(None)
            if not waiters:
                del self._confirm[channel]

    async def flush(self) -> None:
        """Wait until every step queued so far has been sent to Redis."""
        while self._ops or not self._idle.is_set():
            await self._idle.wait()
            if self._ops:
                await asyncio.sleep(0)

    def _push(self, op: _Op) -> None:
        self._ops.append(op)
        self._idle.clear()
        self._wakeup.set()

    async def run(self) -> None:
        """The sending task."""
        while True:
            if not self._ops:
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch: list[_Op] = []
            while self._ops and (not batch or self._ops[0].kind == "cmd" == batch[0].kind):
                batch.append(self._ops.popleft())
                if batch[0].kind != "cmd":
                    break
            try:
                await self._send(batch)
            except (RedisError, OSError) as exc:
                log.error("redis step failed", extra={"error": repr(exc)})
                if batch[0].kind == "sub":
                    self._fail_confirmation(batch[0].args[0], exc)
                for op in batch:
                    if op.done is not None:
                        op.done(exc)

    async def _send(self, batch: list[_Op]) -> None:
        op = batch[0]
        if op.kind == "sub":
            await self._pubsub.subscribe(*op.args)
            return
        if op.kind == "unsub":
            await self._pubsub.unsubscribe(*op.args)
            return
        pipe = self._client.pipeline(transaction=False)
        for item in batch:
            pipe.execute_command(*item.args)
        results = await pipe.execute(raise_on_error=False)
        for item, result in zip(batch, results):
            if item.done is not None:
                item.done(result)

    def _fail_confirmation(self, channel: str, exc: BaseException) -> None:
        waiters = self._confirm.get(channel.encode())
        if waiters:
            waiters.pop().set_exception(BackendError(f"cannot subscribe in Redis: {exc}"))


def settle_into(future: asyncio.Future[Any]) -> Done:
    """A ``done`` that hands the reply (an error included) to ``future``."""

    def done(value: Any) -> None:
        if not future.done():
            future.set_result(value)

    return done
