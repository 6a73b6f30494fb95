"""A connect cancelled just as the WebSocket opens closes that socket (it used to stay
open until garbage collection, which warned about an unclosed response)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from whatsapp_client.client.config import ClientConfig
from whatsapp_client.client.connection import Connection


class _Socket:
    def __init__(self) -> None:
        self.closed = False

    async def close(self) -> bool:
        self.closed = True
        return True


class _Session:
    """``ws_connect`` opens a socket and, in the same step, the caller is cancelled: the
    cancellation is scheduled before the wake-up of the waiting caller."""

    def __init__(self) -> None:
        self.socket = _Socket()
        self.caller: asyncio.Task[Any] | None = None

    async def ws_connect(self, url: str, **kwargs: Any) -> _Socket:
        assert self.caller is not None
        asyncio.get_running_loop().call_soon(self.caller.cancel)
        return self.socket


def _connection(session: _Session) -> Connection:
    return Connection(
        config=ClientConfig(server_url="http://127.0.0.1:9"),
        session=lambda: session,  # type: ignore[arg-type, return-value]
        token=lambda: "token",
        on_frame=lambda frame: asyncio.sleep(0),
        on_connected=lambda: None,
        on_state=lambda old, new: None,
        on_fatal=lambda error: None,
    )


async def test_a_socket_opened_as_the_caller_is_cancelled_is_closed() -> None:
    session = _Session()
    opening = asyncio.ensure_future(_connection(session)._open())
    session.caller = opening
    with pytest.raises(asyncio.CancelledError):
        await opening
    for _ in range(3):  # the close runs as its own task
        await asyncio.sleep(0)
    assert session.socket.closed
