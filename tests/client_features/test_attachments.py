"""Encrypted attachments (PROTOCOL.md §8) against the real server, sending: inline below
64 KiB, attachments above, every input form, types from the bytes, limits before any
upload, progress, and the blocking client."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from whatsapp_client import (
    MediaError,
    NotFoundError,
    _core,
)
from whatsapp_client.client import Message

from .attachment_support import (
    MP4,
    OPUS,
    MiB,
    Unseekable,
    blobs_left,
    ids_of,
    inbox,
)
from .conftest import Registered, eventually


async def test_small_media_stays_inline_large_goes_as_attachment(
    registered: Registered, tmp_path: Path
) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    got = inbox(bob)
    small = b"%PDF-1.7\n" + os.urandom(1000)
    large = b"%PDF-1.7\n" + os.urandom(3 * MiB)
    await alice.send_file(ids_of(bob), data=small, filename="small.pdf")
    (tmp_path / "large.pdf").write_bytes(large)
    sent = await alice.send_file(ids_of(bob), tmp_path / "large.pdf", caption="Q3 🌍")
    assert sent.status in ("sent", "delivered") and sent.is_attachment
    assert "key" in sent.payload["attachment"]
    await eventually(lambda: len(got) == 2, what="two files")
    inline, attached = got
    assert not inline.is_attachment and inline.data == small and inline.size == len(small)
    assert await bob.download(inline) == small
    assert attached.is_attachment and attached.data is None
    assert (attached.type, attached.mime, attached.filename, attached.caption) == (
        "file",
        "application/pdf",
        "large.pdf",
        "Q3 🌍",
    )
    assert attached.size == len(large)
    out = await bob.download(attached, f"{tmp_path / 'in'}{os.sep}")
    assert out == tmp_path / "in" / "large.pdf" and out.read_bytes() == large
    assert await bob.download(attached) == large  # small enough to come back as bytes
    assert blobs_left(bob) == []
    # The sender deletes the blob of a sent message in the background.
    await eventually(lambda: blobs_left(alice) == [], what="the sent blob deleted")
    assert await alice.pending_uploads() == 0


async def test_every_input_form_and_type(registered: Registered, tmp_path: Path) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    got = inbox(bob)
    video = MP4 + os.urandom(200_000)
    audio = OPUS + os.urandom(150_000)
    doc = b"%PDF-1.4\n" + os.urandom(100_000)
    (tmp_path / "clip").write_bytes(video)
    await alice.send_video(ids_of(bob), tmp_path / "clip", "a clip")
    await alice.send_audio(ids_of(bob), io.BytesIO(audio), filename="voice.opus")
    with (tmp_path / "doc.bin").open("wb") as fh:
        fh.write(b"header to skip" + doc)
    with (tmp_path / "doc.bin").open("rb") as fh:
        fh.seek(len(b"header to skip"))  # a file object is read from where it stands
        await alice.send_file(ids_of(bob), fh, filename="doc.pdf")
    await alice.send_file(ids_of(bob), data=os.urandom(70_000), filename="noise")
    await eventually(lambda: len(got) == 4, what="four media messages")
    assert [(m.type, m.mime, m.filename) for m in got] == [
        ("video", "video/mp4", "clip"),
        ("audio", "audio/ogg", "voice.opus"),
        ("file", "application/pdf", "doc.pdf"),
        ("file", "application/octet-stream", "noise"),
    ]
    for message, data in zip(got[:3], (video, audio, doc)):
        assert message.is_attachment and await bob.download(message) == data


async def test_a_non_seekable_stream_is_sealed_as_it_is_read(
    registered: Registered, tmp_path: Path
) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    got = inbox(bob)
    data = MP4 + os.urandom(2 * MiB)
    # A pipe-like object: read() only, no seek.
    stream = io.BufferedReader(Unseekable(data))
    await alice.send_video(ids_of(bob), stream)
    await eventually(lambda: len(got) == 1, what="the video")
    assert got[0].mime == "video/mp4" and await bob.download(got[0]) == data


async def test_wrong_types_and_limits_are_refused_before_any_upload(
    registered: Registered, tmp_path: Path
) -> None:
    alice = await registered("alice", attachment_max_bytes=200_000)
    bob = await registered("bob")
    uploads: list[Any] = []
    real_upload = alice._transfers.upload

    async def spy(*args: Any, **kwargs: Any) -> str:
        uploads.append(args)
        return await real_upload(*args, **kwargs)

    alice._transfers.upload = spy  # type: ignore[method-assign]
    (tmp_path / "big.bin").write_bytes(bytes(300_000))
    with pytest.raises(MediaError, match="attachment_max_bytes") as info:
        await alice.send_file(ids_of(bob), tmp_path / "big.bin")
    assert info.value.code == "too_large"
    with pytest.raises(MediaError, match="limit is 200000"):
        await alice.send_file(ids_of(bob), io.BytesIO(bytes(250_000)), filename="x")
    with pytest.raises(MediaError, match="limit is 200000"):
        await alice.send_audio(ids_of(bob), io.BufferedReader(Unseekable(OPUS + bytes(300_000))))
    with pytest.raises(MediaError) as wrong:
        await alice.send_video(ids_of(bob), OPUS + bytes(100_000))
    assert wrong.value.code == "unsupported_video_type"
    with pytest.raises(MediaError) as not_image:
        await alice.send_image(ids_of(bob), image_data=MP4 + bytes(100_000))
    assert not_image.value.code == "unsupported_image_type"
    with pytest.raises(NotFoundError):  # an unknown recipient: nothing sealed or uploaded
        await alice.send_file("no-such-user", bytes(100_000), filename="x.bin")
    assert uploads == [] and blobs_left(alice) == []
    assert await alice.pending_uploads() == 0 and await alice.pending_messages() == 0


async def test_image_attachment_has_dimensions_and_thumbnail(
    registered: Registered, tmp_path: Path
) -> None:
    from PIL import Image as pil

    alice, bob = await registered("alice"), await registered("bob")
    got = inbox(bob)
    img = pil.frombytes("RGB", (640, 480), os.urandom(640 * 480 * 3))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    png = buf.getvalue()
    assert len(png) > 64 * 1024
    await alice.send_image(ids_of(bob), image_data=png, caption="noise")
    await eventually(lambda: len(got) == 1, what="the image")
    msg = got[0]
    assert msg.is_attachment and msg.mime == "image/png"
    assert (msg.width, msg.height) == (640, 480)
    assert msg.thumbnail is not None and msg.thumbnail[:3] == b"\xff\xd8\xff"
    assert len(msg.thumbnail) <= 16 * 1024
    assert await bob.download(msg) == png


async def test_upload_progress_never_goes_back_when_a_retry_starts_over(
    registered: Registered,
) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    got = inbox(bob)
    cuts: list[int] = []

    def cut_once(direction: str, done: int) -> None:
        if direction == "up" and done >= 2 * MiB and not cuts:
            cuts.append(done)
            raise aiohttp.ClientPayloadError("connection cut (test)")

    alice._transfers.on_chunk = cut_once
    seen: list[int] = []
    data = os.urandom(3 * MiB)
    sent = await alice.send_file(
        ids_of(bob), data=data, filename="n.bin", progress=lambda d, t: seen.append(d)
    )
    assert cuts and sent.is_attachment
    assert seen == sorted(set(seen)) and seen[-1] == _core.attachment_blob_size(len(data))
    await eventually(lambda: len(got) == 1, what="the file")
    assert await bob.download(got[0]) == data


def test_blocking_client_sends_and_downloads_attachments(tmp_path: Path) -> None:
    from whatsapp_client.server.testing import server_in_thread
    from whatsapp_client.sync import WhatsAppClient as BlockingClient

    from .conftest import CLIENT_OPTIONS, PASSWORD, SERVER_SETTINGS, unique_name

    with server_in_thread(str(tmp_path / "server"), **SERVER_SETTINGS) as server:
        opts = {"server_url": server.url, "storage_path": str(tmp_path / "s"), **CLIENT_OPTIONS}
        with BlockingClient(**opts) as alice, BlockingClient(**opts) as bob:
            alice.register(unique_name("alice"), PASSWORD)
            bob.register(unique_name("bob"), PASSWORD)
            assert bob.user_id
            got: list[Message] = []
            arrived = threading.Event()

            @bob.on_message
            def on_message(message: Message) -> None:
                got.append(message)
                arrived.set()

            data = MP4 + os.urandom(MiB)
            seen: list[int] = []
            alice.send_video(bob.user_id, data, progress=lambda d, t: seen.append(d))
            assert arrived.wait(10) and got[0].is_attachment and got[0].type == "video"
            assert seen[-1] == _core.attachment_blob_size(len(data))
            out = bob.download(got[0], tmp_path / "clip.mp4")
            assert out.read_bytes() == data and bob.download(got[0]) == data
            assert bob.pending_uploads() == 0 and alice.pending_uploads() == 0


def test_attachment_limit_setting() -> None:
    from whatsapp_client import ValidationError
    from whatsapp_client.client import ClientConfig

    assert ClientConfig(server_url="http://x").attachment_max_bytes == 100 * MiB
    assert ClientConfig(server_url="http://x", attachment_max_bytes=4096 * MiB)
    for bad in (0, 4096 * MiB + 1):
        with pytest.raises(ValidationError, match="attachment_max_bytes"):
            ClientConfig(server_url="http://x", attachment_max_bytes=bad)
