"""The `Webhooks` tab: a delivery the receiver refused until it was given up shows as failed
with a `Redeliver` button; once the receiver accepts again, redelivering it delivers it."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import Page, expect

from tests.dashboard import _ui as ui
from tests.dashboard._api import Api
from tests.dashboard._harness import ADMIN_EMAIL, Stack


def _event_id(headers: dict[str, str]) -> str:
    return next(v for k, v in headers.items() if k.lower() == "webhook-id")


def _all_given_up(admin: Api, session_id: str) -> list[dict[str, Any]]:
    """Waits until every delivery of the session is dead (none pending); returns them."""
    path = f"/sessions/{session_id}/deliveries"
    end = time.monotonic() + 30
    while time.monotonic() < end:
        pending = admin.call("GET", path, params={"state": "pending"})["deliveries"]
        dead = admin.call("GET", path, params={"state": "dead"})["deliveries"]
        if dead and not pending:
            return list(dead)
        time.sleep(0.2)
    raise AssertionError("the deliveries were not all given up")


def test_a_failed_delivery_is_redelivered_from_its_button(
    page: Page, stack: Stack, admin: Api
) -> None:
    # The receiver refuses everything until just before the click: while it does, no
    # delivery can turn delivered behind the test's back (later events are retried too).
    stack.receiver_fails(True)
    try:
        session = admin.create_session(stack.chat_url, webhooks=[{"url": stack.receiver.url}])
        admin.wait_status(session["id"], "connected")
        dead = _all_given_up(admin, session["id"])

        ui.login(page, stack.url, ADMIN_EMAIL, stack.admin_password)
        ui.open_session(page, stack.url, session["id"])
        panel = ui.open_tab(page, "Webhooks")
        expect(panel).to_contain_text(stack.receiver.url)
        redeliver = ui.button(panel, "Redeliver")
        expect(redeliver).not_to_have_count(0)
        delivered = ui.data_rows(panel).filter(has_text="delivered")
        expect(delivered).to_have_count(0)
        expect(ui.data_rows(panel).filter(has_text="500")).not_to_have_count(0)  # last error
    finally:
        stack.receiver_fails(False)
    refused = len(stack.receiver.requests)
    assert refused >= 1

    redeliver.first.click()
    expect(delivered).not_to_have_count(0)

    # The receiver accepted one of the refused events (every one was given up before the
    # click, so nothing else is sent), and the gateway counts it delivered.
    accepted = {_event_id(headers) for headers, _ in stack.receiver.requests[refused:]}
    assert len(accepted) == 1 and accepted <= {d["event_id"] for d in dead}, (accepted, dead)
    done = admin.call(
        "GET", f"/sessions/{session['id']}/deliveries", params={"state": "delivered"}
    )["deliveries"]
    assert {d["event_id"] for d in done} & {d["event_id"] for d in dead}
