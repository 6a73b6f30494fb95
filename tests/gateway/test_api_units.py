"""Parts of the API layer that need no running gateway: key strength, the failure
throttle, forwarded addresses, Range parsing, the OpenAPI document."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request
from openapi_spec_validator import validate

from whatsapp_client.gateway._auth import (
    FailureThrottle,
    InsecureApiKey,
    check_key_strength,
    generate_key,
    hash_key,
)
from whatsapp_client.gateway._errors import Forbidden, RangeNotSatisfiable
from whatsapp_client.gateway._openapi import openapi_document
from whatsapp_client.gateway._principal import Principal
from whatsapp_client.gateway._routes_media import parse_range
from whatsapp_client.gateway._trust import client_address


@pytest.mark.parametrize(
    "key",
    [
        "changeme",
        "admin",
        "secret",
        "CHANGE_ME-CHANGE_ME-CHANGE_ME",
        "my-api-secret-0123456789abcdef",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "abababababababababababababababab",
        "example-key-Zx81Kq02LmPw93RtVb",
        "short-but-random-Kq8",
    ],
)
def test_weak_keys_are_refused(key: str) -> None:
    with pytest.raises(InsecureApiKey):
        check_key_strength(key, "test")


def test_generated_keys_pass_and_differ() -> None:
    keys = {generate_key() for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        check_key_strength(key, "generated")
        assert key.startswith("wag_")
        assert len(hash_key(key)) == 64


def test_scopes_rank_reach_and_restriction() -> None:
    reader = Principal("usr_a", "a@x.test", "user", "read", frozenset({"ses_a"}), key_id="k")
    reader.require_scope("read")
    with pytest.raises(Forbidden):
        reader.require_scope("write")
    assert reader.sees("usr_a", "ses_a")
    assert not reader.sees("usr_a", "ses_b")  # restricted to ses_a
    assert not reader.sees("usr_b", "ses_a")  # another user's
    with pytest.raises(Forbidden):
        reader.require_admin()
    admin = Principal("usr_b", "b@x.test", "admin", "admin")
    admin.require_scope("write")
    admin.require_admin()
    assert admin.sees("usr_a", "ses_b") and admin.sees(None, "ses_c")
    restricted_admin = Principal("usr_b", "b@x.test", "admin", "admin", frozenset({"ses_a"}))
    assert not restricted_admin.sees("usr_a", "ses_b")
    with pytest.raises(Forbidden):
        restricted_admin.require_admin()
    user = Principal("usr_a", "a@x.test", "user", "write", via="cookie")
    with pytest.raises(Forbidden):
        user.require_admin()


def test_throttle_refuses_past_the_limit_until_the_window_passes() -> None:
    now = [0.0]
    throttle = FailureThrottle(limit=3, window=10.0, clock=lambda: now[0])
    for _ in range(2):
        throttle.failed("1.2.3.4")
    assert throttle.retry_after("1.2.3.4") is None
    throttle.failed("1.2.3.4")
    assert throttle.retry_after("1.2.3.4") == pytest.approx(10.0)
    assert throttle.retry_after("5.6.7.8") is None  # another address is not affected
    now[0] = 10.5
    assert throttle.retry_after("1.2.3.4") is None


def _request(peer: str, forwarded: str | None = None) -> Any:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    transport_peer = (peer, 1234)

    class Transport:
        def get_extra_info(self, name: str, default: Any = None) -> Any:
            return transport_peer if name == "peername" else default

        def is_closing(self) -> bool:
            return False

    return make_mocked_request("GET", "/", headers=headers, transport=Transport())


def test_forwarded_for_is_ignored_unless_the_peer_is_trusted() -> None:
    spoofed = _request("203.0.113.9", "198.51.100.1")
    assert client_address(spoofed, "") == "203.0.113.9"
    assert client_address(spoofed, "10.0.0.0/8") == "203.0.113.9"
    proxied = _request("10.0.0.2", "198.51.100.1, 10.0.0.3")
    # The right-most address that is not a trusted proxy is the client.
    assert client_address(proxied, "10.0.0.0/8") == "198.51.100.1"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", (0, 10)),
        ("bytes=10-", (10, 100)),
        ("bytes=-30", (70, 100)),
        ("bytes=-300", (0, 100)),
        ("bytes=90-500", (90, 100)),
        ("bytes=0-1,5-6", None),  # several ranges: the whole file
        ("items=0-1", None),
    ],
)
def test_range_parsing(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=5-2", "bytes=-0"])
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 100)


def test_openapi_document_is_valid_and_every_route_has_examples() -> None:
    document = openapi_document()
    validate(document)
    assert document["openapi"].startswith("3.1")
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            body = operation.get("requestBody")
            if body is not None:
                for media in body["content"].values():
                    assert "example" in media or "examples" in media, where
            for status, answer in operation["responses"].items():
                for media in answer.get("content", {}).values():
                    assert "example" in media or "examples" in media, f"{where} {status}"


def test_settings_never_show_the_api_keys() -> None:
    from whatsapp_client.gateway._settings import GatewaySettings

    key = generate_key()
    settings = GatewaySettings(api_keys=key)
    assert key not in repr(settings) and key not in str(settings)
    assert settings.api_keys == key
