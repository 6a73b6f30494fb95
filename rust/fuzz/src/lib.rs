//! The harness shared by the fuzz targets of this directory and by the corpus replay test of
//! the core crate (`rust/core/tests/fuzz_corpus.rs` includes this file as a module), so the
//! normal test suite runs exactly what the fuzzer runs.
//!
//! Everything here is deterministic: the fixture is built from a fixed seed, so a corpus file
//! means the same thing on every run and every machine. A broken invariant panics; that is
//! how the fuzzer reports it.

#![allow(dead_code, clippy::panic, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::OnceLock;

pub mod attachment;
mod seeds;
pub mod vault;

pub use seeds::{custom_wire, seed_corpus};

use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use wac1::{
    Account, Decrypted, Error, IdentityKeyPair, Limits, OneTimePreKey, Serialize, SessionRecord,
    SignedPreKey, WireMessage,
};

/// A deterministic random generator: SHA-256 of `seed || counter`. For tests and fuzzing
/// only; it claims `CryptoRng` so that it can drive the engine's key generation.
#[derive(Debug, Clone)]
pub struct DetRng {
    seed: [u8; 8],
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl DetRng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self { seed: seed.to_be_bytes(), counter: 0, block: [0; 32], used: 32 }
    }
}

impl RngCore for DetRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_be_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_be_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for byte in dest {
            if self.used == 32 {
                let mut h = Sha256::new();
                h.update(b"wac1-test-rng");
                h.update(self.seed);
                h.update(self.counter.to_be_bytes());
                self.block = h.finalize().into();
                self.counter += 1;
                self.used = 0;
            }
            *byte = self.block[self.used];
            self.used += 1;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for DetRng {}

/// A message encrypted for Bob, with what it must decrypt to.
#[derive(Debug, Clone)]
pub struct Genuine {
    /// Short name, used for seed corpus file names.
    pub name: &'static str,
    /// The wire string as its sender encoded it.
    pub wire: String,
    /// The parsed message.
    pub message: WireMessage,
    /// The plaintext.
    pub plaintext: Vec<u8>,
}

/// Bob's side of a conversation in a fixed state, and messages for him.
#[derive(Debug)]
pub struct Fixture {
    /// Bob's account (identity, prekeys, limits).
    pub bob: Account,
    /// Bob's record for the peer "alice" (messages from Carol and Dave land in it too and so
    /// look like an identity change).
    pub bob_record: SessionRecord,
    /// Alice's account and her record for Bob, for the serialization seeds.
    pub alice: Account,
    /// Alice's record for Bob.
    pub alice_record: SessionRecord,
    /// Messages Bob has not received yet: each must decrypt exactly once.
    pub pending: Vec<Genuine>,
    /// Messages Bob already decrypted: each must now fail.
    pub delivered: Vec<Genuine>,
}

fn send(record: &mut SessionRecord, name: &'static str, plaintext: &[u8]) -> Genuine {
    let message = record.encrypt(plaintext).unwrap();
    let wire = message.encode();
    Genuine { name, wire, message, plaintext: plaintext.to_vec() }
}

fn build_fixture() -> Fixture {
    let mut rng = DetRng::new(0x5eed);
    let mut alice = Account::generate(&mut rng);
    alice.rotate_signed_prekey(1_700_000_000, &mut rng);
    let mut bob = Account::generate(&mut rng);
    bob.rotate_signed_prekey(1_700_000_000, &mut rng);
    bob.rotate_signed_prekey(1_700_600_000, &mut rng);
    bob.generate_one_time_prekeys(4, &mut rng).unwrap();

    let mut alice_record = SessionRecord::new();
    alice_record.initiate(alice.identity(), &bob.bundle(Some(1)).unwrap(), &mut rng).unwrap();
    let mut bob_record = SessionRecord::new();
    let mut pending = Vec::new();
    let mut delivered = Vec::new();

    // First prekey message: delivered. A second one from the same X3DH: pending.
    let m0 = send(&mut alice_record, "prekey-first", b"{\"type\":\"text\",\"text\":\"hello\"}");
    bob.decrypt(&mut bob_record, &m0.message, &mut rng).unwrap();
    delivered.push(m0);
    pending.push(send(&mut alice_record, "prekey-repeat", b"second, still with x3dh"));

    // Bob answers; Alice now sends plain messages on a new chain.
    let r0 = send(&mut bob_record, "reply", b"hi alice");
    alice.decrypt(&mut alice_record, &r0.message, &mut rng).unwrap();
    let a2 = send(&mut alice_record, "chain-0", b"");
    bob.decrypt(&mut bob_record, &a2.message, &mut rng).unwrap();
    delivered.push(a2);
    pending.push(send(&mut alice_record, "chain-1", b"out of order is fine"));
    pending.push(send(&mut alice_record, "chain-2", &[0u8; 300]));

    // Bob answers again (a new chain on Bob's side), Alice ratchets and sends on a third chain.
    let r1 = send(&mut bob_record, "reply-2", b"second reply");
    alice.decrypt(&mut alice_record, &r1.message, &mut rng).unwrap();
    pending.push(send(&mut alice_record, "next-chain-0", "unicode: \u{00e9}\u{1f600}".as_bytes()));

    // Another install ("carol") with a one-time prekey, and "dave" without one: new X3DHs
    // whose identity differs from the one Bob knows.
    let carol = IdentityKeyPair::generate(&mut rng);
    let mut carol_record = SessionRecord::new();
    carol_record.initiate(&carol, &bob.bundle(Some(2)).unwrap(), &mut rng).unwrap();
    pending.push(send(&mut carol_record, "other-identity-opk", b"carol"));
    let dave = IdentityKeyPair::generate(&mut rng);
    let mut dave_record = SessionRecord::new();
    dave_record.initiate(&dave, &bob.bundle(None).unwrap(), &mut rng).unwrap();
    pending.push(send(&mut dave_record, "other-identity-no-opk", b"dave"));

    Fixture { bob, bob_record, alice, alice_record, pending, delivered }
}

/// The fixture, built once per process.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build_fixture)
}

