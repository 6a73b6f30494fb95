"""Attachments (§8): streamed uploads, ranged downloads, limits, quota, retention, disk full."""

from __future__ import annotations

import asyncio
import errno
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.server.helpers import Account, error_code, register, serving
from whatsapp_client import attachment_blob_size
from whatsapp_client.server import blobs as blobs_module
from whatsapp_client.server.retention import sweep_once
from whatsapp_client.server.settings import Settings
from whatsapp_client.server.state import STATE, ServerState
from whatsapp_client.server.testing import ServerHandle

# Every server here runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("serving_backend")

MIB = 1024 * 1024


async def _upload(
    http: aiohttp.ClientSession, server: ServerHandle, who: Account, data: Any
) -> tuple[int, Any]:
    headers = {**who.headers, "Content-Type": "application/octet-stream"}
    async with http.post(f"{server.url}/api/attachments", data=data, headers=headers) as resp:
        return resp.status, await resp.json()


async def _chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A body without Content-Length (chunked), as a streaming client sends it."""
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        yield bytes((sent + i) % 251 for i in range(n))
        sent += n


def _pattern(total: int) -> bytes:
    return bytes(i % 251 for i in range(total))


def _files(server: ServerHandle) -> list[str]:
    return sorted(os.listdir(Path(server.data_dir) / "attachments"))


def _state(server: ServerHandle) -> ServerState:
    started = server._started
    assert started is not None
    return started.runner.app[STATE]


async def test_upload_then_download_byte_identical() -> None:
    async with serving() as (server, http):
        alice = await register(http, server.url)
        bob = await register(http, server.url)
        blob = os.urandom(300_000)
        status, body = await _upload(http, server, alice, blob)
        assert status == 201
        assert set(body) == {"id", "size", "expires_at"} and body["size"] == len(blob)
        assert len(body["id"]) >= 22  # >= 128 bits of URL-safe base64
        async with http.get(
            f"{server.url}/api/attachments/{body['id']}", headers=bob.headers
        ) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "application/octet-stream"
            assert resp.headers["Accept-Ranges"] == "bytes"
            assert await resp.read() == blob
        path = Path(server.data_dir) / "attachments" / body["id"]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


async def test_streamed_upload_above_the_json_body_limit() -> None:
    async with serving(max_body_bytes=64 * 1024) as (server, http):
        alice = await register(http, server.url)
        status, body = await _upload(http, server, alice, _chunks(3 * MIB))
        assert (status, body["size"]) == (201, 3 * MIB)
        async with http.get(
            f"{server.url}/api/attachments/{body['id']}", headers=alice.headers
        ) as resp:
            assert await resp.read() == _pattern(3 * MIB)


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=10-19", 10, 20), ("bytes=99990-", 99990, 100_000), ("bytes=-5", 99995, 100_000)],
)
async def test_range_downloads_resume(header: str, start: int, end: int) -> None:
    async with serving() as (server, http):
        alice = await register(http, server.url)
        blob = os.urandom(100_000)
        _, body = await _upload(http, server, alice, blob)
        async with http.get(
            f"{server.url}/api/attachments/{body['id']}",
            headers={**alice.headers, "Range": header},
        ) as resp:
            assert resp.status == 206
            assert resp.headers["Content-Range"] == f"bytes {start}-{end - 1}/100000"
            assert await resp.read() == blob[start:end]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_size_limit_is_413_and_leaves_nothing(chunked: bool) -> None:
    async with serving(max_attachment_bytes=100_000) as (server, http):
        alice = await register(http, server.url)
        data: Any = _chunks(100_001) if chunked else _pattern(100_001)
        status, body = await _upload(http, server, alice, data)
        assert (status, error_code(body)) == (413, "too_large")
        assert _files(server) == []
        status, _ = await _upload(http, server, alice, _pattern(100_000))
        assert status == 201


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_account_quota_is_507(chunked: bool) -> None:
    async with serving(attachment_quota_bytes=250_000) as (server, http):
        alice = await register(http, server.url)
        bob = await register(http, server.url)
        status, first = await _upload(http, server, alice, _pattern(150_000))
        assert status == 201
        data: Any = _chunks(150_000) if chunked else _pattern(150_000)
        status, body = await _upload(http, server, alice, data)
        assert (status, error_code(body)) == (507, "quota_exceeded")
        assert _files(server) == [first["id"]]
        status, _ = await _upload(http, server, bob, _pattern(150_000))  # per account
        assert status == 201
        async with http.delete(
            f"{server.url}/api/attachments/{first['id']}", headers=alice.headers
        ) as resp:
            assert resp.status == 204
        status, _ = await _upload(http, server, alice, _pattern(150_000))
        assert status == 201


async def test_disk_full_while_writing_is_507_and_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = blobs_module.write_all
    calls = []

    def fill_up(fd: int, data: bytes) -> None:
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd, data)

    async with serving() as (server, http):
        alice = await register(http, server.url)
        monkeypatch.setattr(blobs_module, "write_all", fill_up)
        status, body = await _upload(http, server, alice, _chunks(2 * MIB))
        assert (status, error_code(body)) == (507, "insufficient_storage")
        assert len(calls) > 1
        assert _files(server) == []
        monkeypatch.setattr(blobs_module, "write_all", real)
        status, _ = await _upload(http, server, alice, _pattern(1000))
        assert status == 201


async def test_expired_blobs_are_404_before_the_sweep_and_gone_after() -> None:
    async with serving(attachment_retention_seconds=0, attachment_sweep_interval=3600) as (
        server,
        http,
    ):
        alice = await register(http, server.url)
        status, body = await _upload(http, server, alice, b"short-lived")
        assert status == 201
        for method in ("GET", "DELETE"):
            async with http.request(
                method, f"{server.url}/api/attachments/{body['id']}", headers=alice.headers
            ) as resp:
                assert (resp.status, error_code(await resp.json())) == (404, "not_found")
        state = _state(server)
        assert _files(server) == [body["id"]]  # still on disk: refused by its expiry
        assert state.blobs is not None
        assert await sweep_once(state.storage, state.blobs) == 1
        assert _files(server) == []


async def test_sweep_removes_leftovers_of_crashed_uploads_only() -> None:
    async with serving(attachment_sweep_interval=3600) as (server, http):
        alice = await register(http, server.url)
        _, kept = await _upload(http, server, alice, b"kept")
        root = Path(server.data_dir) / "attachments"
        stale_tmp = root / ".tmp-0123456789abcdef"
        orphan = root / ("A" * 32)
        fresh_tmp = root / ".tmp-fedcba9876543210"
        for path in (stale_tmp, orphan, fresh_tmp):
            path.write_bytes(b"x")
        old = 1_000_000_000
        for path in (stale_tmp, orphan, root / kept["id"]):
            os.utime(path, (old, old))
        state = _state(server)
        assert state.blobs is not None
        await sweep_once(state.storage, state.blobs)
        assert _files(server) == sorted([kept["id"], fresh_tmp.name])


@pytest.mark.parametrize("bad", ["nope", "..%2Fserver.sqlite3", "A" * 31, "A" * 33, "A" * 32])
async def test_unknown_or_malformed_ids_are_404(bad: str) -> None:
    async with serving() as (server, http):
        alice = await register(http, server.url)
        for method in ("GET", "DELETE"):
            async with http.request(
                method, f"{server.url}/api/attachments/{bad}", headers=alice.headers
            ) as resp:
                assert (resp.status, error_code(await resp.json())) == (404, "not_found")


async def test_owner_delete_removes_the_blob() -> None:
    async with serving() as (server, http):
        alice = await register(http, server.url)
        _, body = await _upload(http, server, alice, b"to delete")
        url = f"{server.url}/api/attachments/{body['id']}"
        async with http.delete(url, headers=alice.headers) as resp:
            assert resp.status == 204
        async with http.get(url, headers=alice.headers) as resp:
            assert resp.status == 404
        assert _files(server) == []


async def test_metrics_count_uploads_and_downloads() -> None:
    async with serving(max_attachment_bytes=10) as (server, http):
        alice = await register(http, server.url)
        _, body = await _upload(http, server, alice, b"12345")
        await _upload(http, server, alice, b"12345678901")
        async with http.get(
            f"{server.url}/api/attachments/{body['id']}", headers=alice.headers
        ) as resp:
            await resp.read()
        async with http.get(f"{server.url}/metrics") as resp:
            text = await resp.text()
        assert 'wac_attachment_uploads_total{result="stored"} 1.0' in text
        assert 'wac_attachment_uploads_total{result="too_large"} 1.0' in text
        assert "wac_attachment_upload_bytes_total 5.0" in text
        assert "wac_attachment_downloads_total 1.0" in text


async def test_a_client_gone_mid_upload_leaves_nothing() -> None:
    async with serving() as (server, http):
        alice = await register(http, server.url)
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            b"POST /api/attachments HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n"
            b"Content-Type: application/octet-stream\r\n"
            + f"Authorization: Bearer {alice.token}\r\n\r\n".encode()
            + b"x" * 200_000
        )
        await writer.drain()
        root = Path(server.data_dir) / "attachments"
        for _ in range(600):  # the temporary file appears once the body starts arriving
            if os.listdir(root):
                break
            await asyncio.sleep(0.05)
        writer.close()
        for _ in range(600):  # polls for up to ~30 s; normally a few ticks
            if not os.listdir(root):
                break
            await asyncio.sleep(0.05)
        assert _files(server) == []
        status, _ = await _upload(http, server, alice, b"still works")
        assert status == 201


def test_the_default_limit_fits_the_blob_of_a_100_mib_file() -> None:
    assert Settings().max_attachment_bytes == attachment_blob_size(100 * 1024 * 1024)
