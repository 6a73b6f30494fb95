//! Helpers shared by the hardening tests: cheap stores (test-only weak Argon2) and peers.

use std::path::{Path, PathBuf};

use wac1_store::{KdfParams, Store, StoreOptions, StoredMessage};

pub fn opts() -> StoreOptions {
    StoreOptions {
        kdf: KdfParams { memory_kib: 64, iterations: 1, lanes: 1 },
        insecure_weak_kdf: true,
        ..Default::default()
    }
}

pub fn dir(tmp: &tempfile::TempDir, name: &str) -> PathBuf {
    tmp.path().join(name)
}

pub fn new_store(dir: &Path) -> Store {
    let mut s = Store::open(dir, "pw-1", opts()).unwrap();
    s.create_identity().unwrap();
    s.rotate_signed_prekey(1000).unwrap();
    s.generate_one_time_prekeys(3).unwrap();
    s
}

/// `from` starts a session with `to` (registered under `to_name`) with a one-time prekey.
pub fn connect(from: &mut Store, to: &mut Store, to_name: &str) {
    let opk = to.generate_one_time_prekeys(1).unwrap()[0].id;
    let bundle = to.account().unwrap().bundle(Some(opk)).unwrap();
    from.start_session(to_name, &bundle).unwrap();
}

pub fn item(peer: &str, wire: &str, id: &str) -> (String, String, String) {
    (peer.into(), wire.into(), id.into())
}

pub fn message(id: &str, peer: &str, from: &str, ts: i64, status: &str) -> StoredMessage {
    StoredMessage {
        id: id.into(),
        peer_id: peer.into(),
        from_user: from.into(),
        to: "me".into(),
        direction: "in".into(),
        kind: "text".into(),
        timestamp: ts,
        status: status.into(),
        content: format!("from {from} at {ts}").into_bytes(),
        group_id: None,
    }
}

/// Runs SQL on a closed store's database file.
pub fn sql(dir: &Path, db: &str, statements: &str) {
    let c = rusqlite::Connection::open(dir.join(db)).unwrap();
    c.execute_batch(statements).unwrap();
}

/// One blob (with its generation where the table has one) of a closed store.
pub fn blob(dir: &Path, query: &str) -> Vec<u8> {
    let c = rusqlite::Connection::open(dir.join("keys.db")).unwrap();
    c.query_row(query, [], |r| r.get(0)).unwrap()
}
