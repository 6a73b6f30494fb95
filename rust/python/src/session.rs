//! `Session` (everything held for one peer) and `Decrypted`.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyType};
use rand_core::OsRng;
use wac1::{Serialize, SessionRecord, WireMessage};

use crate::errors::{key32, IntoPyResult};

/// Plaintexts at least this large are encrypted with the GIL released.
pub const BULK_BYTES: usize = 16 * 1024;

const SEAL_LABEL: &[u8] = b"WAC1/sealed/session";

/// Everything held for one peer: the active session and up to five older ones.
#[pyclass(module = "whatsapp_client._core")]
#[derive(Clone, Debug, Default)]
pub struct Session {
    pub record: SessionRecord,
}

#[pymethods]
impl Session {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Encrypts with the active session and returns the `E2EE:` wire string.
    fn encrypt(&mut self, py: Python<'_>, plaintext: &[u8]) -> PyResult<String> {
        let record = &mut self.record;
        let result = if plaintext.len() >= BULK_BYTES {
            py.allow_threads(|| record.encrypt(plaintext).map(|m| m.encode()))
        } else {
            record.encrypt(plaintext).map(|m| m.encode())
        };
        result.py(py)
    }

    /// Encrypts many messages in one call; all or nothing.
    fn encrypt_many(&mut self, py: Python<'_>, plaintexts: Vec<Vec<u8>>) -> PyResult<Vec<String>> {
        let record = &mut self.record;
        py.allow_threads(|| record.encrypt_many(&plaintexts).map(|ms| ms.iter().map(WireMessage::encode).collect()))
            .py(py)
    }

    #[getter]
    fn can_encrypt(&self) -> bool {
        self.record.can_encrypt()
    }
    #[getter]
    fn has_session(&self) -> bool {
        self.record.has_session()
    }
    #[getter]
    fn session_count(&self) -> usize {
        self.record.session_count()
    }
    #[getter]
    fn peer_identity_key<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.record.peer_identity().map(|p| PyBytes::new(py, &p.identity_key))
    }
    #[getter]
    fn peer_signing_key<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.record.peer_identity().map(|p| PyBytes::new(py, &p.signing_key))
    }
    #[getter]
    fn peer_fingerprint(&self) -> Option<String> {
        self.record.peer_identity().map(wac1::fingerprint)
    }
    /// True while the active session still sends X3DH fields (no reply decrypted yet).
    #[getter]
    fn awaiting_reply(&self) -> bool {
        self.record.active().is_some_and(wac1::Session::awaiting_reply)
    }

    fn copy(&self) -> Self {
        self.clone()
    }
    fn __copy__(&self) -> Self {
        self.clone()
    }

    /// The state sealed (XChaCha20-Poly1305) under a 32-byte key.
    fn to_bytes<'py>(&self, py: Python<'py>, key: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let key = key32(py, key, "key")?;
        let plain = self.record.to_bytes();
        let sealed = wac1::sealed::seal(&key, SEAL_LABEL, &plain, &mut OsRng).py(py)?;
        Ok(PyBytes::new(py, &sealed))
    }

    /// Restores sealed state; raises `CorruptStateError` on a wrong key or bad data.
    #[classmethod]
    fn from_bytes(_cls: &Bound<'_, PyType>, py: Python<'_>, data: &[u8], key: &[u8]) -> PyResult<Self> {
        let key = key32(py, key, "key")?;
        let plain = wac1::sealed::open(&key, SEAL_LABEL, data).py(py)?;
        Ok(Self { record: SessionRecord::from_bytes(&plain).py(py)? })
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.downcast::<Self>().is_ok_and(|o| o.borrow().record == self.record)
    }

    fn __repr__(&self) -> String {
        match self.record.peer_identity() {
            Some(p) => format!(
                "Session(peer_fingerprint={}, sessions={})",
                wac1::fingerprint(p),
                self.record.session_count()
            ),
            None => "Session(empty)".to_owned(),
        }
    }
}

/// The result of a successful decrypt.
#[pyclass(module = "whatsapp_client._core", frozen)]
#[derive(Debug)]
pub struct Decrypted {
    plaintext: Py<PyBytes>,
    #[pyo3(get)]
    new_session: bool,
    #[pyo3(get)]
    identity_changed: bool,
    #[pyo3(get)]
    used_one_time_prekey: Option<u32>,
}

impl Decrypted {
    pub fn of(py: Python<'_>, d: &wac1::Decrypted) -> Self {
        Self {
            plaintext: PyBytes::new(py, &d.plaintext).unbind(),
            new_session: d.new_session,
            identity_changed: d.identity_changed,
            used_one_time_prekey: d.used_one_time_prekey,
        }
    }
}

#[pymethods]
impl Decrypted {
    #[getter]
    fn plaintext(&self, py: Python<'_>) -> Py<PyBytes> {
        self.plaintext.clone_ref(py)
    }
    fn __repr__(&self) -> String {
        format!(
            "Decrypted(new_session={}, identity_changed={}, used_one_time_prekey={:?})",
            self.new_session, self.identity_changed, self.used_one_time_prekey
        )
    }
}
