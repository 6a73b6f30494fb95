"""What the live data tests share: an event stream reader over the real HTTP stream, and
keys restricted to some sessions."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any, Callable, Optional

import aiohttp

from tests.gateway._api_support import ADMIN_KEY, GatewayHandle


class StreamReader:
    """Reads ``/api/v1/events/stream`` in a task: every event as (name, data) in
    ``events``, comment lines in ``comments``; ``ended`` is set at the end of the stream."""

    def __init__(self, gw: GatewayHandle, key: str = ADMIN_KEY) -> None:
        self.gw = gw
        self.key = key
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.comments: list[str] = []
        self.status = 0
        self.content_type = ""
        self.ended = asyncio.Event()
        self._changed = asyncio.Event()
        self._opened = asyncio.Event()
        self._task: Optional[asyncio.Task[None]] = None
        self._http = aiohttp.ClientSession()

    async def __aenter__(self) -> StreamReader:
        self._task = asyncio.get_running_loop().create_task(self._read())
        await asyncio.wait_for(self._opened.wait(), 10)
        assert self.status == 200, self.status
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._http.close()

    async def _read(self) -> None:
        try:
            async with self._http.get(
                self.gw.url + "/api/v1/events/stream",
                headers={"X-API-Key": self.key},
                timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
            ) as response:
                self.status = response.status
                self.content_type = response.content_type
                self._opened.set()
                name, data = "message", ""
                async for raw in response.content:
                    line = raw.decode().rstrip("\n")
                    if line.startswith(":"):
                        self.comments.append(line[1:].strip())
                    elif line.startswith("event: "):
                        name = line[len("event: ") :]
                    elif line.startswith("data: "):
                        data = line[len("data: ") :]
                    elif line == "" and data:
                        self.events.append((name, json.loads(data)))
                        name, data = "message", ""
                    self._changed.set()
        except (aiohttp.ClientError, ConnectionError):
            pass
        finally:
            self._opened.set()
            self.ended.set()
            self._changed.set()

    async def wait(
        self,
        cond: Callable[[], bool],
        timeout: float = 20.0,
        what: str = "an event",
    ) -> None:
        """Waits (bounded) until ``cond()`` holds, re-checking at every line read."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not cond():
            left = end - loop.time()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what}; got {self.events}")
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    def of(self, name: str, **fields: Any) -> list[dict[str, Any]]:
        """The events called ``name`` whose data has ``fields``."""
        return [
            d for n, d in self.events if n == name and all(d.get(k) == v for k, v in fields.items())
        ]

    async def expect(self, name: str, timeout: float = 20.0, **fields: Any) -> dict[str, Any]:
        await self.wait(lambda: bool(self.of(name, **fields)), timeout, f"{name} {fields}")
        return self.of(name, **fields)[0]


async def restricted_key(gw: GatewayHandle, scope: str, session_ids: list[str]) -> str:
    body: dict[str, Any] = {"name": "restricted", "scope": scope, "session_ids": session_ids}
    answer = await gw.call("POST", "/api/v1/keys", json_body=body)
    assert answer.status == 201, answer.body
    return str(answer.body["key"])
