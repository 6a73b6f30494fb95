//! Passphrase-encrypted JSON backups of one peer's session or of the whole account.
//!
//! ```json
//! {"format": "wac1-store-backup", "version": 1, "kind": "session" | "account",
//!  "peer_id": "<only for kind session>",
//!  "kdf": {"algorithm": "argon2id", "version": 19, "memory_kib": 65536, "iterations": 3, "lanes": 1},
//!  "salt": "<b64 16 bytes>", "ciphertext": "<b64 nonce(24) || XChaCha20-Poly1305 output>"}
//! ```
//! The associated data binds the ciphertext to the kind, the peer id, the KDF parameters
//! and the salt, so none of the visible fields can be changed without the import failing.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize as SerdeSerialize};
use wac1::{Account, Serialize, SessionRecord};
use zeroize::Zeroizing;

use crate::codec::{Dec, Enc};
use crate::crypto::{random_bytes, KdfParams, SecretKey, MAX_SALT_LEN, SALT_LEN};
use crate::error::{Result, StoreError};
use crate::store::{PeerIdentity, Store, StoreOptions};

const FORMAT: &str = "wac1-store-backup";
const MAX_DOCUMENT: usize = 512 * 1024 * 1024;

#[derive(SerdeSerialize, Deserialize)]
struct Document {
    format: String,
    version: u32,
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    peer_id: Option<String>,
    kdf: serde_json::Value,
    salt: String,
    ciphertext: String,
}

fn backup_ad(kind: &str, peer: Option<&str>, kdf_json: &str, salt: &[u8]) -> Vec<u8> {
    let mut ad = b"WAC1-store/backup/1\0".to_vec();
    ad.extend_from_slice(kind.as_bytes());
    ad.push(0);
    if let Some(p) = peer {
        ad.push(1);
        ad.extend_from_slice(p.as_bytes());
    }
    ad.push(0);
    ad.extend_from_slice(kdf_json.as_bytes());
    ad.push(0);
    ad.extend_from_slice(salt);
    ad
}

fn seal_document(
    kind: &str,
    peer: Option<&str>,
    passphrase: &str,
    kdf: &KdfParams,
    payload: &[u8],
) -> Result<String> {
    if passphrase.is_empty() {
        return Err(StoreError::Invalid("the backup passphrase must not be empty".into()));
    }
    let salt = random_bytes::<SALT_LEN>();
    let kdf_json = kdf.to_json();
    let key = SecretKey::derive(passphrase.as_bytes(), &salt, kdf)?;
    let sealed = key.seal_raw(payload, &backup_ad(kind, peer, &kdf_json, &salt))?;
    let kdf_value: serde_json::Value =
        serde_json::from_str(&kdf_json).map_err(|e| StoreError::Storage(format!("kdf encoding: {e}")))?;
    let doc = Document {
        format: FORMAT.into(),
        version: 1,
        kind: kind.into(),
        peer_id: peer.map(str::to_owned),
        kdf: kdf_value,
        salt: STANDARD.encode(salt),
        ciphertext: STANDARD.encode(sealed),
    };
    serde_json::to_string(&doc).map_err(|e| StoreError::Storage(format!("backup encoding: {e}")))
}

/// Opens a backup document. Everything it asks for (KDF cost, salt and ciphertext sizes) is
/// checked before the key derivation: the document is not authenticated until it opens.
fn open_document(
    document: &str,
    passphrase: &str,
    kind: &str,
    allow_weak: bool,
) -> Result<(Document, Zeroizing<Vec<u8>>)> {
    let bad = |why: &str| StoreError::Invalid(format!("not a valid backup document: {why}"));
    if document.len() > MAX_DOCUMENT {
        return Err(bad("too large"));
    }
    let doc: Document = serde_json::from_str(document).map_err(|e| bad(&e.to_string()))?;
    if doc.format != FORMAT || doc.version != 1 {
        return Err(bad("unknown format or version"));
    }
    if doc.kind != kind {
        return Err(bad(&format!("it holds {:?}, not {kind:?}", doc.kind)));
    }
    let kdf_json = doc.kdf.to_string();
    let kdf = KdfParams::from_json(&kdf_json).ok_or_else(|| bad("bad or too costly kdf parameters"))?;
    kdf.check(allow_weak).map_err(|e| bad(&e.to_string()))?;
    // Re-encode canonically so the associated data matches what was sealed.
    let kdf_json = kdf.to_json();
    if doc.salt.len() > 4 * MAX_SALT_LEN / 3 + 4 {
        return Err(bad("salt too long"));
    }
    let salt = STANDARD.decode(&doc.salt).map_err(|_| bad("bad salt"))?;
    if salt.len() < SALT_LEN || salt.len() > MAX_SALT_LEN {
        return Err(bad("bad salt length"));
    }
    let sealed = STANDARD.decode(&doc.ciphertext).map_err(|_| bad("bad ciphertext encoding"))?;
    let key = SecretKey::derive(passphrase.as_bytes(), &salt, &kdf)?;
    let payload = key
        .open_raw(&sealed, &backup_ad(kind, doc.peer_id.as_deref(), &kdf_json, &salt))
        .ok_or_else(|| StoreError::Auth("wrong passphrase, or the backup was altered".into()))?;
    Ok((doc, payload))
}

fn encode_peer(e: &mut Enc, p: Option<&PeerIdentity>) {
    match p {
        Some(p) => {
            e.u8(1).bytes(&p.identity.identity_key).bytes(&p.identity.signing_key);
            e.u8(u8::from(p.verified)).opt_i64(p.verified_at);
        }
        None => {
            e.u8(0);
        }
    }
}

