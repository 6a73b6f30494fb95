"""The browser dashboard: ``GET /`` (the app's page) and its static assets under
``/dashboard/`` (ES modules, CSS, the favicon), read from the ``dashboard`` directory
inside the package. The files hold no data: every page fetches it from the authenticated
JSON API, so these routes are public (``_auth.PUBLIC_PATHS`` and ``PUBLIC_PREFIXES``).
A strict Content-Security-Policy holds because no page has inline script or style."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Optional

from aiohttp import web

from whatsapp_client.gateway._errors import NotFound

ROOT = Path(__file__).with_name("dashboard")
PREFIX = "/dashboard/"
INDEX = "index.html"
CSP = "default-src 'self'; frame-ancestors 'none'"
CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}
# The page and its assets are revalidated on every load (the ETag makes that a 304), so a
# gateway upgrade never leaves a browser mixing old and new modules.
CACHE_CONTROL = "no-cache"
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": CACHE_CONTROL,
}


@lru_cache(maxsize=128)
def _load(relative: str) -> Optional[tuple[bytes, str, str]]:
    """The file's bytes, content type and ETag, or None when ``relative`` names no
    servable file inside :data:`ROOT` (unknown extension, outside the directory)."""
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
        raise NotFound(f"no dashboard file {relative!r}")
    body, content_type, etag = found
    headers = dict(HEADERS, ETag=etag)
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    charset = "utf-8" if content_type != "image/svg+xml" else None
    return web.Response(body=body, content_type=content_type, charset=charset, headers=headers)


async def index(request: web.Request) -> web.Response:
    return _answer(request, INDEX)


async def asset(request: web.Request) -> web.Response:
    return _answer(request, request.match_info["path"])


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/", index)
    r.add_get(PREFIX, index)
    r.add_get(PREFIX + "{path:.+}", asset)
