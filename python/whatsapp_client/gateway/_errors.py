"""The gateway's one error hierarchy: every error carries its HTTP status and a stable code.

Handlers raise these; the API layer turns them into ``{"error": {"code", "message"}}``.
The codes are part of the public API (docs/gateway.md lists them); never rename one.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "Conflict",
    "FileTooLarge",
    "Forbidden",
    "GatewayError",
    "InvalidRecipient",
    "InvalidRequest",
    "MethodNotAllowed",
    "NotFound",
    "NotReady",
    "QueueFull",
    "RangeNotSatisfiable",
    "RecipientNotFound",
    "RequestTooLarge",
    "SessionNotConnected",
    "StorageFull",
    "TooManyRequests",
    "Unauthorized",
]


class GatewayError(Exception):
    """Base of every error the gateway reports to an API caller."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(GatewayError):
    status, code = 400, "invalid_request"


class InvalidRecipient(GatewayError):
    status, code = 400, "invalid_recipient"


class Unauthorized(GatewayError):
    status, code = 401, "unauthorized"


class Forbidden(GatewayError):
    status, code = 403, "forbidden"


class NotFound(GatewayError):
    status, code = 404, "not_found"


class RecipientNotFound(GatewayError):
    status, code = 404, "recipient_not_found"


class MethodNotAllowed(GatewayError):
    status, code = 405, "method_not_allowed"


class Conflict(GatewayError):
    status, code = 409, "conflict"


class FileTooLarge(GatewayError):
    status, code = 413, "file_too_large"


class RequestTooLarge(GatewayError):
    status, code = 413, "request_too_large"


class RangeNotSatisfiable(GatewayError):
    status, code = 416, "range_not_satisfiable"

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


class TooManyRequests(GatewayError):
    """Too many failed API key attempts from one client address."""

    status, code = 429, "too_many_requests"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QueueFull(GatewayError):
    status, code = 429, "queue_full"


class SessionNotConnected(GatewayError):
    status, code = 503, "session_not_connected"


class StorageFull(GatewayError):
    status, code = 507, "insufficient_storage"


class NotReady(GatewayError):
    status, code = 503, "not_ready"
