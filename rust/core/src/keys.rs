//! Key material of PROTOCOL.md §2: identity, signed prekeys, one-time prekeys, bundles.
//!
//! Private halves live only inside these types; they are wiped on drop and never printed.

use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::EdwardsPoint;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::{CryptoRng, RngCore};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::kdf::Secret32;

/// A raw 32-byte public key (X25519 or Ed25519).
pub type PublicKeyBytes = [u8; 32];

/// An X25519 key pair. The secret is zeroized on drop (x25519-dalek's `zeroize` feature).
#[derive(Clone)]
pub struct KeyPair {
    secret: StaticSecret,
    public: PublicKeyBytes,
}

impl KeyPair {
    /// A fresh random key pair.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self::from_secret_bytes(random_32(rng))
    }

    /// Rebuilds a key pair from its private scalar (clamping happens inside X25519).
    pub fn from_secret_bytes(bytes: Secret32) -> Self {
        let secret = StaticSecret::from(*bytes);
        let public = PublicKey::from(&secret).to_bytes();
        Self { secret, public }
    }

    /// The public half.
    pub fn public(&self) -> &PublicKeyBytes {
        &self.public
    }

    /// The private scalar, for serialization only.
    pub(crate) fn secret_bytes(&self) -> Secret32 {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// X25519 with the peer's public key. An all-zero output (low-order peer key) is refused.
    pub fn dh(&self, their_public: &PublicKeyBytes) -> Result<Secret32> {
        self.dh_prepared(&PreparedPublic::new(their_public))
    }

    /// X25519 with a peer key prepared once for several agreements.
    pub fn dh_prepared(&self, their_public: &PreparedPublic) -> Result<Secret32> {
        let shared = match &their_public.edwards {
            // [clamp(k)]P on the Edwards form uses the vectorized backend; `mul_clamped`
            // multiplies by the clamped integer itself (not reduced mod ℓ), so the result is
            // X25519's exactly, torsion components included.
            Some(point) => {
                let scalar = Zeroizing::new(self.secret.to_bytes());
                Zeroizing::new(point.mul_clamped(*scalar).to_montgomery().to_bytes())
            }
            None => {
                Zeroizing::new(self.secret.diffie_hellman(&PublicKey::from(their_public.bytes)).to_bytes())
            }
        };
        if shared.iter().all(|b| *b == 0) {
            return Err(Error::InvalidKey("low-order public key (all-zero DH output)"));
        }
        Ok(shared)
    }
}

impl core::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &crate::encoding::b64(&self.public))
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl PartialEq for KeyPair {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.public == other.public && bool::from(self.secret.as_bytes().ct_eq(other.secret.as_bytes()))
    }
}
impl Eq for KeyPair {}

/// Several X25519 agreements at once, in order. Same results and the same refusal of an
/// all-zero output as [`KeyPair::dh_prepared`] for each pair, but the products on the
/// Edwards form share one field inversion on their way back to Montgomery u-coordinates
/// (an X3DH side does three or four agreements).
pub fn dh_many(pairs: &[(&KeyPair, &PreparedPublic)]) -> Result<Vec<Secret32>> {
    let mut products: Zeroizing<Vec<EdwardsPoint>> = Zeroizing::new(Vec::with_capacity(pairs.len()));
    for (ours, theirs) in pairs {
        if let Some(point) = &theirs.edwards {
            let scalar = Zeroizing::new(ours.secret.to_bytes());
            products.push(point.mul_clamped(*scalar));
        }
    }
    let converted: Zeroizing<Vec<MontgomeryPoint>> =
        Zeroizing::new(EdwardsPoint::to_montgomery_batch(&products));
    let mut converted = converted.iter();
    let mut out = Vec::with_capacity(pairs.len());
    for (ours, theirs) in pairs {
        // One converted product per pair with an Edwards form, in the same order.
        let shared = match theirs.edwards.as_ref().and_then(|_| converted.next()) {
            Some(u) => Zeroizing::new(u.to_bytes()),
            // Twist points (no Edwards form) keep the ladder, one by one.
            None => Zeroizing::new(ours.secret.diffie_hellman(&PublicKey::from(theirs.bytes)).to_bytes()),
        };
        if shared.iter().all(|b| *b == 0) {
            return Err(Error::InvalidKey("low-order public key (all-zero DH output)"));
        }
        out.push(shared);
    }
    Ok(out)
}

/// A peer's X25519 public key, decompressed once to the Edwards form so that every
/// agreement with it runs on the faster Edwards arithmetic. Keys that are not on the curve
/// (on its twist) keep the Montgomery ladder.
#[derive(Clone, Debug)]
pub struct PreparedPublic {
    bytes: PublicKeyBytes,
    edwards: Option<EdwardsPoint>,
}

impl PreparedPublic {
    /// Prepares `public` for one or more agreements.
    pub fn new(public: &PublicKeyBytes) -> Self {
        // Either sign gives the same u-coordinate after multiplication.
        Self { bytes: *public, edwards: MontgomeryPoint(*public).to_edwards(0) }
    }

    /// A key already decompressed by the caller (`point` must be `public`'s Edwards form).
    pub(crate) fn from_point(public: &PublicKeyBytes, point: EdwardsPoint) -> Self {
        Self { bytes: *public, edwards: Some(point) }
    }

