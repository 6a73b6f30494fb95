//! Store errors as Python exceptions, and the options of `KeyStore.open`.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use wac1_store::{Durability, KdfParams, StoreError, StoreOptions};

/// Raises `whatsapp_client.errors.<class_name>(message, code=code)`.
pub(super) fn raise_class(py: Python<'_>, class_name: &str, code: &str, message: &str) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let class = py.import("whatsapp_client.errors")?.getattr(class_name)?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("code", code)?;
        Ok(PyErr::from_value(class.call((message,), Some(&kwargs))?))
    };
    build().unwrap_or_else(|e| e)
}

pub(super) fn store_err(py: Python<'_>, err: &StoreError) -> PyErr {
    let message = err.to_string();
    match err {
        StoreError::Crypto(e) => crate::errors::to_py_err(py, e),
        StoreError::Auth(_) => raise_class(py, "StorageAuthError", err.code(), &message),
        StoreError::Corrupt(_) => raise_class(py, "StorageCorruptError", err.code(), &message),
        StoreError::Locked(_) => raise_class(py, "StoreLockedError", err.code(), &message),
        StoreError::Permissions(_) | StoreError::Storage(_) => {
            raise_class(py, "StorageError", err.code(), &message)
        }
        StoreError::Invalid(_) => raise_class(py, "ValidationError", err.code(), &message),
        StoreError::InvalidMessageId(_) => raise_class(py, "InvalidMessageIdError", err.code(), &message),
        StoreError::IdConflict(_) => raise_class(py, "MessageIdConflictError", err.code(), &message),
        StoreError::Forked(_) => raise_class(py, "StorageError", err.code(), &message),
        StoreError::NotFound(_) => raise_class(py, "NotFoundError", err.code(), &message),
    }
}

pub(super) fn closed(py: Python<'_>) -> PyErr {
    raise_class(py, "StorageError", "store_closed", "the store is closed")
}

#[allow(clippy::too_many_arguments)]
pub(super) fn options(
    py: Python<'_>,
    durability: &str,
    create: bool,
    kdf_memory_kib: u32,
    kdf_iterations: u32,
    max_skip: u32,
    max_skipped_keys: usize,
    session_cache: usize,
) -> PyResult<StoreOptions> {
    let durability = Durability::parse(durability).map_err(|e| store_err(py, &e))?;
    // `insecure_weak_kdf` exists only when wac1-store is built with `test-hooks`, which a
    // workspace build may turn on for the store's own tests even when this crate has it off.
    #[allow(clippy::needless_update, unused_mut)]
    let mut opts = StoreOptions {
        durability,
        create,
        kdf: KdfParams { memory_kib: kdf_memory_kib, iterations: kdf_iterations, lanes: 1 },
        limits: wac1::Limits { max_skip, max_skipped_keys },
        session_cache,
        ..StoreOptions::default()
    };
    // Test builds only: the test suite sets WAC1_TEST_WEAK_KDF=1 for cheap stores.
    #[cfg(feature = "test-hooks")]
    {
        opts.insecure_weak_kdf = std::env::var_os("WAC1_TEST_WEAK_KDF").is_some_and(|v| v == "1");
    }
    Ok(opts)
}

/// A store error as an exception instance (for batch results that carry errors as values).
pub(super) fn store_err_value<'py>(py: Python<'py>, err: &StoreError) -> PyResult<Bound<'py, PyAny>> {
    match err {
        StoreError::Crypto(e) => crate::errors::exception_value(py, e),
        other => Ok(store_err(py, other).into_value(py).into_bound(py).into_any()),
    }
}
