"""Child process of test_crash: sends messages until it is killed, resumes and drains, or
runs until a signal."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from whatsapp_client.client import WhatsAppClient

OPTIONS: dict[str, Any] = {"kdf_memory_kib": 64, "kdf_iterations": 1, "reconnect_delays": (0.05,)}


async def main() -> None:
    mode, url, storage, username, password, peer = sys.argv[1:7]
    async with WhatsAppClient(server_url=url, storage_path=storage, **OPTIONS) as client:
        await client.login(username, password)
        if mode == "run":
            run = asyncio.ensure_future(client.run())
            while client._stop_event is None:  # noqa: ASYNC110 - until run() has its handlers
                await asyncio.sleep(0.01)
            print("READY", flush=True)
            await run
            print(f"STOPPED {client.user is None}", flush=True)
        elif mode == "send":
            i = 0
            pending: set[asyncio.Task[object]] = set()
            while True:
                task = asyncio.ensure_future(client.send_message(peer, f"crash #{i}"))
                pending.add(task)
                task.add_done_callback(pending.discard)
                i += 1
                print(f"SUBMITTED {i}", flush=True)
                if len(pending) > 20:
                    await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        else:
            while await client.pending_messages():  # noqa: ASYNC110 - polls the store
                await asyncio.sleep(0.02)
            history = await client.get_messages(peer, limit=10000)
            for m in history:
                print(f"HAVE {m.id} {m.content}", flush=True)
            print("DONE", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
