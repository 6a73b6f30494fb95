"""What the HTTP routes call: the service layer's interface (implemented by
``_service.Gateway``). Routes decode and authorize; everything else happens behind this."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Optional, Protocol

from whatsapp_client.gateway._engine import Engine
from whatsapp_client.gateway._models import (
    Delivery,
    DeliveryState,
    MediaInfo,
    MessageFilter,
    MessageRecord,
    SessionRecord,
    WebhookEndpoint,
)
from whatsapp_client.gateway._requests import Accepted, CreateSession, SendSpec, SessionPatch


class MediaReader(Protocol):
    info: MediaInfo

    def read(self, start: int, end: int) -> AsyncIterator[bytes]:
        """Plaintext bytes ``start`` (inclusive) to ``end`` (exclusive), decrypted and
        authenticated chunk by chunk; raises before yielding anything unauthenticated."""


class GatewayService(Protocol):
    async def start(self) -> None:
        """Opens storage and brings back every session that was running."""

    async def close(self) -> None: ...

    async def create_session(
        self, spec: CreateSession, *, owner_id: Optional[str] = None
    ) -> tuple[SessionRecord, list[WebhookEndpoint]]:
        """Returns the endpoints with their secrets (generated ones are shown only here).
        ``owner_id``: the operator account that creates it (sees and acts on it)."""

    async def list_sessions(self) -> list[SessionRecord]: ...

    async def get_session(self, session_id: str) -> SessionRecord:
        """``NotFound`` if there is none."""

    async def update_session(
        self, session_id: str, patch: SessionPatch
    ) -> tuple[SessionRecord, list[WebhookEndpoint]]: ...

    async def delete_session(self, session_id: str) -> None: ...

    async def stop_session(self, session_id: str) -> SessionRecord: ...

    async def restart_session(self, session_id: str) -> SessionRecord: ...

    async def list_webhooks(self, session_id: str) -> list[WebhookEndpoint]: ...

    async def send(
        self, session_id: str, spec: SendSpec, *, idempotency_scope: Optional[str] = None
    ) -> tuple[int, bytes]:
        """Validates, queues; returns the HTTP status and JSON body of the answer (202 and
        an :class:`Accepted`), or the first answer stored under ``idempotency_scope``."""

    async def list_messages(
        self, session_id: str, filters: MessageFilter, *, limit: int, cursor: Optional[str]
    ) -> tuple[list[MessageRecord], Optional[str]]: ...

    async def get_message(self, session_id: str, message_id: str) -> MessageRecord: ...

    async def open_media(self, session_id: str, media_id: str) -> MediaReader: ...

    async def list_deliveries(
        self,
        session_id: str,
        *,
        endpoint_id: Optional[str] = None,
        state: Optional[DeliveryState] = None,
        limit: int = 100,
    ) -> list[Delivery]: ...

    async def redeliver(self, session_id: str, seq: int) -> Delivery: ...

    async def queue_depth(self, session_id: str) -> int: ...

    def running_engine(self, session_id: str) -> Optional[Engine]:
        """The engine of a running session (the cloud webhook route hands it Meta's calls)."""


__all__ = ["Accepted", "GatewayService", "MediaReader"]
