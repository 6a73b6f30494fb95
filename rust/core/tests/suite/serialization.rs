//! Round trips of every stateful object through `wac1::Serialize`, and corrupted or
//! truncated bytes: always an error or an equal object, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::harness;

use harness::DetRng;
use proptest::prelude::*;
use wac1::{
    Account, IdentityKeyPair, KeyPair, Limits, OneTimePreKey, Serialize, SessionRecord, SignedPreKey,
};
use zeroize::Zeroizing;

/// Serializes, parses back, and checks equality and stable bytes.
fn round_trip<T: Serialize + PartialEq + core::fmt::Debug>(value: &T) -> Vec<u8> {
    let bytes = value.to_bytes();
    let back = T::from_bytes(&bytes).unwrap();
    assert_eq!(&back, value);
    assert_eq!(*back.to_bytes(), *bytes);
    bytes.to_vec()
}

/// Every strict prefix and every one-byte extension is refused; no parser panics on them.
fn truncations_and_extensions_fail<T: Serialize + core::fmt::Debug>(bytes: &[u8]) {
    for len in 0..bytes.len() {
        assert!(T::from_bytes(&bytes[..len]).is_err(), "prefix of {len} of {} bytes parsed", bytes.len());
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert_eq!(T::from_bytes(&longer).unwrap_err().code(), "corrupt_state");
    // Wrong kind byte, unknown version.
    for (pos, value) in [(0usize, 0u8), (0, 99), (1, 0), (1, 2), (1, 255)] {
        let mut bad = bytes.to_vec();
        bad[pos] = value;
        assert!(T::from_bytes(&bad).is_err(), "byte {pos} = {value} parsed");
    }
}

/// An arbitrary change of bytes either fails or gives an object that round-trips.
fn corruption_is_an_error_or_a_valid_object<T: Serialize + PartialEq + core::fmt::Debug>(
    bytes: &[u8],
    edits: &[(usize, u8)],
) {
    let mut bad = bytes.to_vec();
    for (pos, xor) in edits {
        let i = pos % bad.len();
        bad[i] ^= xor;
    }
    if let Ok(v) = T::from_bytes(&bad) {
        round_trip(&v);
    }
}

/// An account after `rotations` signed prekey rotations and some one-time prekeys, some used.
fn account(seed: u64, rotations: u8, one_time: usize, removed: usize, limits: Limits) -> Account {
    let mut rng = DetRng::new(seed);
    let mut a = Account::generate(&mut rng);
    for i in 0..rotations {
        a.rotate_signed_prekey(1_000 * u64::from(i), &mut rng);
    }
    a.generate_one_time_prekeys(one_time, &mut rng).unwrap();
    let ids: Vec<u32> = a.one_time_prekeys().map(|k| k.id).take(removed).collect();
    for id in ids {
        assert!(a.remove_one_time_prekey(id));
    }
    a.set_limits(limits);
    a
}

/// Two records after a conversation of `steps` (each step: who sends, how many, and how
/// many of them are delivered now), so sessions are mid-conversation with skipped keys.
fn conversation(seed: u64, steps: &[(bool, u8, u8)], restarts: u8) -> (SessionRecord, SessionRecord) {
    let mut rng = DetRng::new(seed);
    let alice = account(seed ^ 1, 1, 0, 0, Limits::default());
    let mut bob = account(seed ^ 2, 1, 4, 0, Limits::default());
    let mut alice = alice;
    let (mut a, mut b) = (SessionRecord::new(), SessionRecord::new());
    for _ in 0..=restarts {
        let opk = bob.one_time_prekeys().next().map(|k| k.id);
        a.initiate(alice.identity(), &bob.bundle(opk).unwrap(), &mut rng).unwrap();
        let m = a.encrypt(b"start").unwrap();
        bob.decrypt(&mut b, &m, &mut rng).unwrap();
    }
    for (from_alice, count, deliver) in steps {
        let (sender, receiver, account) =
            if *from_alice { (&mut a, &mut b, &mut bob) } else { (&mut b, &mut a, &mut alice) };
        let sent: Vec<_> = (0..*count).map(|i| sender.encrypt(&[i]).unwrap()).collect();
        // Deliver the last `deliver` ones, leaving skipped keys behind.
        for m in sent.iter().rev().take(usize::from(*deliver)) {
            account.decrypt(receiver, m, &mut rng).unwrap();
        }
    }
    (a, b)
}

#[test]
fn fresh_and_empty_objects_round_trip() {
    let mut rng = DetRng::new(1);
    round_trip(&SessionRecord::new());
    round_trip(&Account::generate(&mut rng));
    let id = IdentityKeyPair::generate(&mut rng);
    truncations_and_extensions_fail::<IdentityKeyPair>(&round_trip(&id));
    let spk = SignedPreKey::generate(&id, 7, 1_700_000_000, &mut rng);
    truncations_and_extensions_fail::<SignedPreKey>(&round_trip(&spk));
    let opk = OneTimePreKey { id: u32::MAX, pair: KeyPair::generate(&mut rng) };
    truncations_and_extensions_fail::<OneTimePreKey>(&round_trip(&opk));
    // Each kind refuses the others' bytes.
    assert!(SessionRecord::from_bytes(&id.to_bytes()).is_err());
    assert!(Account::from_bytes(&spk.to_bytes()).is_err());
    assert!(IdentityKeyPair::from_bytes(&opk.to_bytes()).is_err());
    assert!(SignedPreKey::from_bytes(&SessionRecord::new().to_bytes()).is_err());
    assert!(OneTimePreKey::from_bytes(&Account::generate(&mut rng).to_bytes()).is_err());
}

#[test]
fn restored_state_continues_the_conversation() {
    let (a, b) = conversation(3, &[(true, 5, 2), (false, 4, 4), (true, 3, 1)], 1);
    let mut a2 = SessionRecord::from_bytes(&a.to_bytes()).unwrap();
    let mut b2 = SessionRecord::from_bytes(&b.to_bytes()).unwrap();
    let bob = account(3 ^ 2, 1, 4, 0, Limits::default());
    let mut bob2 = Account::from_bytes(&bob.to_bytes()).unwrap();
    let mut rng = DetRng::new(99);
    let m = a2.encrypt(b"after restore").unwrap();
    assert_eq!(bob2.decrypt(&mut b2, &m, &mut rng).unwrap().plaintext, b"after restore");
    assert!(b2.encrypt(b"and back").is_ok());
}

#[test]
fn oversized_counts_are_refused_without_allocating() {
    let acct = account(2, 1, 2, 0, Limits::default()).to_bytes().to_vec();
    // The signed prekey count sits after kind, version and the 64-byte identity.
    let mut bad = acct.clone();
    bad[66..70].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(Account::from_bytes(&bad).is_err());
    bad[66..70].copy_from_slice(&4u32.to_be_bytes());
    assert!(Account::from_bytes(&bad).is_err(), "more signed prekeys than are ever kept");
    // The session count of a record sits after kind, version and the peer flag (+64).
    let (a, _) = conversation(2, &[], 0);
    let rec = a.to_bytes().to_vec();
    let mut bad = rec.clone();
    bad[67..71].copy_from_slice(&7u32.to_be_bytes());
    assert!(SessionRecord::from_bytes(&bad).is_err(), "more than 1 + 5 sessions");
    bad[67..71].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(SessionRecord::from_bytes(&bad).is_err());
    // A flag byte other than 0 or 1.
    let mut bad = rec;
    bad[2] = 2;
    assert!(SessionRecord::from_bytes(&bad).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn identity_and_prekeys_round_trip(dh in any::<[u8; 32]>(), sign in any::<[u8; 32]>(), id in any::<u32>(), at in any::<u64>()) {
        let identity = IdentityKeyPair::from_secret_bytes(Zeroizing::new(dh), Zeroizing::new(sign));
        round_trip(&identity);
        let mut rng = DetRng::new(u64::from(id));
        let spk = SignedPreKey::generate(&identity, id, at, &mut rng);
        round_trip(&spk);
        let opk = OneTimePreKey { id, pair: KeyPair::from_secret_bytes(Zeroizing::new(sign)) };
        round_trip(&opk);
    }

    #[test]
    fn accounts_round_trip(
        seed in any::<u64>(),
        rotations in 0u8..6,
        one_time in 0usize..12,
        removed in 0usize..12,
        max_skip in any::<u32>(),
        max_skipped_keys in 0usize..100_000,
        edits in prop::collection::vec((any::<usize>(), 1u8..), 1..4),
    ) {
        let a = account(seed, rotations, one_time, removed, Limits { max_skip, max_skipped_keys });
        let bytes = round_trip(&a);
        truncations_and_extensions_fail::<Account>(&bytes);
        corruption_is_an_error_or_a_valid_object::<Account>(&bytes, &edits);
    }

    #[test]
    fn records_mid_conversation_round_trip(
        seed in any::<u64>(),
        steps in prop::collection::vec((any::<bool>(), 0u8..6, 0u8..6), 0..6),
        restarts in 0u8..3,
        edits in prop::collection::vec((any::<usize>(), 1u8..), 1..4),
    ) {
        let (a, b) = conversation(seed, &steps, restarts);
        for record in [&a, &b] {
            let bytes = round_trip(record);
            truncations_and_extensions_fail::<SessionRecord>(&bytes);
            corruption_is_an_error_or_a_valid_object::<SessionRecord>(&bytes, &edits);
        }
        prop_assert_eq!(b.session_count(), 1 + usize::from(restarts));
    }

    /// Arbitrary bytes never panic any parser, with or without a valid kind and version.
    #[test]
    fn arbitrary_bytes_never_panic(kind in 0u8..7, version in 0u8..3, body in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut data = vec![kind, version];
        data.extend(body);
        let accepted = harness::from_bytes_input(&data);
        prop_assert!(accepted <= 1);
    }
}

#[test]
fn account_restore_refuses_reused_one_time_prekey_ids() {
    use rand_core::OsRng;
    let mut account = Account::generate(&mut OsRng);
    account.rotate_signed_prekey(0, &mut OsRng);
    account.generate_one_time_prekeys(2, &mut OsRng).unwrap();
    let good = account.to_bytes();
    assert_eq!(Account::from_bytes(&good).unwrap(), account);
    // The trailer is next_one_time_id, max_skip, max_skipped_keys (u32 each): set the next id
    // back to 2, below the ids 1 and 2 already held.
    let mut bad = good.to_vec();
    let at = bad.len() - 12;
    bad[at..at + 4].copy_from_slice(&2u32.to_be_bytes());
    assert_eq!(
        Account::from_bytes(&bad),
        Err(wac1::Error::Corrupt("next one-time prekey id is not above the ids held"))
    );
}
