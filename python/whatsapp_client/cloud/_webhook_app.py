"""The webhook receiver (framework-free) and the aiohttp app around it.

:class:`WebhookReceiver` does the work for any web framework: :meth:`~WebhookReceiver.verify_get`
answers Meta's GET handshake, :meth:`~WebhookReceiver.handle_post` checks the signature of
the raw body FIRST (401: nothing parsed, nothing dispatched), then parses (400), drops
duplicates, and schedules the dispatch in the background so Meta gets its 200 at once (Meta
retries a webhook that is not answered 200 quickly:
https://developers.facebook.com/docs/graph-api/webhooks/getting-started/ ).

With an :class:`~._dedup.InboxStore` (``SqliteDedupStore``) nothing answered 200 is lost
on a crash: the new events are kept pending in the transaction that records their keys,
marked done after their handlers ran, and :meth:`~WebhookReceiver.start` dispatches what a
previous process left pending before anything new (at-least-once after a crash,
exactly-once otherwise).

:func:`webhook_app` serves it on aiohttp: ``GET`` and ``POST`` on one path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from typing import Any, Optional, Union

import msgspec
from aiohttp import web

from ._dedup import DedupStore, InboxStore, MemoryDedupStore
from ._errors import ConfigurationError, ValidationError
from ._events import Event, MessageEvent, StatusEvent, parse_webhook
from ._handlers import WebhookHandlers
from ._signature import SIGNATURE_HEADER, SignatureVerifier, verification_challenge

__all__ = ["DEFAULT_MAX_BODY", "WebhookReceiver", "webhook_app", "webhook_routes"]

log = logging.getLogger("whatsapp.cloud.webhooks")

# Pending events are kept as the JSON of the tagged Event union (``raw`` stays verbatim JSON).
_ENCODER = msgspec.json.Encoder()
_DECODER: msgspec.json.Decoder[Event] = msgspec.json.Decoder(Event)
_REPLAY_CHUNK = 256  # replayed events per dispatch + mark_done round

# Meta's notifications are a few KiB (batches up to ~1000 updates stay well under this).
DEFAULT_MAX_BODY = 1024 * 1024


def _dedup_key(ev: Event) -> Optional[tuple[str, str]]:
    if isinstance(ev, MessageEvent):
        return (ev.message_id, "message")
    if isinstance(ev, StatusEvent):
        return (ev.message_id, ev.status)
    return None  # errors carry no id: always delivered


class WebhookReceiver:
    """Verification, parsing, duplicate dropping and background dispatch of webhooks.

    ``app_secret`` is required: ``None`` or ``""`` raises :class:`ConfigurationError` unless
    ``insecure_skip_signature=True`` (local testing only; logged as a warning), which then
    accepts every POST unsigned. ``dedup`` defaults to a :class:`MemoryDedupStore` (no
    durability); a :class:`~._dedup.SqliteDedupStore` also keeps events until their handlers
    ran (call :meth:`start` on startup to replay what a crash left).
    """

    def __init__(
        self,
        *,
        app_secret: Optional[str],
        verify_token: str,
        handlers: WebhookHandlers,
        dedup: Optional[DedupStore] = None,
        insecure_skip_signature: bool = False,
        max_body_size: int = DEFAULT_MAX_BODY,
    ) -> None:
        if insecure_skip_signature:
            log.warning(
                "INSECURE: webhook signatures are NOT checked (insecure_skip_signature=True); "
                "anyone who can reach this endpoint can inject events. Local testing only."
            )
        elif not app_secret:
            raise ConfigurationError(
                "webhooks need the app secret (App Dashboard > App settings > Basic) to check "
                "X-Hub-Signature-256; pass app_secret=..., or insecure_skip_signature=True "
                "for local testing only"
            )
        if max_body_size < 1:
            raise ConfigurationError(f"max_body_size must be positive: {max_body_size!r}")
        self._verifier = None if insecure_skip_signature else SignatureVerifier(app_secret or "")
        self._verify_token = verify_token or ""
        self._skip_signature = insecure_skip_signature
        self.handlers = handlers
        self.dedup: DedupStore = dedup if dedup is not None else MemoryDedupStore()
        # Stores that can answer for a whole batch in one call (one await, one transaction).
        self._seen_many = getattr(self.dedup, "seen_many", None)
        self._inbox: Optional[InboxStore] = (
            self.dedup if isinstance(self.dedup, InboxStore) else None
        )
        self.max_body_size = max_body_size
        self._tasks: set[asyncio.Task[None]] = set()
        self._start: Optional[asyncio.Task[None]] = None
        self._started = False
        self._replay: Optional[asyncio.Task[None]] = None

    def __repr__(self) -> str:
        # The app secret and verify token are never shown.
        return (
            f"WebhookReceiver(app_secret=***, verify_token=***, "
            f"insecure_skip_signature={self._skip_signature}, dedup={self.dedup!r})"
        )

    def verify_get(self, params: Mapping[str, str]) -> tuple[int, str]:
        """The GET handshake: ``(200, challenge)`` or ``(403, reason)``."""
        challenge = verification_challenge(params, self._verify_token)
        if challenge is None:
            log.warning("webhook verification refused (wrong mode or verify token)")
            return 403, "verification failed"
        log.info("webhook verification accepted")
        return 200, challenge

    async def handle_post(
        self, raw_body: bytes, signature: Optional[str]
    ) -> tuple[int, list[Event]]:
        """Check, parse, drop duplicates, schedule the dispatch; returns the HTTP status
        and the new (non-duplicate) events. Nothing is parsed unless the signature holds; 503
        (nothing dispatched) if the duplicate record fails, so Meta redelivers. Calls
        :meth:`start` first if nobody did."""
        if len(raw_body) > self.max_body_size:
            log.warning("webhook refused: body of %d bytes is over the limit", len(raw_body))
            return 413, []
        if self._verifier is not None and not self._verifier.verify(raw_body, signature):
            log.warning("webhook refused: %s signature", "missing" if signature is None else "bad")
            return 401, []
        try:
            events = parse_webhook(raw_body)
        except ValidationError as exc:
            log.warning("webhook refused: %s", exc)
            return 400, []
        try:
            await self.start()
            if self._inbox is not None and len(self.handlers):
                fresh, ids = await self._keep_pending(self._inbox, events)
            else:
                fresh, ids = await self._drop_duplicates(events), []
        except Exception:
            # Nothing dispatched and not a 200: Meta delivers it again later.
            log.exception("webhook: the duplicate record failed; answering 503")
            return 503, []
        if fresh and len(self.handlers):
            self._spawn(self._dispatch(fresh, ids))
        return 200, fresh

    async def start(self) -> None:
        """Dispatch (in the background, before anything new) the events a previous process
        left pending in the inbox store. Idempotent; :func:`webhook_app` calls it on
        startup and :meth:`handle_post` the first time. A no-op for a store without an
        inbox. Raises if the store cannot be read (then the next call tries again)."""
        if self._started:
            return
        if self._start is None:
            self._start = asyncio.get_running_loop().create_task(self._start_once())
        start = self._start
        try:
            await asyncio.shield(start)  # a caller's cancellation does not stop the replay
        except Exception:
            if self._start is start:
                self._start = None
            raise
        self._started = True

    async def _start_once(self) -> None:
        if self._inbox is None:
            return
        if not len(self.handlers):
            log.warning("webhook: no handlers registered; pending events stay for later")
            return
        rows = await self._inbox.pending()
        if rows:
            log.info("webhook: dispatching %d event(s) left pending by a previous run", len(rows))
            self._replay = self._spawn(self._redispatch(self._inbox, rows))

    async def _redispatch(self, inbox: InboxStore, rows: list[tuple[int, bytes]]) -> None:
        for i in range(0, len(rows), _REPLAY_CHUNK):
            events: list[Event] = []
            ids: list[int] = []
            for seq, blob in rows[i : i + _REPLAY_CHUNK]:
                try:
                    events.append(_DECODER.decode(blob))
                    ids.append(seq)
                except msgspec.DecodeError:  # e.g. written by a newer version: kept
                    log.error("webhook: pending event %d is unreadable; left in the store", seq)
            await self._run_handlers(events, ids, inbox)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _keep_pending(
        self, inbox: InboxStore, events: list[Event]
    ) -> tuple[list[Event], list[int]]:
        items = [(_dedup_key(ev), _ENCODER.encode(ev)) for ev in events]
        ids = await inbox.record_pending(items)
        fresh = [ev for ev, i in zip(events, ids) if i is not None]
        kept = [i for i in ids if i is not None]
        if len(fresh) < len(events):
            log.info("webhook: dropped %d duplicate event(s)", len(events) - len(fresh))
        return fresh, kept

    async def _drop_duplicates(self, events: list[Event]) -> list[Event]:
        keyed = [(ev, _dedup_key(ev)) for ev in events]
        keys = [k for _, k in keyed if k is not None]
        if not keys:
            return events
        if self._seen_many is not None:
            flags = iter(await self._seen_many(keys))
        else:
            flags = iter([await self.dedup.seen(k) for k in keys])
        fresh: list[Event] = []
        dropped = 0
        for ev, key in keyed:
            if key is not None and next(flags):
                dropped += 1
            else:
                fresh.append(ev)
        if dropped:
            log.info("webhook: dropped %d duplicate event(s)", dropped)
        return fresh

    async def _dispatch(self, events: list[Event], ids: list[int]) -> None:
        replay = self._replay
        if replay is not None and not replay.done():
            await asyncio.wait({replay})  # what a previous run left goes first
        await self._run_handlers(events, ids, self._inbox)

    async def _run_handlers(
        self, events: list[Event], ids: list[int], inbox: Optional[InboxStore]
    ) -> None:
        try:
            await self.handlers.dispatch(events)
        except Exception:  # dispatch logs handler failures itself; this is a last guard
            log.exception("webhook dispatch failed")
        # Done even if a handler raised (it was logged): a failing handler is not retried
        # forever. Not reached if the process dies or the task is cancelled: then the next
        # start() dispatches these again.
        if inbox is not None and ids:
            try:
                await inbox.mark_done(ids)
            except Exception:
                log.exception("webhook: could not mark %d event(s) done", len(ids))

    async def drain(self) -> None:
        """Wait until every background dispatch scheduled so far (replays included) has
        finished and been marked done."""
        while self._tasks:
            # asyncio.wait always yields to the loop: a dispatch that has just finished
            # leaves the set only when its done-callback runs, and awaiting a finished task
            # would not let it run (drain would spin forever).
            await asyncio.wait(set(self._tasks))


def _receiver_of(cloud: Any) -> WebhookReceiver:
    if isinstance(cloud, WebhookReceiver):
        return cloud
    receiver = getattr(cloud, "webhooks", None)
    if isinstance(receiver, WebhookReceiver):
        return receiver
    raise ConfigurationError(
        f"webhook_app needs a WebhookReceiver or an object with a .webhooks receiver, "
        f"got {type(cloud).__name__}"
    )


def webhook_routes(cloud: Any, path: str = "/webhooks/whatsapp") -> list[web.RouteDef]:
    """The GET and POST routes, to add to an existing aiohttp app (``app.add_routes``).
    The body limit is the receiver's ``max_body_size`` (413 above it)."""
    receiver = _receiver_of(cloud)

    async def get(request: web.Request) -> web.Response:
        status, text = receiver.verify_get(request.query)
        return web.Response(status=status, text=text, content_type="text/plain")

    async def post(request: web.Request) -> web.Response:
        length = request.content_length
        if length is not None and length > receiver.max_body_size:
            return web.Response(status=413, text="payload too large")
        body = await _read_limited(request, receiver.max_body_size)
        if body is None:
            return web.Response(status=413, text="payload too large")
        status, _ = await receiver.handle_post(body, request.headers.get(SIGNATURE_HEADER))
        return web.Response(status=status, text=_REASONS.get(status, ""))

    return [web.get(path, get, allow_head=False), web.post(path, post)]


_REASONS = {
    200: "ok",
    400: "bad payload",
    401: "bad signature",
    413: "payload too large",
    503: "try again later",
}


async def _read_limited(request: web.Request, limit: int) -> Optional[bytes]:
    # Read at most limit + 1 bytes, whatever Content-Length says (chunked bodies too).
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def webhook_app(
    cloud: Union[Any, WebhookReceiver], path: str = "/webhooks/whatsapp"
) -> web.Application:
    """An aiohttp app serving the webhook on ``path``: GET handshake (challenge as
    text/plain, else 403) and signed POSTs (200 at once, 401/400/413 otherwise). Its
    startup replays what a previous process left pending (:meth:`WebhookReceiver.start`);
    its cleanup waits for the background dispatches. ``cloud`` is a :class:`WebhookReceiver`
    or anything with a ``.webhooks`` receiver (a ``CloudClient``)."""
    receiver = _receiver_of(cloud)
    app = web.Application(client_max_size=receiver.max_body_size + 1)
    app.add_routes(webhook_routes(receiver, path))

    async def start(_app: web.Application) -> None:
        await receiver.start()

    async def drain(_app: web.Application) -> None:
        await receiver.drain()

    app.on_startup.append(start)
    app.on_cleanup.append(drain)
    return app
