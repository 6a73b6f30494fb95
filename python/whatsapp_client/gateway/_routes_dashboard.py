"""The browser dashboard: ``GET /`` (the app's page) and its static assets under
``/dashboard/`` (ES modules, CSS, the favicon), read from the ``dashboard`` directory
inside the package. The files hold no data: every page fetches it from the authenticated
JSON API, so these routes are public (``_auth.PUBLIC_PATHS`` and ``PUBLIC_PREFIXES``).
A strict Content-Security-Policy holds because no page has inline script or style."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from whatsapp_client._static_files import StaticFiles
from whatsapp_client.gateway._errors import NotFound

ROOT = Path(__file__).with_name("dashboard")
PREFIX = "/dashboard/"
INDEX = "index.html"
CSP = "default-src 'self'; frame-ancestors 'none'"
FILES = StaticFiles(ROOT, CSP, NotFound)


async def index(request: web.Request) -> web.Response:
    return FILES.answer(request, INDEX)


async def asset(request: web.Request) -> web.Response:
    return FILES.answer(request, request.match_info["path"])


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/", index)
    r.add_get(PREFIX, index)
    r.add_get(PREFIX + "{path:.+}", asset)
