//! `Session` (everything held for one peer) and `Decrypted`.

use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyType};
use wac1::{PublicIdentity, SessionRecord, WireMessage};

use crate::errors::IntoPyResult;
use crate::{locking, state};

/// Plaintexts at least this large are encrypted with the GIL released.
pub const BULK_BYTES: usize = 16 * 1024;

const SEAL_LABEL: &[u8] = b"WAC1/sealed/session";

/// Everything held for one peer: the active session and up to five older ones.
#[pyclass(module = "whatsapp_client._core", frozen)]
#[derive(Debug, Default)]
pub struct Session {
    pub record: Mutex<SessionRecord>,
}

impl Session {
    pub fn of(record: SessionRecord) -> Self {
        Self { record: Mutex::new(record) }
    }
}

#[pymethods]
impl Session {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Encrypts with the active session and returns the `E2EE:` wire string.
    fn encrypt(&self, py: Python<'_>, plaintext: &[u8]) -> PyResult<String> {
        let heavy = plaintext.len() >= BULK_BYTES;
        locking::with(py, &self.record, heavy, |r| r.encrypt(plaintext).map(|m| m.encode())).py(py)
    }

    /// Encrypts many messages in one call; all or nothing.
    fn encrypt_many(&self, py: Python<'_>, plaintexts: Vec<PyBackedBytes>) -> PyResult<Vec<String>> {
        // `PyBackedBytes` borrows each `bytes` object's buffer: no copy, and no element-wise
        // extraction, which is what a `Vec<Vec<u8>>` argument would cost.
        locking::with(py, &self.record, true, |r| {
            r.encrypt_many(&plaintexts).map(|ms| ms.iter().map(WireMessage::encode).collect())
        })
        .py(py)
    }

    #[getter]
    fn can_encrypt(&self, py: Python<'_>) -> bool {
        locking::peek(py, &self.record, SessionRecord::can_encrypt)
    }
    #[getter]
    fn has_session(&self, py: Python<'_>) -> bool {
        locking::peek(py, &self.record, SessionRecord::has_session)
    }
    #[getter]
    fn session_count(&self, py: Python<'_>) -> usize {
        locking::peek(py, &self.record, SessionRecord::session_count)
    }
    #[getter]
    fn peer_identity_key<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.peer(py).map(|p| PyBytes::new(py, &p.identity_key))
    }
    #[getter]
    fn peer_signing_key<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.peer(py).map(|p| PyBytes::new(py, &p.signing_key))
    }
    #[getter]
    fn peer_fingerprint(&self, py: Python<'_>) -> Option<String> {
        self.peer(py).as_ref().map(wac1::fingerprint)
    }
    /// True while the active session still sends X3DH fields (no reply decrypted yet).
    #[getter]
    fn awaiting_reply(&self, py: Python<'_>) -> bool {
        locking::peek(py, &self.record, |r| r.active().is_some_and(wac1::Session::awaiting_reply))
    }

    fn copy(&self, py: Python<'_>) -> Self {
        Self::of(locking::read(py, &self.record))
    }
    fn __copy__(&self, py: Python<'_>) -> Self {
        self.copy(py)
    }

    /// The state sealed (XChaCha20-Poly1305) under a 32-byte key.
    fn to_bytes<'py>(&self, py: Python<'py>, key: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        state::seal(py, &self.record, SEAL_LABEL, key)
    }

    /// Restores sealed state; raises `CorruptStateError` on a wrong key or bad data.
    #[classmethod]
    fn from_bytes(_cls: &Bound<'_, PyType>, py: Python<'_>, data: &[u8], key: &[u8]) -> PyResult<Self> {
        Ok(Self::of(state::open(py, data, SEAL_LABEL, key)?))
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> bool {
        other.downcast::<Self>().is_ok_and(|o| state::equal(py, &self.record, &o.get().record))
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let (peer, count) =
            locking::peek(py, &self.record, |r| (r.peer_identity().copied(), r.session_count()));
        match peer {
            Some(p) => format!("Session(peer_fingerprint={}, sessions={count})", wac1::fingerprint(&p)),
            None => "Session(empty)".to_owned(),
        }
    }
}

impl Session {
    fn peer(&self, py: Python<'_>) -> Option<PublicIdentity> {
        locking::peek(py, &self.record, |r| r.peer_identity().copied())
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
