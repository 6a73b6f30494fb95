"""Fingerprints, safety numbers, verification (local and synced) and QR codes."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from whatsapp_client import (
    FingerprintMismatchError,
    MissingExtraError,
    NotFoundError,
    ValidationError,
    WhatsAppClient,
    fingerprint,
)
from whatsapp_client.client import Message
from whatsapp_client.client.fingerprints import parse_qr_payload

from .conftest import Registered, eventually


async def pair(registered: Registered) -> tuple[WhatsAppClient, WhatsAppClient, str, str]:
    alice, bob = await registered("alice"), await registered("bob")
    assert alice.user_id and bob.user_id
    return alice, bob, alice.user_id, bob.user_id


async def test_peer_fingerprints_and_safety_number_match(registered: Registered) -> None:
    alice, bob, a_id, b_id = await pair(registered)
    # No message exchanged yet: the session (and so the identity) is set up on demand.
    assert await alice.get_peer_fingerprint(b_id) == bob.get_fingerprint()
    assert await bob.get_peer_fingerprint(a_id) == alice.get_fingerprint()
    number_a = await alice.safety_number(b_id)
    number_b = await bob.safety_number(a_id)
    assert number_a == number_b
    assert len(number_a) == 60 and number_a.isdigit()


async def test_verify_checks_stores_and_syncs(registered: Registered) -> None:
    alice, _, _, b_id = await pair(registered)
    assert not await alice.is_fingerprint_verified(b_id)
    assert await alice.get_verification_record(b_id) is None

    wrong = "0" * 64
    with pytest.raises(FingerprintMismatchError):
        await alice.verify_fingerprint(b_id, wrong)
    assert not await alice.is_fingerprint_verified(b_id)
    assert await alice.get_verification_record(b_id) is None

    fp = await alice.get_peer_fingerprint(b_id)
    spaced = " ".join(fp[i : i + 4] for i in range(0, 64, 4)).upper()
    await alice.verify_fingerprint(b_id, spaced, verified=True)
    assert await alice.is_fingerprint_verified(b_id)
    record = await alice.get_verification_record(b_id)
    assert record is not None
    assert record["verified"] is True and record["fingerprint"] == fp

    await alice.verify_fingerprint(b_id, fp, verified=False)
    assert not await alice.is_fingerprint_verified(b_id)
    record = await alice.get_verification_record(b_id)
    assert record is not None and record["verified"] is False


async def test_an_identity_that_changes_after_the_comparison_is_not_verified(
    registered: Registered, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, _, _, b_id = await pair(registered)
    await alice.get_peer_fingerprint(b_id)  # the session and bob's identity exist
    compared = "ab" * 32
    # The comparison sees an identity (with the fingerprint the user compared) that is no
    # longer the one stored when the flag is set: bob's real keys replaced it in between.
    stale = SimpleNamespace(fingerprint=compared, verified=False)

    async def identity_read_before_the_change(peer_id: str, *, start_session: bool = True) -> Any:
        return stale

    monkeypatch.setattr(alice._fingerprints, "identity", identity_read_before_the_change)
    with pytest.raises(FingerprintMismatchError):
        await alice.verify_fingerprint(b_id, compared)
    assert not await alice.is_fingerprint_verified(b_id)
    assert await alice.get_verification_record(b_id) is None


async def test_received_messages_carry_the_verified_flag(registered: Registered) -> None:
    alice, bob, a_id, b_id = await pair(registered)
    got: list[Message] = []
    alice.on_message(got.append)
    await bob.send_message(a_id, "before")
    await eventually(lambda: len(got) == 1, what="first message")
    assert got[0].sender_verified is False
    await alice.verify_fingerprint(b_id, bob.get_fingerprint())
    await bob.send_message(a_id, "after")
    await eventually(lambda: len(got) == 2, what="second message")
    assert got[1].content == "after" and got[1].sender_verified is True


async def test_bad_fingerprints_are_refused(registered: Registered) -> None:
    alice, _, _, b_id = await pair(registered)
    for bad in ("", "xyz", "a" * 63, 42):
        with pytest.raises(ValidationError):
            await alice.verify_fingerprint(b_id, bad)  # type: ignore[arg-type]


def test_compare_fingerprints() -> None:
    a = fingerprint(b"\x01" * 32, b"\x02" * 32)
    b = fingerprint(b"\x03" * 32, b"\x02" * 32)
    assert WhatsAppClient.compare_fingerprints(a, a.upper())
    assert WhatsAppClient.compare_fingerprints(a, " ".join([a[:32], a[32:]]))
    assert not WhatsAppClient.compare_fingerprints(a, b)
    assert not WhatsAppClient.compare_fingerprints(a, a[:-1])
    assert not WhatsAppClient.compare_fingerprints(a, None)  # type: ignore[arg-type]


async def test_qr_code(registered: Registered, tmp_path: Path) -> None:
    alice, bob, a_id, _ = await pair(registered)
    payload = alice.fingerprint_qr_payload()
    assert payload == f"WAC1-FP:{a_id}:{alice.get_fingerprint()}"
    assert parse_qr_payload(payload) == (a_id, alice.get_fingerprint())
    image = alice.generate_fingerprint_qr()
    image.save(str(tmp_path / "qr.png"))
    assert (tmp_path / "qr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Bob scans Alice's code.
    assert await bob.verify_fingerprint_qr(payload) == a_id
    assert await bob.is_fingerprint_verified(a_id)
    with pytest.raises(ValidationError):
        parse_qr_payload("HELLO:" + a_id)


async def test_qr_without_the_extra(
    registered: Registered, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await registered("alice")
    monkeypatch.setitem(sys.modules, "qrcode", None)
    with pytest.raises(MissingExtraError, match=r"whatsapp-client\[qrcode\]"):
        alice.generate_fingerprint_qr()


async def test_unknown_peer(registered: Registered) -> None:
    alice = await registered("alice")
    with pytest.raises(NotFoundError):
        await alice.get_peer_fingerprint("no-such-user")
    with pytest.raises(NotFoundError):
        await alice.safety_number("no-such-user")
    assert not await alice.is_fingerprint_verified("no-such-user")
