"""Encrypted attachments (§8) through the Python API: round trips around the chunk
boundaries, refusal of every single-bit flip, truncation and chunk swap, file to file with
nothing written on failure, argument checks, and no key in ``repr``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from whatsapp_client import (
    AttachmentCorruptError,
    AttachmentKeys,
    AttachmentOpener,
    AttachmentSealer,
    attachment_blob_size,
    open_attachment,
    open_attachment_file,
    seal_attachment,
    seal_attachment_file,
)
from whatsapp_client.errors import CryptoError, InvalidKeyError, InvalidMessageError

CHUNK = 65_536
SEALED = CHUNK + 16

# Sizes near 0 and near 1, 2 and 3 chunks.
boundary_sizes = st.builds(
    lambda n, d: max(0, n * CHUNK + d), st.integers(0, 3), st.integers(-3, 3)
)


def refused(blob: bytes, keys: AttachmentKeys) -> None:
    with pytest.raises(AttachmentCorruptError):
        open_attachment(blob, keys.key, keys.digest, keys.size)


@settings(max_examples=30, deadline=None)
@given(size=boundary_sizes, piece=st.integers(1, 200_000))
def test_round_trip_at_chunk_boundaries(size: int, piece: int) -> None:
    data = os.urandom(size)
    blob, keys = seal_attachment(data)
    assert len(blob) == keys.blob_size == attachment_blob_size(size)
    assert open_attachment(blob, keys.key, keys.digest, keys.size) == data
    sealer = AttachmentSealer()
    sealed = [sealer.push(data[i : i + piece]) for i in range(0, size, piece)]
    last, skeys = sealer.finish()
    sblob = b"".join(sealed) + last
    opener = AttachmentOpener(skeys.key, skeys.digest, skeys.size)
    opened = [opener.push(sblob[i : i + piece]) for i in range(0, len(sblob), piece)]
    assert b"".join(opened) + opener.finish() == data


@settings(max_examples=40, deadline=None)
@given(size=boundary_sizes, where=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_any_bit_flip_is_refused(size: int, where: float, bit: int) -> None:
    blob, keys = seal_attachment(os.urandom(size))
    bad = bytearray(blob)
    bad[int(where * len(bad))] ^= 1 << bit
    refused(bytes(bad), keys)


@settings(max_examples=40, deadline=None)
@given(size=boundary_sizes, where=st.floats(0, 1, exclude_max=True))
def test_any_truncation_is_refused(size: int, where: float) -> None:
    blob, keys = seal_attachment(os.urandom(size))
    refused(blob[: int(where * len(blob))], keys)
    refused(blob + b"\0", keys)


def test_swapped_chunks_are_refused() -> None:
    blob, keys = seal_attachment(os.urandom(2 * CHUNK + 10))
    swapped = blob[SEALED : 2 * SEALED] + blob[:SEALED] + blob[2 * SEALED :]
    refused(swapped, keys)


def test_bytearray_and_memoryview_are_accepted_other_types_are_not() -> None:
    data = os.urandom(1000)
    blob, keys = seal_attachment(bytearray(data))
    assert open_attachment(memoryview(blob), keys.key, keys.digest, keys.size) == data
    for bad in ("text", 5, None):
        with pytest.raises(TypeError):
            seal_attachment(bad)  # type: ignore[arg-type]


def test_bad_arguments_raise_typed_errors() -> None:
    blob, keys = seal_attachment(b"x")
    with pytest.raises(InvalidKeyError):
        open_attachment(blob, b"short", keys.digest, keys.size)
    with pytest.raises(InvalidMessageError):
        open_attachment(blob, keys.key, b"short", keys.size)
    with pytest.raises(AttachmentCorruptError):
        AttachmentOpener(keys.key, keys.digest, 2**63)
    # A size from a hostile message never allocates: the blob's length refuses it first.
    with pytest.raises(AttachmentCorruptError):
        open_attachment(blob, keys.key, keys.digest, 2**40)
    assert issubclass(AttachmentCorruptError, CryptoError)


def test_repr_redacts_the_key() -> None:
    _, keys = seal_attachment(b"secret")
    text = repr(keys)
    assert "redacted" in text
    assert keys.key.hex() not in text
    assert str(keys.size) in text


def test_sealer_and_opener_are_spent_after_finish() -> None:
    sealer = AttachmentSealer()
    sealer.push(b"abc")
    blob, keys = sealer.finish()
    with pytest.raises(CryptoError):
        sealer.push(b"more")
    opener = AttachmentOpener(keys.key, keys.digest, keys.size)
    assert opener.push(blob) == b""  # the last chunk waits for the digest check
    assert opener.finish() == b"abc"
    with pytest.raises(AttachmentCorruptError):
        opener.finish()


def test_streaming_opener_releases_the_last_chunk_only_after_the_digest() -> None:
    data = os.urandom(CHUNK + 500)
    blob, keys = seal_attachment(data)
    opener = AttachmentOpener(keys.key, bytes(32), keys.size)
    assert opener.push(blob) == data[:CHUNK]
    with pytest.raises(AttachmentCorruptError):
        opener.finish()


def test_file_to_file_round_trip(tmp_path: Path) -> None:
    data = os.urandom(3 * CHUNK + 77)
    (tmp_path / "in.bin").write_bytes(data)
    keys = seal_attachment_file(tmp_path / "in.bin", str(tmp_path / "blob"))
    assert (tmp_path / "blob").stat().st_size == keys.blob_size
    open_attachment_file(
        str(tmp_path / "blob"), tmp_path / "out.bin", keys.key, keys.digest, keys.size
    )
    assert (tmp_path / "out.bin").read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob", "in.bin", "out.bin"]


def test_file_open_failure_writes_nothing(tmp_path: Path) -> None:
    data = os.urandom(2 * CHUNK)
    blob, keys = seal_attachment(data)
    bad = bytearray(blob)
    bad[-1] ^= 1
    (tmp_path / "blob").write_bytes(bytes(bad))
    (tmp_path / "existing").write_bytes(b"keep me")
    for dst, digest in ((tmp_path / "out", keys.digest), (tmp_path / "existing", keys.digest)):
        with pytest.raises(AttachmentCorruptError):
            open_attachment_file(tmp_path / "blob", dst, keys.key, digest, keys.size)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob", "existing"]
    assert (tmp_path / "existing").read_bytes() == b"keep me"


def test_missing_files_raise_os_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        seal_attachment_file(tmp_path / "missing", tmp_path / "blob")
    with pytest.raises(FileNotFoundError):
        open_attachment_file(tmp_path / "missing", tmp_path / "out", bytes(32), bytes(32), 0)
    with pytest.raises(FileNotFoundError):
        seal_attachment_file(__file__, tmp_path / "no" / "such" / "dir" / "blob")
    assert list(tmp_path.iterdir()) == []
