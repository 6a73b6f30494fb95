//! Issue 10 item 5: the Argon2 floor, parameters that never weaken, and caps on what an
//! unauthenticated `meta` table or backup document may ask for.

use sha2::{Digest, Sha256};
use wac1_store::{KdfParams, Store, StoreError, StoreOptions};

use crate::common::*;

fn stored_kdf(d: &std::path::Path) -> KdfParams {
    let c = rusqlite::Connection::open(d.join("keys.db")).unwrap();
    let v: Vec<u8> = c.query_row("SELECT value FROM meta WHERE name = 'kdf'", [], |r| r.get(0)).unwrap();
    KdfParams::from_json(std::str::from_utf8(&v).unwrap()).unwrap()
}

#[test]
fn the_floor_holds_without_the_test_switch() {
    assert!(KdfParams { memory_kib: 19 * 1024, iterations: 2, lanes: 1 }.validate().is_ok());
    assert!(KdfParams::default().validate().is_ok());
    for weak in [
        KdfParams { memory_kib: 19 * 1024 - 1, iterations: 2, lanes: 1 },
        KdfParams { memory_kib: 64 * 1024, iterations: 1, lanes: 1 },
        KdfParams { memory_kib: 64, iterations: 1, lanes: 1 },
    ] {
        assert!(matches!(weak.validate(), Err(StoreError::Invalid(_))), "{weak:?}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let strict = StoreOptions { insecure_weak_kdf: false, ..opts() };
    assert!(matches!(Store::open(dir(&tmp, "a"), "pw", strict.clone()), Err(StoreError::Invalid(_))));
    // A store made with weak parameters (a test build) is refused by a strict open.
    let d = dir(&tmp, "weak");
    drop(new_store(&d));
    let strict = StoreOptions { kdf: KdfParams { memory_kib: 19 * 1024, iterations: 2, lanes: 1 }, ..strict };
    assert!(matches!(Store::open(&d, "pw-1", strict), Err(StoreError::Corrupt(_))));
}

#[test]
fn change_password_and_exports_never_weaken_the_stored_parameters() {
    let tmp = tempfile::tempdir().unwrap();
    let d = dir(&tmp, "me");
    let stronger = KdfParams { memory_kib: 1024, iterations: 3, lanes: 1 };
    let mut s = Store::open(&d, "pw-1", StoreOptions { kdf: stronger, ..opts() }).unwrap();
    s.create_identity().unwrap();
    drop(s);
    // Reopened with cheaper parameters (they only apply to new stores).
    let mut s = Store::open(&d, "pw-1", opts()).unwrap();
    s.change_password("pw-1", "pw-2").unwrap();
    let doc = s.export_account("backup pass").unwrap();
    drop(s);
    assert_eq!(stored_kdf(&d), stronger);
    let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(v["kdf"]["memory_kib"], 1024);
    assert_eq!(v["kdf"]["iterations"], 3);
    assert!(Store::open(&d, "pw-2", opts()).is_ok());
}

/// Rewrites the `meta` rows as an attacker would, keeping the unkeyed check consistent.
fn hostile_meta(d: &std::path::Path, kdf_json: &str, salt: &[u8]) {
    let c = rusqlite::Connection::open(d.join("keys.db")).unwrap();
    let wrapped: Vec<u8> =
        c.query_row("SELECT value FROM meta WHERE name = 'wrapped_key'", [], |r| r.get(0)).unwrap();
    let mut h = Sha256::new();
    h.update(b"WAC1-store/wrap-check/1\0");
    h.update(kdf_json.as_bytes());
    h.update([0]);
    h.update(salt);
    h.update(&wrapped);
    let check = h.finalize().to_vec();
    for (name, value) in
        [("kdf", kdf_json.as_bytes().to_vec()), ("salt", salt.to_vec()), ("wrap_check", check)]
    {
        c.execute("UPDATE meta SET value = ?2 WHERE name = ?1", rusqlite::params![name, value]).unwrap();
    }
}

#[test]
fn hostile_meta_parameters_are_refused_before_any_derivation() {
    let tmp = tempfile::tempdir().unwrap();
    let costly = [
        r#"{"algorithm":"argon2id","version":19,"memory_kib":4194304,"iterations":1,"lanes":1}"#,
        r#"{"algorithm":"argon2id","version":19,"memory_kib":65536,"iterations":1000,"lanes":1}"#,
        r#"{"algorithm":"argon2id","version":19,"memory_kib":65536,"iterations":3,"lanes":16}"#,
    ];
    for (i, kdf) in costly.iter().enumerate() {
        let d = dir(&tmp, &format!("m{i}"));
        drop(new_store(&d));
        hostile_meta(&d, kdf, &[7u8; 16]);
        assert!(matches!(Store::open(&d, "pw-1", opts()), Err(StoreError::Corrupt(_))), "{kdf}");
    }
    let d = dir(&tmp, "salt");
    drop(new_store(&d));
    hostile_meta(&d, &opts().kdf.to_json(), &vec![1u8; 1 << 20]);
    assert!(matches!(Store::open(&d, "pw-1", opts()), Err(StoreError::Corrupt(_))));
}

#[test]
fn hostile_backup_documents_are_refused_before_any_derivation() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = new_store(&dir(&tmp, "me"));
    let doc: serde_json::Value = serde_json::from_str(&s.export_account("pass").unwrap()).unwrap();
    let hostile = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut d = doc.clone();
        f(&mut d);
        d.to_string()
    };
    let docs = [
        hostile(&|d| d["kdf"]["memory_kib"] = 4_194_304.into()),
        hostile(&|d| d["kdf"]["iterations"] = 1000.into()),
        hostile(&|d| d["kdf"]["lanes"] = 16.into()),
        hostile(&|d| d["salt"] = "A".repeat(1 << 20).into()),
        hostile(&|d| d["salt"] = "AAAA".into()),
    ];
    for (i, d) in docs.iter().enumerate() {
        let r = Store::import_account(dir(&tmp, &format!("i{i}")), "pw", d, "pass", opts());
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{i}: {:?}", r.err());
        assert!(matches!(s.import_session("bob", d, "pass"), Err(StoreError::Invalid(_))));
    }
    // Without the test switch, a document with weak parameters is refused too.
    let strict = StoreOptions {
        kdf: KdfParams { memory_kib: 19 * 1024, iterations: 2, lanes: 1 },
        insecure_weak_kdf: false,
        ..opts()
    };
    let r = Store::import_account(dir(&tmp, "strict"), "pw", &doc.to_string(), "pass", strict);
    assert!(matches!(r, Err(StoreError::Invalid(_))));
}

#[test]
fn oversized_meta_values_are_refused_unread() {
    let tmp = tempfile::tempdir().unwrap();
    let d = dir(&tmp, "big");
    drop(new_store(&d));
    let c = rusqlite::Connection::open(d.join("keys.db")).unwrap();
    c.execute("UPDATE meta SET value = zeroblob(64 * 1024 * 1024) WHERE name = 'kdf'", []).unwrap();
    drop(c);
    assert!(matches!(Store::open(&d, "pw-1", opts()), Err(StoreError::Corrupt(_))));
}
