"""The ``cloud`` engine: one session is one business phone number of the WhatsApp Business
Cloud API (Graph API), through :class:`~whatsapp_client.cloud.CloudClient`.

``connected`` once ``GET /{phone_number_id}`` answers with the session's token (a refused
token, or a number the token cannot see, → ``failed`` with the reason; an unreachable or
busy Graph → retried with backoff, ``connecting``, and ``failed`` after ``max_failures``
attempts in a row). Sends go through the gateway's queue and pacing, then the client's own
limiter (per-number rate, per-recipient spacing) and retries. Inbound messages and
statuses arrive on the session's webhook route (``_cloud_webhook``), are checked by a
:class:`~whatsapp_client.cloud.WebhookReceiver` (handshake, ``X-Hub-Signature-256``) and
are recorded before the route answers 200, so that Meta retries what was not recorded.

Graph has no client-chosen message id: a message sent just before a crash, and not yet
recorded as sent, is sent again after the restart (at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import random
import shutil
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import Callable, Optional

from whatsapp_client._waits import wait_for
from whatsapp_client.client.logging import get_logger
from whatsapp_client.cloud._breaker import CircuitBreaker
from whatsapp_client.cloud._client import CloudClient
from whatsapp_client.cloud._errors import (
    AuthError,
    CircuitOpenError,
    CloudAPIError,
    CloudError,
    IntegrityError,
    MediaError,
    RateLimitError,
    RecipientError,
    TemplateError,
    ValidationError,
)
from whatsapp_client.cloud._events import ErrorEvent, MessageEvent, StatusEvent
from whatsapp_client.cloud._limiter import LocalLimiter
from whatsapp_client.cloud._metrics import CloudMetrics
from whatsapp_client.cloud._models import SendResult as CloudSendResult
from whatsapp_client.cloud._webhook_app import WebhookReceiver
from whatsapp_client.gateway._cloud_config import CloudCredentials, CloudOptions
from whatsapp_client.gateway._cloud_inbound import (
    CountedHandlers,
    download_to,
    failure_reason,
    inbound_of,
)
from whatsapp_client.gateway._cloud_recipient import e164_digits
from whatsapp_client.gateway._engine import EngineListener, SendRefused, SendResult
from whatsapp_client.gateway._errors import InvalidRequest
from whatsapp_client.gateway._ids import now_ms
from whatsapp_client.gateway._models import MessageType, SessionStatus

__all__ = ["CloudEngine"]

log = get_logger("gateway.cloud")

# Refused for good: resending the same request cannot succeed.
_FINAL = (RecipientError, ValidationError, TemplateError, MediaError, IntegrityError)


class CloudEngine:
    name = "cloud"
    # Graph sends to one number at a time; there are no groups.
    group_media = False

    def __init__(
        self,
        session_id: str,
        config: Mapping[str, str],
        credentials: CloudCredentials,
        directory: Path,
        listener: EngineListener,
        options: CloudOptions,
        *,
        metrics: Optional[CloudMetrics] = None,
    ) -> None:
        self._session_id = session_id
        self._config = dict(config)
        self._phone_number_id = config["phone_number_id"]
        self._creds = credentials
        self._dir = directory
        self._listener = listener
        self._opts = options
        self._metrics = metrics
        self._client: Optional[CloudClient] = None
        self._limiter: Optional[LocalLimiter] = None
        self._runner: Optional[asyncio.Task[None]] = None
        self._connected = False
        self._live = False  # listener calls allowed (False once stop() began)
        self._failed = False
        self._handlers = handlers = CountedHandlers()
        handlers.on_message(self._on_message)
        handlers.on_status(self._on_status)
        handlers.on_error(self._on_error)
        # Meta's repeats are dropped by the receiver's in-memory record, and across
        # restarts by the storage (a message id it holds; a status that is no step forward).
        self.receiver = WebhookReceiver(
            app_secret=credentials.app_secret,
            verify_token=credentials.verify_token,
            handlers=handlers,
        )

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def user_id(self) -> str:
        """The account: the Graph id of the session's phone number."""
        return self._phone_number_id

    @property
    def connected(self) -> bool:
        return self._connected

    async def start(self) -> None:
        if self._runner is not None and not self._runner.done():
            return
        self._live = True
        self._failed = False
        # Received media not yet sealed when the gateway stopped: plaintext; Meta retries
        # a webhook that was not answered 200.
        await asyncio.to_thread(shutil.rmtree, self._dir / "incoming", True)
        cfg = self._config
        self._limiter = limiter = LocalLimiter(
            rate_per_second=float(cfg["rate_per_second"]),
            pair_spacing=float(cfg["pair_spacing"]),
        )
        # Opens after repeated 5xx/timeouts or at once on a policy block (sends then wait
        # in the queue); its state is a metric, whatsapp_breaker_state.
        breaker = CircuitBreaker(
            on_change=None if self._metrics is None else self._metrics.breaker_state
        )
        self._client = CloudClient(
            self._creds.access_token,
            self._phone_number_id,
            api_version=cfg["api_version"],
            base_url=cfg["base_url"],
            timeout=self._opts.request_timeout,
            max_retries=self._opts.max_retries,
            limiter=limiter,
            breaker=breaker,
            metrics=self._metrics,
        )
        self._runner = asyncio.get_running_loop().create_task(
            self._run(), name=f"cloud-{self._session_id}"
        )

    async def stop(self) -> None:
        self._live = False
        self._connected = False
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        with contextlib.suppress(Exception):
            await wait_for(self._handlers.settled(), self._opts.record_timeout)
        client, self._client = self._client, None
        if client is not None:
            await client.close()
        limiter, self._limiter = self._limiter, None
        if limiter is not None:
            await limiter.close()

    async def erase(self) -> None:
        await asyncio.to_thread(shutil.rmtree, self._dir, True)

    async def _status(self, status: SessionStatus, reason: Optional[str] = None) -> None:
        if self._live:
            await self._listener.on_status(status, reason)

    def _delay(self, failures: int) -> float:
        base = self._opts.reconnect_base_delay * 2.0 ** (failures - 1)
        return min(self._opts.reconnect_max_delay, base) * random.uniform(0.8, 1.2)  # noqa: S311

    async def _run(self) -> None:
        """Checks the token and the number until Graph answers (or refuses for good)."""
        client = self._client
        assert client is not None
        failures = 0
        await self._status("connecting")
        while True:
            try:
                info = await client.check()
            except AuthError as exc:
                await self._fail(f"the Cloud API refused the access token: {exc}")
                return
            except CircuitOpenError as exc:
                # Graph failed often just now: wait for the probe, not a failed attempt.
                await self._status("connecting", str(exc))
                await asyncio.sleep(max(exc.retry_after, 0.05))
                continue
            except (CloudAPIError, CloudError, OSError, asyncio.TimeoutError) as exc:
                if isinstance(exc, CloudAPIError) and not exc.retryable:
                    await self._fail(f"the Cloud API refused the phone number: {exc}")
                    return
                failures += 1
                if failures >= self._opts.max_failures:
                    await self._fail(f"{failures} attempts to reach the Cloud API failed: {exc}")
                    return
                await self._status("connecting", f"attempt {failures} failed: {exc}")
                await asyncio.sleep(self._delay(failures))
                continue
            log.info(
                "session %s: cloud number %s (%s) checks out",
                self._session_id,
                self._phone_number_id,
                info.display_phone_number,
            )
            self._connected = True
            await self._status("connected")
            return

    async def _fail(self, reason: str) -> None:
        self._connected = False
        if not self._failed:
            self._failed = True
            log.warning("session %s: %s", self._session_id, reason)
            await self._status("failed", reason)

    # --- recipients -----------------------------------------------------------------------

    async def resolve_recipient(self, to: str) -> str:
        return e164_digits(to)

    async def check_group(self, group_id: str) -> None:
        raise InvalidRequest("the cloud engine has no groups: give 'to' (a phone number)")

    # --- sending ----------------------------------------------------------------------------

    def _require(self) -> CloudClient:
        client = self._client
        if client is None or not self._connected:
            raise ConnectionError("the cloud session is not connected")
        return client

    async def _call(self, send: Callable[[], Awaitable[CloudSendResult]]) -> SendResult:
        """One Graph send, its errors sorted into final (``SendRefused``) and not now."""
        try:
            result = await send()
        except AuthError as exc:
            # Every later send would be refused too: the session fails (the message stays
            # queued for a restart with a valid token).
            await self._fail(f"the Cloud API refused the access token: {exc}")
            raise
        except _FINAL as exc:
            raise SendRefused(str(exc)) from exc
        except RateLimitError:
            raise  # not now: the limiter or Graph asks to slow down
        except CloudAPIError as exc:
            if exc.retryable:
                raise
            raise SendRefused(str(exc)) from exc
        return SendResult(engine_message_id=result.message_id, timestamp=now_ms())

    async def send_text(
        self,
        to: Optional[str],
        group_id: Optional[str],
        text: str,
        *,
        message_id: Optional[str] = None,
    ) -> SendResult:
        client = self._require()
        if to is None:
            raise SendRefused("the cloud engine sends to a phone number, not to a group")
        return await self._call(lambda: client.send_text(to, text))

    async def send_media(
        self,
        to: Optional[str],
        group_id: Optional[str],
        path: Path,
        *,
        kind: MessageType,
        mime: str,
        filename: Optional[str],
        caption: Optional[str],
        message_id: Optional[str] = None,
    ) -> SendResult:
        client = self._require()
        if to is None:
            raise SendRefused("the cloud engine sends to a phone number, not to a group")
        # Uploaded first (POST /{phone_number_id}/media), then sent by the media id.
        if kind == "image":
            return await self._call(
                lambda: client.send_image(to, path=path, caption=caption, mime_type=mime)
            )
        if kind == "video":
            return await self._call(
                lambda: client.send_video(to, path=path, caption=caption, mime_type=mime)
            )
        if kind == "audio":
            if caption is not None:
                raise SendRefused("the Cloud API sends audio without a caption")
            return await self._call(lambda: client.send_audio(to, path=path, mime_type=mime))
        return await self._call(
            lambda: client.send_document(
                to, path=path, caption=caption, filename=filename, mime_type=mime
            )
        )

    # --- inbound (called by the receiver's dispatch) -----------------------------------------

    def _ours(self, phone_number_id: str) -> bool:
        # One app's webhook carries every number of the business account.
        if phone_number_id != self._phone_number_id:
            log.debug("session %s: event of number %s ignored", self._session_id, phone_number_id)
            return False
        return self._live

    async def _on_message(self, event: MessageEvent) -> None:
        client = self._client
        if not self._ours(event.phone_number_id) or client is None:
            return
        media = None
        try:
            media = await download_to(client, event, self._dir / "incoming")
        except (OSError, CloudError) as exc:
            log.warning(
                "session %s: media of %s not stored: %s", self._session_id, event.message_id, exc
            )
            full = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
            await self._listener.on_error(
                "storage_full" if full else "media_download_failed",
                f"the media of a received message could not be stored: {exc}",
                {"message_id": event.message_id},
            )
        try:
            await self._listener.on_message(inbound_of(event, media))
        finally:
            if media is not None:
                await asyncio.to_thread(shutil.rmtree, media.path.parent, True)

    async def _on_status(self, event: StatusEvent) -> None:
        if not self._ours(event.phone_number_id):
            return
        at = event.timestamp * 1000
        if event.status in ("delivered", "read"):
            await self._listener.on_message_status(event.message_id, event.status, at)
        elif event.status == "failed":
            await self._listener.on_message_status(
                event.message_id, "failed", at, reason=failure_reason(event)
            )
        # "sent": recorded when Graph accepted the message.

    async def _on_error(self, event: ErrorEvent) -> None:
        if not self._ours(event.phone_number_id):
            return
        text = event.details or event.message or event.title or "no details"
        await self._listener.on_error(
            "cloud_error",
            f"the Cloud API reported an error: {text}",
            {"graph_code": str(event.code)},
        )

    async def record_webhook(self, raw_body: bytes, signature: Optional[str]) -> int:
        """A webhook POST: 401 on a bad signature (nothing parsed), 400 on a bad body, 503
        if the session stopped while handling it (Meta posts it again), else 200 once its
        events are recorded (or ``record_timeout`` passed)."""
        status, fresh = await self.receiver.handle_post(raw_body, signature)
        if status == 200:
            if fresh:
                self._handlers.expect()  # scheduled, not yet started: no await in between
            try:
                await wait_for(self._handlers.settled(), self._opts.record_timeout)
            except asyncio.TimeoutError:
                log.warning("session %s: webhook events still being recorded", self._session_id)
            if not self._live:
                return 503
        return status
