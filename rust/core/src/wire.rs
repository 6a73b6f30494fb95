//! The `E2EE:` wire string of PROTOCOL.md §5, with strict parsing.

use std::borrow::Cow;

use serde::Deserialize;

use crate::encoding::{b64, b64_into, unb64, unb64_32};
use crate::error::{Error, Result};
use crate::keys::PublicKeyBytes;
use crate::ratchet::Header;

/// The prefix of every encrypted direct message.
pub const PREFIX: &str = "E2EE:";

/// The `x3dh` field: present on the initiator's messages until it hears back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct X3dhHeader {
    /// Initiator's identity key `IK_A`.
    pub ik: PublicKeyBytes,
    /// Initiator's signing key `SK_A`.
    pub sk: PublicKeyBytes,
    /// Initiator's ephemeral key `EK_A`.
    pub ek: PublicKeyBytes,
    /// The responder's signed prekey id used.
    pub spk_id: u32,
    /// The responder's one-time prekey id used, if any.
    pub opk_id: Option<u32>,
}

/// A parsed encrypted message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireMessage {
    /// Ratchet header.
    pub header: Header,
    /// AES-256-GCM ciphertext with tag.
    pub ciphertext: Vec<u8>,
    /// X3DH fields, on prekey messages.
    pub x3dh: Option<X3dhHeader>,
}

#[derive(Deserialize)]
struct RawWire<'a> {
    v: u64,
    header: RawHeader,
    /// Borrowed from the wire string unless it holds JSON escapes (1.4 MB for a 1 MiB message).
    #[serde(borrow)]
    ciphertext: Cow<'a, str>,
    #[serde(default)]
    x3dh: Option<RawX3dh>,
}

#[derive(Deserialize)]
struct RawHeader {
    dh: String,
    pn: u32,
    n: u32,
}

#[derive(Deserialize)]
struct RawX3dh {
    ik: String,
    sk: String,
    ek: String,
    spk_id: u32,
    opk_id: Option<u32>,
}

impl WireMessage {
    /// Parses a wire string. Any formatting and key order is accepted; everything else
    /// that PROTOCOL.md §5 lists is refused with [`Error::InvalidMessage`].
    pub fn parse(text: &str) -> Result<Self> {
        let body = text
            .strip_prefix(PREFIX)
            .ok_or_else(|| Error::InvalidMessage("missing the E2EE: prefix".into()))?;
        let raw: RawWire = serde_json::from_str(body)
            .map_err(|e| Error::InvalidMessage(format!("malformed message: {e}")))?;
        if raw.v != 1 {
            return Err(Error::InvalidMessage(format!("unsupported version {}", raw.v)));
        }
        let header =
            Header { dh: unb64_32(&raw.header.dh, "header.dh")?, pn: raw.header.pn, n: raw.header.n };
        let ciphertext = unb64(&raw.ciphertext)?;
        let x3dh = match raw.x3dh {
            None => None,
            Some(x) => Some(X3dhHeader {
                ik: unb64_32(&x.ik, "x3dh.ik")?,
                sk: unb64_32(&x.sk, "x3dh.sk")?,
                ek: unb64_32(&x.ek, "x3dh.ek")?,
                spk_id: x.spk_id,
                opk_id: x.opk_id,
            }),
        };
        Ok(Self { header, ciphertext, x3dh })
    }

    /// Encodes as a compact wire string.
    pub fn encode(&self) -> String {
        // Sized once: the base64 of the ciphertext is written straight into it.
        let ct_len = self.ciphertext.len().div_ceil(3) * 4;
        let mut out =
            String::with_capacity(PREFIX.len() + 96 + ct_len + if self.x3dh.is_some() { 200 } else { 0 });
        out.push_str(PREFIX);
        out.push_str("{\"v\":1,\"header\":{\"dh\":\"");
        out.push_str(&b64(&self.header.dh));
        out.push_str("\",\"pn\":");
        out.push_str(&self.header.pn.to_string());
        out.push_str(",\"n\":");
        out.push_str(&self.header.n.to_string());
        out.push_str("},\"ciphertext\":\"");
        b64_into(&self.ciphertext, &mut out);
        out.push('"');
        if let Some(x) = &self.x3dh {
            out.push_str(",\"x3dh\":{\"ik\":\"");
            out.push_str(&b64(&x.ik));
            out.push_str("\",\"sk\":\"");
            out.push_str(&b64(&x.sk));
            out.push_str("\",\"ek\":\"");
            out.push_str(&b64(&x.ek));
            out.push_str("\",\"spk_id\":");
            out.push_str(&x.spk_id.to_string());
            out.push_str(",\"opk_id\":");
            match x.opk_id {
                Some(id) => out.push_str(&id.to_string()),
                None => out.push_str("null"),
            }
            out.push('}');
        }
        out.push('}');
        out
    }
}
