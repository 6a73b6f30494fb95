"""The OpenAPI 3 document for every REST endpoint, built from the msgspec schemas."""

from __future__ import annotations

from typing import Any

import msgspec

from whatsapp_client.server import schemas as s
from whatsapp_client.server.errors import ErrorResponse
from whatsapp_client.server.openapi_attachments import attachment_paths

JSON = dict[str, Any]

_MODELS: tuple[type[Any], ...] = (
    s.Credentials,
    s.Registration,
    s.AuthResult,
    s.User,
    s.KeysUpload,
    s.OneTimePreKeysUpload,
    s.SignedPreKey,
    s.KeyStatus,
    s.Bundle,
    s.VerifyKey,
    s.Verification,
    s.PendingMessages,
    s.AckBody,
    s.GroupCreate,
    s.GroupUpdate,
    s.MemberAdd,
    s.Group,
    s.Groups,
    s.GroupMessages,
    s.Health,
    s.AttachmentCreated,
    ErrorResponse,
)

_ERROR_TEXT = {
    400: "Invalid request",
    401: "Missing, invalid or revoked token",
    403: "Your role does not allow this",
    404: "Not found",
    408: "The body arrived too slowly (request_timeout)",
    409: "Conflict",
    413: "Body too large",
    429: "Rate limited; see Retry-After",
    503: "Not ready",
}


def _ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_content(name: str) -> JSON:
    return {"application/json": {"schema": _ref(name)}}


def _op(
    op_id: str,
    summary: str,
    *,
    tag: str,
    ok: int = 200,
    ok_schema: str | None = None,
    body: str | None = None,
    errors: tuple[int, ...] = (),
    auth: bool = True,
    params: tuple[JSON, ...] = (),
) -> JSON:
    responses: JSON = {}
    ok_response: JSON = {"description": "Success"}
    if ok_schema is not None:
        ok_response["content"] = _json_content(ok_schema)
    responses[str(ok)] = ok_response
    codes = set(errors)
    if body is not None:
        codes |= {400, 408, 413}
    if auth:
        codes.add(401)
    for code in sorted(codes):
        entry: JSON = {
            "description": _ERROR_TEXT[code],
            "content": _json_content("ErrorResponse"),
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
    if body is not None:
        operation["requestBody"] = {"required": True, "content": _json_content(body)}
    if params:
        operation["parameters"] = list(params)
    operation["security"] = [{"bearer": []}] if auth else []
    return operation


def _path(name: str, description: str, schema: JSON | None = None) -> JSON:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string", "minLength": 1},
    }


def _query(name: str, description: str, schema: JSON, required: bool = False) -> JSON:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


