//! Raw access for export and import, and benchmark helpers.

use rusqlite::params;
use wac1::{Account, Serialize, SessionRecord};
use zeroize::Zeroizing;

use super::*;
use crate::error::Result;

impl Store {
    // ----- raw access for export and import -------------------------------------------------
    /// Every row of a keyed table, opened: `(row key, plaintext)`.
    pub(crate) fn all_rows(&self, table: &'static str) -> Result<Vec<(String, Zeroizing<Vec<u8>>)>> {
        let key_col = if table == "kv" { "key" } else { "peer" };
        let mut stmt = self.keys.prepare(&format!("SELECT {key_col}, blob FROM {table}"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(k, blob)| {
                let raw = self.data_key.open(table, k.as_bytes(), &blob)?;
                Ok((k, raw))
            })
            .collect()
    }

    /// Writes an imported account, sessions, peers and key-value rows in one transaction.
    pub(crate) fn write_import(
        &mut self,
        account: Option<Account>,
        sessions: &[(String, SessionRecord)],
        peers: &[(String, PeerIdentity)],
        kv: &[(String, Zeroizing<Vec<u8>>)],
    ) -> Result<()> {
        let account_blob = match &account {
            Some(a) => Some(self.account_blob(a)?),
            None => None,
        };
        let mut session_blobs = Vec::with_capacity(sessions.len());
        for (peer, record) in sessions {
            check_id("peer_id", peer)?;
            session_blobs.push((peer.as_str(), self.session_blob(peer, record)?));
        }
        let mut peer_blobs = Vec::with_capacity(peers.len());
        for (peer, p) in peers {
            check_id("peer_id", peer)?;
            peer_blobs.push((peer.as_str(), self.data_key.seal("peers", peer.as_bytes(), &p.encode())?));
        }
        let mut kv_blobs = Vec::with_capacity(kv.len());
        for (key, value) in kv {
            check_id("key", key)?;
            kv_blobs.push((key.as_str(), self.data_key.seal("kv", key.as_bytes(), value)?));
        }
        let tx = Self::begin(&mut self.keys)?;
        if let Some(b) = &account_blob {
            tx.execute(
                "INSERT INTO account(id, blob) VALUES (1, ?1) ON CONFLICT(id) DO UPDATE SET blob = excluded.blob",
                [b],
            )?;
        }
        for (peer, blob) in &session_blobs {
            Self::upsert_session(&tx, peer, blob)?;
        }
        for (peer, blob) in &peer_blobs {
            Self::upsert_peer(&tx, peer, blob)?;
        }
        for (key, blob) in &kv_blobs {
            tx.execute(
                "INSERT INTO kv(key, blob) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET blob = excluded.blob",
                params![key, blob],
            )?;
        }
        tx.commit()?;
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
    /// key material.
    #[doc(hidden)]
    pub fn bench_clone_sessions(&mut self, template_peer: &str, prefix: &str, count: usize) -> Result<()> {
        let record = self.session_copy(template_peer)?;
        let raw = record.to_bytes();
        let tx = Self::begin(&mut self.keys)?;
        {
            let mut stmt =
                tx.prepare_cached("INSERT OR REPLACE INTO sessions(peer, blob) VALUES (?1, ?2)")?;
            for i in 0..count {
                let peer = format!("{prefix}{i}");
                let blob = self.data_key.seal("sessions", peer.as_bytes(), &raw)?;
                stmt.execute(params![peer, blob])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}
