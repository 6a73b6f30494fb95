//! The one-process-per-account lock.
//!
//! A POSIX record lock (`fcntl(F_SETLK)`) on `.lock`, held while the store is open. Unlike
//! `flock(2)`, a record lock belongs to the process, not to the open file: a child made by
//! `fork()` does not inherit it, so a child can never keep the parent's store locked after
//! the parent closed it (and the file is opened close-on-exec, as Rust opens every file).
//! Record locks do not exclude the same process, so a registry of the directories this
//! process holds refuses a second open in the same process.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use super::fs::{check_private, private_file_options};
use crate::error::{Result, StoreError};

/// The directories locked, with the process that locked them: a forked child inherits a copy
/// of this registry, and must not take its parent's entries for its own.
static HELD: Mutex<Option<HashSet<(u32, PathBuf)>>> = Mutex::new(None);

/// The lock of one store directory; released when dropped.
#[derive(Debug)]
pub(super) struct DirLock {
    file: Option<File>,
    key: (u32, PathBuf),
}

fn locked(dir: &Path) -> StoreError {
    StoreError::Locked(format!(
        "the store at {} is open in another process (or already in this one); one process at a time may \
         use an account",
        dir.display()
    ))
}

impl DirLock {
    /// Takes the lock of `dir` (which exists), or [`StoreError::Locked`].
    pub(super) fn acquire(dir: &Path, lock_path: &Path) -> Result<Self> {
        check_private(lock_path, false)?;
        let key = (std::process::id(), std::fs::canonicalize(dir)?);
        let mut held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
        let set = held.get_or_insert_with(HashSet::new);
        // Checked before the file is opened: closing a second descriptor of the lock file
        // would drop this process's record lock.
        if set.contains(&key) {
            return Err(locked(dir));
        }
        let file = private_file_options().create(true).truncate(false).open(lock_path)?;
        try_lock(&file).map_err(|e| match e {
            Some(e) => e,
            None => locked(dir),
        })?;
        set.insert(key.clone());
        Ok(Self { file: Some(file), key })
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        if let Some(set) = HELD.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
            set.remove(&self.key);
        }
        // In a forked child, closing this inherited descriptor would drop every record lock
        // the child holds on the file, including one it took by opening the store itself:
        // leave the descriptor open (the child's exit closes it).
        if self.key.0 != std::process::id() {
            std::mem::forget(self.file.take());
        }
    }
}

/// `Err(None)` when another process holds the lock.
#[cfg(unix)]
fn try_lock(file: &File) -> std::result::Result<(), Option<StoreError>> {
    use rustix::fs::{fcntl_lock, FlockOperation};
    match fcntl_lock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::AGAIN || e == rustix::io::Errno::ACCESS => Err(None),
        Err(e) => Err(Some(StoreError::Storage(format!("cannot lock the store: {e}")))),
    }
}

#[cfg(not(unix))]
fn try_lock(file: &File) -> std::result::Result<(), Option<StoreError>> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(None),
        Err(std::fs::TryLockError::Error(e)) => Err(Some(e.into())),
    }
}
