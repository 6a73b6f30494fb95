"""A plain user sees only its own sessions: another user's is not in the list, and its page
answers not found; the admin sees both, with their owners."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.dashboard import _ui as ui
from tests.dashboard._api import Api, unique_name
from tests.dashboard._harness import ADMIN_EMAIL, Stack

PASSWORD = "a plain user password 9"
# The page says the session is not there (the API answers 404, not 403).
NOT_FOUND = re.compile(r"not found", re.IGNORECASE)


def test_a_plain_user_cannot_see_another_users_session(
    page: Page, stack: Stack, admin: Api
) -> None:
    ann_email, bo_email = (f"{unique_name(p)}@example.org" for p in ("ann", "bo"))
    admin.create_user(ann_email, PASSWORD)
    admin.create_user(bo_email, PASSWORD)
    ann = Api(stack.url, ann_email, PASSWORD)
    bo = Api(stack.url, bo_email, PASSWORD)
    mine = ann.create_session(stack.chat_url, name=unique_name("ann"))
    theirs = bo.create_session(stack.chat_url, name=unique_name("bo"))

    ui.login(page, stack.url, ann_email, PASSWORD)
    ui.open_sessions(page, stack.url)
    expect(ui.session_row(page, mine["name"])).to_have_count(1)
    expect(page.locator(f'[data-session-id="{theirs["id"]}"]')).to_have_count(0)
    expect(page.get_by_text(theirs["name"])).to_have_count(0)
    expect(ui.action(page, "Admin")).to_have_count(0)

    ui.open_session(page, stack.url, theirs["id"])
    expect(page.get_by_role("alert").filter(has_text=NOT_FOUND)).to_be_visible()
    expect(page.get_by_text(theirs["name"])).to_have_count(0)
    expect(ui.tab(page, "Send")).to_have_count(0)
    ann.call("GET", f"/sessions/{theirs['id']}", expect=404)
    # Its own session's page opens.
    ui.open_session(page, stack.url, mine["id"])
    expect(ui.tab(page, "Overview")).to_be_visible()
    expect(page.get_by_role("heading", name=mine["name"])).to_be_visible()
    expect(page.get_by_text(NOT_FOUND)).to_have_count(0)

    # The admin's list has both, each with its owner.
    owners = {s["id"]: s["owner_id"] for s in admin.call("GET", "/sessions")["sessions"]}
    assert owners[mine["id"]] == ann.user["id"]
    assert owners[theirs["id"]] == bo.user["id"]
    admin_page = page.context.browser
    assert admin_page is not None
    other = admin_page.new_context()
    try:
        admin_view = other.new_page()
        ui.login(admin_view, stack.url, ADMIN_EMAIL, stack.admin_password)
        ui.open_sessions(admin_view, stack.url)
        expect(ui.session_row(admin_view, mine["name"])).to_have_count(1)
        expect(ui.session_row(admin_view, theirs["name"])).to_have_count(1)
    finally:
        other.close()
