"""The §6 error shape: every failed REST call answers ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import msgspec
from aiohttp import web


class ErrorBody(msgspec.Struct):
    code: str
    message: str


class ErrorResponse(msgspec.Struct):
    error: ErrorBody


_encode = msgspec.json.Encoder().encode


class ApiError(Exception):
    """Raised by a handler; the error middleware turns it into the JSON error response."""

    def __init__(
        self, status: int, code: str, message: str, *, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


def error_response(
    status: int, code: str, message: str, *, retry_after: float | None = None
) -> web.Response:
    headers = {}
    if retry_after is not None:
        # Retry-After is whole seconds; round up so a client never retries too early.
        headers["Retry-After"] = str(max(1, int(-(-retry_after // 1))))
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return web.Response(
        status=status,
        body=_encode(ErrorResponse(ErrorBody(code, message))),
        content_type="application/json",
        headers=headers,
    )


def bad_request(message: str, code: str = "invalid_request") -> ApiError:
    return ApiError(400, code, message)


def not_found(code: str, message: str) -> ApiError:
    return ApiError(404, code, message)


def unauthorized() -> ApiError:
    return ApiError(401, "unauthorized", "a valid bearer token is required")


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def conflict(code: str, message: str) -> ApiError:
    return ApiError(409, code, message)
