"""python-olm: the CFFI bindings of libolm, the Matrix project's C/C++ Olm implementation.

Olm is X3DH's three-agreement variant with the Olm Double Ratchet (AES-256-CBC + truncated
HMAC-SHA-256). The transport form is libolm's ``(message type, base64 string)`` pair. The
bindings take and return ``str``: plaintexts are UTF-8 text here and are encoded back to
bytes after decryption (the benchmark messages are ASCII JSON).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version

from olm.account import Account
from olm.session import (
    InboundSession,
    OlmMessage,
    OlmPreKeyMessage,
    OutboundSession,
    Session,
)
from olm.utility import ed25519_verify

from .base import Endpoint, Established, Implementation

Wire = tuple[int, str]

_PRE_KEY = 0


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
    normal, pre_key = OlmMessage, OlmPreKeyMessage

    def encrypt(plaintext: bytes) -> Wire:
        message = encrypt_one(plaintext)
        return message.message_type, message.ciphertext

    def decrypt(message: Wire) -> bytes:
        kind, body = message
        parsed = pre_key(body) if kind == _PRE_KEY else normal(body)
        text: str = decrypt_one(parsed, "strict")
        return text.encode()

    return Endpoint(encrypt, decrypt)


class Olm(Implementation[Wire, Prepared]):
    name = "python-olm"
    description = (
        f"python-olm {version('python-olm')} (C/C++ libolm via CFFI): Olm 3DH with 3 X25519 "
        "agreements + Ed25519-signed one-time key, Olm ratchet, AES-256-CBC + HMAC-SHA-256, base64"
    )

    def prepare(self) -> Prepared:
        alice, bob = Account(), Account()
        bob.generate_one_time_keys(1)
        otk = next(iter(bob.one_time_keys["curve25519"].values()))
        identity = bob.identity_keys
        keys = {
            "curve25519": identity["curve25519"],
            "ed25519": identity["ed25519"],
            "one_time_key": otk,
            "signature": bob.sign(otk),
        }
        bob.mark_keys_as_published()
        return Prepared(alice, alice.identity_keys["curve25519"], bob, keys)

    def establish(self, prepared: Prepared, first: bytes) -> Established[Wire]:
        keys = prepared.keys
        ed25519_verify(keys["ed25519"], keys["one_time_key"], keys["signature"])
        outbound = OutboundSession(prepared.alice, keys["curve25519"], keys["one_time_key"])
        sent = outbound.encrypt(first)
        kind, body = sent.message_type, sent.ciphertext
        # Bob's side: the prekey message and the sender's identity key as they arrive.
        if kind != _PRE_KEY:
            raise AssertionError("the first message of a session must be a prekey message")
        message = OlmPreKeyMessage(body)
        inbound = InboundSession(prepared.bob, message, prepared.alice_key)
        prepared.bob.remove_one_time_keys(inbound)
        plaintext: str = inbound.decrypt(message, "strict")
        return Established(_endpoint(outbound), _endpoint(inbound), plaintext.encode())
