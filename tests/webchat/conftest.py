"""Fixtures of the web chat app tests: the real reference server (on an ephemeral port, on a
background loop so that it can be stopped and started again on the same port), Debian's
Chromium driven by Playwright (one per module, as the dashboard tests do, so that it never
overlaps another suite's: one Playwright driver at a time per process), one browser context
per user so that each has its own IndexedDB, and Python SDK clients on the same loop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.dashboard._loop import LoopThread
from tests.support import SERVER_SETTINGS
from tests.webchat._app import OpenUser, Served, WebUser
from whatsapp_client.client import WhatsAppClient
from whatsapp_client.server.testing import running_server


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    loop = LoopThread()
    context = running_server(data_dir=str(tmp_path / "server"), **SERVER_SETTINGS)
    handle = loop.run(context.__aenter__())
    clients: list[WhatsAppClient] = []
    served = Served(handle, loop, tmp_path, clients)
    try:
        yield served
    finally:
        for client in clients:
            loop.run(client.close())
        loop.run(context.__aexit__(None, None, None))
        loop.close()


@pytest.fixture
def web_users(browser: Browser, served: Served) -> Iterator[OpenUser]:
    """``web_users(name)`` opens the app in a fresh browser context (its own IndexedDB)."""
    users: list[WebUser] = []

    def open_user(name: str, *, width: int = 1100) -> WebUser:
        user = WebUser(browser, served.url, name, width=width)
        users.append(user)
        return user

    try:
        yield open_user
    finally:
        for user in users:
            user.close()
