"""The SDK client as the ``wac1`` engine runs it: a :class:`WhatsAppClient` whose local store
is opened with a random store password of the gateway's (not the account password), that
reports every connection state change and fatal error to the engine, and that resolves a
future when the server confirms a message (``sent``) so a send can wait for it.

Nothing received is lost between the SDK and the gateway: the SDK stores a message, then
acknowledges it to the server, then hands it to the handlers. Here the acknowledgements of
a batch are held until the handlers (the gateway's recording) have finished; and a message
the server delivers again (never acknowledged: the gateway stopped before recording it) is
one the SDK already stored and would drop as a duplicate, so it is handed to the engine
again from the SDK's history, in its place among the batch's messages (the gateway's
storage drops it if it has it)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Callable, Optional, Union

from whatsapp_client import errors
from whatsapp_client._waits import wait_for
from whatsapp_client.client import ConnectionState, Message, WhatsAppClient
from whatsapp_client.client.frames import IncomingMessage, Sent, Status
from whatsapp_client.client.logging import get_logger
from whatsapp_client.client.payloads import to_message
from whatsapp_client.gateway._engine import SendRefused, SendResult

__all__ = ["PERMANENT", "GatewayClient", "StateHook"]

log = get_logger("gateway.wac1")

StateHook = Callable[[ConnectionState, ConnectionState], None]
_ACK = '{"type":"ack"'
_RECHECK = 2.0  # seconds between looks at the store while waiting for a 'sent'
# Failures no retry fixes: the message fails with the reason instead of waiting.
PERMANENT = (errors.ValidationError, errors.NotFoundError, errors.ForbiddenError)


def _key(frame: IncomingMessage) -> tuple[str, str]:
    return (frame.from_, frame.id)


class GatewayClient(WhatsAppClient):
    def __init__(
        self,
        *,
        store_password: str,
        on_state: StateHook,
        on_fatal: Callable[[errors.WhatsAppError], None],
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self._store_password = store_password
        self._state_hook = on_state
        self.sent_waiters: dict[str, asyncio.Future[int]] = {}
        self._announced: dict[tuple[str, str], Message] = {}
        self._holding = False
        self._held: list[str] = []
        self._acks_off = False
        sdk_fatal = self._conn._on_fatal

        def fatal(exc: errors.WhatsAppError) -> None:
            sdk_fatal(exc)
            on_fatal(exc)

        self._conn._on_fatal = fatal
        self._send_now = self._conn.send_text
        self._conn.send_text = self._send_or_hold  # type: ignore[method-assign]

    # --- acknowledgements after recording ------------------------------------------------

    def stop_acknowledging(self) -> None:
        """From now on no acknowledgement leaves: the gateway has stopped recording, so a
        message arriving before the socket closes must be delivered again after a restart."""
        self._acks_off = True

    async def _send_or_hold(self, text: str) -> None:
        if text.startswith(_ACK):
            if self._acks_off:
                return
            if self._holding:
                self._held.append(text)
                return
        await self._send_now(text)

    def _emit(self, name: str, *args: Any) -> None:
        if self._holding and name == "message" and args and isinstance(args[0], Message):
            # Kept back until the batch is done, to be handed over in arrival order together
            # with the stored copies of redelivered messages (see _ingest).
            self._announced[(args[0].from_user, args[0].id)] = args[0]
            return
        super()._emit(name, *args)

    async def _ingest(self, batch: list[Union[IncomingMessage, Sent, Status]]) -> None:
        incoming = [f for f in batch if isinstance(f, IncomingMessage)]
        self._announced = {}
        self._holding = True
        try:
            await super()._ingest(batch)
        finally:
            self._holding = False
        announced, self._announced = self._announced, {}
        held, self._held = self._held, []
        if incoming:
            # A message stored before a crash but never recorded by the gateway comes back
            # from the server in its place, before newer ones: hand it over there, so the
            # gateway records (and posts) messages in the order they arrived.
            copies = await self._stored_copies([f for f in incoming if _key(f) not in announced])
            for frame in incoming:
                message = announced.get(_key(frame)) or copies.get(_key(frame))
                if message is not None:
                    super()._emit("message", message)
            if self._dispatch_q is not None:
                await self._dispatch_q.join()  # the gateway has recorded what was announced
        for text in held:
            if self._acks_off:
                break
            try:
                await self._send_now(text)
            except errors.ConnectionError:
                log.info("connection lost before an acknowledgement; the server resends")

    async def _stored_copies(self, frames: list[IncomingMessage]) -> dict[tuple[str, str], Message]:
        """The stored copy of each of ``frames`` the SDK did not announce because it already
        had it (a redelivery)."""
        if not frames:
            return {}
        _, store, executor = self._require_login()

        def rows() -> list[Any]:
            found = [store.get_message(f.id, peer_id=f.from_, from_user=f.from_) for f in frames]
            return [r for r in found if r is not None and str(r.direction) == "in"]

        copies = [to_message(row) for row in await executor.run(rows)]
        return {(m.from_user, m.id): m for m in copies}

    async def _start(self, data: Any, password: str) -> None:
        # The account password logs in; the store is unlocked with the gateway's own
        # random password, so the account password alone never opens the session's keys.
        await super()._start(data, self._store_password)

    def _on_state(self, old: ConnectionState, new: ConnectionState) -> None:
        super()._on_state(old, new)
        self._state_hook(old, new)

    async def _on_sent(self, frame: Sent) -> None:
        await super()._on_sent(frame)
        fut = self.sent_waiters.get(frame.id)
        if fut is not None and not fut.done():
            fut.set_result(frame.timestamp)

    def fail_waiter(self, message_id: str, exc: BaseException) -> None:
        fut = self.sent_waiters.get(message_id)
        if fut is not None and not fut.done():
            fut.set_exception(exc)
            fut.exception()

    async def state_of(self, message_id: str) -> tuple[str, int]:
        """Where the SDK has message ``message_id``: ``("sent", timestamp)`` once the server
        confirmed it, ``("queued", 0)`` while it waits in the outbox or for its upload,
        ``("unknown", 0)`` when the SDK never took it."""
        _, store, executor = self._require_login()

        def look() -> tuple[str, int]:
            # The outbox first: the SDK moves a confirmed message from the outbox to the
            # history in one commit, so looking the other way round could miss it between.
            if any(str(item.message_id) == message_id for item in store.outbox()):
                return ("queued", 0)
            row = store.get_message(message_id)
            if row is not None:
                status = str(getattr(row, "status", "sent"))
                return ("queued", 0) if status == "pending" else ("sent", int(row.timestamp))
            return ("unknown", 0)

        found = await executor.run(look)
        if found[0] == "unknown":
            pending = await self._media_sender._records()
            if message_id in pending:
                return ("queued", 0)
        return found

    async def send_once(
        self, message_id: Optional[str], submit: Callable[[Optional[str]], Awaitable[Message]]
    ) -> SendResult:
        """Sends (``submit``) unless the SDK already has the message (a resend after a
        crash), then waits for the server's ``sent``. ``SendRefused`` for a final refusal;
        any other error means "try again later" and leaves nothing the SDK would not
        resend by itself."""
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        key = message_id or ""
        if message_id is not None:
            self.sent_waiters[message_id] = fut
        try:
            state, ts = ("unknown", 0)
            if message_id is not None:
                state, ts = await self.state_of(message_id)
            if state == "sent":
                return SendResult(engine_message_id=key, timestamp=ts)
            if state == "unknown":
                try:
                    msg = await submit(message_id)
                except PERMANENT as exc:
                    raise SendRefused(str(exc)) from exc
                key = msg.id
                if msg.status == "sent":
                    return SendResult(engine_message_id=msg.id, timestamp=msg.timestamp)
                if message_id is None:
                    self.sent_waiters[msg.id] = fut
            # In the SDK's outbox: it goes out by itself; wait for the server's answer.
            return await self._sent(key, fut)
        finally:
            self.sent_waiters.pop(key, None)

    async def _sent(self, key: str, fut: asyncio.Future[int]) -> SendResult:
        """Waits for ``sent``. The answer may have come before the waiter was registered
        (the outbox flushes at connect), so the store is asked again now and then."""
        while True:
            try:
                timestamp = await wait_for(asyncio.shield(fut), _RECHECK)
                return SendResult(engine_message_id=key, timestamp=timestamp)
            except asyncio.TimeoutError:
                if not key:
                    continue
            state, ts = await self.state_of(key)
            if state == "sent":
                return SendResult(engine_message_id=key, timestamp=ts)
            if state == "unknown":  # gone from the outbox without our seeing why
                raise errors.ConnectionError(f"message {key} left the outbox unconfirmed")
