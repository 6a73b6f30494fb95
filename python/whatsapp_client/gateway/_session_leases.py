"""This process's share of the sessions when several gateway processes use one storage
(the model is in :mod:`._lease_store` and docs/gateway-processes.md).

:class:`LeaseKeeper` renews the leases this process holds every third of the TTL, stops the
sessions it lost, takes free or expired ones and has them started, and polls the send queue
of its sessions so that sends queued through another process are noticed. A storage with a
push channel (PostgreSQL ``LISTEN``) can call :meth:`LeaseKeeper.queued` on each
notification; the poll stays as the safety net.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Optional, Protocol

from whatsapp_client.client.logging import get_logger
from whatsapp_client.gateway._ids import new_id, now_ms
from whatsapp_client.gateway._lease_store import LeaseStore
from whatsapp_client.gateway._models import SessionRecord

__all__ = ["CLAIM_ROUND", "LeaseHolder", "LeaseKeeper", "process_id"]

log = get_logger("gateway.leases")

# Sessions taken per storage call; a round takes every free one, CLAIM_ROUND at a time.
CLAIM_ROUND = 100


def process_id(configured: Optional[str], port: int) -> str:
    """This process's id in the leases and claims: ``configured`` when given, else the host
    name and listening port, which two processes running at once never share and a
    process restarted in place keeps (so it takes its sessions back without waiting for
    its old leases to end); a random id when the port is chosen by the system (0)."""
    if configured:
        return configured
    if port == 0:
        return new_id("gwp")
    return f"gwp_{socket.gethostname()}:{port}"


class LeaseHolder(Protocol):
    """What the keeper asks of the session manager."""

    def running_here(self) -> set[str]:
        """The sessions with a runtime in this process."""

    async def run_claimed(self, record: SessionRecord) -> None:
        """Start a session whose lease this process has just taken."""

    async def drop_lost(self, session_id: str, *, confirm: bool = True) -> None:
        """Stop, without recording a status, a session whose lease this process lost;
        ``confirm``: unless the storage shows it holds the lease again (a restart)."""

    def refresh(self, record: SessionRecord) -> None:
        """A held session's current record (e.g. a new rate set through another process)."""

    def kick(self, session_id: str) -> None:
        """The session's send queue has work."""


class LeaseKeeper:
    """``ttl`` and ``queue_poll`` in seconds; ``clock`` gives the time written to the
    storage (ms), ``monotonic`` the local time that decides when held leases must be
    presumed lost."""

    def __init__(
        self,
        storage: LeaseStore,
        owner: str,
        holder: LeaseHolder,
        *,
        ttl: float,
        queue_poll: float,
        clock: Callable[[], int] = now_ms,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._storage = storage
        self.owner = owner
        self._holder = holder
        self._ttl_ms = int(ttl * 1000)
        self._renew_every = ttl / 3
        self._queue_poll = queue_poll
        self._clock = clock
        self._monotonic = monotonic
        self._renewed_at: Optional[float] = None
        self._tasks: list[asyncio.Task[None]] = []
        self._launches: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Takes this process's share at once (the sessions are started before it returns),
        then keeps it in the background. Leases still held under this process's id (it
        was restarted after a crash, same id) are taken back without waiting."""
        await self._guarded(self.tick(wait=True, adopt=True), "take the sessions' leases")
        self._tasks = [
            asyncio.create_task(self._every(self._renew_every, self.tick), name="gateway-leases"),
            asyncio.create_task(self._every(self._queue_poll, self.poll_queues), name="gw-queue"),
        ]

    async def stop(self) -> None:
        """Stops the background work (the leases stay held until :meth:`release`)."""
        tasks = self._tasks + list(self._launches)
        self._tasks = []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def release(self) -> None:
        """Frees every lease this process holds so another process takes over at once
        (after a clean shutdown has stopped the runtimes)."""
        await self._guarded(self._storage.release_leases(self.owner), "release the leases")

    async def claim(self, session_ids: list[str]) -> list[SessionRecord]:
        """Takes the leases of these sessions now if they are free (create, restart)."""
        return await self._storage.claim_sessions(
            self.owner, self._clock(), self._ttl_ms, session_ids=session_ids
        )

    async def tick(self, *, wait: bool = False, adopt: bool = False) -> None:
        """One renewal: stop what was lost, refresh what is held, start what was taken.
        ``wait``: start the taken sessions before returning (else in the background, so a
        slow start never delays the next renewal). ``adopt``: also start the held sessions
        that do not run here (at start: what a previous run under this id held)."""
        try:
            held = await self._storage.renew_leases(self.owner, self._clock(), self._ttl_ms)
        except Exception:
            await self._presume_lost()
            raise
        self._renewed_at = self._monotonic()
        kept = {record.id for record in held}
        for session_id in sorted(self._holder.running_here() - kept):
            log.info("session %s: its lease was lost; another process runs it", session_id)
            await self._holder.drop_lost(session_id)
        for record in held:
            self._holder.refresh(record)
        if adopt:
            for record in held:
                if record.id not in self._holder.running_here():
                    await self._holder.run_claimed(record)
        while True:  # in rounds of CLAIM_ROUND, until nothing free is left
            taken = await self._storage.claim_sessions(
                self.owner, self._clock(), self._ttl_ms, limit=CLAIM_ROUND
            )
            for record in taken:
                log.info("session %s: lease taken by process %s", record.id, self.owner)
                if wait:
                    await self._holder.run_claimed(record)
                else:
                    task = asyncio.create_task(self._holder.run_claimed(record))
                    self._launches.add(task)
                    task.add_done_callback(self._launches.discard)
            if len(taken) < CLAIM_ROUND:
                return

    async def _presume_lost(self) -> None:
        # The storage cannot be reached: once the leases may have expired, another process
        # may run these sessions, so this one stops them rather than run them twice.
        renewed = self._renewed_at
        if renewed is None or (self._monotonic() - renewed) * 1000 < self._ttl_ms:
            return
        for session_id in sorted(self._holder.running_here()):
            log.warning("session %s: leases not renewed for a full TTL; stopping it", session_id)
            await self._holder.drop_lost(session_id, confirm=False)

    async def poll_queues(self) -> None:
        for session_id in await self._storage.queued_sessions(self.owner):
            self._holder.kick(session_id)

    def queued(self, session_id: str) -> None:
        """A push notification that the session's queue has work (e.g. PostgreSQL NOTIFY)."""
        self._holder.kick(session_id)

    async def _every(self, seconds: float, job: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            await self._guarded(job(), job.__name__)

    async def _guarded(self, job: Awaitable[None], what: str) -> None:
        try:
            await job
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("cannot %s (process %s)", what, self.owner)
