//! The plain records the store hands out: peer identities, history messages, outbox items
//! and the keys upload payload.

use wac1::PublicIdentity;
use zeroize::Zeroizing;

use super::*;
use crate::codec::{Dec, Enc};
use crate::error::{Result, StoreError};

/// A peer's identity as this store knows it, with the verified flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The peer's identity keys.
    pub identity: PublicIdentity,
    /// Whether the user verified the fingerprint.
    pub verified: bool,
    /// When it was verified (Unix seconds).
    pub verified_at: Option<i64>,
}

impl PeerIdentity {
    pub(super) fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut e = Enc::new(1);
        e.bytes(&self.identity.identity_key).bytes(&self.identity.signing_key);
        e.u8(u8::from(self.verified)).opt_i64(self.verified_at);
        e.finish()
    }

    pub(super) fn decode(bytes: &[u8]) -> Result<Self> {
        let mut d = Dec::new(bytes, 1, "peer identity")?;
        let ik = key32(d.bytes()?)?;
        let sk = key32(d.bytes()?)?;
        let verified = d.flag()?;
        let verified_at = d.opt_i64()?;
        d.finish()?;
        Ok(Self { identity: PublicIdentity { identity_key: ik, signing_key: sk }, verified, verified_at })
    }
}

pub(super) fn key32(b: &[u8]) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(b).map_err(|_| StoreError::Corrupt("a stored key has the wrong length".into()))
}

/// One message of the local history. `Debug` leaves the content out.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Message id.
    pub id: String,
    /// The conversation: the peer's user id, or the group id.
    pub peer_id: String,
    /// Sender's user id.
    pub from_user: String,
    /// Recipient (user id or group id).
    pub to: String,
    /// `"in"` or `"out"`.
    pub direction: String,
    /// Payload type (`text`, `image`, `file`, ...).
    pub kind: String,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// Delivery status (`pending`, `sent`, `delivered`, `read`, ...).
    pub status: String,
    /// The content (sealed at rest).
    pub content: Vec<u8>,
    /// The group, for group messages.
    pub group_id: Option<String>,
}

impl StoredMessage {
    pub(super) fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut e = Enc::new(1);
        e.str(&self.peer_id).str(&self.from_user).str(&self.to).str(&self.direction).str(&self.kind);
        e.i64(self.timestamp).opt_str(self.group_id.as_deref()).bytes(&self.content);
        e.finish()
    }

    pub(super) fn decode(id: String, status: String, bytes: &[u8]) -> Result<Self> {
        let mut d = Dec::new(bytes, 1, "message")?;
        let m = Self {
            id,
            peer_id: d.string()?,
            from_user: d.string()?,
            to: d.string()?,
            direction: d.string()?,
            kind: d.string()?,
            timestamp: d.i64()?,
            group_id: d.opt_string()?,
            content: d.bytes()?.to_vec(),
            status,
        };
        d.finish()?;
        Ok(m)
    }

    pub(super) fn validate(&self) -> Result<()> {
        check_message_id(&self.id)?;
        check_id("from_user", &self.from_user)?;
        check_id("peer_id", &self.peer_id)?;
        if self.direction != "in" && self.direction != "out" {
            return Err(StoreError::Invalid("direction must be \"in\" or \"out\"".into()));
        }
        check_status(&self.status)
    }
}

/// A message waiting to be sent. `Debug` leaves the payload out.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Message id.
    pub message_id: String,
    /// Recipient.
    pub peer_id: String,
    /// What to send (sealed at rest).
    pub payload: Vec<u8>,
    /// When it was queued (caller's clock).
    pub created_at: i64,
}

/// The public part of the account that `PUT /api/keys` uploads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeysPayload {
    /// X25519 identity key.
    pub identity_key: [u8; 32],
    /// Ed25519 signing key.
    pub signing_key: [u8; 32],
    /// Current signed prekey: id, public key, signature.
    pub signed_prekey: (u32, [u8; 32], [u8; 64]),
    /// One-time prekeys: id, public key.
    pub one_time_prekeys: Vec<(u32, [u8; 32])>,
}

impl core::fmt::Debug for StoredMessage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StoredMessage")
            .field("id", &self.id)
            .field("peer_id", &self.peer_id)
            .field("from_user", &self.from_user)
            .field("direction", &self.direction)
            .field("kind", &self.kind)
            .field("timestamp", &self.timestamp)
            .field("status", &self.status)
            .field("content", &format_args!("<{} bytes redacted>", self.content.len()))
            .field("group_id", &self.group_id)
            .finish()
    }
}

impl core::fmt::Debug for OutboxItem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OutboxItem")
            .field("message_id", &self.message_id)
            .field("peer_id", &self.peer_id)
            .field("payload", &format_args!("<{} bytes redacted>", self.payload.len()))
            .field("created_at", &self.created_at)
            .finish()
    }
}
