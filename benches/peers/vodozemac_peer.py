"""vodozemac: the Rust Olm implementation of the Matrix project, through its PyO3 bindings.

Olm is X3DH's three-agreement variant (identity, one-time and ephemeral Curve25519 keys)
with the Olm Double Ratchet: AES-256-CBC + truncated HMAC-SHA-256. The transport form is
vodozemac's own ``(message type, raw bytes)`` pair, without the base64 a Matrix event adds.
The "bundle check" is the explicit Ed25519 verification of the one-time key's signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version

from vodozemac import (
    Account,
    AnyOlmMessage,
    Curve25519PublicKey,
    Ed25519PublicKey,
    Ed25519Signature,
    Session,
)

from .base import Endpoint, Established, Implementation

Wire = tuple[int, bytes]


@dataclass
class Prepared:
    """Alice's account and identity key; Bob's account and his published keys (base64)."""

    alice: Account
    alice_key: str
    bob: Account
    keys: dict[str, str]


def _endpoint(session: Session) -> Endpoint[Wire]:
    encrypt_one = session.encrypt
    decrypt_one = session.decrypt
    from_parts = AnyOlmMessage.from_parts

    def encrypt(plaintext: bytes) -> Wire:
        parts: Wire = encrypt_one(plaintext).to_parts()
        return parts

    def decrypt(message: Wire) -> bytes:
        plaintext: bytes = decrypt_one(from_parts(message[0], message[1]))
        return plaintext

    return Endpoint(encrypt, decrypt)


class Vodozemac(Implementation[Wire, Prepared]):
    name = "vodozemac"
    description = (
        f"vodozemac {version('vodozemac')} (Rust, PyO3): Olm 3DH with 3 X25519 agreements + "
        "Ed25519-signed one-time key, Olm ratchet, AES-256-CBC + HMAC-SHA-256, raw bytes"
    )

    def prepare(self) -> Prepared:
        alice, bob = Account(), Account()
        bob.generate_one_time_keys(1)
        otk = next(iter(bob.one_time_keys.values())).to_base64()
        keys = {
            "curve25519": bob.curve25519_key.to_base64(),
            "ed25519": bob.ed25519_key.to_base64(),
            "one_time_key": otk,
            "signature": bob.sign(otk.encode()).to_base64(),
        }
        bob.mark_keys_as_published()
        return Prepared(alice, alice.curve25519_key.to_base64(), bob, keys)

    def establish(self, prepared: Prepared, first: bytes) -> Established[Wire]:
        keys = prepared.keys
        Ed25519PublicKey.from_base64(keys["ed25519"]).verify_signature(
            keys["one_time_key"].encode(), Ed25519Signature.from_base64(keys["signature"])
        )
        outbound = prepared.alice.create_outbound_session(
            Curve25519PublicKey.from_base64(keys["curve25519"]),
            Curve25519PublicKey.from_base64(keys["one_time_key"]),
        )
        kind, body = outbound.encrypt(first).to_parts()
        # Bob's side: the prekey message and the sender's identity key as they arrive.
        message = AnyOlmMessage.from_parts(kind, body).to_pre_key()
        if message is None:
            raise AssertionError("the first message of a session must be a prekey message")
        inbound, plaintext = prepared.bob.create_inbound_session(
            Curve25519PublicKey.from_base64(prepared.alice_key), message
        )
        return Established(_endpoint(outbound), _endpoint(inbound), plaintext)
