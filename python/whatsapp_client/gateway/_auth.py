"""API keys: scopes, per-session restriction, the owner a key acts for, throttling of
failed attempts per client address, the first-start admin key and the refusal of keys
that look like shipped defaults. (The middleware that also accepts logins is in
:mod:`._auth_middleware`.)

Only SHA-256 hashes of keys are kept (storage, and memory for keys from the environment);
a key is shown once, when it is created. Keys are long random strings, so an unsalted
hash is enough (nothing to brute-force) and lets the storage look a key up by its hash.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import re
import secrets
import time
from typing import Callable, NoReturn, Optional

from aiohttp import web

from whatsapp_client.gateway._account_records import UserRecord
from whatsapp_client.gateway._errors import TooManyRequests, Unauthorized
from whatsapp_client.gateway._logs import get_logger
from whatsapp_client.gateway._models import ApiKeyRecord, Scope
from whatsapp_client.gateway._principal import Principal, principal_of
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._storage import Storage
from whatsapp_client.gateway._trust import client_address

log = get_logger("auth")

KEY_PREFIX = "wag_"
MIN_KEY_LENGTH = 24
HEADER = "X-API-Key"
# Reachable without a credential: probes, the API's own description, logging in, and the
# dashboard's static files (the page logs in through the API).
PUBLIC_PATHS = frozenset(
    {
        "/health",
        "/ready",
        "/api/v1/openapi.json",
        "/api/docs",
        "/api/docs/",
        "/",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
    }
)
PUBLIC_PREFIXES = ("/api/docs/", "/dashboard/")
# A cloud session's webhook route: Meta calls it, checked by verify token and signature.
CLOUD_WEBHOOK = re.compile(r"^/api/v1/sessions/[^/]+/cloud/webhook$")
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
        # The user the environment's keys act as (the first admin; set at start).
        self.env_owner: Optional[UserRecord] = None

    def now_ms(self) -> int:
        return self._wall_ms()

    async def bootstrap(self, owner: UserRecord) -> Optional[str]:
        """On a first start with no key anywhere: creates an admin key owned by ``owner``
        (the first admin) and returns it (the caller shows it once); otherwise None."""
        self.env_owner = owner
        if self._env_hashes or await self._storage.list_api_keys():
            return None
        _, key = await self.create("initial admin key", "admin", None, None, owner.id)
        return key

    async def create(
        self,
        name: str,
        scope: Scope,
        expires_at: Optional[int],
        session_ids: Optional[list[str]],
        user_id: str,
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
            user_id=user_id,
        )
        await self._storage.create_api_key(record)
        return record, key

    def check_throttle(self, request: web.Request) -> str:
        """The client's address; ``TooManyRequests`` if it failed too often lately."""
        address = client_address(request, self._settings.trusted_proxies)
        wait = self._throttle.retry_after(address)
        if wait is not None:
            raise TooManyRequests("too many failed attempts from this address", wait)
        return address

    async def authenticate(self, request: web.Request) -> tuple[Optional[str], ApiKeyRecord]:
        """The owner id and record of the request's key (for an environment key: the
        first admin's id and a record with id ``environment``); ``Unauthorized``."""
        address = self.check_throttle(request)
        raw = request.headers.get(HEADER)
        if raw is None or raw == "":
            self._refuse(request, address, "no key", "the X-API-Key header is required")
        if not (len(raw) <= 256 and raw.isascii() and raw.isprintable()):
            self._refuse(request, address, "malformed key", "invalid API key")
        hashed = hash_key(raw)
        matched = False
        for env_hash in self._env_hashes:  # every one compared: constant time over the set
            matched |= hmac.compare_digest(env_hash, hashed)
        if matched:
            owner = self.env_owner.id if self.env_owner is not None else None
            return owner, ApiKeyRecord(
                id="environment",
                name="environment",
                scope="admin",
                key_hash="",
                prefix="",
                created_at=0,
                user_id=owner,
            )
        record = await self._storage.find_api_key(hashed)
        if record is None or not hmac.compare_digest(record.key_hash, hashed):
            self._refuse(request, address, "unknown key", "invalid API key")
        if record.expires_at is not None and record.expires_at <= self._wall_ms():
            self._refuse(request, address, "expired key", "this API key has expired")
        return record.user_id, record

    def refuse(self, request: web.Request, reason: str, message: str) -> None:
        """Counts a failed attempt of the request's address and raises ``Unauthorized``."""
        self._refuse(
            request, client_address(request, self._settings.trusted_proxies), reason, message
        )

    def _refuse(self, request: web.Request, address: str, reason: str, message: str) -> NoReturn:
        self._throttle.failed(address)
        # The key itself is never logged.
        log.warning(
            "credential refused",
            extra={
                "reason": reason,
                "address": address,
                "method": request.method,
                "path": request.path,
            },
        )
        raise Unauthorized(message)


def key_principal(user: UserRecord, record: ApiKeyRecord) -> Principal:
    """What a key may do: its own scope and sessions, never more than its user (a plain
    user's key never has scope admin)."""
    scope: Scope = record.scope
    if user.role != "admin" and scope == "admin":
        scope = "write"
    restricted = frozenset(record.session_ids) if record.session_ids is not None else None
    return Principal(
        user_id=user.id,
        email=user.email,
        role=user.role,
        scope=scope,
        session_ids=restricted,
        via="api_key",
        key_id=record.id,
    )


def principal(request: web.Request) -> Principal:
    return principal_of(request)
