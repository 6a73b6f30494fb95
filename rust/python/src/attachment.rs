//! Encrypted attachments (PROTOCOL.md §8): seal and open whole buffers, streams and files.
//! The bulk work (AES-GCM, SHA-256, file I/O) runs with the GIL released.

use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyMemoryView};
use rand_core::OsRng;
use wac1::attachment::{self as core_att, FileError, Opener, Sealer};
use wac1::encoding::b64;

use crate::errors::{invalid, key32, to_py_err, IntoPyResult};
use crate::locking;

/// What the E2EE message carries for an attachment. The key is never shown in `repr`.
#[pyclass(module = "whatsapp_client._core", frozen)]
#[derive(Debug)]
pub struct AttachmentKeys {
    inner: core_att::AttachmentKeys,
}

#[pymethods]
impl AttachmentKeys {
    /// The 32-byte AES-256 key of this attachment.
    #[getter]
    fn key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.key.as_ref())
    }
    /// SHA-256 of the whole blob (32 bytes).
    #[getter]
    fn digest<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.digest)
    }
    /// Plaintext bytes.
    #[getter]
    fn size(&self) -> u64 {
        self.inner.size
    }
    /// Blob bytes.
    #[getter]
    fn blob_size(&self) -> u64 {
        self.inner.blob_size()
    }
    fn __repr__(&self) -> String {
        format!(
            "AttachmentKeys(key=<redacted>, digest={}, size={}, blob_size={})",
            b64(&self.inner.digest),
            self.inner.size,
            self.inner.blob_size()
        )
    }
}

impl AttachmentKeys {
    pub fn of(inner: core_att::AttachmentKeys) -> Self {
        Self { inner }
    }
}

/// `bytes` as is; `bytearray` and `memoryview` copied once into `bytes` (the abi3 API has
/// no safe zero-copy view of a mutable buffer). Anything else is a `TypeError`.
pub fn bytes_like<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Bound<'py, PyBytes>> {
    if let Ok(b) = obj.downcast::<PyBytes>() {
        return Ok(b.clone());
    }
    if obj.is_instance_of::<PyByteArray>() || obj.is_instance_of::<PyMemoryView>() {
        return Ok(obj.py().get_type::<PyBytes>().call1((obj,))?.downcast_into::<PyBytes>()?);
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be bytes, bytearray or memoryview, not {}",
        obj.get_type().name()?
    )))
}

pub fn digest32(py: Python<'_>, digest: &[u8]) -> PyResult<[u8; 32]> {
    <[u8; 32]>::try_from(digest)
        .map_err(|_| invalid(py, format!("digest must be 32 bytes, got {}", digest.len())))
}

pub fn file_err(py: Python<'_>, err: FileError) -> PyErr {
    match err {
        FileError::Io(e) => e.into(),
        FileError::Attachment(e) => to_py_err(py, &e),
    }
}

fn corrupt(py: Python<'_>) -> PyErr {
    to_py_err(py, &wac1::Error::AttachmentCorrupt)
}

/// Blob bytes for a plaintext of `size` bytes.
#[pyfunction]
pub fn attachment_blob_size(py: Python<'_>, size: u64) -> PyResult<u64> {
    core_att::blob_size(size)
        .ok_or_else(|| invalid(py, format!("attachment size {size} exceeds the format's limit")))
}

/// Seals `data` under a fresh key: `(blob, keys)`.
#[pyfunction]
pub fn seal_attachment<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyBytes>, AttachmentKeys)> {
    seal_with(py, data, &mut OsRng)
}

/// Seals straight into the returned `bytes` object, with the GIL released.
pub fn seal_with<'py, R: rand_core::RngCore + rand_core::CryptoRng + Send>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    rng: &mut R,
) -> PyResult<(Bound<'py, PyBytes>, AttachmentKeys)> {
    let data = bytes_like(data, "data")?;
    let plain = data.as_bytes();
    let size = core_att::blob_size(plain.len() as u64)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| invalid(py, "attachment too large"))?;
    let mut keys = None;
    let blob = PyBytes::new_with(py, size, |buf| {
        keys = Some(py.allow_threads(|| core_att::seal_into(plain, buf, rng)).py(py)?);
        Ok(())
    })?;
    let keys = keys.ok_or_else(|| invalid(py, "sealing produced no keys"))?;
    Ok((blob, AttachmentKeys::of(keys)))
}

/// Opens a whole blob: its length and digest are checked before anything is decrypted;
/// any failure raises `AttachmentCorruptError` and returns no plaintext.
#[pyfunction]
pub fn open_attachment<'py>(
    py: Python<'py>,
    blob: &Bound<'py, PyAny>,
    key: &[u8],
    digest: &[u8],
    size: u64,
) -> PyResult<Bound<'py, PyBytes>> {
    let blob = bytes_like(blob, "blob")?;
    let sealed = blob.as_bytes();
    let (key, digest) = (zeroize::Zeroizing::new(key32(py, key, "key")?), digest32(py, digest)?);
    // The blob's length bounds `size` (from a peer's message) before anything is allocated.
    if core_att::blob_size(size) != Some(sealed.len() as u64) {
        return Err(corrupt(py));
    }
    let len = usize::try_from(size).map_err(|_| corrupt(py))?;
    PyBytes::new_with(py, len, |buf| {
        py.allow_threads(|| core_att::open_into(sealed, &key, &digest, size, buf)).py(py)
    })
}

