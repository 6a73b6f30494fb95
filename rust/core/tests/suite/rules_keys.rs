//! The protocol's refusals of bad keys (PROTOCOL.md §3–4): replayed prekey messages under
//! another encoding of the ephemeral key, identity changes, unknown prekey ids, low-order
//! points and bad signed-prekey signatures. Every refusal leaves the state byte-identical.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::rules::{account, first_opk, pair, recv};
use crate::harness;

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::montgomery::MontgomeryPoint;
use harness::DetRng;
use wac1::{Error, IdentityKeyPair, PreKeyBundle, Serialize, SessionRecord};

/// Other encodings of the same X25519 ephemeral key: the top bit set (X25519 ignores it)
/// and the point plus a small-order point (clamped scalars are multiples of 8, so every DH
/// with it gives the same output).
fn ek_variants(ek: &[u8; 32]) -> Vec<[u8; 32]> {
    let mut top = *ek;
    top[31] ^= 0x80;
    let point = MontgomeryPoint(*ek).to_edwards(0).unwrap();
    let mut out = vec![top];
    for t in &EIGHT_TORSION[1..] {
        let v = (point + t).to_montgomery().to_bytes();
        if v != *ek {
            out.push(v);
        }
    }
    out
}

#[test]
fn replayed_prekey_message_with_another_encoding_of_ek_is_refused() {
    for opk in [false, true] {
        let mut p = pair(7, opk);
        let m0 = p.a.encrypt(b"only once").unwrap();
        recv(&mut p.bob, &mut p.b, &m0, &mut p.rng).unwrap();
        let x = m0.x3dh.unwrap();
        for (i, ek) in ek_variants(&x.ek).into_iter().enumerate() {
            let mut replay = m0.clone();
            replay.x3dh = Some(wac1::X3dhHeader { ek, ..x });
            let got = recv(&mut p.bob, &mut p.b, &replay, &mut p.rng);
            assert!(got.is_err(), "opk {opk}, variant {i}: a replay decrypted again: {got:?}");
            assert_eq!(p.b.session_count(), 1);
        }
    }
}

#[test]
fn identity_change_is_reported() {
    let mut p = pair(8, true);
    let m0 = p.a.encrypt(b"hi").unwrap();
    let got = recv(&mut p.bob, &mut p.b, &m0, &mut p.rng).unwrap();
    assert!(!got.identity_changed, "the first identity seen is not a change");
    assert_eq!(p.b.peer_identity(), Some(&p.alice.identity().public()));

    // Same identity, new session: no change.
    let mut again = SessionRecord::new();
    again.initiate(p.alice.identity(), &p.bob.bundle(first_opk(&p.bob)).unwrap(), &mut p.rng).unwrap();
    let got = recv(&mut p.bob, &mut p.b, &again.encrypt(b"again").unwrap(), &mut p.rng).unwrap();
    assert!(got.new_session && !got.identity_changed);

    // A reinstall with a new identity: accepted, and flagged.
    let reinstalled = IdentityKeyPair::generate(&mut p.rng);
    let mut fresh = SessionRecord::new();
    fresh.initiate(&reinstalled, &p.bob.bundle(None).unwrap(), &mut p.rng).unwrap();
    let got = recv(&mut p.bob, &mut p.b, &fresh.encrypt(b"new phone").unwrap(), &mut p.rng).unwrap();
    assert!(got.new_session && got.identity_changed);
    assert_eq!(got.plaintext, b"new phone");
    assert_eq!(p.b.peer_identity(), Some(&reinstalled.public()));

    // The initiator side reports it too: Bob's record now knows the new identity, so
    // starting from the old identity's bundle is a change, and the same again is not.
    let old_bundle = p.alice.bundle(None).unwrap();
    assert!(p.b.initiate(p.bob.identity(), &old_bundle, &mut p.rng).unwrap());
    assert!(!p.b.initiate(p.bob.identity(), &old_bundle, &mut p.rng).unwrap());
}

#[test]
fn unknown_prekey_ids_are_refused() {
    let mut p = pair(9, true);
    let m0 = p.a.encrypt(b"x").unwrap();
    let x = m0.x3dh.unwrap();

    let mut bad = m0.clone();
    bad.x3dh = Some(wac1::X3dhHeader { spk_id: x.spk_id + 100, ..x });
    let err = recv(&mut p.bob, &mut p.b, &bad, &mut p.rng).unwrap_err();
    assert_eq!(err, Error::UnknownPreKey { kind: "signed", id: x.spk_id + 100 });
    assert_eq!(err.code(), "unknown_prekey");

    bad.x3dh = Some(wac1::X3dhHeader { opk_id: Some(999), ..x });
    let err = recv(&mut p.bob, &mut p.b, &bad, &mut p.rng).unwrap_err();
    assert_eq!(err, Error::UnknownPreKey { kind: "one-time", id: 999 });

    // Another one-time prekey Bob does hold: known, but the keys do not match.
    let other = p.bob.one_time_prekeys().map(|k| k.id).find(|id| Some(*id) != x.opk_id).unwrap();
    bad.x3dh = Some(wac1::X3dhHeader { opk_id: Some(other), ..x });
    assert_eq!(recv(&mut p.bob, &mut p.b, &bad, &mut p.rng).unwrap_err(), Error::DecryptionFailed);
    // Leaving the one-time prekey out does not work either.
    bad.x3dh = Some(wac1::X3dhHeader { opk_id: None, ..x });
    assert_eq!(recv(&mut p.bob, &mut p.b, &bad, &mut p.rng).unwrap_err(), Error::DecryptionFailed);

    // A signed prekey expired after its grace period is unknown, one still inside it works.
    for now in 2..5 {
        p.bob.rotate_signed_prekey(now, &mut p.rng);
    }
    p.bob.expire_signed_prekeys(2);
    assert!(p.bob.signed_prekeys().iter().all(|k| k.id != x.spk_id));
    let err = recv(&mut p.bob, &mut p.b, &m0, &mut p.rng).unwrap_err();
    assert!(matches!(err, Error::UnknownPreKey { kind: "signed", .. }), "{err:?}");

    let mut q = pair(10, false);
    let m = q.a.encrypt(b"grace").unwrap();
    q.bob.rotate_signed_prekey(2, &mut q.rng);
    assert_eq!(recv(&mut q.bob, &mut q.b, &m, &mut q.rng).unwrap().plaintext, b"grace");
}

