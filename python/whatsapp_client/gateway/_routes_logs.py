"""``GET /api/v1/logs?level=&session_id=&limit=&before=``: the last log records of the
gateway from the in-memory ring (:mod:`._log_buffer`), newest first. ``level`` is a
minimum; ``before`` is the ``next`` of the previous page. A caller sees the records of
the sessions it sees; those of no session only an unrestricted admin."""

from __future__ import annotations

from typing import Optional

from aiohttp import web

from whatsapp_client.gateway._context import context_of
from whatsapp_client.gateway._errors import InvalidRequest
from whatsapp_client.gateway._http_errors import json_response
from whatsapp_client.gateway._live import (
    live_of,
    owner_of,
    sees_gateway,
    viewer_of,
    visible_session,
)
from whatsapp_client.gateway._live_schemas import LogPage
from whatsapp_client.gateway._log_buffer import LEVELS, Level
from whatsapp_client.gateway._views import API

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def _int(
    request: web.Request, name: str, default: Optional[int], low: int, high: int
) -> Optional[int]:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise InvalidRequest(f"{name} must be between {low} and {high}")
    return value


def _level(request: web.Request) -> Level:
    raw = request.query.get("level", "") or "DEBUG"
    for level in LEVELS:
        if raw.upper() == level:
            return level
    raise InvalidRequest(f"level must be one of: {', '.join(LEVELS)}")


async def list_logs(request: web.Request) -> web.Response:
    who = viewer_of(request)
    who.require_scope("read")
    level = _level(request)
    limit = _int(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    before = _int(request, "before", None, 1, 2**62)
    assert limit is not None
    session_id = request.query.get("session_id") or None
    service = context_of(request).service
    if session_id is not None:
        await visible_session(service, who, session_id)  # 404 for another's session
    if sees_gateway(who):
        visible_ids: Optional[set[str]] = None  # everything
    else:
        visible_ids = {s.id for s in await service.list_sessions() if who.sees(owner_of(s), s.id)}

    def visible(record_session: Optional[str]) -> bool:
        if visible_ids is None:
            return True
        return record_session is not None and record_session in visible_ids

    items, following = live_of(request).logs.query(
        level=level, session_id=session_id, before=before, limit=limit, visible=visible
    )
    return json_response(LogPage(items=items, next=following))


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{API}/logs", list_logs)
