"""Access tokens (PyJWT, HS256, short-lived) and rotating refresh tokens.

The signing key is 32 random bytes made on first use and kept sealed by the vault in the
storage. An access token carries ``sub``, ``role``, ``iat``, ``exp``, ``jti`` and ``pwd``
(the user's password generation: a password change or reset voids earlier tokens).
A refresh token is an opaque random string; only its SHA-256 is stored. Using one marks
it used and issues its successor in the same family; using a used one again (a stolen
copy, or the legitimate client after theft) revokes the whole family.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, Callable, Optional

import jwt

from whatsapp_client.gateway._account_records import RefreshToken, UserRecord
from whatsapp_client.gateway._errors import Unauthorized
from whatsapp_client.gateway._ids import now_ms
from whatsapp_client.gateway._logs import get_logger
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._storage import Storage

log = get_logger("auth")

ALGORITHM = "HS256"
REFRESH_PREFIX = "wrt_"
_KEY_NAME = "jwt_signing_key"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Tokens:
    """Issues and checks access tokens, rotates refresh tokens."""

    def __init__(
        self,
        storage: Storage,
        settings: GatewaySettings,
        *,
        wall_ms: Callable[[], int] = now_ms,
    ) -> None:
        self._storage = storage
        self._settings = settings
        self._wall_ms = wall_ms
        self._key: Optional[bytes] = None
        # Access tokens ended by a logout before they expire: jti → exp (seconds). In
        # memory: they expire within minutes anyway (a restart forgets at most those).
        self._ended: dict[str, int] = {}

    def __repr__(self) -> str:
        return "Tokens(key=<redacted>)"

    async def _signing_key(self) -> bytes:
        if self._key is None:
            self._key = await self._storage.sealed_secret(
                _KEY_NAME, lambda: secrets.token_bytes(32)
            )
        return self._key

    @property
    def access_seconds(self) -> int:
        return self._settings.access_token_seconds

    async def access_token(self, user: UserRecord) -> str:
        now = self._wall_ms() // 1000
        claims: dict[str, Any] = {
            "sub": user.id,
            "role": user.role,
            "iat": now,
            "exp": now + self.access_seconds,
            "jti": secrets.token_urlsafe(16),
            "pwd": user.password_changed_at,
        }
        return jwt.encode(claims, await self._signing_key(), algorithm=ALGORITHM)

    async def check_access(self, token: str) -> tuple[str, int]:
        """``(user id, password generation)`` of a valid token; ``Unauthorized`` otherwise."""
        try:
            claims = jwt.decode(
                token,
                await self._signing_key(),
                algorithms=[ALGORITHM],
                options={"require": ["sub", "role", "iat", "exp", "jti", "pwd"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the access token has expired; refresh it") from None
        except jwt.PyJWTError:
            raise Unauthorized("invalid access token") from None
        sub, pwd = claims.get("sub"), claims.get("pwd")
        if not isinstance(sub, str) or not isinstance(pwd, int):
            raise Unauthorized("invalid access token")
        if claims.get("jti") in self._ended:
            raise Unauthorized("this access token was ended by a logout")
        return sub, pwd

    async def end_access(self, token: str) -> None:
        """Refuses a valid access token from now on (logout)."""
        try:
            claims = jwt.decode(token, await self._signing_key(), algorithms=[ALGORITHM])
        except jwt.PyJWTError:
            return
        now = self._wall_ms() // 1000
        self._ended = {j: exp for j, exp in self._ended.items() if exp > now}
        jti, exp = claims.get("jti"), claims.get("exp")
        if isinstance(jti, str) and isinstance(exp, int):
            self._ended[jti] = exp

    def _new_refresh(self, user_id: str, family_id: str) -> tuple[str, RefreshToken]:
        token = REFRESH_PREFIX + secrets.token_urlsafe(32)
        now = self._wall_ms()
        record = RefreshToken(
            token_hash=token_hash(token),
            family_id=family_id,
            user_id=user_id,
            created_at=now,
            expires_at=now + self._settings.refresh_token_seconds * 1000,
        )
        return token, record

    async def refresh_token(self, user: UserRecord) -> str:
        """The first token of a new family (a login)."""
        token, record = self._new_refresh(user.id, secrets.token_urlsafe(16))
        await self._storage.add_refresh_token(record)
        return token

    async def rotate(self, token: str) -> tuple[str, str]:
        """``(user id, successor token)``; ``Unauthorized`` for an unknown, expired, used or
        revoked token (the last two revoke its family)."""
        if not (token.startswith(REFRESH_PREFIX) and len(token) <= 128 and token.isascii()):
            raise Unauthorized("invalid refresh token")
        issued: list[str] = []

        def successor(old: RefreshToken) -> RefreshToken:
            new_token, record = self._new_refresh(old.user_id, old.family_id)
            issued.append(new_token)
            return record

        outcome, record = await self._storage.rotate_refresh_token(
            token_hash(token), self._wall_ms(), successor
        )
        if outcome == "reused":
            log.warning("refresh token reused; its family is revoked")
            raise Unauthorized("this refresh token was already used; log in again")
        if outcome != "ok" or record is None:
            raise Unauthorized("invalid or expired refresh token")
        return record.user_id, issued[-1]

    async def revoke(self, token: str) -> None:
        if token.startswith(REFRESH_PREFIX) and len(token) <= 128:
            await self._storage.revoke_refresh_token(token_hash(token))
