//! Attachment throughput (PROTOCOL.md §8) in CPU time of the measuring thread, so that
//! waiting for a core on a shared machine does not count. Linux only: it reads the thread's
//! on-CPU nanoseconds from `/proc/thread-self/schedstat`.
//!
//! Run with `cargo bench -p wac1 --bench attachment_cpu` (100 MiB, best of 7 per line).
//! Prints, per operation, GB/s of CPU time and of wall time:
//! - the chunk AEAD alone (ring's AES-256-GCM over the 64 KiB chunks, as `wac1` calls it,
//!   without the digest): the figure comparable with `cryptography`'s AESGCM over the same
//!   chunks (see `benches/bench_attachment.py`);
//! - SHA-256 of the blob with ring and with `sha2` (the attachment code uses ring's);
//! - `wac1::attachment::seal_into` and `open_into`: AEAD, digest and copies together.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::hint::black_box;
use std::time::Instant;

use rand_core::{OsRng, RngCore};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use sha2::Digest;
use wac1::attachment::{self, ASSOCIATED_DATA, CHUNK_SIZE, TAG_SIZE};

const SIZE: usize = 100 * 1024 * 1024;
const ROUNDS: usize = 7;

/// On-CPU nanoseconds of this thread so far.
fn thread_cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("Linux schedstat");
    stat.split_whitespace().next().and_then(|n| n.parse().ok()).expect("schedstat field")
}

fn report(name: &str, bytes: usize, mut f: impl FnMut()) {
    let (mut cpu, mut wall) = (u64::MAX, f64::MAX);
    for _ in 0..ROUNDS {
        let (c0, w0) = (thread_cpu_ns(), Instant::now());
        f();
        wall = wall.min(w0.elapsed().as_secs_f64());
        cpu = cpu.min(thread_cpu_ns() - c0);
    }
    let gbs = |s: f64| bytes as f64 / s / 1e9;
    println!("{name:<40} CPU {:>5.2} GB/s  wall {:>5.2} GB/s", gbs(cpu as f64 * 1e-9), gbs(wall));
}

fn nonce(index: usize, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[7..11].copy_from_slice(&u32::try_from(index).unwrap().to_be_bytes());
    n[11] = u8::from(last);
    Nonce::assume_unique_for_key(n)
}

fn main() {
    let mut plaintext = vec![0u8; SIZE];
    OsRng.fill_bytes(&mut plaintext);
    let blob_len = usize::try_from(attachment::blob_size(SIZE as u64).unwrap()).unwrap();
    let mut blob = vec![0u8; blob_len];
    let mut key = [0u8; 32];
    OsRng.fill_bytes(&mut key);
    let cipher = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap());
    let chunks = SIZE / CHUNK_SIZE;

    let mut work = plaintext.clone();
    report("AEAD only, seal (ring, 64 KiB chunks)", SIZE, || {
        for (i, chunk) in work.chunks_mut(CHUNK_SIZE).enumerate() {
            let aad = Aad::from(ASSOCIATED_DATA);
            let _ =
                black_box(cipher.seal_in_place_separate_tag(nonce(i, i + 1 == chunks), aad, chunk).unwrap());
        }
    });
    // Genuine chunks to open: seal once, keep each tag, then time opening in place from a
    // fresh copy (the copy is outside the timing).
    let mut tags = Vec::with_capacity(chunks);
    work.copy_from_slice(&plaintext);
    for (i, chunk) in work.chunks_mut(CHUNK_SIZE).enumerate() {
        let aad = Aad::from(ASSOCIATED_DATA);
        tags.push(cipher.seal_in_place_separate_tag(nonce(i, i + 1 == chunks), aad, chunk).unwrap());
    }
    let sealed = work.clone();
    let (mut cpu, mut wall) = (u64::MAX, f64::MAX);
    for _ in 0..ROUNDS {
        work.copy_from_slice(&sealed);
        let (c0, w0) = (thread_cpu_ns(), Instant::now());
        for (i, chunk) in work.chunks_mut(CHUNK_SIZE).enumerate() {
            let aad = Aad::from(ASSOCIATED_DATA);
            let tag = tags[i];
            cipher.open_in_place_separate_tag(nonce(i, i + 1 == chunks), aad, tag, chunk, 0..).unwrap();
        }
        wall = wall.min(w0.elapsed().as_secs_f64());
        cpu = cpu.min(thread_cpu_ns() - c0);
    }
    assert_eq!(work, plaintext);
    let gbs = |s: f64| SIZE as f64 / s / 1e9;
    println!(
        "{:<40} CPU {:>5.2} GB/s  wall {:>5.2} GB/s",
        "AEAD only, open (ring, 64 KiB chunks)",
        gbs(cpu as f64 * 1e-9),
        gbs(wall)
    );

    report("SHA-256 of the blob (ring)", blob_len, || {
        black_box(ring::digest::digest(&ring::digest::SHA256, &blob));
    });
    report("SHA-256 of the blob (sha2)", blob_len, || {
        black_box(sha2::Sha256::digest(&blob));
    });

    let mut keys = None;
    report("seal_into (AEAD + SHA-256)", SIZE, || {
        keys = Some(attachment::seal_into(&plaintext, &mut blob, &mut OsRng).unwrap());
    });
    let keys = keys.unwrap();
    let mut opened = vec![0u8; SIZE];
    report("open_into (SHA-256 check + AEAD)", SIZE, || {
        attachment::open_into(&blob, &keys.key, &keys.digest, keys.size, &mut opened).unwrap();
    });
    assert_eq!(opened, plaintext);
    assert_eq!(blob.len(), SIZE + chunks * TAG_SIZE);
}
