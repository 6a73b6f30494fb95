//! The Double Ratchet of PROTOCOL.md §4 (Signal revision 1, without header encryption).
//!
//! Decryption is transactional: every change is computed into locals first ("staged") and
//! written to `self` only after the AEAD tag has verified, so a failed decrypt leaves the
//! state exactly as it was.

use std::collections::VecDeque;

use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::aead;
use crate::error::{Error, Result};
use crate::kdf::{kdf_ck, kdf_rk, Secret32};
use crate::keys::{KeyPair, PreparedPublic, PublicKeyBytes};

/// Limits on skipped message keys; the protocol's values are the defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most message keys one header may make us skip in one chain (`MAX_SKIP`).
    pub max_skip: u32,
    /// Most skipped message keys a session keeps; the oldest is dropped beyond this.
    pub max_skipped_keys: usize,
}

/// Largest `max_skip` and `max_skipped_keys` any caller may set (the store applies the same
/// bound): both bound the work a forged header can cause before anything is authenticated.
pub const MAX_LIMIT: u32 = 100_000;

impl Limits {
    /// Checks both limits against [`MAX_LIMIT`].
    pub fn validate(&self) -> Result<()> {
        if self.max_skip > MAX_LIMIT || self.max_skipped_keys > MAX_LIMIT as usize {
            return Err(Error::InvalidMessage(format!(
                "max_skip and max_skipped_keys must be at most {MAX_LIMIT}"
            )));
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_skip: 1000, max_skipped_keys: 1000 }
    }
}

/// The message header: sender's ratchet key, previous chain length, message number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Sender's current ratchet public key.
    pub dh: PublicKeyBytes,
    /// Number of messages in the sender's previous sending chain.
    pub pn: u32,
    /// Message number in the current sending chain.
    pub n: u32,
}

impl Header {
    /// `dh || u32be(pn) || u32be(n)`.
    pub fn to_bytes(&self) -> [u8; 40] {
        let mut out = [0u8; 40];
        out[..32].copy_from_slice(&self.dh);
        out[32..36].copy_from_slice(&self.pn.to_be_bytes());
        out[36..].copy_from_slice(&self.n.to_be_bytes());
        out
    }
}

/// AEAD associated data: `AD || header bytes`.
fn associated_data(ad: &[u8; 64], header: &Header) -> [u8; 104] {
    let mut out = [0u8; 104];
    out[..64].copy_from_slice(ad);
    out[64..].copy_from_slice(&header.to_bytes());
    out
}

/// A message key kept for a message that has not arrived yet.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SkippedKey {
    pub(crate) dh: PublicKeyBytes,
    pub(crate) n: u32,
    /// Boxed: the deque and the staging list move their entries around (growth, removal),
    /// which leaves bitwise copies of whatever is inline in freed or spare memory; a boxed
    /// key stays in one allocation, wiped when dropped.
    pub(crate) mk: Box<Secret32>,
}

/// The state of one Double Ratchet session.
#[derive(Clone, PartialEq, Eq)]
pub struct RatchetState {
    pub(crate) root_key: Secret32,
    pub(crate) sending_ratchet: KeyPair,
    pub(crate) remote_ratchet: Option<PublicKeyBytes>,
    pub(crate) sending_chain: Option<Secret32>,
    pub(crate) receiving_chain: Option<Secret32>,
    pub(crate) ns: u32,
    pub(crate) nr: u32,
    pub(crate) pn: u32,
    pub(crate) skipped: VecDeque<SkippedKey>,
}

impl Drop for RatchetState {
    /// An empty chain's slot still holds whatever bytes were there when the state was built
    /// (often a key left on the stack); filling it makes the slot's own wipe cover them.
    fn drop(&mut self) {
        for chain in [&mut self.sending_chain, &mut self.receiving_chain] {
            if chain.is_none() {
                *chain = Some(Zeroizing::new([0u8; 32]));
            }
        }
    }
}

impl core::fmt::Debug for RatchetState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RatchetState")
            .field("sending_ratchet", &self.sending_ratchet)
            .field("ns", &self.ns)
            .field("nr", &self.nr)
            .field("pn", &self.pn)
            .field("skipped", &self.skipped.len())
            .finish_non_exhaustive()
    }
}

