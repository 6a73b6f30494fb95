//! `KeyStore` methods of the key-value area, backups and passwords, history and outbox.

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;

use super::convert::store_err_value;
use super::records::{OutboxItem, StoredMessage};
use super::KeyStore;

#[pymethods]
impl KeyStore {
    // ----- key-value ----------------------------------------------------------------------

    fn kv_get<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let v = self.with(py, |s| s.kv_get(key))?;
        Ok(v.map(|v| PyBytes::new(py, &v)))
    }

    fn kv_set(&self, py: Python<'_>, key: &str, value: &[u8]) -> PyResult<()> {
        self.with(py, |s| s.kv_set(key, value))
    }

    fn kv_delete(&self, py: Python<'_>, key: &str) -> PyResult<()> {
        self.with(py, |s| s.kv_delete(key))
    }

    // ----- backup and password --------------------------------------------------------------

    fn export_session(&self, py: Python<'_>, peer_id: &str, passphrase: &str) -> PyResult<String> {
        self.with(py, |s| s.export_session(peer_id, passphrase))
    }

    fn import_session(
        &self,
        py: Python<'_>,
        peer_id: &str,
        document: &str,
        passphrase: &str,
    ) -> PyResult<()> {
        self.with(py, |s| s.import_session(peer_id, document, passphrase))
    }

    fn export_account(&self, py: Python<'_>, passphrase: &str) -> PyResult<String> {
        self.with(py, |s| s.export_account(passphrase))
    }

    fn change_password(&self, py: Python<'_>, old: &str, new: &str) -> PyResult<()> {
        self.with(py, |s| s.change_password(old, new))
    }

    /// Deletes every local file of this account and closes the store.
    fn wipe(&self, py: Python<'_>) -> PyResult<()> {
        self.take(py, |s| s.wipe())
    }

    // ----- history and outbox --------------------------------------------------------------

    fn save_message(&self, py: Python<'_>, message: &StoredMessage) -> PyResult<bool> {
        let m = message.to_core();
        self.with(py, |s| s.save_message(&m))
    }

    /// Saves messages and removes ids from the outbox with one commit. Per message: `True`
    /// (saved), `False` (already there) or the exception of an invalid message (skipped).
    #[pyo3(signature = (messages, *, remove_from_outbox=Vec::new()))]
    fn save_messages<'py>(
        &self,
        py: Python<'py>,
        messages: Vec<PyRef<'_, StoredMessage>>,
        remove_from_outbox: Vec<String>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let ms: Vec<wac1_store::StoredMessage> = messages.iter().map(|m| m.to_core()).collect();
        let saved = self.with(py, |s| s.save_messages(&ms, &remove_from_outbox))?;
        saved
            .iter()
            .map(|r| match r {
                Ok(b) => Ok(pyo3::types::PyBool::new(py, *b).to_owned().into_any()),
                Err(e) => store_err_value(py, e),
            })
            .collect()
    }

    fn update_status(&self, py: Python<'_>, message_ids: Vec<String>, status: &str) -> PyResult<usize> {
        self.with(py, |s| s.update_status(&message_ids, status))
    }

    /// The oldest message with this id, optionally only in one conversation (`peer_id`) and
    /// from one sender (`from_user`): ids are chosen by senders, so several may share one.
    #[pyo3(signature = (message_id, peer_id=None, from_user=None))]
    fn get_message(
        &self,
        py: Python<'_>,
        message_id: &str,
        peer_id: Option<&str>,
        from_user: Option<&str>,
    ) -> PyResult<Option<StoredMessage>> {
        let m = self.with(py, |s| s.get_message(message_id, peer_id, from_user))?;
        Ok(m.map(StoredMessage::from_core))
    }

    #[pyo3(signature = (peer_id, limit=50, before=None))]
    fn messages(
        &self,
        py: Python<'_>,
        peer_id: &str,
        limit: usize,
        before: Option<i64>,
    ) -> PyResult<Vec<StoredMessage>> {
        let ms = self.with(py, |s| s.messages(peer_id, limit, before))?;
        Ok(ms.into_iter().map(StoredMessage::from_core).collect())
    }

    fn outbox_add(
        &self,
        py: Python<'_>,
        message_id: &str,
        peer_id: &str,
        payload: &[u8],
        created_at: i64,
    ) -> PyResult<()> {
        self.with(py, |s| s.outbox_add(message_id, peer_id, payload, created_at))
    }

    /// Queues `(message_id, peer_id, payload, created_at)` items with one commit.
    fn outbox_add_many(
        &self,
        py: Python<'_>,
        items: Vec<(String, String, PyBackedBytes, i64)>,
    ) -> PyResult<()> {
        let items: Vec<wac1_store::OutboxItem> = items
            .into_iter()
            .map(|(message_id, peer_id, payload, created_at)| wac1_store::OutboxItem {
                message_id,
                peer_id,
                payload: payload.to_vec(),
                created_at,
            })
            .collect();
        self.with(py, |s| s.outbox_add_many(&items))
    }

    fn outbox(&self, py: Python<'_>) -> PyResult<Vec<OutboxItem>> {
        let items = self.with(py, |s| s.outbox())?;
        Ok(items
            .into_iter()
            .map(|i| OutboxItem {
                message_id: i.message_id,
                peer_id: i.peer_id,
                payload: i.payload,
                created_at: i.created_at,
            })
            .collect())
    }

    fn outbox_remove(&self, py: Python<'_>, message_id: &str) -> PyResult<()> {
        self.with(py, |s| s.outbox_remove(message_id))
    }

    fn outbox_remove_many(&self, py: Python<'_>, message_ids: Vec<String>) -> PyResult<()> {
        self.with(py, |s| s.outbox_remove_many(&message_ids))
    }
}
