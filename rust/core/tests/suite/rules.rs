//! The protocol's rules one by one (PROTOCOL.md §3–5): skipped-key bounds, the session
//! list, prekey handling, identity changes and refusal of bad keys. Every refusal is checked
//! to leave the serialized state byte-identical.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::rules_keys::low_order_points;
use crate::harness;

use harness::DetRng;
use wac1::{Account, Decrypted, Error, Limits, Serialize, SessionRecord, WireMessage};

pub(super) fn account(rng: &mut DetRng, one_time: usize) -> Account {
    let mut a = Account::generate(rng);
    a.rotate_signed_prekey(1, rng);
    a.generate_one_time_prekeys(one_time, rng).unwrap();
    a
}

pub(super) fn first_opk(a: &Account) -> Option<u32> {
    a.one_time_prekeys().next().map(|k| k.id)
}

/// Decrypts and, on failure, checks that neither the account nor the record changed.
pub(super) fn recv(
    account: &mut Account,
    record: &mut SessionRecord,
    m: &WireMessage,
    rng: &mut DetRng,
) -> Result<Decrypted, Error> {
    let before = (account.to_bytes(), record.to_bytes());
    let result = account.decrypt(record, m, rng);
    if let Err(e) = &result {
        assert_eq!(*account.to_bytes(), *before.0, "{e:?} changed the account");
        assert_eq!(*record.to_bytes(), *before.1, "{e:?} changed the record");
    }
    result
}

pub(super) struct Pair {
    pub(super) rng: DetRng,
    pub(super) alice: Account,
    pub(super) bob: Account,
    pub(super) a: SessionRecord,
    pub(super) b: SessionRecord,
}

/// Alice has started a session with Bob (with a one-time prekey if `opk`).
pub(super) fn pair(seed: u64, opk: bool) -> Pair {
    let mut rng = DetRng::new(seed);
    let alice = account(&mut rng, 1);
    let bob = account(&mut rng, 3);
    let mut a = SessionRecord::new();
    let bundle = bob.bundle(if opk { first_opk(&bob) } else { None }).unwrap();
    a.initiate(alice.identity(), &bundle, &mut rng).unwrap();
    Pair { rng, alice, bob, a, b: SessionRecord::new() }
}

pub(super) fn skipped(r: &SessionRecord) -> usize {
    r.active().unwrap().ratchet().view().skipped_count
}

#[test]
fn skipped_key_cache_is_bounded_and_drops_the_oldest() {
    let mut p = pair(1, false);
    p.bob.set_limits(Limits { max_skip: 100, max_skipped_keys: 20 });
    let sent: Vec<_> = (0..40u8).map(|i| p.a.encrypt(&[i]).unwrap()).collect();
    assert_eq!(recv(&mut p.bob, &mut p.b, &sent[39], &mut p.rng).unwrap().plaintext, [39]);
    assert_eq!(skipped(&p.b), 20);
    // The 20 newest skipped keys (19..=38) are kept; the oldest were dropped.
    for (i, m) in sent.iter().enumerate().take(19) {
        assert_eq!(recv(&mut p.bob, &mut p.b, m, &mut p.rng).unwrap_err(), Error::DuplicateMessage, "{i}");
    }
    for (i, m) in sent.iter().enumerate().take(39).skip(19) {
        assert_eq!(recv(&mut p.bob, &mut p.b, m, &mut p.rng).unwrap().plaintext, [u8::try_from(i).unwrap()]);
    }
    assert_eq!(skipped(&p.b), 0);

    // The bound also holds across chains: skips in Bob's new receiving chain push out
    // the keys left in the previous one.
    let late: Vec<_> = (0..15u8).map(|i| p.a.encrypt(&[i]).unwrap()).collect();
    recv(&mut p.bob, &mut p.b, &late[14], &mut p.rng).unwrap();
    assert_eq!(skipped(&p.b), 14);
    let reply = p.b.encrypt(b"r").unwrap();
    recv(&mut p.alice, &mut p.a, &reply, &mut p.rng).unwrap();
    let next: Vec<_> = (0..12u8).map(|i| p.a.encrypt(&[100 + i]).unwrap()).collect();
    recv(&mut p.bob, &mut p.b, &next[11], &mut p.rng).unwrap();
    assert_eq!(skipped(&p.b), 20);
    for m in &next[..11] {
        recv(&mut p.bob, &mut p.b, m, &mut p.rng).unwrap();
    }
    // 14 + 11 = 25 were skipped in all: the 5 oldest of the first chain are gone.
    for (i, m) in late.iter().enumerate().take(14) {
        let got = recv(&mut p.bob, &mut p.b, m, &mut p.rng);
        assert_eq!(got.is_ok(), i >= 5, "late message {i}: {got:?}");
    }
}

