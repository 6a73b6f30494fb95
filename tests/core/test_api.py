"""The Python surface of the core: behaviour, bad input, typed errors, nothing changed."""

from __future__ import annotations

import base64
import copy
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.core.helpers import edit_wire, pair
from whatsapp_client import (
    Account,
    PreKeyBundle,
    Session,
    compare_fingerprints,
    fingerprint,
    parse_message,
    safety_number,
)
from whatsapp_client.errors import (
    CorruptStateError,
    DecryptionError,
    DuplicateMessageError,
    InvalidKeyError,
    InvalidMessageError,
    InvalidSignatureError,
    SessionNotFoundError,
    TooManySkippedError,
    UnknownPreKeyError,
)


@contextmanager
def unchanged(account: Account, session: Session) -> Iterator[None]:
    """Checks that the block (a failing call) changed neither object."""
    before = (account.copy(), session.copy())
    yield
    assert account == before[0]
    assert session == before[1]


def test_first_message_consumes_the_one_time_prekey() -> None:
    alice, bob = Account(), Account()
    bob.rotate_signed_prekey()
    ids = [k.key_id for k in bob.generate_one_time_prekeys(3)]
    to_bob = alice.start_session(bob.bundle(ids[1]))
    assert to_bob.awaiting_reply
    got = bob.decrypt(Session(), to_bob.encrypt(b"x"))
    assert got.new_session and got.used_one_time_prekey == ids[1]
    assert [k.key_id for k in bob.one_time_prekeys] == [ids[0], ids[2]]


def test_repeated_prekey_message_uses_the_existing_session() -> None:
    alice, bob = Account(), Account()
    bob.rotate_signed_prekey()
    opk = bob.generate_one_time_prekeys(1)[0]
    to_bob = alice.start_session(bob.bundle(opk.key_id))
    first, second = to_bob.encrypt(b"1"), to_bob.encrypt(b"2")
    from_alice = Session()
    assert bob.decrypt(from_alice, second).plaintext == b"2"
    # The one-time prekey is gone, yet the earlier prekey message still decrypts.
    got = bob.decrypt(from_alice, first)
    assert got.plaintext == b"1" and not got.new_session
    assert from_alice.session_count == 1


def test_x3dh_fields_stop_after_a_reply() -> None:
    _alice, _bob, to_bob, _to_alice = pair()
    assert not to_bob.awaiting_reply
    assert not parse_message(to_bob.encrypt(b"x")).is_prekey_message


def test_forged_bundle_is_refused_and_session_untouched() -> None:
    alice, bob, to_bob, _ = pair()
    data = bob.bundle().to_dict()
    sig = bytearray(base64.b64decode(data["signed_prekey"]["signature"]))
    sig[0] ^= 1
    data["signed_prekey"]["signature"] = base64.b64encode(bytes(sig)).decode()
    forged = PreKeyBundle.from_dict(data)
    with pytest.raises(InvalidSignatureError):
        forged.verify()
    before = to_bob.copy()
    with pytest.raises(InvalidSignatureError):
        alice.start_session(forged, to_bob)
    assert to_bob == before


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda d: d.pop("identity_key"), InvalidMessageError),
        (lambda d: d.update(identity_key="not base64!"), InvalidMessageError),
        (lambda d: d.update(identity_key=base64.b64encode(b"short").decode()), InvalidKeyError),
        (lambda d: d["signed_prekey"].update(key_id=-1), InvalidMessageError),
        (lambda d: d["signed_prekey"].update(key_id=2**32), InvalidMessageError),
        (lambda d: d["signed_prekey"].update(signature="AAAA"), InvalidMessageError),
    ],
)
def test_bad_bundles(mutate: object, error: type[Exception]) -> None:
    bob = Account()
    bob.rotate_signed_prekey()
    data = bob.bundle().to_dict()
    assert callable(mutate)
    mutate(data)
    with pytest.raises(error):
        PreKeyBundle.from_dict(data)


def test_bundle_round_trip() -> None:
    bob = Account()
    bob.rotate_signed_prekey()
    opk = bob.generate_one_time_prekeys(1)[0]
    bundle = bob.bundle(opk.key_id)
    again = PreKeyBundle.from_dict(json.loads(json.dumps(bundle.to_dict())))
    assert again.to_dict() == bundle.to_dict()
    assert again.fingerprint == bob.fingerprint
    assert again.one_time_prekey == opk.public_key


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "hello",
        "E2EE:",
        "E2EE:not json",
        "E2EE:[]",
        "e2ee:{}",
    ],
)
def test_malformed_wire_strings(bad: str) -> None:
    _alice, bob, _to_bob, to_alice = pair()
    with pytest.raises(InvalidMessageError):
        parse_message(bad)
    with unchanged(bob, to_alice), pytest.raises(InvalidMessageError):
        bob.decrypt(to_alice, bad)


