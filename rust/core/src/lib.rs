//! # wac1 — the WAC1 end-to-end encryption engine
//!
//! X3DH session start, the Double Ratchet with a bounded skipped-key cache, the `E2EE:`
//! wire codec, fingerprints and safety numbers, and a versioned binary serialization of all
//! state, exactly as `PROTOCOL.md` specifies. Secrets are wiped on drop and redacted in
//! `Debug`. No function panics on any input.
//!
//! ```
//! use rand_core::OsRng;
//! use wac1::{Account, SessionRecord, WireMessage};
//!
//! let mut alice = Account::generate(&mut OsRng);
//! let mut bob = Account::generate(&mut OsRng);
//! bob.rotate_signed_prekey(0, &mut OsRng);
//! let opk = bob.generate_one_time_prekeys(1, &mut OsRng)?[0].id;
//!
//! let mut to_bob = SessionRecord::new();
//! to_bob.initiate(alice.identity(), &bob.bundle(Some(opk))?, &mut OsRng)?;
//! let wire = to_bob.encrypt(b"hello")?.encode();
//!
//! let mut from_alice = SessionRecord::new();
//! let got = bob.decrypt(&mut from_alice, &WireMessage::parse(&wire)?, &mut OsRng)?;
//! assert_eq!(got.plaintext, b"hello");
//! # Ok::<(), wac1::Error>(())
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod aead;
pub mod attachment;
pub mod codec;
pub mod encoding;
pub mod error;
pub mod fingerprint;
pub mod kdf;
pub mod keys;
pub mod prekeys;
pub mod ratchet;
pub mod sealed;
pub mod session;
pub mod vault;
pub mod wire;
pub mod x3dh;

pub use codec::Serialize;
pub use error::{Error, Result};
pub use fingerprint::{fingerprint, fingerprint_digest, safety_number};
pub use keys::{
    verify_signed_prekey, IdentityKeyPair, KeyPair, OneTimePreKey, PreKeyBundle, PreparedPublic,
    PublicIdentity, PublicKeyBytes, SignedPreKey,
};
pub use prekeys::{Account, PreKeyStore};
pub use ratchet::{Header, Limits, RatchetState, StateView};
pub use session::{Decrypted, Session, SessionRecord};
pub use wire::{WireMessage, X3dhHeader};
