"""CloudClient media against the GraphSimulator: limits before upload, upload + send,
two-step download (success, not found, sha256 mismatch, expired url), batch results."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.cloud._client_support import PNG, TO, make_client
from whatsapp_client.cloud._client import CloudClient
from whatsapp_client.cloud._errors import (
    MediaDownloadError,
    MediaNotFoundError,
    ValidationError,
)
from whatsapp_client.cloud._metrics import CloudMetrics
from whatsapp_client.cloud._models import MediaInfo, MediaItem
from whatsapp_client.cloud.testing import GraphSimulator

OGG = b"OggS" + bytes(2000)


@pytest.fixture
async def sim() -> AsyncIterator[GraphSimulator]:
    async with GraphSimulator() as simulator:
        yield simulator


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def count_requests(cloud: CloudClient) -> list[str]:
    """Records every Graph request the client's transport makes (method + url)."""
    seen: list[str] = []
    original = cloud.transport.request

    async def spy(method: str, url: str, **kw: Any) -> bytes:
        seen.append(f"{method} {url}")
        return await original(method, url, **kw)

    cloud.transport.request = spy  # type: ignore[method-assign]
    return seen


@pytest.mark.parametrize(
    ("kind", "data", "mime", "needle"),
    [
        ("image", b"x" * (5 * 1024 * 1024 + 1), "image/png", "over the Cloud API limit"),
        ("audio", b"x" * (16 * 1024 * 1024 + 1), "audio/ogg", "over the Cloud API limit"),
        ("sticker", b"RIFF\0\0\0\0WEBPVP8 " + b"x" * 102400, "image/webp", "102400 bytes"),
        ("image", b"GIF89a", "image/gif", "not accepted"),
        ("audio", b"RIFF....WAVE", "audio/wav", "not accepted"),
        ("document", b"", "application/pdf", "empty"),
    ],
)
async def test_media_limits_are_checked_before_upload(
    sim: GraphSimulator, kind: str, data: bytes, mime: str, needle: str
) -> None:
    cloud, _ = make_client(sim)
    seen = count_requests(cloud)
    async with cloud:
        send = getattr(cloud, f"send_{kind}")
        with pytest.raises(ValidationError, match=needle):
            await send(TO, data=data, mime_type=mime)
    assert seen == []
    assert sim.sent == []


async def test_animated_sticker_may_be_up_to_500_kb(sim: GraphSimulator) -> None:
    # RIFF/WEBP, a VP8X chunk (10 bytes) with the animation flag, then an ANIM chunk
    head = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\x02" + bytes(9) + b"ANIM\x06\0\0\0" + bytes(6)
    animated = head + bytes(300 * 1024)
    async with make_client(sim)[0] as cloud:
        sent = await cloud.send_sticker(TO, data=animated, mime_type="image/webp")
        with pytest.raises(ValidationError):
            await cloud.send_sticker(TO, data=head + bytes(501 * 1024), mime_type="image/webp")
    assert sent.media_id is not None
    assert sim.media_bytes(sent.media_id) == animated


async def test_bad_caption_refused_before_uploading(sim: GraphSimulator) -> None:
    cloud, _ = make_client(sim)
    seen = count_requests(cloud)
    async with cloud:
        with pytest.raises(ValidationError, match="no caption"):
            await cloud.send_audio(TO, data=OGG, mime_type="audio/ogg", caption="hi")
    assert seen == []


async def test_upload_by_path_then_send_by_id(sim: GraphSimulator, tmp_path: Path) -> None:
    pic = tmp_path / "cat.png"
    pic.write_bytes(PNG)
    doc = tmp_path / "report.pdf"
    doc.write_bytes(b"%PDF-1.4 test")
    async with make_client(sim)[0] as cloud:
        sent = await cloud.send_image(TO, path=pic, caption="a cat")
        sent_doc = await cloud.send_document(TO, path=doc)
        media_id = await cloud.upload_media(OGG, "audio/ogg")
        voice = await cloud.send_audio(TO, media_id=media_id)
    assert sent.media_id is not None
    assert sim.media_bytes(sent.media_id) == PNG
    assert sim.sent[0]["image"] == {"id": sent.media_id, "caption": "a cat"}
    assert sim.sent[1]["document"] == {"id": sent_doc.media_id, "filename": "report.pdf"}
    assert sim.sent[2]["audio"] == {"id": media_id}
    assert voice.media_id is None


async def test_send_by_link_needs_no_upload(sim: GraphSimulator) -> None:
    async with make_client(sim)[0] as cloud:
        await cloud.send_video(TO, link="https://example.com/v.mp4", caption="v")
        with pytest.raises(ValidationError, match="exactly one"):
            await cloud.send_video(TO, link="https://example.com/v.mp4", media_id="1")
    assert sim.sent[0]["video"] == {"link": "https://example.com/v.mp4", "caption": "v"}


