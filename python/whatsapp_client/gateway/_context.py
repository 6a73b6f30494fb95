"""What the route handlers reach through the application: the service, the storage (API
keys and readiness only), settings, metrics and the API key checker."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from aiohttp import web

from whatsapp_client.gateway._facade import GatewayService
from whatsapp_client.gateway._metrics import GatewayMetrics
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._storage import Storage

if TYPE_CHECKING:
    from whatsapp_client.gateway._auth import ApiKeys


@dataclasses.dataclass
class GatewayContext:
    settings: GatewaySettings
    service: GatewayService
    storage: Storage
    metrics: GatewayMetrics
    keys: ApiKeys
    data_dir: Path
    # Wakes the webhook dispatcher (after a redelivery).
    wake: Callable[[], None]
    shutting_down: bool = False


CONTEXT = web.AppKey("gateway_context", GatewayContext)


def context_of(request: web.Request) -> GatewayContext:
    return request.app[CONTEXT]
