"""What the webhook tests share: an in-memory delivery store (the dispatcher's part of the
Storage contract, for unit tests that need no database), a test clock, and a real webhook
receiver (aiohttp on loopback) that verifies every request with ``standardwebhooks``."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Callable, Optional

import msgspec
from aiohttp import web
from standardwebhooks import Webhook

from whatsapp_client.gateway._models import (
    EVENT_TYPES,
    Delivery,
    DeliveryState,
    Event,
    EventType,
    WebhookEndpoint,
)

_ids = itertools.count(1)


def make_event(session_id: str, n: int, type_: EventType = "message.received") -> Event:
    return Event(
        id=f"evt_test{next(_ids):06d}",
        type=type_,
        session_id=session_id,
        timestamp=1_700_000_000_000 + n,
        data={"id": f"m{n}", "n": n, "text": f"message {n}"},
    )


def make_endpoint(
    session_id: str,
    url: str,
    secrets: list[str],
    events: Optional[list[EventType]] = None,
) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=f"whk_test{next(_ids):06d}",
        session_id=session_id,
        url=url,
        events=list(events if events is not None else EVENT_TYPES),
        secrets=secrets,
        created_at=0,
    )


@dataclasses.dataclass(frozen=True)
class Finish:
    seq: int
    state: DeliveryState
    at: int
    next_attempt_at: int
    status: Optional[int]
    error: Optional[str]


class MemoryDeliveries:
    """The dispatcher's side of the Storage contract, kept in dicts."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self.clock = clock
        self.endpoints: dict[str, WebhookEndpoint] = {}
        self.deliveries: dict[int, Delivery] = {}
        self.finishes: list[Finish] = []
        self.claims = 0  # scans (claim_endpoints calls)
        self.releases = 0
        self._seq = itertools.count(1)

    def add_endpoint(self, endpoint: WebhookEndpoint) -> None:
        self.endpoints[endpoint.id] = endpoint

    def add_event(self, event: Event) -> None:
        for ep in self.endpoints.values():
            if ep.session_id == event.session_id and ep.enabled and event.type in ep.events:
                now = self.clock()
                seq = next(self._seq)
                self.deliveries[seq] = Delivery(
                    seq=seq,
                    endpoint_id=ep.id,
                    session_id=event.session_id,
                    event=event,
                    next_attempt_at=now,
                    created_at=now,
                )

    def of(self, endpoint_id: str) -> list[Delivery]:
        return [d for d in self.deliveries.values() if d.endpoint_id == endpoint_id]

    async def claim_endpoints(
        self, owner: str, now: int, ttl_ms: int, *, limit: int = 1000
    ) -> list[str]:
        # One process: every endpoint with a pending delivery, due or not, is its to post.
        self.claims += 1
        return sorted(
            ep.id for ep in self.endpoints.values() if ep.enabled and self._head(ep.id) is not None
        )[:limit]

    async def release_endpoints(
        self, owner: str, endpoint_ids: Optional[Sequence[str]] = None
    ) -> None:
        self.releases += 1

    async def head_delivery(self, endpoint_id: str) -> Optional[Delivery]:
        return self._head(endpoint_id)

    def _head(self, endpoint_id: str) -> Optional[Delivery]:
        pending = [d for d in self.of(endpoint_id) if d.state == "pending"]
        return min(pending, key=lambda d: d.seq) if pending else None

    async def list_webhooks(self, session_id: str) -> list[WebhookEndpoint]:
        return [ep for ep in self.endpoints.values() if ep.session_id == session_id]

    async def disable_webhook(self, endpoint_id: str, reason: str) -> None:
        ep = self.endpoints[endpoint_id]
        self.endpoints[endpoint_id] = msgspec.structs.replace(
            ep, enabled=False, disabled_reason=reason
        )

    async def finish_delivery(
        self,
        seq: int,
        state: DeliveryState,
        *,
        attempts: int,
        next_attempt_at: int,
        status_code: Optional[int],
        error: Optional[str],
        at: int,
    ) -> None:
        d = self.deliveries[seq]
        self.deliveries[seq] = msgspec.structs.replace(
            d,
            state=state,
            attempts=attempts,
            next_attempt_at=next_attempt_at,
            last_status=status_code,
            last_error=error,
            finished_at=at if state != "pending" else None,
        )
        self.finishes.append(Finish(seq, state, at, next_attempt_at, status_code, error))


class PipelinedMemoryDeliveries(MemoryDeliveries):
    """Also lists the deliveries behind the head (the dispatcher then pipelines)."""

    async def pending_deliveries(self, endpoint_id: str, *, limit: int) -> list[Delivery]:
        pending = sorted(
            (d for d in self.of(endpoint_id) if d.state == "pending"), key=lambda d: d.seq
        )
        return pending[:limit]


class TestClock:
    """Milliseconds that move only when the code under test sleeps."""

    __test__ = False

    def __init__(self, start: int = 1_700_000_000_000) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> int:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += round(seconds * 1000)
        await asyncio.sleep(0)


@dataclasses.dataclass(eq=False)
class Received:
    headers: dict[str, str]
    body: bytes
    payload: Any  # what standardwebhooks.verify returned (the parsed body)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Receiver:
    """A webhook receiver on loopback. ``answer`` decides each response (default 204);
    only requests answered 2xx count as ``received``; every request is in ``requests``.
    Every request must verify with one of ``secrets`` or the test fails."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = secrets
        self.requests: list[Received] = []
        self.received: list[Received] = []
        self.answer: Optional[Handler] = None
        self.errors: list[str] = []
        self.url = ""

    def verify(self, body: bytes, headers: dict[str, str]) -> Any:
        for secret in self.secrets:
            try:
                return Webhook(secret).verify(body, headers)
            except Exception as exc:
                last = exc
        self.errors.append(f"signature did not verify: {last}")
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        item = Received(headers, body, self.verify(body, headers))
        self.requests.append(item)
        response = await self.answer(request) if self.answer else web.Response(status=204)
        if 200 <= response.status < 300:
            self.received.append(item)
        return response

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]

    def numbers(self) -> list[int]:
        return [int(json.loads(r.body)["data"]["n"]) for r in self.received]


@asynccontextmanager
async def receiver(secrets: list[str], path: str = "/hook") -> AsyncIterator[Receiver]:
    rec = Receiver(secrets)
    app = web.Application()
    app.router.add_post(path, rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    rec.url = f"http://127.0.0.1:{port}{path}"
    try:
        yield rec
    finally:
        await runner.cleanup()
    assert not rec.errors, rec.errors
