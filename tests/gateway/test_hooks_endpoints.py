"""Webhook endpoints built from API input: validation, generated secrets, rotation, PATCH."""

from __future__ import annotations

import base64
from collections.abc import Sequence

import msgspec
import pytest

from whatsapp_client.gateway._errors import InvalidRequest
from whatsapp_client.gateway._models import EVENT_TYPES, WebhookEndpoint
from whatsapp_client.gateway._requests import WebhookSpec
from whatsapp_client.gateway._signing import SECRET_PREFIX, generate_secret
from whatsapp_client.gateway._webhook_endpoints import MAX_ENDPOINTS_PER_SESSION, build_endpoints

URL = "https://hooks.example.com/in"


def build(
    *specs: WebhookSpec, block_private: bool = False, existing: Sequence[WebhookEndpoint] = ()
) -> list[WebhookEndpoint]:
    return build_endpoints("ses_1", specs, block_private=block_private, now=42, existing=existing)


def test_defaults_all_events_and_a_generated_secret() -> None:
    (ep,) = build(WebhookSpec(url=URL))
    assert ep.id.startswith("whk_")
    assert ep.session_id == "ses_1"
    assert ep.events == list(EVENT_TYPES)
    assert len(ep.secrets) == 1 and ep.secrets[0].startswith(SECRET_PREFIX)
    assert (ep.enabled, ep.created_at) == (True, 42)
    (other,) = build(WebhookSpec(url=URL))
    assert other.secrets != ep.secrets and other.id != ep.id


def test_events_are_a_set_in_documented_order() -> None:
    (ep,) = build(WebhookSpec(url=URL, events=["error", "message.received", "error"]))
    assert ep.events == ["message.received", "error"]


def test_given_secret_and_rotation() -> None:
    new, old = generate_secret(), generate_secret()
    raw = base64.b64encode(b"k" * 32).decode()
    (ep,) = build(WebhookSpec(url=URL, secret=new, previous_secret=old))
    assert ep.secrets == [new, old]
    (ep,) = build(WebhookSpec(url=URL, secret=raw, previous_secret=SECRET_PREFIX + raw))
    assert ep.secrets == [SECRET_PREFIX + raw]


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        (WebhookSpec(url="ftp://x.example/"), r"webhooks\[0\]\.url: .*http or https"),
        (WebhookSpec(url=URL, events=[]), r"webhooks\[0\]\.events must name"),
        (WebhookSpec(url=URL, secret="short"), r"webhooks\[0\]\.secret: "),
        (
            WebhookSpec(url=URL, secret=generate_secret(), previous_secret="x"),
            r"webhooks\[0\]\.previous_secret: ",
        ),
    ],
)
def test_bad_specs_name_the_field(spec: WebhookSpec, why: str) -> None:
    with pytest.raises(InvalidRequest, match=why):
        build(spec)


def test_rotation_to_a_generated_secret() -> None:
    old = generate_secret()
    (ep,) = build(WebhookSpec(url=URL, previous_secret=old))
    assert len(ep.secrets) == 2 and ep.secrets[1] == old
    assert ep.secrets[0].startswith(SECRET_PREFIX) and ep.secrets[0] != old


def test_private_url_refused_only_when_blocking() -> None:
    spec = WebhookSpec(url="http://127.0.0.1:9000/hook")
    assert build(spec)[0].url == spec.url
    with pytest.raises(InvalidRequest, match=r"webhooks\[0\]\.url: .*not allowed"):
        build(spec, block_private=True)


def test_duplicate_urls_and_too_many_refused() -> None:
    with pytest.raises(InvalidRequest, match=r"webhooks\[1\]\.url is listed twice"):
        build(WebhookSpec(url=URL), WebhookSpec(url=URL))
    many = [WebhookSpec(url=f"{URL}/{n}") for n in range(MAX_ENDPOINTS_PER_SESSION + 1)]
    with pytest.raises(InvalidRequest, match="at most"):
        build(*many)


def test_patch_keeps_id_and_secret_of_a_kept_url_and_enables_it_again() -> None:
    (ep,) = build(WebhookSpec(url=URL, events=["error"]))
    disabled = msgspec.structs.replace(ep, enabled=False, disabled_reason="410")
    kept, added = build(
        WebhookSpec(url=URL),
        WebhookSpec(url=URL + "/2"),
        existing=[disabled],
    )
    assert (kept.id, kept.secrets, kept.created_at) == (ep.id, ep.secrets, ep.created_at)
    assert kept.enabled and kept.disabled_reason is None and kept.events == list(EVENT_TYPES)
    assert added.id != ep.id
    new = generate_secret()
    rotated, _ = build(
        WebhookSpec(url=URL, secret=new, previous_secret=ep.secrets[0]),
        WebhookSpec(url=URL + "/2"),
        existing=[ep],
    )
    assert rotated.id == ep.id and rotated.secrets == [new, ep.secrets[0]]
