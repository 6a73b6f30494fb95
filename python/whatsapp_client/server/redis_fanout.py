"""The fan-out across processes, on Redis pub/sub (redis-py asyncio).

Each process subscribes to ``P u:{user}`` for the users with sockets on it and to
``P p:{user}`` for the users its sockets watch. Every Redis step goes through one ordered
queue, sent as a pipeline per batch, so frames for one user leave in call order and an
attach/detach pair of the same user cannot be reordered. Presence lives in Redis sets
maintained by atomic scripts (:mod:`~whatsapp_client.server.redis_scripts`); each process
refreshes an expiring ``alive`` entry and reaps the users of processes whose entry expired,
so a crashed process's users go offline for everyone within ``presence_ttl`` seconds.

A frame for a user with sockets on this process is written to them directly, and still
published for the other processes holding that user's sockets; each envelope names the
process that published it, and a process drops its own publications when they come back.

Pub/sub is fire-and-forget; it never carries the only copy of a message (those are
committed first and resent from storage on the next connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from whatsapp_client.server import redis_scripts as scripts
from whatsapp_client.server.backends import BackendError, redact_url
from whatsapp_client.server.connection import Connection, DedupKey
from whatsapp_client.server.fanout import LocalRegistry, OfflineHook
from whatsapp_client.server.logs import get_logger
from whatsapp_client.server.presence import PresenceHub, now_ms
from whatsapp_client.server.redis_envelope import decode_envelope, encode_envelope

log = get_logger("redis_fanout")

Done = Callable[[Any], None]

CLOSE_SERVICE_RESTART = 1012  # RFC 6455 registry: "service restart", clients reconnect
CLOSE_FLUSH_SECONDS = 5.0  # at most this long to announce our users offline on close
RESUBSCRIBE_PAUSE = 0.5  # seconds between attempts to get the subscription back


class _Op:
    """One queued step: a command, or a (un)subscription of the pub/sub connection."""

    __slots__ = ("args", "done", "kind")

    def __init__(self, kind: str, args: tuple[Any, ...], done: Done | None = None) -> None:
        self.kind = kind  # "cmd", "sub" or "unsub"
        self.args = args
        self.done = done


class RedisFanout:
    def __init__(
        self,
        url: str,
        presence: PresenceHub,
        on_offline: OfflineHook,
        *,
        presence_ttl: float = 30.0,
        prefix: str = "wac:",
        process_id: str | None = None,
    ) -> None:
        self._url = url
        self._presence = presence
        self._on_offline = on_offline
        self._ttl_ms = max(1, int(presence_ttl * 1000))
        self._prefix = prefix
        self.process_id = process_id or uuid.uuid4().hex
        # Envelopes this process published start with this: dropped when they come back.
        self._own = self.process_id.encode() + b"\n"
        self._local = LocalRegistry()
        self._ops: deque[_Op] = deque()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._confirm: dict[bytes, deque[asyncio.Future[None]]] = {}
        self._barriers: dict[bytes, asyncio.Future[None]] = {}
        self._client: aioredis.Redis | None = None
        self._pubsub: Any = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- keys ------------------------------------------------------------------------------

    def _k(self, name: str) -> str:
        return self._prefix + name

    def _user_channel(self, user_id: str) -> str:
        return self._k("u:" + user_id)

    def _presence_channel(self, user_id: str) -> str:
        return self._k("p:" + user_id)

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        client: aioredis.Redis = aioredis.Redis.from_url(self._url)
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            await client.aclose()
            raise BackendError(f"cannot reach Redis at {redact_url(self._url)}: {exc}") from None
        self._client = client
        self._pubsub = client.pubsub()
        # Always subscribed to something, so the reader blocks instead of polling.
        await self._pubsub.subscribe(self._k("proc:" + self.process_id))
        await self._heartbeat()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._run_ops()),
            loop.create_task(self._read()),
            loop.create_task(self._keep_alive()),
        ]
        log.info("redis fan-out started", extra={"process_id": self.process_id})

    async def close(self) -> None:
        if self._client is None:
            return
        for user_id in self._local.users():
            self._queue_detach(user_id)
        # Bounded: with Redis gone, the other processes reap our users after the TTL anyway.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.flush(), CLOSE_FLUSH_SECONDS)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            pid = self.process_id
            await self._client.delete(self._k("alive:" + pid), self._k("users:" + pid))
            await self._client.srem(self._k("procs"), pid)
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()
        await self._client.aclose()
        self._client = None

    async def flush(self) -> None:
        """Wait until every step queued so far has been sent to Redis."""
        while self._ops or not self._idle.is_set():
            await self._idle.wait()
            if self._ops:
                await asyncio.sleep(0)

    # -- the Fanout protocol ----------------------------------------------------------------

    async def attach(self, conn: Connection) -> None:
        if not self._local.add(conn):
            return
        assert conn.user_id is not None
        user_id = conn.user_id
        confirmed = self._subscribe(self._user_channel(user_id))
        registered = self._queue_attach(user_id)
        await confirmed
        await registered

    def detach(self, conn: Connection) -> None:
        if self._local.remove(conn):
            assert conn.user_id is not None
            self._queue_detach(conn.user_id)

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        wanted = list(user_ids)
        if not wanted:
            return set()
        done: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        results: list[Any] = []

        def collect(value: Any) -> None:
            results.append(value)
            if len(results) == len(wanted) and not done.done():
                done.set_result(results)

        for user_id in wanted:
            self._push(_Op("cmd", ("EXISTS", self._k("online:" + user_id)), collect))
        counts = await done
        return {u for u, n in zip(wanted, counts) if isinstance(n, int) and n > 0}

    def publish(self, user_id: str, payload: bytes, key: DedupKey = None) -> None:
        # This process's sockets now, without the round trip; the other processes through
        # Redis (this one drops the copy that comes back).
        self._local.send(user_id, payload, key)
        data = encode_envelope(payload, key, self.process_id)
        self._push(_Op("cmd", ("PUBLISH", self._user_channel(user_id), data)))

    async def deliver(self, user_id: str, payload: bytes) -> int:
        data = encode_envelope(payload, None, self.process_id)
        here = self._local.send(user_id, payload)
        if here:
            # Taken here already: no need to wait for Redis to say how many others did.
            self._push(_Op("cmd", ("PUBLISH", self._user_channel(user_id), data)))
            return here
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._push(_Op("cmd", ("PUBLISH", self._user_channel(user_id), data), _settle(done)))
        count = await done
        # An error reached nobody: the caller keeps the frame durably instead.
        return count if isinstance(count, int) else 0

    async def barrier(self) -> None:
        """Wait until every frame published to this process's channels (by any process)
        before this call has come in and been handed to the local sockets."""
        channel = self._k("proc:" + self.process_id)
        arrived: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        token = uuid.uuid4().hex.encode()
        self._barriers[token] = arrived
        self._push(_Op("cmd", ("PUBLISH", channel, token)))
        try:
            await arrived
        finally:
            self._barriers.pop(token, None)

    async def watch(self, user_ids: Iterable[str]) -> None:
        waits = [self._subscribe(self._presence_channel(u)) for u in user_ids]
        if waits:
            await asyncio.gather(*waits)

    def unwatch(self, user_ids: Iterable[str]) -> None:
        for user_id in user_ids:
            self._push(_Op("unsub", (self._presence_channel(user_id),)))

    def connections(self) -> Iterable[Connection]:
        return self._local.connections()

    # -- queued steps ------------------------------------------------------------------------

    def _push(self, op: _Op) -> None:
        self._ops.append(op)
        self._idle.clear()
        self._wakeup.set()

    def _subscribe(self, channel: str) -> asyncio.Future[None]:
        confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._confirm.setdefault(channel.encode(), deque()).append(confirmed)
        self._push(_Op("sub", (channel,)))
        return confirmed

    def _queue_attach(self, user_id: str) -> asyncio.Future[Any]:
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        args = self._script_args(scripts.ATTACH, user_id)
        self._push(_Op("cmd", args, _settle(done)))
        return done

    def _queue_detach(self, user_id: str) -> None:
        stamp = now_ms()

        def detached(result: Any) -> None:
            if result == 1:
                self._on_offline(user_id, stamp)

        self._push(_Op("unsub", (self._user_channel(user_id),)))
        args = (*self._script_args(scripts.DETACH, user_id), str(stamp))
        self._push(_Op("cmd", args, detached))

    def _script_args(self, script: str, user_id: str) -> tuple[Any, ...]:
        pid = self.process_id
        keys = (self._k("users:" + pid), self._k("online:" + user_id))
        return ("EVAL", script, 2, *keys, user_id, pid, self._presence_channel(user_id))

    async def _run_ops(self) -> None:
        assert self._client is not None
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
        assert self._client is not None
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

    # -- incoming --------------------------------------------------------------------------

    async def _read(self) -> None:
        user_prefix = self._user_channel("").encode()
        presence_prefix = self._presence_channel("").encode()
        own_channel = self._k("proc:" + self.process_id).encode()
        while True:
            try:
                message = await self._pubsub.get_message(timeout=None)
            except (RedisError, OSError) as exc:
                log.error("redis subscription lost", extra={"error": repr(exc)})
                self._drop_local_sockets()
                await asyncio.sleep(RESUBSCRIBE_PAUSE)
                continue
            if message is None:
                continue
            channel: bytes = message["channel"]
            kind = message["type"]
            if kind == "subscribe":
                waiters = self._confirm.get(channel)
                if waiters:
                    waiters.popleft().set_result(None)
                    if not waiters:
                        del self._confirm[channel]
            elif kind == "message":
                data: bytes = message["data"]
                if channel.startswith(user_prefix):
                    if data.startswith(self._own):
                        continue  # written to the local sockets when it was published
                    _origin, payload, key = decode_envelope(data)
                    self._local.send(channel[len(user_prefix) :].decode(), payload, key)
                elif channel.startswith(presence_prefix):
                    self._on_presence(channel[len(presence_prefix) :].decode(), data)
                elif channel == own_channel:
                    arrived = self._barriers.get(data)
                    if arrived is not None and not arrived.done():
                        arrived.set_result(None)

    def _drop_local_sockets(self) -> None:
        """Frames published while the subscription was down are lost to these sockets: close
        them (1012, try again) so their clients reconnect and get them from storage."""
        for conn in self._local.connections():
            conn.close_soon(CLOSE_SERVICE_RESTART, "fan-out reconnecting")

    def _on_presence(self, user_id: str, data: bytes) -> None:
        if data == b"1":
            self._presence.deliver(user_id, True, None)
        elif data.startswith(b"0:"):
            self._presence.deliver(user_id, False, int(data[2:]))

    # -- liveness --------------------------------------------------------------------------

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)
            try:
                await self._heartbeat()
                await self._reap()
            except (RedisError, OSError) as exc:
                log.error("redis heartbeat failed", extra={"error": repr(exc)})

    async def _heartbeat(self) -> None:
        assert self._client is not None
        pid = self.process_id
        keys = (self._k("alive:" + pid), self._k("procs"))
        fresh = await self._client.eval(scripts.HEARTBEAT, 2, *keys, pid, str(self._ttl_ms))
        if fresh == 0 and self._tasks:
            # Presumed dead and reaped (a long stall): register our users again.
            log.warning("presence entry had expired; registering again")
            for user_id in self._local.users():
                self._queue_attach(user_id)

    async def _reap(self) -> None:
        assert self._client is not None
        for raw in await self._client.smembers(self._k("procs")):
            pid = raw.decode() if isinstance(raw, bytes) else str(raw)
            if pid == self.process_id:
                continue
            stamp = now_ms()
            keys = (self._k("alive:" + pid), self._k("users:" + pid), self._k("procs"))
            gone = await self._client.eval(scripts.REAP, 3, *keys, pid, self._prefix, str(stamp))
            for user in gone:
                self._on_offline(user.decode(), stamp)


def _settle(future: asyncio.Future[Any]) -> Done:
    def done(value: Any) -> None:
        if not future.done():
            future.set_result(value)

    return done
