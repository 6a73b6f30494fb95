"""``AttachmentBlobWriter``: a download's blob file hashed as it is written and opened without
a hashing pass of its own. The refusals must hold although the opening pass does not hash: a
wrong digest or size, and a blob changed on disk after it was written, leave nothing at the
destination."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from whatsapp_client import AttachmentBlobWriter, AttachmentCorruptError, seal_attachment

CHUNK = 65_536


def _written(part: Path, blob: bytes, piece: int) -> AttachmentBlobWriter:
    writer = AttachmentBlobWriter(part)
    for i in range(0, len(blob), piece):
        writer.write(memoryview(blob)[i : i + piece])
    assert writer.size == len(blob)
    return writer


def test_round_trip_resumed_and_moved_into_place(tmp_path: Path) -> None:
    data = os.urandom(3 * CHUNK + 11)
    blob, keys = seal_attachment(data)
    part = tmp_path / "x.part"
    _written(part, blob[:100_000], 4096).close()  # an interrupted download
    writer = AttachmentBlobWriter(str(part))
    assert writer.size == 100_000  # what the file held was hashed
    writer.write(bytearray(blob[100_000:]))
    writer.open_file(tmp_path / "out.bin", keys.key, keys.digest, keys.size)
    assert (tmp_path / "out.bin").read_bytes() == data
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]  # decrypted in place
    with pytest.raises(ValueError, match="closed"):
        writer.write(b"x")


def test_truncate_starts_over(tmp_path: Path) -> None:
    data = os.urandom(CHUNK)
    blob, keys = seal_attachment(data)
    writer = _written(tmp_path / "x.part", b"not the blob", 5)
    writer.truncate()
    assert writer.size == 0
    writer.write(blob)
    writer.open_file(tmp_path / "out", keys.key, keys.digest, keys.size)
    assert (tmp_path / "out").read_bytes() == data


def test_a_wrong_digest_or_size_is_refused_and_nothing_written(tmp_path: Path) -> None:
    blob, keys = seal_attachment(os.urandom(2 * CHUNK + 3))
    part, out = tmp_path / "x.part", tmp_path / "out"
    wrong = bytes([keys.digest[0] ^ 1]) + keys.digest[1:]
    for digest, size in ((wrong, keys.size), (keys.digest, keys.size - 1)):
        with pytest.raises(AttachmentCorruptError):
            _written(part, blob, CHUNK).open_file(out, keys.key, digest, size)
        part.unlink()
    assert list(tmp_path.iterdir()) == []


def test_a_blob_changed_on_disk_after_it_was_written_is_refused(tmp_path: Path) -> None:
    blob, keys = seal_attachment(os.urandom(2 * CHUNK + 3))
    (tmp_path / "existing").write_bytes(b"keep me")
    for at in (0, CHUNK + 20, len(blob) - 1):
        part = tmp_path / "x.part"
        writer = _written(part, blob, 1 << 20)
        changed = bytearray(blob)
        changed[at] ^= 0x01
        part.write_bytes(bytes(changed))  # same length: only the chunk tags can tell
        with pytest.raises(AttachmentCorruptError):
            writer.open_file(tmp_path / "existing", keys.key, keys.digest, keys.size)
        part.unlink(missing_ok=True)
        assert [p.name for p in tmp_path.iterdir()] == ["existing"]
        assert (tmp_path / "existing").read_bytes() == b"keep me"


def test_bad_arguments(tmp_path: Path) -> None:
    writer = AttachmentBlobWriter(tmp_path / "x.part")
    with pytest.raises(TypeError):
        writer.write("text")  # type: ignore[arg-type]
    writer.close()
    writer.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        _ = writer.size
    with pytest.raises(FileNotFoundError):
        AttachmentBlobWriter(tmp_path / "no" / "dir" / "x.part")


def test_start_writeback_is_only_a_hint(tmp_path: Path) -> None:
    from whatsapp_client._writeback import start_writeback

    data = os.urandom(3 * CHUNK)
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
        start_writeback(fd, 0, len(data))
        os.fsync(fd)
    finally:
        os.close(fd)
    start_writeback(fd, 0, len(data))  # a closed descriptor: ignored, never raised
    assert (tmp_path / "f").read_bytes() == data
