//! Receiving a batch of messages with one commit.

use std::collections::HashMap;

use rand_core::OsRng;
use wac1::{Account, Decrypted, Serialize, SessionRecord, WireMessage};

use super::receive::{encode_result, Incoming, ItemResult};
use super::*;
use crate::error::{Result, StoreError};

/// What a batch changes, written in one transaction at its end.
#[derive(Default)]
struct Pending<'a> {
    records: HashMap<&'a str, SessionRecord>,
    changed: Vec<&'a str>,
    account: Option<Account>,
    peers: HashMap<&'a str, PeerIdentity>,
    inbox: Vec<(&'a str, &'a str, Decrypted)>,
    in_batch: HashMap<(&'a str, &'a str), Decrypted>,
}

impl Store {
    /// Decrypts a batch of incoming messages, `(peer id, wire, message id)` each, with one
    /// commit: every changed session, the account (consumed one-time prekeys), peer
    /// identities and the sealed result of every message decrypted (as [`Store::decrypt`]
    /// stores it under its peer and id). Each message gets its own result: one that fails
    /// (an invalid peer or message id, a malformed wire, a tag mismatch, a replay, ...)
    /// changes nothing and does not stop the others. A (peer, id) already stored, or repeated
    /// in the batch, returns the stored result; the same id from two peers is two messages.
    /// Only a database error fails the whole batch, and then nothing is committed.
    pub fn decrypt_many(&mut self, items: &[(String, String, String)]) -> Result<Vec<ItemResult>> {
        let items: Vec<Incoming<'_>> =
            items.iter().map(|(p, w, id)| (p.as_str(), w.as_str(), Some(id.as_str()))).collect();
        self.decrypt_batch(&items)
    }

    pub(super) fn decrypt_batch(&mut self, items: &[Incoming<'_>]) -> Result<Vec<ItemResult>> {
        self.require_account()?;
        let mut out = Vec::with_capacity(items.len());
        let mut p = Pending::default();
        for &(peer, wire, id) in items {
            let r = self.decrypt_one(&mut p, peer, wire, id)?;
            out.push(r);
        }
        if !p.changed.is_empty() {
            self.commit_batch(&p)?;
            if let Some(a) = p.account.take() {
                self.account = Some(a);
            }
        }
        for (peer, record) in p.records {
            self.cache.put(peer, record);
        }
        Ok(out)
    }

    /// One message of a batch: `Err` only for a database error (fails the batch).
    fn decrypt_one<'a>(
        &mut self,
        p: &mut Pending<'a>,
        peer: &'a str,
        wire: &str,
        id: Option<&'a str>,
    ) -> Result<ItemResult> {
        if let Err(e) = check_id("peer_id", peer) {
            return Ok(Err(e));
        }
        if let Some(id) = id {
            if let Err(e) = check_message_id(id) {
                return Ok(Err(e));
            }
            if let Some(done) = p.in_batch.get(&(peer, id)) {
                return Ok(Ok(done.clone()));
            }
            if let Some(done) = self.inbox_result(id, peer)? {
                return Ok(Ok(done));
            }
        }
        let message = match WireMessage::parse(wire) {
            Ok(m) => m,
            Err(e) => return Ok(Err(e.into())),
        };
        if !p.records.contains_key(peer) {
            let r = self.take_session(peer)?;
            p.records.insert(peer, r);
        }
        let Some(record) = p.records.get_mut(peer) else {
            return Err(StoreError::Storage("session record missing from the batch".into()));
        };
        let current = match &p.account {
            Some(a) => a,
            None => self.require_account()?,
        };
        let limits = *current.limits();
        // The engine leaves the record untouched on failure.
        let mut done = match record.decrypt(current, &message, &limits, &mut OsRng) {
            Ok(d) => d,
            Err(e) => return Ok(Err(e.into())),
        };
        if let Some(k) = done.used_one_time_prekey {
            let mut a = current.clone();
            a.remove_one_time_prekey(k);
            p.account = Some(a);
        }
        if done.new_session {
            if let Some(seen) = record.peer_identity().copied() {
                let known = match p.peers.get(peer) {
                    Some(k) => Some(k.identity),
                    None => self.load_peer(peer)?.map(|k| k.identity),
                };
                if known != Some(seen) {
                    done.identity_changed |= known.is_some();
                    p.peers.insert(peer, PeerIdentity { identity: seen, verified: false, verified_at: None });
                }
            }
        }
        if !p.changed.contains(&peer) {
            p.changed.push(peer);
        }
        if let Some(id) = id {
            p.inbox.push((peer, id, done.clone()));
            p.in_batch.insert((peer, id), done.clone());
        }
        Ok(Ok(done))
    }

    fn commit_batch(&mut self, p: &Pending<'_>) -> Result<()> {
        let mut lt = self.ledger.begin();
        let mut rows = Vec::new();
        for peer in &p.changed {
            if let Some(record) = p.records.get(peer) {
                let row = Row::Session(peer);
                rows.push((row, lt.seal(&self.ledger, &self.data_key, row, &record.to_bytes())?));
            }
        }
        if let Some(a) = &p.account {
            rows.push((Row::Account, lt.seal(&self.ledger, &self.data_key, Row::Account, &a.to_bytes())?));
        }
        for (peer, identity) in &p.peers {
            let row = Row::Peer(peer);
            rows.push((row, lt.seal(&self.ledger, &self.data_key, row, &identity.encode())?));
        }
        for (peer, id, done) in &p.inbox {
            let row = Row::Inbox(peer, id);
            rows.push((row, lt.seal(&self.ledger, &self.data_key, row, &encode_result(done))?));
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
