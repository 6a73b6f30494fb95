#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! Runs every case of the WAC1 test vectors. The directory comes from `WAC1_VECTORS`
//! (default `../shared/vectors` beside the repository); a missing directory fails loudly.

use std::path::PathBuf;

use serde_json::Value;
use wac1::encoding::{b64, unb64, unb64_32};
use wac1::kdf::{kdf_ck, kdf_rk, message_keys};
use wac1::keys::signed_prekey_message;
use wac1::{
    aead, fingerprint, safety_number, Account, Error, Header, IdentityKeyPair, KeyPair, OneTimePreKey,
    PreKeyBundle, PublicIdentity, Serialize, SessionRecord, SignedPreKey, WireMessage,
};
use zeroize::Zeroizing;

fn vectors_dir() -> PathBuf {
    let dir = match std::env::var_os("WAC1_VECTORS") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"),
    };
    assert!(
        dir.join("primitives.json").is_file(),
        "WAC1 vectors not found in {} (set WAC1_VECTORS to the vectors directory)",
        dir.display()
    );
    dir
}

pub(super) fn load(name: &str) -> Value {
    let path = vectors_dir().join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

pub(super) fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("expected a string, got {v}"))
}
pub(super) fn b(v: &Value) -> Vec<u8> {
    unb64(s(v)).unwrap()
}
pub(super) fn k(v: &Value) -> [u8; 32] {
    unb64_32(s(v), "key").unwrap()
}
fn secret(v: &Value) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(k(v))
}
fn u32_of(v: &Value) -> u32 {
    u32::try_from(v.as_u64().unwrap()).unwrap()
}

#[test]
fn primitives() {
    let p = load("primitives.json");

    let x = &p["x25519"];
    let a = KeyPair::from_secret_bytes(secret(&x["private_a"]));
    let bb = KeyPair::from_secret_bytes(secret(&x["private_b"]));
    assert_eq!(a.public(), &k(&x["public_a"]));
    assert_eq!(bb.public(), &k(&x["public_b"]));
    assert_eq!(*a.dh(bb.public()).unwrap(), k(&x["shared"]));
    assert_eq!(*bb.dh(a.public()).unwrap(), k(&x["shared"]));

    let r = &p["kdf_rk"];
    let (rk, ck) = kdf_rk(&k(&r["rk"]), &k(&r["dh_out"]));
    assert_eq!(*rk, k(&r["new_rk"]));
    assert_eq!(*ck, k(&r["chain_key"]));

    let c = &p["kdf_ck"];
    let (mk, next) = kdf_ck(&k(&c["ck"]));
    assert_eq!(*mk, k(&c["message_key"]));
    assert_eq!(*next, k(&c["next_ck"]));

    let m = &p["message_keys"];
    let keys = message_keys(&k(&m["message_key"]));
    assert_eq!(*keys.key, k(&m["aes_key"]));
    assert_eq!(keys.nonce.to_vec(), b(&m["nonce"]));

    let h = &p["header_bytes"];
    let header = Header { dh: k(&h["dh"]), pn: u32_of(&h["pn"]), n: u32_of(&h["n"]) };
    assert_eq!(header.to_bytes().to_vec(), b(&h["bytes"]));

    let e = &p["aead"];
    let ct = aead::encrypt(&k(&e["message_key"]), &b(&e["plaintext"]), &b(&e["associated_data"])).unwrap();
    assert_eq!(ct, b(&e["ciphertext"]));
    let pt = aead::decrypt(&k(&e["message_key"]), &ct, &b(&e["associated_data"])).unwrap();
    assert_eq!(pt, b(&e["plaintext"]));
    let mut tampered = ct.clone();
    tampered[0] ^= 1;
    assert_eq!(
        aead::decrypt(&k(&e["message_key"]), &tampered, &b(&e["associated_data"])),
        Err(Error::DecryptionFailed)
    );

    let sp = &p["signed_prekey"];
    let id = IdentityKeyPair::from_secret_bytes(Zeroizing::new([7u8; 32]), secret(&sp["signing_private"]));
    assert_eq!(id.public().signing_key, k(&sp["signing_public"]));
    let key_id = u32_of(&sp["key_id"]);
    assert_eq!(signed_prekey_message(key_id, &k(&sp["public_key"])).to_vec(), b(&sp["signed_message"]));
    let sig = id.sign_prekey(key_id, &k(&sp["public_key"]));
    assert_eq!(sig.to_vec(), b(&sp["signature"]));
    wac1::verify_signed_prekey(&k(&sp["signing_public"]), key_id, &k(&sp["public_key"]), &sig).unwrap();
    assert_eq!(
        wac1::verify_signed_prekey(&k(&sp["signing_public"]), key_id + 1, &k(&sp["public_key"]), &sig),
        Err(Error::InvalidSignature)
    );

    for f in p["fingerprint"].as_array().unwrap() {
        let ident = PublicIdentity { identity_key: k(&f["identity_key"]), signing_key: k(&f["signing_key"]) };
        assert_eq!(fingerprint(&ident), s(&f["fingerprint"]));
    }
    let sn = &p["safety_number"];
    let fa = wac1::fingerprint::parse_fingerprint(s(&sn["fingerprint_a"])).unwrap();
    let fb = wac1::fingerprint::parse_fingerprint(s(&sn["fingerprint_b"])).unwrap();
    assert_eq!(safety_number(&fa, &fb), s(&sn["safety_number"]));
    assert_eq!(safety_number(&fb, &fa), s(&sn["safety_number"]));
}

