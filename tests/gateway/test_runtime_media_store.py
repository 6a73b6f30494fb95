"""Media sealed at rest in chunks: round trips, ranges, tampering, a full disk."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from tests.gateway._runtime_support import make_vault
from whatsapp_client.gateway._errors import StorageFull
from whatsapp_client.gateway._media_store import CHUNK, MediaCorrupt, MediaStore


@pytest.fixture
def store(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media", make_vault())


async def put(store: MediaStore, tmp_path: Path, data: bytes, mid: str = "med_1") -> Any:
    src = tmp_path / f"src-{mid}"
    src.write_bytes(data)
    return await store.put("ses_1", mid, src, mime="application/pdf", filename="a.pdf")


async def read_all(store: MediaStore, info: Any, sealed: bytes, start: int, end: int) -> bytes:
    reader = store.reader("ses_1", info, sealed)
    return b"".join([piece async for piece in reader.read(start, end)])


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5])
async def test_round_trip_and_every_kind_of_range(
    store: MediaStore, tmp_path: Path, size: int
) -> None:
    data = os.urandom(size)
    info, sealed = await put(store, tmp_path, data)
    assert (info.size, info.mime, info.filename) == (size, "application/pdf", "a.pdf")
    on_disk = (tmp_path / "media" / "ses_1" / "med_1").read_bytes()
    if size >= 16:  # a shorter run could occur in the ciphertext by chance
        assert data[:64] not in on_disk
    assert await read_all(store, info, sealed, 0, size) == data
    for start, end in [(0, 1), (size // 2, size), (CHUNK - 3, CHUNK + 3), (size, size)]:
        start, end = min(start, size), min(end, size)
        assert await read_all(store, info, sealed, start, end) == data[start:end]
    out = tmp_path / "plain"
    await store.decrypt_to("ses_1", info, sealed, out)
    assert out.read_bytes() == data


async def test_a_flipped_bit_is_refused_before_anything_is_served(
    store: MediaStore, tmp_path: Path
) -> None:
    info, sealed = await put(store, tmp_path, os.urandom(2 * CHUNK + 10))
    path = tmp_path / "media" / "ses_1" / "med_1"
    raw = bytearray(path.read_bytes())
    raw[CHUNK + 100] ^= 1  # inside the second sealed chunk
    path.write_bytes(bytes(raw))
    assert len(await read_all(store, info, sealed, 0, CHUNK)) == CHUNK  # first chunk intact
    with pytest.raises(MediaCorrupt):
        await read_all(store, info, sealed, CHUNK, CHUNK + 1)


async def test_truncation_at_a_chunk_boundary_is_refused(store: MediaStore, tmp_path: Path) -> None:
    info, sealed = await put(store, tmp_path, os.urandom(2 * CHUNK))
    path = tmp_path / "media" / "ses_1" / "med_1"
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(MediaCorrupt):
        await read_all(store, info, sealed, 0, 2 * CHUNK)


async def test_files_cannot_be_swapped_and_manifests_are_bound(
    store: MediaStore, tmp_path: Path
) -> None:
    info1, sealed1 = await put(store, tmp_path, b"one" * 10, "med_1")
    info2, sealed2 = await put(store, tmp_path, b"two" * 10, "med_2")
    folder = tmp_path / "media" / "ses_1"
    (folder / "med_1").write_bytes((folder / "med_2").read_bytes())
    with pytest.raises(MediaCorrupt):
        await read_all(store, info1, sealed1, 0, 30)
    with pytest.raises(MediaCorrupt):
        store.reader("ses_1", info2, sealed1)
    with pytest.raises(MediaCorrupt):
        store.reader("ses_1", info2, sealed2[:-1] + bytes([sealed2[-1] ^ 1]))


async def test_a_missing_file_is_reported(store: MediaStore, tmp_path: Path) -> None:
    info, sealed = await put(store, tmp_path, b"x" * 10)
    await store.remove("ses_1", "med_1")
    await store.remove("ses_1", "med_1")  # idempotent
    with pytest.raises(MediaCorrupt):
        await read_all(store, info, sealed, 0, 10)


async def test_a_full_disk_leaves_nothing_behind(
    store: MediaStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, fh: Any) -> None:
            self._fh = fh
            self.written = 0

        def write(self, data: bytes) -> int:
            if self.written + len(data) > CHUNK * 2:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.written += len(data)
            return int(self._fh.write(data))

        def __getattr__(self, name: str) -> Any:
            return getattr(self._fh, name)

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self._fh.close()

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    with pytest.raises(StorageFull):
        await put(store, tmp_path, os.urandom(5 * CHUNK))
    assert list((tmp_path / "media" / "ses_1").iterdir()) == []
    assert "disk full" in caplog.text


async def test_removing_a_session_removes_its_media(store: MediaStore, tmp_path: Path) -> None:
    await put(store, tmp_path, b"data")
    await store.remove_session("ses_1")
    assert not (tmp_path / "media" / "ses_1").exists()
    with pytest.raises(ValueError, match="unusable"):
        await store.remove_session("..")
