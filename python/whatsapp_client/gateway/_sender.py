"""The per-session send worker: the session's durable queue, sent in order, one message at a
time, at the pace of the session's token bucket.

Crash safety: an item leaves the queue only in ``finish_send``, in the same transaction as
the message's new status and its event. The one window left is a crash after the engine
handed the message to the network and before ``finish_send`` committed: the item is then
sent again after the restart. The worker passes the gateway's message id to the engine as
the network's message id; ``wac1`` first asks its own store whether it already holds that
id (sent, or still in its outbox) and only waits for the server's answer then, and the
server answers a resend of a known id as the same message — so the resend reaches nobody
twice. What remains is at-least-once for engines that cannot reuse an id.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Callable, Optional

import msgspec

from whatsapp_client._waits import wait_for
from whatsapp_client.client.logging import get_logger
from whatsapp_client.client.mime import media_kind
from whatsapp_client.gateway._engine import Engine, SendRefused, SendResult
from whatsapp_client.gateway._errors import GatewayError, SessionNotConnected
from whatsapp_client.gateway._event_hub import NULL_FEED, LiveFeed
from whatsapp_client.gateway._ids import new_id, now_ms
from whatsapp_client.gateway._log_buffer import mask_recipient
from whatsapp_client.gateway._media_store import MediaStore
from whatsapp_client.gateway._metrics import GatewayMetrics
from whatsapp_client.gateway._models import Event, MessageType, OutboundRequest, QueueItem
from whatsapp_client.gateway._pacing import TokenBucket
from whatsapp_client.gateway._send_prep import engine_peer
from whatsapp_client.gateway._storage import Storage

__all__ = ["SendWorker"]

log = get_logger("gateway.sender")

_FIRST_RETRY = 1.0
_MAX_RETRY = 60.0
_KINDS: dict[str, MessageType] = {"image": "image", "video": "video", "audio": "audio"}


def _kind(mime: str) -> MessageType:
    return _KINDS.get(media_kind(mime), "document")


class SendWorker:
    def __init__(
        self,
        session_id: str,
        storage: Storage,
        engine: Engine,
        media: MediaStore,
        bucket: TokenBucket,
        metrics: GatewayMetrics,
        *,
        wake: Callable[[], None],
        scratch: Path,
        sleep: Optional[Callable[[float], Awaitable[None]]] = None,
        live: LiveFeed = NULL_FEED,
    ) -> None:
        self._sid = session_id
        self._live = live  # the dashboard's event hub
        # Attempts at the message first in the queue (for the log of a failed attempt).
        self._attempts: tuple[str, int] = ("", 0)
        self._storage = storage
        self._engine = engine
        self._media = media
        self.bucket = bucket
        self._metrics = metrics
        self._wake = wake
        self._scratch = scratch
        self._sleep = sleep or self._nap  # pacing waits (a test clock in tests)
        self._kick = asyncio.Event()
        self._task: Optional[asyncio.Task[None]] = None
        self._retry = _FIRST_RETRY
        # The network's id of the message being recorded as sent, and its end: a receipt
        # for it that arrives first (cloud webhooks can) waits instead of being lost.
        self._recording: Optional[str] = None
        self._recorded = asyncio.Event()
        self._recorded.set()

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._kick.set()
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"gateway-sender-{self._sid}"
            )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait_recorded(self, engine_message_id: str) -> None:
        """Returns once the send with this network id (if being recorded) is recorded."""
        if self._recording == engine_message_id:
            await self._recorded.wait()

    def kick(self) -> None:
        """Something changed: a new item, or the engine connected."""
        self._kick.set()

    async def _wait(self) -> None:
        await self._kick.wait()

    async def _nap(self, seconds: float) -> None:
        """Waits for the next token, or less if kicked (a new rate may shorten it)."""
        with contextlib.suppress(asyncio.TimeoutError):
            await wait_for(self._kick.wait(), seconds)

    async def _run(self) -> None:
        while True:
            self._kick.clear()
            try:
                item = await self._storage.next_queued(self._sid)
            except Exception:
                log.exception("session %s: cannot read the send queue", self._sid)
                await self._pause()
                continue
            if item is None:
                await self._wait()
                continue
            if not self._engine.connected:
                await self._wait()  # the session kicks when it connects
                continue
            delay = self.bucket.delay()
            if delay > 0:
                await self._sleep(delay)
                continue
            self.bucket.take()
            await self._send(item)

    async def _pause(self) -> None:
        await asyncio.sleep(self._retry)
        self._retry = min(self._retry * 2, _MAX_RETRY)

    async def _send(self, item: QueueItem) -> None:
        started = time.monotonic()
        try:
            result = await self._deliver(item)
        except SendRefused as exc:
            self._log_failure(item, exc, retry_in=None)
            await self._finish(item, "failed", None, str(exc))
            self._metrics.messages_failed.labels(self._sid).inc()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Not now (no connection, the server busy): the item stays first in the queue.
            self._log_failure(item, exc, retry_in=self._retry)
            await self._pause()
            return
        self._retry = _FIRST_RETRY
        self._recording = result.engine_message_id
        self._recorded.clear()
        try:
            await self._finish(item, "sent", result.engine_message_id, None)
        finally:
            self._recording = None
            self._recorded.set()
        self._metrics.messages_sent.labels(self._sid).inc()
        log.debug(
            "session %s: sent %s in %.3fs", self._sid, item.message_id, time.monotonic() - started
        )

    def _log_failure(self, item: QueueItem, exc: Exception, *, retry_in: Optional[float]) -> None:
        """A failed attempt, with what the dashboard's Logs tab shows: the engine's reason,
        the (masked) recipient, the attempt and what happens next."""
        mid = item.message_id
        attempt = self._attempts[1] + 1 if self._attempts[0] == mid else 1
        self._attempts = (mid, attempt)
        req = item.request
        extra = {
            "session_id": self._sid,
            "message_id": mid,
            "recipient": mask_recipient(req.group_id or req.to),
            "error": str(exc) or type(exc).__name__,
            "attempt": attempt,
            "retry": "none: the message is failed" if retry_in is None else f"in {retry_in:g} s",
        }
        if retry_in is None:
            log.error("session %s: message %s failed: %s", self._sid, mid, exc, extra=extra)
        else:
            extra["next_retry_at"] = now_ms() + int(retry_in * 1000)
            log.warning(
                "session %s: message %s not sent yet (attempt %d; retry in %g s): %s",
                self._sid,
                mid,
                attempt,
                retry_in,
                exc,
                extra=extra,
            )

    async def _deliver(self, item: QueueItem) -> SendResult:
        req = item.request
        if req.unchecked:
            req = await self._checked(req)
        if req.media is None:
            if req.text is None:
                raise SendRefused("the queued message has neither text nor media")
            return await self._engine.send_text(
                req.to, req.group_id, req.text, message_id=item.message_id
            )
        found = await self._storage.get_media(self._sid, req.media.media_id)
        if found is None:
            raise SendRefused("the message's media is gone")
        info, sealed = found
        await asyncio.to_thread(self._scratch.mkdir, parents=True, exist_ok=True, mode=0o700)
        plain = self._scratch / f"send-{req.media.media_id}"
        try:
            await self._media.decrypt_to(self._sid, info, sealed, plain)
            return await self._engine.send_media(
                req.to,
                req.group_id,
                plain,
                kind=req.kind or _kind(info.mime),
                mime=info.mime,
                filename=info.filename,
                caption=req.caption,
                message_id=item.message_id,
            )
        finally:
            with contextlib.suppress(FileNotFoundError):
                await asyncio.to_thread(plain.unlink)

    async def _checked(self, req: OutboundRequest) -> OutboundRequest:
        """The recipient of a send queued through another gateway process, checked as the
        API checks it here: refused for good (``SendRefused``, the message fails with the
        error's code) or resolved (a username to its user id)."""
        media = req.media is not None
        try:
            peer = await engine_peer(self._engine, to=req.to, group_id=req.group_id, media=media)
        except SessionNotConnected as exc:
            raise ConnectionError(exc.message) from exc  # not now: the item stays queued
        except GatewayError as exc:
            raise SendRefused(f"{exc.code}: {exc.message}") from exc
        if req.group_id is not None:
            return req
        return msgspec.structs.replace(req, to=peer, unchecked=False)

    async def _finish(
        self, item: QueueItem, status: str, engine_id: Optional[str], reason: Optional[str]
    ) -> None:
        data: dict[str, object] = {"id": item.message_id, "status": status}
        if reason is not None:
            data["reason"] = reason
        event = Event(
            id=new_id("evt"),
            type="message.status",
            session_id=self._sid,
            timestamp=now_ms(),
            data=data,
        )
        while True:
            try:
                await self._storage.finish_send(
                    item,
                    "sent" if status == "sent" else "failed",
                    engine_message_id=engine_id,
                    reason=reason,
                    event=event,
                )
                break
            except asyncio.CancelledError:
                raise
            except Exception:
                # Sent but not recorded: keep trying (a resend would be recognised anyway).
                log.exception(
                    "session %s: cannot record the send of %s", self._sid, item.message_id
                )
                await self._pause()
        self._wake()
        # Live data: the message's outcome and the session's counters.
        self._live.message(self._sid, item.message_id, "outbound", status, now_ms())
        self._live.counters_changed(self._sid)
        with contextlib.suppress(Exception):
            await self._storage.touch_session(self._sid, now_ms())
            self._metrics.queue_depth.labels(self._sid).set(
                await self._storage.queue_depth(self._sid)
            )
