//! Base64 (RFC 4648 §4, padded) and small fixed-size conversions.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::error::{Error, Result};

/// Standard padded base64.
pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard padded base64 strictly (no whitespace, canonical padding).
pub fn unb64(text: &str) -> Result<Vec<u8>> {
    STANDARD.decode(text).map_err(|_| Error::InvalidMessage("invalid base64".into()))
}

/// Decodes base64 that must be exactly 32 bytes.
pub fn unb64_32(text: &str, what: &'static str) -> Result<[u8; 32]> {
    let bytes = unb64(text)?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| Error::InvalidMessage(format!("{what} must be 32 bytes, got {}", bytes.len())))
}
