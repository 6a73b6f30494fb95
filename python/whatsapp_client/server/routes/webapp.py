"""The web chat app: ``GET /app`` (its page) and its static files under ``/app/`` (ES
modules, CSS, the icon), read from the ``webapp`` directory inside the package. The files
hold no data and no secret: the page talks to the same JSON API and WebSocket as any
client, and all of its state stays in the browser. A strict Content-Security-Policy holds
because no page has inline script or style; ``blob:`` images are the decrypted pictures."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Optional

from aiohttp import web

from whatsapp_client.server.errors import ApiError

ROOT = Path(__file__).resolve().parents[1] / "webapp"
PREFIX = "/app/"
INDEX = "index.html"
CSP = (
    "default-src 'self'; img-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Revalidated on every load (the ETag makes that a 304): an upgrade never leaves a
    # browser mixing old and new modules.
    "Cache-Control": "no-cache",
}


@lru_cache(maxsize=128)
def _load(relative: str) -> Optional[tuple[bytes, str, str]]:
    """The file's bytes, content type and ETag, or None when ``relative`` names no servable
    file inside :data:`ROOT` (unknown extension, hidden, outside the directory)."""
    parts = relative.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return None
    path = ROOT.joinpath(*parts)
    content_type = CONTENT_TYPES.get(path.suffix)
    if content_type is None or not path.is_file():
        return None
    body = path.read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return body, content_type, etag


def _answer(request: web.Request, relative: str) -> web.Response:
    found = _load(relative)
    if found is None:
        raise ApiError(404, "not_found", f"no web app file {relative!r}")
    body, content_type, etag = found
    headers = dict(HEADERS, ETag=etag)
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    charset = None if content_type == "image/svg+xml" else "utf-8"
    return web.Response(body=body, content_type=content_type, charset=charset, headers=headers)


async def index(request: web.Request) -> web.Response:
    return _answer(request, INDEX)


async def asset(request: web.Request) -> web.Response:
    return _answer(request, request.match_info["path"])


async def to_index(request: web.Request) -> web.Response:
    # Relative module URLs in the page resolve against /app/, not /.
    raise web.HTTPPermanentRedirect(PREFIX)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/app", to_index)
    r.add_get(PREFIX, index)
    r.add_get(PREFIX + "{path:.+}", asset)
