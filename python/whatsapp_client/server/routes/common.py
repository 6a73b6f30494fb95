"""Helpers shared by the REST handlers: bodies, bearer auth, keys, JSON answers."""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
from typing import Any, TypeVar

import msgspec
from aiohttp import web

from whatsapp_client._waits import wait_for
from whatsapp_client.server.credentials import token_hash
from whatsapp_client.server.curve import acceptable_x25519
from whatsapp_client.server.errors import ApiError, bad_request, unauthorized
from whatsapp_client.server.schemas import decode, encode
from whatsapp_client.server.state import state_of
from whatsapp_client.server.validation import strict_uint

T = TypeVar("T")


async def read_body(request: web.Request, kind: type[T]) -> T:
    timeout = state_of(request).settings.request_timeout
    try:
        raw = await wait_for(request.read(), timeout)
    except asyncio.TimeoutError:
        raise ApiError(408, "request_timeout", "the request body arrived too slowly") from None
    try:
        return decode(kind, raw)
    except msgspec.ValidationError as exc:
        raise bad_request(f"invalid body: {exc}") from None
    except msgspec.DecodeError as exc:
        raise bad_request(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise bad_request("body is nested too deeply") from None


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not plausible_token(token):
        return None
    return token


def plausible_token(token: str) -> bool:
    """Tokens are printable ASCII (URL-safe base64); anything else (such as undecodable
    header bytes) cannot match one and is simply unauthorized."""
    return 0 < len(token) <= 512 and token.isascii() and token.isprintable()


async def require_user(request: web.Request) -> str:
    """The caller's user id, or 401 ``unauthorized``."""
    user_id, _ = await require_session(request)
    return user_id


async def require_session(request: web.Request) -> tuple[str, bytes]:
    """The caller's user id and the hash of the token it used, or 401 ``unauthorized``."""
    state = state_of(request)
    token = bearer_token(request)
    if token is None:
        state.metrics.auth_failures.labels("http_no_token").inc()
        raise unauthorized()
    hashed = token_hash(token)
    user_id = await state.storage.user_for_token(hashed)
    if user_id is None:
        state.metrics.auth_failures.labels("http_bad_token").inc()
        raise unauthorized()
    if state.guard is not None:
        state.guard.authenticated(request)
    return user_id, hashed


def json(value: Any, status: int = 200) -> web.Response:
    return web.Response(body=encode(value), status=status, content_type="application/json")


def no_content() -> web.Response:
    return web.Response(status=204)


def key_bytes(value: str, field: str, length: int = 32) -> bytes:
    """Decode standard padded base64 and check the length, or 400 ``invalid_key``."""
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ApiError(400, "invalid_key", f"{field} is not valid base64") from None
    if len(raw) != length:
        raise ApiError(400, "invalid_key", f"{field} must be {length} bytes, got {len(raw)}")
    return raw


def x25519_key(value: str, field: str) -> bytes:
    """An X25519 public key: canonical and not of low order, or 400 ``invalid_key``."""
    raw = key_bytes(value, field)
    if not acceptable_x25519(raw):
        raise ApiError(400, "invalid_key", f"{field} is not a usable X25519 public key")
    return raw


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def query_int(
    request: web.Request, name: str, default: int | None, low: int, high: int
) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    value = strict_uint(raw)
    if value is None:
        raise bad_request(f"{name} must be a whole number in ASCII digits")
    if not low <= value <= high:
        raise bad_request(f"{name} must be between {low} and {high}")
    return value


def client_address(request: web.Request) -> str:
    """The key of the client's address for rate limits: the peer address, or the first
    ``X-Forwarded-For`` entry when configured to trust it. IPv6 addresses count per /64,
    the block one subscriber usually holds."""
    raw = request.remote or "unknown"
    if state_of(request).settings.trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "")
        first = forwarded.split(",")[0].strip()
        if first:
            raw = first
    try:
        parsed = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)
