"""Password hashing (bcrypt, off the event loop) and bearer tokens (random, stored hashed)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import secrets

import bcrypt

USERNAME_RE = re.compile(r"^[a-z0-9_.\-]{3,32}$")
MIN_PASSWORD_LENGTH = 8
# bcrypt reads at most 72 bytes, so passwords are pre-hashed: bcrypt runs over
# base64(HMAC-SHA256(key=_PREHASH_KEY, password)), 44 ASCII bytes with no NUL, which keeps
# every byte of a long password. Such hashes are stored with the _PREHASHED prefix; hashes
# without it (written by earlier versions over the password truncated to 72 bytes) still
# verify the old way.
_BCRYPT_MAX = 72
_PREHASH_KEY = b"WAC1/server-password-prehash"
_PREHASHED = b"$wac1-hmac-sha256$"


def valid_username(username: str) -> bool:
    return USERNAME_RE.fullmatch(username) is not None


def strong_enough(password: str) -> bool:
    return len(password) >= MIN_PASSWORD_LENGTH


def _prehash(password: str) -> bytes:
    digest = hmac.new(_PREHASH_KEY, password.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest)


def _legacy_secret(password: str) -> bytes:
    return password.encode("utf-8")[:_BCRYPT_MAX]


def _hash(password: str, cost: int) -> bytes:
    return _PREHASHED + bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds=cost))


def _check(password: str, hashed: bytes) -> bool:
    if hashed.startswith(_PREHASHED):
        return bcrypt.checkpw(_prehash(password), hashed[len(_PREHASHED) :])
    return bcrypt.checkpw(_legacy_secret(password), hashed)


async def hash_password(password: str, cost: int) -> bytes:
    return await asyncio.get_running_loop().run_in_executor(None, _hash, password, cost)


async def check_password(password: str, hashed: bytes) -> bool:
    return await asyncio.get_running_loop().run_in_executor(None, _check, password, hashed)


class DummyHash:
    """A hash to check against for unknown usernames, so timing does not reveal them.

    Made on first use, in a thread, so neither startup nor the event loop pays for it.
    """

    def __init__(self, cost: int) -> None:
        self._cost = cost
        self._hash: bytes | None = None

    async def burn(self, password: str) -> None:
        if self._hash is None:
            self._hash = await hash_password("not-a-password", self._cost)
        await check_password(password, self._hash)


def new_token() -> str:
    """A 256-bit random bearer token."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    """What is stored: SHA-256 is enough for 256-bit random secrets (no brute force)."""
    return hashlib.sha256(token.encode("utf-8")).digest()
