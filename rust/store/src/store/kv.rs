//! The encrypted key-value area.

use zeroize::Zeroizing;

use super::*;
use crate::error::Result;

impl Store {
    // ----- key-value --------------------------------------------------------------------

    /// A value of the encrypted key-value area.
    pub fn kv_get(&self, key: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        check_id("key", key)?;
        self.read_row(Row::Kv(key))
    }

    /// Sets a value (committed).
    pub fn kv_set(&mut self, key: &str, value: &[u8]) -> Result<()> {
        check_id("key", key)?;
        let mut lt = self.ledger.begin();
        let blob = lt.seal(&self.ledger, &self.data_key, Row::Kv(key), value)?;
        let tx = Self::begin(self.pid, &mut self.keys)?;
        Row::Kv(key).put(&tx, lt.gen, &blob)?;
        lt.write(&tx, &self.data_key)?;
        tx.commit()?;
        self.ledger.apply(lt);
        Ok(())
    }

    /// Deletes a value (no error when absent).
    pub fn kv_delete(&mut self, key: &str) -> Result<()> {
        check_id("key", key)?;
        self.delete_rows(&[Row::Kv(key)])
    }
}
