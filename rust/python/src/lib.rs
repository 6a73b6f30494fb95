//! Python bindings of the WAC1 engine: the `whatsapp_client._core` module.
//!
//! Private keys stay in Rust: Python holds `Account` and `Session` handles and public
//! values; serialized state leaves only sealed under a caller's key. Errors are raised as
//! the classes of `whatsapp_client.errors`. Calls that do public-key or bulk work release
//! the GIL.

#![forbid(unsafe_code)]
#![allow(clippy::too_many_arguments)]

use pyo3::prelude::*;

/// mimalloc for the extension's own allocations: glibc returns a freed multi-megabyte
/// buffer to the kernel, so every large message paid for fresh pages (page faults and
/// kernel zeroing were most of a 1 MiB encrypt + decrypt); mimalloc keeps them for reuse.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod account;
mod attachment;
mod errors;
mod functions;
mod keys;
mod locking;
mod session;
mod state;
mod store;
mod vault;
#[cfg(feature = "test-hooks")]
mod vectors;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("PROTOCOL_VERSION", 1u32)?;
    let limits = wac1::Limits::default();
    m.add("MAX_SKIP", limits.max_skip)?;
    m.add("MAX_SKIPPED_KEYS", limits.max_skipped_keys)?;
    m.add("MAX_LIMIT", wac1::ratchet::MAX_LIMIT)?;
    m.add("MAX_SIGNED_PREKEYS", wac1::prekeys::MAX_SIGNED_PREKEYS)?;
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
    #[cfg(feature = "test-hooks")]
    vectors::register(m)?;
    store::register(m)?;
    attachment::register(m)?;
    m.add_class::<vault::Vault>()?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use pyo3::prelude::*;

    /// The test-only entry points are compiled only with the `test-hooks` feature: a
    /// production build (the one `cargo test --workspace` makes) must not register them.
    #[test]
    fn test_hooks_ship_only_with_the_feature() {
        pyo3::prepare_freethreaded_python();
        Python::with_gil(|py| {
            let m = PyModule::new(py, "_core").unwrap();
            super::_core(&m).unwrap();
            let names: Vec<String> = m.dir().unwrap().extract().unwrap();
            let hooks: Vec<&String> =
                names.iter().filter(|n| n.starts_with("_vector_") || n.starts_with("_bench_")).collect();
            for public in ["Account", "seal_attachment", "AttachmentOpener", "Vault"] {
                assert!(names.iter().any(|n| n == public), "{public} missing from the module: {names:?}");
            }
            if cfg!(feature = "test-hooks") {
                assert!(hooks.iter().any(|n| *n == "_vector_decrypt"), "{names:?}");
            } else {
                assert!(hooks.is_empty(), "test-only entry points in a production build: {hooks:?}");
            }
        });
    }
}
