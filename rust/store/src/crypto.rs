//! Sealing of records at rest: a random data key, wrapped by an Argon2id key derived from
//! the password, and XChaCha20-Poly1305 with random 192-bit nonces for every record.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use crate::error::{Result, StoreError};

/// Version byte at the start of every sealed record.
const RECORD_VERSION: u8 = 1;
/// Length of an XChaCha20-Poly1305 nonce.
pub const NONCE_LEN: usize = 24;
/// Length of the Poly1305 tag.
pub const TAG_LEN: usize = 16;
/// Length of the random salt of a password KDF.
pub const SALT_LEN: usize = 16;
/// The longest salt accepted from a file or a document.
pub const MAX_SALT_LEN: usize = 64;

/// Argon2id cost parameters. Stored beside what they protect so they can be raised later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB (default 65536 = 64 MiB).
    pub memory_kib: u32,
    /// Passes over memory (default 3).
    pub iterations: u32,
    /// Degree of parallelism (1).
    pub lanes: u32,
}

impl Default for KdfParams {
    fn default() -> Self {
        Self { memory_kib: 65536, iterations: 3, lanes: 1 }
    }
}

/// The OWASP floor for Argon2id: at least 19 MiB of memory...
pub const MIN_MEMORY_KIB: u32 = 19 * 1024;
/// ...and at least two passes.
pub const MIN_ITERATIONS: u32 = 2;
/// The most memory any store, `meta` row or backup document may ask for (256 MiB): the
/// parameters are read before anything is authenticated, so they must not exhaust memory.
pub const MAX_MEMORY_KIB: u32 = 256 * 1024;
/// The most passes (bounds the time an unauthenticated document can make us spend).
pub const MAX_ITERATIONS: u32 = 10;
/// The most lanes.
pub const MAX_LANES: u32 = 8;

impl KdfParams {
    /// Refuses parameters below the OWASP floor or above the caps.
    pub fn validate(&self) -> Result<()> {
        self.check(false)
    }

    /// Refuses parameters above the caps that keep an unauthenticated request (a `meta`
    /// row, a backup document) from exhausting memory or time, and, unless `allow_weak`
    /// (test builds only, see `StoreOptions`), below the OWASP floor.
    pub fn check(&self, allow_weak: bool) -> Result<()> {
        self.check_caps()?;
        if (self.memory_kib < MIN_MEMORY_KIB || self.iterations < MIN_ITERATIONS) && !allow_weak {
            return Err(StoreError::Invalid(format!(
                "kdf parameters too weak: Argon2id needs at least {MIN_MEMORY_KIB} KiB (19 MiB) of memory \
                 and {MIN_ITERATIONS} passes (OWASP)"
            )));
        }
        Ok(())
    }

    /// The caps alone: what Argon2 accepts and what cannot exhaust memory or time.
    pub fn check_caps(&self) -> Result<()> {
        if self.lanes == 0 || self.lanes > MAX_LANES {
            return Err(StoreError::Invalid(format!("kdf lanes must be between 1 and {MAX_LANES}")));
        }
        if self.memory_kib > MAX_MEMORY_KIB || self.iterations > MAX_ITERATIONS {
            return Err(StoreError::Invalid(format!(
                "kdf parameters too large: at most {MAX_MEMORY_KIB} KiB of memory and {MAX_ITERATIONS} passes"
            )));
        }
        if self.memory_kib < 8 * self.lanes || self.iterations == 0 {
            return Err(StoreError::Invalid(
                "kdf_memory_kib must be at least 8 per lane and kdf_iterations at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The stronger of two parameter sets, field by field (rewrapping never weakens).
    pub fn max(self, other: Self) -> Self {
        Self {
            memory_kib: self.memory_kib.max(other.memory_kib),
            iterations: self.iterations.max(other.iterations),
            lanes: self.lanes.max(other.lanes),
        }
    }

    /// Canonical text form, used in associated data and in the stored metadata.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"algorithm\":\"argon2id\",\"version\":19,\"memory_kib\":{},\"iterations\":{},\"lanes\":{}}}",
            self.memory_kib, self.iterations, self.lanes
        )
    }

    /// Parses [`Self::to_json`] output (or any JSON with those fields).
    pub fn from_json(text: &str) -> Option<Self> {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        if v.get("algorithm")?.as_str()? != "argon2id" || v.get("version")?.as_u64()? != 19 {
            return None;
        }
        let field = |name: &str| v.get(name).and_then(|x| x.as_u64()).and_then(|x| u32::try_from(x).ok());
        let params = Self {
            memory_kib: field("memory_kib")?,
            iterations: field("iterations")?,
            lanes: field("lanes")?,
        };
        params.check_caps().ok()?;
        Some(params)
    }
}

/// A 256-bit symmetric key that wipes itself. Never printed.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<[u8; 32]>);

impl core::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl SecretKey {
    /// A fresh random key.
    pub fn random() -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(k.as_mut());
        Self(k)
    }

    /// Argon2id(password, salt) with the given parameters.
    pub fn derive(password: &[u8], salt: &[u8], params: &KdfParams) -> Result<Self> {
        params.check_caps()?;
        if salt.len() < SALT_LEN || salt.len() > MAX_SALT_LEN {
            return Err(StoreError::Invalid(format!(
                "a kdf salt must be {SALT_LEN} to {MAX_SALT_LEN} bytes"
            )));
        }
        let p = Params::new(params.memory_kib, params.iterations, params.lanes, Some(32))
            .map_err(|e| StoreError::Invalid(format!("bad kdf parameters: {e}")))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
        let mut out = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(password, salt, out.as_mut())
            .map_err(|e| StoreError::Invalid(format!("key derivation failed: {e}")))?;
        Ok(Self(out))
    }

    /// The raw key, for tests that search the files for it.
    #[cfg(test)]
    pub(crate) fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// A key for another purpose, derived with HMAC-SHA256 under a label.
    pub fn subkey(&self, label: &[u8]) -> Self {
        Self(Zeroizing::new(self.mac(label)))
    }

    /// HMAC-SHA256 of `data` under this key.
    pub fn mac(&self, data: &[u8]) -> [u8; 32] {
        use hmac::Mac;
        let mut m = self.hmac();
        m.update(data);
        m.finalize().into_bytes().into()
    }

    /// An HMAC-SHA256 state keyed with this key, to clone for many messages.
    pub fn hmac(&self) -> hmac::Hmac<sha2::Sha256> {
        use hmac::Mac;
        <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(self.0.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
    }

    fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut k = Zeroizing::new([0u8; 32]);
        if bytes.len() != 32 {
            return None;
        }
        k.copy_from_slice(bytes);
        Some(Self(k))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::from_slice(self.0.as_ref()))
    }

