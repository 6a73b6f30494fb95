"""The web chat app: ``GET /app`` (its page) and its static files under ``/app/`` (ES
modules, CSS, the icon), read from the ``webapp`` directory inside the package. The files
hold no data and no secret: the page talks to the same JSON API and WebSocket as any
client, and all of its state stays in the browser. A strict Content-Security-Policy holds
because no page has inline script or style; ``blob:`` images are the decrypted pictures."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from whatsapp_client._static_files import StaticFiles
from whatsapp_client.server.errors import ApiError

ROOT = Path(__file__).resolve().parents[1] / "webapp"
PREFIX = "/app/"
INDEX = "index.html"
CSP = (
    "default-src 'self'; img-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
FILES = StaticFiles(ROOT, CSP, lambda message: ApiError(404, "not_found", message))


async def index(request: web.Request) -> web.Response:
    return FILES.answer(request, INDEX)


async def asset(request: web.Request) -> web.Response:
    return FILES.answer(request, request.match_info["path"])


async def to_index(request: web.Request) -> web.Response:
    # Relative module URLs in the page resolve against /app/, not /.
    raise web.HTTPPermanentRedirect(PREFIX)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/app", to_index)
    r.add_get(PREFIX, index)
    r.add_get(PREFIX + "{path:.+}", asset)
