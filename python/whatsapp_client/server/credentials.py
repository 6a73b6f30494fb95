"""Password hashing (bcrypt, off the event loop) and bearer tokens (random, stored hashed)."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets

import bcrypt

USERNAME_RE = re.compile(r"^[a-z0-9_.\-]{3,32}$")
MIN_PASSWORD_LENGTH = 8
# bcrypt reads at most 72 bytes; hashing a SHA-256 prehash would change the stored format,
# so longer passwords are simply refused by the schema's length cap and truncated here.
_BCRYPT_MAX = 72


def valid_username(username: str) -> bool:
    return USERNAME_RE.fullmatch(username) is not None


def strong_enough(password: str) -> bool:
    return len(password) >= MIN_PASSWORD_LENGTH


def _secret(password: str) -> bytes:
    return password.encode("utf-8")[:_BCRYPT_MAX]


async def hash_password(password: str, cost: int) -> bytes:
    salt = bcrypt.gensalt(rounds=cost)
    return await asyncio.get_running_loop().run_in_executor(
        None, bcrypt.hashpw, _secret(password), salt
    )


async def check_password(password: str, hashed: bytes) -> bool:
    return await asyncio.get_running_loop().run_in_executor(
        None, bcrypt.checkpw, _secret(password), hashed
    )


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
