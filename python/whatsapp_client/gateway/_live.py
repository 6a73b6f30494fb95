"""The live data parts of a gateway (the event hub and the log buffer) and what the live
routes share: who is asking, and which sessions that principal sees."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Optional

from aiohttp import web

from whatsapp_client.gateway import _auth
from whatsapp_client.gateway._errors import Forbidden, NotFound
from whatsapp_client.gateway._event_hub import CountersSource, EventHub
from whatsapp_client.gateway._facade import GatewayService
from whatsapp_client.gateway._log_buffer import LogBuffer
from whatsapp_client.gateway._models import SessionRecord
from whatsapp_client.gateway._principal import REQUEST_KEY, Principal
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
    """The request's :class:`Principal`. Until the accounts middleware sets one, an API
    key's principal stands in: it reaches every session its key may (as before)."""
    found = request.get(REQUEST_KEY)
    if isinstance(found, Principal):
        return found
    key = _auth.principal(request)
    return Principal(
        user_id=key.key_id,
        email="",
        role="admin",
        scope=key.scope,
        session_ids=key.session_ids,
        key_id=key.key_id,
    )


def owner_of(record: SessionRecord) -> Optional[str]:
    # ``owner_id`` arrives with operator accounts; a session without one is the admin's.
    owner = getattr(record, "owner_id", None)
    return owner if isinstance(owner, str) else None


def sees_gateway(who: Principal) -> bool:
    """Records of no session (the gateway's own) are for unrestricted admins."""
    return who.is_admin and who.session_ids is None


async def visible_session(
    service: GatewayService, who: Principal, session_id: str
) -> SessionRecord:
    """The session if ``who`` sees it; ``Forbidden`` for a key restricted to other
    sessions, ``NotFound`` for another user's session (as for one that does not exist)."""
    if who.session_ids is not None and session_id not in who.session_ids:
        # As every session route answers a key restricted to other sessions.
        raise Forbidden("this API key is restricted to other sessions")
    record = await service.get_session(session_id)
    if not who.sees(owner_of(record), session_id):
        raise NotFound(f"no session {session_id!r}")
    return record
