//! Receiving one message, and the stored results of decrypted messages (`inbox`), keyed by
//! (peer, message id): ids are chosen by senders, so only the pair names a message.

use rusqlite::OptionalExtension;
use wac1::Decrypted;
use zeroize::Zeroizing;

use super::*;
use crate::codec::{Dec, Enc};
use crate::error::{Result, StoreError};

/// One message of a batch: `(peer id, wire, message id)`.
pub(super) type Incoming<'a> = (&'a str, &'a str, Option<&'a str>);

/// A receipt for one message: its result, or the per-message error (which changed nothing).
pub type ItemResult = std::result::Result<Decrypted, StoreError>;

pub(super) fn encode_result(done: &Decrypted) -> Zeroizing<Vec<u8>> {
    let mut e = Enc::new(1);
    e.bytes(&done.plaintext);
    match done.used_one_time_prekey {
        Some(k) => e.u8(1).u32(k),
        None => e.u8(0),
    };
    e.u8(u8::from(done.new_session)).u8(u8::from(done.identity_changed));
    e.finish()
}

impl Store {
    /// Drops stored decrypt results once the application has them safe: every peer's
    /// result under each id.
    pub fn forget_received(&mut self, message_ids: &[String]) -> Result<()> {
        let mut pairs = Vec::new();
        for id in message_ids {
            let mut stmt = self.keys.prepare_cached("SELECT peer FROM inbox WHERE id = ?1")?;
            let peers =
                stmt.query_map([id], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            pairs.extend(peers.into_iter().map(|p| (p, id.clone())));
        }
        self.forget_received_from(&pairs)
    }

    /// Drops the stored decrypt results of `(peer, message id)` pairs.
    pub fn forget_received_from(&mut self, pairs: &[(String, String)]) -> Result<()> {
        let rows: Vec<Row<'_>> = pairs.iter().map(|(peer, id)| Row::Inbox(peer, id)).collect();
        self.delete_rows(&rows)
    }

    pub(super) fn inbox_result(&self, id: &str, peer: &str) -> Result<Option<Decrypted>> {
        let Some(raw) = self.read_row(Row::Inbox(peer, id))? else { return Ok(None) };
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
    /// Nothing is committed on failure. A repeated (peer, id) returns the stored result; an
    /// invalid id is [`StoreError::InvalidMessageId`].
    pub fn decrypt(&mut self, peer: &str, wire: &str, message_id: Option<&str>) -> Result<Decrypted> {
        let mut results = self.decrypt_batch(&[(peer, wire, message_id)])?;
        results.pop().ok_or_else(|| StoreError::Storage("decryption returned nothing".into()))?
    }

    /// Whether a stored result exists for (peer, id), without opening it.
    pub fn has_received(&self, peer: &str, id: &str) -> Result<bool> {
        Ok(self
            .keys
            .prepare_cached("SELECT 1 FROM inbox WHERE peer = ?1 AND id = ?2")?
            .query_row([peer, id], |_| Ok(()))
            .optional()?
            .is_some())
    }
}
