"""What the webhook dispatcher needs of the storage: the delivery part of
:class:`~._storage.Storage`, and an optional read that lets it pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Protocol, runtime_checkable

from whatsapp_client.gateway._models import Delivery, DeliveryState, WebhookEndpoint

__all__ = ["DeliveryStore", "PipelinedDeliveryStore"]


class DeliveryStore(Protocol):
    """The part of :class:`~._storage.Storage` the dispatcher uses."""

    async def claim_endpoints(
        self, owner: str, now: int, ttl_ms: int, *, limit: int = 1000
    ) -> list[str]: ...

    async def release_endpoints(
        self, owner: str, endpoint_ids: Optional[Sequence[str]] = None
    ) -> None: ...

    async def head_delivery(self, endpoint_id: str) -> Optional[Delivery]: ...

    async def list_webhooks(self, session_id: str) -> list[WebhookEndpoint]: ...

    async def disable_webhook(self, endpoint_id: str, reason: str) -> None: ...

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
    ) -> None: ...


@runtime_checkable
class PipelinedDeliveryStore(Protocol):
    """Optional: a storage that lists an endpoint's pending deliveries lets the dispatcher
    post the next one while the previous outcome is being committed."""

    async def pending_deliveries(self, endpoint_id: str, *, limit: int) -> list[Delivery]:
        """The endpoint's oldest pending deliveries, oldest (the head) first."""
        ...
