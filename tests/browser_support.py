"""Debian's Chromium driven by Playwright, shared by the browser suites (dashboard, webcrypto,
webchat). Chromium is found at ``$DASHBOARD_CHROMIUM``, else ``chromium`` on the PATH
(Playwright's own browser download is never used).

The fixtures are per module, not per session: the sync driver runs an event loop on the
main thread while it is open, which would stop the asyncio tests of any suite collected
after a browser suite. A conftest imports ``playwright`` and ``browser`` to use them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright


def chromium_path() -> str:
    configured = os.environ.get("DASHBOARD_CHROMIUM")
    if configured:
        return configured
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError("Chromium is missing: install Debian's chromium package")
    return found


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