#[test]
fn too_many_skipped_is_refused_at_the_protocol_limit() {
    let mut p = pair(2, false);
    assert_eq!(*p.bob.limits(), Limits { max_skip: 1000, max_skipped_keys: 1000 });
    let sent: Vec<_> = (0..1002u32).map(|i| p.a.encrypt(&i.to_be_bytes()).unwrap()).collect();
    // First message of a chain (a DH ratchet step): n = 1001 skips 1001 keys.
    let err = recv(&mut p.bob, &mut p.b, &sent[1001], &mut p.rng).unwrap_err();
    assert_eq!(err.code(), "too_many_skipped");
    assert!(!p.b.has_session());
    // Exactly MAX_SKIP is allowed.
    recv(&mut p.bob, &mut p.b, &sent[1000], &mut p.rng).unwrap();
    assert_eq!(skipped(&p.b), 1000);
    recv(&mut p.bob, &mut p.b, &sent[0], &mut p.rng).unwrap();
    recv(&mut p.bob, &mut p.b, &sent[1001], &mut p.rng).unwrap();
}

#[test]
fn too_many_skipped_within_a_chain_and_in_the_previous_chain() {
    let mut p = pair(3, false);
    p.bob.set_limits(Limits { max_skip: 10, max_skipped_keys: 1000 });
    let sent: Vec<_> = (0..30u8).map(|i| p.a.encrypt(&[i]).unwrap()).collect();
    recv(&mut p.bob, &mut p.b, &sent[0], &mut p.rng).unwrap();
    // Same chain, gap of 11 > 10.
    let err = recv(&mut p.bob, &mut p.b, &sent[12], &mut p.rng).unwrap_err();
    assert_eq!(err, Error::TooManySkipped { requested: 11, limit: 10 });
    recv(&mut p.bob, &mut p.b, &sent[11], &mut p.rng).unwrap();

    // Previous chain: Alice sent up to n = 29 there; her next chain says pn = 30, and Bob
    // would have to skip 30 - 12 = 18 keys of the old chain.
    let reply = p.b.encrypt(b"r").unwrap();
    recv(&mut p.alice, &mut p.a, &reply, &mut p.rng).unwrap();
    let new_chain = p.a.encrypt(b"new chain").unwrap();
    assert_eq!(new_chain.header.pn, 30);
    let err = recv(&mut p.bob, &mut p.b, &new_chain, &mut p.rng).unwrap_err();
    assert_eq!(err.code(), "too_many_skipped");
    // Delivering some of the old chain brings the gap within the limit.
    recv(&mut p.bob, &mut p.b, &sent[21], &mut p.rng).unwrap();
    assert_eq!(recv(&mut p.bob, &mut p.b, &new_chain, &mut p.rng).unwrap().plaintext, b"new chain");

    // A counter at the very top of the range is refused without looping.
    let mut huge = p.a.encrypt(b"x").unwrap();
    huge.header.n = u32::MAX;
    assert!(recv(&mut p.bob, &mut p.b, &huge, &mut p.rng).is_err());
}

#[test]
fn active_plus_five_old_sessions() {
    let mut rng = DetRng::new(4);
    let alice = account(&mut rng, 0);
    let mut bob = account(&mut rng, 8);
    let mut b = SessionRecord::new();
    // Alice starts seven sessions (say, after seven reinstalls that kept the identity);
    // each first message carries x3dh, and so does a second one sent before any reply.
    let mut firsts = Vec::new();
    let mut seconds = Vec::new();
    for _ in 0..7 {
        let mut a = SessionRecord::new();
        let opk = first_opk(&bob).unwrap();
        a.initiate(alice.identity(), &bob.bundle(Some(opk)).unwrap(), &mut rng).unwrap();
        firsts.push(a.encrypt(b"first").unwrap());
        seconds.push(a.encrypt(b"second").unwrap());
        // The server hands each one-time prekey out once: the next bundle has the next one.
        recv(&mut bob, &mut b, firsts.last().unwrap(), &mut rng).unwrap();
    }
    assert_eq!(b.session_count(), 6);
    // The oldest session is gone and its one-time prekey is consumed.
    let err = recv(&mut bob, &mut b, &seconds[0], &mut rng).unwrap_err();
    assert!(matches!(err, Error::UnknownPreKey { kind: "one-time", .. }), "{err:?}");
    // The five kept old ones still decrypt their late messages, the newest too.
    for (i, m) in seconds.iter().enumerate().skip(1) {
        let got = recv(&mut bob, &mut b, m, &mut rng).unwrap();
        assert_eq!(got.plaintext, b"second", "{i}");
        assert!(!got.new_session && got.used_one_time_prekey.is_none());
    }
    assert_eq!(b.session_count(), 6);
}

