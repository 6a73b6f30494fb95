"""``POST /{v}/{phone_number_id}/messages``: checks a message request the way Graph does and
builds its answer.

Request and answer shapes: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
and https://developers.facebook.com/docs/whatsapp/cloud-api/guides/mark-message-as-read .
"""

from __future__ import annotations

import re
from typing import Any

from whatsapp_client.cloud.testing._errors import GraphFault, invalid_parameter
from whatsapp_client.cloud.testing._state import SimState, new_wamid
from whatsapp_client.cloud.testing._templates import check_template

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
_TYPES = (
    "text",
    *MEDIA_KINDS,
    "template",
    "interactive",
    "reaction",
    "location",
    "contacts",
)
_NO_CAPTION = ("audio", "sticker")
_PHONE = re.compile(r"^\+?[0-9]{7,15}$")
_LINK = re.compile(r"^https?://\S+$")


def accept_message(state: SimState, body: Any) -> dict[str, Any]:
    """Checks one message request; answers Graph's success shape or raises ``GraphFault``."""
    if not isinstance(body, dict):
        raise invalid_parameter("The request body must be a JSON object")
    if body.get("messaging_product") != "whatsapp":
        raise GraphFault(100, "(#100) The parameter messaging_product is required.")
    if body.get("status") is not None:
        return _mark_read(state, body)
    to = body.get("to")
    if not isinstance(to, str) or not to:
        raise GraphFault(100, "(#100) The parameter to is required.")
    if not _PHONE.match(to):
        raise GraphFault(131009, details=f"Recipient phone number {to!r} is not valid")
    kind = body.get("type", "text")
    if kind not in _TYPES:
        raise invalid_parameter(f"Param type must be one of {{{', '.join(_TYPES)}}}")
    _check_context(body.get("context"))
    obj = body.get(kind)
    if kind == "contacts":  # the one type whose object is a list (of contact cards)
        if not isinstance(obj, list) or not obj or not all(isinstance(c, dict) for c in obj):
            raise GraphFault(131008, details="The parameter contacts is required.")
        obj = {}
    if not isinstance(obj, dict):
        raise GraphFault(131008, details=f"The parameter {kind} is required.")
    answer: dict[str, Any] = {"id": new_wamid()}
    if kind == "text":
        _check_text(obj)
    elif kind in MEDIA_KINDS:
        _check_media(state, kind, obj)
    elif kind == "template":
        check_template(state, obj)
        answer["message_status"] = "accepted"
    elif kind == "interactive":
        _check_interactive(obj)
    elif kind == "reaction":
        _check_reaction(obj)
    state.sent.append(body)
    return {
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
        "messages": [answer],
    }


def _mark_read(state: SimState, body: dict[str, Any]) -> dict[str, Any]:
    if body.get("status") != "read":
        raise invalid_parameter("status must be 'read'")
    message_id = body.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        raise GraphFault(100, "(#100) The parameter message_id is required.")
    state.read_receipts.append(message_id)
    return {"success": True}


def _check_context(context: Any) -> None:
    if context is None:
        return
    if not isinstance(context, dict) or not isinstance(context.get("message_id"), str):
        raise invalid_parameter("context.message_id must be a message id")


def _check_text(obj: dict[str, Any]) -> None:
    text = obj.get("body")
    if not isinstance(text, str) or not text:
        raise GraphFault(100, "(#100) The parameter text['body'] is required.")
    if len(text) > 4096:
        raise invalid_parameter("text['body'] is longer than 4096 characters")
    if not isinstance(obj.get("preview_url", False), bool):
        raise invalid_parameter("text['preview_url'] must be a boolean")


def _check_media(state: SimState, kind: str, obj: dict[str, Any]) -> None:
    media_id, link = obj.get("id"), obj.get("link")
    if (media_id is None) == (link is None):
        raise invalid_parameter(f"{kind} needs exactly one of 'id' and 'link'")
    if media_id is not None and (not isinstance(media_id, str) or media_id not in state.media):
        raise invalid_parameter(f"{kind}['id'] is not a valid media id: {media_id!r}")
    if link is not None and (not isinstance(link, str) or not _LINK.match(link)):
        raise invalid_parameter(f"{kind}['link'] is not a valid http(s) url")
    caption = obj.get("caption")
    if caption is not None:
        if kind in _NO_CAPTION:
            raise invalid_parameter(f"{kind} messages take no caption")
        if not isinstance(caption, str) or len(caption) > 1024:
            raise invalid_parameter("caption must be text of at most 1024 characters")
    if obj.get("filename") is not None and kind != "document":
        raise invalid_parameter("only document messages take a filename")


def _check_interactive(obj: dict[str, Any]) -> None:
    kind = obj.get("type")
    body = obj.get("body")
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        raise GraphFault(131008, details="interactive['body']['text'] is required")
    if len(body["text"]) > 1024:
        raise invalid_parameter("interactive body text is longer than 1024 characters")
    action = obj.get("action")
    if not isinstance(action, dict):
        raise GraphFault(131008, details="interactive['action'] is required")
    if kind == "button":
        _check_buttons(action.get("buttons"))
    elif kind == "list":
        _check_list(action)
    elif kind not in ("cta_url", "product", "product_list", "flow", "location_request_message"):
        raise invalid_parameter(f"interactive type {kind!r} is not supported")


def _check_buttons(buttons: Any) -> None:
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise invalid_parameter("interactive buttons: between 1 and 3 reply buttons")
    ids: set[str] = set()
    for button in buttons:
        reply = button.get("reply") if isinstance(button, dict) else None
        if not isinstance(reply, dict) or button.get("type") != "reply":
            raise invalid_parameter("each button is {'type': 'reply', 'reply': {id, title}}")
        button_id, title = reply.get("id"), reply.get("title")
        if not isinstance(button_id, str) or not button_id or len(button_id) > 256:
            raise invalid_parameter("button reply id: 1 to 256 characters")
        if not isinstance(title, str) or not title or len(title) > 20:
            raise invalid_parameter("button title: 1 to 20 characters")
        if button_id in ids:
            raise invalid_parameter(f"duplicate button id {button_id!r}")
        ids.add(button_id)


def _check_list(action: dict[str, Any]) -> None:
    label, sections = action.get("button"), action.get("sections")
    if not isinstance(label, str) or not label or len(label) > 20:
        raise invalid_parameter("list button: 1 to 20 characters")
    if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
        raise invalid_parameter("list sections: between 1 and 10")
    rows = 0
    for section in sections:
        section_rows = section.get("rows") if isinstance(section, dict) else None
        if not isinstance(section_rows, list) or not section_rows:
            raise invalid_parameter("each list section needs rows")
        for row in section_rows:
            if not isinstance(row, dict) or not isinstance(row.get("id"), str):
                raise invalid_parameter("each list row needs an id")
            if not isinstance(row.get("title"), str) or len(row["title"]) > 24:
                raise invalid_parameter("list row title: 1 to 24 characters")
        rows += len(section_rows)
    if rows > 10:
        raise invalid_parameter("a list holds at most 10 rows in all")


def _check_reaction(obj: dict[str, Any]) -> None:
    if not isinstance(obj.get("message_id"), str) or not obj["message_id"]:
        raise GraphFault(131008, details="reaction['message_id'] is required")
    if not isinstance(obj.get("emoji"), str):
        raise GraphFault(131008, details="reaction['emoji'] is required")
