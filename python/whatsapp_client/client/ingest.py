"""The receive pipeline: incoming messages, ``sent`` confirmations and status frames are
processed in arrival order, in batches, on the store's thread — decrypted and stored (one
commit per database for the batch), then acknowledged, then handed to the handlers.

A mixin of :class:`~whatsapp_client.WhatsAppClient`.
"""

from __future__ import annotations

import asyncio
import collections
from typing import TYPE_CHECKING, Any

from whatsapp_client import errors
from whatsapp_client.client import store as store_mod
from whatsapp_client.client.frames import Ack, IncomingMessage, Sent, Status, encode_frame
from whatsapp_client.client.logging import get_logger
from whatsapp_client.client.models import Message, status_rank
from whatsapp_client.client.payloads import parse_payload

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
    _seen: collections.OrderedDict[str, None]
    _to_forget: list[str]

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
            except errors.StorageError as exc:
                log.error("the local store failed while processing frames: %s", exc)
                self._emit("error", exc)
            finally:
                for _ in batch:
                    queue.task_done()

    async def _ingest(self, batch: list[IncomingMessage | Sent | Status]) -> None:
        """Decrypts and stores incoming messages, persists sent/status updates, acknowledges,
        then hands new messages to the handlers — all in arrival order."""
        user, store, executor = self._require_login()
        assert self._outbox is not None
        outbox = self._outbox
        seen = self._seen
        forget, self._to_forget = self._to_forget, []
        StoredMessage = store_mod.message_record

        def work() -> list[tuple[str, Any]]:
            # One commit per database and kind of change for the whole batch: the decrypted
            # sessions and results (keys.db), then the history with the confirmed messages
            # taken out of the outbox (messages.db). The acks go out only after both.
            if forget:
                store.forget_received(forget)
            results: list[tuple[str, Any] | None] = []
            to_save: list[Any] = []
            sent_ids: list[str] = []
            statuses: list[Status] = []
            incoming: list[tuple[int, IncomingMessage]] = []
            batch_ids: set[str] = set()
            for frame in batch:
                if isinstance(frame, Sent):
                    info = outbox.inflight.pop(frame.id, None)
                    if info is not None:
                        to_save.append(
                            StoredMessage(
                                id=frame.id,
                                peer_id=info.peer_id,
                                from_user=user.id,
                                to=info.peer_id,
                                direction="out",
                                type=info.type,
                                timestamp=frame.timestamp,
                                status="sent",
                                content=info.plaintext,
                                group_id=None,
                            )
                        )
                    sent_ids.append(frame.id)
                elif isinstance(frame, Status):
                    statuses.append(frame)
                    results.append(("status", frame))
                elif frame.id in seen or frame.id in batch_ids:
                    results.append(("dup", frame.id))
                else:
                    batch_ids.add(frame.id)
                    incoming.append((len(results), frame))
                    results.append(None)
            # Whether a message is already in the history is learnt from the batch calls
            # themselves (no lookup per message): `save_messages` answers False for an id it
            # has; only a message that fails to decrypt is looked up, so that one the
            # history already has is not reported as an error.
            saved_at: list[tuple[int, int, str]] = []
            if incoming:
                decrypted = store.decrypt_many([(f.from_, f.content, f.id) for _, f in incoming])
                for (slot, frame), dec in zip(incoming, decrypted):
                    kind, value, record = _received(user.id, frame, dec, StoredMessage)
                    if kind == "bad" and store.get_message(frame.id) is not None:
                        kind, value = "dup", frame.id
                    results[slot] = (kind, value)
                    if record is not None:
                        saved_at.append((slot, len(to_save), frame.id))
                        to_save.append(record)
            if to_save or sent_ids:
                # Saved before the status updates, so that a status that arrives in the same
                # batch as the message's `sent` finds its row.
                saved = store.save_messages(to_save, remove_from_outbox=sent_ids)
                for slot, index, mid in saved_at:
                    if not saved[index]:
                        results[slot] = ("dup", mid)
            # Consecutive status frames of the same status: one update (one commit).
            run_ids: list[str] = []
            for k, status in enumerate(statuses):
                run_ids.extend(status.message_ids)
                if k + 1 == len(statuses) or statuses[k + 1].status != status.status:
                    store.update_status(run_ids, status.status)
                    run_ids = []
            if sent_ids:
                store.forget_sent(sent_ids)
            return [r for r in results if r is not None]

        results = await executor.run(work)
        acks: list[str] = []
        new_ids: list[str] = []
        for kind, value in results:
            if kind == "new":
                message, dec = value
                acks.append(message.id)
                new_ids.append(message.id)
                self._remember(message.id)
                if dec.identity_changed:
                    log.warning("the identity key of %s changed", message.from_user)
                    self._emit("identity_change", message.from_user)
                if dec.used_one_time_prekey is not None:
                    assert self._sessions is not None
                    self._sessions.forget(message.from_user)
                    self._tasks.spawn(self._quiet_maintain(), "whatsapp-refill")
                self._emit("message", message)
            elif kind == "dup":
                acks.append(value)
                self._remember(value)
            elif kind == "bad":
                mid, exc = value
                acks.append(mid)
                self._remember(mid)
                self._emit("error", exc)
            elif kind == "status":
                for mid in value.message_ids:
                    live = outbox.live.get(mid)
                    if live is not None and status_rank(value.status) > status_rank(live.status):
                        live.status = value.status
                    self._emit("message_status", mid, value.status)
        if acks:
            try:
                await self._conn.send_text(encode_frame(Ack(ids=acks)))
                self._to_forget.extend(new_ids)
            except errors.ConnectionError:
                log.info("connection lost before acknowledging %d message(s)", len(acks))

    def _remember(self, message_id: str) -> None:
        size = self._config.message_cache_size
        if size <= 0:
            return
        self._seen[message_id] = None
        self._seen.move_to_end(message_id)
        while len(self._seen) > size:
            self._seen.popitem(last=False)


def _received(me: str, frame: IncomingMessage, dec: Any, stored_cls: Any) -> tuple[str, Any, Any]:
    """One result of ``decrypt_many`` -> ("new"|"dup"|"bad", ..., record to save or None)."""
    if isinstance(dec, errors.DuplicateMessageError):
        return ("dup", frame.id, None)
    if isinstance(dec, errors.CryptoError):
        log.warning("cannot decrypt message %s from %s: %s", frame.id, frame.from_, dec.code)
        wrapped = errors.DecryptionError(
            f"message {frame.id} from {frame.from_} could not be decrypted ({dec.code}); "
            "ask the sender to resend, or call request_key_refresh(peer_id)",
            code=dec.code,
        )
        wrapped.__cause__ = dec
        return ("bad", (frame.id, wrapped), None)
    if isinstance(dec, BaseException):
        raise dec
    plaintext: bytes = dec.plaintext
    mtype, content, payload = parse_payload(plaintext)
    record = stored_cls(
        id=frame.id,
        peer_id=frame.from_,
        from_user=frame.from_,
        to=frame.to or me,
        direction="in",
        type=mtype,
        timestamp=frame.timestamp,
        status="received",
        content=plaintext,
        group_id=None,
    )
    message = Message(
        id=frame.id,
        from_user=frame.from_,
        to=frame.to or me,
        content=content,
        type=mtype,
        timestamp=frame.timestamp,
        status="received",
        direction="in",
        payload=payload,
    )
    return ("new", (message, dec), record)
