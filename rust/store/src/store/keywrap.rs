//! Wrapping of the data key under the password (Argon2id), password change and wipe.

use std::fs::{self};

use rusqlite::{params, Connection};
use sha2::{Digest, Sha256};

use super::*;
use crate::crypto::{random_bytes, KdfParams, SecretKey, SALT_LEN};
use crate::error::{Result, StoreError};

pub(super) fn wrap_ad(kdf_json: &str, salt: &[u8]) -> Vec<u8> {
    let mut ad = WRAP_AD.to_vec();
    ad.extend_from_slice(kdf_json.as_bytes());
    ad.push(0);
    ad.extend_from_slice(salt);
    ad
}

pub(super) fn wrap_check(kdf_json: &str, salt: &[u8], wrapped: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"WAC1-store/wrap-check/1\0");
    h.update(kdf_json.as_bytes());
    h.update([0]);
    h.update(salt);
    h.update(wrapped);
    h.finalize().to_vec()
}

/// The metadata rows that wrap `data_key` under `password`.
pub(super) fn wrap_rows(
    password: &str,
    kdf: &KdfParams,
    data_key: &SecretKey,
) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let salt = random_bytes::<SALT_LEN>();
    let kdf_json = kdf.to_json();
    let kek = SecretKey::derive(password.as_bytes(), &salt, kdf)?;
    let wrapped = kek.wrap(data_key, &wrap_ad(&kdf_json, &salt))?;
    let check = wrap_check(&kdf_json, &salt, &wrapped);
    Ok(vec![
        ("kdf", kdf_json.into_bytes()),
        ("salt", salt.to_vec()),
        ("wrapped_key", wrapped),
        ("wrap_check", check),
    ])
}

/// Unwraps the data key with `password`, returning it with the stored KDF parameters:
/// [`StoreError::Auth`] when the password is wrong, [`StoreError::Corrupt`] when the
/// metadata is damaged. The parameters are checked (caps, floor) before any derivation: the
/// `meta` table is not authenticated until the key unwraps.
pub(super) fn unwrap_data_key(
    conn: &Connection,
    password: &str,
    allow_weak: bool,
) -> Result<(SecretKey, KdfParams)> {
    let version = meta_get(conn, "format")?;
    if version == b"1" {
        return Err(StoreError::Corrupt(
            "the store was written by an older version (format 1) that this version cannot open; export \
             the account with the older version and import it here"
                .into(),
        ));
    }
    if version != FORMAT_VERSION.as_bytes() {
        return Err(StoreError::Corrupt("the store has an unknown format version".into()));
    }
    let kdf_raw = meta_get(conn, "kdf")?;
    let salt = meta_get(conn, "salt")?;
    let wrapped = meta_get(conn, "wrapped_key")?;
    let check = meta_get(conn, "wrap_check")?;
    let kdf_json = String::from_utf8(kdf_raw).map_err(|_| StoreError::Corrupt("bad kdf metadata".into()))?;
    if wrap_check(&kdf_json, &salt, &wrapped) != check {
        return Err(StoreError::Corrupt(
            "the store's wrapped key is damaged; restore the store from a backup".into(),
        ));
    }
    let kdf =
        KdfParams::from_json(&kdf_json).ok_or_else(|| StoreError::Corrupt("bad kdf metadata".into()))?;
    kdf.check(allow_weak).map_err(|e| {
        StoreError::Corrupt(format!("the store's key derivation parameters are refused: {e}"))
    })?;
    if salt.len() != SALT_LEN {
        return Err(StoreError::Corrupt("the store's salt has the wrong length".into()));
    }
    let kek = SecretKey::derive(password.as_bytes(), &salt, &kdf)?;
    let key = kek
        .unwrap_key(&wrapped, &wrap_ad(&kdf_json, &salt))
        .ok_or_else(|| StoreError::Auth("wrong password for the local store".into()))?;
    Ok((key, kdf))
}

impl Store {
    // ----- password ---------------------------------------------------------------------

    /// The KDF parameters for a new wrapping (password change, export): the stronger of
    /// the stored ones and the ones the store was opened with, never weaker than stored.
    pub fn kdf_params(&self) -> KdfParams {
        self.kdf.max(self.opts.kdf)
    }

    /// Re-wraps the data key under a new password (records are not re-sealed), with
    /// [`Self::kdf_params`].
    pub fn change_password(&mut self, old: &str, new: &str) -> Result<()> {
        if new.is_empty() {
            return Err(StoreError::Invalid("the store password must not be empty".into()));
        }
        let allow = open::allow_weak(&self.opts);
        let kdf = self.kdf_params();
        kdf.check(allow)?;
        let (current, _) = unwrap_data_key(&self.keys, old, allow)?;
        let rows = wrap_rows(new, &kdf, &current)?;
        let tx = Self::begin(self.pid, &mut self.keys)?;
        for (name, value) in &rows {
            tx.execute("UPDATE meta SET value = ?2 WHERE name = ?1", params![name, value])?;
        }
        tx.commit()?;
        self.kdf = kdf;
        Ok(())
    }

    /// Deletes every file of this account's store and the directory if it is then empty.
    pub fn wipe(self) -> Result<()> {
        check_pid(self.pid)?;
        let Self { dir, keys, msgs, _lock, .. } = self;
        // Overwrite the wrapped key first: without it nothing in the files can be opened.
        keys.execute_batch(
            "PRAGMA secure_delete=ON; UPDATE meta SET value = zeroblob(length(value)) WHERE name = 'wrapped_key';
             PRAGMA wal_checkpoint(TRUNCATE);",
        )?;
        keys.close().map_err(|(_, e)| StoreError::from(e))?;
        msgs.close().map_err(|(_, e)| StoreError::from(e))?;
        for name in [KEYS_DB, MESSAGES_DB] {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                match fs::remove_file(dir.join(format!("{name}{suffix}"))) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let _ = fs::remove_file(dir.join(LOCK_FILE));
        drop(_lock);
        let _ = fs::remove_dir(&dir);
        sync_dir(dir.parent().unwrap_or(&dir));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neither_the_data_key_nor_the_password_key_is_on_disk() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("me");
        let kdf = KdfParams { memory_kib: 64, iterations: 1, lanes: 1 };
        let opts = StoreOptions { kdf, insecure_weak_kdf: true, ..Default::default() };
        let mut store = Store::open(&dir, "pw", opts.clone()).unwrap();
        store.create_identity().unwrap();
        store.kv_set("token", b"t").unwrap();
        store.change_password("pw", "pw2").unwrap();
        let data_key = *store.data_key.expose();
        let salt = meta_get(&store.keys, "salt").unwrap();
        let kek = SecretKey::derive(b"pw2", &salt, &kdf).unwrap();
        let old_salt_key = SecretKey::derive(b"pw", &salt, &kdf).unwrap();
        for entry in fs::read_dir(&dir).unwrap() {
            let data = fs::read(entry.unwrap().path()).unwrap();
            for needle in [&data_key, kek.expose(), old_salt_key.expose()] {
                assert!(!data.windows(32).any(|w| w == needle.as_slice()));
            }
        }
        // The wrapped key opens with the new password only.
        drop(store);
        assert!(matches!(Store::open(&dir, "pw", opts), Err(StoreError::Auth(_))));
    }
}
