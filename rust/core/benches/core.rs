//! Criterion benchmarks of the WAC1 engine: the same operations as the Python benchmarks in
//! `benches/bench_core.py`, without the bindings, plus the primitives they are made of.
//!
//! Run with `CARGO_TARGET_DIR=/work/target-bench cargo bench -p wac1 --bench core`.
//!
//! Every timed closure also checks its result (the decrypted plaintext equals the original),
//! so a benchmark can never report the speed of an operation that silently failed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use curve25519_dalek::montgomery::MontgomeryPoint;
use rand_core::{OsRng, RngCore};
use wac1::keys::PreparedPublic;
use wac1::{aead, kdf, verify_signed_prekey, Account, KeyPair, PreKeyBundle, SessionRecord, WireMessage};

/// The 100-byte message of operations (a), (b) and (e).
const MESSAGE_100: &[u8; 100] =
    b"{\"type\":\"text\",\"text\":\"The quick brown fox jumps over the lazy dog. Pack my box with five dozen jo\"}";

/// Messages in the batch of operation (e).
const BATCH: usize = 1000;

/// One side of a conversation: its account and its session record with the peer.
struct Side {
    account: Account,
    record: SessionRecord,
}

/// Alice and Bob with an established session: Alice has started it, Bob has accepted her
/// prekey message and replied, and Alice has decrypted the reply, so neither side sends
/// X3DH fields any more and both can send.
fn established() -> (Side, Side) {
    let alice = Account::generate(&mut OsRng);
    let mut bob = Account::generate(&mut OsRng);
    bob.rotate_signed_prekey(0, &mut OsRng);
    let opk = bob.generate_one_time_prekeys(1, &mut OsRng).unwrap()[0].id;
    let bundle = bob.bundle(Some(opk)).unwrap();

    let mut alice = Side { account: alice, record: SessionRecord::new() };
    let mut bob = Side { account: bob, record: SessionRecord::new() };
    alice.record.initiate(alice.account.identity(), &bundle, &mut OsRng).unwrap();
    send(&mut alice, &mut bob, b"hello");
    send(&mut bob, &mut alice, b"hi");
    send(&mut alice, &mut bob, b"how are you");
    (alice, bob)
}

/// Encrypts on `from`, encodes to the wire string, parses it and decrypts on `to`.
fn send(from: &mut Side, to: &mut Side, plaintext: &[u8]) {
    let wire = from.record.encrypt(plaintext).unwrap().encode();
    let message = WireMessage::parse(&wire).unwrap();
    let got = to.account.decrypt(&mut to.record, &message, &mut OsRng).unwrap();
    assert_eq!(got.plaintext, plaintext);
}

/// Bob's published keys and Alice's account, made fresh for each establishment.
fn fresh_pair() -> (Account, Account, PreKeyBundle) {
    let alice = Account::generate(&mut OsRng);
    let mut bob = Account::generate(&mut OsRng);
    bob.rotate_signed_prekey(0, &mut OsRng);
    let opk = bob.generate_one_time_prekeys(1, &mut OsRng).unwrap()[0].id;
    let bundle = bob.bundle(Some(opk)).unwrap();
    (alice, bob, bundle)
}

/// (a) encrypt + decrypt of a 100-byte message on an established session, through the wire string.
fn bench_message(c: &mut Criterion) {
    let mut group = c.benchmark_group("a_message_100B");
    group.throughput(Throughput::Elements(1));
    let (mut alice, mut bob) = established();
    group.bench_function("wac1/wire", |b| b.iter(|| send(&mut alice, &mut bob, black_box(MESSAGE_100))));

    // The same without the wire string: the engine's own work only.
    let (mut alice, mut bob) = established();
    group.bench_function("wac1/engine", |b| {
        b.iter(|| {
            let message = alice.record.encrypt(black_box(MESSAGE_100)).unwrap();
            let got = bob.account.decrypt(&mut bob.record, &message, &mut OsRng).unwrap();
            assert_eq!(got.plaintext, MESSAGE_100);
        })
    });
    group.finish();
}

