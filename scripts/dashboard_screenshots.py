"""Screenshots of the gateway's dashboard for the docs: docs/images/dashboard-*.png.

Starts the browser tests' stack (the reference chat server and the gateway, on loopback
ports, under a temporary directory), fills it with two sessions and some traffic (messages
both ways, a send that fails, webhook deliveries refused then accepted), and photographs
the main pages in Debian's Chromium at 1280x800::

    PYTHONPATH=python python3 scripts/dashboard_screenshots.py [--out docs/images]

Chromium is ``$DASHBOARD_CHROMIUM`` or ``chromium`` on the PATH.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "python")]

from playwright.sync_api import Page, ViewportSize, expect, sync_playwright  # noqa: E402
from tests.dashboard import _ui as ui  # noqa: E402
from tests.dashboard._api import Api  # noqa: E402
from tests.dashboard._harness import ADMIN_EMAIL, Stack  # noqa: E402
from tests.dashboard.conftest import ADMIN_PASSWORD, chromium_path  # noqa: E402

VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
OPERATOR = "operator@example.org"
OPERATOR_PASSWORD = "operator password 123"  # noqa: S105 - a throwaway demo account


def fill(stack: Stack) -> tuple[Api, dict[str, str], dict[str, str]]:
    """Two connected sessions with traffic; returns the admin and the two sessions."""
    admin = Api(stack.url, ADMIN_EMAIL, stack.admin_password)
    admin.change_password(ADMIN_PASSWORD)
    stack.admin_password = ADMIN_PASSWORD
    admin.create_user(OPERATOR, OPERATOR_PASSWORD)
    stack.receiver_fails(True)
    sales = admin.create_session(
        stack.chat_url, name="sales", webhooks=[{"url": stack.receiver.url}]
    )
    support = admin.create_session(stack.chat_url, name="support")
    admin.wait_status(sales["id"], "connected")
    admin.wait_status(support["id"], "connected")
    time.sleep(2.5)  # the refused deliveries are given up (webhook_max_age_seconds)
    stack.receiver_fails(False)
    lines = [
        ("sales", "support", "Hello! Is order 1042 ready to ship?"),
        ("support", "sales", "Yes, it leaves the warehouse today."),
        ("sales", "support", "Great, thanks. Tracking number?"),
        ("support", "sales", "TRK-88213, you will get an email too."),
    ]
    ids = {"sales": sales["id"], "support": support["id"]}
    for sender, to, text in lines:
        admin.send_text(ids[sender], to, text)
    admin.send_text(sales["id"], "nobody-here", "This one cannot be delivered.")
    end = time.monotonic() + 30
    while time.monotonic() < end:
        outbound = [m for m in admin.messages(sales["id"]) if m["direction"] == "outbound"]
        if sum(m["status"] in ("delivered", "read", "failed") for m in outbound) >= 3:
            break
        time.sleep(0.2)
    return admin, sales, support


def shoot(page: Page, out: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(out / f"dashboard-{name}.png"))
    print(f"wrote {out / f'dashboard-{name}.png'}")


def photograph(stack: Stack, sales: dict[str, str], out: Path) -> None:
    args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium_path(), args=args)
        try:
            page = browser.new_context(viewport=VIEWPORT).new_page()
            page.goto(stack.url + "/")
            expect(ui.button(page, "Log in")).to_be_visible()
            ui.fill_login(page, ADMIN_EMAIL, "")
            shoot(page, out, "login")
            ui.login(page, stack.url, ADMIN_EMAIL, stack.admin_password)
            ui.open_sessions(page, stack.url)
            expect(ui.status_badge(ui.session_row(page, "support"))).to_have_attribute(
                "data-status", "connected"
            )
            shoot(page, out, "sessions")
            ui.open_session(page, stack.url, sales["id"])
            for tab, name in (
                ("Overview", "overview"),
                ("Messages", "messages"),
                ("Webhooks", "webhooks"),
                ("Logs", "logs"),
            ):
                ui.open_tab(page, tab)
                shoot(page, out, name)
            ui.action(page, "Admin").click()
            expect(ui.button(page, "Create user")).to_be_visible()
            shoot(page, out, "admin")
        finally:
            browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dashboard-shots-") as tmp:
        stack = Stack(Path(tmp))
        try:
            stack.start()
            _, sales, _ = fill(stack)
            photograph(stack, sales, args.out)
        finally:
            stack.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
