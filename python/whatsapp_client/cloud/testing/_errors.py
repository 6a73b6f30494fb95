"""Graph API error payloads, in the exact JSON shape Graph answers with.

Shape (https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes/):
``{"error": {"message", "type", "code", "error_subcode", "error_data": {"messaging_product",
"details"}, "fbtrace_id"}}``; the message starts with ``(#code)`` and the code's title,
``error_subcode`` and ``error_data`` are left out when they do not apply (Graph dropped the
subcode from v16.0 on, except for the Graph-level "object does not exist" answer, 100/33).

HTTP statuses per code follow the tables of that page. Copies of it disagree on code 4
(400 at https://docs.innopaas.com/api-reference/api-reference-en/whatsapp-business-api/error-codes/meta-error-codes.md,
429 at https://developers.aivo.co/engage/); 400 is used.
130429 (throughput) answers HTTP 400, not 429:
https://heltar.com/blogs/resolving-whatsapp-business-api-error-code-130429-throughput-reached-cm3knupgu0011vnqrmrppg6uc
quotes the same table; clients must classify by ``code``, not by the status.
"""

from __future__ import annotations

import base64
import os
from typing import Any, Optional

from aiohttp import web

# code -> (HTTP status Graph answers with, title). From the WhatsApp error codes page above.
KNOWN_CODES: dict[int, tuple[int, str]] = {
    0: (401, "AuthException"),
    1: (400, "API Unknown"),
    2: (503, "API Service"),
    3: (500, "API Method"),
    4: (400, "API Too Many Calls"),
    10: (403, "Permission Denied"),
    33: (400, "Parameter value is not valid"),
    100: (400, "Invalid parameter"),
    190: (401, "Access token has expired"),
    200: (403, "API Permission"),
    368: (403, "Temporarily blocked for policies violations"),
    613: (400, "Calls to this api have exceeded the rate limit"),
    2500: (400, "Error parsing graph query"),
    80007: (400, "Rate limit issues"),
    130429: (400, "Rate limit hit"),
    130472: (400, "User's number is part of an experiment"),
    131000: (500, "Something went wrong"),
    131005: (403, "Access denied"),
    131008: (400, "Required parameter is missing"),
    131009: (400, "Parameter value is not valid"),
    131016: (503, "Service unavailable"),
    131021: (400, "Recipient cannot be sender"),
    131026: (400, "Message undeliverable"),
    131031: (403, "Account has been locked"),
    131042: (400, "Business eligibility payment issue"),
    131045: (400, "Incorrect certificate"),
    131047: (400, "Re-engagement message"),
    131048: (400, "Spam rate limit hit"),
    131051: (400, "Unsupported message type"),
    131052: (400, "Media download error"),
    131053: (400, "Media upload error"),
    131056: (400, "(Business Account, Consumer Account) pair rate limit hit"),
    132000: (400, "Number of parameters does not match the expected number of params"),
    132001: (404, "Template does not exist"),
    132005: (400, "Translated text too long"),
    132007: (400, "Template format character policy violated"),
    132012: (400, "Template parameter format mismatch"),
    132015: (400, "Template is paused"),
    132016: (400, "Template is disabled"),
    133010: (400, "Phone number not registered"),
}

# Codes Graph reports with type OAuthException are the usual case; these differ.
_TYPES: dict[int, str] = {33: "GraphMethodException", 2: "GraphMethodException"}


def fbtrace_id() -> str:
    """A random trace id like Graph's (22 url-safe characters)."""
    return base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")[:22]


def default_status(code: int) -> int:
    """The HTTP status Graph answers ``code`` with (400 for a code not in the table)."""
    return KNOWN_CODES.get(code, (400, ""))[0]


def error_body(
    code: int,
    message: Optional[str] = None,
    *,
    subcode: Optional[int] = None,
    details: Optional[str] = None,
    error_type: Optional[str] = None,
) -> dict[str, Any]:
    """The ``{"error": {...}}`` body of one Graph error."""
    title = KNOWN_CODES.get(code, (400, "Error"))[1]
    text = message if message is not None else f"(#{code}) {title}"
    error: dict[str, Any] = {
        "message": text,
        "type": error_type or _TYPES.get(subcode or 0, "OAuthException"),
        "code": code,
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    error["fbtrace_id"] = fbtrace_id()
    return {"error": error}


class GraphFault(Exception):
    """Raised inside a handler; the middleware answers it as a Graph error."""

    def __init__(
        self,
        code: int,
        message: Optional[str] = None,
        *,
        status: Optional[int] = None,
        subcode: Optional[int] = None,
        details: Optional[str] = None,
        error_type: Optional[str] = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message or str(code))
        self.code = code
        self.status = status if status is not None else default_status(code)
        self.body = error_body(
            code, message, subcode=subcode, details=details, error_type=error_type
        )
        self.retry_after = retry_after

    def response(self) -> web.Response:
        headers = {"WWW-Authenticate": 'OAuth "Facebook Platform" "invalid_token"'}
        if self.status != 401:
            headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = _format_seconds(self.retry_after)
        return web.json_response(self.body, status=self.status, headers=headers)


def invalid_parameter(details: str) -> GraphFault:
    """Graph's answer to a malformed request: code 100, with what is wrong in ``details``."""
    return GraphFault(100, "(#100) Invalid parameter", details=details)


def unknown_object(object_id: str) -> GraphFault:
    """Graph's answer to an id that does not exist: HTTP 400, code 100, subcode 33."""
    return GraphFault(
        100,
        f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation. Please read "
        "the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        subcode=33,
        error_type="GraphMethodException",
    )


def bad_token() -> GraphFault:
    """Graph's answer to a wrong or missing access token: HTTP 401, code 190."""
    return GraphFault(190, "Invalid OAuth access token - Cannot parse access token", status=401)


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
