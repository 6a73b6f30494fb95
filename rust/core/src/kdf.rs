//! The key derivation functions of PROTOCOL.md §3–4.

use hkdf::Hkdf;
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
    (hmac_byte(ck, 0x01), hmac_byte(ck, 0x02))
}

fn hmac_byte(key: &[u8; 32], byte: u8) -> Secret32 {
    // HMAC accepts keys of any length, so construction cannot fail.
    let mut out = Zeroizing::new([0u8; 32]);
    if let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) {
        mac.update(&[byte]);
        out.copy_from_slice(&mac.finalize().into_bytes());
    }
    out
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
    let hk = Hkdf::<Sha256>::new(Some(&[0u8; 32]), mk);
    let mut okm = Zeroizing::new([0u8; 44]);
    let _ = hk.expand(MESSAGE_INFO, okm.as_mut());
    let mut key = Zeroizing::new([0u8; 32]);
    let mut nonce = [0u8; 12];
    let (k, n) = okm.split_at(32);
    key.copy_from_slice(k);
    nonce.copy_from_slice(n);
    MessageKeys { key, nonce }
}

/// The X3DH shared secret from the concatenated DH outputs.
pub fn x3dh_secret(dhs: &[&[u8; 32]]) -> Secret32 {
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
