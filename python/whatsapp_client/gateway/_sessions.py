"""The session manager: one runtime (engine + send worker) per running session.

Several gateway processes may share one storage: a process runs a session only while it
holds the session's lease (:mod:`._session_leases`), so each running session is run by
exactly one of them; the others answer its API calls from the storage.

At start every session whose operator wants it running comes back by itself (in the
process that takes its lease). ``stop``
keeps everything and marks the session ``stopped``; ``restart`` brings a stopped or
``failed`` session back; ``delete`` disconnects and erases everything of the session: its
rows (history, queue, deliveries, webhooks, media records, sealed credentials) in one
transaction, then its files (the engine's keys and local history, the media).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Callable, Optional

from whatsapp_client.client.logging import get_logger
from whatsapp_client.gateway._engine import EngineFactory
from whatsapp_client.gateway._errors import NotFound
from whatsapp_client.gateway._event_hub import NULL_FEED, LiveFeed
from whatsapp_client.gateway._ids import new_id, now_ms
from whatsapp_client.gateway._logs import log_context
from whatsapp_client.gateway._media_store import MediaStore
from whatsapp_client.gateway._metrics import GatewayMetrics
from whatsapp_client.gateway._models import Event, SessionRecord, SessionStatus
from whatsapp_client.gateway._pacing import TokenBucket
from whatsapp_client.gateway._pg_notify import PushingStorage
from whatsapp_client.gateway._sender import SendWorker
from whatsapp_client.gateway._session_leases import LeaseKeeper
from whatsapp_client.gateway._session_runtime import SessionRuntime
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._storage import Storage

__all__ = ["SessionManager"]

log = get_logger("gateway.sessions")

_STATUSES: tuple[SessionStatus, ...] = (
    "connecting",
    "connected",
    "disconnected",
    "failed",
    "stopped",
)


class SessionManager:
    def __init__(
        self,
        storage: Storage,
        media: MediaStore,
        settings: GatewaySettings,
        metrics: GatewayMetrics,
        factories: Mapping[str, EngineFactory],
        *,
        wake: Callable[[], None],
        data_dir: Path,
        live: LiveFeed = NULL_FEED,
        owner: Optional[str] = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._storage = storage
        self._live = live  # the dashboard's event hub
        self._media = media
        self._settings = settings
        self._metrics = metrics
        self.factories = dict(factories)
        self._wake = wake
        self._dir = data_dir / "sessions"
        self._runtimes: dict[str, SessionRuntime] = {}
        self._statuses: dict[str, SessionStatus] = {}
        self._locks: collections.defaultdict[str, asyncio.Lock] = collections.defaultdict(
            asyncio.Lock
        )
        # This process's id in the leases: new at every start (see _lease_store).
        self.owner = owner if owner is not None else new_id("gwp")
        self._clock = clock  # the time written to the leases (ms)
        self.leases = LeaseKeeper(
            storage,
            self.owner,
            self,
            ttl=settings.lease_ttl,
            queue_poll=settings.queue_poll_interval,
            clock=clock,
        )

    def directory(self, session_id: str) -> Path:
        return self._dir / session_id

    def runtime(self, session_id: str) -> Optional[SessionRuntime]:
        return self._runtimes.get(session_id)

    def _note_status(self, session_id: str, status: Optional[SessionStatus]) -> None:
        if status is None:
            self._statuses.pop(session_id, None)
        else:
            self._statuses[session_id] = status
        counts = collections.Counter(self._statuses.values())
        for name in _STATUSES:
            self._metrics.sessions.labels(name).set(counts.get(name, 0))

    # --- start and stop of the gateway ------------------------------------------------------

    async def restore(self) -> None:
        """Starts the running sessions whose lease this process takes (all of them when it
        is the only one) and keeps its share; removes the files of deleted sessions."""
        # Directories first, rows second: a session another process creates meanwhile has
        # its row before its directory, so it is never taken for a deleted one.
        children = await asyncio.to_thread(self._children)
        records = await self._storage.list_sessions()
        known = {r.id for r in records}
        await asyncio.to_thread(self._sweep, [c for c in children if c.name not in known])
        for record in records:
            if not record.running:
                self._note_status(record.id, record.status)
        if isinstance(self._storage, PushingStorage):  # work queued through other processes
            try:
                await self._storage.subscribe(self.leases.queued, self._wake)
            except Exception as exc:  # the polls find the work all the same
                log.warning("no push notifications from the storage, polling only: %s", exc)
        await self.leases.start()

    def _children(self) -> list[Path]:
        if not self._dir.is_dir():
            return []
        return [child for child in self._dir.iterdir() if child.is_dir()]

    def _sweep(self, orphans: list[Path]) -> None:
        # A crash between the rows' and the files' removal leaves files nobody can reach.
        for child in orphans:
            log.info("removing the files of deleted session %s", child.name)
            shutil.rmtree(child, ignore_errors=True)

    async def close(self) -> None:
        """Stops every runtime, then frees this process's leases so another process takes
        the sessions over at once; the sessions stay ``running``."""
        await self.leases.stop()
        runtimes, self._runtimes = list(self._runtimes.values()), {}
        await asyncio.gather(*(r.close() for r in runtimes), return_exceptions=True)
        await self.leases.release()

    # --- the lease keeper's calls (LeaseHolder) -----------------------------------------------

    def running_here(self) -> set[str]:
        return set(self._runtimes)

    async def run_claimed(self, record: SessionRecord) -> None:
        with log_context(session_id=record.id):
            async with self._locks[record.id]:
                # Checked again under the lock: a stop or delete may have come first.
                current = await self._storage.get_session(record.id)
                if current is None or not current.running or not await self._holding(record.id):
                    return
                await self._launch_or_fail(current, register=False)

    async def drop_lost(self, session_id: str, *, confirm: bool = True) -> None:
        async with self._locks[session_id]:
            if confirm and await self._holding(session_id):
                return  # taken again meanwhile (a restart through this process)
            await self._halt(session_id)
            self._note_status(session_id, None)

    def refresh(self, record: SessionRecord) -> None:
        runtime = self._runtimes.get(record.id)
        worker = None if runtime is None else runtime.worker
        if worker is not None and worker.bucket.rate_per_minute != record.rate_limit_per_minute:
            self.set_rate(record.id, record.rate_limit_per_minute)

    async def _holding(self, session_id: str) -> bool:
        return await self._storage.lease_holder(session_id, self._clock()) == self.owner

    # --- one session --------------------------------------------------------------------------

    async def launch(self, record: SessionRecord, *, register: bool) -> None:
        """Takes the lease of a session just created and starts it; one that cannot be
        started is marked ``failed`` with why."""
        # The tasks the engine and the worker start inherit the session id for their logs.
        with log_context(session_id=record.id):
            async with self._locks[record.id]:
                if await self.leases.claim([record.id]):
                    await self._launch_or_fail(record, register=register)

    async def _launch_or_fail(self, record: SessionRecord, *, register: bool) -> None:
        try:
            await self._launch(record, register=register)
        except Exception as exc:
            # Visible on the session (until restarted) rather than lost in a log.
            log.exception("session %s could not be started", record.id)
            await self._halt(record.id)
            await self._set_status(record.id, "failed", f"could not be started: {exc}")

    async def _launch(self, record: SessionRecord, *, register: bool) -> None:
        if record.id in self._runtimes:
            return
        factory = self.factories.get(record.engine)
        if factory is None:
            await self._set_status(record.id, "failed", f"unknown engine {record.engine!r}")
            return
        credentials = await self._storage.get_credentials(record.id)
        directory = self.directory(record.id)
        await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True, mode=0o700)
        # Plaintext copies handed to the engine for sending; a crash may have left some.
        await asyncio.to_thread(shutil.rmtree, directory / "tmp", True)
        runtime = SessionRuntime(
            record.id,
            self._storage,
            self._media,
            self._metrics,
            wake=self._wake,
            base_url=self._settings.base_url,
            on_status=self._note_status,
            live=self._live,
        )
        engine = factory.build(
            record.id, record.config, credentials, directory / "engine", runtime, register=register
        )
        runtime.engine = engine
        runtime.worker = SendWorker(
            record.id,
            self._storage,
            engine,
            self._media,
            TokenBucket(record.rate_limit_per_minute),
            self._metrics,
            wake=self._wake,
            scratch=directory / "tmp",
            live=self._live,
        )
        self._runtimes[record.id] = runtime
        self._note_status(record.id, "connecting")
        await engine.start()
        runtime.worker.start()

    async def _set_status(
        self, session_id: str, status: SessionStatus, reason: Optional[str]
    ) -> None:
        event = Event(
            id=new_id("evt"),
            type="session.status",
            session_id=session_id,
            timestamp=now_ms(),
            data={"status": status, "reason": reason},
        )
        await self._storage.set_session_status(session_id, status, reason, event)
        self._note_status(session_id, status)
        self._wake()
        self._live.session_status(session_id, status, reason)

    async def _halt(self, session_id: str) -> None:
        runtime = self._runtimes.pop(session_id, None)
        if runtime is not None:
            await runtime.close()

    async def stop(self, session_id: str) -> None:
        """Stops the session wherever it runs: here at once, in another process at its
        next lease renewal."""
        async with self._locks[session_id]:
            await self._halt(session_id)
            await self._storage.update_session(session_id, running=False)
            await self._storage.revoke_lease(session_id, self.owner)
            await self._set_status(session_id, "stopped", "stopped by the operator")

    async def restart(self, session_id: str) -> None:
        """Starts the session again in this process, or, when another process held it,
        in whichever process takes it once that process has let it go (within the TTL)."""
        async with self._locks[session_id]:
            await self._halt(session_id)
            record = await self._storage.update_session(session_id, running=True)
            await self._storage.revoke_lease(session_id, self.owner)
            await self._set_status(session_id, "connecting", "restarted by the operator")
            if await self.leases.claim([session_id]):
                with log_context(session_id=session_id):
                    await self._launch_or_fail(record, register=False)

    async def delete(self, session_id: str) -> None:
        async with self._locks[session_id]:
            runtime = self._runtimes.pop(session_id, None)
            if runtime is not None:
                await runtime.close()
            if await self._storage.get_session(session_id) is None:
                raise NotFound(f"no session {session_id!r}")
            await self._storage.delete_session(session_id)
            if runtime is not None and runtime.engine is not None:
                with contextlib.suppress(OSError):
                    await runtime.engine.erase()
            await self._media.remove_session(session_id)
            await asyncio.to_thread(shutil.rmtree, self.directory(session_id), True)
            self._note_status(session_id, None)
            self._live.session_deleted(session_id)
        self._locks.pop(session_id, None)

    def set_rate(self, session_id: str, rate_per_minute: int) -> None:
        runtime = self._runtimes.get(session_id)
        if runtime is not None and runtime.worker is not None:
            runtime.worker.bucket.set_rate(rate_per_minute)
            runtime.worker.kick()  # a worker waiting for a token re-reads the pace

    def kick(self, session_id: str) -> None:
        runtime = self._runtimes.get(session_id)
        if runtime is not None and runtime.worker is not None:
            runtime.worker.kick()
