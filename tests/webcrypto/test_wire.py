"""The wire codec and the per-peer record of wac1.js (PROTOCOL.md §5) in Chromium: strict
parsing, prekey messages naming unknown prekeys, identity changes and older sessions."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page

from tests.webcrypto._bridge import b, b64, call, error_code, ok, wire_body
from whatsapp_client import _core
from whatsapp_client.errors import InvalidKeyError

KEY = b64(bytes(range(32)))
GOOD = {"v": 1, "header": {"dh": KEY, "pn": 0, "n": 0}, "ciphertext": b64(bytes(20))}


def with_(path: str, value: object) -> str:
    body = json.loads(json.dumps(GOOD))
    target = body
    *parents, last = path.split(".")
    for name in parents:
        target = target[name]
    target[last] = value
    return "E2EE:" + json.dumps(body)


MALFORMED = {
    "no prefix": json.dumps(GOOD),
    "lowercase prefix": "e2ee:" + json.dumps(GOOD),
    "not JSON": "E2EE:{not json",
    "JSON array": "E2EE:[1]",
    "unknown v": with_("v", 2),
    "v as string": with_("v", "1"),
    "short dh": with_("header.dh", b64(bytes(31))),
    "long dh": with_("header.dh", b64(bytes(33))),
    "negative n": with_("header.n", -1),
    "fractional n": with_("header.n", 1.5),
    "n above 2^32-1": with_("header.n", 2**32),
    "pn as string": with_("header.pn", "0"),
    "n written 1.0": with_("header.n", 1.0),
    "n written 1e0": with_("header.n", 1).replace('"n": 1', '"n": 1e0'),
    "v written 1.0": with_("v", 1.0),
    "duplicate member": "E2EE:" + json.dumps(GOOD)[:-1] + ', "v": 1}',
    "duplicate nested member": with_("header.n", 1).replace('"n": 1', '"n": 1, "n": 2'),
    "n written -0": with_("header.n", 1).replace('"n": 1', '"n": -0'),
    "base64 with whitespace": with_("ciphertext", "AAAA AAAA"),
    "base64 without padding": with_("ciphertext", "AAA"),
    "base64url alphabet": with_("ciphertext", "AA-_"),
    "non-canonical base64": with_("ciphertext", "AB=="),
    "x3dh not an object": with_("x3dh", 5),
    "x3dh short ik": with_(
        "x3dh", {"ik": b64(bytes(3)), "sk": KEY, "ek": KEY, "spk_id": 1, "opk_id": None}
    ),
    "x3dh negative spk_id": with_(
        "x3dh", {"ik": KEY, "sk": KEY, "ek": KEY, "spk_id": -1, "opk_id": None}
    ),
    "x3dh opk_id too large": with_(
        "x3dh", {"ik": KEY, "sk": KEY, "ek": KEY, "spk_id": 1, "opk_id": 2**32}
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_wire_is_refused(page: Page, case: str) -> None:
    assert error_code(call(page, "parseWire", MALFORMED[case]), case) == "invalid_message"


def test_wire_parsing_agrees_with_the_core(page: Page) -> None:
    py = _core.Account()
    py.rotate_signed_prekey()
    peer = _core.Account()
    peer.rotate_signed_prekey()
    session = py.start_session(peer.bundle(None))
    wire = session.encrypt(b"x")
    body = wire_body(wire)
    # Any formatting and key order is accepted; counters at the top of the range too.
    spaced = "E2EE:" + json.dumps(dict(reversed(list(body.items()))), indent=3)
    parsed = ok(call(page, "parseWire", spaced), "spaced")
    info = _core.parse_message(spaced)
    assert b(parsed["dh"]) == info.ratchet_key
    assert (parsed["pn"], parsed["n"]) == (info.previous_chain_length, info.message_number)
    assert (parsed["x3dh"] is not None) == info.is_prekey_message
    assert len(b(parsed["ciphertext"])) == info.ciphertext_length
    top = with_("header.n", 2**32 - 1)
    assert ok(call(page, "parseWire", top), "n = 2^32-1")["n"] == 2**32 - 1
    assert _core.parse_message(top).message_number == 2**32 - 1


def test_unknown_prekeys_and_non_canonical_ephemeral(page: Page) -> None:
    web = call(page, "addParty", "web", None)
    py = _core.Account()
    py.rotate_signed_prekey()
    wire = py.start_session(_core.PreKeyBundle.from_dict(web["bundle"])).encrypt(b"hi")
    body = wire_body(wire)
    before = call(page, "snapshot", "web")
    unknown_spk = {**body, "x3dh": {**body["x3dh"], "spk_id": 99}}
    unknown_opk = {**body, "x3dh": {**body["x3dh"], "opk_id": 99}}
    ek = bytearray(b(body["x3dh"]["ek"]))
    ek[31] |= 0x80  # the same u-coordinate with the unused top bit set
    other_ek = {**body, "x3dh": {**body["x3dh"], "ek": b64(bytes(ek))}}
    for label, bad, code in [
        ("unknown spk", unknown_spk, "unknown_prekey"),
        ("unknown opk", unknown_opk, "unknown_prekey"),
        ("top bit ek", other_ek, "invalid_key"),
    ]:
        result = call(page, "decrypt", "web", "py", "E2EE:" + json.dumps(bad))
        assert error_code(result, label) == code, label
        assert call(page, "snapshot", "web") == before, label
    assert ok(call(page, "decrypt", "web", "py", wire), "genuine")["newSession"] is True


def test_identity_change_keeps_older_sessions(page: Page) -> None:
    web = call(page, "addParty", "web", None)
    first_install = _core.Account()
    first_install.rotate_signed_prekey()
    old = first_install.start_session(_core.PreKeyBundle.from_dict(web["bundle"]))
    got = ok(call(page, "decrypt", "web", "py", old.encrypt(b"old 1")), "old 1")
    assert got["newSession"] and not got["identityChanged"]
    late = old.encrypt(b"old 2")

    # The peer reinstalls: a new identity starts a new session (no one-time prekey left).
    second_install = _core.Account()
    second_install.rotate_signed_prekey()
    bundle = {**web["bundle"], "one_time_prekey": None}
    new = second_install.start_session(_core.PreKeyBundle.from_dict(bundle))
    got = ok(call(page, "decrypt", "web", "py", new.encrypt(b"new 1")), "new 1")
    assert got["newSession"] and got["identityChanged"]
    info = call(page, "sessionInfo", "web", "py")
    assert info["count"] == 2
    assert info["peerFingerprint"] == second_install.fingerprint
    # A late message of the older session still decrypts, without making it active again.
    assert b(ok(call(page, "decrypt", "web", "py", late), "late")["plaintext"]) == b"old 2"
    reply = ok(call(page, "encrypt", "web", "py", b64(b"to the new install")), "reply")
    assert second_install.decrypt(new, reply).plaintext == b"to the new install"


P = 2**255 - 19


def same_key_other_encoding(ek: bytes) -> bytes:
    """``EK`` plus the curve's point of order two: u becomes 1/u. X25519 clamps scalars to
    multiples of eight, so every agreement with it gives the same output as with ``EK``."""
    u = int.from_bytes(ek, "little")
    return pow(u, P - 2, P).to_bytes(32, "little")


def test_replayed_first_message_with_disguised_ephemeral_is_refused(page: Page) -> None:
    web = call(page, "addParty", "web", None)
    py = _core.Account()
    py.rotate_signed_prekey()
    bundle = {**web["bundle"], "one_time_prekey": None}
    wire = py.start_session(_core.PreKeyBundle.from_dict(bundle)).encrypt(b"once")
    assert ok(call(page, "decrypt", "web", "py", wire), "first")["newSession"] is True
    body = wire_body(wire)
    disguised = "E2EE:" + json.dumps(
        {
            **body,
            "x3dh": {**body["x3dh"], "ek": b64(same_key_other_encoding(b(body["x3dh"]["ek"])))},
        }
    )
    before = call(page, "snapshot", "web")
    assert error_code(call(page, "decrypt", "web", "py", disguised), "disguised") == "invalid_key"
    assert call(page, "snapshot", "web") == before
    # The core refuses the same message the same way.
    core_side = _core.Account()
    core_side.rotate_signed_prekey()
    first_wire = py.start_session(core_side.bundle(None)).encrypt(b"once")
    fresh = _core.Session()
    core_side.decrypt(fresh, first_wire)
    first = wire_body(first_wire)
    forged = {
        **first,
        "x3dh": {**first["x3dh"], "ek": b64(same_key_other_encoding(b(first["x3dh"]["ek"])))},
    }
    with pytest.raises(InvalidKeyError):
        core_side.decrypt(fresh, "E2EE:" + json.dumps(forged))
