"""Typed interface of the compiled Rust core (``whatsapp_client._core``).

Private keys never cross into Python: accounts and sessions are opaque handles, and their
serialized forms are sealed with a caller-supplied 32-byte key.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union, final

from whatsapp_client.errors import CryptoError

__version__: str
PROTOCOL_VERSION: int
MAX_SKIP: int
MAX_SKIPPED_KEYS: int

def verify_signed_prekey(signing_key: bytes, key_id: int, public_key: bytes, signature: bytes) -> bool:
    """True when ``signature`` is ``SK``'s Ed25519 signature over ``"WAC1/spk" || u32be(key_id) || public_key``."""

def fingerprint(identity_key: bytes, signing_key: bytes) -> str:
    """The 64-hex-character fingerprint of an identity."""

def safety_number(fingerprint_a: str, fingerprint_b: str) -> str:
    """The 60-digit safety number of two fingerprints; the same whichever comes first."""

def compare_fingerprints(a: str, b: str) -> bool:
    """Constant-time, case-insensitive comparison of two fingerprints."""

def parse_message(message: str) -> WireInfo:
    """Parses an ``E2EE:`` wire string strictly; raises ``InvalidMessageError``."""

@final
class WireInfo:
    """Public fields of a parsed wire message."""

    @property
    def ratchet_key(self) -> bytes: ...
    @property
    def previous_chain_length(self) -> int: ...
    @property
    def message_number(self) -> int: ...
    @property
    def is_prekey_message(self) -> bool: ...
    @property
    def ciphertext_length(self) -> int: ...

@final
class SignedPreKey:
    """The public half of a signed prekey."""

    @property
    def key_id(self) -> int: ...
    @property
    def public_key(self) -> bytes: ...
    @property
    def signature(self) -> bytes: ...
    @property
    def created_at(self) -> int: ...
    def to_dict(self) -> dict[str, Any]:
        """``{key_id, public_key, signature}`` with base64 values, as ``PUT /api/keys`` takes it."""

@final
class OneTimePreKey:
    """The public half of a one-time prekey."""

    @property
    def key_id(self) -> int: ...
    @property
    def public_key(self) -> bytes: ...
    def to_dict(self) -> dict[str, Any]:
        """``{key_id, public_key}`` with a base64 key."""

@final
class PreKeyBundle:
    """Another user's prekey bundle (PROTOCOL.md §6.3)."""

    def __init__(
        self,
        *,
        identity_key: bytes,
        signing_key: bytes,
        signed_prekey_id: int,
        signed_prekey: bytes,
        signed_prekey_signature: bytes,
        one_time_prekey_id: Optional[int] = None,
        one_time_prekey: Optional[bytes] = None,
    ) -> None: ...
    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> PreKeyBundle:
        """Builds a bundle from the server's JSON (base64 values); raises ``InvalidMessageError``."""
    def to_dict(self) -> dict[str, Any]: ...
    def verify(self) -> None:
        """Raises ``InvalidSignatureError`` unless the signed prekey signature verifies."""
    @property
    def identity_key(self) -> bytes: ...
    @property
    def signing_key(self) -> bytes: ...
    @property
    def signed_prekey_id(self) -> int: ...
    @property
    def signed_prekey(self) -> bytes: ...
    @property
    def signed_prekey_signature(self) -> bytes: ...
    @property
    def one_time_prekey_id(self) -> Optional[int]: ...
    @property
    def one_time_prekey(self) -> Optional[bytes]: ...
    @property
    def fingerprint(self) -> str: ...

@final
class Decrypted:
    """The result of a successful decrypt."""

    @property
    def plaintext(self) -> bytes: ...
    @property
    def new_session(self) -> bool: ...
    @property
    def identity_changed(self) -> bool: ...
    @property
    def used_one_time_prekey(self) -> Optional[int]: ...

@final
class Session:
    """Everything held for one peer: the active session and up to five older ones."""

    def __init__(self) -> None: ...
    def encrypt(self, plaintext: bytes) -> str:
        """Encrypts with the active session and returns the ``E2EE:`` wire string."""
    def encrypt_many(self, plaintexts: Sequence[bytes]) -> list[str]:
        """Encrypts many messages in one call; all or nothing."""
    @property
    def can_encrypt(self) -> bool: ...
    @property
    def has_session(self) -> bool: ...
    @property
    def session_count(self) -> int: ...
    @property
    def peer_identity_key(self) -> Optional[bytes]: ...
    @property
    def peer_signing_key(self) -> Optional[bytes]: ...
    @property
    def peer_fingerprint(self) -> Optional[str]: ...
    @property
    def awaiting_reply(self) -> bool:
        """True while the active session still sends X3DH fields (no reply decrypted yet)."""
    def copy(self) -> Session: ...
    def to_bytes(self, key: bytes) -> bytes:
        """The state sealed (XChaCha20-Poly1305) under a 32-byte key."""
    @staticmethod
    def from_bytes(data: bytes, key: bytes) -> Session:
        """Restores sealed state; raises ``CorruptStateError`` on a wrong key or bad data."""
    def __eq__(self, other: object) -> bool: ...

