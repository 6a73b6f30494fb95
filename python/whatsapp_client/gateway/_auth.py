"""API keys: the ``X-API-Key`` middleware, scopes, per-session restriction, throttling of
failed attempts per client address, the first-start admin key and the refusal of keys
that look like shipped defaults.

Only SHA-256 hashes of keys are kept (storage, and memory for keys from the environment);
a key is shown once, when it is created. Keys are long random strings, so an unsalted
hash is enough (nothing to brute-force) and lets the storage look a key up by its hash.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Awaitable
from typing import Callable, Optional

from aiohttp import web
from aiohttp.typedefs import Middleware

from whatsapp_client.gateway._errors import Forbidden, TooManyRequests, Unauthorized
from whatsapp_client.gateway._logs import get_logger
from whatsapp_client.gateway._models import ApiKeyRecord, Scope
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._storage import Storage
from whatsapp_client.gateway._trust import client_address

log = get_logger("auth")

KEY_PREFIX = "wag_"
MIN_KEY_LENGTH = 24
HEADER = "X-API-Key"
# Reachable without a key: probes, and the API's own description.
PUBLIC_PATHS = frozenset({"/health", "/ready", "/api/v1/openapi.json", "/api/docs", "/api/docs/"})
PUBLIC_PREFIXES = ("/api/docs/",)
# A cloud session's webhook route: Meta calls it, checked by verify token and signature.
CLOUD_WEBHOOK = re.compile(r"^/api/v1/sessions/[^/]+/cloud/webhook$")
_RANK: dict[Scope, int] = {"read": 0, "write": 1, "admin": 2}
# Words that mark a placeholder someone forgot to replace (long enough that a random key
# contains one only with negligible probability).
_DEFAULT_WORDS = (
    "changeme",
    "replaceme",
    "example",
    "yourapikey",
    "yourkey",
    "secret",
    "password",
    "default",
    "placeholder",
    "gatewaykey",
)


class InsecureApiKey(ValueError):
    """A configured key is too short or looks like a placeholder; the gateway refuses to
    start with it."""


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def check_key_strength(key: str, where: str) -> None:
    """``InsecureApiKey`` for a key shorter than 24 characters, made of one repeated
    character, or containing a placeholder word ("changeme", "secret", "admin", ...)."""
    # Separators removed, so that "change-me" and "CHANGE_ME" are caught as "changeme".
    lowered = "".join(c for c in key.lower() if c.isalnum())
    if len(key) < MIN_KEY_LENGTH:
        raise InsecureApiKey(f"{where}: an API key must be at least {MIN_KEY_LENGTH} characters")
    if len(set(key)) < 8:
        raise InsecureApiKey(f"{where}: the API key repeats too few distinct characters")
    for word in _DEFAULT_WORDS:
        if word in lowered:
            raise InsecureApiKey(
                f"{where}: the API key looks like a placeholder (contains {word!r}); "
                "generate one, e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )


def configured_key_hashes(settings: GatewaySettings) -> list[str]:
    """The hashes of the admin keys from ``WHATSAPP_GATEWAY_API_KEYS`` (comma-separated);
    ``InsecureApiKey`` for any that looks like a shipped default."""
    hashes = []
    for index, raw in enumerate((settings.api_keys or "").split(",")):
        key = raw.strip()
        if key:
            check_key_strength(key, f"WHATSAPP_GATEWAY_API_KEYS entry {index + 1}")
            hashes.append(hash_key(key))
    return hashes


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, scope and the sessions it is restricted to."""

    key_id: str
    scope: Scope
    session_ids: Optional[frozenset[str]]

    def require(self, scope: Scope, session_id: Optional[str] = None) -> None:
        if _RANK[self.scope] < _RANK[scope]:
            raise Forbidden(f"this API key has scope {self.scope!r}; {scope!r} is required")
        if session_id is not None and not self.may_see(session_id):
            raise Forbidden("this API key is restricted to other sessions")

    def require_unrestricted(self, scope: Scope) -> None:
        self.require(scope)
        if self.session_ids is not None:
            raise Forbidden(
                "this API key is restricted to some sessions; this needs one that is not"
            )

    def may_see(self, session_id: str) -> bool:
        return self.session_ids is None or session_id in self.session_ids


PRINCIPAL = web.RequestKey("gateway_principal", Principal)


