//! `Account`: an identity with its prekeys; starts sessions and decrypts into them.

use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyType};
use rand_core::OsRng;
use wac1::encoding::b64;
use wac1::{Account as CoreAccount, Limits, Serialize, WireMessage};

use crate::errors::{exception_value, invalid, key32, IntoPyResult};
use crate::keys::{OneTimePreKey, PreKeyBundle, SignedPreKey};
use crate::session::{Decrypted, Session, BULK_BYTES};

const SEAL_LABEL: &[u8] = b"WAC1/sealed/account";
/// Most one-time prekeys made in one call (the server takes at most 1000 per upload).
const MAX_PREKEY_BATCH: usize = 10_000;

/// An identity with its signed and one-time prekeys.
#[pyclass(module = "whatsapp_client._core")]
#[derive(Clone, Debug)]
pub struct Account {
    pub inner: CoreAccount,
}

pub fn now_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[pymethods]
impl Account {
    /// A new account with a fresh random identity.
    #[new]
    fn new(py: Python<'_>) -> Self {
        py.allow_threads(|| Self { inner: CoreAccount::generate(&mut OsRng) })
    }

    #[getter]
    fn identity_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.identity().public().identity_key)
    }
    #[getter]
    fn signing_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.identity().public().signing_key)
    }
    #[getter]
    fn fingerprint(&self) -> String {
        wac1::fingerprint(&self.inner.identity().public())
    }
    #[getter]
    fn max_skip(&self) -> u32 {
        self.inner.limits().max_skip
    }
    #[setter]
    fn set_max_skip(&mut self, value: u32) {
        let limits = Limits { max_skip: value, ..*self.inner.limits() };
        self.inner.set_limits(limits);
    }
    #[getter]
    fn max_skipped_keys(&self) -> usize {
        self.inner.limits().max_skipped_keys
    }
    #[setter]
    fn set_max_skipped_keys(&mut self, value: usize) {
        let limits = Limits { max_skipped_keys: value, ..*self.inner.limits() };
        self.inner.set_limits(limits);
    }

    /// Makes a new current signed prekey (older ones are kept for late first messages).
    #[pyo3(signature = (now=None))]
    fn rotate_signed_prekey(&mut self, now: Option<u64>) -> SignedPreKey {
        SignedPreKey::of(&self.inner.rotate_signed_prekey(now.unwrap_or_else(now_seconds), &mut OsRng))
    }
    #[getter]
    fn signed_prekey(&self) -> Option<SignedPreKey> {
        self.inner.current_signed_prekey().map(SignedPreKey::of)
    }
    #[getter]
    fn signed_prekeys(&self) -> Vec<SignedPreKey> {
        self.inner.signed_prekeys().iter().map(SignedPreKey::of).collect()
    }
    /// Drops non-current signed prekeys created before `older_than` (Unix seconds).
    fn expire_signed_prekeys(&mut self, older_than: u64) -> usize {
        self.inner.expire_signed_prekeys(older_than)
    }
    fn generate_one_time_prekeys(&mut self, py: Python<'_>, count: usize) -> PyResult<Vec<OneTimePreKey>> {
        if count > MAX_PREKEY_BATCH {
            return Err(invalid(py, format!("at most {MAX_PREKEY_BATCH} one-time prekeys per call")));
        }
        let inner = &mut self.inner;
        py.allow_threads(|| {
            inner.generate_one_time_prekeys(count, &mut OsRng).map(|ks| ks.into_iter().map(OneTimePreKey::of).collect())
        })
        .py(py)
    }
    #[getter]
    fn one_time_prekeys(&self) -> Vec<OneTimePreKey> {
        self.inner.one_time_prekeys().map(OneTimePreKey::of).collect()
    }
    fn remove_one_time_prekey(&mut self, key_id: u32) -> bool {
        self.inner.remove_one_time_prekey(key_id)
    }

    /// The body of `PUT /api/keys`: identity, current signed prekey, all one-time prekeys.
    fn keys_payload<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let spk = self
            .inner
            .current_signed_prekey()
            .ok_or_else(|| invalid(py, "no signed prekey yet: call rotate_signed_prekey() first"))?;
        let me = self.inner.identity().public();
        let d = PyDict::new(py);
        d.set_item("identity_key", b64(&me.identity_key))?;
        d.set_item("signing_key", b64(&me.signing_key))?;
        let s = PyDict::new(py);
        s.set_item("key_id", spk.id)?;
        s.set_item("public_key", b64(spk.pair.public()))?;
        s.set_item("signature", b64(&spk.signature))?;
        d.set_item("signed_prekey", s)?;
        let opks = PyList::empty(py);
        for k in self.inner.one_time_prekeys() {
            let o = PyDict::new(py);
            o.set_item("key_id", k.id)?;
            o.set_item("public_key", b64(k.pair.public()))?;
            opks.append(o)?;
        }
        d.set_item("one_time_prekeys", opks)?;
        Ok(d)
    }

    #[pyo3(signature = (one_time_prekey_id=None))]
    fn bundle(&self, py: Python<'_>, one_time_prekey_id: Option<u32>) -> PyResult<PreKeyBundle> {
        Ok(PreKeyBundle { inner: self.inner.bundle(one_time_prekey_id).py(py)? })
    }

    /// X3DH as initiator. With `session` given, the new session becomes its active one.
    #[pyo3(signature = (bundle, session=None))]
    fn start_session(
        &self,
        py: Python<'_>,
        bundle: &PreKeyBundle,
        session: Option<Bound<'_, Session>>,
    ) -> PyResult<Py<Session>> {
        let identity = self.inner.identity();
        let bundle = &bundle.inner;
        match session {
            Some(bound) => {
                {
                    let mut s = bound.borrow_mut();
                    let record = &mut s.record;
                    py.allow_threads(|| record.initiate(identity, bundle, &mut OsRng)).py(py)?;
                }
                Ok(bound.unbind())
            }
            None => {
                let mut record = wac1::SessionRecord::new();
                py.allow_threads(|| record.initiate(identity, bundle, &mut OsRng)).py(py)?;
                Py::new(py, Session { record })
            }
        }
    }

    /// Decrypts into `session`; a consumed one-time prekey is deleted. Nothing changes on error.
    fn decrypt(&mut self, py: Python<'_>, session: &Bound<'_, Session>, message: &str) -> PyResult<Decrypted> {
        let msg = WireMessage::parse(message).py(py)?;
        let mut s = session.borrow_mut();
        let record = &mut s.record;
        let inner = &mut self.inner;
        let heavy = msg.ciphertext.len() >= BULK_BYTES || record.needs_public_key_work(&msg);
        let result = if heavy {
            py.allow_threads(|| inner.decrypt(record, &msg, &mut OsRng))
        } else {
            inner.decrypt(record, &msg, &mut OsRng)
        };
        Ok(Decrypted::of(py, &result.py(py)?))
    }

    /// Decrypts many messages of one peer in one call; each result is a `Decrypted` or the error.
    fn decrypt_many<'py>(
        &mut self,
        py: Python<'py>,
        session: &Bound<'py, Session>,
        messages: Vec<String>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let mut s = session.borrow_mut();
        let record = &mut s.record;
        let inner = &mut self.inner;
        let results: Vec<wac1::Result<wac1::Decrypted>> = py.allow_threads(|| {
            messages
                .iter()
                .map(|m| WireMessage::parse(m).and_then(|msg| inner.decrypt(record, &msg, &mut OsRng)))
                .collect()
        });
        results
            .iter()
            .map(|r| match r {
                Ok(d) => Ok(Bound::new(py, Decrypted::of(py, d))?.into_any()),
                Err(e) => exception_value(py, e),
            })
            .collect()
    }

    fn copy(&self) -> Self {
        self.clone()
    }
    fn __copy__(&self) -> Self {
        self.clone()
    }

    /// The account sealed (XChaCha20-Poly1305) under a 32-byte key.
    fn to_bytes<'py>(&self, py: Python<'py>, key: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let key = key32(py, key, "key")?;
        let plain = self.inner.to_bytes();
        let sealed = wac1::sealed::seal(&key, SEAL_LABEL, &plain, &mut OsRng).py(py)?;
        Ok(PyBytes::new(py, &sealed))
    }

    /// Restores a sealed account; raises `CorruptStateError` on a wrong key or bad data.
    #[classmethod]
    fn from_bytes(_cls: &Bound<'_, PyType>, py: Python<'_>, data: &[u8], key: &[u8]) -> PyResult<Self> {
        let key = key32(py, key, "key")?;
        let plain = wac1::sealed::open(&key, SEAL_LABEL, data).py(py)?;
        Ok(Self { inner: CoreAccount::from_bytes(&plain).py(py)? })
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.downcast::<Self>().is_ok_and(|o| o.borrow().inner == self.inner)
    }

    fn __repr__(&self) -> String {
        format!(
            "Account(fingerprint={}, one_time_prekeys={})",
            wac1::fingerprint(&self.inner.identity().public()),
            self.inner.one_time_prekeys().count()
        )
    }
}
