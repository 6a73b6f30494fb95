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

/// Hard cap on the signed prekeys held: the current one and the previous ones still in
/// their grace period. Keys leave by age (`expire_signed_prekeys`), not by count; this cap
/// only bounds a misconfigured rotation. It covers a grace period up to 63 rotation
/// intervals long (hourly rotation with a 2.5-day grace period, daily with 63 days); at about
/// 110 bytes a key, a full list adds 7 KB to the account record.
pub const MAX_SIGNED_PREKEYS: usize = 64;

/// An identity with its prekeys and the ratchet limits of this store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub(crate) identity: IdentityKeyPair,
    /// Newest first.
    pub(crate) signed_prekeys: Vec<SignedPreKey>,
    /// Boxed: B-tree nodes move entries when they split or shift, which would leave copies
    /// of the private keys in node memory freed unwiped; a boxed key never moves.
    pub(crate) one_time_prekeys: BTreeMap<u32, Box<OneTimePreKey>>,
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

    /// Makes a new signed prekey the current one. Older ones are kept until
    /// [`Account::expire_signed_prekeys`] drops them by age; only beyond
    /// [`MAX_SIGNED_PREKEYS`] in all is the oldest dropped. Its id is one more than the newest.
    pub fn rotate_signed_prekey<R: RngCore + CryptoRng>(&mut self, now: u64, rng: &mut R) -> SignedPreKey {
        let id = self.signed_prekeys.first().map_or(1, |k| k.id.wrapping_add(1).max(1));
        let key = SignedPreKey::generate(&self.identity, id, now, rng);
        self.push_signed_prekey(key.clone());
        key
    }

    /// Adds an already-made signed prekey as the current one (for test vectors and imports).
    pub fn add_signed_prekey(&mut self, key: SignedPreKey) {
        let id = key.id;
        self.keep_signed_prekeys(|k| k.id != id);
        self.push_signed_prekey(key);
    }

    /// Drops signed prekeys other than the current one made before `cutoff`.
    pub fn expire_signed_prekeys(&mut self, cutoff: u64) -> usize {
        let before = self.signed_prekeys.len();
        let current = self.signed_prekeys.first().map(|k| k.id);
        self.keep_signed_prekeys(|k| Some(k.id) == current || k.created_at >= cutoff);
        before - self.signed_prekeys.len()
    }

    /// Inserts `key` first, dropping the oldest beyond the cap.
    fn push_signed_prekey(&mut self, key: SignedPreKey) {
        self.signed_prekeys.truncate(MAX_SIGNED_PREKEYS - 1);
        if self.signed_prekeys.len() == self.signed_prekeys.capacity() {
            // Growing in place would let the allocator free the old buffer with the private
            // keys still in it: rebuild from clones so the old keys are wiped as they drop.
            self.keep_signed_prekeys(|_| true);
        }
        self.signed_prekeys.insert(0, key);
    }

    /// Keeps the signed prekeys `keep` selects, in order, in a new list with room for one
    /// more. The old list drops whole, so every key in it (kept or not) is wiped; `retain`
    /// would leave bitwise copies of moved keys behind its new length, freed unwiped later.
    fn keep_signed_prekeys(&mut self, keep: impl Fn(&SignedPreKey) -> bool) {
        let kept = self.signed_prekeys.iter().filter(|k| keep(k)).count();
        let mut list = Vec::with_capacity((kept * 2).clamp(4, MAX_SIGNED_PREKEYS));
        list.extend(self.signed_prekeys.iter().filter(|k| keep(k)).cloned());
        self.signed_prekeys = list;
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
            self.one_time_prekeys.insert(id, Box::new(OneTimePreKey { id, pair: KeyPair::generate(rng) }));
            ids.push(id);
        }
        Ok(ids.iter().filter_map(|id| self.one_time_prekeys.get(id).map(|k| &**k)).collect())
    }

    /// Adds an already-made one-time prekey (for test vectors and imports).
    pub fn add_one_time_prekey(&mut self, key: OneTimePreKey) {
        self.next_one_time_id = self.next_one_time_id.max(key.id.saturating_add(1));
        self.one_time_prekeys.insert(key.id, Box::new(key));
    }

    /// Deletes a one-time prekey; returns whether it was held.
    pub fn remove_one_time_prekey(&mut self, id: u32) -> bool {
        self.one_time_prekeys.remove(&id).is_some()
    }

    /// One-time prekeys held, by id.
    pub fn one_time_prekeys(&self) -> impl Iterator<Item = &OneTimePreKey> {
        self.one_time_prekeys.values().map(|k| &**k)
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
        self.one_time_prekeys.get(&id).map(|k| &**k)
    }
}

impl Account {
    /// Our identity key pair.
    pub fn identity(&self) -> &IdentityKeyPair {
        &self.identity
    }
}
