//! The key derivation functions of PROTOCOL.md §3–4.

use hkdf::Hkdf;
use std::sync::OnceLock;

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// A 32-byte secret that wipes itself.
pub type Secret32 = Zeroizing<[u8; 32]>;

const RATCHET_INFO: &[u8] = b"WAC1/ratchet";
const MESSAGE_INFO: &[u8] = b"WAC1/message";
const X3DH_INFO: &[u8] = b"WAC1/X3DH";

/// `KDF_RK(rk, dh_out)` → (new root key, chain key).
pub fn kdf_rk(rk: &[u8; 32], dh_out: &[u8; 32]) -> (Secret32, Secret32) {
    let hk = Hkdf::<Sha256>::new(Some(rk), dh_out);
    let mut okm = Zeroizing::new([0u8; 64]);
    // 64 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
    let _ = hk.expand(RATCHET_INFO, okm.as_mut());
    split_64(&okm)
}

/// `KDF_CK(ck)` → (message key, next chain key).
pub fn kdf_ck(ck: &[u8; 32]) -> (Secret32, Secret32) {
    // Both outputs are HMACs under the same key: key the state once and clone it.
    let mut mk = Zeroizing::new([0u8; 32]);
    let mut next = Zeroizing::new([0u8; 32]);
    // HMAC accepts keys of any length, so construction cannot fail.
    if let Ok(keyed) = <Hmac<Sha256> as Mac>::new_from_slice(ck) {
        let mut first = keyed.clone();
        first.update(&[0x01]);
        mk.copy_from_slice(&first.finalize().into_bytes());
        let mut second = keyed;
        second.update(&[0x02]);
        next.copy_from_slice(&second.finalize().into_bytes());
    }
    (mk, next)
}

/// HMAC-SHA256 keyed with 32 zero bytes, the salt of every message-key expansion:
/// keyed once per process, cloned per message.
fn zero_salt_hmac() -> Hmac<Sha256> {
    static KEYED: OnceLock<Hmac<Sha256>> = OnceLock::new();
    KEYED
        .get_or_init(|| {
            <Hmac<Sha256> as Mac>::new_from_slice(&[0u8; 32])
                .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()))
        })
        .clone()
}

/// AES-256-GCM key and nonce derived from one message key.
pub struct MessageKeys {
    /// AES-256 key.
    pub key: Secret32,
    /// 96-bit nonce.
    pub nonce: [u8; 12],
}

impl core::fmt::Debug for MessageKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("MessageKeys(<redacted>)")
    }
}

/// `HKDF(salt = 0^32, ikm = mk, info = "WAC1/message", L = 44)`.
pub fn message_keys(mk: &[u8; 32]) -> MessageKeys {
    // HKDF-Extract is HMAC(salt, ikm); the zero salt's keyed state is precomputed.
    let mut extract = zero_salt_hmac();
    extract.update(mk);
    let prk = Zeroizing::new(<[u8; 32]>::from(extract.finalize().into_bytes()));
    let mut okm = Zeroizing::new([0u8; 44]);
    if let Ok(hk) = Hkdf::<Sha256>::from_prk(prk.as_ref()) {
        // 44 bytes is far below HKDF-SHA256's limit, so expand cannot fail.
        let _ = hk.expand(MESSAGE_INFO, okm.as_mut());
    }
    let mut key = Zeroizing::new([0u8; 32]);
    let mut nonce = [0u8; 12];
    let (k, n) = okm.split_at(32);
    key.copy_from_slice(k);
    nonce.copy_from_slice(n);
    MessageKeys { key, nonce }
}

/// The X3DH shared secret from the concatenated DH outputs.
pub fn x3dh_secret<D: core::ops::Deref<Target = [u8; 32]>>(dhs: &[D]) -> Secret32 {
    let mut ikm = Zeroizing::new(Vec::with_capacity(32 * 5));
    ikm.extend_from_slice(&[0xFFu8; 32]);
    for dh in dhs {
        ikm.extend_from_slice(&dh[..]);
    }
    let hk = Hkdf::<Sha256>::new(Some(&[0u8; 32]), &ikm);
    let mut out = Zeroizing::new([0u8; 32]);
    let _ = hk.expand(X3DH_INFO, out.as_mut());
    out
}

fn split_64(okm: &[u8; 64]) -> (Secret32, Secret32) {
    let mut a = Zeroizing::new([0u8; 32]);
    let mut b = Zeroizing::new([0u8; 32]);
    a.copy_from_slice(&okm[..32]);
    b.copy_from_slice(&okm[32..]);
    (a, b)
}
