//! The store: `keys.db` (account, sessions, peers, key-value, sent wires, inbox) and
//! `messages.db` (history and outbox) in one directory per account. Each concept lives in
//! its own module behind the one [`Store`] type.

mod account;
mod cache;
mod fs;
mod history;
mod import;
mod keywrap;
mod kv;
mod ledger;
mod lock;
mod open;
mod outbox;
mod receive;
mod receive_many;
mod send;
mod sessions;
mod types;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use wac1::{Account, Limits};
use zeroize::Zeroizing;

use crate::crypto::{KdfParams, SecretKey};
use crate::error::{Result, StoreError};

use self::fs::*;
use cache::SessionCache;
use keywrap::*;
use ledger::{Ledger, Row};
use lock::DirLock;
pub(crate) use open::allow_weak as allow_weak_kdf;
pub use receive::ItemResult;
pub use types::{KeysPayload, OutboxItem, PeerIdentity, StoredMessage};

/// File names inside the account directory.
pub const KEYS_DB: &str = "keys.db";
/// History and outbox database.
pub const MESSAGES_DB: &str = "messages.db";
/// The lock file that keeps a second process out.
pub const LOCK_FILE: &str = ".lock";

/// Format 2: every authenticated column in the associated data, the rollback ledger, and
/// history and received results keyed by peer and id.
const FORMAT_VERSION: &str = "2";
const WRAP_AD: &[u8] = b"WAC1-store/data-key/1\0";
const MESSAGES_CHECK: &[u8] = b"WAC1-store/messages-check/1";
/// Longest peer id or key-value key accepted.
const MAX_ID_LEN: usize = 512;
/// Longest message id (PROTOCOL.md §7): 1 to 128 printable ASCII characters.
pub const MAX_MESSAGE_ID_LEN: usize = 128;
/// Most one-time prekeys generated in one call.
const MAX_PREKEY_BATCH: usize = 10_000;

/// How hard a commit works to survive failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// The commit is synced to the device before it returns: survives power loss.
    #[default]
    Full,
    /// The commit is in the OS's hands when it returns: survives a process crash only.
    Fast,
}

impl Durability {
    /// `"full"` or `"fast"`.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "full" => Ok(Durability::Full),
            "fast" => Ok(Durability::Fast),
            other => {
                Err(StoreError::Invalid(format!("durability must be \"full\" or \"fast\", not {other:?}")))
            }
        }
    }
}

/// Options of [`Store::open`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// Commit durability.
    pub durability: Durability,
    /// Create the store when it does not exist.
    pub create: bool,
    /// Argon2id parameters for a new store; [`Store::change_password`] and exports use the
    /// stronger of these and the stored ones, field by field.
    pub kdf: KdfParams,
    /// Ratchet limits applied when decrypting.
    pub limits: Limits,
    /// Most session records kept in memory.
    pub session_cache: usize,
    /// Test builds only: accept Argon2 parameters below the OWASP floor (cheap stores).
    #[cfg(any(test, feature = "test-hooks"))]
    pub insecure_weak_kdf: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            durability: Durability::Full,
            create: true,
            kdf: KdfParams::default(),
            limits: Limits::default(),
            session_cache: 1024,
            #[cfg(any(test, feature = "test-hooks"))]
            insecure_weak_kdf: false,
        }
    }
}

/// An open account store. One per account directory per process; a second process is
/// refused with [`StoreError::Locked`]. `Debug` shows the directory and counts only: the
/// account and cached sessions hold secrets.
pub struct Store {
    dir: PathBuf,
    keys: Connection,
    msgs: Connection,
    data_key: SecretKey,
    account: Option<Account>,
    cache: SessionCache,
    opts: StoreOptions,
    /// The Argon2 parameters the data key is wrapped with (never weakened).
    kdf: KdfParams,
    ledger: Ledger,
    /// The process that opened the store: a forked child must open its own.
    pid: u32,
    _lock: DirLock,
}