@final
class Account:
    """An identity with its signed and one-time prekeys."""

    def __init__(self) -> None:
        """A new account with a fresh random identity."""
    @property
    def identity_key(self) -> bytes: ...
    @property
    def signing_key(self) -> bytes: ...
    @property
    def fingerprint(self) -> str: ...
    @property
    def max_skip(self) -> int: ...
    @max_skip.setter
    def max_skip(self, value: int) -> None: ...
    @property
    def max_skipped_keys(self) -> int: ...
    @max_skipped_keys.setter
    def max_skipped_keys(self, value: int) -> None: ...
    def rotate_signed_prekey(self, now: Optional[int] = None) -> SignedPreKey:
        """Makes a new current signed prekey (older ones are kept for late messages)."""
    @property
    def signed_prekey(self) -> Optional[SignedPreKey]: ...
    @property
    def signed_prekeys(self) -> list[SignedPreKey]: ...
    def expire_signed_prekeys(self, older_than: int) -> int:
        """Drops non-current signed prekeys created before ``older_than`` (Unix seconds)."""
    def generate_one_time_prekeys(self, count: int) -> list[OneTimePreKey]: ...
    @property
    def one_time_prekeys(self) -> list[OneTimePreKey]: ...
    def remove_one_time_prekey(self, key_id: int) -> bool: ...
    def keys_payload(self) -> dict[str, Any]:
        """The body of ``PUT /api/keys``: identity, current signed prekey, all one-time prekeys."""
    def bundle(self, one_time_prekey_id: Optional[int] = None) -> PreKeyBundle: ...
    def start_session(self, bundle: PreKeyBundle, session: Optional[Session] = None) -> Session:
        """X3DH as initiator. With ``session`` given, the new session becomes its active one."""
    def decrypt(self, session: Session, message: str) -> Decrypted:
        """Decrypts into ``session``; a consumed one-time prekey is deleted. Nothing changes on error."""
    def decrypt_many(self, session: Session, messages: Sequence[str]) -> list[Union[Decrypted, CryptoError]]:
        """Decrypts many messages of one peer in one call; each result is a ``Decrypted`` or the error."""
    def copy(self) -> Account: ...
    def to_bytes(self, key: bytes) -> bytes: ...
    @staticmethod
    def from_bytes(data: bytes, key: bytes) -> Account: ...
    def __eq__(self, other: object) -> bool: ...

# --- conformance hooks ---------------------------------------------------------------------
# For running the WAC1 test vectors, which fix every private key. Never use with real keys.

def _vector_account(identity_private: bytes, signing_private: bytes) -> Account: ...
def _vector_add_signed_prekey(
    account: Account, key_id: int, private_key: bytes, signature: bytes, created_at: int = 0
) -> None: ...
def _vector_add_one_time_prekey(account: Account, key_id: int, private_key: bytes) -> None: ...
def _vector_initiate(
    account: Account, session: Session, bundle: PreKeyBundle, ephemeral_private: bytes, ratchet_private: bytes
) -> bool: ...
def _vector_decrypt(
    account: Account, session: Session, message: str, next_ratchet_private: Optional[bytes]
) -> Decrypted: ...
def _vector_state_mismatches(session: Session, expected: Mapping[str, Any]) -> list[str]: ...
def _vector_x3dh(
    identity_private: bytes, ephemeral_private: bytes, bundle: PreKeyBundle
) -> tuple[bytes, bytes, bytes, bytes]:
    """(initiator identity public, ephemeral public, shared secret, associated data)."""
def _vector_x25519(private_key: bytes, public_key: bytes) -> bytes: ...
def _vector_public_key(private_key: bytes) -> bytes: ...
def _vector_kdf_rk(root_key: bytes, dh_out: bytes) -> tuple[bytes, bytes]: ...
def _vector_kdf_ck(chain_key: bytes) -> tuple[bytes, bytes]: ...
def _vector_message_keys(message_key: bytes) -> tuple[bytes, bytes]: ...
def _vector_aead_encrypt(message_key: bytes, plaintext: bytes, associated_data: bytes) -> bytes: ...
def _vector_aead_decrypt(message_key: bytes, ciphertext: bytes, associated_data: bytes) -> bytes: ...
def _vector_header_bytes(dh: bytes, pn: int, n: int) -> bytes: ...
def _vector_sign_prekey(signing_private: bytes, key_id: int, public_key: bytes) -> tuple[bytes, bytes]:
    """(signing public key, signature)."""
