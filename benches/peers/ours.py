"""Our core: ``whatsapp_client._core`` (the Rust ``wac1`` crate through PyO3).

WAC1 as PROTOCOL.md §3 to §5 specifies it: X3DH with a signed prekey and a one-time prekey
(four X25519 agreements), the Signal Double Ratchet with HKDF/HMAC-SHA-256, AES-256-GCM,
and the ``E2EE:`` JSON wire string (base64 fields) as transport form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from whatsapp_client import _core
from whatsapp_client._core import Account, PreKeyBundle, Session
from whatsapp_client.errors import CryptoError

from .base import Endpoint, Established, Implementation


@dataclass
class Prepared:
    """Alice's account, Bob's account and Bob's bundle as the server's JSON hands it out."""

    alice: Account
    bob: Account
    bundle: dict[str, Any]


def _endpoint(account: Account, session: Session) -> Endpoint[str]:
    decrypt_one = account.decrypt
    decrypt_batch = account.decrypt_many

    def decrypt(message: str) -> bytes:
        return decrypt_one(session, message).plaintext

    def decrypt_many(messages: Sequence[str]) -> list[bytes]:
        results = decrypt_batch(session, messages)
        try:
            return [r.plaintext for r in results]  # type: ignore[union-attr]
        except AttributeError:
            raise next(r for r in results if isinstance(r, CryptoError)) from None

    return Endpoint(session.encrypt, decrypt, session.encrypt_many, decrypt_many)


class Ours(Implementation[str, Prepared]):
    name = "whatsapp-client"
    description = (
        f"whatsapp_client._core {_core.__version__} (Rust wac1 via PyO3): X3DH with 4 X25519 "
        "agreements + Ed25519 signed prekey, Double Ratchet, AES-256-GCM, JSON/base64 wire string"
    )

    def prepare(self) -> Prepared:
        bob = Account()
        bob.rotate_signed_prekey()
        opk = bob.generate_one_time_prekeys(1)[0]
        return Prepared(Account(), bob, bob.bundle(opk.key_id).to_dict())

    def establish(self, prepared: Prepared, first: bytes) -> Established[str]:
        alice, bob = prepared.alice, prepared.bob
        # start_session checks the signed prekey signature before the X3DH.
        to_bob = alice.start_session(PreKeyBundle.from_dict(prepared.bundle))
        wire = to_bob.encrypt(first)
        from_alice = Session()
        received = bob.decrypt(from_alice, wire)
        return Established(_endpoint(alice, to_bob), _endpoint(bob, from_alice), received.plaintext)
