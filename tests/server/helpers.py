"""A minimal protocol client for the server tests, written from PROTOCOL.md alone."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from whatsapp_client.server.testing import ServerHandle, running_server

Json = dict[str, Any]

# Generous: only there so a broken server fails a test instead of hanging it.
RECEIVE_TIMEOUT = 30.0


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def x25519_public() -> bytes:
    return (
        X25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


class Keys:
    """A key upload for PUT /api/keys, signed like a real client does (§2)."""

    def __init__(self, opk_ids: range = range(1, 6), spk_id: int = 1) -> None:
        self.signer = Ed25519PrivateKey.generate()
        self.signing_key = self.signer.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.identity_key = x25519_public()
        self.spk = self.signed_prekey(spk_id)
        self.opks = [{"key_id": i, "public_key": b64(x25519_public())} for i in opk_ids]

    def signed_prekey(self, key_id: int) -> Json:
        public = x25519_public()
        signature = self.signer.sign(b"WAC1/spk" + key_id.to_bytes(4, "big") + public)
        return {"key_id": key_id, "public_key": b64(public), "signature": b64(signature)}

    def upload(self) -> Json:
        return {
            "identity_key": b64(self.identity_key),
            "signing_key": b64(self.signing_key),
            "signed_prekey": self.spk,
            "one_time_prekeys": self.opks,
        }


class Account:
    def __init__(self, user_id: str, username: str, token: str) -> None:
        self.id = user_id
        self.username = username
        self.token = token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def new_username(prefix: str = "user") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


async def register(http: aiohttp.ClientSession, base: str, username: str = "") -> Account:
    name = username or new_username()
    async with http.post(
        f"{base}/api/auth/register", json={"username": name, "password": "correct horse"}
    ) as resp:
        assert resp.status == 201, await resp.text()
        body = await resp.json()
    return Account(body["user"]["id"], body["user"]["username"], body["token"])


class Socket:
    """An authenticated WebSocket with a buffer, so tests can wait for one kind of frame."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse[bool]) -> None:
        self.ws = ws
        self.buffer: list[Json] = []

    async def send(self, frame: Json) -> None:
        await self.ws.send_json(frame)

    async def _next(self) -> Json:
        msg = await self.ws.receive(timeout=RECEIVE_TIMEOUT)
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"socket closed: {msg.type} {self.ws.close_code}")
        frame: Json = msg.json()
        return frame

    async def expect(self, kind: str, **match: Any) -> Json:
        """The first frame of ``kind`` (matching ``match``); others are kept for later."""
        for i, frame in enumerate(self.buffer):
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return self.buffer.pop(i)
        while True:
            frame = await self._next()
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame
            self.buffer.append(frame)

    async def expect_n(self, kind: str, count: int) -> list[Json]:
        return [await self.expect(kind) for _ in range(count)]

    async def roundtrip(self) -> None:
        """Ping and wait for the pong: every frame sent before has been processed."""
        await self.send({"type": "ping"})
        await self.expect("pong")

    async def close(self) -> None:
        await self.ws.close()


async def connect(
    http: aiohttp.ClientSession, ws_url: str, account: Account, *, drain_auth: bool = True
) -> Socket:
    ws = await http.ws_connect(ws_url)
    sock = Socket(ws)
    await sock.send({"type": "auth", "token": account.token})
    if drain_auth:
        ok = await sock.expect("auth_ok")
        assert ok["user_id"] == account.id
    return sock


def message(to: str, content: str = "hello", message_id: str = "") -> Json:
    return {"type": "message", "id": message_id or str(uuid.uuid4()), "to": to, "content": content}


# For a test in a both-backends module that reads the SQLite file itself.
sqlite_only = pytest.mark.parametrize("backend_settings", [{}], ids=["sqlite"])

# Storage backend settings for `serving()`, set per test by the `serving_backend` fixture.
BACKEND: dict[str, Any] = {}


@contextlib.asynccontextmanager
async def serving(**settings: Any) -> AsyncIterator[tuple[ServerHandle, aiohttp.ClientSession]]:
    """A server with these settings and an HTTP session (one `async with`, Python 3.9-safe)."""
    async with running_server(**{**BACKEND, **settings}) as server, aiohttp.ClientSession() as http:
        yield server, http


async def gather(*aws: Any) -> list[Any]:
    return list(await asyncio.gather(*aws))


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    account: Account | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """One REST call: the status and the decoded JSON body (None when there is none)."""
    all_headers = dict(headers or {})
    if account is not None:
        all_headers.update(account.headers)
    async with http.request(method, url, json=body, headers=all_headers) as resp:
        raw = await resp.read()
        if not raw:
            return resp.status, None
        if resp.content_type == "application/json":
            return resp.status, await resp.json()
        return resp.status, raw.decode()


def error_code(body: Any) -> str:
    """The machine code of a §6 error body (asserting the shape on the way)."""
    assert isinstance(body, dict), body
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert isinstance(body["error"]["message"], str)
    code: str = body["error"]["code"]
    return code
