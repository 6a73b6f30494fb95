//! The record classes of the store bindings: `PeerIdentity`, `StoredMessage` and
//! `OutboxItem` (their `Debug` and `repr` never show content).

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;

/// A peer's identity as the store knows it.
#[pyclass(module = "whatsapp_client._core", frozen)]
#[derive(Clone, Debug)]
pub struct PeerIdentity {
    pub(super) identity_key: [u8; 32],
    pub(super) signing_key: [u8; 32],
    #[pyo3(get)]
    pub(super) fingerprint: String,
    #[pyo3(get)]
    pub(super) verified: bool,
    #[pyo3(get)]
    pub(super) verified_at: Option<i64>,
}

#[pymethods]
impl PeerIdentity {
    #[getter]
    fn identity_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.identity_key)
    }
    #[getter]
    fn signing_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.signing_key)
    }
    fn __repr__(&self) -> String {
        format!("PeerIdentity(fingerprint={:?}, verified={})", self.fingerprint, self.verified)
    }
}

/// One message of the local history (`Debug` and `repr` leave the content out).
#[pyclass(module = "whatsapp_client._core", frozen, eq)]
#[derive(Clone, PartialEq, Eq)]
pub struct StoredMessage {
    #[pyo3(get)]
    pub(super) id: String,
    #[pyo3(get)]
    pub(super) peer_id: String,
    #[pyo3(get)]
    pub(super) from_user: String,
    #[pyo3(get)]
    pub(super) to: String,
    #[pyo3(get)]
    pub(super) direction: String,
    #[pyo3(get, name = "type")]
    pub(super) kind: String,
    #[pyo3(get)]
    pub(super) timestamp: i64,
    #[pyo3(get)]
    pub(super) status: String,
    pub(super) content: Vec<u8>,
    #[pyo3(get)]
    pub(super) group_id: Option<String>,
}

impl StoredMessage {
    pub(super) fn to_core(&self) -> wac1_store::StoredMessage {
        wac1_store::StoredMessage {
            id: self.id.clone(),
            peer_id: self.peer_id.clone(),
            from_user: self.from_user.clone(),
            to: self.to.clone(),
            direction: self.direction.clone(),
            kind: self.kind.clone(),
            timestamp: self.timestamp,
            status: self.status.clone(),
            content: self.content.clone(),
            group_id: self.group_id.clone(),
        }
    }

    pub(super) fn from_core(m: wac1_store::StoredMessage) -> Self {
        Self {
            id: m.id,
            peer_id: m.peer_id,
            from_user: m.from_user,
            to: m.to,
            direction: m.direction,
            kind: m.kind,
            timestamp: m.timestamp,
            status: m.status,
            content: m.content,
            group_id: m.group_id,
        }
    }
}

#[pymethods]
impl StoredMessage {
    #[new]
    #[pyo3(signature = (*, id, peer_id, from_user, to, direction, r#type, timestamp, content, status="pending", group_id=None))]
    fn new(
        id: String,
        peer_id: String,
        from_user: String,
        to: String,
        direction: String,
        r#type: String,
        timestamp: i64,
        content: PyBackedBytes,
        status: &str,
        group_id: Option<String>,
    ) -> Self {
        let content = content.to_vec();
        Self {
            id,
            peer_id,
            from_user,
            to,
            direction,
            kind: r#type,
            timestamp,
            status: status.to_owned(),
            content,
            group_id,
        }
    }

    #[getter]
    fn content<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.content)
    }

    /// A copy with some fields replaced.
    #[pyo3(signature = (*, status=None))]
    fn replace(&self, status: Option<String>) -> Self {
        let mut m = self.clone();
        if let Some(s) = status {
            m.status = s;
        }
        m
    }

    fn __repr__(&self) -> String {
        format!(
            "StoredMessage(id={:?}, peer_id={:?}, direction={:?}, type={:?}, timestamp={}, status={:?})",
            self.id, self.peer_id, self.direction, self.kind, self.timestamp, self.status
        )
    }
}

/// A message waiting in the outbox (`Debug` and `repr` leave the payload out).
#[pyclass(module = "whatsapp_client._core", frozen)]
#[derive(Clone)]
pub struct OutboxItem {
    #[pyo3(get)]
    pub(super) message_id: String,
    #[pyo3(get)]
    pub(super) peer_id: String,
    pub(super) payload: Vec<u8>,
    #[pyo3(get)]
    pub(super) created_at: i64,
}

#[pymethods]
impl OutboxItem {
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.payload)
    }
    fn __repr__(&self) -> String {
        format!(
            "OutboxItem(message_id={:?}, peer_id={:?}, created_at={})",
            self.message_id, self.peer_id, self.created_at
        )
    }
}

impl std::fmt::Debug for StoredMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.to_core(), f)
    }
}

impl std::fmt::Debug for OutboxItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxItem")
            .field("message_id", &self.message_id)
            .field("peer_id", &self.peer_id)
            .field("payload", &format_args!("<{} bytes redacted>", self.payload.len()))
            .field("created_at", &self.created_at)
            .finish()
    }
}
