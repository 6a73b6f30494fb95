"""Template messages: typed helpers, and validation of Graph's own component JSON.

Components may be given as the helpers below (``Header``, ``Body``, ``Button`` holding
``Text``/``Currency``/``DateTime``/``Image``/``Video``/``Document`` parameters) or as
Graph's raw JSON (dicts); both are validated the same way before anything is sent.
Shapes: https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates/
and https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages/#template-object .
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import msgspec

from whatsapp_client.cloud._errors import ValidationError
from whatsapp_client.cloud._payloads import check_link, envelope

__all__ = [
    "Body",
    "Button",
    "Component",
    "Currency",
    "DateTime",
    "Document",
    "Header",
    "Image",
    "Parameter",
    "Text",
    "Video",
    "template_payload",
    "validate_components",
]

_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
_LANG = re.compile(r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_BUTTON_SUB_TYPES = {"quick_reply", "url", "copy_code", "flow", "catalog", "mpm", "voice_call"}
_HEADER_TYPES = {"text", "currency", "date_time", "image", "video", "document", "location"}
_BODY_TYPES = {"text", "currency", "date_time"}
_MEDIA_TYPES = {"image", "video", "document"}


class Text(msgspec.Struct, frozen=True):
    text: str
    parameter_name: Optional[str] = None  # named parameters ({{order_id}})


class Currency(msgspec.Struct, frozen=True):
    fallback_value: str
    code: str  # ISO 4217
    amount_1000: int  # the amount times 1000


class DateTime(msgspec.Struct, frozen=True):
    fallback_value: str


class Image(msgspec.Struct, frozen=True):
    media_id: Optional[str] = None
    link: Optional[str] = None


class Video(msgspec.Struct, frozen=True):
    media_id: Optional[str] = None
    link: Optional[str] = None


class Document(msgspec.Struct, frozen=True):
    media_id: Optional[str] = None
    link: Optional[str] = None
    filename: Optional[str] = None


Parameter = Union[Text, Currency, DateTime, Image, Video, Document]


class Header(msgspec.Struct, frozen=True):
    parameters: list[Parameter]


class Body(msgspec.Struct, frozen=True):
    parameters: list[Parameter]


class Button(msgspec.Struct, frozen=True):
    """A button parameter: ``sub_type`` ("quick_reply", "url", "copy_code", ...) and
    ``index`` (0-based position of the button in the template)."""

    sub_type: str
    index: int
    payload: Optional[str] = None  # quick_reply
    text: Optional[str] = None  # url suffix
    coupon_code: Optional[str] = None  # copy_code


Component = Union[Header, Body, Button, Mapping[str, Any]]


def _param_json(p: Parameter) -> dict[str, Any]:
    if isinstance(p, Text):
        out: dict[str, Any] = {"type": "text", "text": p.text}
        if p.parameter_name is not None:
            out["parameter_name"] = p.parameter_name
        return out
    if isinstance(p, Currency):
        cur = {"fallback_value": p.fallback_value, "code": p.code, "amount_1000": p.amount_1000}
        return {"type": "currency", "currency": cur}
    if isinstance(p, DateTime):
        return {"type": "date_time", "date_time": {"fallback_value": p.fallback_value}}
    kind = {Image: "image", Video: "video", Document: "document"}[type(p)]
    media: dict[str, Any] = {}
    if p.media_id is not None:
        media["id"] = p.media_id
    if p.link is not None:
        media["link"] = p.link
    if isinstance(p, Document) and p.filename is not None:
        media["filename"] = p.filename
    return {"type": kind, kind: media}


def _component_json(c: Component) -> dict[str, Any]:
    if isinstance(c, Header):
        return {"type": "header", "parameters": [_param_json(p) for p in c.parameters]}
    if isinstance(c, Body):
        return {"type": "body", "parameters": [_param_json(p) for p in c.parameters]}
    if isinstance(c, Button):
        if c.sub_type == "quick_reply":
            params = [{"type": "payload", "payload": c.payload}]
        elif c.sub_type == "copy_code":
            params = [{"type": "coupon_code", "coupon_code": c.coupon_code}]
        else:
            params = [{"type": "text", "text": c.text}]
        return {"type": "button", "sub_type": c.sub_type, "index": c.index, "parameters": params}
    if isinstance(c, Mapping):
        return dict(c)
    raise ValidationError(
        f"template component must be Header, Body, Button or a dict, not {type(c).__name__}"
    )


def _check_param(p: Any, where: str, allowed: set[str]) -> None:
    if not isinstance(p, Mapping):
        raise ValidationError(f"{where}: a parameter must be an object")
    kind = p.get("type")
    if kind not in allowed:
        raise ValidationError(f"{where}: parameter type {kind!r} is not one of {sorted(allowed)}")
    if kind == "text":
        text = p.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ValidationError(f"{where}: text parameter needs a non-empty 'text'")
        if where.startswith("body") and (any(ch in text for ch in "\n\t") or "     " in text):
            raise ValidationError(
                f"{where}: body parameter text may not contain newlines, tabs or more than"
                " four consecutive spaces (Graph refuses it with 132018)"
            )
        if where.startswith("header") and len(text) > 60:
            raise ValidationError(f"{where}: header text parameter is over 60 characters")
    elif kind == "currency":
        cur = p.get("currency")
        if not isinstance(cur, Mapping) or not isinstance(cur.get("fallback_value"), str):
            raise ValidationError(f"{where}: currency needs fallback_value, code, amount_1000")
        if not isinstance(cur.get("code"), str) or not _CURRENCY.match(cur["code"]):
            raise ValidationError(f"{where}: currency code must be ISO 4217 (three capitals)")
        amount = cur.get("amount_1000")
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise ValidationError(f"{where}: currency amount_1000 must be an integer")
    elif kind == "date_time":
        dt = p.get("date_time")
        if not isinstance(dt, Mapping) or not isinstance(dt.get("fallback_value"), str):
            raise ValidationError(f"{where}: date_time needs a fallback_value string")
    elif kind in _MEDIA_TYPES:
        media = p.get(kind)
        if not isinstance(media, Mapping) or (("id" in media) == ("link" in media)):
            raise ValidationError(f"{where}: {kind} parameter needs exactly one of id or link")
        if "link" in media:
            check_link(media["link"], where)
        elif not isinstance(media["id"], str) or not media["id"]:
            raise ValidationError(f"{where}: {kind} id must be a non-empty string")


def _check_button(c: Mapping[str, Any], where: str) -> None:
    sub = c.get("sub_type")
    if sub not in _BUTTON_SUB_TYPES:
        raise ValidationError(
            f"{where}: sub_type {sub!r} is not one of {sorted(_BUTTON_SUB_TYPES)}"
        )
    index = c.get("index")
    if isinstance(index, str) and index.isdigit():
        index = int(index)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= 9:
        raise ValidationError(f"{where}: index must be 0..9 (the button's position)")
    params = c.get("parameters", [])
    if not isinstance(params, list):
        raise ValidationError(f"{where}: parameters must be a list")
    need = {"quick_reply": "payload", "copy_code": "coupon_code", "url": "text"}.get(sub)
    for p in params:
        if not isinstance(p, Mapping):
            raise ValidationError(f"{where}: a parameter must be an object")
        if need is not None and (
            p.get("type") != need or not isinstance(p.get(need), str) or not p.get(need)
        ):
            raise ValidationError(
                f"{where}: a {sub} button needs a {need!r} parameter with a value"
            )


def validate_components(components: Sequence[Component]) -> list[dict[str, Any]]:
    """Graph JSON for ``components``, or :class:`ValidationError` saying what is wrong."""
    if isinstance(components, (str, bytes, Mapping)):
        raise ValidationError("components must be a list of components")
    out = [_component_json(c) for c in components]
    seen: set[str] = set()
    buttons: set[int] = set()
    for i, c in enumerate(out):
        kind = c.get("type")
        where = f"{kind} component #{i}"
        if kind in ("header", "body"):
            if kind in seen:
                raise ValidationError(f"only one {kind} component is allowed")
            seen.add(kind)
            params = c.get("parameters")
            if not isinstance(params, list):
                raise ValidationError(f"{where}: parameters must be a list")
            if kind == "header" and len(params) > 1:
                raise ValidationError(f"{where}: a header takes at most one parameter")
            for j, p in enumerate(params):
                _check_param(
                    p, f"{kind} parameter #{j}", _HEADER_TYPES if kind == "header" else _BODY_TYPES
                )
        elif kind == "button":
            _check_button(c, where)
            idx = int(c["index"])
            if idx in buttons:
                raise ValidationError(f"{where}: two button parameters for index {idx}")
            buttons.add(idx)
        else:
            raise ValidationError(f"component #{i}: type {kind!r} is not header, body or button")
    return out


def template_payload(
    to: str, name: str, language: str, components: Optional[Sequence[Component]] = None
) -> dict[str, Any]:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValidationError(
            f"template name {name!r} must be 1-512 lowercase letters, digits or underscores"
        )
    if not isinstance(language, str) or not _LANG.match(language):
        raise ValidationError(f"template language {language!r} must be a code like 'en' or 'en_US'")
    body: dict[str, Any] = {"name": name, "language": {"code": language}}
    if components:
        body["components"] = validate_components(components)
    return envelope(to, "template", body)
