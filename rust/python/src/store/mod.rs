//! Python bindings of the encrypted local store (`wac1-store`): `KeyStore`, `PeerIdentity`,
//! `StoredMessage` and `OutboxItem`. Every call that touches the disk releases the GIL.

use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyDict, PyList};
use wac1::encoding::b64;
use wac1_store::{Durability, Store};

mod convert;
mod records;

use convert::{closed, options, store_err, store_err_value};
pub use records::{OutboxItem, PeerIdentity, StoredMessage};

use crate::keys::{OneTimePreKey, PreKeyBundle, SignedPreKey};
use crate::session::Decrypted;

/// Adds the store classes to the `_core` module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<KeyStore>()?;
    m.add_class::<PeerIdentity>()?;
    m.add_class::<StoredMessage>()?;
    m.add_class::<OutboxItem>()?;
    Ok(())
}

/// The encrypted, crash-safe local store of one account (`keys.db` + `messages.db`).
#[pyclass(module = "whatsapp_client._core", frozen)]
#[derive(Debug)]
pub struct KeyStore {
    inner: Mutex<Option<Store>>,
}

impl KeyStore {
    /// Runs `f` on the open store with the GIL released.
    fn with<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Store) -> wac1_store::Result<T> + Send,
    ) -> PyResult<T> {
        let result = py.allow_threads(|| {
            let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            match guard.as_mut() {
                // A store opened before a fork is refused in the child, reads included.
                Some(store) => store.check_process().and_then(|()| f(store)).map_err(Some),
                None => Err(None),
            }
        });
        result.map_err(|e| match e {
            Some(e) => store_err(py, &e),
            None => closed(py),
        })
    }

    /// Takes the store out (closing the handle) and runs `f` on it with the GIL released.
    fn take<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(Store) -> wac1_store::Result<T> + Send,
    ) -> PyResult<T> {
        let result = py.allow_threads(|| {
            let store = self.inner.lock().unwrap_or_else(|e| e.into_inner()).take();
            match store {
                Some(store) => f(store).map_err(Some),
                None => Err(None),
            }
        });
        result.map_err(|e| match e {
            Some(e) => store_err(py, &e),
            None => closed(py),
        })
    }
}