    /// `nonce || ciphertext || tag` of `plaintext` under `ad`.
    pub fn seal_raw(&self, plaintext: &[u8], ad: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher()
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: ad })
            .map_err(|_| StoreError::Storage("encryption failed".into()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens [`Self::seal_raw`] output; `None` when the tag does not verify.
    pub fn open_raw(&self, sealed: &[u8], ad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        self.cipher()
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: ad })
            .ok()
            .map(Zeroizing::new)
    }

    /// Wraps another key (the data key) under this one.
    pub fn wrap(&self, key: &SecretKey, ad: &[u8]) -> Result<Vec<u8>> {
        self.seal_raw(key.0.as_ref(), ad)
    }

    /// Unwraps a key; `None` when the tag does not verify.
    pub fn unwrap_key(&self, wrapped: &[u8], ad: &[u8]) -> Option<SecretKey> {
        let raw = self.open_raw(wrapped, ad)?;
        Self::from_slice(&raw)
    }

    /// Seals one record: `version || nonce || ciphertext || tag`, bound by associated data
    /// to its table and row key so that records cannot be swapped across rows or tables.
    pub fn seal(&self, table: &str, key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let ad = record_ad(table, key);
        let body = self.seal_raw(plaintext, &ad)?;
        let mut out = Vec::with_capacity(1 + body.len());
        out.push(RECORD_VERSION);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Opens a record sealed by [`Self::seal`] for the same table and row key.
    pub fn open(&self, table: &str, key: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let corrupt = || {
            StoreError::Corrupt(format!(
                "a record in table '{table}' is damaged or was moved from another row"
            ))
        };
        let (version, body) = sealed.split_first().ok_or_else(corrupt)?;
        if *version != RECORD_VERSION {
            return Err(corrupt());
        }
        self.open_raw(body, &record_ad(table, key)).ok_or_else(corrupt)
    }
}

fn record_ad(table: &str, key: &[u8]) -> Vec<u8> {
    let mut ad = Vec::with_capacity(24 + table.len() + key.len());
    ad.extend_from_slice(b"WAC1-store/record/1\0");
    ad.extend_from_slice(table.as_bytes());
    ad.push(0);
    ad.extend_from_slice(key);
    ad
}

/// Random bytes (salts).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    OsRng.fill_bytes(&mut b);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_bound_to_table_and_key() {
        let k = SecretKey::random();
        let s = k.seal("sessions", b"alice", b"state").unwrap();
        assert_eq!(&k.open("sessions", b"alice", &s).unwrap()[..], b"state");
        assert!(matches!(k.open("sessions", b"bob", &s), Err(StoreError::Corrupt(_))));
        assert!(matches!(k.open("kv", b"alice", &s), Err(StoreError::Corrupt(_))));
        let mut t = s.clone();
        let last = t.len() - 1;
        t[last] ^= 1;
        assert!(k.open("sessions", b"alice", &t).is_err());
        assert!(k.open("sessions", b"alice", &s[..10]).is_err());
        assert!(k.open("sessions", b"alice", &[]).is_err());
        assert!(SecretKey::random().open("sessions", b"alice", &s).is_err());
    }

    #[test]
    fn nonces_are_fresh() {
        let k = SecretKey::random();
        assert_ne!(k.seal("t", b"k", b"x").unwrap(), k.seal("t", b"k", b"x").unwrap());
    }

    #[test]
    fn kdf_params_round_trip() {
        let p = KdfParams { memory_kib: 64, iterations: 1, lanes: 1 };
        assert_eq!(KdfParams::from_json(&p.to_json()), Some(p));
        assert_eq!(KdfParams::from_json("{}"), None);
        assert!(KdfParams { memory_kib: 4, iterations: 1, lanes: 1 }.validate().is_err());
        let a = SecretKey::derive(b"pw", &[1u8; 16], &p).unwrap();
        let b = SecretKey::derive(b"pw", &[1u8; 16], &p).unwrap();
        let data = SecretKey::random();
        let w = a.wrap(&data, b"ad").unwrap();
        assert!(b.unwrap_key(&w, b"ad").is_some());
        assert!(SecretKey::derive(b"px", &[1u8; 16], &p).unwrap().unwrap_key(&w, b"ad").is_none());
    }
}
