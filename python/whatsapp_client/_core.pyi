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
MAX_LIMIT: int
"""Largest ``max_skip`` / ``max_skipped_keys`` an account or store accepts (100,000)."""
MAX_SIGNED_PREKEYS: int
"""Hard cap on the signed prekeys an account holds (current + those in their grace period)."""

def verify_signed_prekey(
    signing_key: bytes, key_id: int, public_key: bytes, signature: bytes
) -> bool:
    """Whether ``signature`` is ``SK``'s Ed25519 signature of a signed prekey.

    The signed bytes are ``"WAC1/spk" || u32be(key_id) || public_key``.
    """

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

    def __new__(
        cls,
        *,
        identity_key: bytes,
        signing_key: bytes,
        signed_prekey_id: int,
        signed_prekey: bytes,
        signed_prekey_signature: bytes,
        one_time_prekey_id: Optional[int] = None,
        one_time_prekey: Optional[bytes] = None,
    ) -> PreKeyBundle: ...
    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> PreKeyBundle:
        """Builds a bundle from the server's JSON (base64 values).

        Raises ``InvalidMessageError`` or ``InvalidKeyError`` on malformed input.
        """
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
    def __copy__(self) -> Session: ...
    def to_bytes(self, key: bytes) -> bytes:
        """The state sealed (XChaCha20-Poly1305) under a 32-byte key."""
    @classmethod
    def from_bytes(cls, data: bytes, key: bytes) -> Session:
        """Restores sealed state; raises ``CorruptStateError`` on a wrong key or bad data."""
    def __eq__(self, value: object, /) -> bool: ...

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
        """Decrypts into ``session``, deleting a consumed one-time prekey.

        Nothing changes when it raises.
        """
    def decrypt_many(
        self, session: Session, messages: Sequence[str]
    ) -> list[Union[Decrypted, CryptoError]]:
        """Decrypts many messages of one peer in one call.

        Each result is a ``Decrypted`` or the error that message raised.
        """
    def copy(self) -> Account: ...
    def __copy__(self) -> Account: ...
    def to_bytes(self, key: bytes) -> bytes:
        """The account sealed (XChaCha20-Poly1305) under a 32-byte key."""
    @classmethod
    def from_bytes(cls, data: bytes, key: bytes) -> Account:
        """Restores a sealed account; raises ``CorruptStateError`` on a wrong key or bad data."""
    def __eq__(self, value: object, /) -> bool: ...

# --- encrypted attachments (PROTOCOL.md §8) ----------------------------------------------
# A file sealed in 64 KiB AES-256-GCM chunks under a fresh key; the E2EE message carries
# key, digest and size. Every integrity failure raises AttachmentCorruptError
# (code "attachment_corrupt"); the bulk work runs with the GIL released.

import os as _os  # noqa: E402 (kept inside this section)

_BytesLike = Union[bytes, bytearray, memoryview]
_Path = Union[str, _os.PathLike[str]]

ATTACHMENT_CHUNK_SIZE: int

@final
class AttachmentKeys:
    """What the message carries for an attachment. ``repr`` never shows the key."""

    @property
    def key(self) -> bytes:
        """The attachment's 32-byte AES-256 key."""
    @property
    def digest(self) -> bytes:
        """SHA-256 of the whole blob (32 bytes)."""
    @property
    def size(self) -> int:
        """Plaintext bytes."""
    @property
    def blob_size(self) -> int:
        """Blob bytes: ``size + 16 * max(1, ceil(size / 65536))``."""

def attachment_blob_size(size: int) -> int:
    """Blob bytes for ``size`` plaintext bytes."""

def seal_attachment(data: _BytesLike) -> tuple[bytes, AttachmentKeys]:
    """Seals ``data`` under a fresh key: ``(blob, keys)``."""

def open_attachment(blob: _BytesLike, key: bytes, digest: bytes, size: int) -> bytes:
    """The plaintext of a whole blob. Length and digest are checked before anything is
    decrypted; any failure raises ``AttachmentCorruptError`` and returns nothing."""

def seal_attachment_file(src: _Path, dst: _Path) -> AttachmentKeys:
    """Seals the file ``src`` into the blob file ``dst``, streaming (never the whole file in
    memory); ``dst`` appears only when complete. I/O failures raise ``OSError``."""

