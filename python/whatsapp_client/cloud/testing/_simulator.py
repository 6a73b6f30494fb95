"""``GraphSimulator``: the Cloud API on a loopback port, for tests and demos."""

from __future__ import annotations

import secrets
import time
from types import TracebackType
from typing import Any, Callable, Optional

import aiohttp
from aiohttp import web

from whatsapp_client.cloud.testing import _webhooks as wh
from whatsapp_client.cloud.testing._routes import Identity, build_app
from whatsapp_client.cloud.testing._state import FailRule, SimState
from whatsapp_client.cloud.testing._templates import make_template


class GraphSimulator:
    """A real aiohttp server on ``127.0.0.1`` that answers like the Graph API.

    ``async with GraphSimulator() as sim:`` then point a client at ``sim.base_url`` with
    ``sim.access_token`` and ``sim.phone_number_id``. ``clock`` (seconds, monotonic) drives
    the rate limit and the media url lifetime; tests pass a fake one.
    """

    def __init__(
        self,
        *,
        app_secret: Optional[str] = None,
        access_token: Optional[str] = None,
        phone_number_id: str = "106540352242922",
        display_phone_number: str = "15550100001",
        verified_name: str = "Simulated Business",
        quality_rating: str = "GREEN",
        waba_id: str = "102290129340398",
        api_version: str = "v23.0",
        host: str = "127.0.0.1",
        port: int = 0,
        media_url_lifetime: float = 300.0,
        rate_limit_per_second: Optional[float] = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Random by default: a test that needs them reads sim.access_token / sim.app_secret.
        self._app_secret = app_secret or secrets.token_urlsafe(24)
        self.api_version = api_version
        self.waba_id = waba_id
        self._host = host
        self._port = port
        self._state = SimState(clock=clock)
        self._state.media_url_lifetime = media_url_lifetime
        self._state.rate_limit_per_second = rate_limit_per_second
        self._who = Identity(
            access_token=access_token or secrets.token_urlsafe(24),
            phone_number_id=phone_number_id,
            display_phone_number=display_phone_number,
            verified_name=verified_name,
            quality_rating=quality_rating,
        )
        self._runner: Optional[web.AppRunner] = None
        self._session: Optional[aiohttp.ClientSession] = None
        self.base_url = ""
        self.port = 0

    def __repr__(self) -> str:
        return (
            f"GraphSimulator(base_url={self.base_url!r}, "
            f"phone_number_id={self.phone_number_id!r}, access_token='***', app_secret='***')"
        )

    # -- identity -----------------------------------------------------------------------
    @property
    def access_token(self) -> str:
        return self._who.access_token

    @property
    def app_secret(self) -> str:
        return self._app_secret

    @property
    def phone_number_id(self) -> str:
        return self._who.phone_number_id

    @property
    def display_phone_number(self) -> str:
        return self._who.display_phone_number

    @property
    def graph_url(self) -> str:
        """``base_url`` + ``/`` + ``api_version``."""
        return f"{self.base_url}/{self.api_version}"

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        if self._runner is not None:
            return
        runner = web.AppRunner(build_app(self._state, self._who), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        self._port = self.port  # a restart keeps the port
        self.base_url = f"http://{self._host}:{self.port}"
        self._who.base_url = self.base_url
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> GraphSimulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.close()

    # -- what was received ----------------------------------------------------------------
    @property
    def sent(self) -> list[dict[str, Any]]:
        """Every accepted message request body, in order (read receipts excluded)."""
        return self._state.sent

    @property
    def read_receipts(self) -> list[str]:
        """The message ids marked as read, in order."""
        return self._state.read_receipts

    # -- behaviour knobs ------------------------------------------------------------------
    @property
    def rate_limit_per_second(self) -> Optional[float]:
        """Messages accepted per second; above it, code 130429. ``None``: no limit."""
        return self._state.rate_limit_per_second

    @rate_limit_per_second.setter
    def rate_limit_per_second(self, value: Optional[float]) -> None:
        self._state.rate_limit_per_second = value

    @property
    def media_url_lifetime(self) -> float:
        """Seconds a media url stays valid after ``GET /{media_id}`` handed it out."""
        return self._state.media_url_lifetime

    @media_url_lifetime.setter
    def media_url_lifetime(self, value: float) -> None:
        self._state.media_url_lifetime = value

    def fail_next(
        self,
        path_suffix: str,
        *,
        status: Optional[int] = None,
        code: int,
        subcode: Optional[int] = None,
        message: Optional[str] = None,
        details: Optional[str] = None,
        times: int = 1,
        retry_after: Optional[float] = None,
    ) -> None:
        """Answer the next ``times`` requests whose path ends with ``path_suffix`` with Graph
        error ``code`` (HTTP ``status``; by default the status Graph uses for the code)."""
        from whatsapp_client.cloud.testing._errors import default_status

        if times < 1:
            raise ValueError("times must be at least 1")
        self._state.fail_rules.append(
            FailRule(
                path_suffix,
                default_status(code) if status is None else status,
                code,
                subcode,
                message,
                details,
                times,
                retry_after,
            )
        )

    def add_template(
        self,
        name: str,
        language: str,
        *,
        body_params: int = 0,
        header: Optional[str] = None,
        header_params: Optional[int] = None,
        button_params: int = 0,
    ) -> None:
        """Register an approved template (``header``: text, image, video, document, location)."""
        template = make_template(
            name,
            language,
            body_params=body_params,
            header=header,
            header_params=header_params,
            button_params=button_params,
        )
        self._state.templates[(name, language)] = template

    def add_media(self, data: bytes, mime_type: str) -> str:
        """Store media (as if a user sent it); returns its media id."""
        return self._state.add_media(data, mime_type)

    def media_bytes(self, media_id: str) -> bytes:
        """The stored bytes of ``media_id`` (``KeyError`` if unknown or deleted)."""
        return self._state.media[media_id].data

    def corrupt_media(self, media_id: str) -> None:
        """Flip one byte of the stored media: same size, but the bytes served no longer
        match the sha256 ``GET /{media_id}`` announces (to test a client's integrity
        check). ``KeyError`` if the id is unknown or deleted, ``ValueError`` if empty."""
        self._state.corrupt_media(media_id)

    def expire_media_urls(self) -> None:
        """Every media url handed out so far answers 404 from now on."""
        self._state.expire_media_urls()

    # -- webhooks ---------------------------------------------------------------------------
    @property
    def business(self) -> wh.Business:
        return wh.Business(self.phone_number_id, self.display_phone_number, self.waba_id)

    def inbound_text(self, from_: str, text: str, **kwargs: Any) -> dict[str, Any]:
        """A payload with one inbound text message (kwargs: message_id, timestamp, reply_to)."""
        message = wh.text_message(from_, text, **kwargs)
        return wh.envelope(self.business, [wh.value(self.business, messages=[message])])

    def inbound_media(
        self, from_: str, kind: str, media_id: str, mime_type: str, **kwargs: Any
    ) -> dict[str, Any]:
        """A payload with one inbound media message; its sha256 is the stored media's."""
        stored = self._state.media.get(media_id)
        kwargs.setdefault("sha256", stored.sha256 if stored is not None else None)
        message = wh.media_message(from_, kind, media_id, mime_type, **kwargs)
        return wh.envelope(self.business, [wh.value(self.business, messages=[message])])

    def status_payload(
        self, message_id: str, status: str, recipient: str, **kwargs: Any
    ) -> dict[str, Any]:
        """A payload with one status update (kwargs: timestamp, error_code, category)."""
        update = wh.status_object(message_id, status, recipient, **kwargs)
        return wh.envelope(self.business, [wh.value(self.business, statuses=[update])])

    def error_payload(self, code: int, details: Optional[str] = None) -> dict[str, Any]:
        """A payload carrying an account-level error in ``value.errors``."""
        errors = [wh.error_object(code, details)]
        return wh.envelope(self.business, [wh.value(self.business, errors=errors)])

    def sign(self, raw_body: bytes) -> str:
        """The ``X-Hub-Signature-256`` value for ``raw_body`` with the app secret."""
        return wh.sign(raw_body, self._app_secret)

    async def deliver(
        self,
        webhook_url: str,
        payload: Optional[dict[str, Any]] = None,
        *,
        messages: Optional[list[dict[str, Any]]] = None,
        statuses: Optional[list[dict[str, Any]]] = None,
        signature: Optional[str] = None,
        timeout: float = 10.0,
    ) -> int:
        """POST a signed webhook to ``webhook_url``; returns the HTTP status it answered.

        Give a whole ``payload``, or message/status objects to wrap in one. ``signature``
        overrides the header (to test refusals); ``""`` sends none."""
        if payload is None:
            if not messages and not statuses:
                raise ValueError("deliver needs a payload, messages or statuses")
            change = wh.value(self.business, messages=messages, statuses=statuses)
            payload = wh.envelope(self.business, [change])
        raw = wh.encode(payload)
        headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
        header = self.sign(raw) if signature is None else signature
        if header:
            headers["X-Hub-Signature-256"] = header
        if self._session is None:
            raise RuntimeError("the simulator is not running (use `async with`)")
        async with self._session.post(
            webhook_url, data=raw, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as response:
            await response.read()
            return response.status
