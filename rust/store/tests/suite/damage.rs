//! Random damage to a store's files never panics and never silently resets: every call
//! returns a result, and whatever still opens is the original data (or an error).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;

use rand_core::{OsRng, RngCore};
use wac1::{Account, PublicIdentity};
use wac1_store::{KdfParams, Store, StoreError, StoreOptions, StoredMessage};

fn opts() -> StoreOptions {
    StoreOptions {
        kdf: KdfParams { memory_kib: 64, iterations: 1, lanes: 1 },
        insecure_weak_kdf: true,
        ..Default::default()
    }
}

/// A store with an identity, prekeys, two sessions, key-value rows and history, checkpointed
/// into keys.db (no WAL left), and its identity.
fn build(dir: &Path) -> PublicIdentity {
    let mut s = Store::open(dir, "pw", opts()).unwrap();
    s.create_identity().unwrap();
    s.rotate_signed_prekey(1).unwrap();
    s.generate_one_time_prekeys(20).unwrap();
    for peer in ["bob", "carol"] {
        let mut other = Account::generate(&mut OsRng);
        other.rotate_signed_prekey(0, &mut OsRng);
        s.start_session(peer, &other.bundle(None).unwrap()).unwrap();
        for i in 0..5 {
            s.encrypt(peer, b"hello", Some(&format!("{peer}{i}"))).unwrap();
        }
    }
    for i in 0..20 {
        s.kv_set(&format!("k{i}"), &[i as u8; 100]).unwrap();
        s.save_message(&StoredMessage {
            id: format!("m{i}"),
            peer_id: "bob".into(),
            from_user: "me".into(),
            to: "bob".into(),
            direction: "out".into(),
            kind: "text".into(),
            timestamp: i64::from(i),
            status: "sent".into(),
            content: vec![i as u8; 200],
            group_id: None,
        })
        .unwrap();
        s.outbox_add(&format!("o{i}"), "bob", &[1u8; 150], i64::from(i)).unwrap();
    }
    let id = s.keys_identity().unwrap();
    drop(s);
    id
}

/// Exercises the store; any error is fine, a panic fails the test.
fn exercise(s: &mut Store, identity: &PublicIdentity) -> Result<(), StoreError> {
    assert_eq!(s.keys_identity()?, *identity, "a damaged store opened as another identity");
    s.has_session("bob")?;
    s.encrypt("carol", b"x", None)?;
    s.encrypt("bob", b"x", Some("bob1"))?;
    s.kv_get("k3")?;
    s.outbox()?;
    s.messages("bob", 50, None)?;
    s.get_message("m7", None, None)?;
    s.update_status(&["m3".to_owned()], "read")?;
    s.export_account("p")?;
    s.generate_one_time_prekeys(1)?;
    Ok(())
}

#[test]
fn random_byte_damage_never_panics() {
    let tmp = tempfile::tempdir().unwrap();
    let pristine = tmp.path().join("pristine");
    let identity = build(&pristine);
    let originals = [
        ("keys.db", std::fs::read(pristine.join("keys.db")).unwrap()),
        ("messages.db", std::fs::read(pristine.join("messages.db")).unwrap()),
    ];
    assert!(
        !pristine.join("keys.db-wal").exists()
            || std::fs::metadata(pristine.join("keys.db-wal")).unwrap().len() == 0
    );
    let mut outcomes = [0usize; 3];
    let rounds: usize = std::env::var("WAC1_DAMAGE_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(150);
    for round in 0..rounds {
        let dir = tmp.path().join(format!("r{round}"));
        std::fs::create_dir(&dir).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        // Two rounds in three damage keys.db, one in three messages.db.
        let (target, original) = &originals[usize::from(round % 3 == 2)];
        for (name, content) in &originals {
            std::fs::write(dir.join(name), content).unwrap();
        }
        let mut bytes = original.clone();
        let flips = 1 + (OsRng.next_u32() % 8) as usize;
        for _ in 0..flips {
            let at = OsRng.next_u32() as usize % bytes.len();
            bytes[at] ^= 1 << (OsRng.next_u32() % 8);
        }
        if round % 10 == 0 {
            bytes.truncate(OsRng.next_u32() as usize % bytes.len());
        }
        std::fs::write(dir.join(target), &bytes).unwrap();
        #[cfg(unix)]
        for f in ["keys.db", "messages.db"] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.join(f), std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        match Store::open(&dir, "pw", StoreOptions { create: false, ..opts() }) {
            Err(StoreError::Corrupt(_)) => outcomes[0] += 1,
            Err(e) => panic!("round {round}: unexpected error kind {e:?}"),
            Ok(mut s) => match exercise(&mut s, &identity) {
                Ok(()) => outcomes[1] += 1,
                Err(StoreError::Corrupt(_)) => outcomes[2] += 1,
                // Damage to a row's key (a peer id) hides that row: its session is missing.
                Err(StoreError::Crypto(wac1::Error::NoSession(_))) => outcomes[2] += 1,
                Err(e) => panic!("round {round}: unexpected error kind {e:?}"),
            },
        }
    }
    // Most single-bit damage is caught at open (quick_check, wrapped-key check) or on use.
    assert!(outcomes[0] + outcomes[2] > 0, "{outcomes:?}");
}
