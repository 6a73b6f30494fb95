//! Compact, versioned binary serialization of every stateful object, for storage.
//!
//! Each top-level object starts with a kind byte and a format version byte, so a reader can
//! refuse what it does not understand and later versions can migrate. Integers are
//! big-endian. The output holds private keys: callers seal it before it touches a disk.

use std::collections::{BTreeMap, VecDeque};

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::keys::{IdentityKeyPair, KeyPair, OneTimePreKey, PublicIdentity, SignedPreKey};
use crate::prekeys::Account;
use crate::ratchet::{Limits, RatchetState, SkippedKey};
use crate::session::{Session, SessionRecord};
use crate::wire::X3dhHeader;

mod buffers;

use buffers::{Kind, Reader, Writer};

/// Objects that serialize to and from the binary format.
pub trait Serialize: Sized {
    /// Encodes to bytes (zeroized when dropped).
    fn to_bytes(&self) -> Zeroizing<Vec<u8>>;
    /// Decodes, refusing unknown kinds, versions, trailing bytes and bad lengths.
    fn from_bytes(bytes: &[u8]) -> Result<Self>;
}

fn put_identity(w: &mut Writer, id: &IdentityKeyPair) {
    w.bytes(id.dh.secret_bytes().as_ref());
    w.bytes(id.signing_secret().as_ref());
}
fn get_identity(r: &mut Reader<'_>) -> Result<IdentityKeyPair> {
    Ok(IdentityKeyPair::from_secret_bytes(r.secret()?, r.secret()?))
}
fn put_spk(w: &mut Writer, k: &SignedPreKey) {
    w.u32(k.id);
    w.bytes(k.pair.secret_bytes().as_ref());
    w.bytes(&k.signature);
    w.u64(k.created_at);
}
fn get_spk(r: &mut Reader<'_>) -> Result<SignedPreKey> {
    Ok(SignedPreKey {
        id: r.u32()?,
        pair: KeyPair::from_secret_bytes(r.secret()?),
        signature: r.b64()?,
        created_at: r.u64()?,
    })
}
fn put_opk(w: &mut Writer, k: &OneTimePreKey) {
    w.u32(k.id);
    w.bytes(k.pair.secret_bytes().as_ref());
}
fn get_opk(r: &mut Reader<'_>) -> Result<OneTimePreKey> {
    Ok(OneTimePreKey { id: r.u32()?, pair: KeyPair::from_secret_bytes(r.secret()?) })
}
fn put_public_identity(w: &mut Writer, p: &PublicIdentity) {
    w.bytes(&p.identity_key);
    w.bytes(&p.signing_key);
}
fn get_public_identity(r: &mut Reader<'_>) -> Result<PublicIdentity> {
    Ok(PublicIdentity { identity_key: r.b32()?, signing_key: r.b32()? })
}

fn put_ratchet(w: &mut Writer, s: &RatchetState) {
    w.bytes(s.root_key.as_ref());
    w.bytes(s.sending_ratchet.secret_bytes().as_ref());
    w.opt32(s.remote_ratchet.as_ref());
    w.opt32(s.sending_chain.as_deref());
    w.opt32(s.receiving_chain.as_deref());
    w.u32(s.ns);
    w.u32(s.nr);
    w.u32(s.pn);
    w.len(s.skipped.len());
    for k in &s.skipped {
        w.bytes(&k.dh);
        w.u32(k.n);
        w.bytes(&k.mk[..]);
    }
}
fn get_ratchet(r: &mut Reader<'_>) -> Result<RatchetState> {
    let root_key = r.secret()?;
    let sending_ratchet = KeyPair::from_secret_bytes(r.secret()?);
    let remote_ratchet = r.opt32()?;
    let sending_chain = r.opt_secret()?;
    let receiving_chain = r.opt_secret()?;
    let (ns, nr, pn) = (r.u32()?, r.u32()?, r.u32()?);
    let count = r.count(u32::MAX)?;
    // Sized up front (up to the largest allowed cache) so the deque does not regrow.
    let mut skipped = VecDeque::with_capacity(count.min(crate::ratchet::MAX_LIMIT as usize));
    for _ in 0..count {
        skipped.push_back(SkippedKey { dh: r.b32()?, n: r.u32()?, mk: Box::new(r.secret()?) });
    }
    Ok(RatchetState {
        root_key,
        sending_ratchet,
        remote_ratchet,
        sending_chain,
        receiving_chain,
        ns,
        nr,
        pn,
        skipped,
    })
}

