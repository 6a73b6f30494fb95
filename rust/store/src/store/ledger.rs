//! Rollback detection for `keys.db`.
//!
//! Every row of `account`, `sessions`, `peers`, `kv`, `sent` and `inbox` carries a
//! generation `gen`: the value of a store-wide counter when the row was last written, bound
//! into the row's associated data. The sealed `ledger` row holds the counter and a keyed set
//! digest: the XOR of `HMAC(ledger key, table || row key || gen)` over every row. Each write
//! transaction takes the next generation, updates the digest incrementally (out with the old
//! tag, in with the new) and rewrites the ledger row in the same transaction.
//!
//! On open every row's `(table, key, gen)` is read and the digest recomputed: a row restored
//! from an older copy of the file (an older `gen`), a row deleted or added, or a ledger row
//! older than the rows, no longer matches, and the store refuses to open. While open, each
//! row read must carry the generation the ledger knows for it. What this cannot see is a
//! consistent rollback of the whole `keys.db` (ledger included): see docs/storage.md.

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::codec::{Dec, Enc};
use crate::crypto::SecretKey;
use crate::error::{Result, StoreError};

/// One row of a table covered by the ledger, addressed by its primary key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Row<'a> {
    Account,
    Session(&'a str),
    Peer(&'a str),
    Kv(&'a str),
    /// A sent wire: `(message id, peer)`; the primary key is the id.
    Sent(&'a str, &'a str),
    /// A decrypt result: `(peer, message id)`, the primary key.
    Inbox(&'a str, &'a str),
}

/// Length-prefixed concatenation: no two part lists encode alike.
pub(super) fn parts(items: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in items {
        out.extend_from_slice(&u32::try_from(p.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}

impl Row<'_> {
    pub(super) fn table(&self) -> &'static str {
        match self {
            Row::Account => "account",
            Row::Session(_) => "sessions",
            Row::Peer(_) => "peers",
            Row::Kv(_) => "kv",
            Row::Sent(..) => "sent",
            Row::Inbox(..) => "inbox",
        }
    }

    /// The primary key, encoded.
    fn key(&self) -> Vec<u8> {
        match self {
            Row::Account => parts(&[b"1"]),
            Row::Session(p) | Row::Peer(p) | Row::Kv(p) => parts(&[p.as_bytes()]),
            Row::Sent(id, _) => parts(&[id.as_bytes()]),
            Row::Inbox(peer, id) => parts(&[peer.as_bytes(), id.as_bytes()]),
        }
    }

    /// Every authenticated column: the associated data of the sealed blob.
    pub(super) fn ad(&self, gen: u64) -> Vec<u8> {
        let gen = gen.to_be_bytes();
        match self {
            Row::Sent(id, peer) => parts(&[id.as_bytes(), peer.as_bytes(), &gen]),
            _ => {
                let mut k = self.key();
                k.extend_from_slice(&parts(&[&gen]));
                k
            }
        }
    }

    /// Inserts or replaces the row.
    pub(super) fn put(&self, tx: &Transaction<'_>, gen: u64, blob: &[u8]) -> Result<()> {
        let gen = i64::try_from(gen).map_err(|_| StoreError::Storage("generation overflow".into()))?;
        let mut stmt = tx.prepare_cached(match self {
            Row::Account => {
                "INSERT INTO account(id, gen, blob) VALUES (1, ?2, ?3) \
                             ON CONFLICT(id) DO UPDATE SET gen = excluded.gen, blob = excluded.blob"
            }
            Row::Session(_) => {
                "INSERT INTO sessions(peer, gen, blob) VALUES (?1, ?2, ?3) \
                                ON CONFLICT(peer) DO UPDATE SET gen = excluded.gen, blob = excluded.blob"
            }
            Row::Peer(_) => {
                "INSERT INTO peers(peer, gen, blob) VALUES (?1, ?2, ?3) \
                             ON CONFLICT(peer) DO UPDATE SET gen = excluded.gen, blob = excluded.blob"
            }
            Row::Kv(_) => {
                "INSERT INTO kv(key, gen, blob) VALUES (?1, ?2, ?3) \
                           ON CONFLICT(key) DO UPDATE SET gen = excluded.gen, blob = excluded.blob"
            }
            Row::Sent(..) => "INSERT INTO sent(id, peer, gen, blob) VALUES (?1, ?4, ?2, ?3)",
            Row::Inbox(..) => "INSERT INTO inbox(peer, id, gen, blob) VALUES (?1, ?4, ?2, ?3)",
        })?;
        match self {
            Row::Account => stmt.execute(params![1, gen, blob])?,
            Row::Session(p) | Row::Peer(p) | Row::Kv(p) => stmt.execute(params![p, gen, blob])?,
            Row::Sent(id, peer) => stmt.execute(params![id, gen, blob, peer])?,
            Row::Inbox(peer, id) => stmt.execute(params![peer, gen, blob, id])?,
        };
        Ok(())
    }

    /// Deletes the row (no error when absent).
    pub(super) fn delete(&self, tx: &Transaction<'_>) -> Result<()> {
        match self {
            Row::Account => tx.execute("DELETE FROM account WHERE id = 1", [])?,
            Row::Session(p) => tx.execute("DELETE FROM sessions WHERE peer = ?1", [p])?,
            Row::Peer(p) => tx.execute("DELETE FROM peers WHERE peer = ?1", [p])?,
            Row::Kv(k) => tx.execute("DELETE FROM kv WHERE key = ?1", [k])?,
            Row::Sent(id, _) => tx.execute("DELETE FROM sent WHERE id = ?1", [id])?,
            Row::Inbox(peer, id) => {
                tx.execute("DELETE FROM inbox WHERE peer = ?1 AND id = ?2", [peer, id])?
            }
        };
        Ok(())
    }
}

/// A row's identity in the ledger: a keyed hash of its table and primary key (16 bytes keep
/// the in-memory map small; a collision would need 2^64 rows).
type RowId = [u8; 16];

/// The verified state of the ledger: counter, digest and every row's generation.
pub(super) struct Ledger {
    mac: Hmac<Sha256>,
    counter: u64,
    digest: [u8; 32],
    versions: HashMap<RowId, u64>,
}

impl core::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ledger").field("counter", &self.counter).field("rows", &self.versions.len()).finish()
    }
}

/// The changes of one write transaction, applied to the [`Ledger`] once committed.
#[derive(Debug)]
pub(super) struct LedgerTx {
    pub(super) gen: u64,
    digest: [u8; 32],
    changes: HashMap<RowId, Option<u64>>,
}

pub(super) fn rolled_back(what: &str) -> StoreError {
    StoreError::Corrupt(format!(
        "keys.db was tampered with: {what} (a row was restored from an older copy, moved, added or \
         deleted); restore the whole store from a backup"
    ))
}

fn xor(acc: &mut [u8; 32], tag: &[u8; 32]) {
    for (a, t) in acc.iter_mut().zip(tag) {
        *a ^= t;
    }
}

/// Each table's primary key and generation; covering indexes keep this scan off the blobs.
const SCAN: [(&str, &str); 6] = [
    ("account", "SELECT '1', NULL, gen FROM account"),
    ("sessions", "SELECT peer, NULL, gen FROM sessions INDEXED BY sessions_gen"),
    ("peers", "SELECT peer, NULL, gen FROM peers INDEXED BY peers_gen"),
    ("kv", "SELECT key, NULL, gen FROM kv INDEXED BY kv_gen"),
    ("sent", "SELECT id, NULL, gen FROM sent INDEXED BY sent_gen"),
    ("inbox", "SELECT peer, id, gen FROM inbox INDEXED BY inbox_gen"),
];

impl Ledger {
    /// `HMAC(ledger key, table || primary key)`, truncated.
    fn row_id(&self, table: &str, key: &[u8]) -> RowId {
        let mut m = self.mac.clone();
        m.update(&parts(&[table.as_bytes(), key]));
        let full: [u8; 32] = m.finalize().into_bytes().into();
        let mut id = [0u8; 16];
        id.copy_from_slice(full.get(..16).unwrap_or(&[0; 16]));
        id
    }

    /// The row's tag at a generation: `HMAC(ledger key, "tag" || row id || gen)`.
    fn tag(&self, id: &RowId, gen: u64) -> [u8; 32] {
        let mut m = self.mac.clone();
        m.update(b"tag\0");
        m.update(id);
        m.update(&gen.to_be_bytes());
        m.finalize().into_bytes().into()
    }

    /// Reads the ledger row and checks every row of `keys.db` against it.
    pub(super) fn load(conn: &Connection, data_key: &SecretKey) -> Result<Self> {
        let mac = data_key.subkey(b"WAC1-store/ledger-key/1").hmac();
        let mut ledger = Self { mac, counter: 0, digest: [0; 32], versions: HashMap::new() };
        let mut digest = [0u8; 32];
        let mut max_gen = 0u64;
        for (table, sql) in SCAN {
            let mut stmt = conn.prepare(sql)?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let a = r.get_ref(0)?.as_bytes().map_err(rusqlite::Error::from)?;
                let key = match r.get_ref(1)?.as_bytes_or_null().map_err(rusqlite::Error::from)? {
                    Some(b) => parts(&[a, b]),
                    None => parts(&[a]),
                };
                let gen = u64::try_from(r.get::<_, i64>(2)?)
                    .map_err(|_| rolled_back("a generation is negative"))?;
                let id = ledger.row_id(table, &key);
                xor(&mut digest, &ledger.tag(&id, gen));
                max_gen = max_gen.max(gen);
                if ledger.versions.insert(id, gen).is_some() {
                    return Err(rolled_back("a row appears twice"));
                }
            }
        }
        ledger.versions.shrink_to_fit();
        let blob: Option<Vec<u8>> =
            conn.query_row("SELECT blob FROM ledger WHERE id = 1", [], |r| r.get(0)).optional()?;
        match blob {
            None if ledger.versions.is_empty() => Ok(ledger),
            None => Err(rolled_back("the ledger row is missing")),
            Some(blob) => {
                let raw = data_key.open("ledger", b"1", &blob)?;
                let mut d = Dec::new(&raw, 1, "ledger")?;
                let counter = u64::try_from(d.i64()?).map_err(|_| rolled_back("bad counter"))?;
                let stored: [u8; 32] = d
                    .bytes()?
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("a stored ledger is malformed".into()))?;
                d.finish()?;
                if max_gen > counter || stored != digest {
                    return Err(rolled_back("its rows do not match the sealed ledger"));
                }
                ledger.counter = counter;
                ledger.digest = digest;
                Ok(ledger)
            }
        }
    }

    /// The generation the ledger knows for a row, if it exists.
    pub(super) fn version(&self, row: &Row<'_>) -> Option<u64> {
        self.versions.get(&self.row_id(row.table(), &row.key())).copied()
    }

    /// Checks that a row read from the file carries the generation the ledger knows.
    pub(super) fn check(&self, row: &Row<'_>, gen: i64) -> Result<u64> {
        match (self.version(row), u64::try_from(gen)) {
            (Some(known), Ok(gen)) if known == gen => Ok(gen),
            _ => Err(rolled_back(&format!("a row of table '{}' is not the one last written", row.table()))),
        }
    }

    /// Starts the changes of one write transaction.
    pub(super) fn begin(&self) -> LedgerTx {
        LedgerTx { gen: self.counter.saturating_add(1), digest: self.digest, changes: HashMap::new() }
    }

    /// Makes a committed transaction's changes current.
    pub(super) fn apply(&mut self, tx: LedgerTx) {
        self.counter = tx.gen;
        self.digest = tx.digest;
        for (id, v) in tx.changes {
            match v {
                Some(g) => self.versions.insert(id, g),
                None => self.versions.remove(&id),
            };
        }
    }
}