/// (b) reply in turn: every message carries a new ratchet key, so every decrypt is a DH
/// ratchet step. One iteration is one message (the sides alternate).
fn bench_reply_in_turn(c: &mut Criterion) {
    let mut group = c.benchmark_group("b_reply_in_turn");
    group.throughput(Throughput::Elements(1));
    let (mut alice, mut bob) = established();
    let mut turn = false;
    group.bench_function("wac1/wire", |b| {
        b.iter(|| {
            if turn {
                send(&mut alice, &mut bob, black_box(MESSAGE_100));
            } else {
                send(&mut bob, &mut alice, black_box(MESSAGE_100));
            }
            turn = !turn;
        })
    });
    group.finish();
}

/// (c) session establishment: bundle check + X3DH + first message, and the responder
/// accepting it (X3DH responder side + first decrypt, which is a DH ratchet step).
fn bench_establish(c: &mut Criterion) {
    let mut group = c.benchmark_group("c_establish");
    group.throughput(Throughput::Elements(1));
    group.bench_function("wac1/wire", |b| {
        b.iter_batched(
            fresh_pair,
            |(alice, mut bob, bundle)| {
                let mut to_bob = SessionRecord::new();
                to_bob.initiate(alice.identity(), &bundle, &mut OsRng).unwrap();
                let wire = to_bob.encrypt(MESSAGE_100).unwrap().encode();
                let mut from_alice = SessionRecord::new();
                let message = WireMessage::parse(&wire).unwrap();
                let got = bob.decrypt(&mut from_alice, &message, &mut OsRng).unwrap();
                assert_eq!(got.plaintext, MESSAGE_100);
                assert!(got.new_session);
                (to_bob, from_alice, bob)
            },
            BatchSize::SmallInput,
        )
    });
    // The initiator's half alone (bundle check + X3DH + first message), as vodozemac's
    // "new outbound session" figure is usually quoted.
    group.bench_function("wac1/initiator_only", |b| {
        b.iter_batched(
            fresh_pair,
            |(alice, _bob, bundle)| {
                let mut to_bob = SessionRecord::new();
                to_bob.initiate(alice.identity(), &bundle, &mut OsRng).unwrap();
                let wire = to_bob.encrypt(MESSAGE_100).unwrap().encode();
                (to_bob, wire)
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// (d) encrypt + decrypt of a 1 MiB message, through the wire string.
fn bench_large(c: &mut Criterion) {
    let mut group = c.benchmark_group("d_message_1MiB");
    group.throughput(Throughput::Bytes(1 << 20));
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(8));
    let big: Vec<u8> = (0..1usize << 20).map(|i| (i % 251) as u8).collect();
    let (mut alice, mut bob) = established();
    group.bench_function("wac1/wire", |b| b.iter(|| send(&mut alice, &mut bob, black_box(&big))));
    let (mut alice, mut bob) = established();
    group.bench_function("wac1/engine", |b| {
        b.iter(|| {
            let message = alice.record.encrypt(black_box(&big)).unwrap();
            let got = bob.account.decrypt(&mut bob.record, &message, &mut OsRng).unwrap();
            assert!(got.plaintext == big);
        })
    });
    group.finish();
}

/// (e) 1,000 messages: `encrypt_many`, then every wire string decrypted by the receiver.
fn bench_batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("e_batch_1000");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(30);
    let batch: Vec<Vec<u8>> = (0..BATCH)
        .map(|i| {
            let mut m = MESSAGE_100.to_vec();
            m[..4].copy_from_slice(&(i as u32).to_be_bytes());
            m
        })
        .collect();
    let (mut alice, mut bob) = established();
    group.bench_function("wac1/wire", |b| {
        b.iter(|| {
            let wires: Vec<String> = alice
                .record
                .encrypt_many(black_box(&batch))
                .unwrap()
                .iter()
                .map(WireMessage::encode)
                .collect();
            for (wire, expected) in wires.iter().zip(&batch) {
                let message = WireMessage::parse(wire).unwrap();
                let got = bob.account.decrypt(&mut bob.record, &message, &mut OsRng).unwrap();
                assert!(&got.plaintext == expected);
            }
        })
    });
    group.finish();
}

/// The building blocks, to see where the time of the operations above goes.
fn bench_primitives(c: &mut Criterion) {
    let mut group = c.benchmark_group("primitives");
    let ours = KeyPair::generate(&mut OsRng);
    let theirs = *KeyPair::generate(&mut OsRng).public();
    group.bench_function("x25519_keygen", |b| b.iter(|| KeyPair::generate(&mut OsRng)));
    group.bench_function("x25519_dh", |b| b.iter(|| ours.dh(black_box(&theirs)).unwrap()));
    // The same split in two: the peer key to the Edwards form once, then the agreement.
    group.bench_function("x25519_prepare_public", |b| b.iter(|| PreparedPublic::new(black_box(&theirs))));
    let prepared = PreparedPublic::new(&theirs);
    // The plain Montgomery ladder of x25519-dalek, for comparison with the Edwards route.
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let ladder_secret = x25519_dalek::StaticSecret::from(seed);
    let ladder_public = x25519_dalek::PublicKey::from(theirs);
    group.bench_function("x25519_dh_ladder", |b| {
        b.iter(|| ladder_secret.diffie_hellman(black_box(&ladder_public)))
    });
    // What the responder checks on `x3dh.ek` (session.rs, check_canonical_prime_order).
    group.bench_function("x3dh_ek_canonical_prime_order_check", |b| {
        b.iter(|| {
            let point = MontgomeryPoint(*black_box(&theirs)).to_edwards(0).unwrap();
            assert!(point.to_montgomery().to_bytes() == theirs);
            assert!(!point.is_small_order() && point.is_torsion_free());
        })
    });
    let point = MontgomeryPoint(theirs).to_edwards(0).unwrap();
    group.bench_function("edwards_is_torsion_free", |b| b.iter(|| black_box(&point).is_torsion_free()));
    group.bench_function("edwards_to_montgomery", |b| b.iter(|| black_box(&point).to_montgomery()));
    group
        .bench_function("x25519_dh_prepared", |b| b.iter(|| ours.dh_prepared(black_box(&prepared)).unwrap()));

    let mut bob = Account::generate(&mut OsRng);
    let spk = bob.rotate_signed_prekey(0, &mut OsRng).clone();
    let signing_key = bob.identity().public().signing_key;
    group.bench_function("ed25519_verify_spk", |b| {
        b.iter(|| {
            verify_signed_prekey(&signing_key, spk.id, spk.pair.public(), black_box(&spk.signature)).unwrap()
        })
    });

    let ck = [7u8; 32];
    group.bench_function("kdf_ck", |b| b.iter(|| kdf::kdf_ck(black_box(&ck))));
    group.bench_function("kdf_rk", |b| b.iter(|| kdf::kdf_rk(black_box(&ck), black_box(&ck))));
    group.bench_function("message_keys", |b| b.iter(|| kdf::message_keys(black_box(&ck))));
    let ad = [1u8; 104];
    group.bench_function("aead_encrypt_100B", |b| {
        b.iter(|| aead::encrypt(&ck, black_box(MESSAGE_100), &ad).unwrap())
    });
    let sealed = aead::encrypt(&ck, MESSAGE_100, &ad).unwrap();
    group.bench_function("aead_decrypt_100B", |b| {
        b.iter(|| aead::decrypt(&ck, black_box(&sealed), &ad).unwrap())
    });

    let (mut alice, _bob) = established();
    let wire = alice.record.encrypt(MESSAGE_100).unwrap();
    let text = wire.encode();
    group.bench_function("wire_encode_100B", |b| b.iter(|| black_box(&wire).encode()));
    group.bench_function("wire_parse_100B", |b| b.iter(|| WireMessage::parse(black_box(&text)).unwrap()));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = bench_message, bench_reply_in_turn, bench_establish, bench_large, bench_batch, bench_primitives
}
criterion_main!(benches);
