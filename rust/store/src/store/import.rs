//! Raw access for export and import, and the benchmark helper (test builds only).

use wac1::{Account, Serialize, SessionRecord};
use zeroize::Zeroizing;

use super::*;
use crate::error::Result;

impl Store {
    /// Every row of `sessions`, `peers` or `kv`, opened: `(row key, plaintext)`.
    pub(crate) fn all_rows(&self, table: &'static str) -> Result<Vec<(String, Zeroizing<Vec<u8>>)>> {
        let sql = match table {
            "kv" => "SELECT key FROM kv",
            "sessions" => "SELECT peer FROM sessions",
            _ => "SELECT peer FROM peers",
        };
        let keys = self
            .keys
            .prepare(sql)?
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            let row = match table {
                "kv" => Row::Kv(&k),
                "sessions" => Row::Session(&k),
                _ => Row::Peer(&k),
            };
            if let Some(raw) = self.read_row(row)? {
                out.push((k, raw));
            }
        }
        Ok(out)
    }

    /// Writes an imported account, sessions, peers and key-value rows in one transaction.
    pub(crate) fn write_import(
        &mut self,
        account: Option<Account>,
        sessions: &[(String, SessionRecord)],
        peers: &[(String, PeerIdentity)],
        kv: &[(String, Zeroizing<Vec<u8>>)],
    ) -> Result<()> {
        for peer in sessions.iter().map(|(p, _)| p).chain(peers.iter().map(|(p, _)| p)) {
            check_id("peer_id", peer)?;
        }
        for (key, _) in kv {
            check_id("key", key)?;
        }
        let mut lt = self.ledger.begin();
        let mut rows = Vec::new();
        if let Some(a) = &account {
            rows.push((Row::Account, lt.seal(&self.ledger, &self.data_key, Row::Account, &a.to_bytes())?));
        }
        for (peer, record) in sessions {
            let row = Row::Session(peer);
            rows.push((row, lt.seal(&self.ledger, &self.data_key, row, &record.to_bytes())?));
        }
        for (peer, p) in peers {
            let row = Row::Peer(peer);
            rows.push((row, lt.seal(&self.ledger, &self.data_key, row, &p.encode())?));
        }
        for (key, value) in kv {
            let row = Row::Kv(key);
            rows.push((row, lt.seal(&self.ledger, &self.data_key, row, value)?));
        }
        let tx = Self::begin(self.pid, &mut self.keys)?;
        for (row, blob) in &rows {
            row.put(&tx, lt.gen, blob)?;
        }
        lt.write(&tx, &self.data_key)?;
        tx.commit()?;
        self.ledger.apply(lt);
        if let Some(mut a) = account {
            a.set_limits(self.opts.limits);
            self.account = Some(a);
        }
        for (peer, record) in sessions {
            self.cache.take(peer);
            self.cache.put(peer, record.clone());
        }
        Ok(())
    }

    /// Fills the store with copies of one peer's session under other peer ids, for
    /// benchmarks of opening a large store. Never use it with real peers: the copies share
    /// key material, so it exists only in test builds (`test-hooks`).
    #[cfg(any(test, feature = "test-hooks"))]
    #[doc(hidden)]
    pub fn bench_clone_sessions(&mut self, template_peer: &str, prefix: &str, count: usize) -> Result<()> {
        let record = self.session_copy(template_peer)?;
        let raw = record.to_bytes();
        let peers: Vec<String> = (0..count).map(|i| format!("{prefix}{i}")).collect();
        let mut lt = self.ledger.begin();
        let mut rows = Vec::with_capacity(count);
        for peer in &peers {
            let row = Row::Session(peer);
            rows.push((row, lt.seal(&self.ledger, &self.data_key, row, &raw)?));
        }
        let tx = Self::begin(self.pid, &mut self.keys)?;
        for (row, blob) in &rows {
            row.put(&tx, lt.gen, blob)?;
        }
        lt.write(&tx, &self.data_key)?;
        tx.commit()?;
        self.ledger.apply(lt);
        Ok(())
    }
}