impl LedgerTx {
    fn current(&self, ledger: &Ledger, id: &RowId) -> Option<u64> {
        match self.changes.get(id) {
            Some(v) => *v,
            None => ledger.versions.get(id).copied(),
        }
    }

    /// Seals a row's new content under this transaction's generation and records it.
    pub(super) fn seal(
        &mut self,
        ledger: &Ledger,
        data_key: &SecretKey,
        row: Row<'_>,
        plain: &[u8],
    ) -> Result<Vec<u8>> {
        let id = ledger.row_id(row.table(), &row.key());
        if let Some(old) = self.current(ledger, &id) {
            xor(&mut self.digest, &ledger.tag(&id, old));
        }
        xor(&mut self.digest, &ledger.tag(&id, self.gen));
        let blob = data_key.seal(row.table(), &row.ad(self.gen), plain)?;
        self.changes.insert(id, Some(self.gen));
        Ok(blob)
    }

    /// Records the deletion of a row (nothing when it does not exist).
    pub(super) fn delete(&mut self, ledger: &Ledger, row: Row<'_>) -> bool {
        let id = ledger.row_id(row.table(), &row.key());
        match self.current(ledger, &id) {
            Some(old) => {
                xor(&mut self.digest, &ledger.tag(&id, old));
                self.changes.insert(id, None);
                true
            }
            None => false,
        }
    }

    /// Writes the sealed ledger row inside the transaction.
    pub(super) fn write(&self, tx: &Transaction<'_>, data_key: &SecretKey) -> Result<()> {
        let mut e = Enc::new(1);
        e.i64(i64::try_from(self.gen).map_err(|_| StoreError::Storage("generation overflow".into()))?);
        e.bytes(&self.digest);
        let plain: Zeroizing<Vec<u8>> = e.finish();
        let blob = data_key.seal("ledger", b"1", &plain)?;
        tx.prepare_cached(
            "INSERT INTO ledger(id, blob) VALUES (1, ?1) ON CONFLICT(id) DO UPDATE SET blob = excluded.blob",
        )?
        .execute([blob])?;
        Ok(())
    }
}
