"""Everything one server instance shares between its handlers."""

from __future__ import annotations

import dataclasses

from aiohttp import web

from whatsapp_client.server.connection import Connection
from whatsapp_client.server.credentials import DummyHash
from whatsapp_client.server.fanout import Fanout
from whatsapp_client.server.metrics import Metrics
from whatsapp_client.server.presence import PresenceHub
from whatsapp_client.server.ratelimit import KeyedLimiter
from whatsapp_client.server.relay import Relay
from whatsapp_client.server.settings import Settings
from whatsapp_client.server.storage import Storage


@dataclasses.dataclass
class Limiters:
    login_by_username: KeyedLimiter
    login_by_address: KeyedLimiter
    register_by_address: KeyedLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> Limiters:
        return cls(
            KeyedLimiter(settings.login_attempts_per_username, settings.login_window_seconds),
            KeyedLimiter(settings.login_attempts_per_address, settings.login_window_seconds),
            KeyedLimiter(settings.registrations_per_address, settings.registration_window_seconds),
        )


@dataclasses.dataclass
class ServerState:
    settings: Settings
    storage: Storage
    fanout: Fanout
    presence: PresenceHub
    metrics: Metrics
    limiters: Limiters
    relay: Relay
    dummy_hash: DummyHash
    unauthenticated: int = 0
    # Every open socket, authenticated or not, so shutdown can close them with 1001.
    sockets: set[Connection] = dataclasses.field(default_factory=set)
    shutting_down: bool = False


STATE: web.AppKey[ServerState] = web.AppKey("wac_state", ServerState)


def state_of(request: web.Request) -> ServerState:
    return request.app[STATE]