/// A read-only view of the state, as the vectors' `state_after` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateView {
    /// Root key.
    pub root_key: [u8; 32],
    /// Sending chain key, if any.
    pub sending_chain_key: Option<[u8; 32]>,
    /// Receiving chain key, if any.
    pub receiving_chain_key: Option<[u8; 32]>,
    /// Our ratchet public key.
    pub sending_ratchet_public: [u8; 32],
    /// The peer's ratchet public key, if known.
    pub remote_ratchet_public: Option<[u8; 32]>,
    /// Messages sent in the current sending chain.
    pub ns: u32,
    /// Messages received in the current receiving chain.
    pub nr: u32,
    /// Length of our previous sending chain.
    pub pn: u32,
    /// Skipped keys held.
    pub skipped_count: usize,
}

impl RatchetState {
    /// Initiator: first sending ratchet key is fresh, remote ratchet key is `SPK_B`.
    pub fn initiator(
        shared_secret: &[u8; 32],
        remote_spk: &PreparedPublic,
        ratchet: KeyPair,
    ) -> Result<Self> {
        let dh = ratchet.dh_prepared(remote_spk)?;
        let (root_key, sending_chain) = kdf_rk(shared_secret, &dh);
        Ok(Self {
            root_key,
            sending_ratchet: ratchet,
            remote_ratchet: Some(*remote_spk.bytes()),
            sending_chain: Some(sending_chain),
            receiving_chain: None,
            ns: 0,
            nr: 0,
            pn: 0,
            skipped: VecDeque::new(),
        })
    }

    /// Responder: first sending ratchet key pair is `SPK_B`; nothing to send with yet.
    pub fn responder(shared_secret: &[u8; 32], signed_prekey: KeyPair) -> Self {
        Self {
            root_key: Zeroizing::new(*shared_secret),
            sending_ratchet: signed_prekey,
            remote_ratchet: None,
            sending_chain: None,
            receiving_chain: None,
            ns: 0,
            nr: 0,
            pn: 0,
            skipped: VecDeque::new(),
        }
    }

    /// Whether this state can encrypt (the responder cannot until it has received).
    pub fn can_send(&self) -> bool {
        self.sending_chain.is_some()
    }

    /// Encrypts one message and advances the sending chain.
    pub fn encrypt(&mut self, plaintext: &[u8], ad: &[u8; 64]) -> Result<(Header, Vec<u8>)> {
        let ck = self.sending_chain.as_ref().ok_or(Error::NoSession("this session cannot send yet"))?;
        let next_ns = self.ns.checked_add(1).ok_or(Error::NoSession("sending chain exhausted"))?;
        let header = Header { dh: *self.sending_ratchet.public(), pn: self.pn, n: self.ns };
        let (mk, next_ck) = kdf_ck(ck);
        let ciphertext = aead::encrypt(&mk, plaintext, &associated_data(ad, &header))?;
        self.sending_chain = Some(next_ck);
        self.ns = next_ns;
        Ok((header, ciphertext))
    }

    /// Whether decrypting this header would run a DH ratchet step (public-key work).
    pub fn needs_dh_step(&self, header: &Header) -> bool {
        self.remote_ratchet != Some(header.dh) && self.skipped_index(header).is_none()
    }