fn bundle_of(v: &Value) -> PreKeyBundle {
    let spk = &v["signed_prekey"];
    let sig: [u8; 64] = b(&spk["signature"]).try_into().unwrap();
    PreKeyBundle {
        identity: PublicIdentity { identity_key: k(&v["identity_key"]), signing_key: k(&v["signing_key"]) },
        signed_prekey_id: u32_of(&spk["key_id"]),
        signed_prekey: k(&spk["public_key"]),
        signed_prekey_signature: sig,
        one_time_prekey: if v["one_time_prekey"].is_null() {
            None
        } else {
            Some((u32_of(&v["one_time_prekey"]["key_id"]), k(&v["one_time_prekey"]["public_key"])))
        },
    }
}

/// Bob's account exactly as the vectors describe the responder.
fn responder_account(r: &Value, bundle: &PreKeyBundle) -> Account {
    let identity =
        IdentityKeyPair::from_secret_bytes(secret(&r["identity_private"]), secret(&r["signing_private"]));
    let mut acct = Account::from_identity(identity);
    let pair = KeyPair::from_secret_bytes(secret(&r["signed_prekey_private"]));
    acct.add_signed_prekey(SignedPreKey {
        id: bundle.signed_prekey_id,
        pair,
        signature: bundle.signed_prekey_signature,
        created_at: 0,
    });
    if let Some((id, _)) = bundle.one_time_prekey {
        acct.add_one_time_prekey(OneTimePreKey {
            id,
            pair: KeyPair::from_secret_bytes(secret(&r["one_time_prekey_private"])),
        });
    }
    acct
}

#[test]
fn x3dh_cases() {
    let cases = load("x3dh.json");
    let cases = cases.as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let name = s(&case["name"]);
        let i = &case["initiator"];
        let bundle = bundle_of(&case["bundle"]);
        let alice =
            IdentityKeyPair::from_secret_bytes(secret(&i["identity_private"]), Zeroizing::new([1u8; 32]));
        let ek = KeyPair::from_secret_bytes(secret(&i["ephemeral_private"]));
        let result = wac1::x3dh::initiate(&alice, &bundle, &ek);
        match case["error"].as_str() {
            Some(code) => {
                let err = result.expect_err(name);
                assert_eq!(err.code(), code, "{name}");
                // The full session start must refuse too, and leave the record empty.
                let mut record = SessionRecord::new();
                let ratchet = KeyPair::from_secret_bytes(Zeroizing::new([9u8; 32]));
                assert!(record.initiate_with(&alice, &bundle, ek.clone(), ratchet).is_err(), "{name}");
                assert!(!record.has_session());
            }
            None => {
                let got = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(alice.dh().public(), &k(&i["identity_public"]), "{name}");
                assert_eq!(&got.ephemeral_public, &k(&i["ephemeral_public"]), "{name}");
                assert_eq!(*got.shared_secret, k(&case["shared_secret"]), "{name}");
                assert_eq!(got.associated_data.to_vec(), b(&case["associated_data"]), "{name}");
                let bob = responder_account(&case["responder"], &bundle);
                let spk = bob.signed_prekeys()[0].clone();
                let opk = bob.one_time_prekeys().next().cloned();
                let (sk, ad) = wac1::x3dh::respond(
                    bob.identity(),
                    &spk,
                    opk.as_ref(),
                    &k(&i["identity_public"]),
                    &wac1::keys::PreparedPublic::new(&got.ephemeral_public),
                )
                .unwrap();
                assert_eq!(*sk, k(&case["shared_secret"]), "{name} responder");
                assert_eq!(ad.to_vec(), b(&case["associated_data"]), "{name} responder");
            }
        }
    }
}

