"""Prekey upkeep by the page: one-time prekeys refilled when the server runs low, and the
signed prekey rotated after a week (the page's clock moved forward), with sessions started
on either key still working."""

from __future__ import annotations

import datetime
import time

import requests

from tests.support import PASSWORD
from tests.webchat._app import OpenUser, Served


def key_status(served: Served, username: str) -> dict[str, int]:
    login = requests.post(
        f"{served.url}/api/auth/login",
        json={"username": username, "password": PASSWORD},
        timeout=10,
    )
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    status = requests.get(f"{served.url}/api/keys/status", headers=headers, timeout=10)
    assert status.status_code == 200, status.text
    return dict(status.json())


def test_one_time_prekeys_are_refilled_and_the_signed_prekey_rotated(
    served: Served, web_users: OpenUser
) -> None:
    ann = web_users("ann").register()
    assert key_status(served, "ann") == {"available": 100, "signed_prekey_id": 1}
    early = served.bot("early")
    ann_id = early.run(early.client.find_user("ann")).id
    early.run(early.client.send_message(ann_id, "on the first signed prekey"))
    ann.open("early")
    ann.expect_message("on the first signed prekey")

    # A week and a day later, with the server nearly out of one-time prekeys.
    drain = requests.post(
        f"{served.url}/api/auth/register",
        json={"username": "drain", "password": PASSWORD},
        timeout=10,
    )
    headers = {"Authorization": f"Bearer {drain.json()['token']}"}
    for _ in range(85):
        bundle = requests.get(f"{served.url}/api/users/{ann_id}/prekeys", headers=headers)
        assert bundle.status_code == 200, bundle.text
    assert key_status(served, "ann")["available"] < 20
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=8)
    ann.page.clock.set_fixed_time(later)
    ann.page.reload()
    ann.wait_connected()
    deadline = time.monotonic() + 30
    while (status := key_status(served, "ann"))["signed_prekey_id"] != 2 or status[
        "available"
    ] < 50:
        assert time.monotonic() < deadline, f"no upkeep: {status}"
        time.sleep(0.1)

    fresh = served.bot("fresh")
    fresh.run(fresh.client.send_message(ann_id, "on the second signed prekey"))
    ann.open("fresh")
    ann.expect_message("on the second signed prekey")
    early.run(early.client.send_message(ann_id, "the first session goes on"))
    ann.open("early")
    ann.expect_message("the first session goes on")
