//! Public key objects: signed and one-time prekeys, and prekey bundles.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use wac1::encoding::{b64, unb64};
use wac1::{PreKeyBundle as CoreBundle, PublicIdentity};

use crate::errors::{invalid, key32, IntoPyResult};

/// The public half of a signed prekey.
#[pyclass(module = "whatsapp_client._core", frozen)]
#[derive(Clone, Debug)]
pub struct SignedPreKey {
    #[pyo3(get)]
    pub key_id: u32,
    pub public_key: [u8; 32],
    pub signature: [u8; 64],
    #[pyo3(get)]
    pub created_at: u64,
}

impl SignedPreKey {
    pub fn of(key: &wac1::SignedPreKey) -> Self {
        Self {
            key_id: key.id,
            public_key: *key.pair.public(),
            signature: key.signature,
            created_at: key.created_at,
        }
    }
}

#[pymethods]
impl SignedPreKey {
    #[getter]
    fn public_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.public_key)
    }
    #[getter]
    fn signature<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.signature)
    }
    pub fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("key_id", self.key_id)?;
        d.set_item("public_key", b64(&self.public_key))?;
        d.set_item("signature", b64(&self.signature))?;
        Ok(d)
    }
    fn __repr__(&self) -> String {
        format!("SignedPreKey(key_id={}, public_key={})", self.key_id, b64(&self.public_key))
    }
}

/// The public half of a one-time prekey.
#[pyclass(module = "whatsapp_client._core", frozen)]
#[derive(Clone, Debug)]
pub struct OneTimePreKey {
    #[pyo3(get)]
    pub key_id: u32,
    pub public_key: [u8; 32],
}

impl OneTimePreKey {
    pub fn of(key: &wac1::OneTimePreKey) -> Self {
        Self { key_id: key.id, public_key: *key.pair.public() }
    }
}

#[pymethods]
impl OneTimePreKey {
    #[getter]
    fn public_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.public_key)
    }
    pub fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("key_id", self.key_id)?;
        d.set_item("public_key", b64(&self.public_key))?;
        Ok(d)
    }
    fn __repr__(&self) -> String {
        format!("OneTimePreKey(key_id={}, public_key={})", self.key_id, b64(&self.public_key))
    }
}

/// Another user's prekey bundle (PROTOCOL.md §6.3).
#[pyclass(module = "whatsapp_client._core", frozen)]
#[derive(Clone, Debug)]
pub struct PreKeyBundle {
    pub inner: CoreBundle,
}

#[pymethods]
impl PreKeyBundle {
    #[new]
    #[pyo3(signature = (*, identity_key, signing_key, signed_prekey_id, signed_prekey, signed_prekey_signature, one_time_prekey_id=None, one_time_prekey=None))]
    fn new(
        py: Python<'_>,
        identity_key: &[u8],
        signing_key: &[u8],
        signed_prekey_id: u32,
        signed_prekey: &[u8],
        signed_prekey_signature: &[u8],
        one_time_prekey_id: Option<u32>,
        one_time_prekey: Option<&[u8]>,
    ) -> PyResult<Self> {
        let signature = <[u8; 64]>::try_from(signed_prekey_signature)
            .map_err(|_| invalid(py, "signed_prekey_signature must be 64 bytes"))?;
        let one_time_prekey = match (one_time_prekey_id, one_time_prekey) {
            (Some(id), Some(key)) => Some((id, key32(py, key, "one_time_prekey")?)),
            (None, None) => None,
            _ => return Err(invalid(py, "one_time_prekey_id and one_time_prekey go together")),
        };
        Ok(Self {
            inner: CoreBundle {
                identity: PublicIdentity {
                    identity_key: key32(py, identity_key, "identity_key")?,
                    signing_key: key32(py, signing_key, "signing_key")?,
                },
                signed_prekey_id,
                signed_prekey: key32(py, signed_prekey, "signed_prekey")?,
                signed_prekey_signature: signature,
                one_time_prekey,
            },
        })
    }

