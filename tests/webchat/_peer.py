"""A peer built directly on the Rust core (``whatsapp_client._core``) and the raw protocol
(REST + WebSocket), for what the SDK would never send: a tampered message."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import aiohttp
import requests

from tests.dashboard._loop import LoopThread
from tests.support import PASSWORD
from whatsapp_client import _core


class RawPeer:
    def __init__(self, base_url: str, loop: LoopThread, username: str) -> None:
        self.base_url = base_url
        self.loop = loop
        self.account = _core.Account()
        self.account.rotate_signed_prekey()
        self.account.generate_one_time_prekeys(5)
        reply = requests.post(
            f"{base_url}/api/auth/register",
            json={"username": username, "password": PASSWORD},
            timeout=10,
        )
        assert reply.status_code == 201, reply.text
        self.token = str(reply.json()["token"])
        self.user_id = str(reply.json()["user"]["id"])
        put = requests.put(
            f"{base_url}/api/keys",
            json=self.account.keys_payload(),
            headers=self.headers,
            timeout=10,
        )
        assert put.status_code == 204, put.text
        self.sessions: dict[str, _core.Session] = {}

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def user_id_of(self, username: str) -> str:
        reply = requests.get(
            f"{self.base_url}/api/users", params={"username": username}, headers=self.headers
        )
        assert reply.status_code == 200, reply.text
        return str(reply.json()["id"])

    def encrypt(self, peer_id: str, text: str) -> str:
        if peer_id not in self.sessions:
            bundle = requests.get(
                f"{self.base_url}/api/users/{peer_id}/prekeys", headers=self.headers, timeout=10
            )
            assert bundle.status_code == 200, bundle.text
            self.sessions[peer_id] = self.account.start_session(
                _core.PreKeyBundle.from_dict(bundle.json())
            )
        payload = json.dumps({"type": "text", "text": text}).encode()
        return self.sessions[peer_id].encrypt(payload)

    def send(self, peer_id: str, content: str) -> None:
        """Sends one frame and waits for the server's ``sent``."""

        async def go() -> None:
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(self.base_url + "/ws") as ws,
            ):
                await self._auth(ws)
                mid = str(uuid.uuid4())
                await ws.send_json(
                    {"type": "message", "id": mid, "to": peer_id, "content": content}
                )
                while (frame := await ws.receive_json(timeout=30))["type"] != "sent":
                    pass
                assert frame["id"] == mid

        self.loop.run(go())

    def receive_texts(self, count: int) -> list[str]:
        """Decrypts the next ``count`` direct messages (and acknowledges them)."""

        async def go() -> list[str]:
            texts: list[str] = []
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(self.base_url + "/ws") as ws,
            ):
                await self._auth(ws)
                while len(texts) < count:
                    frame: dict[str, Any] = await ws.receive_json(timeout=30)
                    if frame["type"] != "message":
                        continue
                    session = self.sessions[frame["from"]]
                    plain = self.account.decrypt(session, frame["content"]).plaintext
                    texts.append(str(json.loads(plain)["text"]))
                    await ws.send_json({"type": "ack", "ids": [frame["id"]]})
            return texts

        return self.loop.run(go())

    async def _auth(self, ws: aiohttp.ClientWebSocketResponse[bool]) -> None:
        await ws.send_json({"type": "auth", "token": self.token})
        assert (await ws.receive_json(timeout=30))["type"] == "auth_ok"


def tampered(wire: str) -> str:
    """The wire string with one bit of its ciphertext flipped."""
    body = json.loads(wire[len("E2EE:") :])
    ciphertext = bytearray(base64.b64decode(body["ciphertext"]))
    ciphertext[len(ciphertext) // 2] ^= 0x01
    body["ciphertext"] = base64.b64encode(bytes(ciphertext)).decode()
    return "E2EE:" + json.dumps(body)
