//! `Vault`: the gateway's master key and AES-256-GCM sealing of records at rest.
//!
//! The key is read and kept only here (a wiped buffer, never in `repr`); Python sees sealed
//! blobs and the plaintexts it asked for. Every failure raises `VaultError`.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rand_core::OsRng;
use wac1::vault::{VaultKey, KEY_SIZE};
use zeroize::Zeroizing;

use crate::attachment::bytes_like;
use crate::errors::exception;

/// Above this many bytes, sealing and opening release the GIL.
const RELEASE_GIL_ABOVE: usize = 16 * 1024;

fn vault_error(py: Python<'_>, message: impl AsRef<str>) -> PyErr {
    exception(py, "vault_error", message.as_ref())
}

/// AES-256-GCM under the gateway master key; blobs are `nonce(12) || ciphertext || tag(16)`.
#[pyclass(module = "whatsapp_client._core", frozen)]
#[derive(Debug)]
pub struct Vault {
    key: VaultKey,
}

#[pymethods]
impl Vault {
    /// A vault with the given 32-byte key.
    #[new]
    fn new(py: Python<'_>, key: &[u8]) -> PyResult<Self> {
        let key = VaultKey::from_bytes(key)
            .map_err(|_| vault_error(py, format!("a vault key must be 32 bytes, got {}", key.len())))?;
        Ok(Self { key })
    }

    /// Creates `path` holding a fresh random key, mode 0600, atomically (written beside it,
    /// synced, then linked into place). Refuses to replace an existing file.
    #[staticmethod]
    fn generate_file(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let key = VaultKey::generate(&mut OsRng);
        py.allow_threads(|| write_key_file(&path, key.expose()))
            .map_err(|e| vault_error(py, format!("cannot create the key file {}: {e}", path.display())))?;
        Ok(Self { key })
    }

    /// The key from the file `path` (32 raw bytes, not readable by group or others).
    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let bytes = py.allow_threads(|| read_key_file(&path)).map_err(|e| vault_error(py, e))?;
        Self::new(py, &bytes).map_err(|_| {
            vault_error(
                py,
                format!("the key file {} must hold 32 bytes, it holds {}", path.display(), bytes.len()),
            )
        })
    }

    /// The key from the environment variable `env_name` (base64 of 32 bytes) when it is set
    /// and not empty, else from the file `path`, created on first use.
    #[staticmethod]
    fn from_env_or_file(py: Python<'_>, env_name: &str, path: PathBuf) -> PyResult<Self> {
        if let Some(value) = std::env::var_os(env_name) {
            let text = Zeroizing::new(value.to_string_lossy().trim().to_owned());
            if !text.is_empty() {
                return from_base64(py, env_name, &text);
            }
        }
        match Self::from_file(py, path.clone()) {
            Ok(vault) => Ok(vault),
            Err(_) if !path.exists() => match Self::generate_file(py, path.clone()) {
                Ok(vault) => Ok(vault),
                // Another process created it first: use that one.
                Err(_) if path.exists() => Self::from_file(py, path),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Seals `plaintext` bound to the associated data `ad`.
    fn seal<'py>(
        &self,
        py: Python<'py>,
        plaintext: &Bound<'py, PyAny>,
        ad: &[u8],
    ) -> PyResult<Bound<'py, PyBytes>> {
        let plaintext = bytes_like(plaintext, "plaintext")?;
        let data = plaintext.as_bytes();
        let sealed = if data.len() > RELEASE_GIL_ABOVE {
            py.allow_threads(|| self.key.seal(data, ad, &mut OsRng))
        } else {
            self.key.seal(data, ad, &mut OsRng)
        };
        let sealed = sealed.map_err(|e| vault_error(py, e.to_string()))?;
        Ok(PyBytes::new(py, &sealed))
    }

    /// Opens a blob sealed with `ad`; a wrong key or AD, any changed bit or a truncation
    /// raises `VaultError` and releases nothing.
    fn open<'py>(&self, py: Python<'py>, blob: &[u8], ad: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let opened = if blob.len() > RELEASE_GIL_ABOVE {
            py.allow_threads(|| self.key.open(blob, ad))
        } else {
            self.key.open(blob, ad)
        };
        let plain = Zeroizing::new(opened.map_err(|_| {
            vault_error(
                py,
                "sealed data does not open: tampered, truncated, or sealed for another place or key",
            )
        })?);
        Ok(PyBytes::new(py, &plain))
    }

    fn __repr__(&self) -> &'static str {
        "Vault(key=<redacted>)"
    }
}

fn from_base64(py: Python<'_>, env_name: &str, text: &str) -> PyResult<Vault> {
    let bytes = Zeroizing::new(wac1::encoding::unb64(text).map_err(|_| {
        vault_error(py, format!("{env_name} is not valid base64 (expected the base64 of 32 bytes)"))
    })?);
    if bytes.len() != KEY_SIZE {
        return Err(vault_error(
            py,
            format!("{env_name} must be the base64 of 32 bytes, it decodes to {}", bytes.len()),
        ));
    }
    Vault::new(py, &bytes)
}

fn read_key_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, String> {
    let shown = path.display();
    let file = fs::File::open(path).map_err(|e| format!("cannot read the key file {shown}: {e}"))?;
    let mode =
        file.metadata().map_err(|e| format!("cannot read the key file {shown}: {e}"))?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "the key file {shown} is readable by others (mode {:o}); chmod 600 it",
            mode & 0o777
        ));
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(KEY_SIZE + 1));
    // One byte more than a key: enough to tell a longer file from a key.
    file.take(KEY_SIZE as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the key file {shown}: {e}"))?;
    Ok(bytes)
}

fn write_key_file(path: &Path, key: &[u8; KEY_SIZE]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // tempfile creates the file with mode 0600.
    let mut tmp = tempfile::Builder::new().prefix(".master.key.").tempfile_in(dir)?;
    tmp.as_file().set_permissions(fs::Permissions::from_mode(0o600))?;
    tmp.write_all(key)?;
    tmp.as_file().sync_all()?;
    tmp.persist_noclobber(path).map_err(|e| e.error)?;
    fs::File::open(dir)?.sync_all()
}
