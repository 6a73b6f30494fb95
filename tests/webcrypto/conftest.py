"""Fixtures of the wac1.js tests: the module files served by a local aiohttp static server on
an ephemeral port, a test page that imports them, and Debian's Chromium driven by
Playwright (one browser per module, a fresh page per test).

Chromium is ``$DASHBOARD_CHROMIUM`` if set, else ``chromium`` on the PATH; Playwright's own
browser download is never used. The vectors come from ``$WAC1_VECTORS``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.sync_api import Browser, Page

from tests.core.conftest import load, vectors_dir
from tests.dashboard._loop import LoopThread

WAC1_DIR = (
    Path(__file__).resolve().parents[2]
    / "python"
    / "whatsapp_client"
    / "server"
    / "webapp"
    / "wac1"
)
PAGE_DIR = Path(__file__).resolve().parent / "page"


@pytest.fixture(scope="session")
def static_url() -> Iterator[str]:
    """Base URL of a static server: ``/wac1/`` is the package's module directory, ``/`` the
    test page."""
    loop = LoopThread()
    app = web.Application()
    app.router.add_static("/wac1/", WAC1_DIR)
    app.router.add_static("/", PAGE_DIR)
    runner = web.AppRunner(app)

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        return int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]

    port = loop.run(start())
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.run(runner.cleanup())
        loop.close()


@pytest.fixture
def page(browser: Browser, static_url: str) -> Iterator[Page]:
    """The test page with ``window.h`` (tests/webcrypto/page/harness.js) loaded."""
    context = browser.new_context()
    try:
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.goto(f"{static_url}/index.html")
        tab.wait_for_function("window.h !== undefined", timeout=15_000)
        yield tab
        assert errors == [], f"errors on the page: {errors}"
    finally:
        context.close()


@pytest.fixture(scope="session")
def vectors() -> Path:
    return vectors_dir()


def vector(directory: Path, name: str) -> Any:
    return load(directory, name)
