"""Turn a Graph error answer into the right :class:`CloudAPIError` subclass.

Classification is by Graph's numeric ``code`` (Meta's advice: build error handling on
``code`` and ``error_data.details``, not on the HTTP status or the deprecated subcode); the
HTTP status only decides for answers that carry no code. References:
https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/ and
https://developers.facebook.com/docs/graph-api/guides/error-handling/ .

:data:`CODE_TABLE` is the single source of truth; docs/guides/cloud-client.md prints it.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import NamedTuple, Optional

import msgspec

from whatsapp_client.cloud._errors import (
    AuthError,
    CloudAPIError,
    IntegrityError,
    MediaError,
    MediaNotFoundError,
    RateLimitError,
    RecipientError,
    TemplateError,
)

__all__ = ["CODE_TABLE", "CodeRule", "classify", "parse_retry_after"]


class CodeRule(NamedTuple):
    cls: type[CloudAPIError]
    retryable: bool
    action: str


_AUTH = "raise AuthError at once; get a new token or grant the permission"
_RATE = "retry with backoff (Retry-After honoured); RateLimitError after the last try"
_STOP = "raise IntegrityError, never retried; opens the circuit breaker at once"
_TEMPLATE = "raise TemplateError, never retried; fix the template or its parameters"
_RECIPIENT = "raise RecipientError, never retried"
_SERVER = "retry with backoff (temporary Graph failure)"

CODE_TABLE: dict[int, CodeRule] = {
    0: CodeRule(AuthError, False, _AUTH),
    3: CodeRule(AuthError, False, _AUTH),
    10: CodeRule(AuthError, False, _AUTH),
    190: CodeRule(AuthError, False, _AUTH),
    # 200..299 (API permission) are AuthError too; see _rule_for.
    4: CodeRule(RateLimitError, True, _RATE),
    613: CodeRule(RateLimitError, True, _RATE),
    80007: CodeRule(RateLimitError, True, _RATE),
    130429: CodeRule(RateLimitError, True, _RATE),
    131056: CodeRule(RateLimitError, True, _RATE + " (pair rate: same recipient too often)"),
    368: CodeRule(IntegrityError, False, _STOP),
    131031: CodeRule(IntegrityError, False, _STOP),
    131048: CodeRule(IntegrityError, False, _STOP),
    1: CodeRule(CloudAPIError, False, "retried only when the HTTP status is 5xx"),
    2: CodeRule(CloudAPIError, True, _SERVER),
    131000: CodeRule(CloudAPIError, True, _SERVER),
    131016: CodeRule(CloudAPIError, True, _SERVER),
    133004: CodeRule(CloudAPIError, True, _SERVER),
    131052: CodeRule(MediaError, False, "raise MediaError (media download failed on Graph)"),
    131053: CodeRule(MediaError, False, "raise MediaError (media upload refused by Graph)"),
    131021: CodeRule(RecipientError, False, _RECIPIENT + " (recipient is the sender)"),
    131026: CodeRule(RecipientError, False, _RECIPIENT + " (message undeliverable)"),
    131030: CodeRule(RecipientError, False, _RECIPIENT + " (not in the allowed list)"),
    131047: CodeRule(RecipientError, False, _RECIPIENT + " (24-hour window closed)"),
    130497: CodeRule(RecipientError, False, _RECIPIENT + " (country restricted)"),
    132000: CodeRule(TemplateError, False, _TEMPLATE + " (parameter count)"),
    132001: CodeRule(TemplateError, False, _TEMPLATE + " (unknown name or language)"),
    132005: CodeRule(TemplateError, False, _TEMPLATE + " (hydrated text too long)"),
    132007: CodeRule(TemplateError, False, _TEMPLATE + " (format policy)"),
    132012: CodeRule(TemplateError, False, _TEMPLATE + " (parameter format)"),
    132015: CodeRule(TemplateError, False, _TEMPLATE + " (template paused)"),
    132016: CodeRule(TemplateError, False, _TEMPLATE + " (template disabled)"),
}
"""Every Graph code we classify: the class raised, whether the transport retries it, and
what the client does. Codes not listed fall back on the HTTP status (see :func:`classify`)."""


class _ErrorData(msgspec.Struct):
    details: Optional[str] = None


class _GraphError(msgspec.Struct):
    message: str = ""
    type: Optional[str] = None
    code: Optional[int] = None
    error_subcode: Optional[int] = None
    error_data: Optional[_ErrorData] = None
    fbtrace_id: Optional[str] = None
    error_user_msg: Optional[str] = None


class _Envelope(msgspec.Struct):
    error: Optional[_GraphError] = None


_decoder = msgspec.json.Decoder(_Envelope)


def parse_retry_after(value: Optional[str], *, now: Optional[float] = None) -> Optional[float]:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def _rule_for(code: Optional[int], status: int) -> CodeRule:
    if code is not None:
        rule = CODE_TABLE.get(code)
        if rule is not None:
            if code == 1:
                return CodeRule(rule.cls, status >= 500, rule.action)
            return rule
        if 200 <= code <= 299:
            return CodeRule(AuthError, False, _AUTH)
    if status in (401, 403) and code is None:
        return CodeRule(AuthError, False, _AUTH)
    if status == 429 and code is None:
        return CodeRule(RateLimitError, True, _RATE)
    if status >= 500 or status == 408:
        return CodeRule(CloudAPIError, True, _SERVER)
    return CodeRule(CloudAPIError, False, "raise CloudAPIError, never retried")


def classify(
    status: int, body: bytes, headers: Mapping[str, str], *, media: bool = False
) -> CloudAPIError:
    """The error for a Graph answer with HTTP ``status`` (>= 400) and raw ``body``.

    ``media=True`` (a ``GET /{media_id}`` or media url fetch) turns Graph's "no such
    object" (code 100 subcode 33) and a bare 404 into :class:`MediaNotFoundError`.
    """
    graph: Optional[_GraphError] = None
    try:
        graph = _decoder.decode(body).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        graph = None
    code = graph.code if graph else None
    subcode = graph.error_subcode if graph else None
    rule = _rule_for(code, status)
    cls = rule.cls
    if media and ((code == 100 and subcode == 33) or (code is None and status == 404)):
        cls = MediaNotFoundError
    if graph is not None:
        message = graph.message or f"Graph API error (HTTP {status})"
        details = graph.error_data.details if graph.error_data else None
    else:
        snippet = body[:200].decode("utf-8", "replace").strip()
        message = f"HTTP {status} from Graph" + (f": {snippet}" if snippet else "")
        details = None
    lowered = {k.lower(): v for k, v in headers.items()}
    return cls(
        message,
        status=status,
        code=code,
        error_subcode=subcode,
        fbtrace_id=graph.fbtrace_id if graph else None,
        details=details,
        retryable=rule.retryable,
        retry_after=parse_retry_after(lowered.get("retry-after")),
        error_type=graph.type if graph else None,
    )
