//! A blob file written as it downloads and hashed as it is written, so that opening it
//! afterwards reads it once (decrypting) instead of twice (hashing, then decrypting). The
//! length and SHA-256 of everything written are checked against the message before anything
//! is decrypted (§8); the plaintext appears under its name only when every chunk verified.
//!
//! Where the destination is on the blob's file system, the blob is first moved beside it
//! under a temporary name and decrypted in place (each chunk's plaintext is written over
//! bytes already read), then cut to the plaintext's size and renamed: no second file of the
//! attachment's size is written, which was the largest cost of opening (fresh page cache).

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use tempfile::TempPath;
use zeroize::Zeroizing;

use super::file::{
    decrypt_file, read_full, start_writeback, temp_dir_of, READ_SIZE, TEMP_PREFIX, TEMP_SUFFIX,
};
use super::{BlobHasher, FileError, Opener, VerifiedBlob, SEALED_CHUNK_SIZE};

/// Appends to a blob file (a download's `.part` file) and hashes what it appends.
pub struct BlobWriter {
    /// Opened for reading and writing, positioned at its end: the blob is decrypted from this
    /// same open file.
    file: File,
    path: PathBuf,
    hasher: BlobHasher,
    /// A failed write could not be undone: the file and the hash may disagree.
    broken: bool,
}

impl core::fmt::Debug for BlobWriter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BlobWriter").field("len", &self.hasher.len()).finish()
    }
}

fn broken() -> io::Error {
    io::Error::other("a failed write left the blob file in an unknown state; open it afresh")
}

impl BlobWriter {
    /// Opens `path` for appending (created readable by the owner only) and hashes what it
    /// already holds, so an interrupted download resumes where it stopped.
    pub fn append(path: &Path) -> io::Result<Self> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path)?;
        let mut hasher = BlobHasher::new();
        let mut buf = vec![0u8; READ_SIZE];
        loop {
            let n = read_full(&mut file, &mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(buf.get(..n).unwrap_or_default());
        }
        Ok(Self { file, path: path.to_path_buf(), hasher, broken: false })
    }

    /// Bytes of the blob written so far (also those found at [`BlobWriter::append`]).
    pub fn len(&self) -> u64 {
        self.hasher.len()
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.hasher.is_empty()
    }

    /// Appends `data`. On failure the file is cut back to what was hashed, so a retry can
    /// append again.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        if self.broken {
            return Err(broken());
        }
        if let Err(err) = self.file.write_all(data) {
            let len = self.hasher.len();
            if self.file.set_len(len).and_then(|()| self.file.seek(SeekFrom::Start(len))).is_err() {
                self.broken = true;
            }
            return Err(err);
        }
        self.hasher.update(data);
        Ok(())
    }

    /// Empties the file to download the blob again from its start.
    pub fn truncate(&mut self) -> io::Result<()> {
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        self.hasher = BlobHasher::new();
        self.broken = false;
        Ok(())
    }

    /// Checks the length and SHA-256 of everything written against the message, then opens
    /// the blob into the plaintext file `dst` without hashing it again: beside `dst` under a
    /// temporary name, renamed into place only when every chunk verified. Every integrity
    /// failure is [`crate::Error::AttachmentCorrupt`] and leaves nothing at `dst`.
    ///
    /// When `dst`'s directory is on the blob file's file system, the blob file itself is
    /// moved there and decrypted in place, so it is gone from its own path afterwards
    /// whatever the outcome (on a failure its temporary file is deleted); otherwise it stays.
    pub fn open_file(
        &mut self,
        dst: &Path,
        key: &[u8; 32],
        digest: &[u8; 32],
        size: u64,
    ) -> Result<(), FileError> {
        if self.broken {
            return Err(broken().into());
        }
        let verified = self.hasher.verify(digest, size)?;
        self.broken = true; // the file is consumed below, whatever happens
        let dir = temp_dir_of(dst);
        let moved = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .suffix(TEMP_SUFFIX)
            .make_in(dir, |beside| std::fs::rename(&self.path, beside));
        match moved {
            Ok(tmp) => decrypt_in_place(&mut self.file, tmp.into_temp_path(), dst, key, &verified),
            // Another file system (or a rename refused): the blob stays, a copy is opened.
            Err(_) => {
                self.file.seek(SeekFrom::Start(0))?;
                decrypt_file(&mut self.file, dst, key, &verified)
            }
        }
    }
}

/// Decrypts the verified blob in `file` (now at `tmp`) over itself, a step at a time: the
/// plaintext of what was read is never longer than it and is written where reading began,
/// so nothing is overwritten before it was read. Cut to the plaintext's size, synced, and
/// renamed to `dst` only when every chunk verified; `tmp` is deleted on any failure.
fn decrypt_in_place(
    file: &mut File,
    tmp: TempPath,
    dst: &Path,
    key: &[u8; 32],
    verified: &VerifiedBlob,
) -> Result<(), FileError> {
    if file.metadata()?.len() != verified.blob_size() {
        return Err(super::corrupt().into());
    }
    let mut buf = vec![0u8; READ_SIZE];
    let mut opener = Opener::verified(key, verified)?;
    let mut out = Zeroizing::new(Vec::with_capacity(READ_SIZE + SEALED_CHUNK_SIZE));
    let (mut read_at, mut write_at) = (0u64, 0u64);
    loop {
        file.seek(SeekFrom::Start(read_at))?;
        let n = read_full(file, &mut buf)?;
        out.clear();
        if n == 0 {
            opener.finish(&mut out)?;
        } else {
            opener.push(buf.get(..n).unwrap_or_default(), &mut out)?;
            read_at += n as u64;
        }
        file.seek(SeekFrom::Start(write_at))?;
        file.write_all(&out)?;
        start_writeback(file, write_at, out.len());
        write_at += out.len() as u64;
        if n == 0 {
            break;
        }
    }
    file.set_len(write_at)?;
    file.sync_all()?;
    tmp.persist(dst).map_err(|e| e.error)?;
    Ok(())
}
