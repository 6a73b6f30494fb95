"""Encrypted attachments (PROTOCOL.md §8) when things go wrong: a restart, a crash while
sealing, a lost blob, server refusals, a send cancelled by closing the client; and the
attachment key never in a log or a repr."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from whatsapp_client import (
    MediaError,
    WhatsAppClient,
)
from whatsapp_client.client.attachment_download import attachment_ref
from whatsapp_client.client.attachment_files import cache_directory

from .attachment_support import (
    MP4,
    MiB,
    blobs_left,
    ids_of,
    inbox,
)
from .conftest import Registered, eventually


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
