"""Template checks: the template must be registered (approved) for the name and language,
and the parameters must match it, as Graph checks before it accepts a template message.

Codes: 132001 "Template does not exist" (HTTP 404), 132000 "Number of parameters does not
match the expected number of params" (details name the component), 132012 "Template
parameter format mismatch"; see
https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes/
and https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates .
"""

from __future__ import annotations

from typing import Any, Optional

from whatsapp_client.cloud.testing._errors import GraphFault, invalid_parameter
from whatsapp_client.cloud.testing._state import SimState, Template

HEADER_KINDS = ("text", "image", "video", "document", "location")
_MEDIA_PARAMS = ("image", "video", "document")
_PARAM_TYPES = ("text", "currency", "date_time", "image", "video", "document", "payload")


def make_template(
    name: str,
    language: str,
    *,
    body_params: int = 0,
    header: Optional[str] = None,
    header_params: Optional[int] = None,
    button_params: int = 0,
) -> Template:
    """A template definition; a media or location header takes one parameter."""
    if header is not None and header not in HEADER_KINDS:
        raise ValueError(f"header must be one of {HEADER_KINDS} or None, not {header!r}")
    if min(body_params, button_params, header_params or 0) < 0:
        raise ValueError("parameter counts cannot be negative")
    if header_params is None:
        header_params = 0 if header in (None, "text") else 1
    return Template(name, language, body_params, header, header_params, button_params)


def check_template(state: SimState, obj: dict[str, Any]) -> None:
    """Raises the ``GraphFault`` Graph would answer for this ``template`` object, if any."""
    name = obj.get("name")
    language = obj.get("language")
    code = language.get("code") if isinstance(language, dict) else None
    if not isinstance(name, str) or not name:
        raise GraphFault(131008, details="template['name'] is required")
    if not isinstance(code, str) or not code:
        raise GraphFault(131008, details="template['language']['code'] is required")
    template = state.templates.get((name, code))
    if template is None:
        raise GraphFault(132001, details=f"template name ({name}) does not exist in {code}")
    components = obj.get("components", [])
    if not isinstance(components, list):
        raise invalid_parameter("template['components'] must be a list")
    counts = {"header": 0, "body": 0, "button": 0}
    for component in components:
        if not isinstance(component, dict) or component.get("type") not in counts:
            raise invalid_parameter("each component has type header, body or button")
        params = component.get("parameters", [])
        if not isinstance(params, list):
            raise invalid_parameter("component parameters must be a list")
        for param in params:
            _check_param(param, component["type"], template)
        counts[component["type"]] += len(params)
    for part, expected in (
        ("header", template.header_params),
        ("body", template.body_params),
        ("button", template.button_params),
    ):
        if counts[part] != expected:
            raise GraphFault(
                132000,
                details=f"{part}: number of localizable_params ({counts[part]}) does not "
                f"match the expected number of params ({expected})",
            )


def _check_param(param: Any, part: str, template: Template) -> None:
    kind = param.get("type") if isinstance(param, dict) else None
    if kind not in _PARAM_TYPES and kind != "location":
        raise GraphFault(132012, details=f"{part}: parameter type {kind!r} is not supported")
    assert isinstance(param, dict)
    value = param.get(kind)
    if kind == "text" and (not isinstance(value, str) or not value):
        raise GraphFault(131008, details=f"{part}: a text parameter needs its text")
    if kind in _MEDIA_PARAMS:
        if part != "header" or template.header != kind:
            raise GraphFault(132012, details=f"{part}: the template has no {kind} header")
        if not isinstance(value, dict) or ("id" in value) == ("link" in value):
            raise invalid_parameter(f"{kind} parameter needs exactly one of 'id' and 'link'")
    if kind == "currency" and not (
        isinstance(value, dict) and isinstance(value.get("amount_1000"), int)
    ):
        raise GraphFault(132012, details=f"{part}: currency needs amount_1000 and code")
    if kind == "date_time" and not (
        isinstance(value, dict) and isinstance(value.get("fallback_value"), str)
    ):
        raise GraphFault(132012, details=f"{part}: date_time needs fallback_value")
