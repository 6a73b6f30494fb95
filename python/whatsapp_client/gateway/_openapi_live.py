"""The OpenAPI entries of the live data routes: the event stream, a session's stats and
the log records."""

from __future__ import annotations

from typing import Any

from whatsapp_client.gateway import _openapi_examples as ex
from whatsapp_client.gateway._live_schemas import LogPage, SessionStats
from whatsapp_client.gateway._openapi_ops import op, path_param, query_param

JSON = dict[str, Any]
API = "/api/v1"
MODELS: tuple[type[Any], ...] = (SessionStats, LogPage)

_MINUTE = 60_000
_NOW_MINUTE = ex.NOW - ex.NOW % _MINUTE
STATS: JSON = {
    "session_id": ex.SESSION_ID,
    "status": "connected",
    "counters": {"sent": 1204, "received": 988, "failed": 3},
    "queue_depth": 0,
    "connected_since": ex.NOW - 3_600_000,
    "uptime_seconds": 3600.0,
    "last_activity_at": ex.NOW - 4_000,
    "per_minute": [
        {
            "minute": _NOW_MINUTE - (59 - i) * _MINUTE,
            "sent": 2 if i % 7 == 0 else 0,
            "received": 1 if i % 5 == 0 else 0,
            "failed": 0,
        }
        for i in range(60)
    ],
}
LOG_RECORD: JSON = {
    "id": 1842,
    "time": ex.NOW - 2_000,
    "level": "ERROR",
    "logger": "whatsapp_client.gateway.sender",
    "message": f"session {ex.SESSION_ID}: message {ex.MESSAGE_ID} failed: recipient unknown",
    "session_id": ex.SESSION_ID,
    "message_id": ex.MESSAGE_ID,
    "context": {"recipient": "u_a1b2c3…", "attempt": 1, "retry": "none: the message is failed"},
    "error": "recipient unknown",
}
_STREAM_EXAMPLE = (
    "retry: 2000\n\n"
    "event: session\n"
    f'data: {{"session_id": "{ex.SESSION_ID}", "name": "support", "status": "connected",'
    f' "reason": null, "at": {ex.NOW}}}\n\n'
    "event: message\n"
    f'data: {{"session_id": "{ex.SESSION_ID}", "id": "{ex.MESSAGE_ID}", "direction":'
    f' "outbound", "status": "sent", "at": {ex.NOW}}}\n\n'
    "event: counters\n"
    f'data: {{"session_id": "{ex.SESSION_ID}", "sent": 1205, "received": 988, "failed": 3,'
    ' "queue_depth": 0}\n\n'
    ": ping\n\n"
)


def _stream() -> JSON:
    operation = op(
        "eventStream",
        "Server-sent events: statuses, messages, counters and logs of the visible sessions",
        "live",
    )
    operation["responses"]["200"]["content"] = {
        "text/event-stream": {"schema": {"type": "string"}, "example": _STREAM_EXAMPLE}
    }
    operation["responses"]["503"] = {"description": "The gateway is stopping"}
    return operation


def live_paths() -> JSON:
    level = query_param(
        "level", "minimum level", {"enum": ["DEBUG", "INFO", "WARNING", "ERROR"]}, "WARNING"
    )
    return {
        f"{API}/events/stream": {"get": _stream()},
        f"{API}/sessions/{{session_id}}/stats": {
            "get": op(
                "sessionStats",
                "Counters, queue depth, uptime and messages per minute (last hour)",
                "live",
                answer=("SessionStats", STATS),
                errors=(404,),
                params=(path_param("session_id", "session id", ex.SESSION_ID),),
            )
        },
        f"{API}/logs": {
            "get": op(
                "listLogs",
                "The gateway's last log records, newest first",
                "live",
                answer=("LogPage", {"items": [LOG_RECORD], "next": 1842}),
                errors=(400, 404),
                params=(
                    level,
                    query_param(
                        "session_id", "one session only", {"type": "string"}, ex.SESSION_ID
                    ),
                    query_param(
                        "limit",
                        "page size",
                        {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                        100,
                    ),
                    query_param(
                        "before",
                        "next of the previous page",
                        {"type": "integer", "minimum": 1},
                        1842,
                    ),
                ),
            )
        },
    }
