"""``CloudClient``: the asynchronous WhatsApp Business Cloud API client.

It composes the transport (auth, timeouts, retries), the limiter (pacing, pair spacing,
conversation cap), the circuit breaker, the metrics and the webhook receiver::

    async with CloudClient(token, phone_number_id, app_secret=..., verify_token=...) as cloud:
        sent = await cloud.send_text("+15551234567", "Hello!")
        print(sent.message_id)

Endpoints: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages/ ,
https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media/ and
https://developers.facebook.com/docs/whatsapp/cloud-api/reference/phone-numbers/ .
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Optional, Union

import aiohttp

from whatsapp_client.cloud._client_media import MediaSendingMixin
from whatsapp_client.cloud._client_webhooks import WebhooksMixin
from whatsapp_client.cloud._download import download_media, get_media_info
from whatsapp_client.cloud._errors import ConfigurationError
from whatsapp_client.cloud._interactive import (
    ListSection,
    ReplyButton,
    buttons_payload,
    list_payload,
)
from whatsapp_client.cloud._models import (
    MediaInfo,
    MediaKind,
    PhoneNumberInfo,
    ReadResult,
    SendResponse,
    SendResult,
    SuccessResponse,
)
from whatsapp_client.cloud._payloads import (
    normalize_recipient,
    reaction_payload,
    read_payload,
    text_payload,
)
from whatsapp_client.cloud._templates import Component, template_payload
from whatsapp_client.cloud._transport import GraphTransport
from whatsapp_client.cloud._upload import MediaSource, upload_media

if TYPE_CHECKING:
    from whatsapp_client.cloud._breaker import CircuitBreaker
    from whatsapp_client.cloud._dedup import DedupStore
    from whatsapp_client.cloud._handlers import WebhookHandlers
    from whatsapp_client.cloud._limiter import Limiter
    from whatsapp_client.cloud._metrics import CloudMetrics
    from whatsapp_client.cloud._webhook_app import WebhookReceiver

__all__ = ["CloudClient"]

log = logging.getLogger("whatsapp.cloud.client")


def _tail(wa_id: str) -> str:
    """A recipient for logs: only the last four digits (phone numbers are personal data)."""
    return "…" + wa_id[-4:]


class CloudClient(MediaSendingMixin, WebhooksMixin):
    """Async client for one business phone number. Use ``async with`` or call :meth:`close`."""

    def __init__(
        self,
        access_token: str,
        phone_number_id: str,
        *,
        app_secret: Optional[str] = None,
        verify_token: Optional[str] = None,
        api_version: str = "v23.0",
        base_url: str = "https://graph.facebook.com",
        timeout: float = 30.0,
        max_retries: int = 3,
        limiter: Optional[Limiter] = None,
        breaker: Optional[CircuitBreaker] = None,
        metrics: Optional[CloudMetrics] = None,
        dedup: Optional[DedupStore] = None,
        insecure_skip_signature: bool = False,
        session: Optional[aiohttp.ClientSession] = None,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 120.0,
    ) -> None:
        if not isinstance(phone_number_id, str) or not phone_number_id.strip():
            raise ConfigurationError("phone_number_id is required")
        self.phone_number_id = phone_number_id
        if breaker is None:
            from whatsapp_client.cloud._breaker import CircuitBreaker

            breaker = CircuitBreaker(on_change=metrics.breaker_state if metrics else None)
        self._transport = GraphTransport(
            access_token,
            base_url=base_url,
            api_version=api_version,
            timeout=timeout,
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            max_retry_after=max_retry_after,
            session=session,
            breaker=breaker,
            metrics=metrics,
        )
        self._owns_limiter = limiter is None
        if limiter is None:
            from whatsapp_client.cloud._limiter import LocalLimiter

            limiter = LocalLimiter(metrics=metrics)
        self.limiter: Limiter = limiter
        self.breaker: CircuitBreaker = breaker
        self.metrics = metrics
        self.timeout = timeout
        self._app_secret = app_secret
        self._verify_token = verify_token
        self._dedup = dedup
        self._insecure = insecure_skip_signature
        self._receiver: Optional[WebhookReceiver] = None
        self._handlers: Optional[WebhookHandlers] = None
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"CloudClient(phone_number_id={self.phone_number_id!r}, "
            f"base_url={self._transport.base_url!r}, access_token='***')"
        )

    @property
    def transport(self) -> GraphTransport:
        return self._transport

    # --- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> CloudClient:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._receiver is not None:
                await self._receiver.drain()
        finally:
            try:
                if self._owns_limiter:
                    await self.limiter.close()
            finally:
                await self._transport.close()

    # --- sending ---------------------------------------------------------------------------

    async def _send(
        self,
        payload: dict[str, Any],
        *,
        business_initiated: bool = False,
        media_id: Optional[str] = None,
    ) -> SendResult:
        wa_id = payload["to"]
        kind = payload["type"]
        # Ask the breaker first: an open circuit must not wait on pacing or use a
        # conversation slot. The transport then skips its own check for the first attempt.
        self.breaker.before_call(self.phone_number_id)
        await self.limiter.acquire(
            self.phone_number_id, wa_id, business_initiated=business_initiated
        )
        answer = await self._transport.call(
            "POST",
            f"{self.phone_number_id}/messages",
            SendResponse,
            endpoint="messages",
            json=payload,
            breaker_key=self.phone_number_id,
            breaker_checked=True,
        )
        if not answer.messages:
            from whatsapp_client.cloud._errors import CloudAPIError

            raise CloudAPIError("Graph accepted the message but returned no message id", status=200)
        contact = answer.contacts[0] if answer.contacts else None
        result = SendResult(
            message_id=answer.messages[0].id,
            to=(contact.wa_id if contact and contact.wa_id else wa_id),
            type=kind,
            input=contact.input if contact else None,
            message_status=answer.messages[0].message_status,
            media_id=media_id,
        )
        if self.metrics is not None:
            self.metrics.messages_sent(kind)
        log.debug("sent %s %s to %s", kind, result.message_id, _tail(wa_id))
        return result

    async def send_text(
        self, to: str, text: str, preview_url: bool = False, *, reply_to: Optional[str] = None
    ) -> SendResult:
        return await self._send(text_payload(to, text, preview_url, reply_to))

    async def send_template(
        self,
        to: str,
        name: str,
        language: str,
        components: Optional[Sequence[Component]] = None,
    ) -> SendResult:
        """A template message (business-initiated: it counts against the conversation cap)."""
        payload = template_payload(to, name, language, components)
        return await self._send(payload, business_initiated=True)

    async def send_buttons(
        self,
        to: str,
        body: str,
        buttons: Sequence[Union[ReplyButton, tuple[str, str]]],
        header: Optional[str] = None,
        footer: Optional[str] = None,
    ) -> SendResult:
        return await self._send(buttons_payload(to, body, buttons, header, footer))

    async def send_list(
        self,
        to: str,
        body: str,
        button: str,
        sections: Sequence[Union[ListSection, Mapping[str, Any]]],
        header: Optional[str] = None,
        footer: Optional[str] = None,
    ) -> SendResult:
        return await self._send(list_payload(to, body, button, sections, header, footer))

    async def send_reaction(self, to: str, message_id: str, emoji: str) -> SendResult:
        return await self._send(reaction_payload(to, message_id, emoji))

    async def mark_as_read(self, message_id: str) -> ReadResult:
        answer = await self._transport.call(
            "POST",
            f"{self.phone_number_id}/messages",
            SuccessResponse,
            endpoint="mark_as_read",
            json=read_payload(message_id),
            breaker_key=self.phone_number_id,
        )
        return ReadResult(message_id=message_id, success=answer.success)

    # --- media -----------------------------------------------------------------------------

    async def upload_media(
        self, path_or_bytes: MediaSource, mime_type: Optional[str] = None
    ) -> str:
        """Upload media (type and size checked first) and return Graph's media id."""
        if mime_type is None:
            mime_type = self._guess_mime(path_or_bytes)
        result = await upload_media(
            self._transport,
            self.phone_number_id,
            path_or_bytes,
            mime_type,
            breaker_key=self.phone_number_id,
        )
        return result.id

    async def _upload_kind(self, kind: MediaKind, source: MediaSource, mime: str) -> str:
        result = await upload_media(
            self._transport,
            self.phone_number_id,
            source,
            mime,
            kind=kind,
            breaker_key=self.phone_number_id,
        )
        return result.id

    async def get_media(self, media_id: str) -> MediaInfo:
        return await get_media_info(self._transport, media_id, timeout=self.timeout)

    async def download_media(
        self,
        media_id: str,
        path: Union[str, Path, None] = None,
        *,
        info_timeout: Optional[float] = None,
        fetch_timeout: Optional[float] = None,
    ) -> Union[bytes, Path]:
        """The media's bytes, or the ``Path`` written (atomically) when ``path`` is given."""
        return await download_media(
            self._transport,
            media_id,
            path,
            info_timeout=info_timeout or self.timeout,
            fetch_timeout=fetch_timeout or self.timeout,
            metrics=self.metrics,
        )

    # --- account ---------------------------------------------------------------------------

    async def check(self) -> PhoneNumberInfo:
        """The phone number's display number, verified name and quality rating (proves the
        token and the phone number id work)."""
        return await self._transport.call(
            "GET",
            self.phone_number_id,
            PhoneNumberInfo,
            endpoint="phone_number",
            params={"fields": "display_phone_number,verified_name,quality_rating"},
            breaker_key=self.phone_number_id,
        )

    @staticmethod
    def normalize_recipient(to: str) -> str:
        return normalize_recipient(to)
