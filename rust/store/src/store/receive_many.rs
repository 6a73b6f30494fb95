//! Receiving a batch of messages with one commit.

use std::collections::HashMap;

use rand_core::OsRng;
use rusqlite::params;
use wac1::{Account, Decrypted, SessionRecord, WireMessage};

use super::*;
use crate::error::{Result, StoreError};

impl Store {
    /// Decrypts a batch of incoming messages, `(peer id, wire, message id)` each, with one
    /// commit: every changed session, the account (consumed one-time prekeys), peer
    /// identities and the sealed result of every message decrypted (as [`Store::decrypt`]
    /// stores it under its id). Each message gets its own result: one that fails (malformed
    /// wire, tag mismatch, replay, ...) changes nothing and does not stop the others. An id
    /// already stored, or repeated in the batch, returns the stored result. A bad argument or
    /// a database error fails the whole batch and commits nothing.
    pub fn decrypt_many(
        &mut self,
        items: &[(String, String, String)],
    ) -> Result<Vec<std::result::Result<Decrypted, wac1::Error>>> {
        self.require_account()?;
        for (peer, _, id) in items {
            check_id("peer_id", peer)?;
            check_id("message id", id)?;
        }
        let mut out = Vec::with_capacity(items.len());
        let mut records: HashMap<String, SessionRecord> = HashMap::new();
        let mut changed: Vec<String> = Vec::new();
        let mut account: Option<Account> = None;
        let mut peer_rows: HashMap<String, PeerIdentity> = HashMap::new();
        let mut inbox_rows: Vec<(&str, &str, Vec<u8>)> = Vec::new();
        let mut in_batch: HashMap<&str, (&str, Decrypted)> = HashMap::new();
        for (peer, wire, id) in items {
            if let Some((first_peer, done)) = in_batch.get(id.as_str()) {
                if *first_peer != peer.as_str() {
                    return Err(StoreError::Invalid(format!(
                        "message id {id:?} was already used for another peer"
                    )));
                }
                out.push(Ok(done.clone()));
                continue;
            }
            if let Some(done) = self.inbox_result(id, peer)? {
                out.push(Ok(done));
                continue;
            }
            let message = match WireMessage::parse(wire) {
                Ok(m) => m,
                Err(e) => {
                    out.push(Err(e));
                    continue;
                }
            };
            if !records.contains_key(peer) {
                let r = self.take_session(peer)?;
                records.insert(peer.clone(), r);
            }
            let Some(record) = records.get_mut(peer) else {
                return Err(StoreError::Storage("session record missing from the batch".into()));
            };
            let current = match &account {
                Some(a) => a,
                None => self.require_account()?,
            };
            let limits = *current.limits();
            // The engine leaves the record untouched on failure.
            let mut done = match record.decrypt(current, &message, &limits, &mut OsRng) {
                Ok(d) => d,
                Err(e) => {
                    out.push(Err(e));
                    continue;
                }
            };
            if let Some(k) = done.used_one_time_prekey {
                let mut a = current.clone();
                a.remove_one_time_prekey(k);
                account = Some(a);
            }
            if done.new_session {
                if let Some(seen) = record.peer_identity().copied() {
                    let known = match peer_rows.get(peer) {
                        Some(p) => Some(p.identity),
                        None => self.load_peer(peer)?.map(|p| p.identity),
                    };
                    if known != Some(seen) {
                        done.identity_changed |= known.is_some();
                        peer_rows.insert(
                            peer.clone(),
                            PeerIdentity { identity: seen, verified: false, verified_at: None },
                        );
                    }
                }
            }
            if !changed.contains(peer) {
                changed.push(peer.clone());
            }
            inbox_rows.push((id, peer, self.seal_inbox(id, peer, &done)?));
            in_batch.insert(id, (peer, done.clone()));
            out.push(Ok(done));
        }
        if !inbox_rows.is_empty() {
            let mut session_blobs = Vec::with_capacity(changed.len());
            for peer in &changed {
                if let Some(record) = records.get(peer) {
                    session_blobs.push((peer.as_str(), self.session_blob(peer, record)?));
                }
            }
            let account_blob = match &account {
                Some(a) => Some(self.account_blob(a)?),
                None => None,
            };
            let mut peer_blobs = Vec::with_capacity(peer_rows.len());
            for (peer, p) in &peer_rows {
                peer_blobs.push((peer.as_str(), self.data_key.seal("peers", peer.as_bytes(), &p.encode())?));
            }
            let tx = Self::begin(&mut self.keys)?;
            for (peer, blob) in &session_blobs {
                Self::upsert_session(&tx, peer, blob)?;
            }
            if let Some(b) = &account_blob {
                tx.execute("UPDATE account SET blob = ?1 WHERE id = 1", [b])?;
            }
            for (peer, blob) in &peer_blobs {
                Self::upsert_peer(&tx, peer, blob)?;
            }
            {
                let mut stmt = tx.prepare_cached("INSERT INTO inbox(id, peer, blob) VALUES (?1, ?2, ?3)")?;
                for (id, peer, sealed) in &inbox_rows {
                    stmt.execute(params![id, peer, sealed])?;
                }
            }
            tx.commit()?;
            if let Some(a) = account {
                self.account = Some(a);
            }
        }
        for (peer, record) in records {
            self.cache.put(&peer, record);
        }
        Ok(out)
    }
}