#[test]
fn late_message_without_x3dh_for_an_old_session() {
    let mut p = pair(5, true);
    let first = p.a.encrypt(b"one").unwrap();
    recv(&mut p.bob, &mut p.b, &first, &mut p.rng).unwrap();
    let reply = p.b.encrypt(b"two").unwrap();
    recv(&mut p.alice, &mut p.a, &reply, &mut p.rng).unwrap();
    let late = p.a.encrypt(b"late").unwrap();
    assert!(late.x3dh.is_none());

    // Alice starts over (a new X3DH) and Bob accepts it: his old session moves down.
    let bundle = p.bob.bundle(first_opk(&p.bob)).unwrap();
    p.a.initiate(p.alice.identity(), &bundle, &mut p.rng).unwrap();
    let restart = p.a.encrypt(b"restart").unwrap();
    assert!(recv(&mut p.bob, &mut p.b, &restart, &mut p.rng).unwrap().new_session);
    assert_eq!(p.b.session_count(), 2);
    let active_before = p.b.active().unwrap().clone();

    // The late message is tried against the active session, then the old one.
    assert_eq!(recv(&mut p.bob, &mut p.b, &late, &mut p.rng).unwrap().plaintext, b"late");
    assert_ne!(p.b.active().unwrap(), &active_before, "the session the peer uses becomes active");
    assert_eq!(p.b.session_count(), 2);
    assert_eq!(recv(&mut p.bob, &mut p.b, &late, &mut p.rng).unwrap_err(), Error::DuplicateMessage);
}

#[test]
fn repeated_prekey_message_after_its_one_time_prekey_was_consumed() {
    let mut p = pair(6, true);
    let opk = first_opk(&p.bob).unwrap();
    let m0 = p.a.encrypt(b"m0").unwrap();
    let m1 = p.a.encrypt(b"m1").unwrap();
    assert_eq!(m1.x3dh, m0.x3dh);
    assert_eq!(m0.x3dh.unwrap().opk_id, Some(opk));

    let got = recv(&mut p.bob, &mut p.b, &m0, &mut p.rng).unwrap();
    assert!(got.new_session && !got.identity_changed);
    assert_eq!(got.used_one_time_prekey, Some(opk));
    assert!(p.bob.one_time_prekeys().all(|k| k.id != opk), "the one-time prekey was deleted");

    // m1 names the consumed prekey but is matched to the session by ik + ek.
    let got = recv(&mut p.bob, &mut p.b, &m1, &mut p.rng).unwrap();
    assert_eq!(got.plaintext, b"m1");
    assert!(!got.new_session && got.used_one_time_prekey.is_none());
    assert_eq!(p.b.session_count(), 1);
    // And a replay of either is a duplicate, not a new session.
    assert_eq!(recv(&mut p.bob, &mut p.b, &m0, &mut p.rng).unwrap_err(), Error::DuplicateMessage);
    assert_eq!(recv(&mut p.bob, &mut p.b, &m1, &mut p.rng).unwrap_err(), Error::DuplicateMessage);

    // Once Alice hears back, she stops sending x3dh.
    let reply = p.b.encrypt(b"r").unwrap();
    assert!(reply.x3dh.is_none());
    recv(&mut p.alice, &mut p.a, &reply, &mut p.rng).unwrap();
    assert!(p.a.encrypt(b"m2").unwrap().x3dh.is_none());
}

