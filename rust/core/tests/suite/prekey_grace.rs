//! Signed prekeys stay inside their grace period whatever the rotation interval (issue 10,
//! item 7): rotation never drops a key by count alone; only `expire_signed_prekeys` drops
//! keys by age, and a hard cap bounds the list.

use rand_core::OsRng;
use wac1::prekeys::MAX_SIGNED_PREKEYS;
use wac1::{Account, PreKeyStore, Serialize};

const DAY: u64 = 86_400;

/// Daily rotation with a 14-day grace period, as a client configured with
/// `signed_prekey_rotation_days = 1` and `signed_prekey_keep_days = 14` runs it.
#[test]
fn daily_rotation_keeps_every_key_of_the_grace_period() {
    let mut a = Account::generate(&mut OsRng);
    let mut ids = Vec::new();
    for day in 0..10u64 {
        ids.push(a.rotate_signed_prekey(day * DAY, &mut OsRng).id);
        a.expire_signed_prekeys((day * DAY).saturating_sub(14 * DAY));
    }
    for id in &ids {
        assert!(a.signed_prekey(*id).is_some(), "signed prekey {id} dropped inside its grace period");
    }
    // The account, with all of them, survives serialization.
    let back = Account::from_bytes(&a.to_bytes()).unwrap();
    assert_eq!(back, a);
    assert_eq!(back.signed_prekeys().len(), 10);
}

#[test]
fn expiry_drops_only_keys_older_than_the_cutoff_and_never_the_current_one() {
    let mut a = Account::generate(&mut OsRng);
    for day in 0..6u64 {
        a.rotate_signed_prekey(day * DAY, &mut OsRng);
    }
    assert_eq!(a.expire_signed_prekeys(3 * DAY), 3);
    let kept: Vec<u64> = a.signed_prekeys().iter().map(|k| k.created_at).collect();
    assert_eq!(kept, vec![5 * DAY, 4 * DAY, 3 * DAY]);
    // Everything is older than the cutoff: the current key still stays.
    assert_eq!(a.expire_signed_prekeys(100 * DAY), 2);
    assert_eq!(a.signed_prekeys().len(), 1);
    assert_eq!(a.current_signed_prekey().unwrap().created_at, 5 * DAY);
}

#[test]
fn the_hard_cap_bounds_the_list_and_the_codec_follows_it() {
    let mut a = Account::generate(&mut OsRng);
    for i in 0..(MAX_SIGNED_PREKEYS as u64 + 5) {
        a.rotate_signed_prekey(i, &mut OsRng);
    }
    assert_eq!(a.signed_prekeys().len(), MAX_SIGNED_PREKEYS);
    // Newest first, the oldest beyond the cap gone.
    assert_eq!(a.current_signed_prekey().unwrap().created_at, MAX_SIGNED_PREKEYS as u64 + 4);
    assert_eq!(a.signed_prekeys().last().unwrap().created_at, 5);
    let bytes = a.to_bytes();
    assert_eq!(Account::from_bytes(&bytes).unwrap(), a);
}
