//! Sessions with one peer: the active session plus up to five older ones (PROTOCOL.md §5).

use rand_core::{CryptoRng, RngCore};

use crate::error::{Error, Result};
use crate::keys::{IdentityKeyPair, KeyPair, PreKeyBundle, PreparedPublic, PublicIdentity, PublicKeyBytes};
use crate::prekeys::PreKeyStore;
use crate::ratchet::{Limits, RatchetState};
use crate::wire::{WireMessage, X3dhHeader};
use crate::x3dh;

/// Older sessions kept per peer so late messages for them still decrypt.
pub const MAX_OLD_SESSIONS: usize = 5;

/// One Double Ratchet session and what it was started from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub(crate) ratchet: RatchetState,
    pub(crate) associated_data: [u8; 64],
    /// The peer's identity as this session knows it.
    pub(crate) peer: PublicIdentity,
    /// `(IK_A, EK_A)` of the X3DH that started it: matches repeated prekey messages.
    pub(crate) base: (PublicKeyBytes, PublicKeyBytes),
    /// Sent with every message while we are the initiator and have not heard back.
    pub(crate) pending_x3dh: Option<X3dhHeader>,
}

impl Drop for Session {
    /// An absent X3DH header's slot still holds whatever bytes were on the stack when the
    /// session was built (often a key); filling it overwrites them before the memory is freed.
    fn drop(&mut self) {
        if self.pending_x3dh.is_none() {
            self.pending_x3dh =
                Some(X3dhHeader { ik: [0; 32], sk: [0; 32], ek: [0; 32], spk_id: 0, opk_id: Some(0) });
        }
    }
}

impl Session {
    /// The ratchet state, read-only.
    pub fn ratchet(&self) -> &RatchetState {
        &self.ratchet
    }

    fn encrypt(&mut self, plaintext: &[u8]) -> Result<WireMessage> {
        let (header, ciphertext) = self.ratchet.encrypt(plaintext, &self.associated_data)?;
        Ok(WireMessage { header, ciphertext, x3dh: self.pending_x3dh })
    }

    fn decrypt<R: RngCore + CryptoRng>(
        &mut self,
        message: &WireMessage,
        limits: &Limits,
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        let plaintext =
            self.ratchet.decrypt(&message.header, &message.ciphertext, &self.associated_data, limits, rng)?;
        // The responder has our first message, so it knows the X3DH keys: stop sending them.
        self.pending_x3dh = None;
        Ok(plaintext)
    }
}

/// What a successful decrypt tells the caller besides the plaintext.
#[derive(Clone, PartialEq, Eq)]
pub struct Decrypted {
    /// The decrypted bytes.
    pub plaintext: Vec<u8>,
    /// A one-time prekey this message consumed; the caller deletes its private key.
    pub used_one_time_prekey: Option<u32>,
    /// The message started a new session (X3DH responder side).
    pub new_session: bool,
    /// The peer's identity differs from the one known before.
    pub identity_changed: bool,
}

// Message content never reaches a log through `{:?}`: only its length is shown.
impl std::fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decrypted")
            .field("plaintext_len", &self.plaintext.len())
            .field("used_one_time_prekey", &self.used_one_time_prekey)
            .field("new_session", &self.new_session)
            .field("identity_changed", &self.identity_changed)
            .finish()
    }
}

/// Everything we hold for one peer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionRecord {
    /// The peer's identity, once known.
    pub(crate) peer: Option<PublicIdentity>,
    /// `sessions[0]` is active; the rest are older ones, newest first. Boxed, so that
    /// reordering and growing the list moves pointers, never copies of the keys.
    #[allow(clippy::vec_box)] // deliberate: see above
    pub(crate) sessions: Vec<Box<Session>>,
}

impl SessionRecord {
    /// An empty record: no session, no known identity.
    pub fn new() -> Self {
        Self::default()
    }

    /// The peer identity last seen.
    pub fn peer_identity(&self) -> Option<&PublicIdentity> {
        self.peer.as_ref()
    }

    /// Whether there is an active session that can encrypt.
    pub fn can_encrypt(&self) -> bool {
        self.sessions.first().is_some_and(|s| s.ratchet.can_send())
    }

    /// Whether there is any session at all.
    pub fn has_session(&self) -> bool {
        !self.sessions.is_empty()
    }

    /// The active session.
    pub fn active(&self) -> Option<&Session> {
        self.sessions.first().map(|s| &**s)
    }

