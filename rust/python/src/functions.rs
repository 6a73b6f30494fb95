//! Module-level functions: signature check, fingerprints, safety numbers, wire inspection.

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use subtle::ConstantTimeEq;
use wac1::fingerprint::parse_fingerprint;
use wac1::{PublicIdentity, WireMessage};

use crate::errors::{key32, IntoPyResult};

/// True when `signature` is the Ed25519 signature of `signing_key` over the signed prekey.
#[pyfunction]
pub fn verify_signed_prekey(
    py: Python<'_>,
    signing_key: &[u8],
    key_id: u32,
    public_key: &[u8],
    signature: &[u8],
) -> bool {
    let (Ok(sk), Ok(pk), Ok(sig)) = (
        <[u8; 32]>::try_from(signing_key),
        <[u8; 32]>::try_from(public_key),
        <[u8; 64]>::try_from(signature),
    ) else {
        return false;
    };
    py.allow_threads(|| wac1::verify_signed_prekey(&sk, key_id, &pk, &sig).is_ok())
}

/// The 64-hex-character fingerprint of an identity.
#[pyfunction]
pub fn fingerprint(py: Python<'_>, identity_key: &[u8], signing_key: &[u8]) -> PyResult<String> {
    let identity = PublicIdentity {
        identity_key: key32(py, identity_key, "identity_key")?,
        signing_key: key32(py, signing_key, "signing_key")?,
    };
    Ok(wac1::fingerprint(&identity))
}

/// The 60-digit safety number of two fingerprints.
#[pyfunction]
pub fn safety_number(py: Python<'_>, fingerprint_a: &str, fingerprint_b: &str) -> PyResult<String> {
    let a = parse_fingerprint(fingerprint_a).py(py)?;
    let b = parse_fingerprint(fingerprint_b).py(py)?;
    Ok(wac1::safety_number(&a, &b))
}

/// Constant-time, case-insensitive comparison of two fingerprints.
#[pyfunction]
pub fn compare_fingerprints(py: Python<'_>, a: &str, b: &str) -> PyResult<bool> {
    let a = parse_fingerprint(a).py(py)?;
    let b = parse_fingerprint(b).py(py)?;
    Ok(bool::from(a.ct_eq(&b)))
}

/// Public fields of a parsed wire message.
#[pyclass(module = "whatsapp_client._core", frozen)]
#[derive(Debug)]
pub struct WireInfo {
    message: WireMessage,
}

#[pymethods]
impl WireInfo {
    #[getter]
    fn ratchet_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.message.header.dh)
    }
    #[getter]
    fn previous_chain_length(&self) -> u32 {
        self.message.header.pn
    }
    #[getter]
    fn message_number(&self) -> u32 {
        self.message.header.n
    }
    #[getter]
    fn is_prekey_message(&self) -> bool {
        self.message.x3dh.is_some()
    }
    #[getter]
    fn ciphertext_length(&self) -> usize {
        self.message.ciphertext.len()
    }
    fn __repr__(&self) -> String {
        format!(
            "WireInfo(message_number={}, previous_chain_length={}, is_prekey_message={})",
            self.message.header.n,
            self.message.header.pn,
            self.message.x3dh.is_some()
        )
    }
}

/// Parses an `E2EE:` wire string strictly.
#[pyfunction]
pub fn parse_message(py: Python<'_>, message: &str) -> PyResult<WireInfo> {
    Ok(WireInfo { message: WireMessage::parse(message).py(py)? })
}