class FailureThrottle:
    """Failed attempts per client address in a sliding window; past the limit the
    address is refused (429) until its oldest failure leaves the window."""

    _MAX_ADDRESSES = 100_000

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._failures: collections.OrderedDict[str, collections.deque[float]] = (
            collections.OrderedDict()
        )

    def retry_after(self, address: str) -> Optional[float]:
        """Seconds until ``address`` may try again, or None if it may now."""
        failures = self._failures.get(address)
        if failures is None:
            return None
        now = self._clock()
        while failures and failures[0] <= now - self._window:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return None
        if len(failures) < self._limit:
            return None
        return failures[0] + self._window - now

    def failed(self, address: str) -> None:
        failures = self._failures.pop(address, None) or collections.deque()
        failures.append(self._clock())
        self._failures[address] = failures  # most recent last
        while len(self._failures) > self._MAX_ADDRESSES:
            self._failures.popitem(last=False)


class ApiKeys:
    """Checks keys against the storage and the environment's admin keys."""

    def __init__(
        self,
        storage: Storage,
        settings: GatewaySettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self._storage = storage
        self._settings = settings
        self._wall_ms = wall_ms
        self._throttle = FailureThrottle(
            settings.auth_failures_per_address, settings.auth_failure_window_seconds, clock
        )
        self._env_hashes = configured_key_hashes(settings)

    def now_ms(self) -> int:
        return self._wall_ms()

    async def bootstrap(self) -> Optional[str]:
        """On a first start with no key anywhere: creates an admin key and returns it (the
        caller shows it once); otherwise None."""
        if self._env_hashes or await self._storage.list_api_keys():
            return None
        _, key = await self.create("initial admin key", "admin", None, None)
        return key

    async def create(
        self,
        name: str,
        scope: Scope,
        expires_at: Optional[int],
        session_ids: Optional[list[str]],
    ) -> tuple[ApiKeyRecord, str]:
        key = generate_key()
        record = ApiKeyRecord(
            id="key_" + secrets.token_urlsafe(16),
            name=name,
            scope=scope,
            key_hash=hash_key(key),
            prefix=key[: len(KEY_PREFIX) + 6],
            session_ids=session_ids,
            expires_at=expires_at,
            created_at=self._wall_ms(),
        )
        await self._storage.create_api_key(record)
        return record, key

    async def authenticate(self, request: web.Request) -> Principal:
        address = client_address(request, self._settings.trusted_proxies)
        wait = self._throttle.retry_after(address)
        if wait is not None:
            raise TooManyRequests("too many failed API key attempts from this address", wait)
        raw = request.headers.get(HEADER)
        if raw is None or raw == "":
            return self._refuse(request, address, "no key", "the X-API-Key header is required")
        if not (len(raw) <= 256 and raw.isascii() and raw.isprintable()):
            return self._refuse(request, address, "malformed key", "invalid API key")
        hashed = hash_key(raw)
        matched = False
        for env_hash in self._env_hashes:  # every one compared: constant time over the set
            matched |= hmac.compare_digest(env_hash, hashed)
        if matched:
            return Principal(key_id="environment", scope="admin", session_ids=None)
        record = await self._storage.find_api_key(hashed)
        if record is None or not hmac.compare_digest(record.key_hash, hashed):
            return self._refuse(request, address, "unknown key", "invalid API key")
        if record.expires_at is not None and record.expires_at <= self._wall_ms():
            return self._refuse(request, address, "expired key", "this API key has expired")
        restricted = frozenset(record.session_ids) if record.session_ids is not None else None
        return Principal(key_id=record.id, scope=record.scope, session_ids=restricted)

    def _refuse(self, request: web.Request, address: str, reason: str, message: str) -> Principal:
        self._throttle.failed(address)
        # The key itself is never logged.
        log.warning(
            "api key refused",
            extra={
                "reason": reason,
                "address": address,
                "method": request.method,
                "path": request.path,
            },
        )
        raise Unauthorized(message)


def is_public(path: str) -> bool:
    return (
        path in PUBLIC_PATHS
        or path.startswith(PUBLIC_PREFIXES)
        or CLOUD_WEBHOOK.match(path) is not None
    )


def auth_middleware(keys: ApiKeys) -> Middleware:
    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not is_public(request.path):
            request[PRINCIPAL] = await keys.authenticate(request)
        return await handler(request)

    return middleware


def principal(request: web.Request) -> Principal:
    return request[PRINCIPAL]