fn decode_peer(d: &mut Dec<'_>) -> Result<Option<PeerIdentity>> {
    if !d.flag()? {
        return Ok(None);
    }
    let key = |b: &[u8]| <[u8; 32]>::try_from(b).map_err(|_| StoreError::Corrupt("bad key in backup".into()));
    let identity_key = key(d.bytes()?)?;
    let signing_key = key(d.bytes()?)?;
    let verified = d.flag()?;
    let verified_at = d.opt_i64()?;
    Ok(Some(PeerIdentity {
        identity: wac1::PublicIdentity { identity_key, signing_key },
        verified,
        verified_at,
    }))
}

fn record_from(bytes: &[u8]) -> Result<SessionRecord> {
    SessionRecord::from_bytes(bytes)
        .map_err(|_| StoreError::Corrupt("the backup holds a malformed session".into()))
}

impl Store {
    /// One peer's session (with its identity and verified flag) as a passphrase-encrypted
    /// JSON document.
    pub fn export_session(&mut self, peer: &str, passphrase: &str) -> Result<String> {
        let record = self.session_copy(peer)?;
        if !record.has_session() {
            return Err(StoreError::NotFound(format!("no session with peer {peer:?}")));
        }
        let identity = self.peer_identity(peer)?;
        let mut e = Enc::new(2);
        e.bytes(&record.to_bytes());
        encode_peer(&mut e, identity.as_ref());
        let kdf = self.kdf_params();
        seal_document("session", Some(peer), passphrase, &kdf, &e.finish())
    }

    /// Restores a session exported with [`Self::export_session`] for the same peer id,
    /// replacing the current one. Restoring an old backup of a session that was used since
    /// makes the peer see replays, so restore only onto a device that lost the session.
    pub fn import_session(&mut self, peer: &str, document: &str, passphrase: &str) -> Result<()> {
        let (doc, payload) = open_document(document, passphrase, "session", self.allow_weak_kdf())?;
        if doc.peer_id.as_deref() != Some(peer) {
            return Err(StoreError::Invalid(format!(
                "the backup holds the session with {:?}, not with {peer:?}",
                doc.peer_id.unwrap_or_default()
            )));
        }
        let mut d = Dec::new(&payload, 2, "backup")?;
        let record = record_from(d.bytes()?)?;
        let identity = decode_peer(&mut d)?;
        d.finish()?;
        let peers: Vec<(String, PeerIdentity)> = identity.into_iter().map(|p| (peer.to_owned(), p)).collect();
        self.write_import(None, &[(peer.to_owned(), record)], &peers, &[])
    }

    /// The whole account (identity, prekeys, sessions, peer identities, key-value area)
    /// as a passphrase-encrypted JSON document. Message history is not included.
    pub fn export_account(&mut self, passphrase: &str) -> Result<String> {
        let account = self
            .account()
            .ok_or_else(|| StoreError::Storage("this store has no identity to export".into()))?
            .to_bytes();
        let sessions = self.all_rows("sessions")?;
        let peers = self.all_rows("peers")?;
        let kv = self.all_rows("kv")?;
        let mut e = Enc::new(3);
        e.bytes(&account);
        for rows in [&sessions, &peers, &kv] {
            e.u32(u32::try_from(rows.len()).unwrap_or(u32::MAX));
            for (k, v) in rows.iter() {
                e.str(k).bytes(v);
            }
        }
        let kdf = self.kdf_params();
        seal_document("account", None, passphrase, &kdf, &e.finish())
    }

    /// Creates a store in `dir` from an account backup. The directory must not hold a
    /// store with an identity already.
    pub fn import_account(
        dir: impl AsRef<Path>,
        password: &str,
        document: &str,
        passphrase: &str,
        opts: StoreOptions,
    ) -> Result<Store> {
        opts.kdf.check(crate::store::allow_weak_kdf(&opts))?;
        let (_, payload) =
            open_document(document, passphrase, "account", crate::store::allow_weak_kdf(&opts))?;
        let mut d = Dec::new(&payload, 3, "backup")?;
        let account = Account::from_bytes(d.bytes()?)
            .map_err(|_| StoreError::Corrupt("the backup holds a malformed account".into()))?;
        let mut sessions = Vec::new();
        for _ in 0..d.u32()? {
            let peer = d.string()?;
            sessions.push((peer, record_from(d.bytes()?)?));
        }
        let mut peers = Vec::new();
        for _ in 0..d.u32()? {
            let peer = d.string()?;
            let raw = d.bytes()?;
            let mut inner = Dec::new(raw, 1, "peer identity")?;
            let key = |b: &[u8]| {
                <[u8; 32]>::try_from(b).map_err(|_| StoreError::Corrupt("bad key in backup".into()))
            };
            let identity_key = key(inner.bytes()?)?;
            let signing_key = key(inner.bytes()?)?;
            let verified = inner.flag()?;
            let verified_at = inner.opt_i64()?;
            inner.finish()?;
            peers.push((
                peer,
                PeerIdentity {
                    identity: wac1::PublicIdentity { identity_key, signing_key },
                    verified,
                    verified_at,
                },
            ));
        }
        let mut kv = Vec::new();
        for _ in 0..d.u32()? {
            let key = d.string()?;
            kv.push((key, Zeroizing::new(d.bytes()?.to_vec())));
        }
        d.finish()?;
        let mut store = Store::open(dir, password, opts)?;
        if store.has_identity() {
            return Err(StoreError::Invalid(
                "the target store already has an identity; import into an empty directory".into(),
            ));
        }
        store.write_import(Some(account), &sessions, &peers, &kv)?;
        Ok(store)
    }
}
