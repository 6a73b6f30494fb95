"""At phone width (360 px) no page of the dashboard scrolls sideways, and a control reached
with the keyboard shows where the focus is."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.dashboard import _ui as ui
from tests.dashboard._api import Api
from tests.dashboard._harness import ADMIN_EMAIL, Stack

PHONE: ViewportSize = {"width": 360, "height": 740}


def _scrolls_sideways(page: Page) -> bool:
    return bool(
        page.evaluate(
            "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )
    )


def test_no_horizontal_scroll_at_360_px(browser: Browser, stack: Stack, admin: Api) -> None:
    session = admin.create_session(stack.chat_url)
    admin.wait_status(session["id"], "connected")
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(stack.url + "/")
        expect(ui.button(page, "Log in")).to_be_visible()
        assert not _scrolls_sideways(page), "the login page"
        ui.login(page, stack.url, ADMIN_EMAIL, stack.admin_password)
        ui.open_sessions(page, stack.url)
        expect(ui.session_row(page, session["name"])).to_have_count(1)
        assert not _scrolls_sideways(page), "the session list"
        ui.open_session(page, stack.url, session["id"])
        for name in ("Overview", "Send", "Messages", "Webhooks", "Logs"):
            ui.open_tab(page, name)
            assert not _scrolls_sideways(page), f"the {name} tab"
        ui.action(page, "Admin").click()
        expect(page).to_have_url(f"{stack.url}/#/admin")
        expect(ui.button(page, "Create user")).to_be_visible()
        assert not _scrolls_sideways(page), "the admin panel"
    finally:
        context.close()


def test_the_keyboard_focus_is_visible(page: Page, stack: Stack) -> None:
    page.goto(stack.url + "/")
    email = page.get_by_label("Email", exact=True)
    expect(email).to_be_visible()
    email.focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    focused = ui.button(page, "Log in")
    expect(focused).to_be_focused()
    outline = focused.evaluate(
        """el => {
            const s = getComputedStyle(el);
            return {style: s.outlineStyle, width: parseFloat(s.outlineWidth),
                    shadow: s.boxShadow};
        }"""
    )
    visible_outline = outline["style"] != "none" and outline["width"] > 0
    assert visible_outline or outline["shadow"] != "none", outline
