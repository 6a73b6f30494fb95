//! The encrypted key-value area.

use rusqlite::{params, OptionalExtension};
use zeroize::Zeroizing;

use super::*;
use crate::error::Result;

impl Store {
    // ----- key-value --------------------------------------------------------------------

    /// A value of the encrypted key-value area.
    pub fn kv_get(&self, key: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        check_id("key", key)?;
        let blob: Option<Vec<u8>> = self
            .keys
            .prepare_cached("SELECT blob FROM kv WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?;
        match blob {
            None => Ok(None),
            Some(b) => Ok(Some(self.data_key.open("kv", key.as_bytes(), &b)?)),
        }
    }

    /// Sets a value (committed).
    pub fn kv_set(&mut self, key: &str, value: &[u8]) -> Result<()> {
        check_id("key", key)?;
        let blob = self.data_key.seal("kv", key.as_bytes(), value)?;
        let tx = Self::begin(&mut self.keys)?;
        tx.execute(
            "INSERT INTO kv(key, blob) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET blob = excluded.blob",
            params![key, blob],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes a value (no error when absent).
    pub fn kv_delete(&mut self, key: &str) -> Result<()> {
        check_id("key", key)?;
        self.keys.execute("DELETE FROM kv WHERE key = ?1", [key])?;
        Ok(())
    }
}
