"""Screenshots of the web chat app for the docs: docs/images/webchat-*.png.

Starts the reference server in-process (loopback, ephemeral port, temporary directory),
opens the app for two people in Debian's Chromium, has them chat (emoji, an image, receipts,
a group) and photographs the sign-in form, the conversation, the safety number with its QR
code, and the conversation at phone width::

    PYTHONPATH=python python3 scripts/webchat_screenshots.py [--out docs/images]

Chromium is ``$DASHBOARD_CHROMIUM`` or ``chromium`` on the PATH.
"""

from __future__ import annotations

import argparse
import os
import sys
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "python")]

from PIL import Image, ImageDraw  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from tests.support import SERVER_SETTINGS  # noqa: E402
from tests.webchat._app import WebUser  # noqa: E402
from tests.webcrypto.conftest import chromium_path  # noqa: E402

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
        finally:
            browser.close()
    for name in ("login", "conversation", "phone", "safety"):
        print(out / f"webchat-{name}.png")


if __name__ == "__main__":
    main()
