"""Media on the simulator: upload checks, retrieve, the expiring bearer-only url, delete."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.cloud._sim_support import Harness, graph_error, harness

KB = 1024
MB = 1024 * 1024


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with harness() as running:
        yield running


def webp(size: int, *, animated: bool) -> bytes:
    flags = 0x02 if animated else 0x00
    head = b"RIFF" + (size - 8).to_bytes(4, "little") + b"WEBPVP8X" + b"\x0a\x00\x00\x00"
    head += bytes([flags])
    return head + b"\x00" * (size - len(head))


async def fetch_url(h: Harness, url: str, token: Any = None) -> tuple[int, bytes, str]:
    headers = h.auth(token) if token is not False else {}
    async with h.session.get(url, headers=headers) as response:
        return response.status, await response.read(), response.headers.get("Content-Type", "")


@pytest.mark.parametrize(
    ("mime", "size"),
    [
        ("image/jpeg", 5 * MB),
        ("image/png", 1000),
        ("video/mp4", 16 * MB),
        ("video/3gpp", 10),
        ("audio/ogg; codecs=opus", 16 * MB),
        ("audio/mpeg", 10),
        ("audio/aac", 10),
        ("audio/amr", 10),
        ("audio/mp4", 10),
        ("application/pdf", 10),
        ("text/plain", 10),
    ],
)
async def test_upload_within_limits_answers_an_id(h: Harness, mime: str, size: int) -> None:
    data = bytes(size)
    status, answer = await h.upload(data, mime)
    assert status == 200
    assert set(answer) == {"id"}
    assert answer["id"].isdigit()
    assert h.sim.media_bytes(answer["id"]) == data


@pytest.mark.parametrize(
    ("mime", "size"),
    [
        ("image/jpeg", 5 * MB + 1),
        ("video/mp4", 16 * MB + 1),
        ("audio/mpeg", 16 * MB + 1),
    ],
)
async def test_upload_over_the_kind_limit_is_131053(h: Harness, mime: str, size: int) -> None:
    status, answer = await h.upload(bytes(size), mime)
    assert status == 400
    assert graph_error(answer)[0] == 131053
    assert h.sim.sent == []


async def test_document_limit_is_100_mb(h: Harness) -> None:
    status, answer = await h.upload(bytes(100 * MB + 1), "application/pdf")
    assert graph_error(answer)[0] == 131053
    assert status == 400


async def test_sticker_limits_static_100_kb_animated_500_kb(h: Harness) -> None:
    assert (await h.upload(webp(100 * KB, animated=False), "image/webp"))[0] == 200
    status, answer = await h.upload(webp(100 * KB + 1, animated=False), "image/webp")
    assert (status, graph_error(answer)[0]) == (400, 131053)
    assert (await h.upload(webp(500 * KB, animated=True), "image/webp"))[0] == 200
    status, answer = await h.upload(webp(500 * KB + 1, animated=True), "image/webp")
    assert (status, graph_error(answer)[0]) == (400, 131053)


@pytest.mark.parametrize("mime", ["audio/wav", "image/gif", "application/zip", "video/webm"])
async def test_unsupported_type_is_code_100(h: Harness, mime: str) -> None:
    status, answer = await h.upload(b"data", mime)
    assert status == 400
    assert graph_error(answer)[0] == 100
    assert mime in answer["error"]["message"]


async def test_empty_file_is_refused(h: Harness) -> None:
    status, answer = await h.upload(b"", "image/png")
    assert (status, graph_error(answer)[0]) == (400, 131053)


async def test_upload_needs_messaging_product(h: Harness) -> None:
    status, answer = await h.upload(b"x", "image/png", fields={"type": "image/png"})
    assert (status, graph_error(answer)[0]) == (400, 100)


async def test_upload_type_falls_back_to_the_file_part(h: Harness) -> None:
    status, answer = await h.upload(b"x", "image/png", fields={"messaging_product": "whatsapp"})
    assert status == 200
    assert (await h.call("GET", answer["id"]))[1]["mime_type"] == "image/png"


async def test_upload_needs_multipart_and_a_file(h: Harness) -> None:
    path = f"{h.sim.phone_number_id}/media"
    status, answer = await h.call("POST", path, json={"messaging_product": "whatsapp"})
    assert (status, graph_error(answer)[0]) == (400, 100)
    status, answer = await h.call(
        "POST", path, data={"messaging_product": "whatsapp", "type": "image/png"}
    )
    assert (status, graph_error(answer)[0]) == (400, 100)


async def test_upload_with_wrong_token_is_401(h: Harness) -> None:
    h.sim.access_token  # noqa: B018 - the token exists; the call below uses another one
    form_status, answer = await h.call(
        "POST", f"{h.sim.phone_number_id}/media", token="nope", data={"x": "y"}
    )
    assert (form_status, graph_error(answer)[0]) == (401, 190)


async def test_retrieve_answers_graphs_fields(h: Harness) -> None:
    data = b"OggS-voice-note"
    media_id = h.sim.add_media(data, "audio/ogg; codecs=opus")
    status, info = await h.call("GET", media_id)
    assert status == 200
    assert set(info) == {"messaging_product", "url", "mime_type", "sha256", "file_size", "id"}
    assert info["messaging_product"] == "whatsapp"
    assert info["id"] == media_id
    assert info["mime_type"] == "audio/ogg; codecs=opus"
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert info["file_size"] == len(data)
    got = await fetch_url(h, info["url"])
    assert got == (200, data, "audio/ogg; codecs=opus")


async def test_unknown_media_id_is_400_code_100_subcode_33(h: Harness) -> None:
    status, answer = await h.call("GET", "123456789")
    assert status == 400
    assert graph_error(answer) == (100, 33)
    assert answer["error"]["type"] == "GraphMethodException"
    assert "123456789" in answer["error"]["message"]


async def test_media_url_requires_the_bearer_token(h: Harness) -> None:
    media_id = h.sim.add_media(b"x", "image/png")
    _, info = await h.call("GET", media_id)
    assert (await fetch_url(h, info["url"], False))[0] == 401
    assert (await fetch_url(h, info["url"], "wrong"))[0] == 401
    assert (await fetch_url(h, info["url"]))[0] == 200


async def test_expired_urls_answer_404_until_asked_again(h: Harness) -> None:
    media_id = h.sim.add_media(b"bytes", "image/png")
    _, first = await h.call("GET", media_id)
    h.sim.expire_media_urls()
    assert (await fetch_url(h, first["url"]))[0] == 404
    _, second = await h.call("GET", media_id)
    assert second["url"] != first["url"]
    assert await fetch_url(h, second["url"]) == (200, b"bytes", "image/png")
    assert (await fetch_url(h, first["url"]))[0] == 404


async def test_urls_expire_after_their_lifetime(h: Harness) -> None:
    h.sim.media_url_lifetime = 60
    media_id = h.sim.add_media(b"bytes", "image/png")
    _, info = await h.call("GET", media_id)
    h.clock.now += 60
    assert (await fetch_url(h, info["url"]))[0] == 200
    h.clock.now += 1
    assert (await fetch_url(h, info["url"]))[0] == 404
    _, again = await h.call("GET", media_id)
    assert (await fetch_url(h, again["url"]))[0] == 200


async def test_tampered_url_is_404(h: Harness) -> None:
    media_id = h.sim.add_media(b"bytes", "image/png")
    _, info = await h.call("GET", media_id)
    assert (await fetch_url(h, info["url"].replace("hash=", "hash=x")))[0] == 404
    other = h.sim.add_media(b"other", "image/png")
    assert (await fetch_url(h, info["url"].replace(media_id, other)))[0] == 404


async def test_delete_then_gone(h: Harness) -> None:
    media_id = h.sim.add_media(b"bytes", "image/png")
    _, info = await h.call("GET", media_id)
    assert await h.call("DELETE", media_id) == (200, {"success": True})
    status, answer = await h.call("GET", media_id)
    assert (status, graph_error(answer)) == (400, (100, 33))
    assert (await fetch_url(h, info["url"]))[0] == 404
    status, answer = await h.call("DELETE", media_id)
    assert (status, graph_error(answer)) == (400, (100, 33))


async def test_uploaded_media_is_sendable_by_id(h: Harness) -> None:
    _, answer = await h.upload(b"%PDF-1.7", "application/pdf")
    body = {
        "messaging_product": "whatsapp",
        "to": "15551234567",
        "type": "document",
        "document": {"id": answer["id"], "filename": "a.pdf"},
    }
    assert (await h.send(body))[0] == 200


async def test_fail_next_on_the_media_url(h: Harness) -> None:
    media_id = h.sim.add_media(b"bytes", "image/png")
    _, info = await h.call("GET", media_id)
    h.sim.fail_next("/attachments/", status=500, code=131000)
    assert (await fetch_url(h, info["url"]))[0] == 500
    assert (await fetch_url(h, info["url"]))[0] == 200


async def test_corrupt_media_serves_bytes_that_miss_the_announced_sha256(h: Harness) -> None:
    data = b"\x89PNG-original-bytes"
    media_id = h.sim.add_media(data, "image/png")
    h.sim.corrupt_media(media_id)
    _, info = await h.call("GET", media_id)
    status, served, _ = await fetch_url(h, info["url"])
    assert status == 200
    assert info["sha256"] == hashlib.sha256(data).hexdigest()  # still the original's
    assert len(served) == len(data) == info["file_size"]
    assert sum(a != b for a, b in zip(served, data)) == 1  # one byte flipped
    assert hashlib.sha256(served).hexdigest() != info["sha256"]
    with pytest.raises(KeyError):
        h.sim.corrupt_media("123456789")
