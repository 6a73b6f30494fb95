"""Operations endpoints (§6.7)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from whatsapp_client.server.routes.common import json
from whatsapp_client.server.schemas import Health
from whatsapp_client.server.state import state_of


async def health(request: web.Request) -> web.Response:
    return json(Health("ok"))


async def ready(request: web.Request) -> web.Response:
    state = state_of(request)
    if state.shutting_down:
        return json(Health("shutting_down"), status=503)
    try:
        ok = await state.storage.ping()
    except Exception:  # any storage failure means not ready; the details go to the log
        ok = False
    return json(Health("ready" if ok else "storage_unavailable"), status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    body = state_of(request).metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
