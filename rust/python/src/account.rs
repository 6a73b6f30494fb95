//! `Account`: an identity with its prekeys; starts sessions and decrypts into them.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyBytes, PyDict, PyList, PyType};
use rand_core::OsRng;
use wac1::encoding::b64;
use wac1::ratchet::MAX_LIMIT;
use wac1::{Account as CoreAccount, Limits, WireMessage};

use crate::errors::{exception_value, invalid, IntoPyResult};
use crate::keys::{OneTimePreKey, PreKeyBundle, SignedPreKey};
use crate::session::{Decrypted, Session, BULK_BYTES};
use crate::{locking, state};

const SEAL_LABEL: &[u8] = b"WAC1/sealed/account";
/// Most one-time prekeys made in one call (the server takes at most 1000 per upload).
const MAX_PREKEY_BATCH: usize = 10_000;

/// An identity with its signed and one-time prekeys.
#[pyclass(module = "whatsapp_client._core", frozen)]
#[derive(Debug)]
pub struct Account {
    pub inner: Mutex<CoreAccount>,
}

impl Account {
    pub fn of(inner: CoreAccount) -> Self {
        Self { inner: Mutex::new(inner) }
    }

    fn identity(&self, py: Python<'_>) -> wac1::PublicIdentity {
        locking::peek(py, &self.inner, |a| a.identity().public())
    }
}

impl Account {
    /// Applies `change` to the limits if the result is within bounds; otherwise nothing changes.
    fn set_limits(&self, py: Python<'_>, change: impl FnOnce(&mut Limits) + Send) -> PyResult<()> {
        locking::with(py, &self.inner, false, |a| {
            let mut limits = *a.limits();
            change(&mut limits);
            limits.validate().map(|()| a.set_limits(limits))
        })
        .py(py)
    }
}

/// An int in `0..=MAX_LIMIT`, or `ValueError` (`InvalidMessageError`) naming the setting.
fn bounded_limit(py: Python<'_>, value: &Bound<'_, PyAny>, name: &str) -> PyResult<u32> {
    let n: i128 = value.extract()?;
    u32::try_from(n)
        .ok()
        .filter(|n| *n <= MAX_LIMIT)
        .ok_or_else(|| invalid(py, format!("{name} must be an integer between 0 and {MAX_LIMIT}, got {n}")))
}

pub fn now_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[pymethods]
impl Account {
    /// A new account with a fresh random identity.
    #[new]
    fn new(py: Python<'_>) -> Self {
        Self::of(py.allow_threads(|| CoreAccount::generate(&mut OsRng)))
    }

