"""Durable webhook delivery: posts every pending :class:`Delivery` to its endpoint.

- Per endpoint strictly in order: one worker task per endpoint with pending work, and one
  POST in flight per endpoint; the next one waits until the previous is answered 2xx or
  is dead. With a :class:`PipelinedDeliveryStore` the next POST does not wait for the
  previous outcome's commit (the outcomes of a run are committed together).
- Endpoints in parallel: a worker waiting out a retry holds nothing, so a dead endpoint
  never slows another; at most ``webhook_concurrency`` POSTs are in flight at once.
- Durable: the schedule lives in the storage (``next_attempt_at``), so after a restart every
  pending delivery is picked up where it was. At-least-once: an attempt whose outcome was
  not recorded (crash, shutdown) is made again, with the same ``webhook-id``.
- ``wake()`` (called by the service after every write that created events) starts work at
  once; a slow poll catches anything else.
- Several gateway processes on one storage: a process posts only for the endpoints it has
  claimed (``claim_endpoints``, renewed at every scan, far more often than the claim's
  ``lease_ttl``), so one process at a time posts an endpoint's deliveries and their order
  holds; a dead process's endpoints are claimed by another once its claims expire, and a
  closing one frees its claims for the others at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Sequence
from typing import Callable, Optional

import aiohttp
from aiohttp.abc import AbstractResolver

from whatsapp_client._waits import wait_for
from whatsapp_client.gateway._delivery_outcome import OutcomeRecorder
from whatsapp_client.gateway._delivery_store import DeliveryStore, PipelinedDeliveryStore
from whatsapp_client.gateway._errors import InvalidRequest
from whatsapp_client.gateway._ids import new_id, now_ms
from whatsapp_client.gateway._metrics import GatewayMetrics
from whatsapp_client.gateway._models import Delivery, WebhookEndpoint
from whatsapp_client.gateway._retry_policy import RETRY_SCHEDULE
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._webhook_post import AttemptResult, post_event
from whatsapp_client.gateway._webhook_urls import GuardedResolver, validate_webhook_url

_log = logging.getLogger("whatsapp_client.gateway.webhooks")

# A worker re-reads its endpoint (URL, secrets) at most this old: a PATCH that rotates a
# secret takes effect within this time even in the middle of a backlog.
ENDPOINT_REFRESH_SECONDS = 1.0
# Deliveries of one endpoint read at once (with a PipelinedDeliveryStore).
PIPELINE_DEPTH = 32

__all__ = ["DeliveryStore", "PipelinedDeliveryStore", "WebhookDispatcher"]


class WebhookDispatcher:
    """``clock`` (ms) and ``sleep`` schedule the retries, so a test can run the whole 24 h
    schedule at once; signatures are always timestamped with ``wall`` (real time), which is
    what receivers check them against. ``resolver``: how names are resolved (aiohttp's
    default when None); the addresses it gives are checked when blocking private ones.
    ``owner``: this process's id in the endpoint claims (a new one when None)."""

    def __init__(
        self,
        storage: DeliveryStore,
        settings: GatewaySettings,
        metrics: GatewayMetrics,
        *,
        clock: Callable[[], int] = now_ms,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall: Callable[[], float] = time.time,
        poll_interval: float = 2.0,
        schedule: Sequence[float] = RETRY_SCHEDULE,
        resolver: Optional[AbstractResolver] = None,
        owner: Optional[str] = None,
    ) -> None:
        self._storage = storage
        self.owner = owner if owner is not None else new_id("gwp")
        self._claim_ms = int(settings.lease_ttl * 1000)
        # The endpoints this process holds the claim of, as of the last scan.
        self._claimed: frozenset[str] = frozenset()
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._sleep = sleep
        self._wall = wall
        # Scans renew the endpoint claims: at least three in a claim's lifetime.
        self._poll_interval = min(poll_interval, settings.lease_ttl / 3)
        self._outcomes = OutcomeRecorder(storage, settings, metrics, clock, schedule)
        self._resolver = resolver
        self._guard: Optional[GuardedResolver] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._wakeup: Optional[asyncio.Event] = None
        self._slots: Optional[asyncio.Semaphore] = None
        self._http: Optional[aiohttp.ClientSession] = None
        self._scheduler: Optional[asyncio.Task[None]] = None
        self._workers: dict[str, asyncio.Task[None]] = {}
        # Endpoints that got new work while their worker was running: it looks again
        # before it stops.
        self._rescan: set[str] = set()
        # Endpoints as last read (with the loop time of the read), shared by their workers.
        self._endpoints: dict[str, tuple[WebhookEndpoint, float]] = {}
        # Endpoints whose worker is between starting a POST and recording its outcome.
        self._posting: set[str] = set()
        self._closing = False

    async def start(self) -> None:
        if self._loop is not None:
            raise RuntimeError("the webhook dispatcher is already started")
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._slots = asyncio.Semaphore(self._settings.webhook_concurrency)
        if self._settings.webhook_block_private:
            self._guard = GuardedResolver(self._resolver)
        connector = aiohttp.TCPConnector(
            limit=self._settings.webhook_concurrency,
            resolver=self._guard if self._guard is not None else self._resolver,
        )
        self._http = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False
        )
        self._scheduler = asyncio.create_task(self._run(), name="webhook-dispatcher")

    def wake(self) -> None:
        """New events were committed: look for work now. Safe from any thread."""
        loop, wakeup = self._loop, self._wakeup
        if loop is None or wakeup is None or loop.is_closed():
            return
        try:
            running: Optional[asyncio.AbstractEventLoop] = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wakeup.set()
        else:
            loop.call_soon_threadsafe(wakeup.set)

    async def close(self, grace: float = 5.0) -> None:
        """Stops every worker. POSTs in flight get up to ``grace`` seconds to finish and be
        recorded (fewer duplicates after a restart); one cut short is made again after the
        next start, with the same ``webhook-id``."""
        self._closing = True
        if self._scheduler is not None:
            self._scheduler.cancel()
            await asyncio.gather(self._scheduler, return_exceptions=True)
            self._scheduler = None
        posting = [t for ep, t in self._workers.items() if ep in self._posting]
        for task in self._workers.values():
            if task not in posting:
                task.cancel()
        if posting:
            await asyncio.wait(posting, timeout=grace)
        tasks = list(self._workers.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers.clear()
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._guard is not None:
            await self._guard.close()
            self._guard = None
        try:  # another process takes the endpoints over at once
            await self._storage.release_endpoints(self.owner)
        except Exception:
            _log.exception("webhook dispatcher could not release its endpoint claims")

    @property
    def busy_endpoints(self) -> frozenset[str]:
        """Endpoints with a worker right now (for tests and diagnostics)."""
        return frozenset(self._workers)

    # --- scheduling -------------------------------------------------------------------
    async def _run(self) -> None:
        assert self._wakeup is not None
        # Not `while True`: on Python 3.11 a wake-up that lands as close() cancels can make
        # wait_for swallow the cancellation, and the loop must still end.
        while not self._closing:
            self._wakeup.clear()
            try:
                await self._scan()
            except Exception:  # the storage is down: try again at the next poll
                _log.exception("webhook dispatcher could not read pending deliveries")
            with contextlib.suppress(asyncio.TimeoutError):
                await wait_for(self._wakeup.wait(), self._poll_interval)

    async def _scan(self) -> None:
        # Every endpoint with a pending delivery, due or not, that this process may post
        # for (its worker sleeps until the head is due); the call renews the claims too.
        claimed = await self._storage.claim_endpoints(self.owner, self._clock(), self._claim_ms)
        # A worker whose endpoint is missing (no work left at the scan, or the claim lost
        # after this process stalled for a whole TTL) stops before its next POST.
        self._claimed = frozenset(claimed)
        for endpoint_id in claimed:
            if endpoint_id in self._workers:
                self._rescan.add(endpoint_id)
            else:
                self._workers[endpoint_id] = asyncio.create_task(
                    self._work(endpoint_id), name=f"webhook-{endpoint_id}"
                )

    async def _work(self, endpoint_id: str) -> None:
        try:
            while not self._closing:
                if endpoint_id not in self._claimed:
                    return  # the next scan claims it again if it has work
                self._rescan.discard(endpoint_id)
                batch = await self._pending(endpoint_id)
                if not batch:
                    if endpoint_id in self._rescan:
                        continue
                    return
                wait_ms = batch[0].next_attempt_at - self._clock()
                if wait_ms > 0:
                    await self._sleep(wait_ms / 1000)
                    self._endpoints.pop(endpoint_id, None)  # read it again after a wait
                    continue  # the head may have changed meanwhile too
                endpoint = await self._endpoint(batch[0])
                if endpoint is None or not endpoint.enabled:
                    return  # removed or disabled: its deliveries wait (or were dropped)
                self._posting.add(endpoint_id)
                try:
                    usable = await self._deliver(endpoint, batch)
                finally:
                    self._posting.discard(endpoint_id)
                if not usable:
                    self._endpoints.pop(endpoint_id, None)
                    return  # the endpoint was disabled
        except asyncio.CancelledError:
            raise
        except Exception:  # storage trouble: the next scan starts a new worker
            _log.exception("webhook worker failed", extra={"endpoint_id": endpoint_id})
        finally:
            self._workers.pop(endpoint_id, None)
            self._rescan.discard(endpoint_id)

    async def _pending(self, endpoint_id: str) -> list[Delivery]:
        """The head and, when the storage can list them, the deliveries behind it."""
        if isinstance(self._storage, PipelinedDeliveryStore):
            return await self._storage.pending_deliveries(endpoint_id, limit=PIPELINE_DEPTH)
        head = await self._storage.head_delivery(endpoint_id)
        return [] if head is None else [head]

    async def _deliver(self, endpoint: WebhookEndpoint, batch: list[Delivery]) -> bool:
        """Posts ``batch`` in order, each only after the previous one was answered 2xx; the
        2xx outcomes are committed together at the end (so a slow commit does not hold up
        the next POST). Stops at the first failure, after recording it. False if the
        endpoint is now disabled."""
        recording: list[asyncio.Task[bool]] = []
        try:
            for delivery in batch:
                if self._closing or delivery.next_attempt_at > self._clock():
                    break
                if endpoint.id not in self._claimed:
                    break  # not ours at the last scan: the holder posts from here
                result = await self._post(endpoint, delivery)
                if result.delivered:
                    recording.append(
                        asyncio.create_task(self._outcomes.record(endpoint, delivery, result))
                    )
                    continue
                await asyncio.gather(*recording)
                recording = []
                return await self._outcomes.record(endpoint, delivery, result)
            return True
        finally:
            if recording:
                await asyncio.gather(*recording)

    async def _endpoint(self, head: Delivery) -> Optional[WebhookEndpoint]:
        """The head's endpoint, read at most ``ENDPOINT_REFRESH_SECONDS`` ago."""
        assert self._loop is not None
        cached = self._endpoints.get(head.endpoint_id)
        if cached is not None and self._loop.time() - cached[1] <= ENDPOINT_REFRESH_SECONDS:
            return cached[0]
        self._endpoints.pop(head.endpoint_id, None)
        for endpoint in await self._storage.list_webhooks(head.session_id):
            if endpoint.id == head.endpoint_id:
                self._endpoints[endpoint.id] = (endpoint, self._loop.time())
                return endpoint
        return None

    # --- one attempt ------------------------------------------------------------------
    async def _post(self, endpoint: WebhookEndpoint, delivery: Delivery) -> AttemptResult:
        assert self._slots is not None and self._http is not None
        try:
            # Checked again at every attempt: the setting may have been turned on since the
            # endpoint was created (names are checked by the resolver when connecting).
            url = validate_webhook_url(
                endpoint.url, block_private=self._settings.webhook_block_private
            )
        except InvalidRequest as exc:
            return AttemptResult(None, f"url refused: {exc.message}")
        async with self._slots:
            return await post_event(
                self._http,
                url,
                endpoint.secrets,
                delivery.event,
                timeout=self._settings.webhook_timeout,
                signed_at=self._wall(),
            )