    /// Number of sessions held (active plus old).
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// X3DH initiator: checks the bundle, starts a session and makes it active.
    /// Returns whether the peer's identity changed from the one known before.
    pub fn initiate<R: RngCore + CryptoRng>(
        &mut self,
        identity: &IdentityKeyPair,
        bundle: &PreKeyBundle,
        rng: &mut R,
    ) -> Result<bool> {
        let ephemeral = KeyPair::generate(rng);
        let ratchet_key = KeyPair::generate(rng);
        self.initiate_with(identity, bundle, ephemeral, ratchet_key)
    }

    /// [`Self::initiate`] with the ephemeral and first ratchet key given (for test vectors).
    pub fn initiate_with(
        &mut self,
        identity: &IdentityKeyPair,
        bundle: &PreKeyBundle,
        ephemeral: KeyPair,
        ratchet_key: KeyPair,
    ) -> Result<bool> {
        let agreed = x3dh::initiate(identity, bundle, &ephemeral)?;
        let ratchet = RatchetState::initiator(&agreed.shared_secret, &agreed.signed_prekey, ratchet_key)?;
        let me = identity.public();
        let session = Session {
            ratchet,
            associated_data: agreed.associated_data,
            peer: bundle.identity,
            base: (me.identity_key, agreed.ephemeral_public),
            pending_x3dh: Some(X3dhHeader {
                ik: me.identity_key,
                sk: me.signing_key,
                ek: agreed.ephemeral_public,
                spk_id: bundle.signed_prekey_id,
                opk_id: bundle.one_time_prekey.map(|(id, _)| id),
            }),
        };
        Ok(self.promote_new(session))
    }

    /// Encrypts with the active session.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<WireMessage> {
        self.sessions.first_mut().ok_or(Error::NoSession("no session with this peer"))?.encrypt(plaintext)
    }

    /// Encrypts several messages; all or nothing.
    pub fn encrypt_many<T: AsRef<[u8]>>(&mut self, plaintexts: &[T]) -> Result<Vec<WireMessage>> {
        let session = self.sessions.first_mut().ok_or(Error::NoSession("no session with this peer"))?;
        let mut scratch = session.clone();
        let out = plaintexts.iter().map(|p| scratch.encrypt(p.as_ref())).collect::<Result<Vec<_>>>()?;
        *session = scratch;
        Ok(out)
    }

    /// Whether decrypting `message` may do public-key work (a DH ratchet step or X3DH),
    /// so that bindings know when releasing the GIL pays off.
    pub fn needs_public_key_work(&self, message: &WireMessage) -> bool {
        let session = match &message.x3dh {
            Some(x) => self.sessions.iter().find(|s| s.base == (x.ik, x.ek)),
            None => self.sessions.first(),
        };
        session.is_none_or(|s| s.ratchet.needs_dh_step(&message.header))
    }

    /// Decrypts a message from this peer. On any error nothing changes.
    pub fn decrypt<S: PreKeyStore + ?Sized, R: RngCore + CryptoRng>(
        &mut self,
        prekeys: &S,
        message: &WireMessage,
        limits: &Limits,
        rng: &mut R,
    ) -> Result<Decrypted> {
        if let Some(x) = &message.x3dh {
            if let Some(index) = self.sessions.iter().position(|s| s.base == (x.ik, x.ek)) {
                return self.decrypt_existing(index, message, limits, rng);
            }
            return self.decrypt_new(prekeys, x, message, limits, rng);
        }
        let mut first_error = None;
        for index in 0..self.sessions.len() {
            match self.decrypt_existing(index, message, limits, rng) {
                Ok(done) => return Ok(done),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or(Error::NoSession("no session with this peer")))
    }

    fn decrypt_existing<R: RngCore + CryptoRng>(
        &mut self,
        index: usize,
        message: &WireMessage,
        limits: &Limits,
        rng: &mut R,
    ) -> Result<Decrypted> {
        let session = self.sessions.get_mut(index).ok_or(Error::NoSession("no session with this peer"))?;
        let plaintext = session.decrypt(message, limits, rng)?;
        // A late message of a session with an identity the peer has since replaced still
        // decrypts, but must not silently make that old identity's session ours again.
        let same_identity = self.peer.is_none_or(|known| known == session.peer);
        if index > 0 && same_identity {
            // The peer is using this session: make it ours too, so both sides converge.
            let session = self.sessions.remove(index);
            self.sessions.insert(0, session);
        }
        Ok(Decrypted { plaintext, used_one_time_prekey: None, new_session: false, identity_changed: false })
    }

    fn decrypt_new<S: PreKeyStore + ?Sized, R: RngCore + CryptoRng>(
        &mut self,
        prekeys: &S,
        x: &X3dhHeader,
        message: &WireMessage,
        limits: &Limits,
        rng: &mut R,
    ) -> Result<Decrypted> {
        // Other encodings of the same ephemeral key (top bit set, plus a small-order point)
        // give the same X3DH secret but would not match `base`, so a replayed first
        // message would start a second session: only the one canonical encoding is taken.
        let ek = canonical_prime_order(&x.ek)?;
        let spk =
            prekeys.signed_prekey(x.spk_id).ok_or(Error::UnknownPreKey { kind: "signed", id: x.spk_id })?;
        let opk = match x.opk_id {
            Some(id) => {
                Some(prekeys.one_time_prekey(id).ok_or(Error::UnknownPreKey { kind: "one-time", id })?)
            }
            None => None,
        };
        let (shared, ad) = x3dh::respond(prekeys.identity(), spk, opk, &x.ik, &ek)?;
        let mut session = Session {
            ratchet: RatchetState::responder(&shared, spk.pair.clone()),
            associated_data: ad,
            peer: PublicIdentity { identity_key: x.ik, signing_key: x.sk },
            base: (x.ik, x.ek),
            pending_x3dh: None,
        };
        let plaintext = session.decrypt(message, limits, rng)?;
        let identity_changed = self.promote_new(session);
        Ok(Decrypted { plaintext, used_one_time_prekey: x.opk_id, new_session: true, identity_changed })
    }

    /// Makes `session` active, keeps at most [`MAX_OLD_SESSIONS`] older ones, and records
    /// the peer identity. Returns whether that identity changed.
    fn promote_new(&mut self, session: Session) -> bool {
        let changed = self.peer.is_some_and(|known| known != session.peer);
        self.peer = Some(session.peer);
        self.sessions.insert(0, Box::new(session));
        self.sessions.truncate(1 + MAX_OLD_SESSIONS);
        changed
    }
}

