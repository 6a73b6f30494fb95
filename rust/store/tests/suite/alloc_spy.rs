//! Issue 10 item 4: growing serialization buffers leave no copy of a secret in freed memory.
//!
//! An allocator spy wraps the system allocator of this test binary: while armed, every block
//! freed is scanned for a planted secret pattern before it is released. A buffer that grows
//! by reallocating frees its old block unwiped, and the spy sees the pattern there.

// A global allocator is `unsafe` by nature (it hands out raw memory); this module is the only
// unsafe code of the store's tests, it only forwards to `System` and reads blocks the caller
// is freeing, and the store library itself stays `#![forbid(unsafe_code)]`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use zeroize::Zeroizing;

use crate::common::*;
use wac1_store::codec::Enc;
use wac1_store::Store;

/// 32 bytes that appear nowhere else: the "key" planted in the records.
const SECRET: [u8; 32] = *b"\xA7planted-secret-for-alloc-spy!\x5C\xE1";

static ARMED: AtomicUsize = AtomicUsize::new(0);
static LEAKED: AtomicBool = AtomicBool::new(false);
/// One armed test at a time (the verdict is process-wide).
static SERIAL: Mutex<()> = Mutex::new(());

struct Spy;

fn holds_secret(block: &[u8]) -> bool {
    block.len() >= SECRET.len() && block.windows(SECRET.len()).any(|w| w == SECRET)
}

unsafe impl GlobalAlloc for Spy {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::SeqCst) > 0 && !ptr.is_null() {
            // SAFETY: `ptr` is a live block of `layout.size()` bytes that the caller is freeing.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if holds_secret(block) {
                LEAKED.store(true, Ordering::SeqCst);
            }
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static SPY: Spy = Spy;

/// Runs `f` with the spy armed; whether a freed block held the secret.
fn leaks(f: impl FnOnce()) -> bool {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    LEAKED.store(false, Ordering::SeqCst);
    ARMED.fetch_add(1, Ordering::SeqCst);
    f();
    ARMED.fetch_sub(1, Ordering::SeqCst);
    LEAKED.load(Ordering::SeqCst)
}

/// A wiping buffer of `len` bytes that ends with the secret.
fn secret_value(len: usize) -> Zeroizing<Vec<u8>> {
    let mut v = Zeroizing::new(vec![0x11u8; len]);
    let start = len - SECRET.len();
    v[start..].copy_from_slice(&SECRET);
    v
}

#[test]
fn the_spy_sees_an_unwiped_vec_growth() {
    // The spy itself works: a plain Vec that grows frees its old block unwiped.
    assert!(leaks(|| {
        let mut v: Vec<u8> = Vec::with_capacity(40);
        v.extend_from_slice(&SECRET);
        v.extend_from_slice(&[0u8; 4096]);
        let mut v = Zeroizing::new(v);
        v.push(1);
    }));
}

#[test]
fn a_growing_enc_leaves_no_secret_behind() {
    let secret = secret_value(64);
    assert!(!leaks(|| {
        let mut e = Enc::new(1);
        e.bytes(&secret);
        for _ in 0..64 {
            e.bytes(&[0x22u8; 100]);
        }
        drop(e.finish());
    }));
}

#[test]
fn an_account_export_leaves_no_secret_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = new_store(&dir(&tmp, "me"));
    let value = secret_value(3000);
    s.kv_set("a-key", &value).unwrap();
    for i in 0..20 {
        s.kv_set(&format!("k{i}"), &[0x33u8; 500]).unwrap();
    }
    let mut doc = String::new();
    assert!(!leaks(|| {
        doc = s.export_account("backup pass").unwrap();
        let back: Store =
            Store::import_account(dir(&tmp, "copy"), "pw", &doc, "backup pass", opts()).unwrap();
        assert_eq!(back.kv_get("a-key").unwrap().unwrap().as_slice(), value.as_slice());
        drop(back);
    }));
}
