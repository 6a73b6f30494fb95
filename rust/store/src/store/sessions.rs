//! Sessions and peer identities (with the verified flag).

use rand_core::OsRng;
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
        match self.read_row(Row::Session(peer))? {
            None => Ok(SessionRecord::new()),
            Some(raw) => SessionRecord::from_bytes(&raw)
                .map_err(|_| StoreError::Corrupt(format!("the stored session with {peer:?} is malformed"))),
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

    pub(super) fn load_peer(&self, peer: &str) -> Result<Option<PeerIdentity>> {
        match self.read_row(Row::Peer(peer))? {
            None => Ok(None),
            Some(raw) => Ok(Some(PeerIdentity::decode(&raw)?)),
        }
    }

    /// What to write to `peers` when a session shows `seen` as the peer's identity:
    /// `(new row if any, whether the identity changed from the stored one)`.
    pub(super) fn peer_update(
        &self,
        peer: &str,
        seen: Option<&PublicIdentity>,
    ) -> Result<(Option<PeerIdentity>, bool)> {
        let Some(seen) = seen else { return Ok((None, false)) };
        let fresh = PeerIdentity { identity: *seen, verified: false, verified_at: None };
        match self.load_peer(peer)? {
            Some(k) if k.identity == *seen => Ok((None, false)),
            Some(_) => Ok((Some(fresh), true)),
            None => Ok((Some(fresh), false)),
        }
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
        let mut lt = self.ledger.begin();
        let blob = lt.seal(&self.ledger, &self.data_key, Row::Session(peer), &record.to_bytes())?;
        let peer_blob = match &peer_row {
            Some(p) => Some(lt.seal(&self.ledger, &self.data_key, Row::Peer(peer), &p.encode())?),
            None => None,
        };
        let tx = Self::begin(self.pid, &mut self.keys)?;
        Row::Session(peer).put(&tx, lt.gen, &blob)?;
        if let Some(b) = &peer_blob {
            Row::Peer(peer).put(&tx, lt.gen, b)?;
        }
        lt.write(&tx, &self.data_key)?;
        tx.commit()?;
        self.ledger.apply(lt);
        self.cache.put(peer, record);
        Ok(changed_in_record || changed_in_table)
    }

    /// The peer's identity as stored.
    pub fn peer_identity(&self, peer: &str) -> Result<Option<PeerIdentity>> {
        check_id("peer_id", peer)?;
        self.load_peer(peer)
    }

    fn write_peer(&mut self, peer: &str, p: &PeerIdentity) -> Result<()> {
        let mut lt = self.ledger.begin();
        let blob = lt.seal(&self.ledger, &self.data_key, Row::Peer(peer), &p.encode())?;
        let tx = Self::begin(self.pid, &mut self.keys)?;
        Row::Peer(peer).put(&tx, lt.gen, &blob)?;
        lt.write(&tx, &self.data_key)?;
        tx.commit()?;
        self.ledger.apply(lt);
        Ok(())
    }

    /// Sets or clears the verified flag (with the time it was set). To mark a peer
    /// verified after comparing fingerprints, use [`Self::mark_verified`], which binds the
    /// flag to what was compared.
    pub fn set_verified(&mut self, peer: &str, verified: bool) -> Result<()> {
        check_id("peer_id", peer)?;
        let mut p = self
            .load_peer(peer)?
            .ok_or_else(|| StoreError::NotFound(format!("no identity is known for peer {peer:?}")))?;
        p.verified = verified;
        p.verified_at = verified.then(now_secs);
        self.write_peer(peer, &p)
    }

    /// Marks the peer verified only if the identity stored now has `fingerprint` (64 hex
    /// digits, compared in constant time), reading and writing in one step of this store:
    /// an identity that changed after the user compared is never marked verified. Returns
    /// whether the flag was set; nothing changes when it was not.
    pub fn mark_verified(&mut self, peer: &str, fingerprint: &str) -> Result<bool> {
        use subtle::ConstantTimeEq;
        check_id("peer_id", peer)?;
        let mut p = self
            .load_peer(peer)?
            .ok_or_else(|| StoreError::NotFound(format!("no identity is known for peer {peer:?}")))?;
        let current = wac1::fingerprint(&p.identity);
        let given = fingerprint.trim().to_ascii_lowercase();
        if !bool::from(current.as_bytes().ct_eq(given.as_bytes())) {
            return Ok(false);
        }
        p.verified = true;
        p.verified_at = Some(now_secs());
        self.write_peer(peer, &p)?;
        Ok(true)
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
