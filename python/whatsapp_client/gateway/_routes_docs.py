"""The OpenAPI document at ``/api/v1/openapi.json`` and Swagger UI at ``/api/docs``,
offline (assets from the swagger-ui-bundle package, nothing fetched from the Internet).
Both are public: they describe the API and hold no data."""

from __future__ import annotations

import mimetypes
import os

import msgspec
from aiohttp import web

from whatsapp_client.gateway._openapi import openapi_document

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>whatsapp-client gateway API</title>
  <link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/api/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script src="/api/docs/init.js"></script>
</body>
</html>
"""

_INIT = """window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
    validatorUrl: null
  });
};
"""

_ASSETS = frozenset(
    {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-32x32.png",
        "favicon-16x16.png",
    }
)
_document: list[bytes] = []


def _assets_dir() -> str:
    import swagger_ui_bundle  # type: ignore[import-untyped]  # ships no type hints

    return str(swagger_ui_bundle.swagger_ui_path)


async def openapi_json(request: web.Request) -> web.Response:
    if not _document:
        _document.append(msgspec.json.encode(openapi_document()))
    return web.Response(body=_document[0], content_type="application/json")


async def docs_page(request: web.Request) -> web.Response:
    return web.Response(text=_PAGE, content_type="text/html")


async def docs_init(request: web.Request) -> web.Response:
    return web.Response(text=_INIT, content_type="application/javascript")


async def docs_asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in _ASSETS:
        raise web.HTTPNotFound()
    path = os.path.join(_assets_dir(), name)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return web.FileResponse(path, headers={"Content-Type": content_type})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/openapi.json", openapi_json)
    r.add_get("/api/docs", docs_page)
    r.add_get("/api/docs/", docs_page)
    r.add_get("/api/docs/init.js", docs_init)
    r.add_get("/api/docs/assets/{name}", docs_asset)
