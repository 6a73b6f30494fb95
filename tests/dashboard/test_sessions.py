"""Sessions from the browser: one created with the `New session` form connects to the
running reference server (its badge turns `connected`, green, without a reload), and its
badge follows the chat server going away and coming back."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.dashboard import _ui as ui
from tests.dashboard._api import SESSION_PASSWORD, Api, unique_name
from tests.dashboard._harness import ADMIN_EMAIL, Stack

# The bound: a badge shows a status change within 3 s of it.
SHOWN_WITHIN_MS = 3_000


def test_a_session_created_from_the_form_turns_connected(
    page: Page, stack: Stack, admin: Api
) -> None:
    ui.login(page, stack.url, ADMIN_EMAIL, stack.admin_password)
    name = unique_name("form")
    ui.action(page, "New session").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Engine", exact=True).select_option("wac1")
    page.get_by_label("Server URL", exact=True).fill(stack.chat_url)
    page.get_by_label("Username", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(SESSION_PASSWORD)
    page.get_by_label("Register", exact=True).check()
    ui.button(page, "Create").click()

    ui.open_sessions(page, stack.url)
    row = ui.session_row(page, name)
    expect(row).to_have_count(1)
    badge = ui.status_badge(row)
    expect(badge).to_have_attribute("data-status", "connected")
    expect(badge).to_have_text("connected")
    assert any(ui.is_green(c) for c in ui.badge_colours(badge)), ui.badge_colours(badge)

    # The gateway holds what the form asked for, owned by the admin who made it.
    session_id = row.get_attribute("data-session-id")
    assert session_id is not None
    made = admin.session(session_id)
    assert (made["name"], made["engine"], made["status"]) == (name, "wac1", "connected")
    listed = admin.call("GET", "/sessions")["sessions"]
    assert [s["owner_id"] for s in listed if s["id"] == session_id] == [admin.user["id"]]


def test_the_badge_turns_red_when_the_chat_server_stops_and_green_when_it_returns(
    page: Page, stack: Stack, admin: Api
) -> None:
    session = admin.create_session(stack.chat_url)
    admin.wait_status(session["id"], "connected")
    ui.login(page, stack.url, ADMIN_EMAIL, stack.admin_password)
    ui.open_sessions(page, stack.url)
    badge = ui.status_badge(page.locator(f'[data-session-id="{session["id"]}"]'))
    expect(badge).to_have_attribute("data-status", "connected")
    # Keeps every text the polite live regions are given (a later one replaces it).
    page.evaluate(
        """() => {
            window.__announced = [];
            for (const node of document.querySelectorAll('[aria-live="polite"]')) {
                new MutationObserver(() => window.__announced.push(node.textContent))
                    .observe(node, {childList: true, characterData: true, subtree: true});
            }
        }"""
    )
    page_loads: list[str] = []
    page.on("load", lambda p: page_loads.append(p.url))

    stack.stop_chat()
    try:
        expect(badge).to_have_attribute("data-status", "disconnected", timeout=SHOWN_WITHIN_MS)
        expect(badge).to_have_text("disconnected")
        assert any(ui.is_red(c) for c in ui.badge_colours(badge)), ui.badge_colours(badge)
    finally:
        stack.start_chat()
    expect(badge).to_have_attribute("data-status", "connected")
    expect(badge).to_have_text("connected")
    # Both changes were told to screen readers too (politely), naming the session.
    for word in (r"\bdisconnected\b", r"(?<!dis)connected\b"):
        page.wait_for_function(
            """([name, word]) => window.__announced.some(
                t => t.split(/\\s+/).includes(name) && new RegExp(word).test(t))""",
            arg=[session["name"], word],
            timeout=15_000,
        )
    assert any(ui.is_green(c) for c in ui.badge_colours(badge)), ui.badge_colours(badge)
    assert page_loads == []  # live: the page was never reloaded


def test_stop_restart_and_delete_from_the_list(page: Page, stack: Stack, admin: Api) -> None:
    session = admin.create_session(stack.chat_url)
    admin.wait_status(session["id"], "connected")
    ui.login(page, stack.url, ADMIN_EMAIL, stack.admin_password)
    ui.open_sessions(page, stack.url)
    row = page.locator(f'[data-session-id="{session["id"]}"]')
    badge = ui.status_badge(row)
    expect(badge).to_have_attribute("data-status", "connected")

    ui.button(row, "Stop").click()
    expect(badge).to_have_attribute("data-status", "stopped")
    assert admin.session(session["id"])["running"] is False
    ui.button(row, "Restart").click()
    expect(badge).to_have_attribute("data-status", "connected")

    # Delete asks first; cancelling keeps the session.
    ui.button(row, "Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    ui.button(dialog, "Cancel").click()
    expect(dialog).to_be_hidden()
    expect(row).to_have_count(1)
    ui.button(row, "Delete").click()
    ui.button(dialog, "Delete").click()
    expect(row).to_have_count(0)
    admin.call("GET", f"/sessions/{session['id']}", expect=404)
