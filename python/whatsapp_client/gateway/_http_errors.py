"""The API's error shape and body decoding: every failure leaves as
``{"error": {"code", "message"}}`` with a documented code (docs/gateway.md), aiohttp's own
404/405/413 included; a body that does not decode names the offending field."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Callable, Optional, TypeVar

import msgspec
from aiohttp import web

from whatsapp_client.gateway._errors import (
    GatewayError,
    InvalidRequest,
    RangeNotSatisfiable,
    RequestTooLarge,
    TooManyRequests,
)
from whatsapp_client.gateway._logs import get_logger

log = get_logger("http")

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ErrorBody(msgspec.Struct):
    code: str
    message: str


class ErrorResponse(msgspec.Struct):
    error: ErrorBody


_encode = msgspec.json.Encoder().encode

_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
}


def error_response(
    status: int, code: str, message: str, *, headers: Optional[dict[str, str]] = None
) -> web.Response:
    return web.Response(
        status=status,
        body=_encode(ErrorResponse(ErrorBody(code, message))),
        content_type="application/json",
        headers=headers,
    )


def gateway_error_response(exc: GatewayError) -> web.Response:
    headers: dict[str, str] = {}
    if isinstance(exc, TooManyRequests):
        # Whole seconds, rounded up so that a client never retries too early.
        headers["Retry-After"] = str(max(1, int(-(-exc.retry_after // 1))))
    elif isinstance(exc, RangeNotSatisfiable):
        headers["Content-Range"] = f"bytes */{exc.size}"
    elif exc.status == 401:
        headers["WWW-Authenticate"] = 'ApiKey header="X-API-Key"'
    return error_response(exc.status, exc.code, exc.message, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except GatewayError as exc:
        return gateway_error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        response = error_response(exc.status, code, exc.reason)
        if "Allow" in exc.headers:  # a 405 names the methods the resource has
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unhandled error", extra={"path": request.path, "method": request.method})
        return error_response(500, "internal_error", "internal server error")


def decode_json(kind: type[T], raw: bytes) -> T:
    """``raw`` as ``kind``; ``InvalidRequest`` naming the field (msgspec says ``at `$.to```)."""
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(f"invalid body: {exc}") from None
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidRequest("body is nested too deeply") from None


async def read_json(
    request: web.Request,
    kind: type[T],
    *,
    limit: int = 1024 * 1024,
    too_large: type[GatewayError] = RequestTooLarge,
) -> T:
    """Reads and decodes a JSON body of at most ``limit`` bytes."""
    if request.content_type != "application/json":
        raise InvalidRequest("the body must be application/json")
    raw = await read_limited(request, limit, too_large)
    return decode_json(kind, raw)


async def read_limited(
    request: web.Request, limit: int, too_large: type[GatewayError] = RequestTooLarge
) -> bytes:
    """The whole body, refused with ``too_large`` (413) past ``limit`` bytes, before
    reading it all when Content-Length already says so."""
    message = f"the body is larger than {limit} bytes"
    if request.content_length is not None and request.content_length > limit:
        raise too_large(message)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        total += len(chunk)
        if total > limit:
            raise too_large(message)
        chunks.append(chunk)
    return b"".join(chunks)


def json_response(value: Any, status: int = 200) -> web.Response:
    return web.Response(body=_encode(value), status=status, content_type="application/json")
