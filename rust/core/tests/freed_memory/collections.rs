//! Keys held in collections that grow, shrink and reorder: one-time prekeys (a B-tree),
//! skipped message keys (a deque, filled through a growing staging list) and the sessions
//! of a record. Moving an entry must never leave a copy of its key in freed memory.

use rand_core::OsRng;
use wac1::kdf::kdf_ck;
use wac1::{Account, KeyPair, OneTimePreKey, Serialize, SessionRecord, WireMessage};
use zeroize::Zeroizing;

use super::{freed_blocks_with_secrets, plant, SECRETS};

#[test]
fn one_time_prekeys_leave_no_copy_when_the_map_reshapes() {
    let hits = freed_blocks_with_secrets(|| {
        let mut account = Account::generate(&mut OsRng);
        account.generate_one_time_prekeys(20, &mut OsRng).unwrap();
        // Planted above the others, so later insertions split its node and move it.
        let pair = KeyPair::from_secret_bytes(Zeroizing::new(SECRETS[1]));
        account.add_one_time_prekey(OneTimePreKey { id: 500, pair });
        account.generate_one_time_prekeys(300, &mut OsRng).unwrap();
        for id in (1..500).step_by(3) {
            account.remove_one_time_prekey(id);
        }
        let back = Account::from_bytes(&account.to_bytes()).unwrap();
        assert!(back.one_time_prekeys().any(|k| k.id == 500));
        drop((account, back));
    });
    assert_eq!(hits, 0, "a freed block still held a planted one-time prekey");
}

#[test]
fn skipped_message_keys_and_sessions_leave_no_copy() {
    let mut alice = Account::generate(&mut OsRng);
    let mut bob = Account::generate(&mut OsRng);
    bob.rotate_signed_prekey(0, &mut OsRng);
    let opk = bob.generate_one_time_prekeys(1, &mut OsRng).unwrap()[0].id;
    let hits = freed_blocks_with_secrets(|| {
        let mut to_bob = SessionRecord::new();
        to_bob.initiate(alice.identity(), &bob.bundle(Some(opk)).unwrap(), &mut OsRng).unwrap();
        // The message keys of Alice's first chain, derived here so the spy can look for them.
        let mut ck = Zeroizing::new(to_bob.active().unwrap().ratchet().view().sending_chain_key.unwrap());
        for _ in 0..40 {
            let (mk, next) = kdf_ck(&ck);
            plant(&mk);
            ck = next;
        }
        let wires: Vec<String> =
            (0..40).map(|i| to_bob.encrypt(format!("m{i}").as_bytes()).unwrap().encode()).collect();
        let mut from_alice = SessionRecord::new();
        // The last one first: 39 keys staged and kept for later.
        let last = WireMessage::parse(&wires[39]).unwrap();
        bob.decrypt(&mut from_alice, &last, &mut OsRng).unwrap();
        // The others out of order, so the deque shifts entries as it removes them.
        for i in (0..39).rev().step_by(2).chain((0..39).step_by(2)) {
            if let Ok(m) = WireMessage::parse(&wires[i]) {
                let _ = bob.decrypt(&mut from_alice, &m, &mut OsRng);
            }
        }
        // Restarting sessions reorders and grows the record's session list.
        for _ in 0..3 {
            let opk = bob.generate_one_time_prekeys(1, &mut OsRng).unwrap()[0].id;
            to_bob.initiate(alice.identity(), &bob.bundle(Some(opk)).unwrap(), &mut OsRng).unwrap();
            let m = to_bob.encrypt(b"again").unwrap();
            bob.decrypt(&mut from_alice, &m, &mut OsRng).unwrap();
        }
        let back = SessionRecord::from_bytes(&from_alice.to_bytes()).unwrap();
        assert_eq!(back, from_alice);
        drop((to_bob, from_alice, back, wires));
    });
    assert_eq!(hits, 0, "a freed block still held a planted message key");
    let _ = &mut alice;
}
