"""Swagger UI served offline (assets from the swagger-ui-bundle package, nothing fetched from
the Internet), shared by the reference server and the gateway: each gives its page title and
the address of its OpenAPI document; the page lives at ``/api/docs``."""

from __future__ import annotations

import mimetypes
import os

from aiohttp import web

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
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

_INIT = """window.onload = function () {{
  window.ui = SwaggerUIBundle({{
    url: "{spec_url}",
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
    validatorUrl: null
  }});
}};
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


def _assets_dir() -> str:
    import swagger_ui_bundle  # type: ignore[import-untyped]  # ships no type hints

    return str(swagger_ui_bundle.swagger_ui_path)


async def _asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in _ASSETS:
        raise web.HTTPNotFound()
    path = os.path.join(_assets_dir(), name)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return web.FileResponse(path, headers={"Content-Type": content_type})


def add_swagger_ui(app: web.Application, *, title: str, spec_url: str) -> None:
    """Adds ``/api/docs`` (and ``/api/docs/``), its ``init.js`` and its assets."""
    page, init = _PAGE.format(title=title), _INIT.format(spec_url=spec_url)

    async def docs_page(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    async def docs_init(request: web.Request) -> web.Response:
        return web.Response(text=init, content_type="application/javascript")

    r = app.router
    r.add_get("/api/docs", docs_page)
    r.add_get("/api/docs/", docs_page)
    r.add_get("/api/docs/init.js", docs_init)
    r.add_get("/api/docs/assets/{name}", _asset)