/// What one input did.
#[derive(Debug)]
pub enum Outcome {
    /// The input was not a wire message (refused by the parser or not UTF-8).
    Unparsed,
    /// It parsed, and decryption refused it with this error (state unchanged: checked).
    Refused(Error),
    /// It decrypted (it is a genuine pending message: checked).
    Decrypted(Decrypted),
}

/// Fuzz target `decrypt`. An input starting with `E` is a wire string as is. Otherwise the
/// first byte picks a kind of mutation, the second a fixture message, and the rest are
/// 3-byte edits `(position hi, position lo, value)`:
/// - first byte even: edits of the wire string's bytes (value 0 deletes the byte, any other
///   value is XORed in);
/// - first byte odd: edits of the message's fields as bytes, below the text encoding
///   (header `dh || pn || n`, then `ik || sk || ek || spk_id || opk_id` if present, then the
///   ciphertext), each value XORed in.
pub fn decrypt_input(data: &[u8]) -> Outcome {
    let fx = fixture();
    match data.first() {
        None => Outcome::Unparsed,
        Some(b'E') => match std::str::from_utf8(data) {
            Ok(text) => decrypt_text(fx, text),
            Err(_) => Outcome::Unparsed,
        },
        Some(&mode) => {
            let all: Vec<&Genuine> = fx.pending.iter().chain(fx.delivered.iter()).collect();
            let pick = data.get(1).map_or(0, |b| usize::from(*b) % all.len());
            let base = all[pick];
            let edits = data.get(2..).unwrap_or_default();
            if mode % 2 == 0 {
                let mut bytes = base.wire.clone().into_bytes();
                for edit in edits.chunks_exact(3) {
                    if bytes.is_empty() {
                        break;
                    }
                    let pos = usize::from(u16::from_be_bytes([edit[0], edit[1]])) % bytes.len();
                    if edit[2] == 0 {
                        bytes.remove(pos);
                    } else {
                        bytes[pos] ^= edit[2];
                    }
                }
                match String::from_utf8(bytes) {
                    Ok(text) => decrypt_text(fx, &text),
                    Err(_) => Outcome::Unparsed,
                }
            } else {
                let message = mutate_fields(&base.message, edits);
                decrypt_message(fx, &message)
            }
        }
    }
}

fn mutate_fields(original: &WireMessage, edits: &[u8]) -> WireMessage {
    let mut m = original.clone();
    let mut fields = m.header.to_bytes().to_vec();
    if let Some(x) = &m.x3dh {
        fields.extend_from_slice(&x.ik);
        fields.extend_from_slice(&x.sk);
        fields.extend_from_slice(&x.ek);
        fields.extend_from_slice(&x.spk_id.to_be_bytes());
        fields.extend_from_slice(&x.opk_id.unwrap_or(0).to_be_bytes());
    }
    let fixed = fields.len();
    fields.extend_from_slice(&m.ciphertext);
    for edit in edits.chunks_exact(3) {
        let pos = usize::from(u16::from_be_bytes([edit[0], edit[1]])) % fields.len();
        fields[pos] ^= edit[2];
    }
    let mut at = 0usize;
    let mut take = |n: usize| {
        let s = &fields[at..at + n];
        at += n;
        s.to_vec()
    };
    m.header.dh = take(32).try_into().unwrap();
    m.header.pn = u32::from_be_bytes(take(4).try_into().unwrap());
    m.header.n = u32::from_be_bytes(take(4).try_into().unwrap());
    if let Some(x) = &mut m.x3dh {
        x.ik = take(32).try_into().unwrap();
        x.sk = take(32).try_into().unwrap();
        x.ek = take(32).try_into().unwrap();
        x.spk_id = u32::from_be_bytes(take(4).try_into().unwrap());
        let opk = u32::from_be_bytes(take(4).try_into().unwrap());
        x.opk_id = x.opk_id.map(|_| opk);
    }
    debug_assert_eq!(at, fixed);
    m.ciphertext = fields[fixed..].to_vec();
    m
}

