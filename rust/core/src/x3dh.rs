//! X3DH key agreement (PROTOCOL.md §3), both roles.

use crate::error::Result;
use crate::kdf::{x3dh_secret, Secret32};
use crate::keys::{
    dh_many, IdentityKeyPair, KeyPair, OneTimePreKey, PreKeyBundle, PreparedPublic, PublicKeyBytes,
    SignedPreKey,
};

/// What the initiator learns from X3DH.
#[derive(Debug)]
pub struct InitiatorResult {
    /// The shared secret `SK`.
    pub shared_secret: Secret32,
    /// `IK_A || IK_B`.
    pub associated_data: [u8; 64],
    /// The ephemeral public key `EK_A`, sent in every prekey message.
    pub ephemeral_public: PublicKeyBytes,
    /// `SPK_B`, prepared: the first ratchet step agrees with it once more.
    pub signed_prekey: PreparedPublic,
}

/// Initiator side: checks the bundle, then derives `SK` and `AD` with the given ephemeral key.
pub fn initiate(
    identity: &IdentityKeyPair,
    bundle: &PreKeyBundle,
    ephemeral: &KeyPair,
) -> Result<InitiatorResult> {
    bundle.verify()?;
    let spk = PreparedPublic::new(&bundle.signed_prekey);
    let ik = PreparedPublic::new(&bundle.identity.identity_key);
    let opk = bundle.one_time_prekey.as_ref().map(|(_, key)| PreparedPublic::new(key));
    // DH1 = DH(IK_A, SPK_B), DH2 = DH(EK_A, IK_B), DH3 = DH(EK_A, SPK_B), DH4 = DH(EK_A, OPK_B)
    let mut pairs = vec![(identity.dh(), &spk), (ephemeral, &ik), (ephemeral, &spk)];
    if let Some(opk) = &opk {
        pairs.push((ephemeral, opk));
    }
    let shared_secret = x3dh_secret(&dh_many(&pairs)?);
    Ok(InitiatorResult {
        shared_secret,
        associated_data: associated_data(identity.dh().public(), &bundle.identity.identity_key),
        ephemeral_public: *ephemeral.public(),
        signed_prekey: spk,
    })
}

/// Responder side: derives `SK` and `AD` from the initiator's `IK_A` and `EK_A`.
pub fn respond(
    identity: &IdentityKeyPair,
    signed_prekey: &SignedPreKey,
    one_time_prekey: Option<&OneTimePreKey>,
    their_identity_key: &PublicKeyBytes,
    their_ephemeral: &PreparedPublic,
) -> Result<(Secret32, [u8; 64])> {
    let ik = PreparedPublic::new(their_identity_key);
    let ek = their_ephemeral;
    // The initiator's four agreements, from this side.
    let mut pairs = vec![(&signed_prekey.pair, &ik), (identity.dh(), ek), (&signed_prekey.pair, ek)];
    if let Some(opk) = one_time_prekey {
        pairs.push((&opk.pair, ek));
    }
    let shared_secret = x3dh_secret(&dh_many(&pairs)?);
    Ok((shared_secret, associated_data(their_identity_key, identity.dh().public())))
}

/// `AD = IK_initiator || IK_responder`.
pub fn associated_data(initiator: &PublicKeyBytes, responder: &PublicKeyBytes) -> [u8; 64] {
    let mut ad = [0u8; 64];
    ad[..32].copy_from_slice(initiator);
    ad[32..].copy_from_slice(responder);
    ad
}