_USER_ID = _path("user_id", "user id")
_GROUP_ID = _path("group_id", "group id")
_KEY_ID = _path(
    "key_id", "one-time prekey id", {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
)


def _paths() -> JSON:
    return {**_core_paths(), **attachment_paths()}


def _core_paths() -> JSON:
    a, k, u, m, g, o = "accounts", "keys", "users", "messages", "groups", "operations"
    return {
        "/api/auth/register": {
            "post": _op(
                "register",
                "Create an account",
                tag=a,
                ok=201,
                ok_schema="AuthResult",
                body="Registration",
                errors=(409, 429),
                auth=False,
            )
        },
        "/api/auth/login": {
            "post": _op(
                "login",
                "Log in",
                tag=a,
                ok_schema="AuthResult",
                body="Credentials",
                errors=(401, 429),
                auth=False,
            )
        },
        "/api/auth/logout": {"post": _op("logout", "Revoke this token", tag=a, ok=204)},
        "/api/users/me": {"get": _op("me", "The caller", tag=u, ok_schema="User", errors=(404,))},
        "/api/users": {
            "get": _op(
                "findUser",
                "Look a user up by username",
                tag=u,
                ok_schema="User",
                errors=(400, 404),
                params=(_query("username", "exact username", {"type": "string"}, True),),
            )
        },
        "/api/users/{user_id}": {
            "get": _op(
                "getUser",
                "A user by id",
                tag=u,
                ok_schema="User",
                errors=(404,),
                params=(_USER_ID,),
            )
        },
        "/api/users/{user_id}/prekeys": {
            "get": _op(
                "getBundle",
                "Fetch a prekey bundle (consumes one one-time prekey while the per-target and"
                " per-requester budgets last; else one_time_prekey is null)",
                tag=k,
                ok_schema="Bundle",
                errors=(404, 429),
                params=(_USER_ID,),
            )
        },
        "/api/users/prekeys/{key_id}": {
            "delete": _op(
                "deletePrekey",
                "Remove one of your one-time prekeys",
                tag=k,
                ok=204,
                errors=(404,),
                params=(_KEY_ID,),
            )
        },
        "/api/keys": {
            "put": _op(
                "putKeys",
                "Replace identity, signed prekey and one-time prekeys",
                tag=k,
                ok=204,
                body="KeysUpload",
                errors=(409,),
            )
        },
        "/api/keys/one-time-prekeys": {
            "post": _op(
                "addPrekeys",
                "Add one-time prekeys",
                tag=k,
                ok=204,
                body="OneTimePreKeysUpload",
                errors=(409,),
            )
        },
        "/api/keys/signed-prekey": {
            "put": _op(
                "putSignedPrekey",
                "Rotate the signed prekey",
                tag=k,
                ok=204,
                body="SignedPreKey",
                errors=(404, 409),
            )
        },
        "/api/keys/status": {
            "get": _op("keyStatus", "Your prekey counts", tag=k, ok_schema="KeyStatus")
        },
        "/api/verify-key": {
            "post": _op(
                "putVerification",
                "Store a key verification record",
                tag=k,
                ok_schema="Verification",
                body="VerifyKey",
                errors=(404,),
            )
        },
        "/api/verify-key/{peer_id}": {
            "get": _op(
                "getVerification",
                "A key verification record",
                tag=k,
                ok_schema="Verification",
                errors=(404,),
                params=(_path("peer_id", "peer id"),),
            )
        },
        "/api/messages/pending": {
            "get": _op(
                "pendingMessages",
                "Your unacknowledged messages, oldest first",
                tag=m,
                ok_schema="PendingMessages",
                errors=(400,),
                params=(
                    _query(
                        "limit", "at most 500", {"type": "integer", "minimum": 1, "maximum": 500}
                    ),
                ),
            )
        },
        "/api/messages/ack": {
            "post": _op("ackMessages", "Acknowledge messages", tag=m, ok=204, body="AckBody")
        },
        "/api/groups": {
            "post": _op(
                "createGroup",
                "Create a group (you are its owner)",
                tag=g,
                ok=201,
                ok_schema="Group",
                body="GroupCreate",
                errors=(404, 409),
            ),
            "get": _op("listGroups", "Your groups", tag=g, ok_schema="Groups"),
        },
        "/api/groups/{group_id}": {
            "get": _op(
                "getGroup",
                "A group (members only)",
                tag=g,
                ok_schema="Group",
                errors=(404,),
                params=(_GROUP_ID,),
            ),
            "patch": _op(
                "updateGroup",
                "Rename or describe (owner/admin)",
                tag=g,
                ok_schema="Group",
                body="GroupUpdate",
                errors=(403, 404),
                params=(_GROUP_ID,),
            ),
        },
        "/api/groups/{group_id}/members": {
            "post": _op(
                "addMember",
                "Add a member or change a role (owner/admin; role owner hands ownership over)",
                tag=g,
                ok_schema="Group",
                body="MemberAdd",
                errors=(403, 404, 409),
                params=(_GROUP_ID,),
            )
        },
        "/api/groups/{group_id}/members/{user_id}": {
            "delete": _op(
                "removeMember",
                "Remove a member, or leave",
                tag=g,
                ok=204,
                errors=(403, 404, 409),
                params=(_GROUP_ID, _USER_ID),
            )
        },
        "/api/groups/{group_id}/messages": {
            "get": _op(
                "groupHistory",
                "Group messages, newest first (members only)",
                tag=g,
                ok_schema="GroupMessages",
                errors=(400, 404),
                params=(
                    _GROUP_ID,
                    _query(
                        "limit", "at most 500", {"type": "integer", "minimum": 1, "maximum": 500}
                    ),
                    _query(
                        "before",
                        "only messages older than this timestamp (ms)",
                        {"type": "integer", "minimum": 0},
                    ),
                ),
            )
        },
        "/health": {"get": _op("health", "Process alive", tag=o, ok_schema="Health", auth=False)},
        "/ready": {
            "get": _op(
                "ready", "Storage reachable", tag=o, ok_schema="Health", errors=(503,), auth=False
            )
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics",
                "tags": [o],
                "security": [],
                "responses": {
                    "200": {
                        "description": "Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }


def openapi_document() -> JSON:
    _, components = msgspec.json.schema_components(
        _MODELS, ref_template="#/components/schemas/{name}"
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "whatsapp-client reference server",
            "version": "1",
            "description": (
                "REST API of the WAC1 chat backend (PROTOCOL.md §6). Real-time delivery uses"
                " the WebSocket at /ws (§7), which OpenAPI does not describe."
            ),
        },
        "paths": _paths(),
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
