"""The persistent outbox: every outgoing message is stored before it is sent, goes out in
order, and is resent after a reconnect or a restart until the server confirms it.

Writes are paced (``pacing.Pacer``): a message the server refuses for a transient reason
(its rate limit, a full queue) stays queued, its caller sees ``pending`` rather than an
error, and the outbox sends it again by itself once the server's hint (or a backoff) has
passed — oldest first, so a refusal never reorders the conversation.

A message's ciphertext is produced write-ahead by the store under the message id, so a
resend carries the very same ciphertext: no message key is ever used twice."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import weakref
from collections.abc import Coroutine
from typing import Any, Callable

from whatsapp_client import errors
from whatsapp_client._waits import wait_for
from whatsapp_client.client.connection import Connection
from whatsapp_client.client.frames import OutgoingMessage, encode_frame
from whatsapp_client.client.logging import get_logger
from whatsapp_client.client.models import Message
from whatsapp_client.client.pacing import Pacer
from whatsapp_client.client.sessions import SessionManager
from whatsapp_client.client.store import StoreExecutor, StoreProtocol

__all__ = ["InFlight", "Outbox"]

log = get_logger("outbox")

_FIRST_BACKOFF = 1.0  # seconds before resending after a transient refusal without a hint
_MAX_BACKOFF = 60.0

# Error codes after which the message will still go out: it stays queued and is resent by
# itself (after the server's hint, or a backoff). Any other code (user_not_found,
# invalid_message, too_large, invalid_id, ...) means it never can: it fails, visibly.
TRANSIENT_CODES = frozenset(
    {
        "rate_limited",
        "queue_full",
        "recipient_quota_exceeded",
        "internal_error",
        "server_error",
        "shutting_down",
        "unavailable",
    }
)


@dataclasses.dataclass
class InFlight:
    peer_id: str
    plaintext: bytes
    type: str


class Outbox:
    def __init__(
        self,
        *,
        executor: StoreExecutor,
        store: Callable[[], StoreProtocol],
        conn: Connection,
        sessions: SessionManager,
        on_failed: Callable[[str, str | None, errors.WhatsAppError], None],
        spawn: Callable[[Coroutine[Any, Any, None], str], asyncio.Task[None]],
    ) -> None:
        self._exec = executor
        self._store = store
        self._conn = conn
        self._sessions = sessions
        self._on_failed = on_failed
        self._spawn = spawn
        self._pump: asyncio.Task[None] | None = None
        self.lock = asyncio.Lock()
        self.flush_needed = True
        self.inflight: dict[str, InFlight] = {}
        self._waiters: dict[str, asyncio.Future[int]] = {}
        self.live: weakref.WeakValueDictionary[str, Message] = weakref.WeakValueDictionary()
        self._last_created = 0
        self._pending: list[tuple[Message, bytes, asyncio.Future[None]]] = []
        self._pacer = Pacer()
        self._drain: asyncio.Task[None] | None = None
        self._restart = 0  # bumped by a refusal: the running drain starts over, oldest first
        self._backoff = _FIRST_BACKOFF
        # Ids written on this connection and not answered yet: a drain does not repeat them.
        self._on_wire: set[str] = set()

    def _created_at(self) -> int:
        now = int(time.time() * 1000)
        self._last_created = max(now, self._last_created + 1)
        return self._last_created

    # --- sending ---------------------------------------------------------------------------

    async def submit(self, message: Message, plaintext: bytes, timeout: float) -> Message:
        """Stores the message in the outbox, sends it if connected and waits (at most
        ``timeout``) for the server's ``sent``. Returns it ``pending`` (still queued: it goes
        out by itself) at once when not connected, and after ``timeout`` (a message the
        server refused for now is resent meanwhile); raises only when the server refuses it
        for good.

        Submissions are queued for one pump task, which persists and encrypts everything
        queued so far in one store call (one ``encrypt_many`` per peer), in call order, and
        sends it as one burst. Callers never queue behind each other on a lock: a burst of
        concurrent sends becomes a few large batches, not one store commit per message."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        stored: asyncio.Future[None] = loop.create_future()
        self._waiters[message.id] = fut
        self._pending.append((message, plaintext, stored))
        if self._pump is None:
            self._pump = self._spawn(self._run_pump(), "whatsapp-outbox")
        try:
            # No timeout here: a message is only handed back once it is safely queued.
            await asyncio.shield(stored)
        except BaseException:
            self._waiters.pop(message.id, None)
            raise
        if fut.done() and not fut.cancelled() and fut.exception() is None and fut.result() < 0:
            self._waiters.pop(message.id, None)
            log.info("not connected: message %s waits in the outbox", message.id)
            return message
        if fut.done() and fut.exception() is not None:
            self._waiters.pop(message.id, None)
            raise fut.exception()  # type: ignore[misc]
        try:
            ts = await wait_for(asyncio.shield(fut), timeout)
        except asyncio.TimeoutError:
            log.info("no 'sent' for %s yet; it stays in the outbox", message.id)
            return message
        finally:
            if self._waiters.get(message.id) is fut:
                self._waiters.pop(message.id, None)
            if not fut.done():
                fut.cancel()
        if ts < 0:
            return message
        message.status = "sent"
        message.timestamp = ts
        return message

    async def _run_pump(self) -> None:
        """Persists and sends queued submissions, batch after batch, until none is left."""
        batch: list[tuple[Message, bytes, asyncio.Future[None]]] = []
        try:
            while True:
                async with self.lock:
                    batch, self._pending = self._pending, []
                    if not batch:
                        return
                    try:
                        await self._persist_and_send([(m, pt) for m, pt, _ in batch])
                    except Exception as exc:
                        # Nothing of this batch is known to be stored: each caller gets the error.
                        _fail_stored(batch, exc)
                        batch = []
                        continue
                for _, _, stored in batch:
                    if not stored.done():
                        stored.set_result(None)
                batch = []
        finally:
            self._pump = None
            # Cancelled: the client is closing. The callers of this batch and of the queue
            # get an error instead of waiting for ever.
            self._abandon(batch)

    def _abandon(self, batch: list[tuple[Message, bytes, asyncio.Future[None]]]) -> None:
        pending, self._pending = self._pending, []
        _fail_stored(
            batch + pending,
            errors.StorageError(
                "the client closed before the message was safely queued: if it was stored it "
                "goes out after the next login, otherwise send it again",
                code="store_closed",
            ),
        )

    async def _persist_and_send(self, batch: list[tuple[Message, bytes]]) -> None:
        store = self._store()
        known = self._sessions.known
        entries = [(m, pt, self._created_at()) for m, pt in batch]

        def persist() -> tuple[dict[str, str], set[str]]:
            # One commit for the whole batch's outbox entries, before anything is encrypted.
            store.outbox_add_many([(m.id, m.to, pt, created) for m, pt, created in entries])
            by_peer: dict[str, list[tuple[str, bytes]]] = {}
            for m, pt, _ in entries:
                by_peer.setdefault(m.to, []).append((m.id, pt))
            wires: dict[str, str] = {}
            ready: set[str] = set()
            for peer, items in by_peer.items():
                if peer in known or store.has_session(peer):
                    ready.add(peer)
                    out = store.encrypt_many(peer, [pt for _, pt in items], [i for i, _ in items])
                    wires.update(zip([i for i, _ in items], out))
            return wires, ready

        wires, ready = await self._exec.run(persist)
        known.update(ready)
        for m, pt, _ in entries:
            self.inflight[m.id] = InFlight(m.to, pt, m.type)
            self.live[m.id] = m
        if not self._conn.is_connected():
            self.flush_needed = True
            for m, _, _ in entries:
                self._resolve(m.id, -1)
            return
        if (
            self.flush_needed
            or self._drain is not None
            or len(wires) < len(entries)
            or not self._pacer.take(len(entries))
        ):
            # Older messages wait, a peer needs a session, or the server wants it slower:
            # the drain sends the outbox in order, at the pace the server accepts.
            self._kick()
            return
        ids = [m.id for m, _, _ in entries]
        texts = [
            encode_frame(OutgoingMessage(id=m.id, to=m.to, content=wires[m.id]))
            for m, _, _ in entries
        ]
        self._on_wire.update(ids)
        try:
            await self._conn.send_many(texts)
        except errors.ConnectionError:
            self._on_wire.difference_update(ids)
            self.flush_needed = True

    def _resolve(self, message_id: str, value: int) -> None:
        fut = self._waiters.get(message_id)
        if fut is not None and not fut.done():
            fut.set_result(value)

    async def flush(self) -> None:
        """Sends everything in the outbox, oldest first (after each (re)connect); returns
        once it is all written, or the connection is lost."""
        self._kick()
        task = self._drain
        if task is not None:
            await asyncio.shield(task)

    def _kick(self) -> None:
        """Makes the drain (re)send the outbox, starting it if needed."""
        self.flush_needed = True
        if self._drain is None and self._conn.is_connected():
            self._drain = self._spawn(self._run_drain(), "whatsapp-outbox-drain")

    async def _run_drain(self) -> None:
        try:
            while self.flush_needed and self._conn.is_connected():
                self.flush_needed = False
                await self._drain_once()
        finally:
            self._drain = None

    async def _drain_once(self) -> None:
        store = self._store()
        items = await self._exec.run(store.outbox)
        restart = self._restart
        todo = [i for i in items if str(i.message_id) not in self._on_wire]
        if todo:
            log.info("sending %d queued message(s)", len(todo))
        for item in todo:
            peer = str(item.peer_id)
            mid = str(item.message_id)
            payload = bytes(item.payload)
            if mid not in self.inflight:
                self.inflight[mid] = InFlight(peer, payload, _payload_type(payload))
            await self._pacer.acquire()
            if self._restart != restart or not self._conn.is_connected():
                self.flush_needed = True  # a refusal came in, or the socket went: start over
                return
            try:
                await self._sessions.ensure(peer)
            except (errors.SessionNotFoundError, errors.NotFoundError, errors.CryptoError) as exc:
                await self._fail(mid, exc)
                continue
            except errors.WhatsAppError as exc:
                # The bundle cannot be fetched now (no network, the server's own limit on
                # bundle fetches): wait for its hint, or back off, then start over.
                hint = exc.retry_after if isinstance(exc, errors.RateLimitError) else None
                log.info("cannot prepare %s now (%s); retrying later", mid, exc)
                self._hold_back(hint)
                return
            wire = await self._exec.run(store.encrypt, peer, payload, mid)
            self._on_wire.add(mid)
            try:
                await self._conn.send_text(
                    encode_frame(OutgoingMessage(id=mid, to=peer, content=wire))
                )
            except errors.ConnectionError:
                self._on_wire.discard(mid)
                self.flush_needed = True
                return

    def _hold_back(self, retry_after: float | None = None, *, rate_limited: bool = False) -> None:
        """A transient refusal: wait (the server's hint or a growing backoff), then the
        drain sends again from the oldest message."""
        if rate_limited:
            self._pacer.refused(retry_after)
        else:
            self._pacer.pause(retry_after if retry_after and retry_after > 0 else self._backoff)
            self._backoff = min(self._backoff * 2, _MAX_BACKOFF)
        self._restart += 1
        self._kick()

    async def _fail(self, message_id: str, exc: errors.WhatsAppError) -> None:
        log.warning("message %s cannot be delivered and leaves the outbox: %s", message_id, exc)
        store = self._store()
        await self._exec.run(store.outbox_remove, message_id)
        await self._exec.run(store.forget_sent, [message_id])
        info = self.inflight.pop(message_id, None)
        self._on_wire.discard(message_id)
        live = self.live.get(message_id)
        if live is not None:
            live.status = "failed"
        fut = self._waiters.pop(message_id, None)
        if fut is not None and not fut.done():
            fut.set_exception(exc)
        self._on_failed(message_id, info.peer_id if info else None, exc)

    # --- server answers --------------------------------------------------------------------

    def on_sent(self, message_id: str, timestamp: int) -> None:
        self._on_wire.discard(message_id)
        self._backoff = _FIRST_BACKOFF
        fut = self._waiters.pop(message_id, None)
        if fut is not None and not fut.done():
            fut.set_result(timestamp)
        live = self.live.get(message_id)
        if live is not None:
            if live.status == "pending":
                live.status = "sent"
            live.timestamp = timestamp

    async def on_error(
        self, message_id: str, code: str, text: str, retry_after: float | None = None
    ) -> None:
        if message_id not in self.inflight and message_id not in self._waiters:
            return
        from whatsapp_client.client.http import error_from_response

        exc = error_from_response(400, {"error": {"code": code, "message": text}}, None)
        if code not in TRANSIENT_CODES:
            await self._fail(message_id, exc)
            return
        # It will still go out: its caller keeps waiting for "sent" (then sees "pending").
        log.info("server refused %s for now (%s); the outbox sends it again", message_id, code)
        self._on_wire.discard(message_id)
        self._hold_back(retry_after, rate_limited=code == "rate_limited")

    def fail_waiters(self) -> None:
        """Connection lost: the waiting senders return; their messages stay queued."""
        self.flush_needed = True
        self._on_wire.clear()
        for mid in list(self._waiters):
            self._resolve(mid, -1)

    def cancel_all(self) -> None:
        """The client is closing: waiting senders return; their messages stay queued.
        Submissions the pump has not taken yet are refused (the pump may be cancelled before
        it ever runs)."""
        self._abandon([])
        for mid in list(self._waiters):
            self._resolve(mid, -1)
        self._waiters.clear()


def _fail_stored(
    items: list[tuple[Message, bytes, asyncio.Future[None]]], exc: BaseException
) -> None:
    for _, _, stored in items:
        if not stored.done():
            stored.set_exception(exc)
            stored.exception()  # retrieved: a caller that has gone away leaves no warning


def _payload_type(payload: bytes) -> str:
    import json

    try:
        obj: Any = json.loads(payload)
    except ValueError:
        return "text"
    if isinstance(obj, dict) and isinstance(obj.get("type"), str):
        return str(obj["type"])
    return "text"
