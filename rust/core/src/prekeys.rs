//! The account: an identity with its signed and one-time prekeys, and what a responder
//! looks up when a prekey message arrives.

use std::collections::BTreeMap;

use rand_core::{CryptoRng, RngCore};

use crate::error::{Error, Result};
use crate::keys::{IdentityKeyPair, KeyPair, OneTimePreKey, PreKeyBundle, SignedPreKey};
use crate::ratchet::Limits;
use crate::session::{Decrypted, SessionRecord};
use crate::wire::WireMessage;

/// What the responder side of X3DH needs to look up.
pub trait PreKeyStore {
    /// Our identity.
    fn identity(&self) -> &IdentityKeyPair;
    /// A signed prekey we still hold, by id.
    fn signed_prekey(&self, id: u32) -> Option<&SignedPreKey>;
    /// A one-time prekey we still hold, by id.
    fn one_time_prekey(&self, id: u32) -> Option<&OneTimePreKey>;
}

/// Signed prekeys kept: the current one and the previous ones still in their grace period.
pub const MAX_SIGNED_PREKEYS: usize = 3;

/// An identity with its prekeys and the ratchet limits of this store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub(crate) identity: IdentityKeyPair,
    /// Newest first.
    pub(crate) signed_prekeys: Vec<SignedPreKey>,
    pub(crate) one_time_prekeys: BTreeMap<u32, OneTimePreKey>,
    pub(crate) next_one_time_id: u32,
    pub(crate) limits: Limits,
}

impl Account {
    /// A new account with a fresh identity and no prekeys yet.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self::from_identity(IdentityKeyPair::generate(rng))
    }

    /// An account around an existing identity.
    pub fn from_identity(identity: IdentityKeyPair) -> Self {
        Self {
            identity,
            signed_prekeys: Vec::new(),
            one_time_prekeys: BTreeMap::new(),
            next_one_time_id: 1,
            limits: Limits::default(),
        }
    }

    /// The skipped-key limits used when decrypting.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Changes the skipped-key limits.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Makes a new signed prekey the current one, keeping older ones up to
    /// [`MAX_SIGNED_PREKEYS`] in all. Its id is one more than the newest so far.
    pub fn rotate_signed_prekey<R: RngCore + CryptoRng>(&mut self, now: u64, rng: &mut R) -> SignedPreKey {
        let id = self.signed_prekeys.first().map_or(1, |k| k.id.wrapping_add(1).max(1));
        let key = SignedPreKey::generate(&self.identity, id, now, rng);
        self.signed_prekeys.truncate(MAX_SIGNED_PREKEYS - 1);
        self.signed_prekeys.insert(0, key.clone());
        key
    }

    /// Adds an already-made signed prekey as the current one (for test vectors and imports).
    pub fn add_signed_prekey(&mut self, key: SignedPreKey) {
        self.signed_prekeys.retain(|k| k.id != key.id);
        self.signed_prekeys.insert(0, key);
        self.signed_prekeys.truncate(MAX_SIGNED_PREKEYS);
    }

    /// Drops signed prekeys other than the current one made before `cutoff`.
    pub fn expire_signed_prekeys(&mut self, cutoff: u64) -> usize {
        let before = self.signed_prekeys.len();
        let mut index = 0usize;
        self.signed_prekeys.retain(|k| {
            let keep = index == 0 || k.created_at >= cutoff;
            index += 1;
            keep
        });
        before - self.signed_prekeys.len()
    }

    /// The current signed prekey.
    pub fn current_signed_prekey(&self) -> Option<&SignedPreKey> {
        self.signed_prekeys.first()
    }

    /// All signed prekeys held, newest first.
    pub fn signed_prekeys(&self) -> &[SignedPreKey] {
        &self.signed_prekeys
    }

    /// Makes `count` new one-time prekeys with fresh ids and returns them.
    pub fn generate_one_time_prekeys<R: RngCore + CryptoRng>(
        &mut self,
        count: usize,
        rng: &mut R,
    ) -> Result<Vec<&OneTimePreKey>> {
        let mut ids = Vec::with_capacity(count);
        for _ in 0..count {
            let id = self.next_one_time_id;
            self.next_one_time_id =
                id.checked_add(1).ok_or(Error::InvalidKey("one-time prekey ids exhausted"))?;
            self.one_time_prekeys.insert(id, OneTimePreKey { id, pair: KeyPair::generate(rng) });
            ids.push(id);
        }
        Ok(ids.iter().filter_map(|id| self.one_time_prekeys.get(id)).collect())
    }

    /// Adds an already-made one-time prekey (for test vectors and imports).
    pub fn add_one_time_prekey(&mut self, key: OneTimePreKey) {
        self.next_one_time_id = self.next_one_time_id.max(key.id.saturating_add(1));
        self.one_time_prekeys.insert(key.id, key);
    }

    /// Deletes a one-time prekey; returns whether it was held.
    pub fn remove_one_time_prekey(&mut self, id: u32) -> bool {
        self.one_time_prekeys.remove(&id).is_some()
    }

    /// One-time prekeys held, by id.
    pub fn one_time_prekeys(&self) -> impl Iterator<Item = &OneTimePreKey> {
        self.one_time_prekeys.values()
    }

    /// Our own bundle, as the server would hand it out with the given one-time prekey.
    pub fn bundle(&self, one_time_prekey: Option<u32>) -> Result<PreKeyBundle> {
        let spk = self.current_signed_prekey().ok_or(Error::NoSession("no signed prekey yet"))?;
        let opk = match one_time_prekey {
            Some(id) => {
                let key =
                    self.one_time_prekeys.get(&id).ok_or(Error::UnknownPreKey { kind: "one-time", id })?;
                Some((id, *key.pair.public()))
            }
            None => None,
        };
        Ok(PreKeyBundle {
            identity: self.identity.public(),
            signed_prekey_id: spk.id,
            signed_prekey: *spk.pair.public(),
            signed_prekey_signature: spk.signature,
            one_time_prekey: opk,
        })
    }

    /// Decrypts a message from a peer into its record, deleting a consumed one-time
    /// prekey. On any error neither the account nor the record changes.
    pub fn decrypt<R: RngCore + CryptoRng>(
        &mut self,
        record: &mut SessionRecord,
        message: &WireMessage,
        rng: &mut R,
    ) -> Result<Decrypted> {
        let limits = self.limits;
        let done = record.decrypt(&*self, message, &limits, rng)?;
        if let Some(id) = done.used_one_time_prekey {
            self.one_time_prekeys.remove(&id);
        }
        Ok(done)
    }
}

impl PreKeyStore for Account {
    fn identity(&self) -> &IdentityKeyPair {
        &self.identity
    }

    fn signed_prekey(&self, id: u32) -> Option<&SignedPreKey> {
        self.signed_prekeys.iter().find(|k| k.id == id)
    }

    fn one_time_prekey(&self, id: u32) -> Option<&OneTimePreKey> {
        self.one_time_prekeys.get(&id)
    }
}

impl Account {
    /// Our identity key pair.
    pub fn identity(&self) -> &IdentityKeyPair {
        &self.identity
    }
}
