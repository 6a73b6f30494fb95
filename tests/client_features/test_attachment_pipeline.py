"""The overlapped attachment pipeline (PROTOCOL.md §8): a file is sealed while its blob is
uploaded. Nothing the sequential pipeline promised is weakened: a send whose sealing fails
or is cancelled leaves no record and no blob, a send interrupted once sealing ended resumes
from a complete blob after a restart; a download resumed from a corrupt ``.part`` is
refused with nothing written."""

from __future__ import annotations

import asyncio
import base64
import os
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from whatsapp_client import AttachmentCorruptError, ValidationError, WhatsAppClient, _core
from whatsapp_client.client.attachment_files import cache_directory

from .attachment_support import blobs_left, ids_of, inbox
from .conftest import Registered, eventually

MiB = 1024 * 1024
_RealSealer = _core.AttachmentSealer


class _Sealer:
    """The core's sealer, with a hook called before each ``push`` (in the sealing thread)."""

    def __init__(self, before_push: Any) -> None:
        self._inner = _RealSealer()
        self._before_push = before_push
        self.pushes = 0

    def push(self, data: bytes) -> bytes:
        self.pushes += 1
        self._before_push(self.pushes)
        return self._inner.push(data)

    def finish(self) -> Any:
        return self._inner.finish()


def _big_file(tmp_path: Path, size: int = 6 * MiB) -> tuple[Path, bytes]:
    data = b"%PDF-1.7\n" + os.urandom(size)
    path = tmp_path / "big.pdf"
    path.write_bytes(data)
    return path, data


