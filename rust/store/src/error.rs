//! One error type for the store. Each variant maps onto a machine-readable code that the
//! Python layer turns into a `whatsapp_client.errors` class.

use thiserror::Error;

/// Everything that can go wrong in the store. No variant carries secret material.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// Wrong password or passphrase; nothing was changed (`storage_auth`).
    #[error("{0}")]
    Auth(String),
    /// A file is truncated, damaged or not a store of ours; it was not reset (`storage_corrupt`).
    #[error("{0}")]
    Corrupt(String),
    /// Another process has the store open (`store_locked`).
    #[error("{0}")]
    Locked(String),
    /// The store is readable or writable by other users (`storage_permissions`).
    #[error("{0}")]
    Permissions(String),
    /// Any other storage failure: I/O, a closed store, no identity yet (`storage_error`).
    #[error("{0}")]
    Storage(String),
    /// A bad argument, refused before anything changed (`validation_error`).
    #[error("{0}")]
    Invalid(String),
    /// The peer, message or record asked for does not exist (`not_found`).
    #[error("{0}")]
    NotFound(String),
    /// A message id breaks the §7 rule (1 to 128 printable ASCII characters); a per-item
    /// error in batches (`invalid_message_id`).
    #[error("{0}")]
    InvalidMessageId(String),
    /// A message id already names another peer's message where ids must be unique (the
    /// stored wires of sent messages) (`message_id_conflict`).
    #[error("{0}")]
    IdConflict(String),
    /// The store was opened before a fork and used in the child (`store_forked`).
    #[error("{0}")]
    Forked(String),
    /// The crypto engine refused; nothing was committed.
    #[error(transparent)]
    Crypto(#[from] wac1::Error),
}

impl StoreError {
    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Auth(_) => "storage_auth",
            StoreError::Corrupt(_) => "storage_corrupt",
            StoreError::Locked(_) => "store_locked",
            StoreError::Permissions(_) => "storage_permissions",
            StoreError::Storage(_) => "storage_error",
            StoreError::Invalid(_) => "validation_error",
            StoreError::NotFound(_) => "not_found",
            StoreError::InvalidMessageId(_) => "invalid_message_id",
            StoreError::IdConflict(_) => "message_id_conflict",
            StoreError::Forked(_) => "store_forked",
            StoreError::Crypto(e) => e.code(),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode;
        // Our queries are fixed and our columns always hold their declared types: a value of
        // another type, or text that is not UTF-8, can only come from a damaged file.
        if matches!(
            e,
            rusqlite::Error::InvalidColumnType(..)
                | rusqlite::Error::FromSqlConversionFailure(..)
                | rusqlite::Error::IntegralValueOutOfRange(..)
                | rusqlite::Error::Utf8Error(..)
        ) {
            return StoreError::Corrupt(format!(
                "the store database holds a damaged value ({e}); restore it from a backup"
            ));
        }
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseCorrupt) | Some(ErrorCode::NotADatabase) => {
                StoreError::Corrupt(format!("the store database is damaged ({e}); restore it from a backup"))
            }
            Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => {
                StoreError::Locked(format!("the store database is in use by another process ({e})"))
            }
            _ => StoreError::Storage(format!("database error: {e}")),
        }
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Storage(format!("I/O error: {e}"))
    }
}

/// Result alias for the store.
pub type Result<T> = core::result::Result<T, StoreError>;
