"""Logging in to the dashboard: the first-start admin must change the printed password,
a wrong password is refused in an alert, and the form works from the keyboard alone."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.dashboard import _ui as ui
from tests.dashboard._api import Api, unique_name
from tests.dashboard._harness import ADMIN_EMAIL, Stack

NEW_PASSWORD = "a new admin password 42"
USER_PASSWORD = "a plain user password 7"


def test_first_login_makes_the_admin_change_the_printed_password(
    page: Page, fresh_stack: Stack
) -> None:
    printed = fresh_stack.admin_password
    page.goto(fresh_stack.url + "/")
    ui.fill_login(page, ADMIN_EMAIL, printed)
    ui.button(page, "Log in").click()

    # Nothing else is offered until the password is changed.
    expect(page.get_by_label("New password", exact=True)).to_be_visible()
    expect(ui.action(page, "New session")).to_have_count(0)
    ui.change_password(page, printed, NEW_PASSWORD)
    expect(ui.button(page, "Log out")).to_be_visible()
    expect(ui.action(page, "New session")).to_be_visible()
    expect(ui.action(page, "Admin")).to_be_visible()

    ui.button(page, "Log out").click()
    expect(ui.button(page, "Log in")).to_be_visible()
    # The printed password is over; the new one lets the admin in without a change form.
    ui.fill_login(page, ADMIN_EMAIL, printed)
    ui.button(page, "Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(ui.button(page, "Log out")).to_have_count(0)
    ui.login(page, fresh_stack.url, ADMIN_EMAIL, NEW_PASSWORD)
    expect(page.get_by_label("New password", exact=True)).to_have_count(0)
    Api(fresh_stack.url, ADMIN_EMAIL, NEW_PASSWORD)  # the API agrees: logs in, 200


def test_a_wrong_password_is_refused_in_an_alert(page: Page, stack: Stack) -> None:
    page.goto(stack.url + "/")
    ui.fill_login(page, ADMIN_EMAIL, "not the password at all")
    ui.button(page, "Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("alert")).not_to_be_empty()
    expect(ui.button(page, "Log out")).to_have_count(0)


def test_login_with_the_keyboard_alone(page: Page, stack: Stack, admin: Api) -> None:
    email = f"{unique_name('kbd')}@example.org"
    admin.create_user(email, USER_PASSWORD)
    page.goto(stack.url + "/")
    email_box = page.get_by_label("Email", exact=True)
    expect(email_box).to_be_visible()
    for _ in range(20):  # Tab through whatever precedes the form (a skip link, the header)
        if email_box.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(email_box).to_be_focused()
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    page.keyboard.type(USER_PASSWORD)
    page.keyboard.press("Tab")
    expect(ui.button(page, "Log in")).to_be_focused()
    page.keyboard.press("Enter")
    expect(ui.button(page, "Log out")).to_be_visible()
    expect(ui.action(page, "New session")).to_be_visible()
    # A plain user gets no admin panel.
    expect(ui.action(page, "Admin")).to_have_count(0)
