//! Python bindings of the encrypted local store (`wac1-store`): `KeyStore`, `PeerIdentity`,
//! `StoredMessage` and `OutboxItem`. Every call that touches the disk releases the GIL.

use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use wac1::encoding::b64;
use wac1_store::{Durability, Store};

mod convert;
mod data_methods;
mod records;
mod session_methods;

use convert::{closed, options, store_err};
pub use records::{OutboxItem, PeerIdentity, StoredMessage};

use crate::keys::{OneTimePreKey, PreKeyBundle, SignedPreKey};

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