    /// The raw key.
    pub fn bytes(&self) -> &PublicKeyBytes {
        &self.bytes
    }
}

/// The public identity of an account: X25519 `IK` and Ed25519 `SK`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicIdentity {
    /// X25519 identity key.
    pub identity_key: PublicKeyBytes,
    /// Ed25519 signing key.
    pub signing_key: PublicKeyBytes,
}

impl core::fmt::Debug for PublicIdentity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PublicIdentity").field("fingerprint", &crate::fingerprint::fingerprint(self)).finish()
    }
}

/// An account's identity: the X25519 key pair `IK` and the Ed25519 key pair `SK`.
#[derive(Clone)]
pub struct IdentityKeyPair {
    pub(crate) dh: KeyPair,
    pub(crate) signing: SigningKey,
}

impl IdentityKeyPair {
    /// A fresh random identity.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let dh = KeyPair::generate(rng);
        let signing = SigningKey::from_bytes(&random_32(rng));
        Self { dh, signing }
    }

    /// Rebuilds an identity from its two private keys.
    pub fn from_secret_bytes(dh_secret: Secret32, signing_secret: Secret32) -> Self {
        Self { dh: KeyPair::from_secret_bytes(dh_secret), signing: SigningKey::from_bytes(&signing_secret) }
    }

    /// The public half.
    pub fn public(&self) -> PublicIdentity {
        PublicIdentity {
            identity_key: *self.dh.public(),
            signing_key: self.signing.verifying_key().to_bytes(),
        }
    }

    /// The X25519 identity key pair.
    pub fn dh(&self) -> &KeyPair {
        &self.dh
    }

    /// Signs a signed prekey: `Ed25519(SK, "WAC1/spk" || u32be(id) || pub)`.
    pub fn sign_prekey(&self, key_id: u32, public: &PublicKeyBytes) -> [u8; 64] {
        self.signing.sign(&signed_prekey_message(key_id, public)).to_bytes()
    }

    pub(crate) fn signing_secret(&self) -> Secret32 {
        Zeroizing::new(self.signing.to_bytes())
    }
}

impl core::fmt::Debug for IdentityKeyPair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IdentityKeyPair")
            .field("public", &self.public())
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl PartialEq for IdentityKeyPair {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.dh == other.dh && bool::from(self.signing.to_bytes().ct_eq(&other.signing.to_bytes()))
    }
}
impl Eq for IdentityKeyPair {}

/// The bytes an SPK signature covers.
pub fn signed_prekey_message(key_id: u32, public: &PublicKeyBytes) -> [u8; 44] {
    let mut msg = [0u8; 44];
    msg[..8].copy_from_slice(b"WAC1/spk");
    msg[8..12].copy_from_slice(&key_id.to_be_bytes());
    msg[12..].copy_from_slice(public);
    msg
}

/// Verifies an SPK signature with the owner's Ed25519 key (strict: no malleable or
/// small-order signatures).
pub fn verify_signed_prekey(
    signing_key: &PublicKeyBytes,
    key_id: u32,
    public: &PublicKeyBytes,
    signature: &[u8; 64],
) -> Result<()> {
    let vk = VerifyingKey::from_bytes(signing_key).map_err(|_| Error::InvalidSignature)?;
    let sig = Signature::from_bytes(signature);
    vk.verify_strict(&signed_prekey_message(key_id, public), &sig).map_err(|_| Error::InvalidSignature)
}

/// A signed prekey with its private half.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedPreKey {
    /// Its id (`key_id`).
    pub id: u32,
    /// The key pair.
    pub pair: KeyPair,
    /// Ed25519 signature by the identity.
    pub signature: [u8; 64],
    /// When it was made, seconds since the Unix epoch (for rotation).
    pub created_at: u64,
}

impl SignedPreKey {
    /// Makes and signs a fresh signed prekey.
    pub fn generate<R: RngCore + CryptoRng>(
        identity: &IdentityKeyPair,
        id: u32,
        created_at: u64,
        rng: &mut R,
    ) -> Self {
        let pair = KeyPair::generate(rng);
        let signature = identity.sign_prekey(id, pair.public());
        Self { id, pair, signature, created_at }
    }
}

/// A one-time prekey with its private half.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneTimePreKey {
    /// Its id (`key_id`).
    pub id: u32,
    /// The key pair.
    pub pair: KeyPair,
}

/// Another user's prekey bundle as the server hands it out (§6.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreKeyBundle {
    /// The owner's identity.
    pub identity: PublicIdentity,
    /// Signed prekey id.
    pub signed_prekey_id: u32,
    /// Signed prekey public key.
    pub signed_prekey: PublicKeyBytes,
    /// Signature over the signed prekey.
    pub signed_prekey_signature: [u8; 64],
    /// A one-time prekey (id, public key), if the server had one left.
    pub one_time_prekey: Option<(u32, PublicKeyBytes)>,
}

impl PreKeyBundle {
    /// Checks the signed prekey signature (§3 step 1).
    pub fn verify(&self) -> Result<()> {
        verify_signed_prekey(
            &self.identity.signing_key,
            self.signed_prekey_id,
            &self.signed_prekey,
            &self.signed_prekey_signature,
        )
    }
}

pub(crate) fn random_32<R: RngCore + CryptoRng>(rng: &mut R) -> Secret32 {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(bytes.as_mut());
    bytes
}
