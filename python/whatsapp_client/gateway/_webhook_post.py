"""One webhook delivery attempt: the body, the signed headers, the POST and what came of it.

The body is ``{type, session_id, timestamp, data}`` (``timestamp`` in Unix milliseconds like
every time in the gateway's API), the same bytes on every attempt; ``webhook-id`` is the
event's id, so a receiver that sees it twice drops the second. Redirects are not followed
(a 3xx is a failure): the receiver's address is the one that was configured, nothing else.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import Optional

import aiohttp
import msgspec

from whatsapp_client.gateway._models import Event
from whatsapp_client.gateway._retry_policy import parse_retry_after
from whatsapp_client.gateway._signing import signature_headers
from whatsapp_client.gateway._webhook_urls import BlockedDestination

# Read (and drop) at most this much of an answer so the connection can be reused.
_MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "whatsapp-client-gateway-webhooks/1"

__all__ = ["USER_AGENT", "AttemptResult", "event_body", "post_event"]


@dataclasses.dataclass(frozen=True)
class AttemptResult:
    status: Optional[int]  # None: no HTTP answer (connection, timeout, refused address)
    error: Optional[str]  # why it failed, for the delivery listing (never a secret)
    retry_after: Optional[float] = None  # seconds, from a 429's or 503's Retry-After

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def event_body(event: Event) -> bytes:
    return msgspec.json.encode(
        {
            "type": event.type,
            "session_id": event.session_id,
            "timestamp": event.timestamp,
            "data": event.data,
        }
    )


async def _drain(response: aiohttp.ClientResponse) -> None:
    read = 0
    while read <= _MAX_ANSWER_BYTES:
        chunk = await response.content.readany()
        if not chunk:
            return
        read += len(chunk)


async def post_event(
    http: aiohttp.ClientSession,
    url: str,
    secrets: Sequence[str],
    event: Event,
    *,
    timeout: float,
    signed_at: float,
) -> AttemptResult:
    """POSTs ``event`` to ``url`` once, signed with every secret at Unix time ``signed_at``.
    Never raises for anything the network or the receiver does."""
    body = event_body(event)
    headers = signature_headers(secrets, event.id, int(signed_at), body)
    headers["content-type"] = "application/json"
    headers["user-agent"] = USER_AGENT
    try:
        async with http.post(
            url,
            data=body,
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            await _drain(response)
            status = response.status
            retry_after = (
                parse_retry_after(response.headers.get("Retry-After"), signed_at)
                if status in (429, 503)
                else None
            )
    except asyncio.TimeoutError:
        return AttemptResult(None, f"no answer within {timeout:g} s")
    except aiohttp.ClientConnectorError as exc:
        if isinstance(exc.os_error, BlockedDestination):
            return AttemptResult(None, str(exc.os_error))
        return AttemptResult(None, f"{type(exc).__name__}: {exc}"[:500])
    except (aiohttp.ClientError, OSError) as exc:
        return AttemptResult(None, f"{type(exc).__name__}: {exc}"[:500])
    if 200 <= status < 300:
        return AttemptResult(status, None)
    if 300 <= status < 400:
        return AttemptResult(status, f"answered {status}; redirects are not followed")
    return AttemptResult(status, f"answered {status}", retry_after)