@pytest.mark.parametrize(
    "changes",
    [
        {"v": 2},
        {"v": "1"},
        {"n": -1},
        {"n": 1.5},
        {"n": 2**32},
        {"pn": "0"},
        {"dh": base64.b64encode(bytes(31)).decode()},
        {"dh": "%%%"},
        {"ciphertext": "###"},
    ],
)
def test_invalid_fields_are_refused(changes: dict[str, object]) -> None:
    _alice, bob, to_bob, to_alice = pair()
    wire = edit_wire(to_bob.encrypt(b"x"), **changes)
    with unchanged(bob, to_alice), pytest.raises(InvalidMessageError):
        bob.decrypt(to_alice, wire)


def test_formatting_and_key_order_are_free() -> None:
    _alice, bob, to_bob, to_alice = pair()
    body = json.loads(to_bob.encrypt(b"spaced").removeprefix("E2EE:"))
    wire = "E2EE:" + json.dumps(dict(reversed(list(body.items()))), indent=4)
    assert bob.decrypt(to_alice, wire).plaintext == b"spaced"


def test_replay_and_tamper_change_nothing() -> None:
    _alice, bob, to_bob, to_alice = pair()
    wire = to_bob.encrypt(b"once")
    assert bob.decrypt(to_alice, wire).plaintext == b"once"
    with unchanged(bob, to_alice), pytest.raises(DuplicateMessageError):
        bob.decrypt(to_alice, wire)
    forged = edit_wire(to_bob.encrypt(b"x"), n=5)
    with unchanged(bob, to_alice), pytest.raises(DecryptionError):
        bob.decrypt(to_alice, forged)


def test_max_skip_is_enforced_and_configurable() -> None:
    _alice, bob, to_bob, to_alice = pair()
    bob.max_skip = 3
    skipped = [to_bob.encrypt(b"s") for _ in range(4)]
    late = to_bob.encrypt(b"late")
    with unchanged(bob, to_alice), pytest.raises(TooManySkippedError):
        bob.decrypt(to_alice, late)
    bob.max_skip = 1000
    assert bob.decrypt(to_alice, late).plaintext == b"late"
    for wire in reversed(skipped):
        assert bob.decrypt(to_alice, wire).plaintext == b"s"


def test_skipped_key_cache_is_bounded() -> None:
    _alice, bob, to_bob, to_alice = pair()
    bob.max_skipped_keys = 2
    wires = [to_bob.encrypt(str(i).encode()) for i in range(5)]
    assert bob.decrypt(to_alice, wires[4]).plaintext == b"4"
    # Keys for messages 0 and 1 were dropped (oldest first); 2 and 3 are still held.
    assert bob.decrypt(to_alice, wires[3]).plaintext == b"3"
    assert bob.decrypt(to_alice, wires[2]).plaintext == b"2"
    with pytest.raises(DecryptionError):
        bob.decrypt(to_alice, wires[0])


def test_unknown_prekey() -> None:
    alice, bob = Account(), Account()
    bob.rotate_signed_prekey()
    opk = bob.generate_one_time_prekeys(1)[0]
    to_bob = alice.start_session(bob.bundle(opk.key_id))
    assert bob.remove_one_time_prekey(opk.key_id)
    wire = to_bob.encrypt(b"x")
    fresh = Session()
    with unchanged(bob, fresh), pytest.raises(UnknownPreKeyError):
        bob.decrypt(fresh, wire)


def test_no_session() -> None:
    with pytest.raises(SessionNotFoundError):
        Session().encrypt(b"x")
    with pytest.raises(SessionNotFoundError):
        Session().encrypt_many([b"x"])
    _alice, bob, to_bob, _ = pair()
    with pytest.raises(SessionNotFoundError):
        bob.decrypt(Session(), to_bob.encrypt(b"no x3dh on this one"))


