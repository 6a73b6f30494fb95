"""The simulator's aiohttp application: routing, bearer-token check, injected failures,
rate limiting and the Graph error middleware."""

from __future__ import annotations

import hmac
import json
from typing import Any, Callable, Optional

from aiohttp import web

from whatsapp_client.cloud.testing._errors import (
    GraphFault,
    bad_token,
    invalid_parameter,
    unknown_object,
)
from whatsapp_client.cloud.testing._media import (
    URL_PATH,
    check_upload,
    find_media,
    media_info,
    read_upload,
    serve_url,
)
from whatsapp_client.cloud.testing._messages import accept_message
from whatsapp_client.cloud.testing._state import SimState

Handler = Callable[[web.Request], Any]


class Identity:
    """Who the simulator is: the token it accepts and the phone number it serves."""

    def __init__(
        self,
        *,
        access_token: str,
        phone_number_id: str,
        display_phone_number: str,
        verified_name: str,
        quality_rating: str,
    ) -> None:
        self.access_token = access_token
        self.phone_number_id = phone_number_id
        self.display_phone_number = display_phone_number
        self.verified_name = verified_name
        self.quality_rating = quality_rating
        self.base_url = ""  # set once the server listens

    def __repr__(self) -> str:
        return f"Identity(phone_number_id={self.phone_number_id!r}, access_token='***')"


def build_app(state: SimState, who: Identity) -> web.Application:
    """The Graph-like application over ``state``."""

    @web.middleware
    async def graph_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            rule = state.take_failure(request.path)
            if rule is not None:
                raise GraphFault(
                    rule.code,
                    rule.message,
                    status=rule.status,
                    subcode=rule.subcode,
                    details=rule.details,
                    retry_after=rule.retry_after,
                )
            if not _authorized(request, who.access_token):
                if request.path == URL_PATH:
                    return web.Response(status=401, text="Unauthorized")
                raise bad_token()
            try:
                response: web.StreamResponse = await handler(request)
            except web.HTTPNotFound:
                raise GraphFault(
                    2500, f"Unknown path components: {request.path}", status=400
                ) from None
            except web.HTTPMethodNotAllowed:
                raise GraphFault(
                    100, f"Unsupported {request.method.lower()} request.", status=400
                ) from None
            return response
        except GraphFault as fault:
            return fault.response()

    async def messages(request: web.Request) -> web.Response:
        _own_number(request, who)
        try:
            body = json.loads(await request.read())
        except ValueError:
            raise invalid_parameter("The request body is not valid JSON") from None
        if state.over_rate():
            raise GraphFault(
                130429,
                details="Cloud API message throughput has been reached.",
            )
        return web.json_response(accept_message(state, body))

    async def upload(request: web.Request) -> web.Response:
        _own_number(request, who)
        data, mime_type = await read_upload(request)
        check_upload(data, mime_type)
        return web.json_response({"id": state.add_media(data, mime_type)})

    async def get_object(request: web.Request) -> web.Response:
        object_id = request.match_info["object_id"]
        if object_id == who.phone_number_id:
            return web.json_response(_phone_info(who, request.query.get("fields")))
        media = find_media(state, object_id)
        return web.json_response(media_info(state, media, who.base_url))

    async def delete_object(request: web.Request) -> web.Response:
        media_id = request.match_info["object_id"]
        find_media(state, media_id)
        del state.media[media_id]
        state.deleted_media.add(media_id)
        return web.json_response({"success": True})

    async def media_url(request: web.Request) -> web.Response:
        return serve_url(state, request)

    app = web.Application(middlewares=[graph_errors], client_max_size=101 * 1024 * 1024)
    app.router.add_get(URL_PATH, media_url)
    app.router.add_post("/{version}/{phone_number_id}/messages", messages)
    app.router.add_post("/{version}/{phone_number_id}/media", upload)
    app.router.add_get("/{version}/{object_id}", get_object)
    app.router.add_delete("/{version}/{object_id}", delete_object)
    return app


def _authorized(request: web.Request, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    given = header[7:] if header[:7].lower() == "bearer " else request.query.get("access_token")
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def _own_number(request: web.Request, who: Identity) -> None:
    object_id = request.match_info["phone_number_id"]
    if object_id != who.phone_number_id:
        raise unknown_object(object_id)


_PHONE_FIELDS = (
    "verified_name",
    "code_verification_status",
    "display_phone_number",
    "quality_rating",
    "platform_type",
    "throughput",
    "id",
)


def _phone_info(who: Identity, fields: Optional[str]) -> dict[str, Any]:
    everything: dict[str, Any] = {
        "verified_name": who.verified_name,
        "code_verification_status": "VERIFIED",
        "display_phone_number": who.display_phone_number,
        "quality_rating": who.quality_rating,
        "platform_type": "CLOUD_API",
        "throughput": {"level": "STANDARD"},
        "id": who.phone_number_id,
    }
    if not fields:
        return everything
    wanted = {name.strip() for name in fields.split(",")} | {"id"}
    unknown = wanted - set(_PHONE_FIELDS)
    if unknown:
        raise GraphFault(
            100,
            f"(#100) Tried accessing nonexisting field ({sorted(unknown)[0]}) on node type "
            "(WhatsAppBusinessPhoneNumber)",
        )
    return {name: value for name, value in everything.items() if name in wanted}
