//! Python bindings of the WAC1 engine: the `whatsapp_client._core` module.
use pyo3::prelude::*;

#[pymodule]
fn _core(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
