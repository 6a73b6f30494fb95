"""Static browser files served from a directory inside the package (the gateway's dashboard,
the server's web chat app): only known file types, never a hidden file or one outside the
directory, a strict Content-Security-Policy, and an ETag so that a page revalidates on
every load (a 304 when unchanged) and an upgrade never leaves a browser mixing old and new
modules."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Optional

from aiohttp import web

CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}


class StaticFiles:
    """``StaticFiles(root, csp, not_found)``: ``answer(request, relative)`` serves
    ``root/relative`` or raises ``not_found(message)``."""

    def __init__(self, root: Path, csp: str, not_found: Callable[[str], Exception]) -> None:
        self.root = root
        self.headers = {
            "Content-Security-Policy": csp,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
            "Cache-Control": "no-cache",
        }
        self._not_found = not_found
        self.load = lru_cache(maxsize=128)(self._read)

    def _read(self, relative: str) -> Optional[tuple[bytes, str, str]]:
        """The file's bytes, content type and ETag, or None when ``relative`` names no
        servable file inside the root (unknown extension, hidden, outside the directory)."""
        parts = relative.split("/")
        if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
            return None
        path = self.root.joinpath(*parts)
        content_type = CONTENT_TYPES.get(path.suffix)
        if content_type is None or not path.is_file():
            return None
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        return body, content_type, etag

    def answer(self, request: web.Request, relative: str) -> web.Response:
        found = self.load(relative)
        if found is None:
            raise self._not_found(f"no file {relative!r}")
        body, content_type, etag = found
        headers = dict(self.headers, ETag=etag)
        if etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        charset = None if content_type == "image/svg+xml" else "utf-8"
        return web.Response(body=body, content_type=content_type, charset=charset, headers=headers)