#[pymethods]
impl KeyStore {
    /// Opens (or creates) the store in `directory` (`<storage_path>/<user_id>`).
    #[staticmethod]
    #[pyo3(signature = (directory, password, *, durability="full", create=true, kdf_memory_kib=65536,
                        kdf_iterations=3, max_skip=1000, max_skipped_keys=1000, session_cache=1024))]
    fn open(
        py: Python<'_>,
        directory: PathBuf,
        password: &str,
        durability: &str,
        create: bool,
        kdf_memory_kib: u32,
        kdf_iterations: u32,
        max_skip: u32,
        max_skipped_keys: usize,
        session_cache: usize,
    ) -> PyResult<KeyStore> {
        let opts = options(
            py,
            durability,
            create,
            kdf_memory_kib,
            kdf_iterations,
            max_skip,
            max_skipped_keys,
            session_cache,
        )?;
        let store =
            py.allow_threads(|| Store::open(&directory, password, opts)).map_err(|e| store_err(py, &e))?;
        Ok(KeyStore { inner: Mutex::new(Some(store)) })
    }

    /// Creates a store in `directory` from `export_account()` output.
    #[staticmethod]
    #[pyo3(signature = (directory, password, document, passphrase, *, durability="full", kdf_memory_kib=65536,
                        kdf_iterations=3, max_skip=1000, max_skipped_keys=1000, session_cache=1024))]
    fn import_account(
        py: Python<'_>,
        directory: PathBuf,
        password: &str,
        document: &str,
        passphrase: &str,
        durability: &str,
        kdf_memory_kib: u32,
        kdf_iterations: u32,
        max_skip: u32,
        max_skipped_keys: usize,
        session_cache: usize,
    ) -> PyResult<KeyStore> {
        let opts = options(
            py,
            durability,
            true,
            kdf_memory_kib,
            kdf_iterations,
            max_skip,
            max_skipped_keys,
            session_cache,
        )?;
        let store = py
            .allow_threads(|| Store::import_account(&directory, password, document, passphrase, opts))
            .map_err(|e| store_err(py, &e))?;
        Ok(KeyStore { inner: Mutex::new(Some(store)) })
    }

    /// Closes the store (releases the lock). Closing twice is harmless.
    fn close(&self, py: Python<'_>) {
        let store = py.allow_threads(|| self.inner.lock().unwrap_or_else(|e| e.into_inner()).take());
        py.allow_threads(move || drop(store));
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close(py);
        false
    }

    /// Whether the store has been closed or wiped.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).is_none()
    }

    /// The account directory.
    #[getter]
    fn directory(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |s| Ok(s.directory().to_string_lossy().into_owned()))
    }

    /// `"full"` or `"fast"`.
    #[getter]
    fn durability(&self, py: Python<'_>) -> PyResult<&'static str> {
        self.with(py, |s| {
            Ok(match s.options().durability {
                Durability::Full => "full",
                Durability::Fast => "fast",
            })
        })
    }

    /// Session records currently held in memory (bounded by `session_cache`).
    #[getter]
    fn cached_sessions(&self, py: Python<'_>) -> PyResult<usize> {
        self.with(py, |s| Ok(s.cached_sessions()))
    }

    // ----- account ------------------------------------------------------------------------

    fn has_identity(&self, py: Python<'_>) -> PyResult<bool> {
        self.with(py, |s| Ok(s.has_identity()))
    }

    /// Makes a new identity; raises `ValidationError` when one exists.
    fn create_identity(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |s| s.create_identity())
    }

    #[getter]
    fn identity_key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let ik = self.with(py, |s| Ok(s.keys_identity()?.identity_key))?;
        Ok(PyBytes::new(py, &ik))
    }

    #[getter]
    fn signing_key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let sk = self.with(py, |s| Ok(s.keys_identity()?.signing_key))?;
        Ok(PyBytes::new(py, &sk))
    }

    #[getter]
    fn fingerprint(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |s| Ok(wac1::fingerprint(&s.keys_identity()?)))
    }

    /// Makes a new current signed prekey (committed) and returns its public half.
    fn rotate_signed_prekey(&self, py: Python<'_>, now: u64) -> PyResult<SignedPreKey> {
        let key = self.with(py, |s| s.rotate_signed_prekey(now))?;
        Ok(SignedPreKey::of(&key))
    }

    /// Drops non-current signed prekeys created before `older_than` (Unix seconds).
    fn expire_signed_prekeys(&self, py: Python<'_>, older_than: u64) -> PyResult<usize> {
        self.with(py, |s| s.expire_signed_prekeys(older_than))
    }

    #[getter]
    fn signed_prekey(&self, py: Python<'_>) -> PyResult<Option<SignedPreKey>> {
        let key = self.with(py, |s| s.signed_prekey())?;
        Ok(key.as_ref().map(SignedPreKey::of))
    }

    /// Makes `count` one-time prekeys (committed) and returns their public halves.
    fn generate_one_time_prekeys(&self, py: Python<'_>, count: usize) -> PyResult<Vec<OneTimePreKey>> {
        let keys = self.with(py, |s| s.generate_one_time_prekeys(count))?;
        Ok(keys.iter().map(OneTimePreKey::of).collect())
    }

    fn one_time_prekey_count(&self, py: Python<'_>) -> PyResult<usize> {
        self.with(py, |s| s.one_time_prekey_count())
    }

    /// Our own bundle as the server would hand it out (for tests and local peers).
    #[pyo3(signature = (one_time_prekey_id=None))]
    fn bundle(&self, py: Python<'_>, one_time_prekey_id: Option<u32>) -> PyResult<PreKeyBundle> {
        let inner = self.with(py, |s| s.bundle(one_time_prekey_id))?;
        Ok(PreKeyBundle { inner })
    }

    /// The body of `PUT /api/keys` (base64 strings).
    fn keys_payload<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let p = self.with(py, |s| s.keys_payload())?;
        let d = PyDict::new(py);
        d.set_item("identity_key", b64(&p.identity_key))?;
        d.set_item("signing_key", b64(&p.signing_key))?;
        let spk = PyDict::new(py);
        spk.set_item("key_id", p.signed_prekey.0)?;
        spk.set_item("public_key", b64(&p.signed_prekey.1))?;
        spk.set_item("signature", b64(&p.signed_prekey.2))?;
        d.set_item("signed_prekey", spk)?;
        let opks = PyList::empty(py);
        for (id, key) in &p.one_time_prekeys {
            let o = PyDict::new(py);
            o.set_item("key_id", id)?;
            o.set_item("public_key", b64(key))?;
            opks.append(o)?;
        }
        d.set_item("one_time_prekeys", opks)?;
        Ok(d)
    }

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

    // ----- benchmark hooks -------------------------------------------------------------------

    /// Copies one peer's session to `count` made-up peers (benchmarks of large stores only:
    /// the copies share key material). Test builds only (`test-hooks`).
    #[cfg(feature = "test-hooks")]
    fn _bench_clone_sessions(
        &self,
        py: Python<'_>,
        template_peer: &str,
        prefix: &str,
        count: usize,
    ) -> PyResult<()> {
        self.with(py, |s| s.bench_clone_sessions(template_peer, prefix, count))
    }

    /// Drops the in-memory session cache.
    fn _clear_cache(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |s| {
            s.clear_cache();
            Ok(())
        })
    }

    fn __repr__(&self) -> String {
        match self.inner.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            Some(s) => format!("KeyStore({:?})", s.directory().display().to_string()),
            None => "KeyStore(closed)".to_owned(),
        }
    }
}
