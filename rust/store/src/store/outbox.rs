//! The outbox (messages.db): messages waiting to be sent.

use rusqlite::params;

use super::*;
use crate::codec::{Dec, Enc};
use crate::error::Result;

/// The authenticated columns of an `outbox` row: id and queue time.
fn outbox_ad(id: &str, created_at: i64) -> Vec<u8> {
    super::ledger::parts(&[id.as_bytes(), &created_at.to_be_bytes()])
}

impl Store {
    /// Queues a message to send (idempotent by id); the payload is sealed at rest.
    pub fn outbox_add(&mut self, id: &str, peer: &str, payload: &[u8], created_at: i64) -> Result<()> {
        let item = OutboxItem {
            message_id: id.to_owned(),
            peer_id: peer.to_owned(),
            payload: payload.to_vec(),
            created_at,
        };
        self.outbox_add_many(std::slice::from_ref(&item))
    }

    /// Queues many messages in one transaction (one commit), each idempotent by id. Every
    /// item is checked before anything is written: one bad item commits nothing.
    pub fn outbox_add_many(&mut self, items: &[OutboxItem]) -> Result<()> {
        let mut blobs = Vec::with_capacity(items.len());
        for item in items {
            check_message_id(&item.message_id)?;
            check_id("peer_id", &item.peer_id)?;
            let mut e = Enc::new(1);
            e.str(&item.peer_id).bytes(&item.payload);
            blobs.push(self.data_key.seal(
                "outbox",
                &outbox_ad(&item.message_id, item.created_at),
                &e.finish(),
            )?);
        }
        let tx = Self::begin(self.pid, &mut self.msgs)?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO outbox(id, created_at, blob) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO NOTHING",
            )?;
            for (item, blob) in items.iter().zip(&blobs) {
                stmt.execute(params![item.message_id, item.created_at, blob])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Everything queued, oldest first.
    pub fn outbox(&self) -> Result<Vec<OutboxItem>> {
        let mut stmt =
            self.msgs.prepare_cached("SELECT id, created_at, blob FROM outbox ORDER BY created_at, rowid")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, Vec<u8>>(2)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(id, created_at, blob)| {
                let raw = self.data_key.open("outbox", &outbox_ad(&id, created_at), &blob)?;
                let mut d = Dec::new(&raw, 1, "outbox")?;
                let peer_id = d.string()?;
                let payload = d.bytes()?.to_vec();
                d.finish()?;
                Ok(OutboxItem { message_id: id, peer_id, payload, created_at })
            })
            .collect()
    }

    /// Removes a queued message (no error when absent).
    pub fn outbox_remove(&mut self, id: &str) -> Result<()> {
        self.outbox_remove_many(&[id.to_owned()])
    }

    /// Removes many queued messages in one transaction (no error for absent ids).
    pub fn outbox_remove_many(&mut self, ids: &[String]) -> Result<()> {
        self.save_messages(&[], ids).map(|_| ())
    }
}
