"""Screenshots of the gateway's dashboard for the docs: docs/images/dashboard-*.png.

Starts the browser tests' stack (the reference chat server and the gateway, on loopback
ports, under a temporary directory), fills it with two sessions and some traffic (messages
both ways, a send that fails, a webhook delivery given up), and photographs
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
# Cheap key derivation for the sessions' stores, as in the tests (honoured by the test
# build of the extension that scripts/test.sh makes).
os.environ.setdefault("WAC1_TEST_WEAK_KDF", "1")

import requests  # noqa: E402
from playwright.sync_api import Page, ViewportSize, expect, sync_playwright  # noqa: E402
from tests.browser_support import chromium_path  # noqa: E402
from tests.dashboard import _ui as ui  # noqa: E402
from tests.dashboard._api import Api  # noqa: E402
from tests.dashboard._harness import ADMIN_EMAIL, Stack  # noqa: E402
from tests.dashboard.conftest import ADMIN_PASSWORD  # noqa: E402

VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
OPERATOR = "operator@example.org"
OPERATOR_PASSWORD = "operator password 123"  # noqa: S105 - a throwaway demo account


def fill(stack: Stack) -> tuple[Api, dict[str, str], dict[str, str]]:
    """Two connected sessions with traffic; returns the admin and the two sessions."""
    admin = Api(stack.url, ADMIN_EMAIL, stack.admin_password)
    admin.change_password(ADMIN_PASSWORD)
    stack.admin_password = ADMIN_PASSWORD
    admin.create_user(OPERATOR, OPERATOR_PASSWORD)
    sales = admin.create_session(
        stack.chat_url, name="sales", webhooks=[{"url": stack.receiver.url}]
    )
    # The operator's own session: the admin panel lists it with its owner.
    operator = Api(stack.url, OPERATOR, OPERATOR_PASSWORD)
    support = operator.create_session(stack.chat_url, name="support")
    admin.wait_status(sales["id"], "connected")
    admin.wait_status(support["id"], "connected")
    lines = [
        ("sales", "support", "Hello! Is order 1042 ready to ship?"),
        ("support", "sales", "Yes, it leaves the warehouse today."),
        ("sales", "support", "Great, thanks. Tracking number?"),
        ("support", "sales", "TRK-88213, you will get an email too."),
    ]
    ids = {"sales": sales["id"], "support": support["id"]}
    for sender, to, text in lines:
        admin.send_text(ids[sender], to, text)
    # A customer who never logged in with a client: the send to it fails, for the Logs tab.
    requests.post(
        stack.chat_url + "/api/auth/register",
        json={"username": "new-customer", "password": "customer password"},
        timeout=30,
    ).raise_for_status()
    admin.send_text(sales["id"], "new-customer", "Welcome! Your account is ready.")
    end = time.monotonic() + 30
    while time.monotonic() < end:
        outbound = [m for m in admin.messages(sales["id"]) if m["direction"] == "outbound"]
        if sum(m["status"] in ("delivered", "read") for m in outbound) >= 2:
            break
        time.sleep(0.2)
    # The webhook receiver goes down for one event: it is given up (webhook_max_age_seconds)
    # and shows as dead, with its Redeliver button.
    stack.receiver_fails(True)
    admin.send_text(support["id"], "sales", "One more thing: can you add a gift note?")
    while time.monotonic() < end:
        dead = admin.call("GET", f"/sessions/{sales['id']}/deliveries", params={"state": "dead"})
        if dead["deliveries"]:
            break
        time.sleep(0.2)
    stack.receiver_fails(False)
    return admin, sales, support


def shoot(page: Page, out: Path, name: str) -> None:
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
            for name in ("sales", "support"):
                badge = ui.status_badge(ui.session_row(page, name))
                expect(badge).to_have_attribute("data-status", "connected")
            shoot(page, out, "sessions")
            ui.open_session(page, stack.url, sales["id"])
            panel = ui.open_tab(page, "Overview")
            expect(panel.locator("svg[role=img]")).to_be_visible()
            expect(panel).not_to_contain_text("No data yet")
            shoot(page, out, "overview")
            panel = ui.open_tab(page, "Messages")
            expect(ui.data_rows(panel).filter(has_text="delivered")).not_to_have_count(0)
            shoot(page, out, "messages")
            panel = ui.open_tab(page, "Webhooks")
            expect(ui.data_rows(panel).filter(has_text="delivered")).not_to_have_count(0)
            expect(ui.button(panel, "Redeliver")).not_to_have_count(0)
            shoot(page, out, "webhooks")
            panel = ui.open_tab(page, "Logs")
            expect(ui.data_rows(panel).filter(has_text="no keys")).not_to_have_count(0)
            shoot(page, out, "logs")
            ui.action(page, "Admin").click()
            expect(ui.button(page, "Create user")).to_be_visible()
            expect(page.get_by_text(OPERATOR).first).to_be_visible()
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