fn decrypt_text(fx: &Fixture, text: &str) -> Outcome {
    let Ok(message) = WireMessage::parse(text) else {
        return Outcome::Unparsed;
    };
    // What parses re-encodes to something that parses to the same message.
    assert_eq!(WireMessage::parse(&message.encode()).as_ref(), Ok(&message), "encode/parse round trip");
    decrypt_message(fx, &message)
}

/// Decrypts `message` into copies of Bob's state and checks the engine's promises:
/// a failure changes nothing; a success is a genuine pending message, decrypted to its
/// plaintext, and a second try fails.
pub fn decrypt_message(fx: &Fixture, message: &WireMessage) -> Outcome {
    let mut bob = fx.bob.clone();
    let mut record = fx.bob_record.clone();
    let (account_before, record_before) = (bob.to_bytes(), record.to_bytes());
    let mut rng = DetRng::new(7);
    match bob.decrypt(&mut record, message, &mut rng) {
        Err(e) => {
            assert_eq!(*bob.to_bytes(), *account_before, "failed decrypt changed the account: {e:?}");
            assert_eq!(*record.to_bytes(), *record_before, "failed decrypt changed the record: {e:?}");
            assert_eq!(bob, fx.bob);
            assert_eq!(record, fx.bob_record);
            Outcome::Refused(e)
        }
        Ok(done) => {
            let genuine = fx
                .pending
                .iter()
                .find(|g| g.message.header == message.header && g.message.ciphertext == message.ciphertext)
                .unwrap_or_else(|| {
                    panic!("a message that is not a genuine pending one decrypted: {message:?}")
                });
            assert_eq!(done.plaintext, genuine.plaintext, "wrong plaintext for {}", genuine.name);
            // The X3DH keys that the key agreement authenticates must be the genuine ones.
            // (`sk`, and the prekey ids of a message for an existing session, are not
            // covered by any MAC in the protocol; see docs/fuzzing.md.)
            if let (Some(got), Some(want)) = (&message.x3dh, &genuine.message.x3dh) {
                assert_eq!((got.ik, got.ek), (want.ik, want.ek));
            }
            let (account_after, record_after) = (bob.to_bytes(), record.to_bytes());
            let again = bob.decrypt(&mut record, message, &mut rng);
            assert!(again.is_err(), "a message decrypted twice: {}", genuine.name);
            assert_eq!(*bob.to_bytes(), *account_after, "failed replay changed the account");
            assert_eq!(*record.to_bytes(), *record_after, "failed replay changed the record");
            Outcome::Decrypted(done)
        }
    }
}

/// Fuzz target `from_bytes`: the input as every serialized object. Whatever parses must
/// re-serialize to bytes that parse to an equal object, and must be usable without panics.
/// Returns how many of the object kinds accepted the input (at most one: the kind byte).
pub fn from_bytes_input(data: &[u8]) -> usize {
    let fx = fixture();
    let mut accepted = 0;
    if let Some(v) = round_trip::<IdentityKeyPair>(data) {
        accepted += 1;
        let _ = v.public();
    }
    if let Some(v) = round_trip::<SignedPreKey>(data) {
        accepted += 1;
        let _ = wac1::verify_signed_prekey(
            &fx.bob.identity().public().signing_key,
            v.id,
            v.pair.public(),
            &v.signature,
        );
    }
    if round_trip::<OneTimePreKey>(data).is_some() {
        accepted += 1;
    }
    if let Some(mut record) = round_trip::<SessionRecord>(data) {
        accepted += 1;
        // A restored record must survive use: decrypt one fixture message, then encrypt.
        let pick = data.last().map_or(0, |b| usize::from(*b) % fx.pending.len());
        let before = record.to_bytes();
        let mut rng = DetRng::new(11);
        if record.decrypt(&fx.bob, &fx.pending[pick].message, &Limits::default(), &mut rng).is_err() {
            assert_eq!(*record.to_bytes(), *before, "failed decrypt changed a restored record");
        }
        let _ = record.encrypt(b"after restore");
        let _ = record.to_bytes();
    }
    if let Some(mut account) = round_trip::<Account>(data) {
        accepted += 1;
        let _ = account.bundle(None);
        let _ = account.bundle(account.one_time_prekeys().next().map(|k| k.id));
        let pick = data.last().map_or(0, |b| usize::from(*b) % fx.pending.len());
        let mut record = fx.bob_record.clone();
        let before = (account.to_bytes(), record.to_bytes());
        let mut rng = DetRng::new(13);
        if account.decrypt(&mut record, &fx.pending[pick].message, &mut rng).is_err() {
            assert_eq!((account.to_bytes(), record.to_bytes()), before, "failed decrypt changed state");
        }
        let _ = account.generate_one_time_prekeys(1, &mut rng);
    }
    assert!(accepted <= 1, "one input parsed as {accepted} kinds");
    accepted
}

fn round_trip<T: Serialize + PartialEq + core::fmt::Debug>(data: &[u8]) -> Option<T> {
    let value = T::from_bytes(data).ok()?;
    let bytes = value.to_bytes();
    let again = T::from_bytes(&bytes).expect("re-serialized bytes must parse");
    assert_eq!(again, value, "round trip changed the object");
    assert_eq!(*again.to_bytes(), *bytes, "serialization is not stable");
    Some(value)
}
