"""What the attachment tests share: sample media headers, an inbox, the cache folder, a
message naming a blob uploaded as it is (for tampering), a stream that cannot seek."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
from pathlib import Path
from typing import Any

import aiohttp

from whatsapp_client import (
    WhatsAppClient,
)
from whatsapp_client.client import Message
from whatsapp_client.client.attachment_files import cache_directory

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


async def tampered_message(
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
class Keys:
    key: bytes
    digest: bytes
    size: int


class Unseekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: Any) -> int:
        return self._data.readinto(buffer)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(MiB), b""):
            digest.update(block)
    return digest.hexdigest()
