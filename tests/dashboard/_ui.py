"""The dashboard as a person uses it, by the names the contract fixes (labels, button and
tab names, ``data-session-id`` rows with a ``.status`` badge)."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

LEVEL_WORD = re.compile(r"\b(DEBUG|INFO|WARNING|ERROR)\b")


def button(page: Page | Locator, name: str) -> Locator:
    return page.get_by_role("button", name=name, exact=True)


def action(page: Page, name: str) -> Locator:
    """A control that may be a button or a link (``New session``, ``Admin``)."""
    return button(page, name).or_(page.get_by_role("link", name=name, exact=True))


def login(page: Page, base_url: str, email: str, password: str) -> None:
    """Logs in through the form and waits for the signed-in page."""
    page.goto(base_url + "/")
    fill_login(page, email, password)
    button(page, "Log in").click()
    expect(button(page, "Log out")).to_be_visible()


def fill_login(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)


def change_password(page: Page, current: str, new: str) -> None:
    page.get_by_label("Current password", exact=True).fill(current)
    page.get_by_label("New password", exact=True).fill(new)
    button(page, "Change password").click()


def session_row(page: Page, name: str) -> Locator:
    """The list's row (or card) of the session called ``name``."""
    return page.locator("[data-session-id]").filter(has=page.get_by_text(name, exact=True))


def status_badge(row: Locator) -> Locator:
    return row.locator(".status")


def open_sessions(page: Page, base_url: str) -> None:
    page.goto(base_url + "/#/sessions")


def open_session(page: Page, base_url: str, session_id: str) -> None:
    page.goto(f"{base_url}/#/sessions/{session_id}")


def tab(page: Page, name: str) -> Locator:
    return page.get_by_role("tab", name=name, exact=True)


def open_tab(page: Page, name: str) -> Locator:
    """Selects the session page's tab ``name``; returns its panel."""
    tab(page, name).click()
    expect(tab(page, name)).to_have_attribute("aria-selected", "true")
    return page.get_by_role("tabpanel").filter(visible=True)


def data_rows(scope: Locator) -> Locator:
    """Table rows that hold cells (the header row holds column headers)."""
    return scope.get_by_role("row").filter(has=scope.page.get_by_role("cell"))


def rgb(value: str) -> tuple[int, int, int]:
    numbers = re.findall(r"[\d.]+", value)
    if len(numbers) < 3:
        raise AssertionError(f"not a colour: {value!r}")
    red, green, blue = (round(float(n)) for n in numbers[:3])
    return red, green, blue


def badge_colours(badge: Locator) -> list[tuple[int, int, int]]:
    """The badge's text, background and border colours (those not transparent)."""
    values: list[str] = badge.evaluate(
        """el => {
            const s = getComputedStyle(el);
            const out = [s.color, s.borderTopColor];
            if (s.backgroundColor !== 'rgba(0, 0, 0, 0)' && s.backgroundColor !== 'transparent')
                out.push(s.backgroundColor);
            const dot = getComputedStyle(el, '::before');
            if (dot.content !== 'none' && dot.backgroundColor !== 'rgba(0, 0, 0, 0)')
                out.push(dot.backgroundColor);
            return out;
        }"""
    )
    return [rgb(v) for v in values]


def is_red(colour: tuple[int, int, int]) -> bool:
    red, green, blue = colour
    return red >= 120 and red > green + 50 and red > blue + 50


def is_green(colour: tuple[int, int, int]) -> bool:
    red, green, blue = colour
    return green >= 90 and green > red + 30 and green > blue + 10
