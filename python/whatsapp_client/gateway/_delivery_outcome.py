"""What the outcome of one webhook attempt does to its delivery.

2xx → delivered. 410 → the endpoint is disabled (the delivery stays pending, for when it is
enabled again). Anything else → retried on the schedule (or after the receiver's
``Retry-After``), or dead once the delivery is older than ``webhook_max_age_seconds``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Callable

from whatsapp_client.gateway._delivery_store import DeliveryStore
from whatsapp_client.gateway._metrics import GatewayMetrics
from whatsapp_client.gateway._models import Delivery, DeliveryState, WebhookEndpoint
from whatsapp_client.gateway._retry_policy import next_attempt_at
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._webhook_post import AttemptResult

_log = logging.getLogger("whatsapp_client.gateway.webhooks")

__all__ = ["OutcomeRecorder"]


class OutcomeRecorder:
    def __init__(
        self,
        storage: DeliveryStore,
        settings: GatewaySettings,
        metrics: GatewayMetrics,
        clock: Callable[[], int],
        schedule: Sequence[float],
    ) -> None:
        self._storage = storage
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._schedule = tuple(schedule)

    async def record(
        self, endpoint: WebhookEndpoint, head: Delivery, result: AttemptResult
    ) -> bool:
        """Records one attempt's outcome; False if the endpoint is now disabled."""
        now = self._clock()
        attempts = head.attempts + 1
        context = {
            "session_id": head.session_id,
            "endpoint_id": endpoint.id,
            "event_id": head.event.id,
        }
        if result.delivered:
            await self._finish(head, "delivered", attempts, now, result, now)
            self._metrics.webhook_deliveries.labels("delivered").inc()
            self._metrics.webhook_latency.observe(max(now - head.created_at, 0) / 1000)
            return True
        if result.status == 410:
            await self._finish(head, "pending", attempts, now, result, now)
            await self._storage.disable_webhook(
                endpoint.id, "the endpoint answered 410 Gone; update the session's webhooks"
            )
            self._metrics.webhook_deliveries.labels("disabled").inc()
            _log.warning("webhook endpoint disabled after 410 Gone", extra=context)
            return False
        when = next_attempt_at(
            created_at=head.created_at,
            now=now,
            failures=attempts,
            max_age_seconds=self._settings.webhook_max_age_seconds,
            retry_after=result.retry_after,
            schedule=self._schedule,
        )
        if when is None:
            await self._finish(head, "dead", attempts, now, result, now)
            self._metrics.webhook_deliveries.labels("dead").inc()
            _log.warning("webhook delivery dead-lettered: %s", result.error, extra=context)
            return True
        await self._finish(head, "pending", attempts, when, result, now)
        self._metrics.webhook_deliveries.labels("retry").inc()
        _log.info("webhook delivery failed, retrying: %s", result.error, extra=context)
        return True

    async def _finish(
        self,
        head: Delivery,
        state: DeliveryState,
        attempts: int,
        when: int,
        result: AttemptResult,
        now: int,
    ) -> None:
        await self._storage.finish_delivery(
            head.seq,
            state,
            attempts=attempts,
            next_attempt_at=when,
            status_code=result.status,
            error=result.error,
            at=now,
        )
