"""Pending messages over REST for clients without a WebSocket (§6.5)."""

from __future__ import annotations

from aiohttp import web

from whatsapp_client.server.errors import bad_request
from whatsapp_client.server.routes.common import (
    json,
    no_content,
    query_int,
    read_body,
    require_user,
)
from whatsapp_client.server.schemas import AckBody, PendingMessage, PendingMessages
from whatsapp_client.server.state import state_of
from whatsapp_client.server.validation import MESSAGE_ID_RULE, all_valid_ids

MAX_LIMIT = 500
DEFAULT_LIMIT = 100


async def pending(request: web.Request) -> web.Response:
    user_id = await require_user(request)
    limit = query_int(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT) or DEFAULT_LIMIT
    rows = await state_of(request).storage.pending(user_id, limit)
    return json(
        PendingMessages(
            [PendingMessage(m.id, m.sender, m.recipient, m.content, m.timestamp) for _, m in rows]
        )
    )


async def ack(request: web.Request) -> web.Response:
    user_id = await require_user(request)
    body = await read_body(request, AckBody)
    if not all_valid_ids(body.ids):
        raise bad_request(MESSAGE_ID_RULE, "invalid_id")
    await state_of(request).relay.acknowledge(user_id, body.ids)
    return no_content()
