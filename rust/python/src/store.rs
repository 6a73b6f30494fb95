//! Python bindings of the encrypted local store (filled in by the store crate's bindings).
use pyo3::prelude::*;

/// Adds the store classes to the `_core` module.
pub fn register(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
