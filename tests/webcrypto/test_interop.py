"""wac1.js in Chromium against the Rust core (``whatsapp_client._core``) in the same run:
sessions started on either side and continued on the other, both directions, a tampered
message refused with the browser's state unchanged, the same safety number on both sides,
and attachments sealed in one and opened in the other."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page

from tests.webcrypto._bridge import b, b64, call, error_code, ok, rule_plaintext, wire_body
from whatsapp_client import _core
from whatsapp_client.errors import DecryptionError


def text(body: str) -> bytes:
    return json.dumps({"type": "text", "text": body}).encode()


def python_account() -> _core.Account:
    account = _core.Account()
    account.rotate_signed_prekey()
    account.generate_one_time_prekeys(3)
    return account


def browser_decrypts(page: Page, me: str, peer: str, wire: str, label: str) -> bytes:
    return b(ok(call(page, "decrypt", me, peer, wire), label)["plaintext"])


def test_browser_starts_and_python_continues(page: Page) -> None:
    py = python_account()
    opk_id = py.one_time_prekeys[0].key_id
    call(page, "addParty", "web", None)
    assert ok(call(page, "start", "web", "py", py.bundle(opk_id).to_dict()), "start") is False
    from_web = _core.Session()

    # Three messages from the browser, delivered out of order; each carries the x3dh fields.
    wires = [ok(call(page, "encrypt", "web", "py", b64(text(f"w{i}"))), f"w{i}") for i in range(3)]
    assert all(wire_body(w)["x3dh"]["opk_id"] == opk_id for w in wires)
    first = py.decrypt(from_web, wires[2])
    assert first.new_session and first.plaintext == text("w2")
    assert first.used_one_time_prekey == opk_id
    assert py.decrypt(from_web, wires[0]).plaintext == text("w0")
    assert py.decrypt(from_web, wires[1]).plaintext == text("w1")

    # Python answers; once the browser has decrypted a reply it stops sending x3dh.
    replies = [from_web.encrypt(text(f"p{i}")) for i in range(2)]
    assert browser_decrypts(page, "web", "py", replies[1], "p1") == text("p1")
    assert browser_decrypts(page, "web", "py", replies[0], "p0") == text("p0")
    assert call(page, "sessionInfo", "web", "py")["awaitingReply"] is False
    later = ok(call(page, "encrypt", "web", "py", b64(text("after the reply"))), "w3")
    assert "x3dh" not in wire_body(later)
    assert py.decrypt(from_web, later).plaintext == text("after the reply")

    # The browser's whole state survives a serialise / restore round trip mid-conversation.
    call(page, "reload", "web")
    again = from_web.encrypt(text("to the restored state"))
    assert browser_decrypts(page, "web", "py", again, "restored") == text("to the restored state")
    back = ok(call(page, "encrypt", "web", "py", b64(text("from the restored state"))), "w4")
    assert py.decrypt(from_web, back).plaintext == text("from the restored state")


def test_python_starts_and_browser_continues(page: Page) -> None:
    web = call(page, "addParty", "web", None)
    opk_id = web["oneTimePrekeyIds"][0]
    assert web["bundle"]["one_time_prekey"]["key_id"] == opk_id
    py = python_account()
    to_web = py.start_session(_core.PreKeyBundle.from_dict(web["bundle"]))

    first = browser_decrypts(page, "web", "py", to_web.encrypt(text("hello browser")), "first")
    assert first == text("hello browser")
    assert opk_id not in call(page, "oneTimePrekeyIds", "web"), (
        "the used one-time prekey is deleted"
    )
    # The browser is the responder: it can now send on the same session.
    info = call(page, "sessionInfo", "web", "py")
    assert info["count"] == 1 and info["canEncrypt"] and not info["awaitingReply"]
    for i in range(3):
        wire = ok(call(page, "encrypt", "web", "py", b64(text(f"r{i}"))), f"r{i}")
        assert "x3dh" not in wire_body(wire)
        assert py.decrypt(to_web, wire).plaintext == text(f"r{i}")
    assert not to_web.awaiting_reply
    for i in range(3):
        wire = to_web.encrypt(text(f"q{i}"))
        assert "x3dh" not in wire_body(wire)
        assert browser_decrypts(page, "web", "py", wire, f"q{i}") == text(f"q{i}")


def test_tampered_message_refused_with_state_unchanged(page: Page) -> None:
    web = call(page, "addParty", "web", None)
    py = python_account()
    to_web = py.start_session(_core.PreKeyBundle.from_dict(web["bundle"]))
    assert browser_decrypts(page, "web", "py", to_web.encrypt(text("one")), "one") == text("one")

    wire = to_web.encrypt(text("two"))
    body = wire_body(wire)
    sealed = bytearray(b(body["ciphertext"]))
    sealed[3] ^= 0x01
    tampered = "E2EE:" + json.dumps({**body, "ciphertext": b64(bytes(sealed))})
    truncated = "E2EE:" + json.dumps({**body, "ciphertext": b64(bytes(sealed[:10]))})
    forged_counter = "E2EE:" + json.dumps({**body, "header": {**body["header"], "n": 7}})
    before = call(page, "snapshot", "web")
    for label, bad in [
        ("flipped bit", tampered),
        ("truncated", truncated),
        ("forged n", forged_counter),
    ]:
        assert error_code(call(page, "decrypt", "web", "py", bad), label) == "decryption_failed"
        assert call(page, "snapshot", "web") == before, f"{label}: state changed"
    # The genuine message still decrypts; replayed, it is refused with nothing changed.
    assert browser_decrypts(page, "web", "py", wire, "two") == text("two")
    before = call(page, "snapshot", "web")
    assert (
        error_code(call(page, "decrypt", "web", "py", wire), "replay") == "duplicate_or_unknown_key"
    )
    assert call(page, "snapshot", "web") == before
    # The session goes on both ways.
    reply = ok(call(page, "encrypt", "web", "py", b64(text("three"))), "three")
    assert py.decrypt(to_web, reply).plaintext == text("three")
    assert browser_decrypts(page, "web", "py", to_web.encrypt(text("four")), "four") == text("four")
    # Replayed once the peer has moved to a new ratchet key, the old chain is gone: refused.
    before = call(page, "snapshot", "web")
    assert error_code(call(page, "decrypt", "web", "py", wire), "old-chain replay") in {
        "duplicate_or_unknown_key",
        "decryption_failed",
    }
    assert call(page, "snapshot", "web") == before


def test_python_refuses_a_tampered_browser_message(page: Page) -> None:
    py = python_account()
    call(page, "addParty", "web", None)
    ok(call(page, "start", "web", "py", py.bundle(None).to_dict()), "start")
    wire = ok(call(page, "encrypt", "web", "py", b64(text("hi"))), "hi")
    body = wire_body(wire)
    sealed = bytearray(b(body["ciphertext"]))
    sealed[-1] ^= 0x80
    session = _core.Session()
    with pytest.raises(DecryptionError):
        py.decrypt(session, "E2EE:" + json.dumps({**body, "ciphertext": b64(bytes(sealed))}))
    assert not session.has_session
    assert py.decrypt(session, wire).plaintext == text("hi")


def test_wrong_key_and_max_skip(page: Page) -> None:
    web = call(page, "addParty", "web", None)
    other = call(page, "addParty", "other", None)
    py = python_account()
    to_web = py.start_session(_core.PreKeyBundle.from_dict(web["bundle"]))
    first = to_web.encrypt(text("for web only"))
    # Another account holds a one-time prekey with the same id but other keys: refused.
    assert other["oneTimePrekeyIds"] == web["oneTimePrekeyIds"]
    before = call(page, "snapshot", "other")
    code = error_code(call(page, "decrypt", "other", "py", first), "wrong recipient")
    assert code in {"decryption_failed", "invalid_key"}
    assert call(page, "snapshot", "other") == before
    assert browser_decrypts(page, "web", "py", first, "first") == text("for web only")

    # 1002 more messages sent; only the last arrives: 1001 keys to skip, over MAX_SKIP.
    wires = to_web.encrypt_many([text(f"m{i}") for i in range(1002)])
    before = call(page, "snapshot", "web")
    assert (
        error_code(call(page, "decrypt", "web", "py", wires[-1]), "skip 1001") == "too_many_skipped"
    )
    assert call(page, "snapshot", "web") == before
    # Skipping exactly 1000 is allowed, and the skipped keys then open older messages.
    assert browser_decrypts(page, "web", "py", wires[1000], "skip 1000") == text("m1000")
    assert browser_decrypts(page, "web", "py", wires[3], "late m3") == text("m3")
    assert browser_decrypts(page, "web", "py", wires[1001], "m1001") == text("m1001")
    assert call(page, "describe", "web", "py")["skipped_count"] == 999


def test_safety_numbers_agree(page: Page) -> None:
    web = call(page, "addParty", "web", None)
    py = python_account()
    to_web = py.start_session(_core.PreKeyBundle.from_dict(web["bundle"]))
    browser_decrypts(page, "web", "py", to_web.encrypt(text("hi")), "hi")
    seen_by_browser = call(page, "sessionInfo", "web", "py")["peerFingerprint"]
    assert seen_by_browser == py.fingerprint
    assert to_web.peer_fingerprint == web["fingerprint"]
    in_browser = call(page, "safetyNumber", web["fingerprint"], seen_by_browser)
    assert in_browser == _core.safety_number(py.fingerprint, str(to_web.peer_fingerprint))
    assert len(in_browser) == 60 and in_browser.isdigit()


@pytest.mark.parametrize("size", [0, 1, 65536, 65537, 200_000])
def test_attachments_cross_over(page: Page, size: int) -> None:
    plaintext = rule_plaintext(size, 99)
    sealed = call(page, "sealRandom", size, 99)
    blob, key, digest = b(sealed["blob"]), b(sealed["key"]), b(sealed["digest"])
    assert _core.open_attachment(blob, key, digest, size) == plaintext

    blob2, keys = _core.seal_attachment(plaintext)
    assert keys.size == size and keys.blob_size == len(blob2)
    opened = call(page, "openAttachment", b64(blob2), b64(keys.key), b64(keys.digest), size)
    assert b(ok(opened, f"size {size}")) == plaintext


def test_attachment_refused_with_wrong_key_or_truncated(page: Page) -> None:
    plaintext = rule_plaintext(70_000, 5)
    blob, keys = _core.seal_attachment(plaintext)
    wrong_key = bytes(32)
    refused = call(page, "openAttachment", b64(blob), b64(wrong_key), b64(keys.digest), 70_000)
    assert error_code(refused, "wrong key") == "attachment_corrupt"
    short = blob[:-1]
    refused = call(page, "openAttachment", b64(short), b64(keys.key), b64(keys.digest), 70_000)
    assert error_code(refused, "truncated") == "attachment_corrupt"
    refused = call(page, "openAttachment", b64(blob), b64(keys.key), b64(keys.digest), 69_999)
    assert error_code(refused, "wrong size") == "attachment_corrupt"


@pytest.mark.slow
def test_large_payloads_cross_over(page: Page) -> None:
    """A message near the 8 MiB frame limit and a 16 MiB attachment, both ways: base64 of
    megabytes must neither overflow nor slow the parser down to a stop."""
    web = call(page, "addParty", "web", None)
    py = python_account()
    to_web = py.start_session(_core.PreKeyBundle.from_dict(web["bundle"]))
    big = rule_plaintext(4 * 1024 * 1024, 17)
    wire = to_web.encrypt(big)
    assert len(wire) > 5_000_000
    assert browser_decrypts(page, "web", "py", wire, "4 MiB to the browser") == big
    back = ok(call(page, "encrypt", "web", "py", b64(big)), "4 MiB from the browser")
    assert py.decrypt(to_web, back).plaintext == big

    size = 16 * 1024 * 1024
    sealed = call(page, "sealRandom", size, 3)
    video = rule_plaintext(size, 3)
    assert (
        _core.open_attachment(b(sealed["blob"]), b(sealed["key"]), b(sealed["digest"]), size)
        == video
    )
    blob, keys = _core.seal_attachment(video)
    opened = call(page, "openAttachment", b64(blob), b64(keys.key), b64(keys.digest), size)
    assert b(ok(opened, "16 MiB from Python")) == video
