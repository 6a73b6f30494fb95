"""The gateway: a self-hosted REST and webhook service running many sessions (extra
``gateway``). Start it with ``whatsapp-client gateway``; see docs/gateway.md."""

from __future__ import annotations

from whatsapp_client.gateway._errors import GatewayError
from whatsapp_client.gateway._settings import GatewaySettings

__all__ = ["GatewayError", "GatewaySettings"]
