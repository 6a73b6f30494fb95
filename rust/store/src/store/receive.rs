//! Receiving one message: decrypt in one transaction, the stored results (inbox).

use rand_core::OsRng;
use rusqlite::{params, OptionalExtension};
use wac1::{Decrypted, WireMessage};

use super::*;
use crate::codec::{Dec, Enc};
use crate::error::{Result, StoreError};

impl Store {
    /// Drops stored decrypt results once the application has them safe.
    pub fn forget_received(&mut self, message_ids: &[String]) -> Result<()> {
        self.delete_ids("inbox", message_ids)
    }
    pub(super) fn inbox_result(&self, id: &str, peer: &str) -> Result<Option<Decrypted>> {
        let row: Option<(String, Vec<u8>)> = self
            .keys
            .prepare_cached("SELECT peer, blob FROM inbox WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((stored_peer, blob)) = row else { return Ok(None) };
        // Opened with the stored peer first: a damaged row is corrupt, not a misuse.
        let raw = self.data_key.open("inbox", &id_key(id, &stored_peer), &blob)?;
        if stored_peer != peer {
            return Err(StoreError::Invalid(format!("message id {id:?} was already used for another peer")));
        }
        let mut d = Dec::new(&raw, 1, "inbox")?;
        let plaintext = d.bytes()?.to_vec();
        let used = if d.flag()? { Some(d.u32()?) } else { None };
        let new_session = d.flag()?;
        let identity_changed = d.flag()?;
        d.finish()?;
        Ok(Some(Decrypted { plaintext, used_one_time_prekey: used, new_session, identity_changed }))
    }

    /// Decrypts a message from the peer in one transaction: session state, skipped keys,
    /// one-time prekey deletion, peer identity and (with `message_id`) the sealed result.
    /// Nothing is committed on failure. A repeated id returns the stored result.
    pub fn decrypt(&mut self, peer: &str, wire: &str, message_id: Option<&str>) -> Result<Decrypted> {
        check_id("peer_id", peer)?;
        self.require_account()?;
        if let Some(id) = message_id {
            check_id("message id", id)?;
            if let Some(done) = self.inbox_result(id, peer)? {
                return Ok(done);
            }
        }
        let message = WireMessage::parse(wire)?;
        let mut record = self.take_session(peer)?;
        let account = self.require_account()?;
        let limits = *account.limits();
        let mut done = match record.decrypt(account, &message, &limits, &mut OsRng) {
            Ok(d) => d,
            Err(e) => {
                // The engine leaves the record untouched on failure.
                self.cache.put(peer, record);
                return Err(e.into());
            }
        };
        let new_account = match done.used_one_time_prekey {
            Some(id) => {
                let mut a = account.clone();
                a.remove_one_time_prekey(id);
                Some(a)
            }
            None => None,
        };
        let (peer_row, changed) =
            if done.new_session { self.peer_update(peer, record.peer_identity())? } else { (None, false) };
        done.identity_changed |= changed;
        let blob = self.session_blob(peer, &record)?;
        let account_blob = match &new_account {
            Some(a) => Some(self.account_blob(a)?),
            None => None,
        };
        let inbox = match message_id {
            Some(id) => Some((id, self.seal_inbox(id, peer, &done)?)),
            None => None,
        };
        let tx = Self::begin(&mut self.keys)?;
        Self::upsert_session(&tx, peer, &blob)?;
        if let Some(b) = &account_blob {
            tx.execute("UPDATE account SET blob = ?1 WHERE id = 1", [b])?;
        }
        if let Some(row) = &peer_row {
            Self::upsert_peer(&tx, peer, row)?;
        }
        if let Some((id, sealed)) = &inbox {
            tx.prepare_cached("INSERT INTO inbox(id, peer, blob) VALUES (?1, ?2, ?3)")?
                .execute(params![id, peer, sealed])?;
        }
        tx.commit()?;
        if let Some(a) = new_account {
            self.account = Some(a);
        }
        self.cache.put(peer, record);
        Ok(done)
    }

    pub(super) fn seal_inbox(&self, id: &str, peer: &str, done: &Decrypted) -> Result<Vec<u8>> {
        let mut e = Enc::new(1);
        e.bytes(&done.plaintext);
        match done.used_one_time_prekey {
            Some(k) => e.u8(1).u32(k),
            None => e.u8(0),
        };
        e.u8(u8::from(done.new_session)).u8(u8::from(done.identity_changed));
        self.data_key.seal("inbox", &id_key(id, peer), &e.finish())
    }
}
