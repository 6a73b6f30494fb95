"""The session page's `Logs` tab: filtered by `Level`, it keeps only records at or above it,
and a failed send shows its error detail."""

from __future__ import annotations

import time

import requests
from playwright.sync_api import Page, expect

from tests.dashboard import _ui as ui
from tests.dashboard._api import Api, unique_name
from tests.dashboard._harness import ADMIN_EMAIL, Stack


def _failure_record(admin: Api, session_id: str, message_id: str) -> dict[str, object]:
    """The gateway's log record of the failed send (waits for the send to fail)."""
    end = time.monotonic() + 30
    while time.monotonic() < end:
        records = admin.call("GET", "/logs", params={"level": "WARNING", "session_id": session_id})[
            "items"
        ]
        for record in records:
            if record["message_id"] == message_id and record["error"]:
                return dict(record)
        time.sleep(0.2)
    raise AssertionError(f"no WARNING record of the failed send {message_id}")


def test_the_logs_tab_filters_by_level_and_shows_a_failed_send(
    page: Page, stack: Stack, admin: Api
) -> None:
    session = admin.create_session(stack.chat_url)
    admin.wait_status(session["id"], "connected")
    # An account that never logged in with a client has no keys: every send to it fails.
    keyless = unique_name("keyless")
    registered = requests.post(
        stack.chat_url + "/api/auth/register",
        json={"username": keyless, "password": "keyless password"},
        timeout=30,
    )
    assert registered.status_code == 201, registered.text
    failed = admin.send_text(session["id"], keyless, "this one cannot arrive")
    record = _failure_record(admin, session["id"], failed["id"])

    ui.login(page, stack.url, ADMIN_EMAIL, stack.admin_password)
    ui.open_session(page, stack.url, session["id"])
    panel = ui.open_tab(page, "Logs")
    level = panel.get_by_label("Level", exact=True)
    rows = ui.data_rows(panel)

    level.select_option("DEBUG")
    expect(rows.filter(has=page.get_by_text("INFO", exact=True))).not_to_have_count(0)
    failure = rows.filter(has_text=str(record["error"]))
    expect(failure).not_to_have_count(0)
    expect(failure.first).to_contain_text(str(record["level"]))
    context = record["context"]
    assert isinstance(context, dict) and context, record
    for key in context:  # the context of the failure is shown with it
        expect(failure.first).to_contain_text(key)

    level.select_option("WARNING")
    expect(rows.filter(has=page.get_by_text("INFO", exact=True))).to_have_count(0)
    expect(failure).not_to_have_count(0)
    for text in rows.all_inner_texts():
        words = set(ui.LEVEL_WORD.findall(text))
        assert words and words <= {"WARNING", "ERROR"}, text

    level.select_option("INFO")
    expect(rows.filter(has=page.get_by_text("INFO", exact=True))).not_to_have_count(0)
