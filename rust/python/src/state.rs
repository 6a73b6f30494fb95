//! What `Account` and `Session` share: sealing their state under a caller's key, and
//! comparing two handles by value.

use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rand_core::OsRng;
use wac1::Serialize;

use crate::errors::{key32, IntoPyResult};
use crate::locking;

/// The state sealed (XChaCha20-Poly1305) under a 32-byte key, bound to `label`.
pub fn seal<'py, T: Serialize + Send>(
    py: Python<'py>,
    state: &Mutex<T>,
    label: &[u8],
    key: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let key = key32(py, key, "key")?;
    let plain = locking::peek(py, state, Serialize::to_bytes);
    let sealed = wac1::sealed::seal(&key, label, &plain, &mut OsRng).py(py)?;
    Ok(PyBytes::new(py, &sealed))
}

/// Restores state sealed by [`seal`]; `CorruptStateError` on a wrong key, label or any change.
pub fn open<T: Serialize>(py: Python<'_>, data: &[u8], label: &[u8], key: &[u8]) -> PyResult<T> {
    let key = key32(py, key, "key")?;
    let plain = wac1::sealed::open(&key, label, data).py(py)?;
    T::from_bytes(&plain).py(py)
}

/// Whether two handles hold equal state (a handle always equals itself).
pub fn equal<T: PartialEq + Clone + Send + Sync>(py: Python<'_>, mine: &Mutex<T>, theirs: &Mutex<T>) -> bool {
    if std::ptr::eq(mine, theirs) {
        return true;
    }
    let theirs = locking::read(py, theirs);
    locking::peek(py, mine, |m| *m == theirs)
}