fn put_session(w: &mut Writer, s: &Session) {
    put_ratchet(w, &s.ratchet);
    w.bytes(&s.associated_data);
    put_public_identity(w, &s.peer);
    w.bytes(&s.base.0);
    w.bytes(&s.base.1);
    match &s.pending_x3dh {
        Some(x) => {
            w.u8(1);
            w.bytes(&x.ik);
            w.bytes(&x.sk);
            w.bytes(&x.ek);
            w.u32(x.spk_id);
            w.opt_u32(x.opk_id);
        }
        None => w.u8(0),
    }
}
fn get_session(r: &mut Reader<'_>) -> Result<Session> {
    let ratchet = get_ratchet(r)?;
    let associated_data = r.b64()?;
    let peer = get_public_identity(r)?;
    let base = (r.b32()?, r.b32()?);
    let pending_x3dh = if r.flag()? {
        Some(X3dhHeader { ik: r.b32()?, sk: r.b32()?, ek: r.b32()?, spk_id: r.u32()?, opk_id: r.opt_u32()? })
    } else {
        None
    };
    Ok(Session { ratchet, associated_data, peer, base, pending_x3dh })
}

impl Serialize for IdentityKeyPair {
    fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new(Kind::Identity);
        put_identity(&mut w, self);
        w.0
    }
    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes, Kind::Identity)?;
        let v = get_identity(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

impl Serialize for SignedPreKey {
    fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new(Kind::SignedPreKey);
        put_spk(&mut w, self);
        w.0
    }
    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes, Kind::SignedPreKey)?;
        let v = get_spk(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

impl Serialize for OneTimePreKey {
    fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new(Kind::OneTimePreKey);
        put_opk(&mut w, self);
        w.0
    }
    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes, Kind::OneTimePreKey)?;
        let v = get_opk(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

impl Serialize for SessionRecord {
    fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new(Kind::SessionRecord);
        match &self.peer {
            Some(p) => {
                w.u8(1);
                put_public_identity(&mut w, p);
            }
            None => w.u8(0),
        }
        w.len(self.sessions.len());
        for s in &self.sessions {
            put_session(&mut w, s);
        }
        w.0
    }
    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes, Kind::SessionRecord)?;
        let peer = if r.flag()? { Some(get_public_identity(&mut r)?) } else { None };
        let count = r.count(1 + crate::session::MAX_OLD_SESSIONS as u32)?;
        // Sized up front: a growing Vec would free copies of the sessions' keys unwiped.
        let mut sessions = Vec::with_capacity(count);
        for _ in 0..count {
            sessions.push(Box::new(get_session(&mut r)?));
        }
        r.finish()?;
        Ok(Self { peer, sessions })
    }
}

impl Serialize for Account {
    fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new(Kind::Account);
        put_identity(&mut w, &self.identity);
        w.len(self.signed_prekeys.len());
        for k in &self.signed_prekeys {
            put_spk(&mut w, k);
        }
        w.len(self.one_time_prekeys.len());
        for k in self.one_time_prekeys.values() {
            put_opk(&mut w, k);
        }
        w.u32(self.next_one_time_id);
        w.u32(self.limits.max_skip);
        w.u32(u32::try_from(self.limits.max_skipped_keys).unwrap_or(u32::MAX));
        w.0
    }
    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes, Kind::Account)?;
        let identity = get_identity(&mut r)?;
        let n = r.count(crate::prekeys::MAX_SIGNED_PREKEYS as u32)?;
        let mut signed_prekeys = Vec::with_capacity(n);
        for _ in 0..n {
            signed_prekeys.push(get_spk(&mut r)?);
        }
        let n = r.count(u32::MAX)?;
        let mut one_time_prekeys = BTreeMap::new();
        for _ in 0..n {
            let k = get_opk(&mut r)?;
            if one_time_prekeys.insert(k.id, Box::new(k)).is_some() {
                return Err(Error::Corrupt("duplicate one-time prekey id"));
            }
        }
        let next_one_time_id = r.u32()?;
        // A next id at or below one already held would hand out a one-time prekey id twice.
        if one_time_prekeys.keys().next_back().is_some_and(|max| *max >= next_one_time_id) {
            return Err(Error::Corrupt("next one-time prekey id is not above the ids held"));
        }
        let max_skip = r.u32()?;
        let max_skipped_keys = usize::try_from(r.u32()?).map_err(|_| Error::Corrupt("limit out of range"))?;
        r.finish()?;
        Ok(Self {
            identity,
            signed_prekeys,
            one_time_prekeys,
            next_one_time_id,
            limits: Limits { max_skip, max_skipped_keys },
        })
    }
}