impl Session {
    /// True while we are the initiator and have not decrypted a reply yet, so every
    /// message still carries the X3DH fields.
    pub fn awaiting_reply(&self) -> bool {
        self.pending_x3dh.is_some()
    }
}

/// Refuses an X25519 public key unless it is the canonical encoding of a point of the
/// prime-order subgroup, the only keys an honest peer generates; returns it prepared for
/// the agreements.
pub(crate) fn canonical_prime_order(key: &PublicKeyBytes) -> Result<PreparedPublic> {
    if !is_canonical_u(key) {
        return Err(Error::InvalidKey("not the canonical encoding of a prime-order point"));
    }
    let point = curve25519_dalek::montgomery::MontgomeryPoint(*key)
        .to_edwards(0)
        .ok_or(Error::InvalidKey("not a point of the curve"))?;
    if point.is_small_order() || !point.is_torsion_free() {
        return Err(Error::InvalidKey("not the canonical encoding of a prime-order point"));
    }
    Ok(PreparedPublic::from_point(key, point))
}

/// Whether `key` is the canonical encoding of a u-coordinate: top bit clear and the
/// little-endian value below p = 2^255 - 19.
fn is_canonical_u(key: &PublicKeyBytes) -> bool {
    // p is ed ff .. ff 7f little-endian: at or above it only when the top byte is 0x7f,
    // the 30 middle bytes are all 0xff and the lowest is 0xed or more.
    let top = key[31];
    if top & 0x80 != 0 {
        return false;
    }
    !(top == 0x7f && key[1..31].iter().all(|b| *b == 0xff) && key[0] >= 0xed)
}

#[cfg(test)]
mod tests {
    use super::is_canonical_u;
    use curve25519_dalek::montgomery::MontgomeryPoint;

    /// The byte test agrees with a round trip through the field: a key is canonical when
    /// decoding and re-encoding its u-coordinate gives the same bytes.
    #[test]
    fn canonical_u_matches_the_field_round_trip() {
        let mut cases: Vec<[u8; 32]> = Vec::new();
        // Around p = 2^255 - 19 and 2^255, where encodings wrap.
        for low in 0xe0u8..=0xff {
            let mut k = [0xffu8; 32];
            k[0] = low;
            k[31] = 0x7f;
            cases.push(k);
            k[31] = 0xff;
            cases.push(k);
        }
        for seed in 0u8..=255 {
            let mut k = [seed; 32];
            k[1] = seed.wrapping_mul(31);
            cases.push(k);
        }
        for k in cases {
            // `to_edwards` fails for u = -1 only; every other canonical u has a form.
            let round_trip = MontgomeryPoint(k).to_edwards(0).map(|p| p.to_montgomery().to_bytes() == k);
            if let Some(same) = round_trip {
                assert_eq!(is_canonical_u(&k), same, "{k:02x?}");
            }
        }
    }
}
