//! `AttachmentBlobWriter`: a download's `.part` file, hashed as it is written (GIL released),
//! and opened into its plaintext without a hashing pass of its own (PROTOCOL.md §8: length
//! and SHA-256 of the whole blob are still checked before anything is decrypted).

use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::prelude::*;
use wac1::attachment::BlobWriter;

use crate::attachment::{bytes_like, digest32, file_err};
use crate::errors::key32;
use crate::locking;

/// Appends to a blob file and hashes what it appends; `open_file` checks length and digest
/// of everything written, then decrypts the file. Closed after `open_file` or `close`.
#[pyclass(module = "whatsapp_client._core", frozen)]
#[derive(Debug)]
pub struct AttachmentBlobWriter {
    inner: Mutex<Option<BlobWriter>>,
}

fn closed() -> PyErr {
    pyo3::exceptions::PyValueError::new_err("the blob writer is closed")
}

fn on<R: Send>(
    py: Python<'_>,
    me: &AttachmentBlobWriter,
    heavy: bool,
    f: impl FnOnce(&mut BlobWriter) -> R + Send,
) -> PyResult<R> {
    locking::with(py, &me.inner, heavy, |w| w.as_mut().map(f)).ok_or_else(closed)
}

#[pymethods]
impl AttachmentBlobWriter {
    /// Opens `path` for appending (created 0600) and hashes what it already holds, so an
    /// interrupted download resumes from it.
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let writer = py.allow_threads(|| BlobWriter::append(&path))?;
        Ok(Self { inner: Mutex::new(Some(writer)) })
    }

    /// Blob bytes in the file (hashed).
    #[getter]
    fn size(&self, py: Python<'_>) -> PyResult<u64> {
        on(py, self, false, |w| w.len())
    }

    /// Appends `data` (bytes, bytearray or memoryview).
    fn write(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let data = bytes_like(data, "data")?;
        let part = data.as_bytes();
        Ok(on(py, self, part.len() >= crate::session::BULK_BYTES, |w| w.write(part))??)
    }

    /// Empties the file, to download the blob again from its start.
    fn truncate(&self, py: Python<'_>) -> PyResult<()> {
        Ok(on(py, self, true, BlobWriter::truncate)??)
    }

    /// Checks the length and SHA-256 of everything written against the message, then opens
    /// the blob into `dst` (a temporary file beside it, renamed into place only when every
    /// chunk verified). Raises `AttachmentCorruptError` on any mismatch, leaving nothing at
    /// `dst`. The writer is closed afterwards, whatever the outcome.
    fn open_file(&self, py: Python<'_>, dst: PathBuf, key: &[u8], digest: &[u8], size: u64) -> PyResult<()> {
        let (key, digest) = (zeroize::Zeroizing::new(key32(py, key, "key")?), digest32(py, digest)?);
        let mut writer = locking::with(py, &self.inner, false, Option::take).ok_or_else(closed)?;
        py.allow_threads(|| writer.open_file(&dst, &key, &digest, size)).map_err(|e| file_err(py, e))
    }

    /// Closes the file (idempotent).
    fn close(&self, py: Python<'_>) {
        drop(locking::with(py, &self.inner, false, Option::take));
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<AttachmentBlobWriter>()
}