async def test_download_to_memory_and_to_disk(sim: GraphSimulator, tmp_path: Path) -> None:
    media_id = sim.add_media(OGG, "audio/ogg; codecs=opus")
    metrics = CloudMetrics()
    async with make_client(sim, metrics=metrics)[0] as cloud:
        info = await cloud.get_media(media_id)
        data = await cloud.download_media(media_id)
        path = await cloud.download_media(media_id, tmp_path / "voice.ogg")
        in_dir = await cloud.download_media(media_id, tmp_path)
    assert isinstance(info, MediaInfo)
    assert info.sha256 == hashlib.sha256(OGG).hexdigest()
    assert info.file_size == len(OGG)
    assert data == OGG
    assert path == tmp_path / "voice.ogg"
    assert isinstance(in_dir, Path)
    assert in_dir.parent == tmp_path
    assert in_dir.name.startswith(media_id)
    assert in_dir.read_bytes() == OGG
    assert listing(tmp_path) == sorted(["voice.ogg", in_dir.name])
    assert (
        metrics.registry.get_sample_value("whatsapp_media_downloads_total", {"status": "success"})
        == 3
    )


async def test_unknown_media_is_not_found(sim: GraphSimulator, tmp_path: Path) -> None:
    metrics = CloudMetrics()
    cloud, sleeps = make_client(sim, metrics=metrics)
    async with cloud:
        with pytest.raises(MediaNotFoundError) as err:
            await cloud.download_media("999999999", tmp_path / "x.bin")
    assert (err.value.status, err.value.code, err.value.error_subcode) == (400, 100, 33)
    assert sleeps.waits == []
    assert listing(tmp_path) == []
    assert (
        metrics.registry.get_sample_value("whatsapp_media_downloads_total", {"status": "not_found"})
        == 1
    )


async def test_sha256_mismatch_leaves_nothing_behind(sim: GraphSimulator, tmp_path: Path) -> None:
    media_id = sim.add_media(PNG, "image/png")
    sim.corrupt_media(media_id)  # served bytes no longer match the announced sha256
    async with make_client(sim)[0] as cloud:
        with pytest.raises(MediaDownloadError, match="sha256"):
            await cloud.download_media(media_id, tmp_path / "pic.png")
        with pytest.raises(MediaDownloadError, match="sha256"):
            await cloud.download_media(media_id)
    assert listing(tmp_path) == []


def expire_before_first_fetch(cloud: CloudClient, sim: GraphSimulator) -> list[str]:
    """Makes the first media url the client fetches expire just before it is fetched."""
    fetched: list[str] = []
    original = cloud.transport.stream

    @asynccontextmanager
    async def stream(url: str, **kw: Any) -> AsyncGenerator[aiohttp.ClientResponse, None]:
        if not fetched:
            sim.expire_media_urls()
        fetched.append(url)
        async with original(url, **kw) as resp:
            yield resp

    cloud.transport.stream = stream  # type: ignore[method-assign]
    return fetched


async def test_expired_url_is_fetched_again_once(sim: GraphSimulator, tmp_path: Path) -> None:
    media_id = sim.add_media(PNG, "image/png")
    cloud, _ = make_client(sim)
    fetched = expire_before_first_fetch(cloud, sim)
    async with cloud:
        path = await cloud.download_media(media_id, tmp_path / "pic.png")
    assert isinstance(path, Path)
    assert path.read_bytes() == PNG
    assert len(fetched) == 2
    assert fetched[0] != fetched[1]


async def test_url_refused_again_after_refetch_is_download_error(
    sim: GraphSimulator, tmp_path: Path
) -> None:
    media_id = sim.add_media(PNG, "image/png")
    sim.media_url_lifetime = 0  # every url is already expired when fetched
    cloud, _ = make_client(sim)
    seen = count_requests(cloud)
    async with cloud:
        with pytest.raises(MediaDownloadError, match="fresh") as err:
            await cloud.download_media(media_id, tmp_path / "pic.png")
    assert err.value.status == 404
    assert len([s for s in seen if s.startswith("GET")]) == 2  # two GET /{media_id}, no more
    assert listing(tmp_path) == []


async def test_batch_reports_each_item(sim: GraphSimulator, tmp_path: Path) -> None:
    pic = tmp_path / "a.png"
    pic.write_bytes(PNG)
    items = [
        MediaItem("image", path=pic, caption="one"),
        MediaItem("image", data=b"x" * (6 * 1024 * 1024), mime_type="image/png"),
        MediaItem("document", link="https://example.com/r.pdf", filename="r.pdf"),
        MediaItem("sticker", data=PNG, mime_type="image/png"),
        MediaItem("audio", media_id="123", caption="audio takes no caption"),
        MediaItem("video", link="https://example.com/v.mp4"),
    ]
    sim.fail_next("/messages", code=131053, times=1)  # Graph refuses the first send
    async with make_client(sim)[0] as cloud:
        results = await cloud.send_media_batch(TO, items)
    assert [r.index for r in results] == [0, 1, 2, 3, 4, 5]
    assert [r.ok for r in results] == [False, False, True, False, False, True]
    assert (results[0].error_type, results[0].error_code) == ("MediaError", 131053)
    assert results[1].error_type == "ValidationError"
    assert "limit" in (results[1].error_message or "")
    assert results[3].error_type == "ValidationError"
    assert results[2].result is not None and results[2].result.type == "document"
    assert [m["type"] for m in sim.sent] == ["document", "video"]


async def test_batch_with_bad_recipient_raises_and_sends_nothing(sim: GraphSimulator) -> None:
    async with make_client(sim)[0] as cloud:
        with pytest.raises(ValidationError):
            await cloud.send_media_batch("12", [MediaItem("video", link="https://e.com/v.mp4")])
    assert sim.sent == []
