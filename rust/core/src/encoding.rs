//! Base64 (RFC 4648 §4, padded) and small fixed-size conversions.
//!
//! `base64-simd` (AVX2/SSE4.1/NEON chosen at run time; about 5× the `base64` crate on a
//! 1 MiB message here). Its standard decoder is as strict as §1 asks: padding required and
//! canonical (non-zero trailing bits refused), no whitespace, no URL-safe characters.

use base64_simd::STANDARD;

use crate::error::{Error, Result};

/// Standard padded base64.
pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode_to_string(bytes)
}

/// Appends the standard padded base64 of `bytes` to `out` (no intermediate string).
pub fn b64_into(bytes: &[u8], out: &mut String) {
    STANDARD.encode_append(bytes, out);
}

/// Decodes standard padded base64 strictly (no whitespace, canonical padding).
pub fn unb64(text: &str) -> Result<Vec<u8>> {
    STANDARD.decode_to_vec(text).map_err(|_| Error::InvalidMessage("invalid base64".into()))
}

/// Decodes base64 that must be exactly 32 bytes.
pub fn unb64_32(text: &str, what: &'static str) -> Result<[u8; 32]> {
    let bytes = unb64(text)?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| Error::InvalidMessage(format!("{what} must be 32 bytes, got {}", bytes.len())))
}