def open_attachment_file(src: _Path, dst: _Path, key: bytes, digest: bytes, size: int) -> None:
    """Opens the blob file ``src`` into ``dst``, streaming. The blob's length and digest are
    checked first; the plaintext is written to a temporary file beside ``dst`` and renamed
    into place only when every chunk verified. On ``AttachmentCorruptError`` (or any error)
    nothing is written under ``dst``."""

@final
class AttachmentSealer:
    """Seals an attachment as its plaintext arrives, under a fresh key."""

    def __init__(self) -> None: ...
    def push(self, data: _BytesLike) -> bytes:
        """Adds plaintext; returns the sealed bytes of the chunks it completes (maybe empty)."""
    def finish(self) -> tuple[bytes, AttachmentKeys]:
        """Seals the last chunk: ``(its sealed bytes, keys)``. The sealer is spent after."""

@final
class AttachmentOpener:
    """Opens an attachment as its blob arrives. ``push`` returns the plaintext of chunks whose
    tag verified *before* the whole blob's digest can be checked; ``finish`` checks length
    and digest, then returns the last chunk. Callers that must not release any plaintext of
    a corrupt attachment use ``open_attachment_file``/``open_attachment``, or keep what
    ``push`` returns until ``finish`` succeeds."""

    def __new__(cls, key: bytes, digest: bytes, size: int) -> AttachmentOpener: ...
    def push(self, data: _BytesLike) -> bytes:
        """Adds blob bytes; returns the plaintext of the chunks they complete (maybe empty)."""
    def finish(self) -> bytes:
        """The last chunk's plaintext, once length and digest verified."""

# --- the gateway vault ----------------------------------------------------------------------
# AES-256-GCM of records at rest under the gateway master key, which stays in Rust (wiped on
# drop, never in repr). Blobs are nonce(12) || ciphertext || tag(16). Every failure raises
# VaultError (code "vault_error").

@final
class Vault:
    """The gateway master key and sealing under it."""

    def __new__(cls, key: bytes) -> Vault:
        """A vault with the given 32-byte key."""
    @staticmethod
    def generate_file(path: _Path) -> Vault:
        """Creates ``path`` with a fresh random key, mode 0600, atomically; refuses to
        replace an existing file."""
    @staticmethod
    def from_file(path: _Path) -> Vault:
        """The key in ``path`` (32 raw bytes; refused if group or others can read it)."""
    @staticmethod
    def from_env_or_file(env_name: str, path: _Path) -> Vault:
        """The key from the environment variable (base64 of 32 bytes) when set and not
        empty, else from ``path``, created on first use."""
    def seal(self, plaintext: _BytesLike, ad: bytes) -> bytes:
        """Seals ``plaintext`` bound to the associated data ``ad``."""
    def open(self, blob: bytes, ad: bytes) -> bytes:
        """The plaintext of a blob sealed with ``ad``."""

# --- test-only: conformance hooks ---------------------------------------------------------
# Compiled only with the cargo feature `test-hooks` (scripts/test.sh builds with it; a plain
# `pip install .` does not), for running the WAC1 test vectors, which fix every private key
# and random choice. Absent from production builds; never use with real keys.

