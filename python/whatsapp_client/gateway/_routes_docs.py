"""The OpenAPI document at ``/api/v1/openapi.json`` and Swagger UI at ``/api/docs``,
offline (assets from the swagger-ui-bundle package, nothing fetched from the Internet).
Both are public: they describe the API and hold no data."""

from __future__ import annotations

import msgspec
from aiohttp import web

from whatsapp_client._swagger_ui import add_swagger_ui
from whatsapp_client.gateway._openapi import openapi_document

_document: list[bytes] = []


async def openapi_json(request: web.Request) -> web.Response:
    if not _document:
        _document.append(msgspec.json.encode(openapi_document()))
    return web.Response(body=_document[0], content_type="application/json")


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/openapi.json", openapi_json)
    add_swagger_ui(app, title="whatsapp-client gateway API", spec_url="/api/v1/openapi.json")