#[test]
fn decrypt_without_a_session_and_encrypt_before_one() {
    let mut p = pair(14, false);
    let m0 = p.a.encrypt(b"x").unwrap();
    let reply_less = WireMessage { x3dh: None, ..m0.clone() };
    assert_eq!(recv(&mut p.bob, &mut p.b, &reply_less, &mut p.rng).unwrap_err().code(), "no_session");
    assert_eq!(p.b.encrypt(b"too early").unwrap_err().code(), "no_session");
    assert!(!p.b.can_encrypt());
    recv(&mut p.bob, &mut p.b, &m0, &mut p.rng).unwrap();
    assert!(p.b.can_encrypt());
}

#[test]
fn encrypt_many_is_all_or_nothing_and_in_order() {
    let mut p = pair(15, false);
    let batch = p.a.encrypt_many(&[b"a".as_slice(), b"b", b"c"]).unwrap();
    assert_eq!(batch.iter().map(|m| m.header.n).collect::<Vec<_>>(), [0, 1, 2]);
    for (m, want) in batch.iter().zip([b"a", b"b", b"c"]) {
        assert_eq!(recv(&mut p.bob, &mut p.b, m, &mut p.rng).unwrap().plaintext, want);
    }
    let mut empty = SessionRecord::new();
    assert!(empty.encrypt_many(&[b"x"]).is_err());
}

#[test]
fn a_message_reflected_back_to_its_sender_fails() {
    let mut p = pair(16, true);
    let m0 = p.a.encrypt(b"to bob").unwrap();
    // Alice's own prekey message matches her own session by ik + ek; it must still fail.
    assert!(recv(&mut p.alice, &mut p.a, &m0, &mut p.rng).is_err());
    recv(&mut p.bob, &mut p.b, &m0, &mut p.rng).unwrap();
    let r = p.b.encrypt(b"to alice").unwrap();
    assert!(recv(&mut p.bob, &mut p.b, &r, &mut p.rng).is_err());
    assert_eq!(recv(&mut p.alice, &mut p.a, &r, &mut p.rng).unwrap().plaintext, b"to alice");
    let m1 = p.a.encrypt(b"again").unwrap();
    assert!(recv(&mut p.alice, &mut p.a, &m1, &mut p.rng).is_err());
    assert_eq!(recv(&mut p.bob, &mut p.b, &m1, &mut p.rng).unwrap().plaintext, b"again");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 32, failure_persistence: None, ..Default::default() })]

    /// With any limits and any delivery order: the skipped-key cache never exceeds its bound,
    /// a message decrypts at most once and to its own plaintext, and `too_many_skipped` is
    /// exactly the case of a gap above `max_skip`.
    #[test]
    fn skipped_key_limits_hold_for_any_order(
        seed in 0u64..1_000_000,
        max_skip in 1u32..20,
        max_skipped_keys in 0usize..15,
        order in proptest::collection::vec(0usize..60, 1..80),
    ) {
        let mut p = pair(seed, false);
        p.bob.set_limits(Limits { max_skip, max_skipped_keys });
        let sent: Vec<_> = (0..60u8).map(|i| p.a.encrypt(&[i]).unwrap()).collect();
        // The session starts with message 0; the rest stay in its first receiving chain.
        recv(&mut p.bob, &mut p.b, &sent[0], &mut p.rng).unwrap();
        let mut done = std::collections::HashSet::from([0usize]);
        for i in order {
            let nr = p.b.active().map(|s| s.ratchet().view().nr);
            let n = u32::try_from(i).unwrap();
            match recv(&mut p.bob, &mut p.b, &sent[i], &mut p.rng) {
                Ok(got) => {
                    proptest::prop_assert!(done.insert(i), "message {} decrypted twice", i);
                    proptest::prop_assert_eq!(got.plaintext, vec![u8::try_from(i).unwrap()]);
                    proptest::prop_assert!(n < nr.unwrap_or(0) || n - nr.unwrap_or(0) <= max_skip);
                }
                Err(Error::TooManySkipped { .. }) => {
                    proptest::prop_assert!(n >= nr.unwrap_or(0) && n - nr.unwrap_or(0) > max_skip);
                }
                Err(Error::DuplicateMessage) => proptest::prop_assert!(nr.is_some_and(|nr| n < nr)),
                Err(e) => proptest::prop_assert!(false, "unexpected {:?}", e),
            }
            if p.b.has_session() {
                proptest::prop_assert!(skipped(&p.b) <= max_skipped_keys);
            }
        }
    }
}

