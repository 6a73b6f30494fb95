"""The admin panel: a user created there gets a temporary password shown once, logs in
with it, must change it, and then sees an empty session list of its own."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.dashboard import _ui as ui
from tests.dashboard._api import Api, unique_name
from tests.dashboard._harness import ADMIN_EMAIL, Stack

NEW_PASSWORD = "the operator's own password"


def test_a_user_created_in_the_admin_panel_logs_in_and_changes_the_password(
    page: Page, browser: Browser, stack: Stack, admin: Api
) -> None:
    email = f"{unique_name('op')}@example.org"
    ui.login(page, stack.url, ADMIN_EMAIL, stack.admin_password)
    ui.action(page, "Admin").click()
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Role", exact=True).select_option("user")
    ui.button(page, "Create user").click()
    shown = page.locator("code").filter(has_text=re.compile(r"\S"))
    expect(page.get_by_role("row").filter(has_text=email)).to_have_count(1)
    expect(shown.first).to_be_visible()
    temporary = shown.first.inner_text().strip()
    assert len(temporary) >= 12, temporary
    made = [u for u in admin.call("GET", "/users")["users"] if u["email"] == email]
    assert [(u["role"], u["must_change_password"]) for u in made] == [("user", True)]

    other = browser.new_context()
    try:
        user_page = other.new_page()
        user_page.goto(stack.url + "/")
        ui.fill_login(user_page, email, temporary)
        ui.button(user_page, "Log in").click()
        ui.change_password(user_page, temporary, NEW_PASSWORD)
        expect(ui.button(user_page, "Log out")).to_be_visible()
        ui.open_sessions(user_page, stack.url)
        expect(ui.action(user_page, "New session")).to_be_visible()
        expect(user_page.locator("[data-session-id]")).to_have_count(0)
        expect(ui.action(user_page, "Admin")).to_have_count(0)
    finally:
        other.close()
    Api(stack.url, email, NEW_PASSWORD)  # the new password is the one that works