/// Seals the file `src` into the blob file `dst` (written beside it under a temporary name
/// and renamed into place when complete).
#[pyfunction]
pub fn seal_attachment_file(py: Python<'_>, src: PathBuf, dst: PathBuf) -> PyResult<AttachmentKeys> {
    py.allow_threads(|| core_att::seal_file(&src, &dst, &mut OsRng))
        .map(AttachmentKeys::of)
        .map_err(|e| file_err(py, e))
}

/// Opens the blob file `src` into `dst`: checked whole first, decrypted into a temporary
/// file beside `dst`, renamed into place only when every chunk verified.
#[pyfunction]
pub fn open_attachment_file(
    py: Python<'_>,
    src: PathBuf,
    dst: PathBuf,
    key: &[u8],
    digest: &[u8],
    size: u64,
) -> PyResult<()> {
    let (key, digest) = (zeroize::Zeroizing::new(key32(py, key, "key")?), digest32(py, digest)?);
    py.allow_threads(|| core_att::open_file(&src, &dst, &key, &digest, size)).map_err(|e| file_err(py, e))
}

/// Seals an attachment as its plaintext arrives.
#[pyclass(module = "whatsapp_client._core", frozen)]
#[derive(Debug)]
pub struct AttachmentSealer {
    inner: Mutex<Sealer>,
}

impl AttachmentSealer {
    /// A sealer under the key `rng` draws (the vectors fix it).
    #[cfg(feature = "test-hooks")]
    pub fn with_rng<R: rand_core::RngCore + rand_core::CryptoRng>(rng: &mut R) -> Self {
        Self { inner: Mutex::new(Sealer::new(rng)) }
    }
}

#[pymethods]
impl AttachmentSealer {
    #[new]
    fn new() -> Self {
        Self { inner: Mutex::new(Sealer::new(&mut OsRng)) }
    }

    /// Adds plaintext; returns the sealed bytes of the chunks it completes (maybe empty).
    fn push<'py>(&self, py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        let data = bytes_like(data, "data")?;
        let plain = data.as_bytes();
        let out = locking::with(py, &self.inner, plain.len() >= crate::session::BULK_BYTES, |s| {
            let mut out = Vec::with_capacity(plain.len() + core_att::SEALED_CHUNK_SIZE);
            s.push(plain, &mut out).map(|()| out)
        })
        .py(py)?;
        Ok(PyBytes::new(py, &out))
    }

    /// Seals the last chunk: `(last sealed bytes, keys)`. The sealer is spent after it.
    fn finish<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyBytes>, AttachmentKeys)> {
        let (out, keys) = locking::with(py, &self.inner, false, |s| {
            let mut out = Vec::with_capacity(core_att::SEALED_CHUNK_SIZE);
            s.finish(&mut out).map(|k| (out, k))
        })
        .py(py)?;
        Ok((PyBytes::new(py, &out), AttachmentKeys::of(keys)))
    }
}

/// Opens an attachment as its blob arrives. `push` returns the plaintext of each chunk whose
/// tag verified, before the digest of the whole blob can be checked; `finish` checks length
/// and digest and only then returns the last chunk. Callers that must release no plaintext
/// of a corrupt attachment use `open_attachment_file` / `open_attachment`, or hold what
/// `push` returns until `finish` succeeds.
#[pyclass(module = "whatsapp_client._core", frozen)]
#[derive(Debug)]
pub struct AttachmentOpener {
    inner: Mutex<Opener>,
}

#[pymethods]
impl AttachmentOpener {
    #[new]
    fn new(py: Python<'_>, key: &[u8], digest: &[u8], size: u64) -> PyResult<Self> {
        let key = zeroize::Zeroizing::new(key32(py, key, "key")?);
        let opener = Opener::new(&key, &digest32(py, digest)?, size).py(py)?;
        Ok(Self { inner: Mutex::new(opener) })
    }

    /// Adds blob bytes; returns the plaintext of the chunks they complete (maybe empty).
    fn push<'py>(&self, py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        let data = bytes_like(data, "data")?;
        let part = data.as_bytes();
        let out = locking::with(py, &self.inner, part.len() >= crate::session::BULK_BYTES, |o| {
            let mut out = Vec::with_capacity(part.len());
            o.push(part, &mut out).map(|()| out)
        })
        .py(py)?;
        Ok(PyBytes::new(py, &out))
    }

    /// Checks the whole blob's length and digest, then returns the last chunk's plaintext.
    /// Raises `AttachmentCorruptError` if anything is missing, extra or different.
    fn finish<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let out = locking::with(py, &self.inner, true, |o| {
            let mut out = Vec::with_capacity(core_att::CHUNK_SIZE);
            o.finish(&mut out).map(|()| out)
        })
        .py(py)?;
        Ok(PyBytes::new(py, &out))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ATTACHMENT_CHUNK_SIZE", core_att::CHUNK_SIZE)?;
    m.add_class::<AttachmentKeys>()?;
    m.add_class::<AttachmentSealer>()?;
    m.add_class::<AttachmentOpener>()?;
    m.add_function(wrap_pyfunction!(attachment_blob_size, m)?)?;
    m.add_function(wrap_pyfunction!(seal_attachment, m)?)?;
    m.add_function(wrap_pyfunction!(open_attachment, m)?)?;
    m.add_function(wrap_pyfunction!(seal_attachment_file, m)?)?;
    m.add_function(wrap_pyfunction!(open_attachment_file, m)?)?;
    Ok(())
}
