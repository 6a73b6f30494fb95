"""Small builders shared by the core tests."""

from __future__ import annotations

import base64
import json

from whatsapp_client import Account, Session


def pair() -> tuple[Account, Account, Session, Session]:
    """Alice and Bob with an established session (Bob has replied once)."""
    alice, bob = Account(), Account()
    bob.rotate_signed_prekey()
    opk = bob.generate_one_time_prekeys(1)[0]
    to_bob = alice.start_session(bob.bundle(opk.key_id))
    to_alice = Session()
    assert bob.decrypt(to_alice, to_bob.encrypt(b"hello")).plaintext == b"hello"
    assert alice.decrypt(to_bob, to_alice.encrypt(b"hi")).plaintext == b"hi"
    return alice, bob, to_bob, to_alice


def edit_wire(wire: str, **changes: object) -> str:
    """Re-encodes a wire message with some top-level or header fields replaced."""
    body = json.loads(wire.removeprefix("E2EE:"))
    for key, value in changes.items():
        if key in ("dh", "pn", "n"):
            body["header"][key] = value
        else:
            body[key] = value
    return "E2EE:" + json.dumps(body)


def flip_bit(wire: str, byte: int, bit: int) -> str:
    """Flips one bit of the ciphertext."""
    body = json.loads(wire.removeprefix("E2EE:"))
    ct = bytearray(base64.b64decode(body["ciphertext"]))
    ct[byte % len(ct)] ^= 1 << (bit % 8)
    body["ciphertext"] = base64.b64encode(bytes(ct)).decode()
    return "E2EE:" + json.dumps(body)