/// Hands out the vector's `next_ratchet_private` as the "random" key of a DH ratchet step.
struct FixedRng(Option<[u8; 32]>);
impl rand_core::RngCore for FixedRng {
    fn next_u32(&mut self) -> u32 {
        panic!("unexpected randomness")
    }
    fn next_u64(&mut self) -> u64 {
        panic!("unexpected randomness")
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        let key = self.0.take().expect("this step was not expected to generate a key");
        dest.copy_from_slice(&key);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl rand_core::CryptoRng for FixedRng {}

fn opt_k(v: &Value) -> Option<[u8; 32]> {
    if v.is_null() {
        None
    } else {
        Some(k(v))
    }
}

fn check_state(record: &SessionRecord, expect: &Value, label: &str) {
    let view = record.active().unwrap().ratchet().view();
    assert_eq!(view.root_key, k(&expect["root_key"]), "{label}: root_key");
    assert_eq!(view.sending_chain_key, opt_k(&expect["sending_chain_key"]), "{label}: sending_chain_key");
    assert_eq!(
        view.receiving_chain_key,
        opt_k(&expect["receiving_chain_key"]),
        "{label}: receiving_chain_key"
    );
    assert_eq!(
        view.sending_ratchet_public,
        k(&expect["sending_ratchet_public"]),
        "{label}: sending_ratchet_public"
    );
    assert_eq!(
        view.remote_ratchet_public,
        opt_k(&expect["remote_ratchet_public"]),
        "{label}: remote_ratchet_public"
    );
    assert_eq!(u64::from(view.ns), expect["ns"].as_u64().unwrap(), "{label}: ns");
    assert_eq!(u64::from(view.nr), expect["nr"].as_u64().unwrap(), "{label}: nr");
    assert_eq!(u64::from(view.pn), expect["pn"].as_u64().unwrap(), "{label}: pn");
    assert_eq!(
        view.skipped_count as u64,
        expect["skipped_count"].as_u64().unwrap(),
        "{label}: skipped_count"
    );
}

#[test]
fn ratchet_conversation() {
    let v = load("ratchet.json");
    let a = &v["alice"];
    let bundle = bundle_of(&v["bob_bundle"]);
    let alice_id =
        IdentityKeyPair::from_secret_bytes(secret(&a["identity_private"]), secret(&a["signing_private"]));
    let mut bob = responder_account(&v["bob"], &bundle);
    bob.set_limits(wac1::Limits { max_skip: u32_of(&v["max_skip"]), ..wac1::Limits::default() });

    let mut alice = SessionRecord::new();
    alice
        .initiate_with(
            &alice_id,
            &bundle,
            KeyPair::from_secret_bytes(secret(&a["ephemeral_private"])),
            KeyPair::from_secret_bytes(secret(&a["first_ratchet_private"])),
        )
        .unwrap();
    let mut bob_record = SessionRecord::new();

    let steps = v["steps"].as_array().unwrap();
    assert!(!steps.is_empty());
    for (i, step) in steps.iter().enumerate() {
        let label = format!("step {i} ({} {} {})", s(&step["op"]), s(&step["party"]), s(&step["label"]));
        let alice_turn = s(&step["party"]) == "alice";
        match s(&step["op"]) {
            "encrypt" => {
                let record = if alice_turn { &mut alice } else { &mut bob_record };
                let msg = record.encrypt(&b(&step["plaintext"])).unwrap();
                let expect = &step["expect"];
                assert_eq!(msg.header.dh, k(&expect["header"]["dh"]), "{label}: dh");
                assert_eq!(u64::from(msg.header.pn), expect["header"]["pn"].as_u64().unwrap(), "{label}: pn");
                assert_eq!(u64::from(msg.header.n), expect["header"]["n"].as_u64().unwrap(), "{label}: n");
                assert_eq!(b64(&msg.ciphertext), s(&expect["ciphertext"]), "{label}: ciphertext");
                let x = &expect["x3dh"];
                match &msg.x3dh {
                    None => assert!(x.is_null(), "{label}: x3dh expected"),
                    Some(h) => {
                        assert_eq!(h.ik, k(&x["ik"]), "{label}");
                        assert_eq!(h.sk, k(&x["sk"]), "{label}");
                        assert_eq!(h.ek, k(&x["ek"]), "{label}");
                        assert_eq!(u64::from(h.spk_id), x["spk_id"].as_u64().unwrap(), "{label}");
                        assert_eq!(h.opk_id.map(u64::from), x["opk_id"].as_u64(), "{label}");
                    }
                }
                // Our encoding and the vector's both parse to the same message.
                assert_eq!(WireMessage::parse(&msg.encode()).unwrap(), msg, "{label}");
                assert_eq!(WireMessage::parse(s(&expect["wire"])).unwrap(), msg, "{label}");
                check_state(record, &step["state_after"], &label);
            }
            "decrypt" => {
                let header = Header {
                    dh: k(&step["header"]["dh"]),
                    pn: u32_of(&step["header"]["pn"]),
                    n: u32_of(&step["header"]["n"]),
                };
                // The x3dh field travels with the message exactly as its sender encoded it.
                let x3dh = sent_x3dh(steps, s(&step["label"]));
                let msg = WireMessage { header, ciphertext: b(&step["ciphertext"]), x3dh };
                let mut rng = FixedRng(opt_k(&step["next_ratchet_private"]));
                let (before_alice, before_bob, before_acct) =
                    (alice.to_bytes(), bob_record.to_bytes(), bob.to_bytes());
                let result = if alice_turn {
                    alice.decrypt(
                        &Account::generate(&mut rand_core::OsRng),
                        &msg,
                        &wac1::Limits::default(),
                        &mut rng,
                    )
                } else {
                    bob.decrypt(&mut bob_record, &msg, &mut rng)
                };
                match step["expect_error"].as_str() {
                    Some(code) => {
                        let err = result.expect_err(&label);
                        assert!(
                            matches!(
                                err,
                                Error::DuplicateMessage
                                    | Error::DecryptionFailed
                                    | Error::TooManySkipped { .. }
                            ),
                            "{label}: expected {code}, got {err:?}"
                        );
                        if code == "too_many_skipped" {
                            assert_eq!(err.code(), code, "{label}");
                        }
                        assert_eq!(*alice.to_bytes(), *before_alice, "{label}: alice state changed");
                        assert_eq!(*bob_record.to_bytes(), *before_bob, "{label}: bob state changed");
                        assert_eq!(*bob.to_bytes(), *before_acct, "{label}: bob account changed");
                    }
                    None => {
                        let got = result.unwrap_or_else(|e| panic!("{label}: {e:?}"));
                        assert_eq!(got.plaintext, b(&step["expect_plaintext"]), "{label}");
                    }
                }
                let record = if alice_turn { &alice } else { &bob_record };
                check_state(record, &step["state_after"], &label);
            }
            other => panic!("unknown op {other}"),
        }
    }
    // Bob consumed the one-time prekey on the first message.
    assert_eq!(bob.one_time_prekeys().count(), 0);
}

fn sent_x3dh(steps: &[Value], label: &str) -> Option<wac1::X3dhHeader> {
    let sent = steps.iter().find(|st| s(&st["op"]) == "encrypt" && s(&st["label"]) == label)?;
    let x = &sent["expect"]["x3dh"];
    if x.is_null() {
        return None;
    }
    Some(wac1::X3dhHeader {
        ik: k(&x["ik"]),
        sk: k(&x["sk"]),
        ek: k(&x["ek"]),
        spk_id: u32_of(&x["spk_id"]),
        opk_id: x["opk_id"].as_u64().map(|n| u32::try_from(n).unwrap()),
    })
}
