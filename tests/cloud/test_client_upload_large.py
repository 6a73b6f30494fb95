"""Uploads over aiohttp's 1 MiB threshold for in-memory bodies, under pytest's
warnings-as-errors (aiohttp 3.14 warns about large raw ``bytes`` bodies)."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Union

import pytest

from tests.cloud._client_support import make_client
from whatsapp_client.cloud.testing import GraphSimulator

# A 3 MB PDF-looking document with no repeating pattern a compressor could shortcut.
DOC = b"%PDF-1.7\n" + hashlib.shake_256(b"large upload").digest(3 * 1024 * 1024)


@pytest.fixture
async def sim() -> AsyncIterator[GraphSimulator]:
    async with GraphSimulator() as simulator:
        yield simulator


@pytest.mark.parametrize("as_path", [False, True], ids=["bytes", "path"])
async def test_a_3_mb_document_uploads_without_warnings(
    sim: GraphSimulator, tmp_path: Path, as_path: bool
) -> None:
    source: Union[bytes, Path] = DOC
    if as_path:
        source = tmp_path / "report.pdf"
        source.write_bytes(DOC)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        async with make_client(sim)[0] as cloud:
            media_id = await cloud.upload_media(source, "application/pdf")
    assert sim.media_bytes(media_id) == DOC
