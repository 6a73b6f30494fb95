"""Hostile request shapes the parsers must refuse with 400 ``invalid_request`` (never a
500): malformed multipart bodies, bad header bytes in a part."""

from __future__ import annotations

from tests.gateway._api_support import GatewayHandle

BOUNDARY = "gwtestboundary"


def _multipart(*parts: bytes) -> bytes:
    body = b"".join(b"--" + BOUNDARY.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    return body + b"--" + BOUNDARY.encode() + b"--\r\n"


async def _post(gateway: GatewayHandle, body: bytes, content_type: str) -> tuple[int, object]:
    answer = await gateway.call(
        "POST",
        "/api/v1/sessions/ses_any/messages",
        data=body,
        headers={"Content-Type": content_type},
    )
    return answer.status, answer.code


async def test_malformed_multipart_bodies_are_invalid_requests(gateway: GatewayHandle) -> None:
    form = f"multipart/form-data; boundary={BOUNDARY}"
    cases = [
        # A part header that is not valid (non-ASCII control bytes in the name).
        _multipart(b'Content-Disposition: form-data; name="\xf4\x8e\x8a\x92\x03"\r\n\r\nx'),
        # A part with no header block at all.
        _multipart(b"just bytes"),
        # A body that never reaches its closing boundary.
        b"--" + BOUNDARY.encode() + b'\r\nContent-Disposition: form-data; name="to"\r\n\r\nbob',
    ]
    for body in cases:
        assert await _post(gateway, body, form) == (400, "invalid_request"), body[:60]
    # A multipart content type without a boundary.
    assert await _post(gateway, b"x", "multipart/form-data") == (400, "invalid_request")


async def test_numbers_beyond_64_bits_are_invalid_requests(gateway: GatewayHandle) -> None:
    for body in (
        {"name": "k", "scope": "read", "expires_at": 2**64},
        {"name": "k", "scope": "read", "expires_at": 2**63},
    ):
        answer = await gateway.call("POST", "/api/v1/keys", json_body=body)
        assert (answer.status, answer.code) == (400, "invalid_request"), body
    for params in ({"since": str(2**63)}, {"until": str(2**64)}):
        answer = await gateway.call("GET", "/api/v1/sessions/ses_x/messages", params=params)
        assert (answer.status, answer.code) == (400, "invalid_request"), params
    answer = await gateway.call("POST", f"/api/v1/sessions/ses_x/deliveries/{2**63}/redeliver")
    assert (answer.status, answer.code) == (400, "invalid_request")
    assert (await gateway.call("GET", "/api/v1/keys")).body == {"keys": []}
