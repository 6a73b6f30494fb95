"""Every case of the WAC1 vectors (``$WAC1_VECTORS``) run by wac1.js in Chromium; each result
comes back to Python and is compared here with the vector's bytes, named by its case."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from playwright.sync_api import Page

from tests.webcrypto._bridge import b, call, error_code, ok, rule_plaintext, sha256, wire_body
from tests.webcrypto.conftest import vector


def test_primitives(page: Page, vectors: Path) -> None:
    p = vector(vectors, "primitives.json")
    x = p["x25519"]
    assert call(page, "publicKey", x["private_a"]) == x["public_a"], "x25519 public_a"
    assert call(page, "publicKey", x["private_b"]) == x["public_b"], "x25519 public_b"
    assert ok(call(page, "x25519", x["private_a"], x["public_b"]), "x25519 a·B") == x["shared"]
    assert ok(call(page, "x25519", x["private_b"], x["public_a"]), "x25519 b·A") == x["shared"]

    r = p["kdf_rk"]
    assert call(page, "kdfRk", r["rk"], r["dh_out"]) == [r["new_rk"], r["chain_key"]], "kdf_rk"
    c = p["kdf_ck"]
    assert call(page, "kdfCk", c["ck"]) == [c["message_key"], c["next_ck"]], "kdf_ck"
    m = p["message_keys"]
    assert call(page, "messageKeys", m["message_key"]) == [m["aes_key"], m["nonce"]], "message_keys"
    h = p["header_bytes"]
    assert b(call(page, "headerBytes", h["dh"], h["pn"], h["n"])) == b(h["bytes"]), "header_bytes"

    e = p["aead"]
    sealed = call(page, "seal", e["message_key"], e["plaintext"], e["associated_data"])
    assert b(sealed) == b(e["ciphertext"]), "aead seal"
    opened = call(page, "open", e["message_key"], e["ciphertext"], e["associated_data"])
    assert b(ok(opened, "aead open")) == b(e["plaintext"])
    wrong_ad = e["associated_data"][:-4] + "AAA="
    refused = call(page, "open", e["message_key"], e["ciphertext"], wrong_ad)
    assert error_code(refused, "aead open with other AD") == "decryption_failed"

    s = p["signed_prekey"]
    public, signature = call(page, "signPrekey", s["signing_private"], s["key_id"], s["public_key"])
    assert public == s["signing_public"], "signed_prekey signing_public"
    assert b(signature) == b(s["signature"]), "signed_prekey signature"
    assert call(page, "verifyPrekey", public, s["key_id"], s["public_key"], signature) is True
    assert call(page, "verifyPrekey", public, s["key_id"] + 1, s["public_key"], signature) is False

    for index, f in enumerate(p["fingerprint"]):
        got = call(page, "fingerprint", f["identity_key"], f["signing_key"])
        assert got == f["fingerprint"], f"fingerprint case {index}"
    sn = p["safety_number"]
    fa, fb = sn["fingerprint_a"], sn["fingerprint_b"]
    assert call(page, "safetyNumber", fa, fb) == sn["safety_number"], "safety_number a, b"
    assert call(page, "safetyNumber", fb, fa) == sn["safety_number"], "safety_number b, a"
    assert call(page, "compareFingerprints", fa, fa.upper()) is True
    assert call(page, "compareFingerprints", fa, fb) is False


def test_x3dh_cases(page: Page, vectors: Path) -> None:
    cases = vector(vectors, "x3dh.json")
    assert cases, "x3dh.json has no cases"
    for case in cases:
        name = case["name"]
        i, r = case["initiator"], case["responder"]
        result = call(
            page, "x3dhInitiate", i["identity_private"], i["ephemeral_private"], case["bundle"]
        )
        if case["error"] is not None:
            assert error_code(result, name) == case["error"], name
            continue
        got = ok(result, name)
        assert got["ik"] == i["identity_public"], name
        assert got["ek"] == i["ephemeral_public"], name
        assert b(got["secret"]) == b(case["shared_secret"]), name
        assert b(got["ad"]) == b(case["associated_data"]), name
        # The responder's side reaches the same secret from the first message's fields.
        answered = call(
            page,
            "x3dhRespond",
            r["identity_private"],
            r["signed_prekey_private"],
            r["one_time_prekey_private"],
            got["ik"],
            got["ek"],
        )
        back = ok(answered, f"{name} (responder)")
        assert b(back["secret"]) == b(case["shared_secret"]), f"{name} (responder)"
        assert b(back["ad"]) == b(case["associated_data"]), f"{name} (responder)"


def _wire_of(step: dict[str, Any], x3dh: Optional[dict[str, Any]]) -> str:
    body: dict[str, Any] = {"v": 1, "header": step["header"], "ciphertext": step["ciphertext"]}
    if x3dh is not None:
        body["x3dh"] = x3dh
    # Another formatting and key order than the encoder's: receivers must accept any.
    return "E2EE:" + json.dumps(dict(reversed(list(body.items()))), indent=2)


def _setup_conversation(page: Page, v: dict[str, Any]) -> None:
    a, bob = v["alice"], v["bob"]
    bundle = v["bob_bundle"]
    opk = bundle["one_time_prekey"]
    call(
        page,
        "addParty",
        "alice",
        {"identity_private": a["identity_private"], "signing_private": a["signing_private"]},
    )
    added = call(
        page,
        "addParty",
        "bob",
        {
            "identity_private": bob["identity_private"],
            "signing_private": bob["signing_private"],
            "spk": {
                "key_id": bundle["signed_prekey"]["key_id"],
                "private": bob["signed_prekey_private"],
            },
            "opk": None
            if opk is None
            else {"key_id": opk["key_id"], "private": bob["one_time_prekey_private"]},
        },
    )
    # Bob's bundle rebuilt from his private keys is the vector's, signature included.
    assert added["bundle"] == bundle, "bob's bundle"
    started = call(
        page, "start", "alice", "bob", bundle, a["ephemeral_private"], a["first_ratchet_private"]
    )
    assert ok(started, "alice starts the session") is False


def test_ratchet_conversation(page: Page, vectors: Path) -> None:
    v = vector(vectors, "ratchet.json")
    _setup_conversation(page, v)
    peer_of = {"alice": "bob", "bob": "alice"}
    sent_x3dh = {s["label"]: s["expect"]["x3dh"] for s in v["steps"] if s["op"] == "encrypt"}
    assert v["steps"], "ratchet.json has no steps"
    for index, step in enumerate(v["steps"]):
        label = f"step {index} ({step['op']} {step['party']} {step['label']})"
        me = step["party"]
        if step["op"] == "encrypt":
            wire = ok(call(page, "encrypt", me, peer_of[me], step["plaintext"]), label)
            got, want = wire_body(wire), wire_body(step["expect"]["wire"])
            assert got == want, label
            assert got["header"] == step["expect"]["header"], label
            assert got.get("x3dh") == step["expect"]["x3dh"], label
        else:
            wire = _wire_of(step, sent_x3dh[step["label"]])
            before = call(page, "snapshot", me)
            result = call(page, "decrypt", me, peer_of[me], wire, step["next_ratchet_private"])
            if step["expect_error"] is not None:
                code = error_code(result, label)
                assert code in {
                    "duplicate_or_unknown_key",
                    "decryption_failed",
                    "too_many_skipped",
                }, f"{label}: {code}"
                assert code == step["expect_error"], label
                assert call(page, "snapshot", me) == before, f"{label}: state changed by a failure"
            else:
                got_plain = ok(result, label)["plaintext"]
                assert b(got_plain) == b(step["expect_plaintext"]), label
        assert call(page, "describe", me, peer_of[me]) == step["state_after"], label
    # Bob's one-time prekey was consumed by the first message that decrypted.
    assert call(page, "oneTimePrekeyIds", "bob") == []


def test_attachment_cases(page: Page, vectors: Path) -> None:
    v = vector(vectors, "attachment.json")
    assert v["chunk_size"] == 65536
    assert v["cases"], "attachment.json has no cases"
    for case in v["cases"]:
        label = f"attachment size {case['size']}"
        sealed = call(page, "sealRule", case["key"], case["size"], case["plaintext_salt"])
        blob = b(sealed["blob"])
        assert len(blob) == case["blob_size"] == call(page, "blobSize", case["size"]), label
        assert b(sealed["digest"]) == b(case["digest"]) == sha256(blob), label
        if "blob" in case:
            assert blob == b(case["blob"]), label
        else:
            assert blob[:32] == b(case["blob_first_32"]), label
            assert blob[-32:] == b(case["blob_last_32"]), label
        opened = call(
            page, "openAttachment", sealed["blob"], case["key"], case["digest"], case["size"]
        )
        plaintext = rule_plaintext(case["size"], case["plaintext_salt"])
        assert b(ok(opened, label)) == plaintext, label
    assert v["failures"], "attachment.json has no failure cases"
    for case in v["failures"]:
        label = f"attachment tampered: {case['tamper']}"
        assert sha256(b(case["blob"])) == b(case["digest_of_this_blob"]), label
        refused = call(
            page,
            "openAttachment",
            case["blob"],
            case["key"],
            case["digest_of_this_blob"],
            case["size"],
        )
        assert error_code(refused, label) == case["expect_error"], label
