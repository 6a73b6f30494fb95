"""The SDK client as the ``wac1`` engine runs it: a :class:`WhatsAppClient` whose local store
is opened with a random store password of the gateway's (not the account password), that
reports every connection state change and fatal error to the engine, and that resolves a
future when the server confirms a message (``sent``) so a send can wait for it."""

from __future__ import annotations

import asyncio
from typing import Any, Callable

from whatsapp_client import errors
from whatsapp_client.client import ConnectionState, WhatsAppClient
from whatsapp_client.client.frames import Sent

__all__ = ["GatewayClient", "StateHook"]

StateHook = Callable[[ConnectionState, ConnectionState], None]


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
        sdk_fatal = self._conn._on_fatal

        def fatal(exc: errors.WhatsAppError) -> None:
            sdk_fatal(exc)
            on_fatal(exc)

        self._conn._on_fatal = fatal

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
            row = store.get_message(message_id)
            if row is not None:
                status = str(getattr(row, "status", "sent"))
                return ("queued", 0) if status == "pending" else ("sent", int(row.timestamp))
            if any(str(item.message_id) == message_id for item in store.outbox()):
                return ("queued", 0)
            return ("unknown", 0)

        found = await executor.run(look)
        if found[0] == "unknown":
            pending = await self._media_sender._records()
            if message_id in pending:
                return ("queued", 0)
        return found
