"""Helpers of the simulator tests: a running simulator and an HTTP session pointed at it."""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
from typing import Any, Optional

import aiohttp

from whatsapp_client.cloud.testing import GraphSimulator


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Harness:
    """The simulator plus a plain aiohttp session (what any Graph client would do)."""

    def __init__(self, sim: GraphSimulator, session: aiohttp.ClientSession, clock: FakeClock):
        self.sim = sim
        self.session = session
        self.clock = clock

    def auth(self, token: Optional[str] = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.sim.access_token if token is None else token}"}

    def url(self, path: str) -> str:
        return f"{self.sim.graph_url}/{path}"

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: Optional[str] = None,
        **kwargs: Any,
    ) -> tuple[int, Any]:
        """One Graph request; returns (HTTP status, decoded JSON answer)."""
        async with self.session.request(
            method, self.url(path), headers=self.auth(token), **kwargs
        ) as response:
            return response.status, await response.json()

    async def send(self, body: dict[str, Any], *, token: Optional[str] = None) -> tuple[int, Any]:
        return await self.call(
            "POST", f"{self.sim.phone_number_id}/messages", json=body, token=token
        )

    async def upload(
        self, data: bytes, mime_type: str, *, fields: Optional[dict[str, str]] = None
    ) -> tuple[int, Any]:
        form = aiohttp.FormData()
        for name, value in (fields or {"messaging_product": "whatsapp", "type": mime_type}).items():
            form.add_field(name, value)
        # a file object: aiohttp warns (ResourceWarning) about large raw bytes bodies
        form.add_field("file", io.BytesIO(data), filename="upload.bin", content_type=mime_type)
        return await self.call("POST", f"{self.sim.phone_number_id}/media", data=form)


@contextlib.asynccontextmanager
async def harness(**options: Any) -> AsyncIterator[Harness]:
    clock = FakeClock()
    async with GraphSimulator(clock=clock, **options) as sim:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            yield Harness(sim, session, clock)


def text(to: str = "15551234567", body: str = "hello") -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": body},
    }


def message(kind: str, obj: dict[str, Any], to: str = "15551234567") -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": kind, kind: obj}


def graph_error(answer: Any) -> tuple[int, Optional[int]]:
    """(code, error_subcode) of a Graph error answer, checking its shape on the way."""
    error = answer["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str)
    assert isinstance(error["fbtrace_id"], str) and error["fbtrace_id"]
    assert set(error) <= {"message", "type", "code", "error_subcode", "error_data", "fbtrace_id"}
    if "error_data" in error:
        assert error["error_data"]["messaging_product"] == "whatsapp"
    return error["code"], error.get("error_subcode")
