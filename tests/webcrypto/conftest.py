"""Fixtures of the wac1.js tests: the module files served by a local aiohttp static server on
an ephemeral port, a test page that imports them, and Debian's Chromium driven by
Playwright (one browser per module, a fresh page per test).

Chromium is ``$DASHBOARD_CHROMIUM`` if set, else ``chromium`` on the PATH; Playwright's own
browser download is never used. The vectors come from ``$WAC1_VECTORS``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

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


def chromium_path() -> str:
    configured = os.environ.get("DASHBOARD_CHROMIUM")
    if configured:
        return configured
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError("Chromium is missing: install Debian's chromium package")
    return found


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


# Per module, not per session: the sync driver runs an event loop on the main thread while it
# is open, which would stop the asyncio tests of any suite collected after this one.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # Chromium's sandbox needs user namespaces, which root in a container lacks.
    args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    chromium = playwright.chromium.launch(executable_path=chromium_path(), args=args)
    try:
        yield chromium
    finally:
        chromium.close()


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