impl core::fmt::Debug for Store {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .field("has_identity", &self.account.is_some())
            .field("cached_sessions", &self.cache.entries.len())
            .field("ledger", &self.ledger)
            .finish_non_exhaustive()
    }
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn check_id(what: &str, id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_ID_LEN || id.contains('\0') {
        return Err(StoreError::Invalid(format!("{what} must be 1 to {MAX_ID_LEN} bytes without NUL")));
    }
    Ok(())
}

/// A message id: 1 to 128 characters, each printable ASCII 0x21..=0x7E (§7).
pub fn check_message_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_MESSAGE_ID_LEN || !id.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        let shown: String = id.chars().take(40).collect();
        return Err(StoreError::InvalidMessageId(format!(
            "invalid message id {shown:?}: it must be 1 to {MAX_MESSAGE_ID_LEN} printable ASCII characters \
             without spaces"
        )));
    }
    Ok(())
}

fn check_status(status: &str) -> Result<()> {
    if status.is_empty() || status.len() > 32 {
        return Err(StoreError::Invalid("status must be 1 to 32 bytes".into()));
    }
    Ok(())
}

impl Store {
    /// The account directory.
    pub fn directory(&self) -> &Path {
        &self.dir
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.opts
    }

    /// Session records currently held in memory.
    pub fn cached_sessions(&self) -> usize {
        self.cache.entries.len()
    }

    /// Refuses use from a process other than the one that opened the store (a forked
    /// child shares the parent's SQLite files and must not write behind its back).
    pub fn check_process(&self) -> Result<()> {
        check_pid(self.pid)
    }

    /// Whether this store may use Argon2 parameters below the floor (test builds only).
    pub(crate) fn allow_weak_kdf(&self) -> bool {
        open::allow_weak(&self.opts)
    }

    /// Starts a write transaction (refused in a forked child).
    fn begin(pid: u32, conn: &mut Connection) -> Result<Transaction<'_>> {
        check_pid(pid)?;
        Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
    }

    /// Reads and opens one row of `keys.db`, checking its generation against the ledger.
    fn read_row(&self, row: Row<'_>) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let get = |sql: &str, args: &[&dyn rusqlite::ToSql]| -> Result<Option<(i64, Vec<u8>)>> {
            Ok(self.keys.prepare_cached(sql)?.query_row(args, |r| Ok((r.get(0)?, r.get(1)?))).optional()?)
        };
        let found = match row {
            Row::Account => get("SELECT gen, blob FROM account WHERE id = 1", &[])?,
            Row::Session(p) => get("SELECT gen, blob FROM sessions WHERE peer = ?1", &[&p])?,
            Row::Peer(p) => get("SELECT gen, blob FROM peers WHERE peer = ?1", &[&p])?,
            Row::Kv(k) => get("SELECT gen, blob FROM kv WHERE key = ?1", &[&k])?,
            Row::Sent(id, peer) => {
                get("SELECT gen, blob FROM sent WHERE id = ?1 AND peer = ?2", &[&id, &peer])?
            }
            Row::Inbox(peer, id) => {
                get("SELECT gen, blob FROM inbox WHERE peer = ?1 AND id = ?2", &[&peer, &id])?
            }
        };
        match found {
            // The ledger knows a row the file lacks: it was deleted behind our back.
            None if self.ledger.version(&row).is_some() => {
                Err(ledger::rolled_back(&format!("a row of table '{}' is missing", row.table())))
            }
            None => Ok(None),
            Some((gen, blob)) => {
                let gen = self.ledger.check(&row, gen)?;
                Ok(Some(self.data_key.open(row.table(), &row.ad(gen), &blob)?))
            }
        }
    }
}

fn check_pid(pid: u32) -> Result<()> {
    if std::process::id() != pid {
        return Err(StoreError::Forked(
            "this store was opened by the parent process before a fork; a child process must not use \
             it (its lock and database handles belong to the parent): open the store again in the child \
             once the parent has closed it"
                .into(),
        ));
    }
    Ok(())
}
