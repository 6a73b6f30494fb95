"""``/api/v1/sessions/{id}/messages``: send (JSON or multipart), history and one message."""

from __future__ import annotations

from typing import Optional, get_args

from aiohttp import web

from whatsapp_client.gateway._api_schemas import MessagesPage, SendBody
from whatsapp_client.gateway._context import context_of
from whatsapp_client.gateway._errors import FileTooLarge, InvalidRequest
from whatsapp_client.gateway._http_errors import json_response, read_json
from whatsapp_client.gateway._logs import add_log_context
from whatsapp_client.gateway._models import (
    Direction,
    MessageFilter,
    MessageState,
    MessageType,
)
from whatsapp_client.gateway._ownership import reach_session
from whatsapp_client.gateway._principal import Principal, principal_of
from whatsapp_client.gateway._requests import MediaUpload, SendSpec
from whatsapp_client.gateway._routes_sessions import session_id_of
from whatsapp_client.gateway._upload import Upload, read_upload
from whatsapp_client.gateway._views import API, message_view

IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_PAGE = 50
MAX_PAGE = 500
_FILTER_CHOICES: dict[str, tuple[str, ...]] = {
    "direction": get_args(Direction),
    "status": get_args(MessageState),
    "type": get_args(MessageType),
}
_QUERY = frozenset({"direction", "peer", "status", "type", "since", "until", "limit", "cursor"})


def idempotency_scope(request: web.Request, who: Principal, session_id: str) -> Optional[str]:
    """The stored-answer scope of an ``Idempotency-Key``: per API key and session, so
    that one caller never receives another's answer."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not (1 <= len(key) <= 255 and key.isascii() and key.isprintable()):
        raise InvalidRequest(f"{IDEMPOTENCY_HEADER} must be 1 to 255 printable ASCII characters")
    caller = who.key_id if who.key_id is not None else f"user:{who.user_id}"
    return f"{caller}:{session_id}:{key}"


def check_spec(spec: SendSpec) -> None:
    if (spec.to is None) == (spec.group_id is None):
        raise InvalidRequest("give exactly one of 'to' and 'group_id'")
    if (spec.text is None) == (spec.media is None):
        raise InvalidRequest("give exactly one of 'text' and 'media' (or a file part)")
    if spec.caption is not None and spec.media is None:
        raise InvalidRequest("'caption' goes with media only")


def spec_from_json(body: SendBody, max_file_bytes: int) -> SendSpec:
    media = None
    if body.media is not None:
        if not body.media.data:
            raise InvalidRequest("media.data is empty")
        if len(body.media.data) > max_file_bytes:
            raise FileTooLarge(f"the file is larger than the limit of {max_file_bytes} bytes")
        media = MediaUpload(
            source=body.media.data, mime=body.media.mime, filename=body.media.filename
        )
    return SendSpec(
        to=body.to, group_id=body.group_id, text=body.text, caption=body.caption, media=media
    )


def spec_from_upload(upload: Upload) -> SendSpec:
    fields = upload.fields
    media = None
    if upload.path is not None:
        if upload.path.stat().st_size == 0:
            raise InvalidRequest("the file part is empty")
        mime = fields.get("mime") or upload.part_mime
        media = MediaUpload(
            source=upload.path,
            mime=None if mime in (None, "", "application/octet-stream") else mime,
            filename=fields.get("filename") or upload.part_filename,
        )
    for name in ("to", "group_id"):
        if name in fields and not 1 <= len(fields[name]) <= 256:
            raise InvalidRequest(f"{name} must be 1 to 256 characters")
    return SendSpec(
        to=fields.get("to"),
        group_id=fields.get("group_id"),
        caption=fields.get("caption"),
        media=media,
    )


def json_limit(max_file_bytes: int) -> int:
    """A JSON body may carry the base64 of the largest file plus the other fields."""
    return (max_file_bytes + 2) // 3 * 4 + 64 * 1024


async def send_message(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    await reach_session(request, session_id, "write")
    who = principal_of(request)
    ctx = context_of(request)
    scope = idempotency_scope(request, who, session_id)
    limit = ctx.settings.max_file_bytes
    upload: Optional[Upload] = None
    if request.content_type == "multipart/form-data":
        upload = await read_upload(request, ctx.data_dir / "tmp", limit)
    try:
        if upload is not None:
            spec = spec_from_upload(upload)
        else:
            body = await read_json(
                request, SendBody, limit=json_limit(limit), too_large=FileTooLarge
            )
            spec = spec_from_json(body, limit)
        check_spec(spec)
        status, answer = await ctx.service.send(session_id, spec, idempotency_scope=scope)
    finally:
        # The service seals the file and removes it; what is left here (a refusal, or a
        # replayed idempotent answer that never used it) goes now.
        if upload is not None:
            upload.discard()
    return web.Response(status=status, body=answer, content_type="application/json")


def _choice(request: web.Request, name: str) -> Optional[str]:
    value = request.query.get(name)
    if value is None:
        return None
    choices = _FILTER_CHOICES[name]
    if value not in choices:
        raise InvalidRequest(f"{name} must be one of {', '.join(choices)}")
    return value


def _int(request: web.Request, name: str, low: int, high: int) -> Optional[int]:
    raw = request.query.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise InvalidRequest(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def message_filter(request: web.Request) -> tuple[MessageFilter, int, Optional[str]]:
    unknown = sorted(set(request.query) - _QUERY)
    if unknown:
        raise InvalidRequest(f"unknown query parameter {unknown[0]!r}")
    for name in request.query:
        if len(request.query.getall(name)) > 1:
            raise InvalidRequest(f"query parameter {name!r} is given twice")
    peer = request.query.get("peer")
    if peer is not None and not 1 <= len(peer) <= 256:
        raise InvalidRequest("peer must be 1 to 256 characters")
    cursor = request.query.get("cursor")
    if cursor is not None and not 1 <= len(cursor) <= 512:
        raise InvalidRequest("cursor must be 1 to 512 characters")
    filters = MessageFilter(
        direction=_choice(request, "direction"),  # type: ignore[arg-type]  # checked above
        peer=peer,
        status=_choice(request, "status"),  # type: ignore[arg-type]
        type=_choice(request, "type"),  # type: ignore[arg-type]
        since=_int(request, "since", 0, 2**63 - 1),
        until=_int(request, "until", 0, 2**63 - 1),
    )
    limit = _int(request, "limit", 1, MAX_PAGE) or DEFAULT_PAGE
    return filters, limit, cursor


async def list_messages(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    await reach_session(request, session_id, "read")
    filters, limit, cursor = message_filter(request)
    ctx = context_of(request)
    messages, next_cursor = await ctx.service.list_messages(
        session_id, filters, limit=limit, cursor=cursor
    )
    base = ctx.settings.base_url
    return json_response(MessagesPage([message_view(m, base) for m in messages], next_cursor))


async def get_message(request: web.Request) -> web.Response:
    session_id = session_id_of(request)
    await reach_session(request, session_id, "read")
    message_id = request.match_info["message_id"]
    add_log_context(message_id=message_id)
    ctx = context_of(request)
    message = await ctx.service.get_message(session_id, message_id)
    return json_response(message_view(message, ctx.settings.base_url))


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post(f"{API}/sessions/{{session_id}}/messages", send_message)
    r.add_get(f"{API}/sessions/{{session_id}}/messages", list_messages)
    r.add_get(f"{API}/sessions/{{session_id}}/messages/{{message_id}}", get_message)
