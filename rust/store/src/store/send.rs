//! Sending: write-ahead encryption, the stored wires of sent messages.

use std::collections::HashSet;

use rusqlite::OptionalExtension;
use wac1::Serialize;

use super::*;
use crate::error::{Result, StoreError};

impl Store {
    pub(super) fn sent_wire(&self, id: &str, peer: &str) -> Result<Option<String>> {
        let stored_peer: Option<String> = self
            .keys
            .prepare_cached("SELECT peer FROM sent WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        let Some(stored_peer) = stored_peer else {
            return self.read_row(Row::Sent(id, peer)).map(|_| None);
        };
        // Opened with the stored peer first: a damaged row is corrupt, not a misuse.
        let raw = self.read_row(Row::Sent(id, &stored_peer))?;
        if stored_peer != peer {
            return Err(StoreError::IdConflict(format!(
                "message id {id:?} was already used for a message to another peer"
            )));
        }
        match raw {
            None => Ok(None),
            Some(raw) => String::from_utf8(raw.to_vec())
                .map(Some)
                .map_err(|_| StoreError::Corrupt("a stored sent message is malformed".into())),
        }
    }

    /// Encrypts for the peer. The wire string is returned only after the advanced session
    /// is committed (write-ahead). With `message_id` the wire is stored in the same
    /// transaction, and a repeated call with that id returns the same wire.
    pub fn encrypt(&mut self, peer: &str, plaintext: &[u8], message_id: Option<&str>) -> Result<String> {
        let ids = message_id.map(|id| [id.to_owned()]);
        let mut wires = self.encrypt_many(peer, &[plaintext], ids.as_ref().map(|i| &i[..]))?;
        wires.pop().ok_or_else(|| StoreError::Storage("encryption returned nothing".into()))
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
                check_message_id(id)?;
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
        let mut lt = self.ledger.begin();
        let blob = lt.seal(&self.ledger, &self.data_key, Row::Session(peer), &record.to_bytes())?;
        let mut sent = Vec::new();
        for (&i, wire) in todo.iter().zip(&wires) {
            let text = wire.encode();
            if let Some(id) = message_ids.and_then(|ids| ids.get(i)) {
                let row = Row::Sent(id, peer);
                sent.push((row, lt.seal(&self.ledger, &self.data_key, row, text.as_bytes())?));
            }
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(text);
            }
        }
        let tx = Self::begin(self.pid, &mut self.keys)?;
        Row::Session(peer).put(&tx, lt.gen, &blob)?;
        for (row, sealed) in &sent {
            row.put(&tx, lt.gen, sealed)?;
        }
        lt.write(&tx, &self.data_key)?;
        tx.commit()?;
        self.ledger.apply(lt);
        self.cache.put(peer, record);
        Ok(out.into_iter().flatten().collect())
    }

    /// Drops stored wires once the server has acknowledged them.
    pub fn forget_sent(&mut self, message_ids: &[String]) -> Result<()> {
        let mut rows = Vec::new();
        for id in message_ids {
            let peer: Option<String> = self
                .keys
                .prepare_cached("SELECT peer FROM sent WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            if let Some(peer) = peer {
                rows.push((id.as_str(), peer));
            }
        }
        let rows: Vec<Row<'_>> = rows.iter().map(|(id, peer)| Row::Sent(id, peer)).collect();
        self.delete_rows(&rows)
    }

    /// Deletes rows of `keys.db` in one transaction (rows that do not exist are skipped).
    pub(super) fn delete_rows(&mut self, rows: &[Row<'_>]) -> Result<()> {
        let mut lt = self.ledger.begin();
        let mut any = false;
        for row in rows {
            any |= lt.delete(&self.ledger, *row);
        }
        if !any {
            return Ok(());
        }
        let tx = Self::begin(self.pid, &mut self.keys)?;
        for row in rows {
            row.delete(&tx)?;
        }
        lt.write(&tx, &self.data_key)?;
        tx.commit()?;
        self.ledger.apply(lt);
        Ok(())
    }
}
