//! Thread-safe access to engine state shared with Python threads.
//!
//! `Account` and `Session` hold their state in a `Mutex`, so Python threads that use one
//! object at the same time take turns instead of failing. Small operations run with the
//! GIL held when the lock is free; anything that may block, or that does public-key or bulk
//! work, runs with the GIL released (waiting for a lock while holding the GIL could
//! deadlock against a thread that needs the GIL to finish).

use std::sync::{Mutex, MutexGuard, PoisonError};

use pyo3::prelude::*;

fn acquire<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means a panic elsewhere; the engine does not panic, and its
    // state is updated transactionally, so the data is still consistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `f` on the locked value; without the GIL when `heavy` or when the lock is busy.
pub fn with<T: Send, R: Send>(
    py: Python<'_>,
    m: &Mutex<T>,
    heavy: bool,
    f: impl FnOnce(&mut T) -> R + Send,
) -> R {
    if !heavy {
        if let Ok(mut guard) = m.try_lock() {
            return f(&mut guard);
        }
    }
    py.allow_threads(|| f(&mut acquire(m)))
}

/// Like [`with`] for two values, always locked in the same order (first, then second).
pub fn with2<A: Send, B: Send, R: Send>(
    py: Python<'_>,
    first: &Mutex<A>,
    second: &Mutex<B>,
    heavy: impl FnOnce(&A, &B) -> bool,
    f: impl FnOnce(&mut A, &mut B) -> R + Send,
) -> R {
    if let Ok(mut a) = first.try_lock() {
        if let Ok(mut b) = second.try_lock() {
            if !heavy(&a, &b) {
                return f(&mut a, &mut b);
            }
        }
    }
    py.allow_threads(|| {
        let mut a = acquire(first);
        let mut b = acquire(second);
        f(&mut a, &mut b)
    })
}

/// A snapshot (clone) of the locked value, for reads and copies.
pub fn read<T: Send + Clone>(py: Python<'_>, m: &Mutex<T>) -> T {
    with(py, m, false, |v| v.clone())
}

/// Reads one field of the locked value.
pub fn peek<T: Send, R: Send>(py: Python<'_>, m: &Mutex<T>, f: impl FnOnce(&T) -> R + Send) -> R {
    with(py, m, false, |v| f(v))
}