    /// Builds a bundle from the server's JSON shape (base64 values).
    #[staticmethod]
    fn from_dict(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let spk = item(py, data, "signed_prekey")?;
        let opk = data.get_item("one_time_prekey").ok().filter(|v| !v.is_none());
        let (opk_id, opk_key) = match &opk {
            Some(o) => (Some(int_item(py, o, "key_id")?), Some(b64_item(py, o, "public_key")?)),
            None => (None, None),
        };
        Self::new(
            py,
            &b64_item(py, data, "identity_key")?,
            &b64_item(py, data, "signing_key")?,
            int_item(py, &spk, "key_id")?,
            &b64_item(py, &spk, "public_key")?,
            &b64_item(py, &spk, "signature")?,
            opk_id,
            opk_key.as_deref(),
        )
    }

    pub fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let b = &self.inner;
        let d = PyDict::new(py);
        d.set_item("identity_key", b64(&b.identity.identity_key))?;
        d.set_item("signing_key", b64(&b.identity.signing_key))?;
        let spk = PyDict::new(py);
        spk.set_item("key_id", b.signed_prekey_id)?;
        spk.set_item("public_key", b64(&b.signed_prekey))?;
        spk.set_item("signature", b64(&b.signed_prekey_signature))?;
        d.set_item("signed_prekey", spk)?;
        match b.one_time_prekey {
            Some((id, key)) => {
                let opk = PyDict::new(py);
                opk.set_item("key_id", id)?;
                opk.set_item("public_key", b64(&key))?;
                d.set_item("one_time_prekey", opk)?;
            }
            None => d.set_item("one_time_prekey", py.None())?,
        }
        Ok(d)
    }

    /// Raises `InvalidSignatureError` unless the signed prekey signature verifies.
    fn verify(&self, py: Python<'_>) -> PyResult<()> {
        let inner = self.inner.clone();
        py.allow_threads(move || inner.verify()).py(py)
    }

    #[getter]
    fn identity_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.identity.identity_key)
    }
    #[getter]
    fn signing_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.identity.signing_key)
    }
    #[getter]
    fn signed_prekey_id(&self) -> u32 {
        self.inner.signed_prekey_id
    }
    #[getter]
    fn signed_prekey<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.signed_prekey)
    }
    #[getter]
    fn signed_prekey_signature<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.signed_prekey_signature)
    }
    #[getter]
    fn one_time_prekey_id(&self) -> Option<u32> {
        self.inner.one_time_prekey.map(|(id, _)| id)
    }
    #[getter]
    fn one_time_prekey<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.inner.one_time_prekey.map(|(_, key)| PyBytes::new(py, &key))
    }
    #[getter]
    fn fingerprint(&self) -> String {
        wac1::fingerprint(&self.inner.identity)
    }
    fn __repr__(&self) -> String {
        format!(
            "PreKeyBundle(fingerprint={}, signed_prekey_id={}, one_time_prekey_id={:?})",
            wac1::fingerprint(&self.inner.identity),
            self.inner.signed_prekey_id,
            self.inner.one_time_prekey.map(|(id, _)| id)
        )
    }
}

fn item<'py>(py: Python<'_>, data: &Bound<'py, PyAny>, key: &str) -> PyResult<Bound<'py, PyAny>> {
    data.get_item(key).map_err(|_| invalid(py, format!("bundle is missing {key:?}")))
}

fn b64_item(py: Python<'_>, data: &Bound<'_, PyAny>, key: &str) -> PyResult<Vec<u8>> {
    let text: String =
        item(py, data, key)?.extract().map_err(|_| invalid(py, format!("{key} must be a base64 string")))?;
    unb64(&text).py(py)
}

fn int_item(py: Python<'_>, data: &Bound<'_, PyAny>, key: &str) -> PyResult<u32> {
    item(py, data, key)?.extract().map_err(|_| invalid(py, format!("{key} must be an integer in 0..2**32")))
}
