"""Key verification records, synced per account (§6.4)."""

from __future__ import annotations

from aiohttp import web

from whatsapp_client.server.errors import not_found
from whatsapp_client.server.routes.common import json, read_body, require_user
from whatsapp_client.server.schemas import Verification, VerifyKey
from whatsapp_client.server.state import state_of
from whatsapp_client.server.storage.records import VerificationRecord


def _out(record: VerificationRecord) -> Verification:
    return Verification(record.peer_id, record.fingerprint, record.verified, record.verified_at)


async def put_verification(request: web.Request) -> web.Response:
    user_id = await require_user(request)
    storage = state_of(request).storage
    body = await read_body(request, VerifyKey)
    if await storage.user_by_id(body.peer_id) is None:
        raise not_found("user_not_found", "no such peer")
    record = await storage.put_verification(user_id, body.peer_id, body.fingerprint, body.verified)
    return json(_out(record))


async def get_verification(request: web.Request) -> web.Response:
    user_id = await require_user(request)
    record = await state_of(request).storage.get_verification(
        user_id, request.match_info["peer_id"]
    )
    if record is None:
        raise not_found("verification_not_found", "no verification record for that peer")
    return json(_out(record))
