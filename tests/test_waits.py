"""The cancellation-safe ``wait_for``: the race the stdlib loses before 3.12, and the
ordinary behaviour it must keep."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from whatsapp_client._waits import wait_for


async def test_a_cancellation_racing_the_result_is_not_lost() -> None:
    event = asyncio.Event()
    task = asyncio.create_task(wait_for(event.wait(), 60))
    await asyncio.sleep(0)  # the task now waits
    event.set()  # the inner wait finishes in the same loop step...
    task.cancel()  # ...as the caller is cancelled
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_worker_loop_stops_when_cancelled_as_it_is_kicked() -> None:
    """The shape of the gateway's send worker: nap until kicked, go round again."""
    kick = asyncio.Event()
    rounds = 0

    async def worker() -> None:
        nonlocal rounds
        while True:
            rounds += 1
            kick.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await wait_for(kick.wait(), 60)

    task = asyncio.create_task(worker())
    await asyncio.sleep(0)
    kick.set()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    assert done == {task} and task.cancelled()
    assert rounds == 1


async def test_the_result_and_the_exception_come_through() -> None:
    async def value() -> int:
        await asyncio.sleep(0)
        return 7

    async def boom() -> None:
        raise ValueError("inner")

    assert await wait_for(value(), 5) == 7
    assert await wait_for(value(), None) == 7
    with pytest.raises(ValueError, match="inner"):
        await wait_for(boom(), 5)


async def test_a_timeout_cancels_the_inner_awaitable() -> None:
    inner = asyncio.ensure_future(asyncio.sleep(60))
    with pytest.raises(asyncio.TimeoutError):
        await wait_for(inner, 0.01)
    assert inner.cancelled()


async def test_a_shielded_future_outlives_the_timeout() -> None:
    fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    with pytest.raises(asyncio.TimeoutError):
        await wait_for(asyncio.shield(fut), 0.01)
    assert not fut.done()
    fut.set_result(3)
    assert await wait_for(asyncio.shield(fut), 1) == 3


async def test_cancelling_the_caller_cancels_the_inner_awaitable() -> None:
    inner = asyncio.ensure_future(asyncio.sleep(60))
    task = asyncio.create_task(wait_for(inner, 60))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0)
    assert inner.cancelled()
