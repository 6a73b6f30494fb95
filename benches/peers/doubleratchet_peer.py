"""doubleratchet: the pure-Python Double Ratchet of python-omemo, with its recommended primitives.

The package is a Double Ratchet only, so this adapter adds the key agreement in Python with
the same ``cryptography`` (OpenSSL) primitives the package's recommended provider uses: WAC1's
X3DH of PROTOCOL.md §3 (Ed25519-signed prekey, four X25519 agreements, HKDF-SHA-256). The
ratchet is configured as the package's documentation and tests recommend, with our labels:
Curve25519 Diffie-Hellman ratchet, HKDF-SHA-256 root chain, separate-HMAC-SHA-256 message
chains (``mk = HMAC(ck, 0x01)``, ``ck' = HMAC(ck, 0x02)``), and the AES-256-CBC + HMAC-SHA-256
AEAD; at most 1000 skipped keys. The package is asynchronous: its coroutines never wait for
anything with these primitives, so they are driven to completion directly, which costs what
an ``await`` in a running event loop costs. Transport form: ``dh || u32be(pn) || u32be(n) ||
ciphertext`` bytes, prefixed by ``IK_A || EK_A`` on the first message.
"""

from __future__ import annotations

import struct
from collections.abc import Coroutine
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from doubleratchet import DoubleRatchet, EncryptedMessage, Header
from doubleratchet.recommended import (
    HashFunction,
    aead_aes_hmac,
    diffie_hellman_ratchet_curve25519,
    kdf_hkdf,
    kdf_separate_hmacs,
)

from .base import Endpoint, Established, Implementation

T = TypeVar("T")

_HEADER = struct.Struct(">32sII")
_MESSAGE_CHAIN_CONSTANT = b"\x02\x01"  # first output: next chain key, second: message key
_MAX_SKIPPED = 1000


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs a coroutine that never suspends, as awaiting it in an event loop would."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coroutine.close()
    raise RuntimeError("a doubleratchet coroutine suspended: it needs an event loop")


class _RootKdf(kdf_hkdf.KDF):
    @staticmethod
    def _get_hash_function() -> HashFunction:
        return HashFunction.SHA_256

    @staticmethod
    def _get_info() -> bytes:
        return b"WAC1/ratchet"


class _MessageKdf(kdf_separate_hmacs.KDF):
    @staticmethod
    def _get_hash_function() -> HashFunction:
        return HashFunction.SHA_256


class _Aead(aead_aes_hmac.AEAD):
    @staticmethod
    def _get_hash_function() -> HashFunction:
        return HashFunction.SHA_256

    @staticmethod
    def _get_info() -> bytes:
        return b"WAC1/message"


class _Ratchet(DoubleRatchet):
    @staticmethod
    def _build_associated_data(associated_data: bytes, header: Header) -> bytes:
        return associated_data + _HEADER.pack(
            header.ratchet_pub, header.previous_sending_chain_length, header.sending_chain_length
        )


_CONFIG: dict[str, Any] = {
    "diffie_hellman_ratchet_class": diffie_hellman_ratchet_curve25519.DiffieHellmanRatchet,
    "root_chain_kdf": _RootKdf,
    "message_chain_kdf": _MessageKdf,
    "message_chain_constant": _MESSAGE_CHAIN_CONSTANT,
    "dos_protection_threshold": _MAX_SKIPPED,
    "max_num_skipped_message_keys": _MAX_SKIPPED,
    "aead": _Aead,
}


def _encode(message: EncryptedMessage) -> bytes:
    header = message.header
    packed: bytes = _HEADER.pack(
        header.ratchet_pub, header.previous_sending_chain_length, header.sending_chain_length
    )
    return packed + message.ciphertext


def _decode(data: bytes) -> EncryptedMessage:
    dh, pn, n = _HEADER.unpack_from(data)
    return EncryptedMessage(Header(dh, pn, n), data[_HEADER.size :])


