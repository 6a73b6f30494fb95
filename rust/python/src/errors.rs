//! Raising the `whatsapp_client.errors` classes from Rust, by protocol error code.

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Builds the Python exception for an engine error (looked up by its code).
pub fn to_py_err(py: Python<'_>, err: &wac1::Error) -> PyErr {
    exception(py, err.code(), &err.to_string())
}

/// Builds an instance of `error_for_code(code)(message, code=code)`.
pub fn exception(py: Python<'_>, code: &str, message: &str) -> PyErr {
    match build(py, code, message) {
        Ok(value) => PyErr::from_value(value),
        Err(e) => e,
    }
}

/// The exception object itself (for batch calls that return errors as values).
pub fn exception_value<'py>(py: Python<'py>, err: &wac1::Error) -> PyResult<Bound<'py, PyAny>> {
    build(py, err.code(), &err.to_string())
}

fn build<'py>(py: Python<'py>, code: &str, message: &str) -> PyResult<Bound<'py, PyAny>> {
    let module = py.import("whatsapp_client.errors")?;
    let class = module.getattr("error_for_code")?.call1((code,))?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("code", code)?;
    class.call((message,), Some(&kwargs))
}

/// Maps an engine result into a Python result.
pub trait IntoPyResult<T> {
    /// Converts the error side into the matching Python exception.
    fn py(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for wac1::Result<T> {
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py_err(py, &e))
    }
}

/// An `InvalidMessageError` for bad arguments.
pub fn invalid(py: Python<'_>, message: impl Into<String>) -> PyErr {
    exception(py, "invalid_message", &message.into())
}

/// Copies a Python `bytes` argument into a 32-byte array, or raises `InvalidKeyError`.
pub fn key32(py: Python<'_>, bytes: &[u8], what: &str) -> PyResult<[u8; 32]> {
    <[u8; 32]>::try_from(bytes)
        .map_err(|_| exception(py, "invalid_key", &format!("{what} must be 32 bytes, got {}", bytes.len())))
}
