//! `KeyStore` methods of sessions: encrypting, decrypting and peer identities.

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;

use super::convert::store_err_value;
use super::records::PeerIdentity;
use super::KeyStore;
use crate::keys::PreKeyBundle;
use crate::session::Decrypted;

#[pymethods]
impl KeyStore {
    // ----- sessions ----------------------------------------------------------------------

    fn has_session(&self, py: Python<'_>, peer_id: &str) -> PyResult<bool> {
        self.with(py, |s| s.has_session(peer_id))
    }

    /// X3DH as initiator (committed); returns whether the peer's identity changed.
    fn start_session(&self, py: Python<'_>, peer_id: &str, bundle: &PreKeyBundle) -> PyResult<bool> {
        let bundle = bundle.inner.clone();
        self.with(py, |s| s.start_session(peer_id, &bundle))
    }

    /// Encrypts; returns the wire only once the advanced state is committed.
    #[pyo3(signature = (peer_id, plaintext, message_id=None))]
    fn encrypt(
        &self,
        py: Python<'_>,
        peer_id: &str,
        plaintext: &[u8],
        message_id: Option<&str>,
    ) -> PyResult<String> {
        self.with(py, |s| s.encrypt(peer_id, plaintext, message_id))
    }

    /// Encrypts a batch with one commit.
    #[pyo3(signature = (peer_id, plaintexts, message_ids=None))]
    fn encrypt_many(
        &self,
        py: Python<'_>,
        peer_id: &str,
        plaintexts: Vec<PyBackedBytes>,
        message_ids: Option<Vec<String>>,
    ) -> PyResult<Vec<String>> {
        self.with(py, |s| s.encrypt_many(peer_id, &plaintexts, message_ids.as_deref()))
    }

    fn forget_sent(&self, py: Python<'_>, message_ids: Vec<String>) -> PyResult<()> {
        self.with(py, |s| s.forget_sent(&message_ids))
    }

    /// Decrypts in one transaction; nothing is committed on failure.
    #[pyo3(signature = (peer_id, wire, message_id=None))]
    fn decrypt(
        &self,
        py: Python<'_>,
        peer_id: &str,
        wire: &str,
        message_id: Option<&str>,
    ) -> PyResult<Decrypted> {
        let done = self.with(py, |s| s.decrypt(peer_id, wire, message_id))?;
        Ok(Decrypted::of(py, &done))
    }

    /// Decrypts a batch of `(peer_id, wire, message_id)` with one commit; each result is a
    /// `Decrypted` or the error that message raised (which changed nothing).
    fn decrypt_many<'py>(
        &self,
        py: Python<'py>,
        items: Vec<(String, String, String)>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let results = self.with(py, |s| s.decrypt_many(&items))?;
        results
            .iter()
            .map(|r| match r {
                Ok(d) => Ok(Bound::new(py, Decrypted::of(py, d))?.into_any()),
                Err(e) => store_err_value(py, e),
            })
            .collect()
    }

    /// Drops stored decrypt results: a message id drops every peer's result under it, a
    /// `(peer_id, message_id)` pair only that peer's.
    fn forget_received(&self, py: Python<'_>, message_ids: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        let mut ids = Vec::new();
        let mut pairs = Vec::new();
        for item in &message_ids {
            match item.extract::<String>() {
                Ok(id) => ids.push(id),
                Err(_) => pairs.push(item.extract::<(String, String)>()?),
            }
        }
        self.with(py, |s| {
            s.forget_received(&ids)?;
            s.forget_received_from(&pairs)
        })
    }

    fn peer_identity(&self, py: Python<'_>, peer_id: &str) -> PyResult<Option<PeerIdentity>> {
        let p = self.with(py, |s| s.peer_identity(peer_id))?;
        Ok(p.map(|p| PeerIdentity {
            identity_key: p.identity.identity_key,
            signing_key: p.identity.signing_key,
            fingerprint: wac1::fingerprint(&p.identity),
            verified: p.verified,
            verified_at: p.verified_at,
        }))
    }

    fn set_verified(&self, py: Python<'_>, peer_id: &str, verified: bool) -> PyResult<()> {
        self.with(py, |s| s.set_verified(peer_id, verified))
    }

    /// Marks the peer verified only if its stored identity has this fingerprint now, in one
    /// step; returns whether it did (nothing changes otherwise).
    fn mark_verified(&self, py: Python<'_>, peer_id: &str, fingerprint: &str) -> PyResult<bool> {
        self.with(py, |s| s.mark_verified(peer_id, fingerprint))
    }
}
