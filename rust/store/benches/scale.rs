//! Figures of the store without Python around it: open time and memory with 100,000
//! sessions, and persisted encrypt rates. `cargo bench -p wac1-store --bench scale`
//! (`WAC1_SCALE_SESSIONS` changes the number of sessions). Memory is read from
//! /proc/self/status, so it prints `-` elsewhere than Linux.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::Instant;

use rand_core::{OsRng, RngCore};
use wac1::Account;
use wac1_store::{Durability, Store, StoreOptions};

fn status_mib(field: &str) -> String {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<f64>().ok())
        .map_or_else(|| "-".to_owned(), |kib| format!("{:.1} MiB", kib / 1024.0))
}

fn main() {
    let sessions: usize =
        std::env::var("WAC1_SCALE_SESSIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let tmp = std::env::temp_dir().join(format!("wac1-store-scale-{}", std::process::id()));
    let dir = tmp.join("account");
    let fast = StoreOptions { durability: Durability::Fast, ..Default::default() };
    let full = StoreOptions::default();
    let message = [b'm'; 100];
    println!("process start: rss {}", status_mib("VmRSS"));

    {
        let mut store = Store::open(&dir, "scale password", fast.clone()).unwrap();
        store.create_identity().unwrap();
        let mut bob = Account::generate(&mut OsRng);
        bob.rotate_signed_prekey(0, &mut OsRng);
        store.start_session("bob", &bob.bundle(None).unwrap()).unwrap();

        let n = 20_000;
        let t = Instant::now();
        for _ in 0..n {
            store.encrypt("bob", &message, None).unwrap();
        }
        println!("encrypt, commit per message, fast: {:.0}/s", n as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        for i in 0..n {
            store.encrypt("bob", &message, Some(&format!("id-{i}"))).unwrap();
        }
        println!(
            "encrypt with message id, commit per message, fast: {:.0}/s",
            n as f64 / t.elapsed().as_secs_f64()
        );
        let t = Instant::now();
        store.bench_clone_sessions("bob", "peer-", sessions).unwrap();
        println!("wrote {sessions} sessions in {:.2} s", t.elapsed().as_secs_f64());
    }
    {
        let mut store = Store::open(&dir, "scale password", full.clone()).unwrap();
        let batch = vec![message; 1000];
        let rounds = 50;
        let t = Instant::now();
        for _ in 0..rounds {
            store.encrypt_many("bob", &batch, None).unwrap();
        }
        println!(
            "encrypt_many of 1,000, one commit, full: {:.0} messages/s",
            (rounds * batch.len()) as f64 / t.elapsed().as_secs_f64()
        );
        let n = 300;
        let t = Instant::now();
        for _ in 0..n {
            store.encrypt("bob", &message, None).unwrap();
        }
        println!("encrypt, commit per message, full: {:.0}/s", n as f64 / t.elapsed().as_secs_f64());
    }

    let mut opens = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let store = Store::open(&dir, "scale password", fast.clone()).unwrap();
        opens.push(t.elapsed().as_secs_f64());
        drop(store);
    }
    println!("open with {sessions} sessions (Argon2id 64 MiB, 3 passes): {opens:.3?} s");
    let mut store = Store::open(&dir, "scale password", fast).unwrap();
    println!("after open: rss {}", status_mib("VmRSS"));
    let n = 50_000;
    let t = Instant::now();
    for _ in 0..n {
        let peer = format!("peer-{}", OsRng.next_u32() as usize % sessions);
        store.encrypt(&peer, &message, None).unwrap();
    }
    println!(
        "encrypt to random peers, fast: {:.0}/s; cached sessions {}; rss {}",
        n as f64 / t.elapsed().as_secs_f64(),
        store.cached_sessions(),
        status_mib("VmRSS")
    );
    println!("peak rss of the process: {}", status_mib("VmHWM"));
    store.wipe().unwrap();
    let _ = std::fs::remove_dir_all(&tmp);
}
