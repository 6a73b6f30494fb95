"""The OpenAPI paths of the attachment routes (§8), whose bodies are raw bytes."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
_BLOB = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
_ID = {
    "name": "attachment_id",
    "in": "path",
    "required": True,
    "description": "the id returned by the upload",
    "schema": {"type": "string", "minLength": 1},
}


def _error(text: str) -> JSON:
    return {"description": text, "content": _ERROR}


def attachment_paths() -> JSON:
    tag = "attachments"
    unauthorized = _error("Missing, invalid or revoked token")
    return {
        "/api/attachments": {
            "post": {
                "operationId": "uploadAttachment",
                "summary": "Upload an encrypted attachment blob (streamed; §8)",
                "tags": [tag],
                "security": [{"bearer": []}],
                "requestBody": {"required": True, "content": _BLOB},
                "responses": {
                    "201": {
                        "description": "Stored",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/AttachmentCreated"}
                            }
                        },
                    },
                    "400": _error("Invalid request"),
                    "401": unauthorized,
                    "408": _error("The upload stalled (request_timeout)"),
                    "413": _error("Larger than the server's limit (too_large)"),
                    "507": _error(
                        "Over the account's quota (quota_exceeded), or the server's disk is"
                        " full (insufficient_storage)"
                    ),
                },
            }
        },
        "/api/attachments/{attachment_id}": {
            "get": {
                "operationId": "downloadAttachment",
                "summary": "Download a blob; honours Range: bytes=... (206) to resume",
                "tags": [tag],
                "security": [{"bearer": []}],
                "parameters": [_ID],
                "responses": {
                    "200": {"description": "The blob", "content": _BLOB},
                    "206": {"description": "The requested range", "content": _BLOB},
                    "401": unauthorized,
                    "404": _error("Unknown or expired (not_found)"),
                    "416": {"description": "Range not satisfiable"},
                },
            },
            "delete": {
                "operationId": "deleteAttachment",
                "summary": "Delete a blob you uploaded",
                "tags": [tag],
                "security": [{"bearer": []}],
                "parameters": [_ID],
                "responses": {
                    "204": {"description": "Deleted"},
                    "401": unauthorized,
                    "404": _error("Not yours, unknown or expired (not_found)"),
                },
            },
        },
    }
