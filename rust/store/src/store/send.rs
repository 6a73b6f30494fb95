//! Sending: write-ahead encryption, the stored wires of sent messages.

use std::collections::HashSet;

use rusqlite::{params, OptionalExtension};

use super::*;
use crate::error::{Result, StoreError};

impl Store {
    pub(super) fn sent_wire(&self, id: &str, peer: &str) -> Result<Option<String>> {
        let row: Option<(String, Vec<u8>)> = self
            .keys
            .prepare_cached("SELECT peer, blob FROM sent WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((stored_peer, blob)) = row else { return Ok(None) };
        // Opened with the stored peer first: a damaged row is corrupt, not a misuse.
        let raw = self.data_key.open("sent", &id_key(id, &stored_peer), &blob)?;
        if stored_peer != peer {
            return Err(StoreError::Invalid(format!("message id {id:?} was already used for another peer")));
        }
        String::from_utf8(raw.to_vec())
            .map(Some)
            .map_err(|_| StoreError::Corrupt("a stored sent message is malformed".into()))
    }

    /// Encrypts for the peer. The wire string is returned only after the advanced session
    /// is committed (write-ahead). With `message_id` the wire is stored in the same
    /// transaction, and a repeated call with that id returns the same wire.
    pub fn encrypt(&mut self, peer: &str, plaintext: &[u8], message_id: Option<&str>) -> Result<String> {
        check_id("peer_id", peer)?;
        self.require_account()?;
        if let Some(id) = message_id {
            check_id("message id", id)?;
            if let Some(wire) = self.sent_wire(id, peer)? {
                return Ok(wire);
            }
        }
        let mut record = self.take_session(peer)?;
        let wire = match record.encrypt(plaintext) {
            Ok(w) => w.encode(),
            Err(e) => {
                self.cache.put(peer, record);
                return Err(e.into());
            }
        };
        let blob = self.session_blob(peer, &record)?;
        let sent = match message_id {
            Some(id) => Some((id, self.data_key.seal("sent", &id_key(id, peer), wire.as_bytes())?)),
            None => None,
        };
        let tx = Self::begin(&mut self.keys)?;
        Self::upsert_session(&tx, peer, &blob)?;
        if let Some((id, sealed)) = &sent {
            tx.prepare_cached("INSERT INTO sent(id, peer, blob) VALUES (?1, ?2, ?3)")?
                .execute(params![id, peer, sealed])?;
        }
        tx.commit()?;
        self.cache.put(peer, record);
        Ok(wire)
    }

    /// Encrypts a batch with one commit. With `message_ids`, ids already stored return
    /// their stored wire and only the others are encrypted.
    pub fn encrypt_many<T: AsRef<[u8]>>(
        &mut self,
        peer: &str,
        plaintexts: &[T],
        message_ids: Option<&[String]>,
    ) -> Result<Vec<String>> {
        check_id("peer_id", peer)?;
        self.require_account()?;
        let mut out: Vec<Option<String>> = vec![None; plaintexts.len()];
        if let Some(ids) = message_ids {
            if ids.len() != plaintexts.len() {
                return Err(StoreError::Invalid("message_ids must have one id per plaintext".into()));
            }
            let mut seen = HashSet::new();
            for (slot, id) in out.iter_mut().zip(ids) {
                check_id("message id", id)?;
                if !seen.insert(id.as_str()) {
                    return Err(StoreError::Invalid(format!("message id {id:?} appears twice in the batch")));
                }
                *slot = self.sent_wire(id, peer)?;
            }
        }
        let todo: Vec<usize> = out.iter().enumerate().filter(|(_, w)| w.is_none()).map(|(i, _)| i).collect();
        if todo.is_empty() {
            return Ok(out.into_iter().flatten().collect());
        }
        let inputs: Vec<&[u8]> = todo.iter().filter_map(|&i| plaintexts.get(i).map(AsRef::as_ref)).collect();
        let mut record = self.take_session(peer)?;
        let wires = match record.encrypt_many(&inputs) {
            Ok(w) => w,
            Err(e) => {
                self.cache.put(peer, record);
                return Err(e.into());
            }
        };
        let blob = self.session_blob(peer, &record)?;
        let mut sent = Vec::new();
        for (&i, wire) in todo.iter().zip(&wires) {
            let text = wire.encode();
            if let Some(id) = message_ids.and_then(|ids| ids.get(i)) {
                sent.push((id.as_str(), self.data_key.seal("sent", &id_key(id, peer), text.as_bytes())?));
            }
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(text);
            }
        }
        let tx = Self::begin(&mut self.keys)?;
        Self::upsert_session(&tx, peer, &blob)?;
        {
            let mut stmt = tx.prepare_cached("INSERT INTO sent(id, peer, blob) VALUES (?1, ?2, ?3)")?;
            for (id, sealed) in &sent {
                stmt.execute(params![id, peer, sealed])?;
            }
        }
        tx.commit()?;
        self.cache.put(peer, record);
        Ok(out.into_iter().flatten().collect())
    }

    /// Drops stored wires once the server has acknowledged them.
    pub fn forget_sent(&mut self, message_ids: &[String]) -> Result<()> {
        self.delete_ids("sent", message_ids)
    }

    pub(super) fn delete_ids(&mut self, table: &'static str, ids: &[String]) -> Result<()> {
        let tx = Self::begin(&mut self.keys)?;
        {
            let mut stmt = tx.prepare_cached(&format!("DELETE FROM {table} WHERE id = ?1"))?;
            for id in ids {
                stmt.execute([id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}
