"""Whose session is it: a session another user owns answers 404, exactly like one that
does not exist, so that its existence is not revealed; the scope is checked after."""

from __future__ import annotations

from aiohttp import web

from whatsapp_client.gateway._context import context_of
from whatsapp_client.gateway._errors import NotFound
from whatsapp_client.gateway._models import Scope, SessionRecord
from whatsapp_client.gateway._principal import principal_of


async def reach_session(request: web.Request, session_id: str, scope: Scope) -> SessionRecord:
    """The session, if the caller sees it and has ``scope``; ``NotFound`` / ``Forbidden``."""
    who = principal_of(request)
    try:
        session = await context_of(request).service.get_session(session_id)
    except NotFound:
        session = None
    if session is None or not who.sees(session.owner_id, session_id):
        raise NotFound(f"no session {session_id!r}")
    who.require_scope(scope)
    return session
