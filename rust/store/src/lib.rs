//! # wac1-store — the encrypted, crash-safe local store of WAC1 keys and sessions
//!
//! One directory per account holds `keys.db` (identity, signed and one-time prekeys,
//! sessions, peer identities, an encrypted key-value area, the wires of sent messages and
//! the results of decrypted ones) and `messages.db` (history and outbox). Both are SQLite
//! in WAL mode. Every record is sealed with XChaCha20-Poly1305 under a random data key,
//! with associated data binding it to its table and row; the data key is wrapped by an
//! Argon2id key derived from the password. Nothing secret is ever written in plaintext.
//!
//! Sending is write-ahead: [`Store::encrypt`] returns the wire only after the advanced
//! session is committed. [`Store::decrypt`] commits session, skipped keys, one-time prekey
//! deletion and the result in one transaction, and nothing when it fails.
//!
//! ```
//! use wac1_store::{KdfParams, Store, StoreOptions};
//! let dir = std::env::temp_dir().join(format!("wac1-store-doc-{}", std::process::id()));
//! let opts = StoreOptions { kdf: KdfParams { memory_kib: 19 * 1024, iterations: 2, lanes: 1 }, ..Default::default() };
//! let mut store = Store::open(&dir, "correct horse", opts)?;
//! store.create_identity()?;
//! store.kv_set("token", b"secret")?;
//! assert_eq!(store.kv_get("token")?.as_deref().map(|v| v.as_slice()), Some(&b"secret"[..]));
//! store.wipe()?;
//! # Ok::<(), wac1_store::StoreError>(())
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod codec;
pub mod crypto;
pub mod error;
pub mod export;
pub mod store;

pub use crypto::KdfParams;
pub use error::{Result, StoreError};
pub use store::{
    check_message_id, Durability, ItemResult, KeysPayload, OutboxItem, PeerIdentity, Store, StoreOptions,
    StoredMessage,
};