def test_identity_change_is_reported() -> None:
    _alice, bob, _to_bob, to_alice = pair()
    old = to_alice.peer_fingerprint
    reinstalled = Account()
    reinstalled.rotate_signed_prekey()
    reinstalled.generate_one_time_prekeys(1)
    # Alice reinstalled: same user id, new identity, new session to Bob.
    new_session = reinstalled.start_session(bob.bundle())
    got = bob.decrypt(to_alice, new_session.encrypt(b"it's me"))
    assert got.identity_changed and got.new_session
    assert to_alice.peer_fingerprint == reinstalled.fingerprint != old
    assert to_alice.session_count == 2


def test_sessions_kept_are_bounded() -> None:
    alice, bob, to_bob, to_alice = pair()
    for _ in range(8):
        alice.start_session(bob.bundle(), to_bob)
        bob.decrypt(to_alice, to_bob.encrypt(b"again"))
    assert to_alice.session_count == 6


def test_batch_calls() -> None:
    _alice, bob, to_bob, to_alice = pair()
    plaintexts = [f"m{i}".encode() for i in range(50)]
    wires = to_bob.encrypt_many(plaintexts)
    results = bob.decrypt_many(to_alice, [*wires, wires[0], "garbage"])
    assert [r.plaintext for r in results[:50]] == plaintexts  # type: ignore[union-attr]
    assert isinstance(results[50], DuplicateMessageError)
    assert isinstance(results[51], InvalidMessageError)


def test_sealed_serialization() -> None:
    _alice, bob, to_bob, to_alice = pair()
    key = os.urandom(32)
    restored = Session.from_bytes(to_alice.to_bytes(key), key)
    assert restored == to_alice
    account = Account.from_bytes(bob.to_bytes(key), key)
    assert account == bob and account.fingerprint == bob.fingerprint
    # The restored objects keep working.
    assert account.decrypt(restored, to_bob.encrypt(b"later")).plaintext == b"later"
    blob = to_alice.to_bytes(key)
    with pytest.raises(CorruptStateError):
        Session.from_bytes(blob, os.urandom(32))
    with pytest.raises(CorruptStateError):
        Session.from_bytes(blob[:-1], key)
    with pytest.raises(CorruptStateError):
        Account.from_bytes(blob, key)  # a session is not an account
    with pytest.raises(InvalidKeyError):
        to_alice.to_bytes(b"short")


def test_copies_are_independent() -> None:
    _alice, _bob, to_bob, _to_alice = pair()
    snapshot = copy.copy(to_bob)
    to_bob.encrypt(b"advance")
    assert snapshot != to_bob


def test_fingerprints_and_safety_numbers() -> None:
    alice, bob, to_bob, to_alice = pair()
    assert fingerprint(alice.identity_key, alice.signing_key) == alice.fingerprint
    assert (
        to_bob.peer_fingerprint == bob.fingerprint
        and to_alice.peer_fingerprint == alice.fingerprint
    )
    assert compare_fingerprints(alice.fingerprint, alice.fingerprint.upper())
    assert not compare_fingerprints(alice.fingerprint, bob.fingerprint)
    number = safety_number(alice.fingerprint, bob.fingerprint)
    assert len(number) == 60 and number.isdigit()
    assert number == safety_number(bob.fingerprint, alice.fingerprint)
    with pytest.raises(InvalidMessageError):
        compare_fingerprints("abc", alice.fingerprint)
    with pytest.raises(InvalidKeyError):
        fingerprint(b"short", alice.signing_key)


def test_reprs_name_no_secrets() -> None:
    alice, bob, to_bob, _ = pair()
    for text in (repr(alice), repr(to_bob), repr(bob.bundle()), repr(bob.signed_prekey)):
        assert "secret" not in text.lower() and "private" not in text.lower()
    assert alice.fingerprint in repr(alice)


def test_threads_take_turns_on_one_session() -> None:
    """Calls release the GIL, yet threads sharing one session wait for each other."""
    alice, bob, to_bob, to_alice = pair()
    # 400 messages: however the threads interleave, no gap exceeds MAX_SKIP.
    wires = to_bob.encrypt_many([b"t"] * 400)
    results: list[object] = []
    failures: list[BaseException] = []

    def work(chunk: list[str]) -> None:
        try:
            for start in range(0, len(chunk), 5):
                results.extend(bob.decrypt_many(to_alice, chunk[start : start + 5]))
                assert to_alice.peer_fingerprint == alice.fingerprint  # a read racing the writers
        except BaseException as exc:  # collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(wires[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(results) == 400
    assert all(getattr(r, "plaintext", None) == b"t" for r in results)
