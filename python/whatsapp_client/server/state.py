"""Everything one server instance shares between its handlers."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from whatsapp_client.server.blobs import BlobStore
    from whatsapp_client.server.listener import ConnectionGuard


@dataclasses.dataclass
class Limiters:
    # Keyed by (address, username): failures from one place never lock the owner out elsewhere.
    login_by_user_and_address: KeyedLimiter
    login_by_address: KeyedLimiter
    register_by_address: KeyedLimiter
    bundle_by_requester: KeyedLimiter
    prekeys_by_target: KeyedLimiter
    prekeys_by_pair: KeyedLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> Limiters:
        login_window = settings.login_window_seconds
        bundle_window = settings.bundle_window_seconds
        return cls(
            KeyedLimiter(settings.login_attempts_per_username, login_window),
            KeyedLimiter(settings.login_attempts_per_address, login_window),
            KeyedLimiter(settings.registrations_per_address, settings.registration_window_seconds),
            KeyedLimiter(settings.bundle_fetches_per_requester, bundle_window),
            KeyedLimiter(settings.prekeys_per_target, bundle_window),
            KeyedLimiter(settings.prekeys_per_requester_and_target, bundle_window),
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
    # Set once the listener is up (None for an app embedded without runner.start).
    guard: ConnectionGuard | None = None
    blobs: BlobStore | None = None


STATE: web.AppKey[ServerState] = web.AppKey("wac_state", ServerState)


def state_of(request: web.Request) -> ServerState:
    return request.app[STATE]
