//! One error type for the whole engine. Each variant maps onto a protocol error code.

use thiserror::Error;

/// Everything that can go wrong in the engine. No variant carries secret material.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// A signed prekey signature did not verify (`invalid_signature`).
    #[error("signed prekey signature is invalid")]
    InvalidSignature,
    /// A public key was malformed or low-order, so a DH output was all zero (`invalid_key`).
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// A prekey message named a signed or one-time prekey we do not hold (`unknown_prekey`).
    #[error("unknown prekey: {kind} id {id}")]
    UnknownPreKey {
        /// `"signed"` or `"one-time"`.
        kind: &'static str,
        /// The id the message named.
        id: u32,
    },
    /// The message key was already used or never existed (`duplicate_or_unknown_key`).
    #[error("message key already used or unknown (replay or message from a dropped chain)")]
    DuplicateMessage,
    /// The header asks to skip more message keys than allowed (`too_many_skipped`).
    #[error("message would skip {requested} keys, more than the limit of {limit}")]
    TooManySkipped {
        /// Keys the header would skip.
        requested: u64,
        /// The configured limit.
        limit: u32,
    },
    /// Authentication of the ciphertext failed (`decryption_failed`).
    #[error("decryption failed: the message was tampered with or is not for this session")]
    DecryptionFailed,
    /// The wire string or a serialized object is malformed (`invalid_message`).
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    /// There is no session to encrypt with or to decrypt a non-prekey message.
    #[error("no session: {0}")]
    NoSession(&'static str),
    /// A serialized object could not be restored.
    #[error("corrupt serialized state: {0}")]
    Corrupt(&'static str),
    /// An encrypted attachment failed a check: length, digest, a chunk's tag, order or final
    /// flag (`attachment_corrupt`). No plaintext of it is released.
    #[error("attachment is corrupt: wrong length, digest or chunk authentication (tampered or truncated)")]
    AttachmentCorrupt,
}

impl Error {
    /// The machine-readable code used in PROTOCOL.md and the vectors.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidSignature => "invalid_signature",
            Error::InvalidKey(_) => "invalid_key",
            Error::UnknownPreKey { .. } => "unknown_prekey",
            Error::DuplicateMessage => "duplicate_or_unknown_key",
            Error::TooManySkipped { .. } => "too_many_skipped",
            Error::DecryptionFailed => "decryption_failed",
            Error::InvalidMessage(_) => "invalid_message",
            Error::NoSession(_) => "no_session",
            Error::Corrupt(_) => "corrupt_state",
            Error::AttachmentCorrupt => "attachment_corrupt",
        }
    }
}

/// Result alias for the engine.
pub type Result<T> = core::result::Result<T, Error>;
