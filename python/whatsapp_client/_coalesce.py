"""Coalesced socket writes, shared by the client and the server.

Every WebSocket frame is one ``write`` on the transport, and on an idle socket asyncio sends
it at once: a burst of N small frames costs N TCP segments, N wake-ups of the peer and N
passes through the kernel's network stack. While a burst is written, ``TCP_CORK`` (Linux)
makes the kernel hold partial segments until the cork is removed, so the burst leaves in as
few segments as its size needs. Elsewhere, or on sockets that are not TCP, this does
nothing: frames go out one by one, as before.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any, Callable

__all__ = ["coalesced_writes"]

_CORK: int | None = getattr(socket, "TCP_CORK", None)


@contextlib.contextmanager
def coalesced_writes(get_extra_info: Callable[[str], Any], burst: bool = True) -> Iterator[None]:
    """Corks the socket behind ``get_extra_info`` (a transport's or a WebSocket response's)
    for the duration of the block when ``burst`` says several frames follow."""
    sock = get_extra_info("socket") if burst and _CORK is not None else None
    if sock is None or _CORK is None:
        yield
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, _CORK, 1)
    except OSError:  # not TCP (a Unix socket), or already closed
        yield
        return
    try:
        yield
    finally:
        # Uncorking pushes out whatever partial segment is left.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, _CORK, 0)
