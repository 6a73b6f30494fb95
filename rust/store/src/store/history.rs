//! Message history (messages.db).

use rusqlite::{params, OptionalExtension};

use super::*;
use crate::error::Result;

impl Store {
    // ----- history and outbox (messages.db) ---------------------------------------------------

    /// Saves a message; `false` when its id exists.
    pub fn save_message(&mut self, m: &StoredMessage) -> Result<bool> {
        m.validate()?;
        let blob = self.data_key.seal("messages", m.id.as_bytes(), &m.encode())?;
        let n = self
            .msgs
            .prepare_cached(
                "INSERT INTO messages(id, peer, ts, status, blob) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(id) DO NOTHING",
            )?
            .execute(params![m.id, m.peer_id, m.timestamp, m.status, blob])?;
        Ok(n == 1)
    }

    /// Saves messages and removes ids from the outbox in one transaction (one commit);
    /// returns, per message, `false` when its id existed. Every message is checked before
    /// anything is written: one bad message, or a database error, commits nothing.
    pub fn save_messages(
        &mut self,
        ms: &[StoredMessage],
        remove_from_outbox: &[String],
    ) -> Result<Vec<bool>> {
        let mut blobs = Vec::with_capacity(ms.len());
        for m in ms {
            m.validate()?;
            blobs.push(self.data_key.seal("messages", m.id.as_bytes(), &m.encode())?);
        }
        let tx = Self::begin(&mut self.msgs)?;
        let mut saved = Vec::with_capacity(ms.len());
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO messages(id, peer, ts, status, blob) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(id) DO NOTHING",
            )?;
            for (m, blob) in ms.iter().zip(&blobs) {
                saved.push(stmt.execute(params![m.id, m.peer_id, m.timestamp, m.status, blob])? == 1);
            }
            let mut del = tx.prepare_cached("DELETE FROM outbox WHERE id = ?1")?;
            for id in remove_from_outbox {
                del.execute([id])?;
            }
        }
        tx.commit()?;
        Ok(saved)
    }

    /// Sets the status of messages; returns how many exist.
    pub fn update_status(&mut self, ids: &[String], status: &str) -> Result<usize> {
        check_status(status)?;
        let tx = Self::begin(&mut self.msgs)?;
        let mut n = 0;
        {
            let mut stmt = tx.prepare_cached("UPDATE messages SET status = ?2 WHERE id = ?1")?;
            for id in ids {
                n += stmt.execute(params![id, status])?;
            }
        }
        tx.commit()?;
        Ok(n)
    }

    pub(super) fn message_row(&self, id: String, status: String, blob: &[u8]) -> Result<StoredMessage> {
        let raw = self.data_key.open("messages", id.as_bytes(), blob)?;
        StoredMessage::decode(id, status, &raw)
    }

    /// One message by id.
    pub fn get_message(&self, id: &str) -> Result<Option<StoredMessage>> {
        let row: Option<(String, String, Vec<u8>)> = self
            .msgs
            .prepare_cached("SELECT id, status, blob FROM messages WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        row.map(|(id, status, blob)| self.message_row(id, status, &blob)).transpose()
    }

    /// A page of a conversation, newest first, strictly older than `before` when given.
    pub fn messages(&self, peer: &str, limit: usize, before: Option<i64>) -> Result<Vec<StoredMessage>> {
        let limit = i64::try_from(limit.min(10_000)).unwrap_or(10_000);
        let mut stmt = self.msgs.prepare_cached(
            "SELECT id, status, blob FROM messages WHERE peer = ?1 AND ts < ?2 ORDER BY ts DESC, rowid DESC LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(params![peer, before.unwrap_or(i64::MAX), limit], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Vec<u8>>(2)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(|(id, status, blob)| self.message_row(id, status, &blob)).collect()
    }
}
