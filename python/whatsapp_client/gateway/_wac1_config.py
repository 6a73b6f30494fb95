"""The ``wac1`` engine's settings and secrets, and the factory that checks a creation
request and builds engines."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import msgspec

from whatsapp_client.gateway._engine import EngineListener
from whatsapp_client.gateway._errors import InvalidRequest
from whatsapp_client.gateway._settings import GatewaySettings

if TYPE_CHECKING:
    from whatsapp_client.gateway._wac1 import Wac1Engine

__all__ = ["Wac1Credentials", "Wac1Factory", "Wac1Options"]

_USERNAME = re.compile(r"^[a-z0-9_.\-]{3,32}$")


class Wac1Credentials(msgspec.Struct, kw_only=True):
    """Sealed at rest by the storage: the account password and the random password of the
    session's local store (never the same, so the account password alone opens nothing)."""

    password: str
    store_password: str

    def __repr__(self) -> str:
        return "Wac1Credentials(<sealed>)"


@dataclasses.dataclass(frozen=True)
class Wac1Options:
    max_failures: int = 5
    reconnect_base_delay: float = 1.0
    reconnect_max_delay: float = 60.0
    # Logins (each opens a store: an Argon2id derivation of 19 MiB) running at once: a
    # restart of hundreds of sessions stays within memory and does not starve the loop.
    max_concurrent_logins: int = 4
    # Seconds a looked-up recipient (id or username -> user id) is remembered; 0: never.
    recipient_cache_seconds: float = 300.0
    # Extra ClientConfig options for every session's client (tests: cheap KDF, short delays).
    client_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_settings(
        cls, settings: GatewaySettings, client_options: Mapping[str, Any] | None = None
    ) -> Wac1Options:
        return cls(
            max_failures=settings.max_reconnect_failures,
            reconnect_base_delay=settings.reconnect_base_delay,
            reconnect_max_delay=settings.reconnect_max_delay,
            client_options=dict(client_options or {}),
        )


def _text(spec: Mapping[str, object], name: str) -> str:
    value = spec.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{name} is required for the wac1 engine (a non-empty string)")
    return value


class Wac1Factory:
    name = "wac1"

    def __init__(self, options: Wac1Options | None = None) -> None:
        self.options = options or Wac1Options()
        self._logins: asyncio.Semaphore | None = None

    def validate(self, spec: Mapping[str, object]) -> tuple[dict[str, str], bytes]:
        server_url = _text(spec, "server_url").rstrip("/")
        parts = urlsplit(server_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidRequest("server_url must be an http:// or https:// URL")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise InvalidRequest("server_url must not carry credentials, a query or a fragment")
        username = _text(spec, "username")
        if not _USERNAME.match(username):
            raise InvalidRequest("username must be 3-32 characters of a-z 0-9 _ . -")
        password = _text(spec, "password")
        if len(password) < 8:
            raise InvalidRequest("password must be at least 8 characters")
        creds = Wac1Credentials(password=password, store_password=secrets.token_urlsafe(32))
        register = "true" if spec.get("register") is True else "false"
        config = {"server_url": server_url, "username": username, "register": register}
        return config, msgspec.json.encode(creds)

    def build(
        self,
        session_id: str,
        config: Mapping[str, str],
        credentials: bytes,
        directory: Path,
        listener: EngineListener,
        *,
        register: bool,
    ) -> Wac1Engine:
        from whatsapp_client.gateway._wac1 import Wac1Engine

        creds = msgspec.json.decode(credentials, type=Wac1Credentials)
        register = register or config.get("register") == "true"
        if self._logins is None:
            self._logins = asyncio.Semaphore(self.options.max_concurrent_logins)
        return Wac1Engine(
            session_id,
            config,
            creds,
            directory,
            listener,
            self.options,
            register=register,
            logins=self._logins,
        )
