//! Sessions and peer identities (with the verified flag).

use rand_core::OsRng;
use rusqlite::{params, OptionalExtension, Transaction};
use wac1::{PreKeyBundle, PublicIdentity, Serialize, SessionRecord};

use super::*;
use crate::error::{Result, StoreError};

impl Store {
    // ----- sessions -------------------------------------------------------------------

    /// Takes a peer's record out of the cache or the database (an empty one if none). The
    /// caller puts it back with `cache.put` only once its changes are committed.
    pub(super) fn take_session(&mut self, peer: &str) -> Result<SessionRecord> {
        if let Some(r) = self.cache.take(peer) {
            return Ok(r);
        }
        let blob: Option<Vec<u8>> = self
            .keys
            .prepare_cached("SELECT blob FROM sessions WHERE peer = ?1")?
            .query_row([peer], |r| r.get(0))
            .optional()?;
        match blob {
            None => Ok(SessionRecord::new()),
            Some(b) => {
                let raw = self.data_key.open("sessions", peer.as_bytes(), &b)?;
                SessionRecord::from_bytes(&raw).map_err(|_| {
                    StoreError::Corrupt(format!("the stored session with {peer:?} is malformed"))
                })
            }
        }
    }

    /// Whether a session with the peer exists.
    pub fn has_session(&mut self, peer: &str) -> Result<bool> {
        check_id("peer_id", peer)?;
        let record = self.take_session(peer)?;
        let has = record.has_session();
        self.cache.put(peer, record);
        Ok(has)
    }

    pub(super) fn session_blob(&self, peer: &str, record: &SessionRecord) -> Result<Vec<u8>> {
        self.data_key.seal("sessions", peer.as_bytes(), &record.to_bytes())
    }

    pub(super) fn load_peer(&self, peer: &str) -> Result<Option<PeerIdentity>> {
        let blob: Option<Vec<u8>> = self
            .keys
            .prepare_cached("SELECT blob FROM peers WHERE peer = ?1")?
            .query_row([peer], |r| r.get(0))
            .optional()?;
        match blob {
            None => Ok(None),
            Some(b) => Ok(Some(PeerIdentity::decode(&self.data_key.open("peers", peer.as_bytes(), &b)?)?)),
        }
    }

    /// What to write to `peers` when a session shows `seen` as the peer's identity:
    /// `(new row if any, whether the identity changed from the stored one)`.
    pub(super) fn peer_update(
        &self,
        peer: &str,
        seen: Option<&PublicIdentity>,
    ) -> Result<(Option<Vec<u8>>, bool)> {
        let Some(seen) = seen else { return Ok((None, false)) };
        let known = self.load_peer(peer)?;
        let (row, changed) = match known {
            Some(k) if k.identity == *seen => return Ok((None, false)),
            Some(_) => (PeerIdentity { identity: *seen, verified: false, verified_at: None }, true),
            None => (PeerIdentity { identity: *seen, verified: false, verified_at: None }, false),
        };
        Ok((Some(self.data_key.seal("peers", peer.as_bytes(), &row.encode())?), changed))
    }

    pub(super) fn upsert_session(tx: &Transaction<'_>, peer: &str, blob: &[u8]) -> Result<()> {
        tx.prepare_cached(
            "INSERT INTO sessions(peer, blob) VALUES (?1, ?2) ON CONFLICT(peer) DO UPDATE SET blob = excluded.blob",
        )?
        .execute(params![peer, blob])?;
        Ok(())
    }

    pub(super) fn upsert_peer(tx: &Transaction<'_>, peer: &str, blob: &[u8]) -> Result<()> {
        tx.prepare_cached(
            "INSERT INTO peers(peer, blob) VALUES (?1, ?2) ON CONFLICT(peer) DO UPDATE SET blob = excluded.blob",
        )?
        .execute(params![peer, blob])?;
        Ok(())
    }

    /// X3DH as initiator with the peer's bundle; committed before it returns. Returns
    /// whether the peer's identity changed (its verified flag is then cleared).
    pub fn start_session(&mut self, peer: &str, bundle: &PreKeyBundle) -> Result<bool> {
        check_id("peer_id", peer)?;
        let identity = self.require_account()?.identity().clone();
        let mut record = self.take_session(peer)?;
        let changed_in_record = match record.initiate(&identity, bundle, &mut OsRng) {
            Ok(c) => c,
            Err(e) => {
                self.cache.put(peer, record);
                return Err(e.into());
            }
        };
        let (peer_row, changed_in_table) = self.peer_update(peer, record.peer_identity())?;
        let blob = self.session_blob(peer, &record)?;
        let tx = Self::begin(&mut self.keys)?;
        Self::upsert_session(&tx, peer, &blob)?;
        if let Some(row) = &peer_row {
            Self::upsert_peer(&tx, peer, row)?;
        }
        tx.commit()?;
        self.cache.put(peer, record);
        Ok(changed_in_record || changed_in_table)
    }

    /// The peer's identity as stored.
    pub fn peer_identity(&self, peer: &str) -> Result<Option<PeerIdentity>> {
        check_id("peer_id", peer)?;
        self.load_peer(peer)
    }

    /// Sets or clears the verified flag (with the time it was set).
    pub fn set_verified(&mut self, peer: &str, verified: bool) -> Result<()> {
        check_id("peer_id", peer)?;
        let mut p = self
            .load_peer(peer)?
            .ok_or_else(|| StoreError::NotFound(format!("no identity is known for peer {peer:?}")))?;
        p.verified = verified;
        p.verified_at = verified.then(now_secs);
        let blob = self.data_key.seal("peers", peer.as_bytes(), &p.encode())?;
        let tx = Self::begin(&mut self.keys)?;
        Self::upsert_peer(&tx, peer, &blob)?;
        tx.commit()?;
        Ok(())
    }

    /// A copy of the peer's session record (an empty record when there is none).
    pub fn session_copy(&mut self, peer: &str) -> Result<SessionRecord> {
        let record = self.take_session(peer)?;
        let copy = record.clone();
        self.cache.put(peer, record);
        Ok(copy)
    }

    /// Drops every cached session record (they are reloaded on demand).
    pub fn clear_cache(&mut self) {
        self.cache.clear();
    }
}
