"""The README's examples run as written: the crypto example in-process, and the feature tour
as a newcomer runs it — a fresh server, a fresh directory, only the server URL changed."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

from tests.support import (
    CLIENT_OPTIONS,
    PASSWORD,
    client_factory,
    eventually,
    reference_server,
)
from whatsapp_client import Decrypted
from whatsapp_client.client import Message, WhatsAppClient

README = Path(__file__).resolve().parents[2] / "README.md"
PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "python"
TOUR_URL = "http://127.0.0.1:8080"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))


def _snippet(heading: str) -> str:
    text = README.read_text(encoding="utf-8")
    assert heading in text, f"the README lost its section {heading!r}"
    section = text.split(heading, 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, f"the README lost the example of {heading!r}"
    return match.group(1)


def test_crypto_engine_example_runs() -> None:
    namespace: dict[str, object] = {}
    code = _snippet("## The crypto engine on its own")
    exec(compile(code, "README.md", "exec"), namespace)
    message = namespace["message"]
    assert isinstance(message, Decrypted)
    assert message.plaintext == b'{"type":"text","text":"hi"}'


async def test_feature_tour_runs_against_a_fresh_server(tmp_path: Path) -> None:
    """The tour runs as a separate program, twice (the first run registers, the second logs
    in), on a server where only "bob" exists; bob, here, sees each step and sends an image
    back, which the tour's handler saves to ``downloads/``; SIGTERM then stops it cleanly."""
    code = _snippet("## Feature tour")
    assert TOUR_URL in code, "the tour no longer names the server it expects"
    async with reference_server(tmp_path) as server:
        code = code.replace(TOUR_URL, server.url)
        async with client_factory(server, tmp_path, CLIENT_OPTIONS) as make:
            tour = _Tour(make("bob"), code, tmp_path / "newcomer")
            await tour.bob.register("bob", PASSWORD)  # the tour looks "bob" up
            await tour.run(1)
            await tour.run(2)


class _Tour:
    def __init__(self, bob: WhatsAppClient, code: str, work: Path) -> None:
        self.bob, self.code, self.work = bob, code, work
        self.got: list[Message] = []
        bob.on_message(self.got.append)
        self.group_got: list[Message] = []
        bob.on_group_message(self.group_got.append)
        self.statuses: list[tuple[str, str]] = []
        bob.on_message_status(lambda mid, status: self.statuses.append((mid, status)))
        work.mkdir()
        (work / "photo.jpg").write_bytes(PNG)

    async def run(self, n: int) -> None:
        env = {
            **os.environ,
            "HOME": str(self.work),
            "WHATSAPP_STORAGE_PATH": str(self.work / "store"),
            "WHATSAPP_DURABILITY": "fast",
            "PYTHONPATH": os.pathsep.join([str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            self.code,
            cwd=self.work,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            safety = await self._watch(proc, n)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode(errors="replace")
        assert b"Traceback" not in err, err.decode(errors="replace")
        assert safety in out.decode()

    async def _watch(self, proc: asyncio.subprocess.Process, n: int) -> str:
        got, group_got = self.got, self.group_got
        await eventually(
            lambda: proc.returncode is not None or (len(got) == 2 * n and len(group_got) == n),
            60,
            "the tour's messages",
        )
        if proc.returncode is not None:
            _, err = await proc.communicate()
            raise AssertionError("the tour stopped early:\n" + err.decode(errors="replace"))
        text, image = got[-2:]
        assert text.content == "Hello, World! 👋"
        assert image.type == "image" and image.caption == "Look!" and image.data == PNG
        assert group_got[-1].content == "Hello everyone!"
        bot = text.from_user
        name = f"reply{n}.png"
        reply = await self.bob.send_image(bot, image_data=PNG, filename=name)
        # The tour's handler saves the image, then marks it read.
        await eventually(lambda: (reply.id, "read") in self.statuses, 60, "the read receipt")
        assert (self.work / "downloads" / name).read_bytes() == PNG
        return await self.bob.safety_number(bot)
