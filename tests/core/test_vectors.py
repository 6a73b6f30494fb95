"""Every case of the WAC1 test vectors, through the Python API of the core."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Optional

import pytest

from tests.core.conftest import load
from whatsapp_client import _core
from whatsapp_client.errors import (
    CryptoError,
    DecryptionError,
    InvalidKeyError,
    InvalidSignatureError,
    TooManySkippedError,
)


def b(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def opt_b(text: Optional[str]) -> Optional[bytes]:
    return None if text is None else b(text)


def bundle_of(data: dict[str, Any]) -> _core.PreKeyBundle:
    return _core.PreKeyBundle.from_dict(data)


def test_primitives(vectors: Path) -> None:
    p = load(vectors, "primitives.json")
    x = p["x25519"]
    assert _core._vector_public_key(b(x["private_a"])) == b(x["public_a"])
    assert _core._vector_public_key(b(x["private_b"])) == b(x["public_b"])
    assert _core._vector_x25519(b(x["private_a"]), b(x["public_b"])) == b(x["shared"])
    assert _core._vector_x25519(b(x["private_b"]), b(x["public_a"])) == b(x["shared"])

    r = p["kdf_rk"]
    assert _core._vector_kdf_rk(b(r["rk"]), b(r["dh_out"])) == (b(r["new_rk"]), b(r["chain_key"]))
    c = p["kdf_ck"]
    assert _core._vector_kdf_ck(b(c["ck"])) == (b(c["message_key"]), b(c["next_ck"]))
    m = p["message_keys"]
    assert _core._vector_message_keys(b(m["message_key"])) == (b(m["aes_key"]), b(m["nonce"]))
    h = p["header_bytes"]
    assert _core._vector_header_bytes(b(h["dh"]), h["pn"], h["n"]) == b(h["bytes"])

    e = p["aead"]
    ct = _core._vector_aead_encrypt(b(e["message_key"]), b(e["plaintext"]), b(e["associated_data"]))
    assert ct == b(e["ciphertext"])
    pt = _core._vector_aead_decrypt(b(e["message_key"]), ct, b(e["associated_data"]))
    assert pt == b(e["plaintext"])
    with pytest.raises(DecryptionError):
        _core._vector_aead_decrypt(b(e["message_key"]), ct, b(e["associated_data"]) + b"x")

    s = p["signed_prekey"]
    public, signature = _core._vector_sign_prekey(
        b(s["signing_private"]), s["key_id"], b(s["public_key"])
    )
    assert public == b(s["signing_public"])
    assert signature == b(s["signature"])
    assert _core.verify_signed_prekey(public, s["key_id"], b(s["public_key"]), signature)
    assert not _core.verify_signed_prekey(public, s["key_id"] + 1, b(s["public_key"]), signature)

    for f in p["fingerprint"]:
        assert _core.fingerprint(b(f["identity_key"]), b(f["signing_key"])) == f["fingerprint"]
    sn = p["safety_number"]
    assert _core.safety_number(sn["fingerprint_a"], sn["fingerprint_b"]) == sn["safety_number"]
    assert _core.safety_number(sn["fingerprint_b"], sn["fingerprint_a"]) == sn["safety_number"]


def test_x3dh_cases(vectors: Path) -> None:
    cases = load(vectors, "x3dh.json")
    assert cases, "x3dh.json has no cases"
    for case in cases:
        name = case["name"]
        i = case["initiator"]
        bundle = bundle_of(case["bundle"])
        if case["error"] is not None:
            expected = {"invalid_signature": InvalidSignatureError, "invalid_key": InvalidKeyError}[
                case["error"]
            ]
            with pytest.raises(expected):
                _core._vector_x3dh(b(i["identity_private"]), b(i["ephemeral_private"]), bundle)
            # The public API refuses the same bundle, and leaves a given session untouched.
            account = _core._vector_account(b(i["identity_private"]), bytes(32))
            session = _core.Session()
            with pytest.raises(expected):
                account.start_session(bundle, session)
            assert not session.has_session, name
            continue
        ik, ek, secret, ad = _core._vector_x3dh(
            b(i["identity_private"]), b(i["ephemeral_private"]), bundle
        )
        assert ik == b(i["identity_public"]), name
        assert ek == b(i["ephemeral_public"]), name
        assert secret == b(case["shared_secret"]), name
        assert ad == b(case["associated_data"]), name


def responder(vectors_data: dict[str, Any], bundle: _core.PreKeyBundle) -> _core.Account:
    r = vectors_data
    account = _core._vector_account(b(r["identity_private"]), b(r["signing_private"]))
    _core._vector_add_signed_prekey(
        account,
        bundle.signed_prekey_id,
        b(r["signed_prekey_private"]),
        bundle.signed_prekey_signature,
    )
    if bundle.one_time_prekey_id is not None:
        _core._vector_add_one_time_prekey(
            account, bundle.one_time_prekey_id, b(r["one_time_prekey_private"])
        )
    return account


def wire_of(step: dict[str, Any], x3dh: Optional[dict[str, Any]]) -> str:
    body: dict[str, Any] = {"v": 1, "header": step["header"], "ciphertext": step["ciphertext"]}
    if x3dh is not None:
        body["x3dh"] = x3dh
    # A different formatting and key order than ours: receivers must accept any.
    return "E2EE:" + json.dumps(dict(reversed(list(body.items()))), indent=1)


def test_ratchet_conversation(vectors: Path) -> None:
    v = load(vectors, "ratchet.json")
    a = v["alice"]
    bundle = bundle_of(v["bob_bundle"])
    bob = responder(v["bob"], bundle)
    bob.max_skip = v["max_skip"]
    alice = _core._vector_account(b(a["identity_private"]), b(a["signing_private"]))
    to_bob = _core.Session()
    _core._vector_initiate(
        alice, to_bob, bundle, b(a["ephemeral_private"]), b(a["first_ratchet_private"])
    )
    to_alice = _core.Session()
    sent_x3dh = {s["label"]: s["expect"]["x3dh"] for s in v["steps"] if s["op"] == "encrypt"}
    errors = {
        "duplicate_or_unknown_key": DecryptionError,
        "decryption_failed": DecryptionError,
        "too_many_skipped": TooManySkippedError,
    }
    assert v["steps"]
    for index, step in enumerate(v["steps"]):
        label = f"step {index} ({step['op']} {step['party']} {step['label']})"
        is_alice = step["party"] == "alice"
        session = to_bob if is_alice else to_alice
        account = alice if is_alice else bob
        if step["op"] == "encrypt":
            wire = session.encrypt(b(step["plaintext"]))
            got = json.loads(wire.removeprefix("E2EE:"))
            want = json.loads(step["expect"]["wire"].removeprefix("E2EE:"))
            assert got == want, label
        else:
            wire = wire_of(step, sent_x3dh[step["label"]])
            before_session, before_account = session.copy(), account.copy()
            next_key = opt_b(step["next_ratchet_private"])
            if step["expect_error"] is not None:
                with pytest.raises(errors[step["expect_error"]]):
                    _core._vector_decrypt(account, session, wire, next_key)
                assert session == before_session, f"{label}: session changed by a failed decrypt"
                assert account == before_account, f"{label}: account changed by a failed decrypt"
            else:
                got_plain = _core._vector_decrypt(account, session, wire, next_key).plaintext
                assert got_plain == b(step["expect_plaintext"]), label
        assert _core._vector_state_mismatches(session, step["state_after"]) == [], label
    assert bob.one_time_prekeys == []


def test_vectors_dir_missing_fails_loudly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests.core.conftest import vectors_dir

    monkeypatch.setenv("WAC1_VECTORS", str(tmp_path / "nowhere"))
    with pytest.raises(RuntimeError, match="WAC1_VECTORS"):
        vectors_dir()


def test_errors_are_one_hierarchy() -> None:
    assert issubclass(TooManySkippedError, DecryptionError)
    assert issubclass(DecryptionError, CryptoError)
