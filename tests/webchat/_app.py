"""Driving the web chat app the way a person (or assistive technology) does: by the
accessible names the issue fixes (`Username`, `Password`, `Log in`, `Register`, `Find user`,
`Message`, `Send`, the conversation's list items), plus the SDK bot it talks to."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any, Protocol

from playwright.sync_api import Browser, FilePayload, Locator, Page, expect

from tests.dashboard._loop import LoopThread
from tests.support import CLIENT_OPTIONS, PASSWORD
from whatsapp_client.client import Message, WhatsAppClient
from whatsapp_client.server.testing import ServerHandle

# Generous: the machine is shared and slow; these bound waits, they do not measure anything.
WAIT_MS = 30_000


class Served:
    """The reference server on a background loop, and SDK clients on the same loop."""

    def __init__(
        self, handle: ServerHandle, loop: LoopThread, tmp: Path, clients: list[WhatsAppClient]
    ) -> None:
        self.handle = handle
        self.loop = loop
        self.tmp = tmp
        self.clients = clients

    @property
    def url(self) -> str:
        return self.handle.url

    def stop(self) -> None:
        self.loop.run(self.handle.stop())

    def start(self) -> None:
        self.loop.run(self.handle.start())

    def bot(self, username: str) -> Bot:
        client = WhatsAppClient(
            server_url=self.url, storage_path=str(self.tmp / username), **CLIENT_OPTIONS
        )
        self.clients.append(client)
        bot = Bot(client, self.loop)
        self.loop.run(client.register(username, PASSWORD))
        return bot


class Bot:
    """An SDK client whose received messages are collected."""

    def __init__(self, client: WhatsAppClient, loop: LoopThread) -> None:
        self.client = client
        self.loop = loop
        self.inbox: list[Message] = []
        self.statuses: list[tuple[str, str]] = []
        client.on_message(self.inbox.append)
        client.on_message_status(lambda mid, st: self.statuses.append((mid, st)))

    @property
    def user_id(self) -> str:
        assert self.client.user is not None
        return self.client.user.id

    def run(self, coro: Any) -> Any:
        return self.loop.run(coro)

    def wait_for(self, what: str, condition: Any, timeout: float = 30.0) -> None:
        async def poll() -> None:
            end = asyncio.get_running_loop().time() + timeout
            while not condition():
                if asyncio.get_running_loop().time() > end:
                    raise AssertionError(f"timed out waiting for {what}")
                await asyncio.sleep(0.02)

        self.loop.run(poll(), timeout=timeout + 5)


class WebUser:
    """One person using the app in its own browser context (own IndexedDB)."""

    def __init__(self, browser: Browser, base_url: str, username: str, *, width: int) -> None:
        self.username = username
        self.base_url = base_url
        self.context = browser.new_context(viewport={"width": width, "height": 800})
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(f"{base_url}/app/")

    def close(self) -> None:
        self.context.close()
        assert self.errors == [], f"errors on {self.username}'s page: {self.errors}"

    def sign(self, button: str, password: str = PASSWORD) -> None:
        page = self.page
        page.get_by_label("Username").fill(self.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name=button, exact=True).click()
        expect(page.locator("#me")).to_have_text(self.username, timeout=WAIT_MS)
        self.wait_connected()

    def register(self) -> WebUser:
        self.sign("Register")
        return self

    def login(self) -> WebUser:
        self.sign("Log in")
        return self

    def wait_connected(self) -> None:
        expect(self.page.locator("body")).to_have_attribute(
            "data-connection", "online", timeout=WAIT_MS
        )

    def find(self, username: str) -> None:
        self.page.get_by_role("searchbox", name="Find user").fill(username)
        self.page.get_by_role("searchbox", name="Find user").press("Enter")
        expect(self.page.locator("#peer-name")).to_have_text(username, timeout=WAIT_MS)

    def open(self, name: str, *, title: str | None = None) -> None:
        self.page.get_by_role("list", name="Conversations").get_by_role("button", name=name).click()
        expect(self.page.locator("#peer-name")).to_have_text(title or name, timeout=WAIT_MS)

    def send(self, text: str) -> None:
        self.page.get_by_role("textbox", name="Message").fill(text)
        self.page.get_by_role("button", name="Send", exact=True).click()

    def attach(self, name: str, mime: str, data: bytes) -> None:
        payload: FilePayload = {"name": name, "mimeType": mime, "buffer": data}
        self.page.locator("#attach").set_input_files(files=[payload])

    def messages(self) -> Locator:
        return self.page.get_by_role("list", name="Conversation", exact=True).get_by_role(
            "listitem"
        )

    def message(self, text: str) -> Locator:
        return self.messages().filter(has_text=text)

    def expect_message(self, text: str) -> Locator:
        item = self.message(text)
        expect(item).to_have_count(1, timeout=WAIT_MS)
        return item

    def expect_status(self, text: str, status: str) -> None:
        expect(self.message(text).locator(f".status.{status}")).to_have_count(1, timeout=WAIT_MS)

    def safety_number(self) -> str:
        self.page.get_by_role("button", name="Safety number").click()
        number = self.page.locator("#safety-number")
        expect(number).to_have_text(re.compile(r"^\d{5}( \d{5}){11}$"), timeout=WAIT_MS)
        text = number.inner_text()
        self.page.get_by_role("button", name="Close").click()
        return text.replace(" ", "")


class OpenUser(Protocol):
    """The ``web_users`` fixture: opens the app for one more person."""

    def __call__(self, name: str, *, width: int = ...) -> WebUser: ...
