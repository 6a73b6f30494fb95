//! X3DH key agreement (PROTOCOL.md §3), both roles.

use crate::error::Result;
use crate::kdf::{x3dh_secret, Secret32};
use crate::keys::{
    IdentityKeyPair, KeyPair, OneTimePreKey, PreKeyBundle, PreparedPublic, PublicKeyBytes, SignedPreKey,
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
    let dh1 = identity.dh().dh_prepared(&spk)?;
    let dh2 = ephemeral.dh(&bundle.identity.identity_key)?;
    let dh3 = ephemeral.dh_prepared(&spk)?;
    let shared_secret = match &bundle.one_time_prekey {
        Some((_, opk)) => {
            let dh4 = ephemeral.dh(opk)?;
            x3dh_secret(&[&dh1, &dh2, &dh3, &dh4])
        }
        None => x3dh_secret(&[&dh1, &dh2, &dh3]),
    };
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
    their_ephemeral: &PublicKeyBytes,
) -> Result<(Secret32, [u8; 64])> {
    let ek = PreparedPublic::new(their_ephemeral);
    let dh1 = signed_prekey.pair.dh(their_identity_key)?;
    let dh2 = identity.dh().dh_prepared(&ek)?;
    let dh3 = signed_prekey.pair.dh_prepared(&ek)?;
    let shared_secret = match one_time_prekey {
        Some(opk) => {
            let dh4 = opk.pair.dh_prepared(&ek)?;
            x3dh_secret(&[&dh1, &dh2, &dh3, &dh4])
        }
        None => x3dh_secret(&[&dh1, &dh2, &dh3]),
    };
    Ok((shared_secret, associated_data(their_identity_key, identity.dh().public())))
}

/// `AD = IK_initiator || IK_responder`.
pub fn associated_data(initiator: &PublicKeyBytes, responder: &PublicKeyBytes) -> [u8; 64] {
    let mut ad = [0u8; 64];
    ad[..32].copy_from_slice(initiator);
    ad[32..].copy_from_slice(responder);
    ad
}