    /// Decrypts one message. On any error, `self` is unchanged.
    pub fn decrypt<R: RngCore + CryptoRng>(
        &mut self,
        header: &Header,
        ciphertext: &[u8],
        ad: &[u8; 64],
        limits: &Limits,
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        let aad = associated_data(ad, header);

        if let Some(index) = self.skipped_index(header) {
            let mk = self.skipped.get(index).map(|k| &k.mk).ok_or(Error::DuplicateMessage)?;
            let plaintext = aead::decrypt(mk, ciphertext, &aad)?;
            self.skipped.remove(index);
            return Ok(plaintext);
        }

        let next_nr =
            header.n.checked_add(1).ok_or(Error::InvalidMessage("message number out of range".into()))?;
        let mut staged = Vec::new();

        if self.remote_ratchet == Some(header.dh) {
            let ck = self.receiving_chain.as_ref().ok_or(Error::DuplicateMessage)?;
            if header.n < self.nr {
                return Err(Error::DuplicateMessage);
            }
            let (ck_after, mk) = skip_to(ck, self.nr, header.n, &header.dh, limits, &mut staged)?;
            let plaintext = aead::decrypt(&mk, ciphertext, &aad)?;
            self.receiving_chain = Some(ck_after);
            self.nr = next_nr;
            self.keep_skipped(staged, limits);
            return Ok(plaintext);
        }

        // A new ratchet key from the peer: finish the current receiving chain up to `pn`,
        // then step the root chain twice (receive, then send with a fresh key pair).
        if let (Some(ck), Some(remote)) = (self.receiving_chain.as_ref(), self.remote_ratchet.as_ref()) {
            if header.pn > self.nr {
                skip_to(ck, self.nr, header.pn, remote, limits, &mut staged)?;
                // skip_to also derived the key *at* `pn`, which belongs to a message not yet seen.
            }
        }
        if header.n > limits.max_skip {
            return Err(Error::TooManySkipped { requested: u64::from(header.n), limit: limits.max_skip });
        }
        let remote = PreparedPublic::new(&header.dh);
        let dh_in = self.sending_ratchet.dh_prepared(&remote)?;
        let (root_mid, ck_in) = kdf_rk(&self.root_key, &dh_in);
        let (ck_in_after, mk) = skip_to(&ck_in, 0, header.n, &header.dh, limits, &mut staged)?;
        let plaintext = aead::decrypt(&mk, ciphertext, &aad)?;

        let ratchet = KeyPair::generate(rng);
        let dh_out = ratchet.dh_prepared(&remote)?;
        let (root_key, ck_out) = kdf_rk(&root_mid, &dh_out);

        self.pn = self.ns;
        self.ns = 0;
        self.nr = next_nr;
        self.remote_ratchet = Some(header.dh);
        self.root_key = root_key;
        self.sending_ratchet = ratchet;
        self.sending_chain = Some(ck_out);
        self.receiving_chain = Some(ck_in_after);
        self.keep_skipped(staged, limits);
        Ok(plaintext)
    }

    fn skipped_index(&self, header: &Header) -> Option<usize> {
        self.skipped.iter().position(|k| k.n == header.n && k.dh == header.dh)
    }

    fn keep_skipped(&mut self, staged: Vec<SkippedKey>, limits: &Limits) {
        self.skipped.extend(staged);
        while self.skipped.len() > limits.max_skipped_keys {
            self.skipped.pop_front();
        }
    }

    /// The vectors' view of this state. Contains secrets: for tests and debugging only.
    pub fn view(&self) -> StateView {
        StateView {
            root_key: *self.root_key,
            sending_chain_key: self.sending_chain.as_deref().copied(),
            receiving_chain_key: self.receiving_chain.as_deref().copied(),
            sending_ratchet_public: *self.sending_ratchet.public(),
            remote_ratchet_public: self.remote_ratchet,
            ns: self.ns,
            nr: self.nr,
            pn: self.pn,
            skipped_count: self.skipped.len(),
        }
    }
}

/// Advances a chain from message `from` to message `until`, staging the keys in between,
/// and returns (chain key after `until`, message key of `until`).
fn skip_to(
    ck: &[u8; 32],
    from: u32,
    until: u32,
    dh: &PublicKeyBytes,
    limits: &Limits,
    staged: &mut Vec<SkippedKey>,
) -> Result<(Secret32, Secret32)> {
    let gap = until.saturating_sub(from);
    if gap > limits.max_skip {
        return Err(Error::TooManySkipped { requested: u64::from(gap), limit: limits.max_skip });
    }
    let mut chain = Zeroizing::new(*ck);
    for n in from..until {
        let (mk, next) = kdf_ck(&chain);
        staged.push(SkippedKey { dh: *dh, n, mk: Box::new(mk) });
        chain = next;
    }
    let (mk, next) = kdf_ck(&chain);
    Ok((next, mk))
}
