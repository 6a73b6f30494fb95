"""One batch of the receive pipeline, run on the store's thread.

The normal path is one ``decrypt_many`` for every incoming message of the batch, then one
``save_messages`` for the history (with the confirmed messages leaving the outbox), then
one ``update_status`` per run of status frames. A message can never sink its batch: when a
batch call fails as a whole, its items are retried one at a time, and whatever fails for
one message (an error in the results, an exception, a payload the parser refuses) becomes
that message's outcome:

* ``rejected``: reported through ``on_error`` as a :class:`MessageRejectedError` (its id and
  sender, never its plaintext) and acknowledged — it could never be processed, so keeping
  it on the server would only redeliver it on every connect.
* ``deferred``: the local store itself failed (a raised ``StorageError``: disk full, I/O
  error). The message is not acknowledged; the server keeps it and redelivers it after the
  next connect, so nothing is lost.

Received messages are told apart by (sender, id): the same id from another sender is
another message.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Container, Sequence
from typing import Any, TypeVar, Union

from whatsapp_client import errors
from whatsapp_client.client import store as store_mod
from whatsapp_client.client.frames import IncomingMessage, Sent, Status
from whatsapp_client.client.logging import get_logger, show_id
from whatsapp_client.client.models import Message
from whatsapp_client.client.outbox import InFlight
from whatsapp_client.client.payloads import parse_payload
from whatsapp_client.client.store import StoreProtocol

__all__ = ["MessageRejectedError", "Outcome", "process_batch"]

log = get_logger("client")
T = TypeVar("T")

Frame = Union[IncomingMessage, Sent, Status]  # a runtime alias: no `|` before 3.10
Key = tuple[str, str]  # (sender id, message id)

# Never swallowed: they stop the thread or the program, not one message.
_FATAL = (KeyboardInterrupt, SystemExit, GeneratorExit, asyncio.CancelledError)


class MessageRejectedError(errors.DecryptionError):
    """A received message was dropped: it could not be decrypted or stored, and never
    will be. It has been acknowledged, so the server does not deliver it again.

    ``message_id`` and ``sender`` name it; ``code`` says why (``decryption_failed``,
    ``invalid_message``, ``id_conflict``, ``invalid_payload``...); the cause is chained."""

    def __init__(self, message: str, *, code: str, message_id: str, sender: str) -> None:
        super().__init__(message, code=code)
        self.message_id = message_id
        self.sender = sender


@dataclasses.dataclass
class Outcome:
    """What became of one frame: ``new``, ``dup``, ``rejected``, ``deferred``, ``status``,
    or ``error`` (a failure that concerns no message to acknowledge)."""

    kind: str
    frame: Frame | None = None
    message: Message | None = None
    decrypted: Any = None
    error: errors.WhatsAppError | None = None
    forget: bool = False  # its decrypt result is stored: forget it once acknowledged


def _attempt(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | BaseException:
    """``fn(*args, **kwargs)``, or the exception it raised (only fatal ones propagate)."""
    try:
        return fn(*args, **kwargs)
    except _FATAL:
        raise
    except BaseException as exc:  # a Rust panic is a BaseException too
        return exc


def process_batch(
    store: StoreProtocol,
    me: str,
    batch: Sequence[Frame],
    seen: Container[Key],
    inflight: dict[str, InFlight],
    forget: list[Key],
) -> list[Outcome]:
    """Decrypts, stores and classifies one batch (blocking: run on the store's thread).

    The outcomes are in arrival order; ``sent`` frames produce none (their rows are saved
    and they leave the outbox) unless saving them fails."""
    _Batch.clear_results(store, forget)
    return _Batch(store, me, seen, inflight).run(batch)


class _Batch:
    def __init__(
        self, store: StoreProtocol, me: str, seen: Container[Key], inflight: dict[str, InFlight]
    ) -> None:
        self.store = store
        self.me = me
        self.seen = seen
        self.inflight = inflight
        self.out: list[Outcome] = []
        self.incoming: list[tuple[Outcome, IncomingMessage]] = []
        self.records: list[tuple[Any, Outcome | None, str | None]] = []  # (row, msg, sent id)
        self.sent_ids: list[str] = []
        self.statuses: list[Status] = []

    @staticmethod
    def clear_results(store: StoreProtocol, forget: list[Key]) -> None:
        # The decrypt results kept for acknowledged messages are no longer needed. Stores
        # keyed by (peer, id) take pairs (only that sender's result goes); older ones ids.
        if not forget:
            return
        drop: Any = store.forget_received
        result = _attempt(drop, [(sender, mid) for sender, mid in forget])
        if isinstance(result, TypeError):
            result = _attempt(drop, [mid for _, mid in forget])
        if isinstance(result, BaseException):
            log.warning("could not forget %d decrypt result(s): %r", len(forget), result)

    def run(self, batch: Sequence[Frame]) -> list[Outcome]:
        keys: set[Key] = set()
        for frame in batch:
            if isinstance(frame, Sent):
                self._sent(frame)
            elif isinstance(frame, Status):
                self.statuses.append(frame)
                self.out.append(Outcome("status", frame))
            else:
                key = (frame.from_, frame.id)
                outcome = Outcome("dup" if key in self.seen or key in keys else "", frame)
                keys.add(key)
                self.out.append(outcome)
                if not outcome.kind:
                    self.incoming.append((outcome, frame))
        if self.incoming:
            self._decrypt()
        if self.records or self.sent_ids:
            # Saved before the status updates, so that a status that arrives in the same
            # batch as the message's `sent` finds its row.
            self._save()
        self._update_statuses()
        if self.sent_ids:
            result = _attempt(lambda: self.store.forget_sent(self.sent_ids))
            if isinstance(result, BaseException):
                log.warning("could not forget %d sent id(s): %r", len(self.sent_ids), result)
        return self.out

    def _sent(self, frame: Sent) -> None:
        info = self.inflight.pop(frame.id, None)
        row = None
        if info is not None:
            row = _attempt(
                lambda: store_mod.message_record(
                    id=frame.id,
                    peer_id=info.peer_id,
                    from_user=self.me,
                    to=info.peer_id,
                    direction="out",
                    type=info.type,
                    timestamp=frame.timestamp,
                    status="sent",
                    content=info.plaintext,
                    group_id=None,
                )
            )
            if isinstance(row, BaseException):
                self._report(f"cannot record sent message {show_id(frame.id)}", row)
                row = None
        self.records.append((row, None, frame.id))
        self.sent_ids.append(frame.id)

    # --- decrypting --------------------------------------------------------------------

    def _decrypt(self) -> None:
        items = [(f.from_, f.content, f.id) for _, f in self.incoming]
        results = _attempt(lambda: self.store.decrypt_many(items))
        if not isinstance(results, BaseException) and len(results) == len(items):
            for (outcome, frame), dec in zip(self.incoming, results):
                self._classify(outcome, frame, dec, raised=False)
            return
        # One poison must not sink the others: each message on its own.
        log.warning("decrypting a batch of %d failed (%r); one at a time", len(items), results)
        for (outcome, frame), item in zip(self.incoming, items):
            one = _attempt(self.store.decrypt_many, [item])
            if isinstance(one, BaseException) or len(one) != 1:
                self._classify(outcome, frame, _wrong_answer(one), raised=True)
            else:
                self._classify(outcome, frame, one[0], raised=False)

    def _classify(self, outcome: Outcome, frame: IncomingMessage, dec: Any, raised: bool) -> None:
        """``dec`` is a result of ``decrypt_many`` (an exception instance in the results is
        about that message), or the exception the call raised for this message alone."""
        if raised and isinstance(dec, errors.StorageError):
            outcome.kind, outcome.error = "deferred", dec  # the store failed, not the message
        elif isinstance(dec, errors.DuplicateMessageError):
            outcome.kind = "dup"
        elif isinstance(dec, BaseException):
            if isinstance(dec, errors.CryptoError) and self._stored_from(frame) is True:
                outcome.kind = "dup"  # a redelivery of a message the history has
            else:
                self._reject(outcome, frame, dec)
        else:
            outcome.forget = True
            built = _attempt(lambda: _received(self.me, frame, dec))
            if isinstance(built, BaseException):
                self._reject(outcome, frame, built, code="invalid_payload")
                return
            outcome.kind, outcome.decrypted = "new", dec
            outcome.message, record = built
            self.records.append((record, outcome, None))

    def _stored_from(self, frame: IncomingMessage) -> bool | None:
        """Whether the history holds ``frame.id`` from the frame's sender (True), only from
        someone else (False), or not at all (None)."""
        # Stores keyed by (peer, sender, id) look the sender's message up directly; older
        # stores keep one message per id (their get_message takes no filter).
        lookup: Any = self.store.get_message
        own = _attempt(lookup, frame.id, peer_id=frame.from_, from_user=frame.from_)
        if isinstance(own, TypeError):
            row = _attempt(lookup, frame.id)
            if row is None or isinstance(row, BaseException):
                return None
            return str(row.from_user) == frame.from_ and str(row.direction) == "in"
        if isinstance(own, BaseException):
            return None
        if own is not None:
            return True
        other = _attempt(lookup, frame.id)
        return False if other is not None and not isinstance(other, BaseException) else None

    def _reject(
        self,
        outcome: Outcome,
        frame: IncomingMessage,
        cause: BaseException,
        code: str | None = None,
    ) -> None:
        code = code or getattr(cause, "code", None) or "internal_error"
        what = show_id(frame.id) + " from " + show_id(frame.from_)
        log.warning("message %s rejected: %s (%s)", what, code, type(cause).__name__)
        if isinstance(cause, errors.CryptoError):
            text = (
                f"message {what} could not be decrypted ({code}); ask the sender to resend, "
                "or call request_key_refresh(peer_id)"
            )
        else:
            text = f"message {what} could not be processed ({code}) and was dropped"
        exc = MessageRejectedError(text, code=code, message_id=frame.id, sender=frame.from_)
        exc.__cause__ = cause
        outcome.kind, outcome.error = "rejected", exc

    # --- storing -----------------------------------------------------------------------

    def _save(self) -> None:
        rows = [r for r, _, _ in self.records if r is not None]
        saved = _attempt(lambda: self.store.save_messages(rows, remove_from_outbox=self.sent_ids))
        if not isinstance(saved, BaseException) and len(saved) == len(rows):
            flags = iter(saved)
            for row, outcome, sent_id in self.records:
                if row is not None:
                    self._saved(outcome, next(flags), sent_id)
            return
        log.warning("saving a batch failed (%r); one message at a time", saved)
        for row, outcome, sent_id in self.records:
            one = _attempt(
                self.store.save_messages,
                [row] if row is not None else [],
                remove_from_outbox=[sent_id] if sent_id is not None else [],
            )
            if isinstance(one, BaseException):
                if outcome is None:
                    self._report(f"cannot record sent message {show_id(sent_id or '')}", one)
                elif isinstance(one, errors.StorageError):
                    outcome.kind, outcome.error = "deferred", one
                else:
                    assert isinstance(outcome.frame, IncomingMessage)
                    self._reject(outcome, outcome.frame, one)
            elif row is not None and len(one) == 1:
                self._saved(outcome, one[0], sent_id)

    def _saved(self, outcome: Outcome | None, flag: Any, sent_id: str | None) -> None:
        """One result of ``save_messages``: True (saved), False (already there) or the
        error of that one message (it was skipped; an error instance is truthy)."""
        if isinstance(flag, BaseException):
            if outcome is None:
                self._report(f"cannot record sent message {show_id(sent_id or '')}", flag)
            else:
                assert isinstance(outcome.frame, IncomingMessage)
                self._reject(outcome, outcome.frame, flag)
            return
        if outcome is None or flag is True:
            return
        frame = outcome.frame
        assert isinstance(frame, IncomingMessage)
        # Not new: the history has that id. From the same sender it is a redelivery; from
        # another sender (a store with one message per id) the id is taken, and this
        # message cannot be stored.
        if self._stored_from(frame) is False:
            conflict = errors.ValidationError(
                "the id is already used by a message of another sender", code="id_conflict"
            )
            self._reject(outcome, frame, conflict)
        else:
            outcome.kind, outcome.message = "dup", None

    def _update_statuses(self) -> None:
        # Consecutive status frames of the same status: one update (one commit).
        run: list[Status] = []
        for k, status in enumerate(self.statuses):
            run.append(status)
            if k + 1 == len(self.statuses) or self.statuses[k + 1].status != status.status:
                self._update_run(run)
                run = []

    def _update_run(self, run: list[Status]) -> None:
        ids = [mid for s in run for mid in s.message_ids]
        status = run[0].status
        if not isinstance(_attempt(self.store.update_status, ids, status), BaseException):
            return
        for mid in ids:  # one bad id must not keep the others from their status
            result = _attempt(self.store.update_status, [mid], status)
            if isinstance(result, BaseException):
                self._report(f"cannot record status {status} of {show_id(mid)}", result)

    def _report(self, what: str, cause: BaseException) -> None:
        log.warning("%s: %r", what, cause)
        if isinstance(cause, errors.WhatsAppError):
            exc: errors.WhatsAppError = cause
        else:
            exc = errors.StorageError(f"{what} ({type(cause).__name__})", code="internal_error")
            exc.__cause__ = cause
        self.out.append(Outcome("error", error=exc))


def _wrong_answer(result: Any) -> BaseException:
    if isinstance(result, BaseException):
        return result
    return errors.WhatsAppError(
        f"the store answered {len(result)} results for one message", code="internal_error"
    )


def _received(me: str, frame: IncomingMessage, dec: Any) -> tuple[Message, Any]:
    """The message and its history row, from a successful decryption."""
    plaintext: bytes = dec.plaintext
    mtype, content, payload = parse_payload(plaintext)
    record = store_mod.message_record(
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
    return message, record