def _vector_account(identity_private: bytes, signing_private: bytes) -> Account: ...
def _vector_add_signed_prekey(
    account: Account, key_id: int, private_key: bytes, signature: bytes, created_at: int = 0
) -> None: ...
def _vector_add_one_time_prekey(account: Account, key_id: int, private_key: bytes) -> None: ...
def _vector_initiate(
    account: Account,
    session: Session,
    bundle: PreKeyBundle,
    ephemeral_private: bytes,
    ratchet_private: bytes,
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
def _vector_aead_decrypt(
    message_key: bytes, ciphertext: bytes, associated_data: bytes
) -> bytes: ...
def _vector_header_bytes(dh: bytes, pn: int, n: int) -> bytes: ...
def _vector_sign_prekey(
    signing_private: bytes, key_id: int, public_key: bytes
) -> tuple[bytes, bytes]:
    """(signing public key, signature)."""

def _vector_seal_attachment(key: bytes, data: _BytesLike) -> tuple[bytes, AttachmentKeys]: ...
def _vector_attachment_sealer(key: bytes) -> AttachmentSealer: ...

# --- encrypted local store -----------------------------------------------------------------
# keys.db + messages.db in one directory per account; see docs/storage.md.

from os import PathLike as _PathLike  # noqa: E402 (kept inside this section)

from whatsapp_client.errors import ValidationError, WhatsAppError  # noqa: E402 (store section)

@final
class PeerIdentity:
    """A peer's identity as the local store knows it, with the verified flag."""

    @property
    def identity_key(self) -> bytes: ...
    @property
    def signing_key(self) -> bytes: ...
    @property
    def fingerprint(self) -> str: ...
    @property
    def verified(self) -> bool: ...
    @property
    def verified_at(self) -> Optional[int]:
        """When the peer was marked verified (Unix seconds), or ``None``."""

@final
class StoredMessage:
    """One message of the local history; ``content`` is sealed at rest."""

    def __new__(
        cls,
        *,
        id: str,
        peer_id: str,
        from_user: str,
        to: str,
        direction: str,
        type: str,
        timestamp: int,
        content: bytes,
        status: str = "pending",
        group_id: Optional[str] = None,
    ) -> StoredMessage: ...
    @property
    def id(self) -> str: ...
    @property
    def peer_id(self) -> str:
        """The conversation: the peer's user id, or the group id."""
    @property
    def from_user(self) -> str: ...
    @property
    def to(self) -> str: ...
    @property
    def direction(self) -> str:
        """``"in"`` or ``"out"``."""
    @property
    def type(self) -> str: ...
    @property
    def timestamp(self) -> int:
        """Milliseconds since the Unix epoch."""
    @property
    def status(self) -> str: ...
    @property
    def content(self) -> bytes: ...
    @property
    def group_id(self) -> Optional[str]: ...
    def replace(self, *, status: Optional[str] = None) -> StoredMessage:
        """A copy with the given fields replaced."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class OutboxItem:
    """A message waiting to be sent; ``payload`` is sealed at rest."""

    @property
    def message_id(self) -> str: ...
    @property
    def peer_id(self) -> str: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def created_at(self) -> int: ...

@final
class KeyStore:
    """The encrypted, crash-safe local store of one account.

    Raises ``StorageAuthError`` (wrong password), ``StorageCorruptError`` (damaged or
    tampered files: a moved, edited, deleted or rolled-back row; a missing ``messages.db``),
    ``StoreLockedError`` (another process has the store open) and ``StorageError`` (code
    ``store_forked`` when used in a child process after ``fork``). Argon2 parameters below
    19456 KiB / 2 passes are refused (``ValidationError``) except in test builds with
    ``WAC1_TEST_WEAK_KDF=1``.
    """

    @staticmethod
    def open(
        directory: Union[str, _PathLike[str]],
        password: str,
        *,
        durability: str = "full",
        create: bool = True,
        kdf_memory_kib: int = 65536,
        kdf_iterations: int = 3,
        max_skip: int = 1000,
        max_skipped_keys: int = 1000,
        session_cache: int = 1024,
    ) -> KeyStore:
        """Opens or creates ``<storage_path>/<user_id>``; durability ``"full"`` or ``"fast"``."""
    @staticmethod
    def import_account(
        directory: Union[str, _PathLike[str]],
        password: str,
        document: str,
        passphrase: str,
        *,
        durability: str = "full",
        kdf_memory_kib: int = 65536,
        kdf_iterations: int = 3,
        max_skip: int = 1000,
        max_skipped_keys: int = 1000,
        session_cache: int = 1024,
    ) -> KeyStore:
        """Creates a store from ``export_account()`` output."""
    def close(self) -> None: ...
    def __enter__(self) -> KeyStore: ...
    def __exit__(self, *_args: object) -> bool: ...
    @property
    def closed(self) -> bool: ...
    @property
    def directory(self) -> str: ...
    @property
    def durability(self) -> str: ...
    @property
    def cached_sessions(self) -> int: ...
    # account
    def has_identity(self) -> bool: ...
    def create_identity(self) -> None: ...
    @property
    def identity_key(self) -> bytes: ...
    @property
    def signing_key(self) -> bytes: ...
    @property
    def fingerprint(self) -> str: ...
    def rotate_signed_prekey(self, now: int) -> SignedPreKey: ...
    def expire_signed_prekeys(self, older_than: int) -> int: ...
    @property
    def signed_prekey(self) -> Optional[SignedPreKey]: ...
    def generate_one_time_prekeys(self, count: int) -> list[OneTimePreKey]: ...
    def one_time_prekey_count(self) -> int: ...
    def bundle(self, one_time_prekey_id: Optional[int] = None) -> PreKeyBundle: ...
    def keys_payload(self) -> dict[str, Any]: ...
    # sessions
    def has_session(self, peer_id: str) -> bool: ...
    def start_session(self, peer_id: str, bundle: PreKeyBundle) -> bool:
        """X3DH as initiator, committed; returns whether the peer's identity changed."""
    def encrypt(self, peer_id: str, plaintext: bytes, message_id: Optional[str] = None) -> str:
        """Write-ahead: the wire is returned only once the advanced state is committed."""
    def encrypt_many(
        self, peer_id: str, plaintexts: Sequence[bytes], message_ids: Optional[Sequence[str]] = None
    ) -> list[str]: ...
    def forget_sent(self, message_ids: Sequence[str]) -> None: ...
    def decrypt(self, peer_id: str, wire: str, message_id: Optional[str] = None) -> Decrypted:
        """One transaction, nothing committed on failure; a known id returns the stored result."""
    def decrypt_many(
        self, items: Sequence[tuple[str, str, str]]
    ) -> list[Union[Decrypted, WhatsAppError]]:
        """Decrypts ``(peer_id, wire, message_id)`` items with one commit.

        Each result is a ``Decrypted`` or the error that message raised, which changed
        nothing: a ``CryptoError``, an ``InvalidMessageIdError`` (id not 1 to 128 printable
        ASCII characters) or a ``ValidationError`` (bad peer id). A known or repeated
        ``(peer_id, message_id)`` returns the stored result; the same id from two peers is
        two messages. Only a database error raises (and commits nothing).
        """
    def forget_received(self, message_ids: Sequence[Union[str, tuple[str, str]]]) -> None:
        """Drops stored results: an id drops every peer's result under it, a
        ``(peer_id, message_id)`` pair only that peer's."""
    def peer_identity(self, peer_id: str) -> Optional[PeerIdentity]: ...
    def set_verified(self, peer_id: str, verified: bool) -> None: ...
    def mark_verified(self, peer_id: str, fingerprint: str) -> bool:
        """Marks the peer verified only if its stored identity has ``fingerprint`` now, in
        one step; returns whether it did (nothing changes otherwise)."""
    # key-value area
    def kv_get(self, key: str) -> Optional[bytes]: ...
    def kv_set(self, key: str, value: bytes) -> None: ...
    def kv_delete(self, key: str) -> None: ...
    # backup, password, wipe
    def export_session(self, peer_id: str, passphrase: str) -> str: ...
    def import_session(self, peer_id: str, document: str, passphrase: str) -> None: ...
    def export_account(self, passphrase: str) -> str: ...
    def change_password(self, old: str, new: str) -> None: ...
    def wipe(self) -> None: ...
    # history and outbox
    def save_message(self, message: StoredMessage) -> bool:
        """``False`` when (peer_id, from_user, id) exists; an invalid message raises."""
    def save_messages(
        self, messages: Sequence[StoredMessage], *, remove_from_outbox: Sequence[str] = ...
    ) -> list[Union[bool, ValidationError]]:
        """Saves messages and removes ids from the outbox with one commit. Per message:
        ``True`` (saved), ``False`` ((peer_id, from_user, id) existed) or the error of an
        invalid message (``InvalidMessageIdError``, ``ValidationError``), which is skipped
        while the others are saved. Test ``is True``: an error instance is truthy. A
        database error raises and commits nothing."""
    def update_status(self, message_ids: Sequence[str], status: str) -> int: ...
    def get_message(
        self, message_id: str, peer_id: Optional[str] = None, from_user: Optional[str] = None
    ) -> Optional[StoredMessage]:
        """The oldest message with this id, optionally only in one conversation and from
        one sender (ids are chosen by senders, so several may share one)."""
    def messages(
        self, peer_id: str, limit: int = 50, before: Optional[int] = None
    ) -> list[StoredMessage]: ...
    def outbox_add(
        self, message_id: str, peer_id: str, payload: bytes, created_at: int
    ) -> None: ...
    def outbox_add_many(self, items: Sequence[tuple[str, str, bytes, int]]) -> None:
        """Queues ``(message_id, peer_id, payload, created_at)`` items with one commit."""
    def outbox(self) -> list[OutboxItem]: ...
    def outbox_remove(self, message_id: str) -> None: ...
    def outbox_remove_many(self, message_ids: Sequence[str]) -> None:
        """Removes ids from the outbox with one commit."""
    # benchmark hooks
    def _bench_clone_sessions(self, template_peer: str, prefix: str, count: int) -> None:
        """Test builds only (the ``test-hooks`` feature): absent from release builds."""
    def _clear_cache(self) -> None: ...
