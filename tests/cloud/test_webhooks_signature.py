"""X-Hub-Signature-256 verification and the GET handshake: exact form, fail closed."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.cloud._webhooks_samples import APP_SECRET, VERIFY_TOKEN, sign
from whatsapp_client.cloud._signature import verification_challenge, verify_signature

BODY = b'{"object":"whatsapp_business_account","entry":[]}'


def test_valid_signature_is_accepted() -> None:
    assert verify_signature(BODY, sign(BODY), APP_SECRET) is True


def test_signature_of_another_body_or_secret_is_refused() -> None:
    assert verify_signature(BODY + b" ", sign(BODY), APP_SECRET) is False
    assert verify_signature(BODY, sign(BODY, "other-secret"), APP_SECRET) is False


def test_signature_is_over_the_raw_bytes_not_reserialized_json() -> None:
    spaced = b'{"object": "whatsapp_business_account", "entry": []}'
    assert verify_signature(spaced, sign(BODY), APP_SECRET) is False
    assert verify_signature(spaced, sign(spaced), APP_SECRET) is True


def test_missing_header_fails_closed() -> None:
    assert verify_signature(BODY, None, APP_SECRET) is False
    assert verify_signature(BODY, "", APP_SECRET) is False


def test_empty_secret_fails_closed_even_for_a_matching_signature() -> None:
    empty_sig = "sha256=" + hmac.new(b"", BODY, hashlib.sha256).hexdigest()
    assert verify_signature(BODY, empty_sig, "") is False


def test_uppercase_hex_is_refused() -> None:
    good = sign(BODY)
    upper = "sha256=" + good[len("sha256=") :].upper()
    assert upper != good
    assert verify_signature(BODY, upper, APP_SECRET) is False


@pytest.mark.parametrize(
    "transform",
    [
        lambda s: s.replace("sha256=", "sha1="),
        lambda s: s.replace("sha256=", "SHA256="),
        lambda s: s.replace("sha256=", "sha256:"),
        lambda s: s[len("sha256=") :],  # bare digest
        lambda s: " " + s,
        lambda s: s + " ",
        lambda s: s + "\n",
        lambda s: s[:-1],  # 63 hex digits
        lambda s: s + "0",  # 65 hex digits
        lambda s: s[:-2],
        lambda s: s[:-1] + "g",  # not hex
        lambda s: s[:-1] + "é",  # not ASCII: refused, never a TypeError
        lambda s: s + "," + s,  # two values
    ],
)
def test_any_other_form_of_the_header_is_refused(transform: object) -> None:
    header = transform(sign(BODY))  # type: ignore[operator]
    assert verify_signature(BODY, header, APP_SECRET) is False


@settings(max_examples=200, deadline=None)
@given(body=st.binary(min_size=1, max_size=512), data=st.data())
def test_any_single_bit_flip_of_the_body_is_refused(body: bytes, data: st.DataObject) -> None:
    header = sign(body)
    assert verify_signature(body, header, APP_SECRET)
    bit = data.draw(st.integers(0, len(body) * 8 - 1))
    flipped = bytearray(body)
    flipped[bit // 8] ^= 1 << (bit % 8)
    assert verify_signature(bytes(flipped), header, APP_SECRET) is False


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=256), data=st.data())
def test_any_single_bit_flip_of_the_signature_is_refused(body: bytes, data: st.DataObject) -> None:
    header = sign(body).encode("ascii")
    bit = data.draw(st.integers(0, len(header) * 8 - 1))
    flipped = bytearray(header)
    flipped[bit // 8] ^= 1 << (bit % 8)
    # A flip can make a non-ASCII byte: decode leniently; it must be refused either way.
    assert verify_signature(body, flipped.decode("latin-1"), APP_SECRET) is False


def test_verification_challenge_returns_the_challenge() -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    assert verification_challenge(params, VERIFY_TOKEN) == "1158201444"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN + "x", "hub.challenge": "1"},
        {"hub_mode": "subscribe", "hub_verify_token": VERIFY_TOKEN, "hub_challenge": "1"},
    ],
)
def test_verification_challenge_refuses(params: dict[str, str]) -> None:
    assert verification_challenge(params, VERIFY_TOKEN) is None


def test_verification_with_an_empty_configured_token_always_refuses() -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
    assert verification_challenge(params, "") is None
