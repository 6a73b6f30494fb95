"""Two wac1 engines against the real reference server, for the engine's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.gateway._runtime_support import PASSWORD, Recorder, unique_name, wac1_factory
from tests.support import eventually
from whatsapp_client.gateway._wac1 import Wac1Engine
from whatsapp_client.server.testing import ServerHandle


class Pair:
    def __init__(self, server: ServerHandle, tmp_path: Path) -> None:
        self.server = server
        self.tmp = tmp_path
        self.engines: list[Wac1Engine] = []

    def engine(
        self, name: str, rec: Recorder, *, register: bool = True, max_failures: int = 5
    ) -> Wac1Engine:
        factory = wac1_factory(max_failures)
        config, creds = factory.validate(
            {"server_url": self.server.url, "username": name, "password": PASSWORD}
        )
        engine = factory.build(
            "ses_" + name, config, creds, self.tmp / name, rec, register=register
        )
        self.engines.append(engine)
        return engine


@asynccontextmanager
async def open_pair(server: ServerHandle, tmp_path: Path) -> AsyncIterator[Pair]:
    """A :class:`Pair` whose engines are all stopped at the end."""
    p = Pair(server, tmp_path)
    try:
        yield p
    finally:
        for engine in p.engines:
            await engine.stop()


async def started(pair: Pair, rec: Recorder, prefix: str) -> tuple[Wac1Engine, str]:
    name = unique_name(prefix)
    engine = pair.engine(name, rec)
    await engine.start()
    await eventually(lambda: rec.last_status == "connected", what=f"{name} connected")
    return engine, name
