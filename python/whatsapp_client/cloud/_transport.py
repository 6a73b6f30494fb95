"""``GraphTransport``: the one place that talks HTTP to Graph.

Bearer auth on every request (never on the session, so a shared session carries no token),
a per-call timeout, retries with exponential backoff and full jitter on timeouts, connection
errors, 5xx and the retryable Graph codes (``_codes.CODE_TABLE``), honouring ``Retry-After``,
and never on anything else. The circuit breaker is asked before every attempt and told the
outcome; metrics get latency and retries. Nothing here logs a header or the token.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Callable, Optional, Protocol, TypeVar

import aiohttp
import msgspec

from whatsapp_client.cloud._codes import classify
from whatsapp_client.cloud._errors import CloudAPIError, TransportError

__all__ = ["BreakerHook", "GraphTransport", "MetricsHook"]

log = logging.getLogger("whatsapp.cloud.transport")
T = TypeVar("T")

_RETRY_EXCEPTIONS = (
    asyncio.TimeoutError,
    aiohttp.ClientConnectionError,
    aiohttp.ClientPayloadError,
)


class BreakerHook(Protocol):
    def before_call(self, phone_number_id: str) -> None: ...
    def record_success(self, phone_number_id: str) -> None: ...
    def record_failure(self, phone_number_id: str, error: BaseException) -> None: ...


class MetricsHook(Protocol):
    def api_latency(self, endpoint: str, seconds: float) -> None: ...
    def retry(self, endpoint: str) -> None: ...


class GraphTransport:
    """HTTP to ``{base_url}/{api_version}/...`` with auth, retries and hooks."""

    def __init__(
        self,
        access_token: str,
        *,
        base_url: str = "https://graph.facebook.com",
        api_version: str = "v23.0",
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 120.0,
        session: Optional[aiohttp.ClientSession] = None,
        breaker: Optional[BreakerHook] = None,
        metrics: Optional[MetricsHook] = None,
        rng: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not access_token:
            from whatsapp_client.cloud._errors import ConfigurationError

            raise ConfigurationError("access_token is required")
        if max_retries < 0 or timeout <= 0:
            from whatsapp_client.cloud._errors import ConfigurationError

            raise ConfigurationError("max_retries must be >= 0 and timeout > 0")
        self._token = access_token
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version.strip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.breaker = breaker
        self.metrics = metrics
        self._rng = rng
        self.sleep = sleep  # replaceable (tests record the waits instead of sleeping)
        self._session = session
        self._owns_session = session is None

    def __repr__(self) -> str:
        return (
            f"GraphTransport(base_url={self.base_url!r}, api_version={self.api_version!r},"
            " access_token='***')"
        )

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def url(self, path: str) -> str:
        return f"{self.base_url}/{self.api_version}/{path.lstrip('/')}"

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def close(self) -> None:
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()

    def backoff_delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max, base * 2**attempt)]."""
        return self._rng() * min(self.backoff_max, self.backoff_base * (2.0**attempt))

    async def pause(self, endpoint: str, attempt: int, retry_after: Optional[float]) -> None:
        delay = self.backoff_delay(attempt) if retry_after is None else retry_after
        if self.metrics is not None:
            self.metrics.retry(endpoint)
        log.info("retrying %s in %.3fs (attempt %d)", endpoint, delay, attempt + 2)
        await self.sleep(delay)

    async def call(
        self,
        method: str,
        path: str,
        decode: type[T],
        *,
        endpoint: str,
        json: Any = None,
        params: Optional[Mapping[str, str]] = None,
        form: Optional[Callable[[], aiohttp.FormData]] = None,
        timeout: Optional[float] = None,
        breaker_key: Optional[str] = None,
        media: bool = False,
        breaker_checked: bool = False,
    ) -> T:
        """One Graph call, retried as described above; its JSON answer decoded as ``decode``.

        ``form`` builds a fresh multipart body per attempt (a body can be sent once).
        ``breaker_key`` is the phone number id the breaker tracks (None: no breaker);
        ``breaker_checked`` says the caller already asked the breaker for the first attempt
        (a send asks before it waits on the limiter, so an open circuit costs no pacing).
        """
        body = await self.request(
            method,
            self.url(path),
            endpoint=endpoint,
            json=json,
            params=params,
            form=form,
            timeout=timeout,
            breaker_key=breaker_key,
            media=media,
            breaker_checked=breaker_checked,
        )
        try:
            return msgspec.json.decode(body, type=decode)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise CloudAPIError(
                f"unexpected answer from Graph for {endpoint}: {exc}", status=200
            ) from exc

    async def request(
        self,
        method: str,
        url: str,
        *,
        endpoint: str,
        json: Any = None,
        params: Optional[Mapping[str, str]] = None,
        form: Optional[Callable[[], aiohttp.FormData]] = None,
        timeout: Optional[float] = None,
        breaker_key: Optional[str] = None,
        media: bool = False,
        breaker_checked: bool = False,
    ) -> bytes:
        """The raw body of a successful answer; raises the classified error otherwise."""
        attempt = 0
        while True:
            checked = breaker_checked and attempt == 0
            if self.breaker is not None and breaker_key is not None and not checked:
                self.breaker.before_call(breaker_key)
            started = time.perf_counter()
            try:
                async with self.session().request(
                    method,
                    url,
                    json=json,
                    params=params,
                    data=form() if form is not None else None,
                    headers=self.auth_headers,
                    timeout=aiohttp.ClientTimeout(total=timeout or self.timeout),
                ) as resp:
                    body = await resp.read()
                    status = resp.status
                    headers = dict(resp.headers)
            except _RETRY_EXCEPTIONS as exc:
                self._observe(endpoint, started)
                self._failure(breaker_key, exc)
                what = "timed out" if isinstance(exc, asyncio.TimeoutError) else type(exc).__name__
                if attempt < self.max_retries:
                    log.warning("%s %s: %s", method, endpoint, what)
                    await self.pause(endpoint, attempt, None)
                    attempt += 1
                    continue
                raise TransportError(
                    f"{method} {endpoint} failed after {attempt + 1} attempt(s): {what}"
                ) from exc
            self._observe(endpoint, started)
            if status < 400:
                if self.breaker is not None and breaker_key is not None:
                    self.breaker.record_success(breaker_key)
                log.debug("%s %s -> %d", method, endpoint, status)
                return body
            error = classify(status, body, headers, media=media)
            self._failure(breaker_key, error)
            log.warning(
                "%s %s -> HTTP %d code %s (%s)%s",
                method,
                endpoint,
                status,
                error.code,
                type(error).__name__,
                f" fbtrace_id={error.fbtrace_id}" if error.fbtrace_id else "",
            )
            if error.retryable and attempt < self.max_retries:
                wait = error.retry_after
                if wait is None or wait <= self.max_retry_after:
                    await self.pause(endpoint, attempt, wait)
                    attempt += 1
                    continue
            raise error

    @asynccontextmanager
    async def stream(
        self, url: str, *, timeout: Optional[float] = None
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """An authenticated GET of an absolute url (a media url), not retried here."""
        async with self.session().get(
            url,
            headers=self.auth_headers,
            timeout=aiohttp.ClientTimeout(total=timeout or self.timeout),
        ) as resp:
            yield resp

    def _observe(self, endpoint: str, started: float) -> None:
        if self.metrics is not None:
            self.metrics.api_latency(endpoint, time.perf_counter() - started)

    def _failure(self, key: Optional[str], error: BaseException) -> None:
        if self.breaker is not None and key is not None:
            self.breaker.record_failure(key, error)
