"""whatsapp_client: an end-to-end encrypted messaging SDK with a Rust cryptographic core.

The crypto engine can be used on its own, with no server::

    from whatsapp_client import Account, Session

    alice, bob = Account(), Account()
    bob.rotate_signed_prekey()
    bob.generate_one_time_prekeys(10)
    to_bob = alice.start_session(bob.bundle(bob.one_time_prekeys[0].key_id))
    wire = to_bob.encrypt(b"hi")
    assert bob.decrypt(Session(), wire).plaintext == b"hi"
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# The extension allocates with mimalloc, which reads its options when it loads. Committing
# its arenas on demand keeps a process's peak memory where glibc's was (an Argon2 block freed
# before the store's first reads no longer stays committed beside them) at no cost in speed.
os.environ.setdefault("MIMALLOC_ARENA_EAGER_COMMIT", "0")

from whatsapp_client._core import (
    MAX_SKIP,
    MAX_SKIPPED_KEYS,
    PROTOCOL_VERSION,
    Account,
    AttachmentBlobWriter,
    AttachmentKeys,
    AttachmentOpener,
    AttachmentSealer,
    Decrypted,
    KeyStore,
    OneTimePreKey,
    OutboxItem,
    PeerIdentity,
    PreKeyBundle,
    Session,
    SignedPreKey,
    StoredMessage,
    WireInfo,
    attachment_blob_size,
    compare_fingerprints,
    fingerprint,
    open_attachment,
    open_attachment_file,
    parse_message,
    safety_number,
    seal_attachment,
    seal_attachment_file,
    verify_signed_prekey,
)
from whatsapp_client._core import __version__ as __version__
from whatsapp_client.errors import (
    AttachmentCorruptError,
    AuthenticationError,
    ConnectionError,
    CryptoError,
    DecryptionError,
    DuplicateMessageError,
    FingerprintMismatchError,
    ForbiddenError,
    GroupFullError,
    GroupPermissionError,
    InvalidKeyError,
    InvalidMessageError,
    InvalidSignatureError,
    MediaError,
    MissingExtraError,
    NotFoundError,
    NotGroupMemberError,
    OwnerMustTransferError,
    RateLimitError,
    SessionNotFoundError,
    StorageError,
    TooManySkippedError,
    UnknownPreKeyError,
    ValidationError,
    WhatsAppError,
)

__all__ = [
    "MAX_SKIP",
    "MAX_SKIPPED_KEYS",
    "PROTOCOL_VERSION",
    "Account",
    "AttachmentBlobWriter",
    "AttachmentCorruptError",
    "AttachmentKeys",
    "AttachmentOpener",
    "AttachmentSealer",
    "AuthenticationError",
    "ClientConfig",
    "ConnectionError",
    "CryptoError",
    "Decrypted",
    "DecryptionError",
    "DuplicateMessageError",
    "FingerprintMismatchError",
    "ForbiddenError",
    "Group",
    "GroupFullError",
    "GroupMember",
    "GroupPermissionError",
    "InvalidKeyError",
    "InvalidMessageError",
    "InvalidSignatureError",
    "KeyStore",
    "MediaError",
    "Message",
    "MissingExtraError",
    "NotFoundError",
    "NotGroupMemberError",
    "OneTimePreKey",
    "OutboxItem",
    "OwnerMustTransferError",
    "PeerIdentity",
    "PreKeyBundle",
    "RateLimitError",
    "Session",
    "SessionNotFoundError",
    "SignedPreKey",
    "StorageError",
    "StoredMessage",
    "TooManySkippedError",
    "UnknownPreKeyError",
    "User",
    "ValidationError",
    "WhatsAppClient",
    "WhatsAppError",
    "WireInfo",
    "attachment_blob_size",
    "compare_fingerprints",
    "fingerprint",
    "open_attachment",
    "open_attachment_file",
    "parse_message",
    "safety_number",
    "seal_attachment",
    "seal_attachment_file",
    "verify_signed_prekey",
]

if TYPE_CHECKING:
    from whatsapp_client.client import (
        ClientConfig,
        Group,
        GroupMember,
        Message,
        User,
        WhatsAppClient,
    )

# The client (aiohttp, msgspec) loads on first use, so a tool that only embeds the crypto
# engine or the store does not pay for importing the network stack.
_CLIENT_NAMES = frozenset(
    {"ClientConfig", "Group", "GroupMember", "Message", "User", "WhatsAppClient"}
)


def __getattr__(name: str) -> Any:
    if name in _CLIENT_NAMES:
        from whatsapp_client import client

        value = getattr(client, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'whatsapp_client' has no attribute {name!r}")
