//! Message history (messages.db), keyed by (conversation, sender, message id): ids are
//! chosen by senders, so the same id from two senders is two messages. Every column of a
//! row (conversation, sender, id, time, status) is bound into its sealed blob.

use rusqlite::params;

use super::ledger::parts;
use super::*;
use crate::error::Result;

/// The authenticated columns of a `messages` row.
fn message_ad(peer: &str, sender: &str, id: &str, ts: i64, status: &str) -> Vec<u8> {
    parts(&[peer.as_bytes(), sender.as_bytes(), id.as_bytes(), &ts.to_be_bytes(), status.as_bytes()])
}

const INSERT: &str =
    "INSERT INTO messages(peer, sender, id, ts, status, blob) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                      ON CONFLICT(peer, sender, id) DO NOTHING";
const COLUMNS: &str = "SELECT rowid, peer, sender, id, ts, status, blob FROM messages";

type RawRow = (i64, String, String, String, i64, String, Vec<u8>);

fn raw_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
}

impl Store {
    fn seal_message(&self, m: &StoredMessage) -> Result<Vec<u8>> {
        let ad = message_ad(&m.peer_id, &m.from_user, &m.id, m.timestamp, &m.status);
        self.data_key.seal("messages", &ad, &m.encode())
    }

    fn open_message(&self, row: RawRow) -> Result<StoredMessage> {
        let (_, peer, sender, id, ts, status, blob) = row;
        let raw = self.data_key.open("messages", &message_ad(&peer, &sender, &id, ts, &status), &blob)?;
        StoredMessage::decode(id, status, &raw)
    }

    /// Saves a message; `false` when (conversation, sender, id) exists. An invalid message
    /// is refused ([`StoreError::InvalidMessageId`] for its id).
    pub fn save_message(&mut self, m: &StoredMessage) -> Result<bool> {
        let mut saved = self.save_messages(std::slice::from_ref(m), &[])?;
        saved.pop().ok_or_else(|| StoreError::Storage("saving returned nothing".into()))?
    }

    /// Saves messages and removes ids from the outbox in one transaction (one commit).
    /// Returns, per message, `Ok(true)` when saved, `Ok(false)` when (conversation, sender,
    /// id) existed, or the per-message error of an invalid message, which is skipped while
    /// the others are saved. A database error commits nothing.
    pub fn save_messages(
        &mut self,
        ms: &[StoredMessage],
        remove_from_outbox: &[String],
    ) -> Result<Vec<Result<bool>>> {
        let mut blobs = Vec::with_capacity(ms.len());
        for m in ms {
            blobs.push(match m.validate() {
                Ok(()) => Ok(self.seal_message(m)?),
                Err(e) => Err(e),
            });
        }
        let tx = Self::begin(self.pid, &mut self.msgs)?;
        let mut saved = Vec::with_capacity(ms.len());
        {
            let mut stmt = tx.prepare_cached(INSERT)?;
            for (m, blob) in ms.iter().zip(blobs) {
                saved.push(match blob {
                    Ok(b) => {
                        Ok(stmt.execute(params![m.peer_id, m.from_user, m.id, m.timestamp, m.status, b])?
                            == 1)
                    }
                    Err(e) => Err(e),
                });
            }
            let mut del = tx.prepare_cached("DELETE FROM outbox WHERE id = ?1")?;
            for id in remove_from_outbox {
                del.execute([id])?;
            }
        }
        tx.commit()?;
        Ok(saved)
    }

    /// Sets the status of every message with one of these ids (each row is sealed again,
    /// its status being authenticated); returns how many exist.
    pub fn update_status(&mut self, ids: &[String], status: &str) -> Result<usize> {
        check_status(status)?;
        let mut updates = Vec::new();
        for id in ids {
            let mut stmt = self.msgs.prepare_cached(&format!("{COLUMNS} WHERE id = ?1"))?;
            let rows = stmt.query_map([id], raw_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            for row in rows {
                let rowid = row.0;
                let mut m = self.open_message(row)?;
                m.status = status.to_owned();
                updates.push((rowid, self.seal_message(&m)?));
            }
        }
        let tx = Self::begin(self.pid, &mut self.msgs)?;
        {
            let mut stmt =
                tx.prepare_cached("UPDATE messages SET status = ?2, blob = ?3 WHERE rowid = ?1")?;
            for (rowid, blob) in &updates {
                stmt.execute(params![rowid, status, blob])?;
            }
        }
        tx.commit()?;
        Ok(updates.len())
    }

    /// One message by id, optionally only in one conversation and from one sender (the
    /// same id may name messages of several senders); the oldest match.
    pub fn get_message(
        &self,
        id: &str,
        peer: Option<&str>,
        sender: Option<&str>,
    ) -> Result<Option<StoredMessage>> {
        let mut stmt = self.msgs.prepare_cached(&format!(
            "{COLUMNS} WHERE id = ?1 AND (?2 IS NULL OR peer = ?2) AND (?3 IS NULL OR sender = ?3) ORDER BY rowid LIMIT 1"
        ))?;
        let row = stmt.query_map(params![id, peer, sender], raw_row)?.next().transpose()?;
        row.map(|r| self.open_message(r)).transpose()
    }

    /// A page of a conversation, newest first, strictly older than `before` when given.
    pub fn messages(&self, peer: &str, limit: usize, before: Option<i64>) -> Result<Vec<StoredMessage>> {
        let limit = i64::try_from(limit.min(10_000)).unwrap_or(10_000);
        let mut stmt = self.msgs.prepare_cached(&format!(
            "{COLUMNS} WHERE peer = ?1 AND ts < ?2 ORDER BY ts DESC, rowid DESC LIMIT ?3"
        ))?;
        let rows = stmt
            .query_map(params![peer, before.unwrap_or(i64::MAX), limit], raw_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(|r| self.open_message(r)).collect()
    }
}