/// u-coordinates of small-order points on Curve25519, and non-canonical encodings of them.
pub(super) fn low_order_points() -> Vec<[u8; 32]> {
    let hex = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
    ];
    hex.iter()
        .map(|h| {
            let mut out = [0u8; 32];
            for (i, byte) in out.iter_mut().enumerate() {
                *byte = u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap();
            }
            out
        })
        .collect()
}

#[test]
fn low_order_keys_are_refused() {
    let mut rng = DetRng::new(11);
    let alice = account(&mut rng, 0);
    let bob = account(&mut rng, 1);
    let good = bob.bundle(first_opk(&bob)).unwrap();
    for bad in low_order_points() {
        // In the bundle: a signed prekey (validly signed), the identity key, a one-time prekey.
        let mut spk = good.clone();
        spk.signed_prekey = bad;
        spk.signed_prekey_signature = bob.identity().sign_prekey(spk.signed_prekey_id, &bad);
        let mut ik = good.clone();
        ik.identity.identity_key = bad;
        let mut opk = good.clone();
        opk.one_time_prekey = Some((1, bad));
        for bundle in [spk, ik, opk] {
            let mut record = SessionRecord::new();
            let err = record.initiate(alice.identity(), &bundle, &mut rng).unwrap_err();
            assert_eq!(err.code(), "invalid_key", "{bad:?}");
            assert_eq!(record, SessionRecord::new());
        }
    }

    // In a message: x3dh.ik, x3dh.ek and the ratchet key of the header.
    let mut p = pair(12, true);
    let m0 = p.a.encrypt(b"x").unwrap();
    let x = m0.x3dh.unwrap();
    for bad in low_order_points() {
        for which in 0..3 {
            let mut m = m0.clone();
            match which {
                0 => m.x3dh = Some(wac1::X3dhHeader { ik: bad, ..x }),
                1 => m.x3dh = Some(wac1::X3dhHeader { ek: bad, ..x }),
                _ => m.header.dh = bad,
            }
            let err = recv(&mut p.bob, &mut p.b, &m, &mut p.rng).unwrap_err();
            assert_eq!(err.code(), "invalid_key", "field {which}: {bad:?}");
        }
    }
    // After all that, the genuine message still decrypts.
    recv(&mut p.bob, &mut p.b, &m0, &mut p.rng).unwrap();
    let mut m1 = p.a.encrypt(b"y").unwrap();
    let reply = p.b.encrypt(b"r").unwrap();
    for bad in low_order_points() {
        let mut r = reply.clone();
        r.header.dh = bad;
        let before = p.a.to_bytes();
        assert_eq!(p.alice.decrypt(&mut p.a, &r, &mut p.rng).unwrap_err().code(), "invalid_key");
        assert_eq!(*p.a.to_bytes(), *before);
    }
    m1.header.dh = low_order_points()[2];
    assert_eq!(recv(&mut p.bob, &mut p.b, &m1, &mut p.rng).unwrap_err().code(), "invalid_key");
}

#[test]
fn invalid_signed_prekey_signature_is_refused() {
    let mut rng = DetRng::new(13);
    let alice = account(&mut rng, 0);
    let bob = account(&mut rng, 1);
    let mallory = IdentityKeyPair::generate(&mut rng);
    let good = bob.bundle(first_opk(&bob)).unwrap();
    let mut cases: Vec<PreKeyBundle> = Vec::new();
    for bit in [0usize, 7, 100, 255, 256, 511] {
        let mut b = good.clone();
        b.signed_prekey_signature[bit / 8] ^= 1 << (bit % 8);
        cases.push(b);
    }
    let mut b = good.clone();
    b.signed_prekey_id += 1;
    cases.push(b);
    let mut b = good.clone();
    b.signed_prekey[0] ^= 1;
    cases.push(b);
    let mut b = good.clone();
    b.signed_prekey_signature = mallory.sign_prekey(b.signed_prekey_id, &b.signed_prekey);
    cases.push(b);
    let mut b = good.clone();
    b.identity.signing_key = mallory.public().signing_key;
    cases.push(b);
    let mut b = good.clone();
    b.signed_prekey_signature = [0u8; 64];
    cases.push(b);
    for (i, bundle) in cases.iter().enumerate() {
        assert_eq!(bundle.verify(), Err(Error::InvalidSignature), "case {i}");
        let mut record = SessionRecord::new();
        assert_eq!(
            record.initiate(alice.identity(), bundle, &mut rng),
            Err(Error::InvalidSignature),
            "case {i}"
        );
        assert!(!record.has_session());
    }
    good.verify().unwrap();
}
