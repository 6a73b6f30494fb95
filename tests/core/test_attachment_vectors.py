"""Every case and every failure of ``attachment.json`` (§8) through the Python API."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest

from tests.core.conftest import load
from whatsapp_client import _core
from whatsapp_client.errors import AttachmentCorruptError


def b(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def plaintext(case: dict[str, Any]) -> bytes:
    salt = case["plaintext_salt"]
    return bytes((i * 31 + 7 + salt) % 256 for i in range(case["size"]))


def test_attachment_cases(vectors: Path) -> None:
    v = load(vectors, "attachment.json")
    assert v["chunk_size"] == _core.ATTACHMENT_CHUNK_SIZE
    assert v["cases"]
    for case in v["cases"]:
        data, key, size = plaintext(case), b(case["key"]), case["size"]
        blob, keys = _core._vector_seal_attachment(key, data)
        assert len(blob) == case["blob_size"] == keys.blob_size == _core.attachment_blob_size(size)
        assert keys.digest == b(case["digest"]) == hashlib.sha256(blob).digest()
        assert (keys.key, keys.size) == (key, size)
        if "blob" in case:
            assert blob == b(case["blob"])
        else:
            assert blob[:32] == b(case["blob_first_32"])
            assert blob[-32:] == b(case["blob_last_32"])
        # The streaming sealer gives the same blob for pieces that straddle chunks.
        sealer = _core._vector_attachment_sealer(key)
        parts = [sealer.push(data[i : i + 50_000]) for i in range(0, len(data), 50_000)]
        last, skeys = sealer.finish()
        assert b"".join(parts) + last == blob
        assert skeys.digest == keys.digest
        # Opening, whole and streamed, gives the plaintext back.
        assert _core.open_attachment(blob, key, keys.digest, size) == data
        opener = _core.AttachmentOpener(key, keys.digest, size)
        got = [opener.push(blob[i : i + 30_000]) for i in range(0, len(blob), 30_000)]
        assert b"".join(got) + opener.finish() == data


def test_attachment_failures(vectors: Path, tmp_path: Path) -> None:
    v = load(vectors, "attachment.json")
    assert v["failures"]
    for f in v["failures"]:
        assert f["expect_error"] == "attachment_corrupt"
        blob, key, digest, size = b(f["blob"]), b(f["key"]), b(f["digest_of_this_blob"]), f["size"]
        assert hashlib.sha256(blob).digest() == digest
        with pytest.raises(AttachmentCorruptError) as info:
            _core.open_attachment(blob, key, digest, size)
        assert info.value.code == "attachment_corrupt"
        opener = _core.AttachmentOpener(key, digest, size)
        try:
            opener.push(blob)
        except AttachmentCorruptError:
            pass
        else:  # everything pushed: finish must refuse it then
            with pytest.raises(AttachmentCorruptError):
                opener.finish()
        src, dst = tmp_path / f"{f['tamper']}.blob", tmp_path / f"{f['tamper']}.out"
        src.write_bytes(blob)
        with pytest.raises(AttachmentCorruptError):
            _core.open_attachment_file(src, dst, key, digest, size)
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            p.name for p in tmp_path.iterdir() if p.suffix == ".blob"
        ), "a refused open left a file behind"
