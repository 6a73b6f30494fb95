"""The error hierarchy of the Cloud API package, under the project's :class:`WhatsAppError`.

:class:`CloudAPIError` and its subclasses mean Graph answered with an error (or, for
:class:`RateLimitError` with ``status == 0``, that the local limiter refused). Which class a
Graph answer becomes is decided by its Graph ``code`` (see ``_codes.py``), not by the HTTP
status. Graph's error object is documented at
https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/ .
"""

from __future__ import annotations

from typing import Optional

from whatsapp_client.errors import WhatsAppError

__all__ = [
    "AuthError",
    "CircuitOpenError",
    "CloudAPIError",
    "CloudError",
    "ConfigurationError",
    "IntegrityError",
    "MediaDownloadError",
    "MediaError",
    "MediaNotFoundError",
    "RateLimitError",
    "RecipientError",
    "TemplateError",
    "TransportError",
    "ValidationError",
]


class CloudError(WhatsAppError):
    """Base class of every error raised by ``whatsapp_client.cloud``."""

    default_code = "cloud_error"


class ConfigurationError(CloudError, ValueError):
    """The client or receiver is configured in a way that cannot work (e.g. no app secret)."""

    default_code = "cloud_configuration"


class ValidationError(CloudError, ValueError):
    """Bad input, refused before any request was made."""

    default_code = "cloud_validation"


class CloudAPIError(CloudError):
    """Graph answered with an error.

    ``code`` is Graph's numeric error code (``None`` when the answer carried none, or when
    the local limiter raised); ``status`` is the HTTP status (0 for a local refusal).
    ``retryable`` says whether the transport retries it; ``retry_after`` is the wait in
    seconds Graph (or the limiter) asked for, if any.
    """

    default_code = "cloud_api_error"
    # Graph's numeric code replaces the base class's string code on purpose.
    code: Optional[int]  # type: ignore[assignment]

    def __init__(
        self,
        message: str = "",
        *,
        status: int = 0,
        code: Optional[int] = None,
        error_subcode: Optional[int] = None,
        fbtrace_id: Optional[str] = None,
        details: Optional[str] = None,
        retryable: bool = False,
        retry_after: Optional[float] = None,
        error_type: Optional[str] = None,
    ) -> None:
        super().__init__(message or f"Graph API error (HTTP {status}, code {code})")
        self.status = status
        self.code = code
        self.error_subcode = error_subcode
        self.fbtrace_id = fbtrace_id
        self.details = details
        self.retryable = retryable
        self.retry_after = retry_after
        self.error_type = error_type

    def __str__(self) -> str:
        parts = [self.message]
        if self.code is not None:
            sub = f"/{self.error_subcode}" if self.error_subcode is not None else ""
            parts.append(f"[code {self.code}{sub}, HTTP {self.status}]")
        if self.details and self.details not in self.message:
            parts.append(f"- {self.details}")
        if self.fbtrace_id:
            parts.append(f"(fbtrace_id {self.fbtrace_id})")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, code={self.code}, "
            f"error_subcode={self.error_subcode}, retryable={self.retryable}, "
            f"retry_after={self.retry_after}, message={self.message!r})"
        )


class AuthError(CloudAPIError):
    """The access token is invalid, expired, or lacks a permission (code 190, 0, 10, 200...)."""

    default_code = "cloud_auth"


class RateLimitError(CloudAPIError):
    """A rate or volume limit was hit (Graph codes 4, 80007, 130429, 131056, 613...), or the
    local limiter refused a new conversation (``status == 0``)."""

    default_code = "cloud_rate_limit"


class IntegrityError(CloudAPIError):
    """A policy block (131031 account locked, 368 policy violation, 131048 spam rate limit):
    stop sending; it opens the circuit breaker at once."""

    default_code = "cloud_integrity"


class MediaError(CloudAPIError):
    """Graph refused a media upload/download, or the media could not be used."""

    default_code = "cloud_media"


class MediaNotFoundError(MediaError):
    """No such media id (also Graph's HTTP 400, code 100, subcode 33), or it was deleted."""

    default_code = "cloud_media_not_found"


class MediaDownloadError(MediaError):
    """Fetching the media url failed, or the bytes did not match the announced sha256/size."""

    default_code = "cloud_media_download"


class TemplateError(CloudAPIError):
    """A template message was refused (132000 parameter count, 132001 unknown name or
    language, 132005, 132007, 132012 parameter format, 132015 paused, 132016 disabled)."""

    default_code = "cloud_template"


class RecipientError(CloudAPIError):
    """The recipient cannot receive the message (131026 undeliverable, 131047 outside the
    24-hour window, 131030 not in the allowed list...)."""

    default_code = "cloud_recipient"


class CircuitOpenError(CloudError):
    """The circuit breaker for this phone number is open: no request was made."""

    default_code = "cloud_circuit_open"

    def __init__(self, phone_number_id: str, retry_after: float, message: str = "") -> None:
        super().__init__(
            message
            or f"circuit open for phone number {phone_number_id}; retry in {retry_after:.1f}s"
        )
        self.phone_number_id = phone_number_id
        self.retry_after = retry_after


class TransportError(CloudError):
    """A timeout or connection error that persisted after every retry."""

    default_code = "cloud_transport"
