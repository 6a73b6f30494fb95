"""The receive pipeline: incoming messages, ``sent`` confirmations and status frames are
processed in arrival order, in batches, on the store's thread — decrypted and stored (one
commit per database for the batch, see ``ingest_batch``), then acknowledged, then handed
to the handlers. No message can stop it: one that fails is reported and acknowledged.

A mixin of :class:`~whatsapp_client.WhatsAppClient`.
"""

from __future__ import annotations

import asyncio
import collections
from typing import TYPE_CHECKING, Any

from whatsapp_client import errors
from whatsapp_client.client.frames import Ack, IncomingMessage, Sent, Status, encode_frame
from whatsapp_client.client.handlers import as_client_error
from whatsapp_client.client.ingest_batch import process_batch
from whatsapp_client.client.logging import get_logger
from whatsapp_client.client.models import Message, status_rank

if TYPE_CHECKING:
    from whatsapp_client.client.config import ClientConfig
    from whatsapp_client.client.connection import Connection
    from whatsapp_client.client.models import User
    from whatsapp_client.client.outbox import Outbox
    from whatsapp_client.client.sessions import SessionManager
    from whatsapp_client.client.store import StoreExecutor, StoreProtocol
    from whatsapp_client.client.tasks import TaskSet

__all__ = ["IngestMixin"]

log = get_logger("client")
_INGEST_BATCH = 256


class IngestMixin:
    """The receive pipeline of ``WhatsAppClient``."""

    # What the host class provides, declared for the type checker only.
    if TYPE_CHECKING:
        _config: ClientConfig
        _conn: Connection
        _tasks: TaskSet
        _outbox: Outbox | None
        _sessions: SessionManager | None

        def _require_login(self) -> tuple[User, StoreProtocol, StoreExecutor]: ...

        def _emit(self, name: str, *args: Any) -> None: ...

        async def _quiet_maintain(self) -> None: ...

    _ingest_q: asyncio.Queue[IncomingMessage | Sent | Status] | None
    _seen: collections.OrderedDict[tuple[str, str], None]
    _to_forget: list[tuple[str, str]]

    def _init_ingest(self) -> None:
        self._ingest_q = None
        self._seen = collections.OrderedDict()
        self._to_forget = []

    async def _enqueue_ingest(self, frame: IncomingMessage | Sent | Status) -> None:
        if self._ingest_q is not None:
            self._ingest_q.put_nowait(frame)

    async def _ingester(self, queue: asyncio.Queue[IncomingMessage | Sent | Status]) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < _INGEST_BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                await self._ingest(batch)
            except Exception as exc:
                # Per-message failures never get here (see ingest_batch); this is the last
                # line of defence: the pipeline goes on, the batch is not acknowledged and
                # comes again after the next connect.
                log.exception("processing %d frame(s) failed", len(batch))
                self._emit("error", as_client_error(exc, "processing received frames failed"))
            finally:
                for _ in batch:
                    queue.task_done()

    async def _ingest(self, batch: list[IncomingMessage | Sent | Status]) -> None:
        """Decrypts and stores incoming messages, persists sent/status updates, acknowledges,
        then hands new messages to the handlers — all in arrival order."""
        user, store, executor = self._require_login()
        assert self._outbox is not None
        outbox = self._outbox
        forget, self._to_forget = self._to_forget, []
        outcomes = await executor.run(
            process_batch, store, user.id, batch, self._seen, outbox.inflight, forget
        )
        acks: list[str] = []
        done: list[tuple[str, str]] = []
        store_failure: errors.WhatsAppError | None = None
        for out in outcomes:
            frame = out.frame
            if out.kind == "status":
                assert isinstance(frame, Status)
                self._on_status(frame)
                continue
            if out.kind == "error":
                assert out.error is not None
                self._emit("error", out.error)
                continue
            assert isinstance(frame, IncomingMessage)
            if out.kind == "deferred":
                # Not acknowledged: the server delivers it again after the next connect.
                store_failure = store_failure or out.error
                continue
            acks.append(frame.id)
            self._remember((frame.from_, frame.id))
            if out.forget:
                done.append((frame.from_, frame.id))
            if out.kind == "new":
                assert out.message is not None
                self._on_new(out.message, out.decrypted)
            elif out.kind == "rejected":
                self._emit("error", out.error)
        if store_failure is not None:
            log.error("the local store failed; the message(s) will come again: %s", store_failure)
            self._emit("error", store_failure)
        if acks:
            try:
                await self._conn.send_text(encode_frame(Ack(ids=acks)))
                self._to_forget.extend(done)
            except errors.ConnectionError:
                log.info("connection lost before acknowledging %d message(s)", len(acks))

    def _on_new(self, message: Message, dec: Any) -> None:
        if dec.identity_changed:
            log.warning("the identity key of %s changed", message.from_user)
            self._emit("identity_change", message.from_user)
        if dec.used_one_time_prekey is not None:
            assert self._sessions is not None
            self._sessions.forget(message.from_user)
            self._tasks.spawn(self._quiet_maintain(), "whatsapp-refill")
        self._emit("message", message)

    def _on_status(self, frame: Status) -> None:
        assert self._outbox is not None
        for mid in frame.message_ids:
            live = self._outbox.live.get(mid)
            if live is not None and status_rank(frame.status) > status_rank(live.status):
                live.status = frame.status
            self._emit("message_status", mid, frame.status)

    def _remember(self, key: tuple[str, str]) -> None:
        """Keeps (sender, id) of a processed message, to drop redeliveries fast."""
        size = self._config.message_cache_size
        if size <= 0:
            return
        self._seen[key] = None
        self._seen.move_to_end(key)
        while len(self._seen) > size:
            self._seen.popitem(last=False)
