"""The one exception hierarchy of whatsapp_client.

Every error the SDK raises is a :class:`WhatsAppError`. Each carries a machine-readable
``code`` (the protocol's error code where there is one) and a message that says what to do.
The Rust core raises the :class:`CryptoError` family directly (it looks the classes up here
by code), so ``except DecryptionError`` works the same for Python and Rust failures.
"""

from __future__ import annotations

import builtins
from typing import ClassVar, Optional

__all__ = [
    "AttachmentCorruptError",
    "AuthenticationError",
    "ConflictError",
    "ConnectionError",
    "CorruptStateError",
    "CryptoError",
    "DecryptionError",
    "DuplicateMessageError",
    "FingerprintMismatchError",
    "ForbiddenError",
    "GroupFullError",
    "GroupPermissionError",
    "IdentityChangedError",
    "InvalidKeyError",
    "InvalidMessageError",
    "InvalidSignatureError",
    "MediaError",
    "MissingExtraError",
    "NotFoundError",
    "NotGroupMemberError",
    "OwnerMustTransferError",
    "RateLimitError",
    "ServerError",
    "SessionNotFoundError",
    "StorageAuthError",
    "StorageCorruptError",
    "StorageError",
    "StoreLockedError",
    "TooManySkippedError",
    "UnknownPreKeyError",
    "UsernameTakenError",
    "ValidationError",
    "VaultError",
    "WhatsAppError",
    "error_for_code",
]


