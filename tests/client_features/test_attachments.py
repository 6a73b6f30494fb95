"""Encrypted attachments (PROTOCOL.md §8) against the real server: inline below 64 KiB,
attachments above, every input form, types from the bytes, limits before any upload,
tampered and truncated blobs refused with nothing written, resumed downloads, progress,
and an attachment message that survives a restart."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import hashlib
import io
import os
import threading
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from whatsapp_client import (
    AttachmentCorruptError,
    ConnectionError,
    MediaError,
    NotFoundError,
    WhatsAppClient,
    _core,
)
from whatsapp_client.client import Message
from whatsapp_client.client.attachment_download import attachment_ref
from whatsapp_client.client.attachment_files import cache_directory

from .conftest import Registered, eventually

MiB = 1024 * 1024
MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"
OPUS = b"OggS\x00\x02" + bytes(22) + b"OpusHead\x01\x02"


def inbox(client: WhatsAppClient) -> list[Message]:
    got: list[Message] = []
    client.on_message(got.append)
    return got


def ids_of(client: WhatsAppClient) -> str:
    assert client.user_id
    return client.user_id


def blobs_left(client: WhatsAppClient) -> list[Path]:
    folder = cache_directory(client.config, ids_of(client))
    return sorted(folder.iterdir()) if folder.exists() else []


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
    stream = io.BufferedReader(_Unseekable(data))
    await alice.send_video(ids_of(bob), stream)
    await eventually(lambda: len(got) == 1, what="the video")
    assert got[0].mime == "video/mp4" and await bob.download(got[0]) == data


class _Unseekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: Any) -> int:
        return self._data.readinto(buffer)


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
        await alice.send_audio(ids_of(bob), io.BufferedReader(_Unseekable(OPUS + bytes(300_000))))
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


async def _tampered_message(
    alice: WhatsAppClient, to: str, blob: bytes, keys: Any, name: str
) -> Message:
    """Uploads ``blob`` as it is and sends a message naming it with ``keys``."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            alice.config.server_url + "/api/attachments",
            data=blob,
            headers={
                "Authorization": f"Bearer {alice._http.token}",
                "Content-Type": "application/octet-stream",
            },
        ) as resp,
    ):
        assert resp.status == 201
        aid = (await resp.json())["id"]
    attachment = {
        "id": aid,
        "key": base64.b64encode(keys.key).decode(),
        "digest": base64.b64encode(keys.digest).decode(),
        "size": keys.size,
    }
    payload = {"type": "file", "mime": "application/pdf", "filename": name}
    return await alice.send_payload(to, {**payload, "attachment": attachment})


@dataclasses.dataclass
class _Keys:
    key: bytes
    digest: bytes
    size: int


