"""Standard Webhooks signing, checked with the reference ``standardwebhooks`` package."""

from __future__ import annotations

import base64
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook, WebhookVerificationError

from whatsapp_client.gateway._errors import InvalidRequest
from whatsapp_client.gateway._signing import (
    SECRET_PREFIX,
    generate_secret,
    normalize_secret,
    signature_headers,
    signatures,
)


def test_generated_secret_is_whsec_base64_of_32_random_bytes() -> None:
    a, b = generate_secret(), generate_secret()
    assert a.startswith(SECRET_PREFIX)
    assert len(base64.b64decode(a[len(SECRET_PREFIX) :], validate=True)) == 32
    assert a != b
    assert normalize_secret(a) == a


def test_signature_verifies_with_standardwebhooks() -> None:
    secret = generate_secret()
    body = b'{"type":"message.received","data":{"text":"h\xc3\xa9"}}'
    now = int(time.time())
    headers = signature_headers([secret], "evt_1", now, body)
    assert Webhook(secret).verify(body, headers)["data"]["text"] == "h\u00e9"
    assert headers["webhook-id"] == "evt_1"
    assert headers["webhook-timestamp"] == str(now)


def test_tampered_body_id_or_timestamp_fails_verification() -> None:
    secret = generate_secret()
    body = b'{"n":1}'
    now = int(time.time())
    headers = signature_headers([secret], "evt_1", now, body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"n":2}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-id": "evt_2"})
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-timestamp": str(now - 1)})
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(body, headers)


def test_rotation_two_secrets_each_verifies() -> None:
    new, old = generate_secret(), generate_secret()
    body = b"{}"
    headers = signature_headers([new, old], "evt_9", int(time.time()), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(body, headers)
    Webhook(old).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(body, headers)


def test_no_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        signatures([], "evt_1", 0, b"{}")


def test_caller_secret_without_prefix_is_normalized() -> None:
    raw = base64.b64encode(bytes(range(24))).decode()
    assert normalize_secret(raw) == SECRET_PREFIX + raw
    assert normalize_secret(SECRET_PREFIX + raw) == SECRET_PREFIX + raw


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "whsec_",
        "changeme",
        "whsec_not base64!",
        SECRET_PREFIX + base64.b64encode(b"x" * 23).decode(),  # too short
        SECRET_PREFIX + base64.b64encode(b"x" * 65).decode(),  # too long
    ],
)
def test_bad_secret_refused_without_repeating_it(secret: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        normalize_secret(secret)
    if len(secret) > len(SECRET_PREFIX):
        assert secret not in info.value.message


@given(
    key=st.binary(min_size=24, max_size=64),
    msg_id=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1),
    body=st.binary(max_size=256).map(lambda b: base64.b64encode(b)),
)
def test_any_secret_id_and_body_verify(key: bytes, msg_id: str, body: bytes) -> None:
    secret = SECRET_PREFIX + base64.b64encode(key).decode()
    headers = signature_headers([secret], msg_id, int(time.time()), b'"' + body + b'"')
    Webhook(secret).verify(b'"' + body + b'"', headers)