class WhatsAppError(Exception):
    """Base class of every error raised by whatsapp_client."""

    default_code: ClassVar[str] = "error"

    def __init__(self, message: str = "", *, code: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code

    def __str__(self) -> str:
        return self.message or self.code


# --- cryptography (raised by the Rust core) -------------------------------------------


class CryptoError(WhatsAppError):
    """A cryptographic operation failed. Nothing was changed by the failed call."""

    default_code = "crypto_error"


class DecryptionError(CryptoError):
    """A message could not be decrypted (tampered, not for us, or from a lost session)."""

    default_code = "decryption_failed"


class DuplicateMessageError(DecryptionError):
    """The message key was already used: a replay, or a duplicate delivery."""

    default_code = "duplicate_or_unknown_key"


class TooManySkippedError(DecryptionError):
    """The message would skip more message keys than the configured ``max_skip``."""

    default_code = "too_many_skipped"


class InvalidSignatureError(CryptoError):
    """A signed prekey signature did not verify: the bundle is forged or corrupt."""

    default_code = "invalid_signature"


class InvalidKeyError(CryptoError):
    """A public key is malformed or of low order."""

    default_code = "invalid_key"


class UnknownPreKeyError(CryptoError):
    """A prekey message names a prekey this account no longer holds."""

    default_code = "unknown_prekey"


class InvalidMessageError(CryptoError, ValueError):
    """A wire message or serialized object is malformed."""

    default_code = "invalid_message"


class SessionNotFoundError(CryptoError):
    """There is no session with this peer, and none can be started (the peer has no keys)."""

    default_code = "no_session"


class CorruptStateError(CryptoError):
    """Serialized state could not be restored: wrong key, truncated or tampered."""

    default_code = "corrupt_state"


class IdentityChangedError(CryptoError):
    """A peer's identity key changed; its verified flag was cleared."""

    default_code = "identity_changed"


# --- storage -------------------------------------------------------------------------------


class StorageError(WhatsAppError):
    """The local key/session store failed."""

    default_code = "storage_error"


class StorageAuthError(StorageError):
    """Wrong password for the local store. Nothing was changed."""

    default_code = "storage_auth"


class StorageCorruptError(StorageError):
    """The local store is truncated or corrupted. It was not reset."""

    default_code = "storage_corrupt"


class StoreLockedError(StorageError):
    """Another process has this account's store open (one writer per account)."""

    default_code = "store_locked"


# --- client and server --------------------------------------------------------------------


class ValidationError(WhatsAppError, ValueError):
    """Bad input, refused before anything was sent or changed."""

    default_code = "validation_error"


class MediaError(ValidationError):
    """Media is too large or of an unsupported type."""

    default_code = "invalid_media"


class AuthenticationError(WhatsAppError):
    """Bad credentials, or the token is no longer valid: log in again."""

    default_code = "invalid_credentials"


class UsernameTakenError(WhatsAppError):
    """The username is already registered: pick another or log in."""

    default_code = "username_taken"


class ConnectionError(WhatsAppError, builtins.ConnectionError):
    """The server could not be reached or the connection dropped."""

    default_code = "connection_error"


class RateLimitError(WhatsAppError):
    """The server asked us to slow down; ``retry_after`` says for how long (seconds)."""

    default_code = "rate_limited"

    def __init__(
        self, message: str = "", *, code: Optional[str] = None, retry_after: Optional[float] = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class NotFoundError(WhatsAppError):
    """The user, group or resource does not exist (or is not visible to you)."""

    default_code = "not_found"


class ForbiddenError(WhatsAppError):
    """Your role does not allow this action."""

    default_code = "forbidden"


class ConflictError(WhatsAppError):
    """The request conflicts with the current state (for example a duplicate id)."""

    default_code = "conflict"


class ServerError(WhatsAppError):
    """The server failed or answered something this client does not understand."""

    default_code = "server_error"


# --- features: groups, fingerprints, optional extras ----------------------------------------


class NotGroupMemberError(NotFoundError):
    """The group does not exist or you are not a member of it (the server does not tell
    the two apart, so that group ids do not leak)."""

    default_code = "group_not_found"


class GroupPermissionError(ForbiddenError):
    """Your role in the group does not allow this (only the owner and admins manage
    members; only the owner can remove an admin or hand ownership over)."""

    default_code = "forbidden"


class OwnerMustTransferError(ConflictError):
    """The owner cannot leave or step down while other members remain: make another member
    owner first (``add_group_member(group_id, user_id, role="owner")``)."""

    default_code = "owner_must_transfer"


class GroupFullError(ConflictError):
    """The group has reached the server's maximum size."""

    default_code = "group_full"


class FingerprintMismatchError(CryptoError):
    """The fingerprint given does not match the identity this device holds for the peer:
    do not mark it verified (the keys may have been replaced)."""

    default_code = "fingerprint_mismatch"


class MissingExtraError(WhatsAppError, ImportError):
    """An optional feature needs a package that is not installed; the message names the
    extra to install (for example ``pip install 'whatsapp-client[qrcode]'``)."""

    default_code = "missing_extra"


class AttachmentCorruptError(CryptoError):
    """An encrypted attachment failed a check: its length, its SHA-256 digest, or a chunk's
    authentication (tampered, truncated, reordered). No plaintext of it was released."""

    default_code = "attachment_corrupt"


class VaultError(CryptoError):
    """The gateway vault refused: sealed data that does not open (tampered, truncated, or
    sealed for another place or key), or a master key of the wrong form. Nothing is
    released."""

    default_code = "vault_error"


_BY_CODE: dict[str, type[WhatsAppError]] = {
    "decryption_failed": DecryptionError,
    "duplicate_or_unknown_key": DuplicateMessageError,
    "too_many_skipped": TooManySkippedError,
    "invalid_signature": InvalidSignatureError,
    "invalid_key": InvalidKeyError,
    "unknown_prekey": UnknownPreKeyError,
    "invalid_message": InvalidMessageError,
    "no_session": SessionNotFoundError,
    "corrupt_state": CorruptStateError,
    "storage_auth": StorageAuthError,
    "storage_corrupt": StorageCorruptError,
    "store_locked": StoreLockedError,
    "attachment_corrupt": AttachmentCorruptError,
    "vault_error": VaultError,
}


def error_for_code(code: str) -> type[WhatsAppError]:
    """The exception class for a machine-readable error code (``WhatsAppError`` if unknown)."""
    return _BY_CODE.get(code, WhatsAppError)


# --- local store: per-message errors (batch results carry them as values) -------------------


class InvalidMessageIdError(ValidationError):
    """A message id is not 1 to 128 printable ASCII characters without spaces (PROTOCOL.md
    §7). In the results of ``KeyStore.decrypt_many`` and ``save_messages`` only that message
    failed; the others were processed."""

    default_code = "invalid_message_id"


class MessageIdConflictError(ValidationError):
    """A message id already names a message sent to another peer (the ids of sent messages
    are unique per account); nothing was changed."""

    default_code = "message_id_conflict"


_BY_CODE["invalid_message_id"] = InvalidMessageIdError
_BY_CODE["message_id_conflict"] = MessageIdConflictError
__all__ += ["InvalidMessageIdError", "MessageIdConflictError"]
