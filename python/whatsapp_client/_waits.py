"""A timed wait that never loses its caller's cancellation.

Before Python 3.12, ``asyncio.wait_for`` returns the inner result when the inner awaitable
finishes in the same loop step as the caller is cancelled: the cancellation is dropped, and
a ``task.cancel(); await task`` shutdown can wait forever on a loop that goes round again
(cpython issue 86296). This version is built on ``asyncio.wait``, which always delivers it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Optional, TypeVar

T = TypeVar("T")


def _retrieve(fut: asyncio.Future[Any]) -> None:
    # Left to finish on its own after our caller was cancelled: nobody else reads it.
    if not fut.cancelled():
        fut.exception()


async def wait_for(aw: Awaitable[T], timeout: Optional[float]) -> T:
    """Like ``asyncio.wait_for``: the result of ``aw``, or ``asyncio.TimeoutError`` after
    ``timeout`` seconds (``aw`` is then cancelled). Wrap ``aw`` in ``asyncio.shield`` to
    keep it running past the timeout. A cancellation of the caller always propagates."""
    inner = asyncio.ensure_future(aw)
    try:
        done, _ = await asyncio.wait({inner}, timeout=timeout)
    except BaseException:
        inner.cancel()
        inner.add_done_callback(_retrieve)
        raise
    if not done:
        inner.cancel()
        await asyncio.wait({inner})  # our own cancellation here still propagates
        if inner.cancelled():
            raise asyncio.TimeoutError
    return inner.result()
