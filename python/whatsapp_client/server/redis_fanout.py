"""The fan-out across processes, on Redis pub/sub (redis-py asyncio).

Each process subscribes to ``P u:{user}`` for the users with sockets on it and to
``P p:{user}`` for the users its sockets watch. Every Redis step goes through one ordered
queue, sent as a pipeline per batch, so frames for one user leave in call order and an
attach/detach pair of the same user cannot be reordered. Presence lives in Redis sets
maintained by atomic scripts (:mod:`~whatsapp_client.server.redis_scripts`); each process
refreshes an expiring ``alive`` entry and reaps the users of processes whose entry expired,
so a crashed process's users go offline for everyone within ``presence_ttl`` seconds.

A frame for a user with sockets on this process is written to them directly; it is
published only if another process holds sockets of that user too (found by the handshake
of :mod:`~whatsapp_client.server.redis_sharing`) or the user is held nowhere here. Each
envelope names the process that published it, and a process drops its own publications
when they come back.

Pub/sub is fire-and-forget; it never carries the only copy of a message (those are
committed first and resent from storage on the next connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterable
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
from whatsapp_client.server.redis_sharing import Sharing, decode_control
from whatsapp_client.server.redis_sharing import encode_control as control
from whatsapp_client.server.redis_steps import RedisSteps

log = get_logger("redis_fanout")


CLOSE_SERVICE_RESTART = 1012  # RFC 6455 registry: "service restart", clients reconnect
CLOSE_FLUSH_SECONDS = 5.0  # at most this long to announce our users offline on close
RESUBSCRIBE_PAUSE = 0.5  # seconds between attempts to get the subscription back
JOIN_TIMEOUT = 1.0  # seconds an attach waits for the other holders of its user to answer


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
        join_timeout: float = JOIN_TIMEOUT,
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
        self._sharing = Sharing(self.process_id, self._tell, join_timeout)
        # Users whose first socket here is still attaching: their frames go through Redis.
        self._attaching: dict[str, asyncio.Future[None]] = {}
        self._steps: RedisSteps | None = None
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
        self._steps = RedisSteps(client, self._pubsub)
        # Always subscribed to something, so the reader blocks instead of polling.
        await self._pubsub.subscribe(self._k("proc:" + self.process_id))
        await self._heartbeat()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._steps.run()),
            loop.create_task(self._read()),
            loop.create_task(self._keep_alive()),
        ]
        log.info("redis fan-out started", extra={"process_id": self.process_id})

    async def close(self) -> None:
        if self._client is None:
            return
        for user_id in self._local.users():
            self._leave(user_id)
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
        if self._steps is not None:
            await self._steps.flush()

    # -- the Fanout protocol ----------------------------------------------------------------

    async def attach(self, conn: Connection) -> None:
        assert conn.user_id is not None
        user_id = conn.user_id
        if not self._local.add(conn):
            pending = self._attaching.get(user_id)
            if pending is not None:
                await asyncio.shield(pending)  # the first socket's handshake
            return
        attached: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._attaching[user_id] = attached
        try:
            confirmed = self.steps.subscribe(self._user_channel(user_id))
            registered = self._queue_attach(user_id)
            await confirmed
            await self._sharing.join(user_id, await registered)
        finally:
            attached.set_result(None)
            if self._attaching.get(user_id) is attached:
                del self._attaching[user_id]

    def detach(self, conn: Connection) -> None:
        if self._local.remove(conn):
            assert conn.user_id is not None
            self._leave(conn.user_id)

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
            self.steps.command("EXISTS", self._k("online:" + user_id), done=collect)
        counts = await done
        return {u for u, n in zip(wanted, counts) if isinstance(n, int) and n > 0}

    def publish(self, user_id: str, payload: bytes, key: DedupKey = None) -> None:
        # This process's sockets now, without the round trip; the other processes through
        # Redis (this one drops the copy that comes back).
        if self._local.send(user_id, payload, key) and not self._elsewhere(user_id):
            return
        data = encode_envelope(payload, key, self.process_id)
        self.steps.command("PUBLISH", self._user_channel(user_id), data)

    async def deliver(self, user_id: str, payload: bytes) -> int:
        here = self._local.send(user_id, payload)
        if here and not self._elsewhere(user_id):
            return here
        data = encode_envelope(payload, None, self.process_id)
        if here:
            # Taken here already: no need to wait for Redis to say how many others did.
            self.steps.command("PUBLISH", self._user_channel(user_id), data)
            return here
        count = await self.steps.call("PUBLISH", self._user_channel(user_id), data)
        # An error reached nobody: the caller keeps the frame durably instead.
        return count if isinstance(count, int) else 0

    async def barrier(self) -> None:
        """Wait until every frame published to this process's channels (by any process)
        before this call has come in and been handed to the local sockets."""
        channel = self._k("proc:" + self.process_id)
        arrived: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        token = uuid.uuid4().hex.encode()
        self._barriers[token] = arrived
        self.steps.command("PUBLISH", channel, token)
        try:
            await arrived
        finally:
            self._barriers.pop(token, None)

    async def watch(self, user_ids: Iterable[str]) -> None:
        waits = [self.steps.subscribe(self._presence_channel(u)) for u in user_ids]
        if waits:
            await asyncio.gather(*waits)

    def unwatch(self, user_ids: Iterable[str]) -> None:
        for user_id in user_ids:
            self.steps.unsubscribe(self._presence_channel(user_id))

    def connections(self) -> Iterable[Connection]:
        return self._local.connections()

    # -- sharing a user with other processes (redis_sharing.py) -----------------------------

    def _elsewhere(self, user_id: str) -> bool:
        """Whether a frame for a user held here must go through Redis as well: another
        process holds the user too, or may (this process's handshake is not over)."""
        return self._sharing.shared(user_id) or user_id in self._attaching

    def _leave(self, user_id: str) -> None:
        """The user's last socket here is gone: tell the other holders, then unregister."""
        self._sharing.leave(user_id)
        self._queue_detach(user_id)

    def _tell(self, process_id: str, kind: bytes, user_id: str) -> None:
        message = control(kind, user_id, self.process_id)
        self.steps.command("PUBLISH", self._k("proc:" + process_id), message)

    # -- queued steps (redis_steps.py) ------------------------------------------------------

    @property
    def steps(self) -> RedisSteps:
        """The queue of Redis steps (once started)."""
        if self._steps is None:
            raise BackendError("the Redis fan-out is not started")
        return self._steps

    def _queue_attach(self, user_id: str) -> asyncio.Future[Any]:
        return self.steps.call(*self._script_args(scripts.ATTACH, user_id))

    def _queue_detach(self, user_id: str) -> None:
        stamp = now_ms()

        def detached(result: Any) -> None:
            if result == 1:
                self._on_offline(user_id, stamp)

        self.steps.unsubscribe(self._user_channel(user_id))
        args = (*self._script_args(scripts.DETACH, user_id), str(stamp))
        self.steps.command(*args, done=detached)

    def _script_args(self, script: str, user_id: str) -> tuple[Any, ...]:
        pid = self.process_id
        keys = (self._k("users:" + pid), self._k("online:" + user_id))
        return ("EVAL", script, 2, *keys, user_id, pid, self._presence_channel(user_id))

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
                self.steps.confirmed(channel)
            elif kind == "message":
                data: bytes = message["data"]
                if channel.startswith(user_prefix):
                    if data.startswith(self._own):
                        continue  # written to the local sockets when it was published
                    try:
                        _origin, payload, key = decode_envelope(data)
                    except (ValueError, TypeError):  # not ours: never stop the reader
                        log.warning("malformed message on a user channel dropped")
                        continue
                    self._local.send(channel[len(user_prefix) :].decode(), payload, key)
                elif channel.startswith(presence_prefix):
                    self._on_presence(channel[len(presence_prefix) :].decode(), data)
                elif channel == own_channel:
                    control_message = decode_control(data)
                    if control_message is not None:
                        kind, user_id, process_id = control_message
                        held = self._local.has(user_id)
                        self._sharing.on_control(kind, user_id, process_id, held)
                        continue
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
            users = self._local.users()
            answers = await asyncio.gather(*(self._queue_attach(u) for u in users))
            # A process that attached one of them meanwhile did not know about this one.
            await asyncio.gather(
                *(
                    self._sharing.join(user_id, holders)
                    for user_id, holders in zip(users, answers)
                    if isinstance(holders, list) and self._local.has(user_id)
                )
            )

    async def _reap(self) -> None:
        assert self._client is not None
        procs = [
            raw.decode() if isinstance(raw, bytes) else str(raw)
            for raw in await self._client.smembers(self._k("procs"))
        ]
        # Reaped by anyone (or gone cleanly): stop publishing for its sockets.
        self._sharing.keep_processes(procs)
        for pid in procs:
            if pid == self.process_id:
                continue
            stamp = now_ms()
            keys = (self._k("alive:" + pid), self._k("users:" + pid), self._k("procs"))
            gone = await self._client.eval(scripts.REAP, 3, *keys, pid, self._prefix, str(stamp))
            for user in gone:
                self._on_offline(user.decode(), stamp)