#[test]
fn a_late_message_from_a_replaced_identity_does_not_take_the_session_back() {
    // Bob talks with Alice's first install; Alice reinstalls with a new identity and starts
    // over. A late message of the old install still decrypts (PROTOCOL.md §5), but Bob's
    // next message must go to the identity he was told about, not silently back to the old.
    let mut p = pair(17, true);
    let m0 = p.a.encrypt(b"old install").unwrap();
    recv(&mut p.bob, &mut p.b, &m0, &mut p.rng).unwrap();
    let r0 = p.b.encrypt(b"hi").unwrap();
    recv(&mut p.alice, &mut p.a, &r0, &mut p.rng).unwrap();
    let late = p.a.encrypt(b"late, from the old install").unwrap();
    assert!(late.x3dh.is_none());

    let mut alice2 = account(&mut p.rng, 0);
    let mut a2 = SessionRecord::new();
    a2.initiate(alice2.identity(), &p.bob.bundle(first_opk(&p.bob)).unwrap(), &mut p.rng).unwrap();
    let got = recv(&mut p.bob, &mut p.b, &a2.encrypt(b"new install").unwrap(), &mut p.rng).unwrap();
    assert!(got.identity_changed);

    let got = recv(&mut p.bob, &mut p.b, &late, &mut p.rng).unwrap();
    assert_eq!(got.plaintext, b"late, from the old install");
    assert_eq!(p.b.peer_identity(), Some(&alice2.identity().public()));
    let next = p.b.encrypt(b"to the new install").unwrap();
    assert_eq!(recv(&mut alice2, &mut a2, &next, &mut p.rng).unwrap().plaintext, b"to the new install");
    assert!(recv(&mut p.alice, &mut p.a, &next, &mut p.rng).is_err());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, failure_persistence: None, ..Default::default() })]

    /// The batched agreements of X3DH give exactly what one agreement at a time gives, for
    /// any mix of curve points, twist points (about half of all byte strings) and
    /// low-order keys, which are refused the same way.
    #[test]
    fn batched_agreements_equal_single_ones(
        seeds in proptest::collection::vec(proptest::array::uniform32(0u8..), 1..6),
        keys in proptest::collection::vec(proptest::array::uniform32(0u8..), 1..6),
        low_order in proptest::option::of(0usize..9),
    ) {
        let pairs_owned: Vec<(wac1::KeyPair, [u8; 32])> = seeds
            .iter()
            .zip(keys.iter().cycle())
            .enumerate()
            .map(|(i, (seed, key))| {
                let key = match low_order {
                    Some(j) if i == 0 => low_order_points()[j],
                    _ => *key,
                };
                (wac1::KeyPair::from_secret_bytes(zeroize::Zeroizing::new(*seed)), key)
            })
            .collect();
        let prepared: Vec<_> = pairs_owned.iter().map(|(_, k)| wac1::keys::PreparedPublic::new(k)).collect();
        let pairs: Vec<_> = pairs_owned.iter().zip(&prepared).map(|((kp, _), p)| (kp, p)).collect();
        let one_by_one: Result<Vec<[u8; 32]>, _> =
            pairs_owned.iter().map(|(kp, k)| kp.dh(k).map(|s| *s)).collect();
        let batched = wac1::keys::dh_many(&pairs).map(|v| v.iter().map(|s| **s).collect::<Vec<_>>());
        match (one_by_one, batched) {
            (Ok(a), Ok(b)) => proptest::prop_assert_eq!(a, b),
            (Err(Error::InvalidKey(_)), Err(Error::InvalidKey(_))) => {}
            (a, b) => proptest::prop_assert!(false, "single {:?} vs batched {:?}", a.is_ok(), b.is_ok()),
        }
    }
}

#[test]
fn a_decrypted_message_does_not_print_its_plaintext() {
    let d = Decrypted {
        plaintext: b"attack at dawn".to_vec(),
        used_one_time_prekey: Some(7),
        new_session: true,
        identity_changed: false,
    };
    let shown = format!("{d:?}");
    assert!(!shown.contains("attack"), "{shown}");
    assert!(!shown.contains("97, 116, 116"), "{shown}"); // the bytes as a list
    assert!(shown.contains("plaintext_len: 14"), "{shown}");
}