def _raw_public(key: X25519PublicKey | Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _x3dh_secret(*agreements: bytes) -> bytes:
    kdf = HKDF(algorithm=SHA256(), length=32, salt=bytes(32), info=b"WAC1/X3DH")
    return kdf.derive(b"\xff" * 32 + b"".join(agreements))


def _endpoint(ratchet: _Ratchet, associated_data: bytes) -> Endpoint[bytes]:
    def encrypt(plaintext: bytes) -> bytes:
        return _encode(_run(ratchet.encrypt_message(plaintext, associated_data)))

    def decrypt(message: bytes) -> bytes:
        return _run(ratchet.decrypt_message(_decode(message), associated_data))

    return Endpoint(encrypt, decrypt)


@dataclass
class Prepared:
    """Alice's identity key; Bob's private keys and his published bundle (raw bytes)."""

    alice_identity: X25519PrivateKey
    bob_identity: X25519PrivateKey
    bob_signed_prekey: X25519PrivateKey
    bob_one_time_prekey: X25519PrivateKey
    bundle: dict[str, bytes]


class PyDoubleRatchet(Implementation[bytes, Prepared]):
    name = "doubleratchet"
    description = (
        f"doubleratchet {version('DoubleRatchet')} (pure Python over cryptography/OpenSSL) + "
        "WAC1 X3DH in Python: 4 X25519 agreements + Ed25519 signed prekey, Signal ratchet, "
        "AES-256-CBC + HMAC-SHA-256, raw bytes"
    )

    def prepare(self) -> Prepared:
        identity, signed_prekey, one_time_prekey = (X25519PrivateKey.generate() for _ in range(3))
        signing = Ed25519PrivateKey.generate()
        spk = _raw_public(signed_prekey.public_key())
        bundle = {
            "identity_key": _raw_public(identity.public_key()),
            "signing_key": _raw_public(signing.public_key()),
            "signed_prekey_id": (1).to_bytes(4, "big"),
            "signed_prekey": spk,
            "signed_prekey_signature": signing.sign(b"WAC1/spk" + (1).to_bytes(4, "big") + spk),
            "one_time_prekey": _raw_public(one_time_prekey.public_key()),
        }
        return Prepared(
            X25519PrivateKey.generate(), identity, signed_prekey, one_time_prekey, bundle
        )

    def establish(self, prepared: Prepared, first: bytes) -> Established[bytes]:
        bundle = prepared.bundle
        # Alice: check the bundle, X3DH, first message.
        spk = bundle["signed_prekey"]
        Ed25519PublicKey.from_public_bytes(bundle["signing_key"]).verify(
            bundle["signed_prekey_signature"], b"WAC1/spk" + bundle["signed_prekey_id"] + spk
        )
        spk_b = X25519PublicKey.from_public_bytes(spk)
        ephemeral = X25519PrivateKey.generate()
        alice_identity = prepared.alice_identity
        secret = _x3dh_secret(
            alice_identity.exchange(spk_b),
            ephemeral.exchange(X25519PublicKey.from_public_bytes(bundle["identity_key"])),
            ephemeral.exchange(spk_b),
            ephemeral.exchange(X25519PublicKey.from_public_bytes(bundle["one_time_prekey"])),
        )
        ik_a = _raw_public(alice_identity.public_key())
        associated_data = ik_a + bundle["identity_key"]
        alice, sent = _run(
            _Ratchet.encrypt_initial_message(
                shared_secret=secret,
                recipient_ratchet_pub=spk,
                message=first,
                associated_data=associated_data,
                **_CONFIG,
            )
        )
        wire = ik_a + _raw_public(ephemeral.public_key()) + _encode(sent)

        # Bob: X3DH from the message's IK_A and EK_A, then the first message.
        their_identity = X25519PublicKey.from_public_bytes(wire[:32])
        their_ephemeral = X25519PublicKey.from_public_bytes(wire[32:64])
        signed_prekey = prepared.bob_signed_prekey
        secret_b = _x3dh_secret(
            signed_prekey.exchange(their_identity),
            prepared.bob_identity.exchange(their_ephemeral),
            signed_prekey.exchange(their_ephemeral),
            prepared.bob_one_time_prekey.exchange(their_ephemeral),
        )
        associated_data_b = wire[:32] + _raw_public(prepared.bob_identity.public_key())
        bob, plaintext = _run(
            _Ratchet.decrypt_initial_message(
                shared_secret=secret_b,
                own_ratchet_priv=signed_prekey.private_bytes(
                    Encoding.Raw, PrivateFormat.Raw, NoEncryption()
                ),
                message=_decode(wire[64:]),
                associated_data=associated_data_b,
                **_CONFIG,
            )
        )
        return Established(
            _endpoint(alice, associated_data), _endpoint(bob, associated_data_b), plaintext
        )