    #[getter]
    fn identity_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.identity(py).identity_key)
    }
    #[getter]
    fn signing_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.identity(py).signing_key)
    }
    #[getter]
    fn fingerprint(&self, py: Python<'_>) -> String {
        wac1::fingerprint(&self.identity(py))
    }
    #[getter]
    fn max_skip(&self, py: Python<'_>) -> u32 {
        locking::peek(py, &self.inner, |a| a.limits().max_skip)
    }
    #[setter]
    fn set_max_skip(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let value = bounded_limit(py, value, "max_skip")?;
        self.set_limits(py, |l| l.max_skip = value)
    }
    #[getter]
    fn max_skipped_keys(&self, py: Python<'_>) -> usize {
        locking::peek(py, &self.inner, |a| a.limits().max_skipped_keys)
    }
    #[setter]
    fn set_max_skipped_keys(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let value = bounded_limit(py, value, "max_skipped_keys")?;
        self.set_limits(py, |l| l.max_skipped_keys = value as usize)
    }

    /// Makes a new current signed prekey (older ones are kept for late first messages).
    #[pyo3(signature = (now=None))]
    fn rotate_signed_prekey(&self, py: Python<'_>, now: Option<u64>) -> SignedPreKey {
        let now = now.unwrap_or_else(now_seconds);
        locking::with(py, &self.inner, true, |a| SignedPreKey::of(&a.rotate_signed_prekey(now, &mut OsRng)))
    }
    #[getter]
    fn signed_prekey(&self, py: Python<'_>) -> Option<SignedPreKey> {
        locking::peek(py, &self.inner, |a| a.current_signed_prekey().map(SignedPreKey::of))
    }
    #[getter]
    fn signed_prekeys(&self, py: Python<'_>) -> Vec<SignedPreKey> {
        locking::peek(py, &self.inner, |a| a.signed_prekeys().iter().map(SignedPreKey::of).collect())
    }
    /// Drops non-current signed prekeys created before `older_than` (Unix seconds).
    fn expire_signed_prekeys(&self, py: Python<'_>, older_than: u64) -> usize {
        locking::with(py, &self.inner, false, |a| a.expire_signed_prekeys(older_than))
    }
    fn generate_one_time_prekeys(&self, py: Python<'_>, count: usize) -> PyResult<Vec<OneTimePreKey>> {
        if count > MAX_PREKEY_BATCH {
            return Err(invalid(py, format!("at most {MAX_PREKEY_BATCH} one-time prekeys per call")));
        }
        locking::with(py, &self.inner, true, |a| {
            a.generate_one_time_prekeys(count, &mut OsRng)
                .map(|ks| ks.into_iter().map(OneTimePreKey::of).collect())
        })
        .py(py)
    }
    #[getter]
    fn one_time_prekeys(&self, py: Python<'_>) -> Vec<OneTimePreKey> {
        locking::peek(py, &self.inner, |a| a.one_time_prekeys().map(OneTimePreKey::of).collect())
    }
    fn remove_one_time_prekey(&self, py: Python<'_>, key_id: u32) -> bool {
        locking::with(py, &self.inner, false, |a| a.remove_one_time_prekey(key_id))
    }

    /// The body of `PUT /api/keys`: identity, current signed prekey, all one-time prekeys.
    fn keys_payload<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (me, spk, opks) = locking::peek(py, &self.inner, |a| {
            (
                a.identity().public(),
                a.current_signed_prekey().map(SignedPreKey::of),
                a.one_time_prekeys().map(OneTimePreKey::of).collect::<Vec<_>>(),
            )
        });
        let spk =
            spk.ok_or_else(|| invalid(py, "no signed prekey yet: call rotate_signed_prekey() first"))?;
        let d = PyDict::new(py);
        d.set_item("identity_key", b64(&me.identity_key))?;
        d.set_item("signing_key", b64(&me.signing_key))?;
        d.set_item("signed_prekey", spk.to_dict(py)?)?;
        let list = PyList::empty(py);
        for k in &opks {
            list.append(k.to_dict(py)?)?;
        }
        d.set_item("one_time_prekeys", list)?;
        Ok(d)
    }

    #[pyo3(signature = (one_time_prekey_id=None))]
    fn bundle(&self, py: Python<'_>, one_time_prekey_id: Option<u32>) -> PyResult<PreKeyBundle> {
        let inner = locking::peek(py, &self.inner, |a| a.bundle(one_time_prekey_id)).py(py)?;
        Ok(PreKeyBundle { inner })
    }

    /// X3DH as initiator. With `session` given, the new session becomes its active one.
    #[pyo3(signature = (bundle, session=None))]
    fn start_session(
        &self,
        py: Python<'_>,
        bundle: &PreKeyBundle,
        session: Option<Bound<'_, Session>>,
    ) -> PyResult<Py<Session>> {
        let bundle = &bundle.inner;
        match session {
            Some(bound) => {
                let target = bound.get();
                locking::with2(
                    py,
                    &self.inner,
                    &target.record,
                    |_, _| true,
                    |a, r| r.initiate(a.identity(), bundle, &mut OsRng),
                )
                .py(py)?;
                Ok(bound.unbind())
            }
            None => {
                let mut record = wac1::SessionRecord::new();
                locking::with(py, &self.inner, true, |a| record.initiate(a.identity(), bundle, &mut OsRng))
                    .py(py)?;
                Py::new(py, Session::of(record))
            }
        }
    }

    /// Decrypts into `session`; a consumed one-time prekey is deleted. Nothing changes on error.
    fn decrypt(&self, py: Python<'_>, session: &Bound<'_, Session>, message: &str) -> PyResult<Decrypted> {
        let msg = WireMessage::parse(message).py(py)?;
        let bulk = msg.ciphertext.len() >= BULK_BYTES;
        let done = locking::with2(
            py,
            &self.inner,
            &session.get().record,
            |_, r| bulk || r.needs_public_key_work(&msg),
            |a, r| a.decrypt(r, &msg, &mut OsRng),
        )
        .py(py)?;
        Ok(Decrypted::of(py, &done))
    }

    /// Decrypts many messages of one peer in one call; each result is a `Decrypted` or the error.
    fn decrypt_many<'py>(
        &self,
        py: Python<'py>,
        session: &Bound<'py, Session>,
        messages: Vec<PyBackedStr>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let results: Vec<wac1::Result<wac1::Decrypted>> = locking::with2(
            py,
            &self.inner,
            &session.get().record,
            |_, _| true,
            |a, r| {
                messages
                    .iter()
                    .map(|m| WireMessage::parse(m).and_then(|msg| a.decrypt(r, &msg, &mut OsRng)))
                    .collect()
            },
        );
        results
            .iter()
            .map(|r| match r {
                Ok(d) => Ok(Bound::new(py, Decrypted::of(py, d))?.into_any()),
                Err(e) => exception_value(py, e),
            })
            .collect()
    }

    fn copy(&self, py: Python<'_>) -> Self {
        Self::of(locking::read(py, &self.inner))
    }
    fn __copy__(&self, py: Python<'_>) -> Self {
        self.copy(py)
    }

    /// The account sealed (XChaCha20-Poly1305) under a 32-byte key.
    fn to_bytes<'py>(&self, py: Python<'py>, key: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        state::seal(py, &self.inner, SEAL_LABEL, key)
    }

    /// Restores a sealed account; raises `CorruptStateError` on a wrong key or bad data.
    #[classmethod]
    fn from_bytes(_cls: &Bound<'_, PyType>, py: Python<'_>, data: &[u8], key: &[u8]) -> PyResult<Self> {
        Ok(Self::of(state::open(py, data, SEAL_LABEL, key)?))
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> bool {
        other.downcast::<Self>().is_ok_and(|o| state::equal(py, &self.inner, &o.get().inner))
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let (me, count) =
            locking::peek(py, &self.inner, |a| (a.identity().public(), a.one_time_prekeys().count()));
        format!("Account(fingerprint={}, one_time_prekeys={count})", wac1::fingerprint(&me))
    }
}
