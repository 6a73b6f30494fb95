"""Encrypted attachments (PROTOCOL.md §8), receiving: tampered and truncated blobs refused
with nothing written, resumed downloads with monotonic progress, concurrent downloads of
one attachment, and a 100 MiB video byte for byte."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import aiohttp
import pytest

from whatsapp_client import (
    AttachmentCorruptError,
    ConnectionError,
    _core,
)

from .attachment_support import (
    MP4,
    Keys,
    MiB,
    blobs_left,
    ids_of,
    inbox,
    sha256_of,
    tampered_message,
)
from .conftest import Registered, eventually


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
    await tampered_message(alice, ids_of(bob), bytes(bad), keys, "doc.pdf")
    if damage == "flip_with_its_digest":  # the digest matches; the chunk's tag does not
        fake = Keys(keys.key, hashlib.sha256(bad).digest(), keys.size)
        await tampered_message(alice, ids_of(bob), bytes(bad), fake, "doc.pdf")
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
    assert await asyncio.to_thread(sha256_of, out) == await asyncio.to_thread(sha256_of, source)
