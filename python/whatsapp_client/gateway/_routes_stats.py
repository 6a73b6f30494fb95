"""``GET /api/v1/sessions/{id}/stats``: a session's counters, queue depth, uptime, last
activity and messages per minute over the last hour (for the dashboard's Overview)."""

from __future__ import annotations

from aiohttp import web

from whatsapp_client.gateway._context import context_of
from whatsapp_client.gateway._http_errors import json_response
from whatsapp_client.gateway._ids import now_ms
from whatsapp_client.gateway._live import live_of, viewer_of, visible_session
from whatsapp_client.gateway._live_schemas import (
    MinuteCounts,
    SessionStats,
    StatsCounters,
)
from whatsapp_client.gateway._logs import add_log_context
from whatsapp_client.gateway._sqlite_stats import MINUTE_MS
from whatsapp_client.gateway._views import API

WINDOW_MINUTES = 60


async def session_stats(request: web.Request) -> web.Response:
    session_id = request.match_info["session_id"]
    add_log_context(session_id=session_id)
    who = viewer_of(request)
    who.require_scope("read")
    ctx = context_of(request)
    record = await visible_session(ctx.service, who, session_id)
    now = now_ms()
    current = now - now % MINUTE_MS
    first = current - (WINDOW_MINUTES - 1) * MINUTE_MS
    counts = await ctx.storage.message_counts_per_minute(session_id, first, current + MINUTE_MS)
    per_minute = []
    for index in range(WINDOW_MINUTES):
        minute = first + index * MINUTE_MS
        sent, received, failed = counts.get(minute, (0, 0, 0))
        per_minute.append(MinuteCounts(minute=minute, sent=sent, received=received, failed=failed))
    since = live_of(request).hub.connected_since.get(session_id)
    connected = record.status == "connected" and since is not None
    stats = SessionStats(
        session_id=session_id,
        status=record.status,
        counters=StatsCounters(
            sent=record.counters.sent,
            received=record.counters.received,
            failed=record.counters.failed,
        ),
        queue_depth=await ctx.service.queue_depth(session_id),
        connected_since=since if connected else None,
        uptime_seconds=max(0.0, (now - since) / 1000) if connected and since else None,
        last_activity_at=record.last_activity_at,
        per_minute=per_minute,
    )
    return json_response(stats)


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{API}/sessions/{{session_id}}/stats", session_stats)