@pytest.mark.parametrize("damage", ["flip", "truncate", "flip_with_its_digest"])
async def test_tampered_or_truncated_blob_is_refused_and_nothing_written(
    registered: Registered, tmp_path: Path, damage: str
) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    got = inbox(bob)
    blob, keys = _core.seal_attachment(os.urandom(300_000))
    bad = bytearray(blob)
    if damage == "truncate":
        bad = bad[: -keys.size // 3]
    else:
        bad[150_000] ^= 0x01
    await _tampered_message(alice, ids_of(bob), bytes(bad), keys, "doc.pdf")
    if damage == "flip_with_its_digest":  # the digest matches; the chunk's tag does not
        fake = _Keys(keys.key, hashlib.sha256(bad).digest(), keys.size)
        await _tampered_message(alice, ids_of(bob), bytes(bad), fake, "doc.pdf")
        await eventually(lambda: len(got) == 2, what="the messages")
        victim = got[1]
    else:
        await eventually(lambda: len(got) == 1, what="the message")
        victim = got[0]
    target = tmp_path / "downloads"
    target.mkdir()
    with pytest.raises(AttachmentCorruptError) as info:
        await bob.download(victim, target)
    assert info.value.code == "attachment_corrupt"
    with pytest.raises(AttachmentCorruptError):
        await bob.download(victim)  # as bytes: refused too
    assert list(target.iterdir()) == []
    assert blobs_left(bob) == []


async def test_interrupted_download_resumes_with_range_and_progress_is_monotonic(
    registered: Registered, tmp_path: Path
) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    got = inbox(bob)
    data = b"%PDF-1.7\n" + os.urandom(5 * MiB)
    sent_progress: list[tuple[int, int]] = []
    await alice.send_file(
        ids_of(bob),
        data=data,
        filename="big.pdf",
        progress=lambda d, t: sent_progress.append((d, t)),
    )
    blob_size = _core.attachment_blob_size(len(data))
    assert sent_progress[-1] == (blob_size, blob_size)
    assert [d for d, _ in sent_progress] == sorted(d for d, _ in sent_progress)
    await eventually(lambda: len(got) == 1, what="the file")

    failures: list[int] = []

    def cut_once(direction: str, done: int) -> None:
        if direction == "down" and done >= 2 * MiB and not failures:
            failures.append(done)
            raise aiohttp.ClientPayloadError("connection cut (test)")

    bob._transfers.on_chunk = cut_once
    seen: list[tuple[int, int]] = []
    out = await bob.download(
        got[0], tmp_path / "big.pdf", progress=lambda d, t: seen.append((d, t))
    )
    assert failures and out.read_bytes() == data
    # Never back to zero after the cut: the second request asked for the rest only.
    done = [d for d, _ in seen]
    assert done == sorted(done) and seen[-1] == (blob_size, blob_size)
    assert all(t == blob_size for _, t in seen)


async def test_a_download_cut_for_good_resumes_on_the_next_call(
    registered: Registered, tmp_path: Path
) -> None:
    alice, bob = await registered("alice"), await registered("bob", http_retries=0)
    got = inbox(bob)
    data = os.urandom(4 * MiB)
    await alice.send_file(ids_of(bob), data=data, filename="noise.bin")
    await eventually(lambda: len(got) == 1, what="the file")

    def cut(direction: str, done: int) -> None:
        if done >= 2 * MiB:
            raise aiohttp.ClientPayloadError("connection cut (test)")

    bob._transfers.on_chunk = cut
    with pytest.raises(ConnectionError, match="resumes where it stopped"):
        await bob.download(got[0], f"{tmp_path / 'out'}{os.sep}")
    assert not (tmp_path / "out").exists()
    bob._transfers.on_chunk = None
    seen: list[int] = []
    out = await bob.download(
        got[0], f"{tmp_path / 'out'}{os.sep}", progress=lambda d, t: seen.append(d)
    )
    assert out == tmp_path / "out" / "noise.bin" and out.read_bytes() == data
    assert seen[0] >= 2 * MiB  # started from the bytes kept by the first call


async def test_an_attachment_message_survives_a_restart(
    registered: Registered, server: Any, tmp_path: Path
) -> None:
    from tests.support import CLIENT_OPTIONS

    bob = await registered("bob")
    got = inbox(bob)
    storage = tmp_path / "alice-store"
    alice = WhatsAppClient(
        server_url=server.url, storage_path=str(storage), http_retries=0, **CLIENT_OPTIONS
    )
    try:
        user = await alice.register("alice_restart", "correct horse battery")

        def refuse(direction: str, done: int) -> None:
            raise aiohttp.ClientPayloadError("network down (test)")

        alice._transfers.on_chunk = refuse
        data = MP4 + os.urandom(3 * MiB)
        msg = await alice.send_video(ids_of(bob), data, "after the restart")
        assert msg.status == "pending" and await alice.pending_uploads() == 1
        assert len(blobs_left(alice)) == 1
        key = msg.payload.get("attachment")
        assert key is None  # not uploaded yet
    finally:
        await alice.close()
    # The sealed blob is ciphertext: the plaintext is nowhere in the cache.
    blob = next((storage / ".attachments" / user.id).iterdir())
    assert data[100:200] not in blob.read_bytes()

    again = WhatsAppClient(server_url=server.url, storage_path=str(storage), **CLIENT_OPTIONS)
    try:
        await again.login("alice_restart", "correct horse battery")
        await eventually(lambda: len(got) == 1, what="the video after the restart")
        assert got[0].id == msg.id and got[0].caption == "after the restart"
        assert await bob.download(got[0]) == data
        await eventually(lambda: not blobs_left(again), what="the blob cleaned up")
        assert await again.pending_uploads() == 0
    finally:
        await again.close()


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


async def test_blobs_left_by_a_crash_while_sealing_are_swept(registered: Registered) -> None:
    alice = await registered("alice")
    folder = cache_directory(alice.config, ids_of(alice))
    folder.mkdir(parents=True, exist_ok=True)
    old, fresh = folder / "old.blob", folder / "fresh.blob"
    old.write_bytes(b"sealed bytes")
    fresh.write_bytes(b"being sealed right now")
    os.utime(old, (0, 0))
    await alice._media_sender.resume()  # runs after every connect
    assert not old.exists() and fresh.exists()


async def test_the_attachment_key_is_never_logged_or_shown(
    registered: Registered, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger="whatsapp_client")  # restored after the test
    alice, bob = await registered("alice"), await registered("bob")
    got = inbox(bob)
    sent = await alice.send_file(ids_of(bob), data=os.urandom(200_000), filename="k.bin")
    await eventually(lambda: len(got) == 1, what="the file")
    await bob.download(got[0])
    key = sent.payload["attachment"]["key"]
    raw_key = base64.b64decode(key)
    assert caplog.records  # the client did log at DEBUG
    assert key not in caplog.text and raw_key.hex() not in caplog.text
    assert key not in repr(sent) and key not in repr(got[0])
    ref = attachment_ref(got[0])
    assert ref is not None and ref.key == raw_key and key not in repr(ref)
    assert raw_key.hex() not in repr(ref) and str(raw_key) not in repr(ref)


async def test_a_pending_attachment_whose_blob_is_lost_fails_visibly(
    registered: Registered, server: Any, tmp_path: Path
) -> None:
    from tests.support import CLIENT_OPTIONS

    bob = await registered("bob")
    storage = str(tmp_path / "alice-store")
    alice = WhatsAppClient(server_url=server.url, storage_path=storage, **CLIENT_OPTIONS)
    try:
        await alice.register("alice_lost_blob", "correct horse battery")

        def refuse(direction: str, done: int) -> None:
            raise aiohttp.ClientPayloadError("network down (test)")

        alice._transfers.on_chunk = refuse
        msg = await alice.send_file(ids_of(bob), data=os.urandom(100_000), filename="x.bin")
        assert msg.status == "pending"
        (blob,) = blobs_left(alice)
    finally:
        await alice.close()
    blob.unlink()
    again = WhatsAppClient(server_url=server.url, storage_path=storage, **CLIENT_OPTIONS)
    statuses: list[tuple[str, str]] = []
    again.on_message_status(lambda mid, st: statuses.append((mid, st)))
    try:
        await again.login("alice_lost_blob", "correct horse battery")
        await eventually(lambda: (msg.id, "failed") in statuses, what="the failure")
        assert await again.pending_uploads() == 0
    finally:
        await again.close()


async def test_server_refusals_are_typed_and_leave_nothing_pending(tmp_path: Path) -> None:
    """The server's limit (413) and quota (507) refuse the upload; the send raises a
    MediaError at once (no retries), nothing stays pending and the sealed blob is gone."""
    from tests.support import SERVER_SETTINGS, client_factory, registering
    from whatsapp_client.server.testing import running_server

    from .conftest import CLIENT_OPTIONS

    limits = {"max_attachment_bytes": 400_000, "attachment_quota_bytes": 600_000}
    async with contextlib.AsyncExitStack() as stack:
        srv = await stack.enter_async_context(
            running_server(data_dir=str(tmp_path / "server"), **SERVER_SETTINGS, **limits)
        )
        make = await stack.enter_async_context(client_factory(srv, tmp_path, CLIENT_OPTIONS))
        registered = registering(lambda **options: make("stores", **options))
        alice, bob = await registered("alice"), await registered("bob")
        attempts: list[int] = []
        read_blob = alice._transfers._read_blob

        def counted(*args: Any) -> Any:  # one body per upload attempt
            attempts.append(1)
            return read_blob(*args)

        alice._transfers._read_blob = counted  # type: ignore[method-assign,assignment]
        with pytest.raises(MediaError) as too_large:
            await alice.send_file(ids_of(bob), data=os.urandom(500_000), filename="a.bin")
        assert too_large.value.code == "too_large"
        await alice.send_file(ids_of(bob), data=os.urandom(300_000), filename="b.bin")
        with pytest.raises(MediaError) as quota:
            await alice.send_file(ids_of(bob), data=os.urandom(350_000), filename="c.bin")
        assert quota.value.code == "quota_exceeded"
        assert len(attempts) == 3  # one each: refusals are not retried
        assert await alice.pending_uploads() == 0 and blobs_left(alice) == []


async def test_a_send_cancelled_by_closing_the_client_resumes_after_login(
    registered: Registered, server: Any, tmp_path: Path
) -> None:
    from tests.support import CLIENT_OPTIONS

    bob = await registered("bob")
    got = inbox(bob)
    storage = str(tmp_path / "alice-store")
    alice = WhatsAppClient(server_url=server.url, storage_path=storage, **CLIENT_OPTIONS)
    await alice.register("alice_closing", "correct horse battery")
    started = asyncio.Event()

    async def hang(*args: Any, **kwargs: Any) -> str:
        started.set()
        await asyncio.Event().wait()  # the upload never ends: the client closes meanwhile
        raise AssertionError("unreachable")

    alice._transfers.upload = hang  # type: ignore[method-assign]
    data = os.urandom(500_000)
    send = asyncio.ensure_future(alice.send_file(ids_of(bob), data=data, filename="c.bin"))
    await started.wait()
    send.cancel()
    with pytest.raises(asyncio.CancelledError):
        await send
    await alice.close()

    again = WhatsAppClient(server_url=server.url, storage_path=storage, **CLIENT_OPTIONS)
    try:
        await again.login("alice_closing", "correct horse battery")
        await eventually(lambda: len(got) == 1, what="the file after the new login")
        assert await bob.download(got[0]) == data
        await eventually(lambda: not blobs_left(again), what="the blob cleaned up")
    finally:
        await again.close()


def test_attachment_limit_setting() -> None:
    from whatsapp_client import ValidationError
    from whatsapp_client.client import ClientConfig

    assert ClientConfig(server_url="http://x").attachment_max_bytes == 100 * MiB
    assert ClientConfig(server_url="http://x", attachment_max_bytes=4096 * MiB)
    for bad in (0, 4096 * MiB + 1):
        with pytest.raises(ValidationError, match="attachment_max_bytes"):
            ClientConfig(server_url="http://x", attachment_max_bytes=bad)


async def test_concurrent_downloads_of_one_attachment(
    registered: Registered, tmp_path: Path
) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    got = inbox(bob)
    data = os.urandom(2 * MiB)
    await alice.send_file(ids_of(bob), data=data, filename="same.bin")
    await eventually(lambda: len(got) == 1, what="the file")
    results = await asyncio.gather(
        bob.download(got[0]), bob.download(got[0], tmp_path / "a.bin"), bob.download(got[0])
    )
    assert results[0] == data and results[2] == data
    assert isinstance(results[1], Path) and results[1].read_bytes() == data
    assert blobs_left(bob) == []


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(MiB), b""):
            digest.update(block)
    return digest.hexdigest()


@pytest.mark.slow
async def test_a_100_mib_video_arrives_byte_identical(
    registered: Registered, tmp_path: Path
) -> None:
    # The issue's own case: the largest default attachment, end to end through the server.
    # Memory stays bounded (streamed); benches/bench_attachments.py measures it per process.
    alice, bob = await registered("alice"), await registered("bob")
    got = inbox(bob)
    source = tmp_path / "movie.mp4"
    with source.open("wb") as fh:
        fh.write(MP4)
        for _ in range(100):
            fh.write(os.urandom(MiB))
        fh.truncate(100 * MiB)
    await alice.send_video(ids_of(bob), source, "the whole film")
    await eventually(lambda: len(got) == 1, timeout=60, what="the video message")
    message = got[0]
    assert (message.type, message.mime, message.size) == ("video", "video/mp4", 100 * MiB)
    out = await bob.download(message, f"{tmp_path / 'received'}{os.sep}")
    assert isinstance(out, Path)
    assert await asyncio.to_thread(_sha256_of, out) == await asyncio.to_thread(_sha256_of, source)
