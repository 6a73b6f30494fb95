//! Python bindings of the WAC1 engine: the `whatsapp_client._core` module.
//!
//! Private keys stay in Rust: Python holds `Account` and `Session` handles and public
//! values; serialized state leaves only sealed under a caller's key. Errors are raised as
//! the classes of `whatsapp_client.errors`. Calls that do public-key or bulk work release
//! the GIL.

#![allow(clippy::too_many_arguments)]

use pyo3::prelude::*;

mod account;
mod errors;
mod functions;
mod keys;
mod locking;
mod session;
mod state;
mod store;
mod vectors;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("PROTOCOL_VERSION", 1u32)?;
    let limits = wac1::Limits::default();
    m.add("MAX_SKIP", limits.max_skip)?;
    m.add("MAX_SKIPPED_KEYS", limits.max_skipped_keys)?;
    m.add_class::<account::Account>()?;
    m.add_class::<session::Session>()?;
    m.add_class::<session::Decrypted>()?;
    m.add_class::<keys::PreKeyBundle>()?;
    m.add_class::<keys::SignedPreKey>()?;
    m.add_class::<keys::OneTimePreKey>()?;
    m.add_class::<functions::WireInfo>()?;
    m.add_function(wrap_pyfunction!(functions::verify_signed_prekey, m)?)?;
    m.add_function(wrap_pyfunction!(functions::fingerprint, m)?)?;
    m.add_function(wrap_pyfunction!(functions::safety_number, m)?)?;
    m.add_function(wrap_pyfunction!(functions::compare_fingerprints, m)?)?;
    m.add_function(wrap_pyfunction!(functions::parse_message, m)?)?;
    vectors::register(m)?;
    store::register(m)?;
    Ok(())
}
