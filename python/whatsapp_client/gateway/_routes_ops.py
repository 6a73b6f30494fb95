"""Operations: ``/health`` (the process answers), ``/ready`` (storage and data directory
writable; both without a key, for probes) and ``/metrics`` (Prometheus, needs a read key
that is not restricted to sessions: it names every session)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path
from typing import get_args

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from whatsapp_client.gateway._api_schemas import Health
from whatsapp_client.gateway._context import context_of
from whatsapp_client.gateway._errors import Forbidden
from whatsapp_client.gateway._http_errors import json_response
from whatsapp_client.gateway._logs import get_logger
from whatsapp_client.gateway._models import SessionStatus
from whatsapp_client.gateway._principal import principal_of

log = get_logger("ops")
_STATUSES: tuple[str, ...] = get_args(SessionStatus)


async def health(request: web.Request) -> web.Response:
    return json_response(Health("ok"))


def _probe_write(directory: Path) -> None:
    fd, name = tempfile.mkstemp(prefix=".ready-", dir=directory)
    try:
        os.write(fd, b"ok")
        os.fsync(fd)
    finally:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


async def ready(request: web.Request) -> web.Response:
    ctx = context_of(request)
    if ctx.shutting_down:
        return json_response(Health("shutting_down"), status=503)
    try:
        await ctx.storage.ping()
    except Exception:  # any storage failure means not ready; the details go to the log
        log.warning("not ready: storage", exc_info=True)
        return json_response(Health("storage_unavailable"), status=503)
    try:
        await asyncio.to_thread(_probe_write, ctx.data_dir)
    except OSError as exc:
        log.warning("not ready: data directory", extra={"error": str(exc)})
        return json_response(Health("data_dir_unwritable"), status=503)
    return json_response(Health("ready"))


async def metrics(request: web.Request) -> web.Response:
    # Gateway-wide figures (every session's): an admin's unrestricted credential (a
    # read-only key is enough, for a scraper).
    who = principal_of(request)
    who.require_scope("read")
    if not who.is_admin or who.session_ids is not None:
        raise Forbidden("metrics cover every session: they need an admin's unrestricted key")
    ctx = context_of(request)
    # Gauges of the current state are refreshed at scrape time.
    sessions = await ctx.service.list_sessions()
    counts = dict.fromkeys(_STATUSES, 0)
    for session in sessions:
        counts[session.status] = counts.get(session.status, 0) + 1
        ctx.metrics.queue_depth.labels(session.id).set(await ctx.service.queue_depth(session.id))
    for status, count in counts.items():
        ctx.metrics.sessions.labels(status).set(count)
    body = generate_latest(ctx.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/health", health)
    r.add_get("/ready", ready)
    r.add_get("/metrics", metrics)
