"""The OpenAPI document (Swagger UI: :mod:`whatsapp_client._swagger_ui`)."""

from __future__ import annotations

from aiohttp import web

from whatsapp_client.server.openapi import openapi_document
from whatsapp_client.server.schemas import encode

_DOC: bytes = b""


async def openapi_json(request: web.Request) -> web.Response:
    global _DOC
    if not _DOC:
        _DOC = encode(openapi_document())
    return web.Response(body=_DOC, content_type="application/json")
