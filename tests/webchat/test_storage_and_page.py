"""What the browser stores (every record sealed under a non-extractable key, no plaintext,
no token in clear), how /app is served (strict CSP, assets inside the package), the QR
encoder against a real decoder, and the layout at phone width."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
import requests
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from tests.webchat._app import WAIT_MS, OpenUser, Served

READ_STORE = """async () => {
  const db = await new Promise((ok, fail) => {
    const r = indexedDB.open("wac-webchat");
    r.onsuccess = () => ok(r.result);
    r.onerror = () => fail(r.error);
  });
  const all = (store) => new Promise((ok) => {
    const r = db.transaction(store).objectStore(store).getAll();
    r.onsuccess = () => ok(r.result);
  });
  const keys = await all("keys");
  const records = await all("records");
  let exported = "refused";
  try { await crypto.subtle.exportKey("raw", keys[0]); exported = "exported"; } catch {}
  const decoder = new TextDecoder("latin1");
  return {
    keyCount: keys.length,
    extractable: keys[0].extractable,
    algorithm: keys[0].algorithm.name + "-" + keys[0].algorithm.length,
    exported,
    records: records.map((r) => decoder.decode(r.data)),
    shapes: records.map((r) => Object.keys(r).sort().join(",")),
  };
}"""


def test_state_at_rest_is_sealed(served: Served, web_users: OpenUser) -> None:
    ann = web_users("ann").register()
    bob = web_users("bob").register()
    ann.find("bob")
    ann.send("the secret words")
    bob.open("ann")
    bob.expect_message("the secret words")
    for user in (ann, bob):
        store = user.page.evaluate(READ_STORE)
        assert store["keyCount"] == 1 and store["algorithm"] == "AES-GCM-256"
        assert store["extractable"] is False and store["exported"] == "refused"
        assert len(store["records"]) >= 5  # session, account, conversations, peer, history
        assert set(store["shapes"]) == {"data,iv"}
        for sealed in store["records"]:
            for clear in ("the secret words", "identity", "token", "username", "$b64"):
                assert clear not in sealed


def test_app_is_served_with_a_strict_policy(served: Served) -> None:
    page = requests.get(f"{served.url}/app/", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in page.text and "style=" not in page.text
    again = requests.get(
        f"{served.url}/app/", headers={"If-None-Match": page.headers["ETag"]}, timeout=10
    )
    assert again.status_code == 304
    module = requests.get(f"{served.url}/app/wac1/index.js", timeout=10)
    assert module.status_code == 200 and module.headers["Content-Type"].startswith(
        "text/javascript"
    )
    moved = requests.get(f"{served.url}/app", allow_redirects=False, timeout=10)
    assert moved.status_code == 308 and moved.headers["Location"] == "/app/"
    for bad in ("/app/../app.py", "/app/.hidden.js", "/app/missing.js", "/app/app/"):
        assert requests.get(served.url + bad, timeout=10).status_code == 404, bad


@pytest.mark.parametrize("length", [1, 17, 60, 109, 122, 123, 213, 214, 500, 1200])
def test_qr_codes_decode_to_their_bytes(served: Served, web_users: OpenUser, length: int) -> None:
    user = web_users("qr")
    page: Page = user.page
    # The app has started (it shows the sign-in form) before the test takes over the page.
    expect(page.get_by_label("Username")).to_be_visible(timeout=WAIT_MS)
    text = "".join(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:-é"[(i * 7) % 65]
        for i in range(length)
    )
    page.evaluate(
        """async (text) => {
          const qr = await import("/app/app/qr.js");
          const svg = qr.qrSvg(qr.encodeQr(new TextEncoder().encode(text)), 3, "test code");
          svg.id = "qr-under-test";
          document.body.replaceChildren(svg);
        }""",
        text,
    )
    shot = page.locator("#qr-under-test").screenshot()
    found = zxingcpp.read_barcodes(Image.open(BytesIO(shot)))
    assert [code.text for code in found] == [text]
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode


def test_phone_width_shows_one_pane_at_a_time(served: Served, web_users: OpenUser) -> None:
    served.bot("pybot")
    ann = web_users("ann", width=380).register()
    find = ann.page.get_by_role("searchbox", name="Find user")
    expect(find).to_be_visible()
    ann.find("pybot")
    expect(find).to_be_hidden()
    box = ann.page.get_by_role("textbox", name="Message")
    expect(box).to_be_visible()
    assert box.bounding_box() is not None and box.bounding_box()["width"] < 380  # type: ignore[index]
    ann.page.get_by_role("button", name="Back to conversations").click()
    expect(find).to_be_visible(timeout=WAIT_MS)
    expect(ann.page.get_by_role("list", name="Conversations")).to_contain_text(re.compile("pybot"))


def test_a_second_tab_of_the_same_browser_stands_aside(served: Served, web_users: OpenUser) -> None:
    ann = web_users("ann").register()
    second = ann.context.new_page()
    second.goto(f"{served.url}/app/")
    expect(second.locator("body")).to_contain_text("open in another tab", timeout=WAIT_MS)
    expect(second.get_by_label("Username")).to_have_count(0)
    second.close()
    # Once the first tab is gone, a new one takes over, still signed in.
    ann.page.close()
    third = ann.context.new_page()
    third.goto(f"{served.url}/app/")
    expect(third.locator("#me")).to_have_text("ann", timeout=WAIT_MS)
    ann.page = third


def test_a_text_above_the_protocol_limit_is_refused_before_anything_is_stored(
    served: Served, web_users: OpenUser
) -> None:
    served.bot("pybot")
    ann = web_users("ann").register()
    ann.find("pybot")
    ann.send("é" * 5001)  # 10,002 bytes of UTF-8
    expect(ann.page.get_by_role("alert").filter(has_text="Too long")).to_be_visible()
    expect(ann.page.get_by_role("textbox", name="Message")).to_have_value("é" * 5001)
    ann.send("é" * 5000)
    ann.expect_status("é" * 5000, "delivered")
    expect(ann.messages()).to_have_count(1)
