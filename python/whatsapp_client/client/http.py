"""REST calls (PROTOCOL.md §6): error mapping to the exception hierarchy, retries with
exponential backoff for idempotent calls."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from typing import Any

import aiohttp
import msgspec

from whatsapp_client import errors
from whatsapp_client.client.logging import get_logger

__all__ = ["HttpApi", "error_from_response"]

log = get_logger("http")

_JSON = msgspec.json.Decoder()
_ENC = msgspec.json.Encoder()

_CODE_CLASSES: dict[str, type[errors.WhatsAppError]] = {
    "invalid_credentials": errors.AuthenticationError,
    "unauthorized": errors.AuthenticationError,
    "username_taken": errors.UsernameTakenError,
    "invalid_username": errors.ValidationError,
    "weak_password": errors.ValidationError,
    "user_not_found": errors.NotFoundError,
    "no_keys": errors.SessionNotFoundError,
    "invalid_signature": errors.InvalidSignatureError,
    "forbidden": errors.ForbiddenError,
    "rate_limited": errors.RateLimitError,
    "too_large": errors.ValidationError,
}

_HINTS: dict[str, str] = {
    "invalid_credentials": "check the username and password",
    "unauthorized": "the token is no longer valid: log in again",
    "username_taken": "pick another username, or log in if it is yours",
    "invalid_username": "usernames are 3-32 characters of a-z 0-9 _ . -",
    "weak_password": "passwords need at least 8 characters",
    "user_not_found": "check the user id or username",
    "no_keys": "the peer has not uploaded keys yet: it must log in once with a client first",
    "rate_limited": "slow down and retry later",
}


def error_from_response(status: int, body: Any, retry_after: float | None) -> errors.WhatsAppError:
    """The exception for an error response of the server."""
    code = ""
    text = ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = str(body["error"].get("code") or "")
        text = str(body["error"].get("message") or "")
    cls = _CODE_CLASSES.get(code)
    if cls is None:
        if status == 401:
            cls = errors.AuthenticationError
        elif status == 403:
            cls = errors.ForbiddenError
        elif status == 404:
            cls = errors.NotFoundError
        elif status == 409:
            cls = errors.ConflictError
        elif status == 429:
            cls = errors.RateLimitError
        elif status in (400, 413, 422):
            cls = errors.ValidationError
        else:
            cls = errors.ServerError
    hint = _HINTS.get(code, "")
    message = f"server said {status} {code or 'error'}" + (f": {text}" if text else "")
    if hint:
        message += f" ({hint})"
    if cls is errors.RateLimitError:
        return errors.RateLimitError(message, code=code or None, retry_after=retry_after)
    return cls(message, code=code or None)


class HttpApi:
    """A thin REST client bound to one server URL; the bearer token is set after login."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        retries: int,
        backoff: float,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token: str | None = None
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retries = retries
        self._backoff = backoff
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        auth: bool = True,
        idempotent: bool | None = None,
    ) -> Any:
        """Sends one request and returns the decoded JSON body (``None`` for 204).

        Idempotent calls (GET, PUT, DELETE by default) are retried on network errors, 5xx
        and 429 with exponential backoff and jitter."""
        if idempotent is None:
            idempotent = method in ("GET", "PUT", "DELETE", "HEAD")
        headers = {"Accept": "application/json"}
        if auth:
            if not self.token:
                raise errors.AuthenticationError(
                    "not logged in: call login() or register() first", code="not_logged_in"
                )
            headers["Authorization"] = f"Bearer {self.token}"
        data: bytes | None = None
        if json is not None:
            data = _ENC.encode(json)
            headers["Content-Type"] = "application/json"
        url = self.base_url + path
        attempts = (self._retries if idempotent else 0) + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                async with self.session.request(
                    method, url, data=data, params=params, headers=headers
                ) as resp:
                    raw = await resp.read()
                    status = resp.status
                    retry_after_h = resp.headers.get("Retry-After")
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                if last:
                    raise errors.ConnectionError(
                        f"cannot reach the server at {self.base_url} ({method} {path}): "
                        f"{exc.__class__.__name__}; check server_url and the network",
                    ) from exc
                await self._sleep(attempt, None)
                continue
            if status < 400:
                if not raw:
                    return None
                try:
                    return _JSON.decode(raw)
                except msgspec.DecodeError as exc:
                    raise errors.ServerError(
                        f"the server answered {method} {path} with a body that is not JSON"
                    ) from exc
            retry_after: float | None = None
            if retry_after_h:
                try:
                    retry_after = float(retry_after_h)
                except ValueError:
                    retry_after = None
            body: Any = None
            try:
                body = _JSON.decode(raw) if raw else None
            except msgspec.DecodeError:
                body = None
            err = error_from_response(status, body, retry_after)
            if not last and (status >= 500 or status == 429):
                log.info("%s %s answered %s; retrying", method, path, status)
                await self._sleep(attempt, retry_after)
                continue
            raise err
        raise AssertionError("unreachable")  # pragma: no cover

    async def _sleep(self, attempt: int, retry_after: float | None) -> None:
        delay = self._backoff * (2**attempt)
        if retry_after is not None:
            delay = max(delay, min(retry_after, 60.0))
        await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not crypto
