"""Screenshots of the web chat app for the docs: docs/images/webchat-*.png.

Starts the reference server in-process (loopback, ephemeral port, temporary directory),
opens the app for two people in Debian's Chromium, has them chat (emoji, an image, receipts,
a group) and photographs the sign-in form, the conversation, the safety number with its QR
code, and the conversation at phone width; then a third person chats with
``examples/echo_bot.py`` (run as its own process)::

    PYTHONPATH=python python3 scripts/webchat_screenshots.py [--out docs/images]

Chromium is ``$DASHBOARD_CHROMIUM`` or ``chromium`` on the PATH. Emoji need a colour emoji
font (Debian: ``fonts-noto-color-emoji``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "python")]

from PIL import Image, ImageDraw  # noqa: E402
from playwright.sync_api import Browser, sync_playwright  # noqa: E402
from tests.browser_support import chromium_path  # noqa: E402
from tests.support import SERVER_SETTINGS  # noqa: E402
from tests.webchat._app import WebUser  # noqa: E402

from whatsapp_client.server.testing import server_in_thread  # noqa: E402


def picture() -> bytes:
    """A small PNG (a sunset-ish gradient with hills) to send as a photo."""
    image = Image.new("RGB", (240, 150))
    draw = ImageDraw.Draw(image)
    for y in range(150):
        draw.line([(0, y), (240, y)], fill=(255 - y // 2, 140 + y // 3, 90 + y))
    draw.ellipse((150, 30, 200, 80), fill=(255, 230, 120))
    draw.polygon([(0, 150), (70, 80), (140, 150)], fill=(40, 90, 60))
    draw.polygon([(90, 150), (180, 70), (240, 130), (240, 150)], fill=(30, 70, 50))
    out = BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def echo_bot(browser: Browser, url: str, out: Path) -> None:
    """A person and ``examples/echo_bot.py``: text and a picture, echoed."""
    with tempfile.TemporaryDirectory(prefix="webchat-shots-") as storage:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), os.environ.get("PYTHONPATH", "")]),
            "WHATSAPP_SERVER_URL": url,
            "WHATSAPP_STORAGE_PATH": storage,
        }
        bot = subprocess.Popen(  # noqa: S603 - our own example with fixed arguments
            [sys.executable, str(ROOT / "examples" / "echo_bot.py")],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert bot.stdout is not None
            assert bot.stdout.readline().startswith("ready: echo_bot")
            person = WebUser(browser, url, "carol", width=1100)
            person.register()
            person.find("echo_bot")
            person.send("Hello, bot! 👋")
            person.expect_message("Echo: Hello, bot! 👋")
            person.attach("trail.png", "image/png", picture())
            person.expect_message("Echo")
            person.messages().filter(has_text="Echo").nth(1).get_by_role("img").wait_for()
            person.expect_status("Hello, bot!", "read")
            person.page.screenshot(path=str(out / "webchat-echo-bot.png"))
            person.close()
        finally:
            bot.terminate()
            bot.wait(timeout=30)
            if bot.stdout is not None:
                bot.stdout.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"))
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    with server_in_thread(**SERVER_SETTINGS) as server, sync_playwright() as driver:
        args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        browser = driver.chromium.launch(executable_path=chromium_path(), args=args)
        try:
            ann = WebUser(browser, server.url, "ann", width=1100)
            ann.page.get_by_label("Username").fill("ann")
            ann.page.screenshot(path=str(out / "webchat-login.png"))
            ann.register()
            bob = WebUser(browser, server.url, "bob", width=390)
            bob.register()
            ann.find("bob")
            ann.send("Hi Bob! Are we still on for the hike on Saturday? 🥾")
            bob.open("ann")
            bob.expect_message("hike on Saturday")
            bob.send("Yes! Leaving at 9. Here is the trail 👇")
            bob.attach("trail.png", "image/png", picture())
            ann.expect_message("trail.png")
            ann.send("Perfect, see you there 🙌")
            bob.expect_message("see you there")
            ann.expect_status("see you there", "read")
            ann.page.screenshot(path=str(out / "webchat-conversation.png"))
            bob.page.screenshot(path=str(out / "webchat-phone.png"))
            ann.page.get_by_role("button", name="Safety number").click()
            ann.page.locator("#safety-qr svg").wait_for()
            ann.page.get_by_role("dialog").screenshot(path=str(out / "webchat-safety.png"))
            ann.close()
            bob.close()
            echo_bot(browser, server.url, out)
        finally:
            browser.close()
    for name in ("login", "conversation", "phone", "safety", "echo-bot"):
        print(out / f"webchat-{name}.png")


if __name__ == "__main__":
    main()
