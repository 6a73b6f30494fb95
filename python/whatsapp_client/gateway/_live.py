"""The live data parts of a gateway (the event hub and the log buffer) and what the live
routes share: who is asking, and which sessions that principal sees."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Optional

from aiohttp import web

from whatsapp_client.gateway._errors import NotFound
from whatsapp_client.gateway._event_hub import CountersSource, EventHub
from whatsapp_client.gateway._facade import GatewayService
from whatsapp_client.gateway._log_buffer import LogBuffer
from whatsapp_client.gateway._models import SessionRecord
from whatsapp_client.gateway._principal import Principal, principal_of
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._storage import Storage

__all__ = ["LIVE", "Live", "owner_of", "sees_gateway", "storage_counters", "viewer_of"]


@dataclasses.dataclass
class Live:
    hub: EventHub
    logs: LogBuffer
    heartbeat: float = 15.0

    @classmethod
    def from_settings(cls, settings: GatewaySettings, hub: Optional[EventHub] = None) -> Live:
        return cls(
            hub=hub or EventHub(),
            logs=LogBuffer(settings.log_buffer_records),
            heartbeat=settings.stream_heartbeat_seconds,
        )

    def start(self) -> None:
        """On the loop, at the gateway's start: binds the hub, installs the log handler."""
        self.hub.bind()
        self.logs.listener = self.hub.log
        self.logs.install()

    async def close(self) -> None:
        """At shutdown: every stream ends; the handler comes off the loggers."""
        self.logs.uninstall()
        self.logs.listener = None
        await self.hub.close()


LIVE = web.AppKey("gateway_live", Live)


def live_of(request: web.Request) -> Live:
    return request.app[LIVE]


def storage_counters(storage: Storage) -> CountersSource:
    """The hub's :data:`~._event_hub.CountersSource` reading the storage."""

    async def read(session_id: str) -> Optional[Mapping[str, int]]:
        record = await storage.get_session(session_id)
        if record is None:
            return None
        return {
            "sent": record.counters.sent,
            "received": record.counters.received,
            "failed": record.counters.failed,
            "queue_depth": await storage.queue_depth(session_id),
        }

    return read


def viewer_of(request: web.Request) -> Principal:
    """The request's :class:`Principal` (set by the auth middleware)."""
    return principal_of(request)


def owner_of(record: SessionRecord) -> Optional[str]:
    return record.owner_id


def sees_gateway(who: Principal) -> bool:
    """Records of no session (the gateway's own) are for unrestricted admins."""
    return who.is_admin and who.session_ids is None


async def visible_session(
    service: GatewayService, who: Principal, session_id: str
) -> SessionRecord:
    """The session if ``who`` sees it; ``NotFound`` otherwise (another user's session, or
    one out of a restricted key's reach, answers like one that does not exist)."""
    try:
        record: Optional[SessionRecord] = await service.get_session(session_id)
    except NotFound:
        record = None
    if record is None or not who.sees(record.owner_id, session_id):
        raise NotFound(f"no session {session_id!r}")
    return record
