"""Building blocks of the OpenAPI document: operations with their error answers (each with
an example), path and query parameters."""

from __future__ import annotations

from typing import Any, Optional

from whatsapp_client.gateway import _openapi_examples as ex

JSON = dict[str, Any]

# Status → (description, an example error body).
_ERRORS: dict[int, tuple[str, JSON]] = {
    400: (
        "Invalid request",
        ex.error("invalid_request", "invalid body: Expected `str`, got `int` - at `$.to`"),
    ),
    401: ("Missing, unknown or expired API key", ex.error("unauthorized", "invalid API key")),
    403: (
        "The key lacks the scope, or is restricted to other sessions",
        ex.error("forbidden", "this API key has scope 'read'; 'write' is required"),
    ),
    404: ("Not found", ex.error("not_found", "no session 'ses_...'")),
    409: ("Conflict", ex.error("conflict", "a session named 'support' exists")),
    413: (
        "Too large",
        ex.error("file_too_large", "the file is larger than the limit of 16777216 bytes"),
    ),
    416: (
        "Range outside the file",
        ex.error("range_not_satisfiable", "the range starts past the file's 48213 bytes"),
    ),
    429: (
        "Too many failed key attempts from this address, or the queue is full",
        ex.error("too_many_requests", "too many failed API key attempts from this address"),
    ),
    503: ("Not available", ex.error("session_not_connected", "the session is stopped")),
    507: ("The disk is full", ex.error("insufficient_storage", "no space left for the file")),
}


def ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(name: str, example: Any) -> JSON:
    return {"application/json": {"schema": ref(name), "example": example}}


def op(
    op_id: str,
    summary: str,
    tag: str,
    *,
    ok: int = 200,
    answer: Optional[tuple[str, Any]] = None,
    body: Optional[tuple[str, Any]] = None,
    errors: tuple[int, ...] = (),
    auth: bool = True,
    params: tuple[JSON, ...] = (),
    scope: str = "read",
) -> JSON:
    ok_response: JSON = {"description": "Success"}
    if answer is not None:
        ok_response["content"] = json_content(*answer)
    responses: JSON = {str(ok): ok_response}
    codes = (
        set(errors) | ({400} if body is not None else set()) | ({401, 403, 429} if auth else set())
    )
    for code in sorted(codes):
        description, example = _ERRORS[code]
        entry: JSON = {
            "description": description,
            "content": json_content("ErrorResponse", example),
        }
        if code == 429:
            entry["headers"] = {
                "Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}
            }
        responses[str(code)] = entry
    operation: JSON = {
        "operationId": op_id,
        "summary": summary,
        "tags": [tag],
        "responses": responses,
    }
    if auth:
        operation["description"] = f"Needs an API key with scope `{scope}` (or higher)."
    if body is not None:
        operation["requestBody"] = {"required": True, "content": json_content(*body)}
    if params:
        operation["parameters"] = list(params)
    operation["security"] = [{"apiKey": []}] if auth else []
    return operation


def path_param(name: str, description: str, example: Any, schema: Optional[JSON] = None) -> JSON:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string", "minLength": 1},
        "example": example,
    }


def query_param(name: str, description: str, schema: JSON, example: Any) -> JSON:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": schema,
        "example": example,
    }
