//! Proves that no planted secret survives in memory handed back to the allocator
//! (issue 10, item 4): growing serialization buffers, the signed-prekey list and the
//! AES-GCM key schedule must all be wiped before they are freed.
//!
//! This is its own test binary, not a module of `tests/suite`: a `#[global_allocator]`
//! replaces the allocator of every test in its binary, and scanning each freed block would
//! slow the whole suite and make its verdict depend on what other tests run alongside.

// `GlobalAlloc` is an unsafe trait and scanning a freed block reads raw memory: the
// workspace forbids unsafe code, and this test binary is the one allowed exception.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use rand_core::OsRng;
use wac1::{Account, IdentityKeyPair, KeyPair, Serialize, SignedPreKey};
use zeroize::Zeroizing;

mod attachment;
mod collections;

/// Patterns planted as secrets: distinct, non-trivial, and not produced by anything else.
pub const SECRETS: [[u8; 32]; 3] = [pattern(0x3d), pattern(0x71), pattern(0xa9)];

const fn pattern(seed: u8) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = seed.wrapping_mul(i as u8 + 1).wrapping_add(0x5a) ^ (i as u8).rotate_left(3);
        i += 1;
    }
    out
}

/// Secrets only known at run time (derived keys), planted with [`plant`]; the allocator
/// cannot allocate or lock, so they live in fixed atomic slots.
static PLANTED: [[AtomicU64; 4]; MAX_PLANTED] = [const { [const { AtomicU64::new(0) }; 4] }; MAX_PLANTED];
static PLANTED_COUNT: AtomicUsize = AtomicUsize::new(0);
const MAX_PLANTED: usize = 64;

/// Adds a run-time secret to what the spy looks for (until the next armed run).
pub fn plant(secret: &[u8; 32]) {
    let slot = PLANTED_COUNT.fetch_add(1, Ordering::SeqCst);
    assert!(slot < MAX_PLANTED, "too many planted secrets");
    for (word, bytes) in PLANTED[slot].iter().zip(secret.chunks_exact(8)) {
        word.store(u64::from_le_bytes(bytes.try_into().unwrap()), Ordering::SeqCst);
    }
}

static ARMED: AtomicBool = AtomicBool::new(false);
static HITS: AtomicUsize = AtomicUsize::new(0);
/// Tests of this binary run one at a time: the spy's counters are global.
static SERIAL: Mutex<()> = Mutex::new(());

struct Spy;

fn holds_secret(block: &[u8]) -> bool {
    let mut planted = [[0u8; 32]; MAX_PLANTED];
    let n = PLANTED_COUNT.load(Ordering::SeqCst).min(MAX_PLANTED);
    for (out, words) in planted.iter_mut().zip(PLANTED.iter()).take(n) {
        for (chunk, word) in out.chunks_exact_mut(8).zip(words.iter()) {
            chunk.copy_from_slice(&word.load(Ordering::SeqCst).to_le_bytes());
        }
    }
    let planted = &planted[..n];
    block.windows(32).any(|w| SECRETS.iter().chain(planted).any(|s| w == s))
}

// SAFETY: every call forwards to `System` with the caller's layout; the scan only reads
// the block being freed, which is still allocated and `layout.size()` bytes long.
unsafe impl GlobalAlloc for Spy {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::SeqCst) {
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if holds_secret(block) {
                HITS.fetch_add(1, Ordering::SeqCst);
            }
        }
        unsafe { System.dealloc(ptr, layout) }
    }
    // `System.realloc` would free the old block without the scan: move by hand instead.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[global_allocator]
static GLOBAL: Spy = Spy;

/// Runs `f` with the spy armed and returns how many freed blocks held a planted secret.
/// `f` may [`plant`] run-time secrets; they are forgotten afterwards.
pub fn freed_blocks_with_secrets(f: impl FnOnce()) -> usize {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    PLANTED_COUNT.store(0, Ordering::SeqCst);
    HITS.store(0, Ordering::SeqCst);
    ARMED.store(true, Ordering::SeqCst);
    f();
    ARMED.store(false, Ordering::SeqCst);
    PLANTED_COUNT.store(0, Ordering::SeqCst);
    HITS.load(Ordering::SeqCst)
}

fn planted_account() -> Account {
    let identity = IdentityKeyPair::from_secret_bytes(Zeroizing::new(SECRETS[0]), Zeroizing::new(SECRETS[1]));
    Account::from_identity(identity)
}

#[test]
fn the_spy_sees_an_unwiped_secret() {
    // The control: a plain Vec holding a secret is freed unwiped, and the spy says so.
    let hits = freed_blocks_with_secrets(|| {
        let v = std::hint::black_box(SECRETS[2].to_vec());
        drop(v);
    });
    assert_eq!(hits, 1);
}

#[test]
fn serializing_a_large_account_frees_no_copy_of_its_keys() {
    let hits = freed_blocks_with_secrets(|| {
        let mut account = planted_account();
        account.generate_one_time_prekeys(300, &mut OsRng).unwrap();
        // Far beyond the writer's first allocation, so its buffer grows several times.
        let bytes = account.to_bytes();
        assert!(bytes.len() > 10_000);
        let back = Account::from_bytes(&bytes).unwrap();
        assert_eq!(back, account);
    });
    assert_eq!(hits, 0, "a freed block still held a planted key");
}

#[test]
fn rotating_signed_prekeys_frees_no_copy_of_an_old_one() {
    let hits = freed_blocks_with_secrets(|| {
        let mut account = Account::generate(&mut OsRng);
        let identity =
            IdentityKeyPair::from_secret_bytes(Zeroizing::new([7u8; 32]), Zeroizing::new([8u8; 32]));
        let pair = KeyPair::from_secret_bytes(Zeroizing::new(SECRETS[2]));
        let signature = identity.sign_prekey(1, pair.public());
        account.add_signed_prekey(SignedPreKey { id: 1, pair, signature, created_at: 0 });
        // The list grows past several capacities, then expiry drops the planted key.
        for now in 1..40 {
            account.rotate_signed_prekey(now, &mut OsRng);
        }
        account.expire_signed_prekeys(20);
        drop(account);
    });
    assert_eq!(hits, 0, "a freed block still held a planted signed prekey");
}