async def test_the_upload_starts_before_sealing_ends(
    registered: Registered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    got = inbox(bob)
    path, data = _big_file(tmp_path)
    uploading = threading.Event()
    seen_while_sealing: list[bool] = []

    def before_push(n: int) -> None:
        if n == 3:  # two MiB sealed: the upload has them and must be under way
            seen_while_sealing.append(uploading.wait(30))  # a deadlock guard, not a timing

    def on_chunk(direction: str, done: int) -> None:
        if direction == "up":
            uploading.set()

    monkeypatch.setattr(_core, "AttachmentSealer", lambda: _Sealer(before_push))
    alice._transfers.on_chunk = on_chunk
    sent = await alice.send_file(ids_of(bob), path)
    assert seen_while_sealing == [True]
    assert sent.is_attachment and await alice.pending_uploads() == 0
    await eventually(lambda: len(got) == 1, what="the file")
    out = await bob.download(got[0], tmp_path / "out.pdf")
    assert isinstance(out, Path) and out.read_bytes() == data
    await eventually(lambda: blobs_left(alice) == [], what="the sent blob deleted")


async def test_an_upload_cut_while_sealing_starts_over_and_follows_the_blob(
    registered: Registered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    got = inbox(bob)
    path, data = _big_file(tmp_path)
    cut = threading.Event()
    sealed_after_cut: list[bool] = []

    def before_push(n: int) -> None:
        if n == 4:  # the cut happens while sealing is still under way
            sealed_after_cut.append(cut.wait(30))  # a deadlock guard, not a timing

    def cut_once(direction: str, done: int) -> None:
        if direction == "up" and done >= 2 * MiB and not cut.is_set():
            cut.set()
            raise aiohttp.ClientPayloadError("connection cut (test)")

    monkeypatch.setattr(_core, "AttachmentSealer", lambda: _Sealer(before_push))
    alice._transfers.on_chunk = cut_once
    seen: list[int] = []
    sent = await alice.send_file(ids_of(bob), path, progress=lambda d, t: seen.append(d))
    assert sealed_after_cut == [True] and sent.is_attachment
    assert seen == sorted(seen) and seen[-1] == _core.attachment_blob_size(len(data))
    await eventually(lambda: len(got) == 1, what="the file")
    out = await bob.download(got[0], tmp_path / "out.pdf")
    assert isinstance(out, Path) and out.read_bytes() == data


async def test_a_send_whose_sealing_fails_midway_leaves_no_record_and_no_blob(
    registered: Registered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    got = inbox(bob)
    path, _ = _big_file(tmp_path)

    def before_push(n: int) -> None:
        if n == 3:
            raise OSError(5, "Input/output error (test)")

    monkeypatch.setattr(_core, "AttachmentSealer", lambda: _Sealer(before_push))
    with pytest.raises(ValidationError, match="cannot seal"):
        await alice.send_file(ids_of(bob), path)
    assert await alice.pending_uploads() == 0
    assert blobs_left(alice) == []
    assert got == []


async def test_a_file_that_shrinks_while_sealed_is_refused_without_leftovers(
    registered: Registered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    path, _ = _big_file(tmp_path)

    def before_push(n: int) -> None:
        if n == 1:
            os.truncate(path, 2 * MiB)

    monkeypatch.setattr(_core, "AttachmentSealer", lambda: _Sealer(before_push))
    with pytest.raises(ValidationError, match="shorter"):
        await alice.send_file(ids_of(bob), path)
    assert await alice.pending_uploads() == 0 and blobs_left(alice) == []


async def test_a_send_cancelled_while_sealing_leaves_nothing(
    registered: Registered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    path, _ = _big_file(tmp_path)
    sealing, release = threading.Event(), threading.Event()

    def before_push(n: int) -> None:
        if n == 2:
            sealing.set()
            release.wait(30)

    monkeypatch.setattr(_core, "AttachmentSealer", lambda: _Sealer(before_push))
    send = asyncio.ensure_future(alice.send_file(ids_of(bob), path))
    await asyncio.to_thread(sealing.wait, 30)
    send.cancel()
    with pytest.raises(asyncio.CancelledError):
        await send
    release.set()  # the sealer sees it was stopped and removes its blob
    await eventually(lambda: blobs_left(alice) == [], what="the half-sealed blob removed")
    assert await alice.pending_uploads() == 0


async def test_a_send_cancelled_mid_upload_after_sealing_resumes_after_login(
    registered: Registered, server: Any, tmp_path: Path
) -> None:
    from tests.support import CLIENT_OPTIONS

    bob = await registered("bob")
    got = inbox(bob)
    storage = str(tmp_path / "alice-store")
    alice = WhatsAppClient(server_url=server.url, storage_path=storage, **CLIENT_OPTIONS)
    await alice.register("alice_overlap", "correct horse battery")
    path, data = _big_file(tmp_path)
    follow = alice._transfers._follow_blob

    async def stalls_after_one_piece(*args: Any) -> AsyncIterator[bytes]:
        async for piece in follow(*args):
            yield piece
            await asyncio.Event().wait()  # the connection hangs mid-body

    alice._transfers._follow_blob = stalls_after_one_piece  # type: ignore[method-assign,assignment]
    send = asyncio.ensure_future(alice.send_file(ids_of(bob), path))
    await eventually_async(lambda: alice.pending_uploads(), 1)  # sealed and recorded
    assert not send.done()
    send.cancel()
    with pytest.raises(asyncio.CancelledError):
        await send
    folder = cache_directory(alice.config, ids_of(alice))
    await alice.close()
    # The record names the complete blob: a restart uploads it whole.
    (blob,) = folder.iterdir()
    assert blob.stat().st_size == _core.attachment_blob_size(len(data))

    again = WhatsAppClient(server_url=server.url, storage_path=storage, **CLIENT_OPTIONS)
    try:
        await again.login("alice_overlap", "correct horse battery")
        await eventually(lambda: len(got) == 1, what="the file after the new login")
        out = await bob.download(got[0], tmp_path / "out.pdf")
        assert isinstance(out, Path) and out.read_bytes() == data
        await eventually(lambda: not blobs_left(again), what="the blob cleaned up")
    finally:
        await again.close()


async def eventually_async(probe: Any, want: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while await probe() != want:
        if time.monotonic() > deadline:
            raise AssertionError(f"never reached {want!r}")
        await asyncio.sleep(0.02)


async def test_a_half_written_blob_left_by_a_crash_is_swept(registered: Registered) -> None:
    alice = await registered("alice")
    folder = cache_directory(alice.config, ids_of(alice))
    folder.mkdir(parents=True, exist_ok=True)
    stale, fresh = folder / "crashed.blob", folder / "sealing-now.blob"
    for blob in (stale, fresh):
        blob.write_bytes(os.urandom(1000))
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    await alice._media_sender.resume()  # what every (re)connect runs
    assert not stale.exists()
    assert fresh.exists()  # may belong to a send sealing right now: kept


async def test_a_corrupt_part_kept_from_an_earlier_call_is_hashed_and_refused(
    registered: Registered, tmp_path: Path
) -> None:
    alice, bob = await registered("alice"), await registered("bob")
    got = inbox(bob)
    path, data = _big_file(tmp_path, 3 * MiB)
    await alice.send_file(ids_of(bob), path)
    await eventually(lambda: len(got) == 1, what="the file")
    digest = base64.b64decode(got[0].payload["attachment"]["digest"])
    part = cache_directory(bob.config, ids_of(bob)) / f"{digest.hex()}.part"
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(os.urandom(MiB))  # not a prefix of the blob: the resume must notice
    target = tmp_path / "downloads"
    target.mkdir()
    with pytest.raises(AttachmentCorruptError):
        await bob.download(got[0], target)
    assert list(target.iterdir()) == [] and not part.exists()
    out = await bob.download(got[0], target)  # afresh: whole and intact
    assert isinstance(out, Path) and out.read_bytes() == data
