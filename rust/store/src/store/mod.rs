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
mod outbox;
mod receive;
mod receive_many;
mod send;
mod sessions;
mod types;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use wac1::{Account, Limits, Serialize};

use crate::crypto::{KdfParams, SecretKey};
use crate::error::{Result, StoreError};

use self::fs::*;
use cache::SessionCache;
use keywrap::*;
pub use types::{KeysPayload, OutboxItem, PeerIdentity, StoredMessage};

/// File names inside the account directory.
pub const KEYS_DB: &str = "keys.db";
/// History and outbox database.
pub const MESSAGES_DB: &str = "messages.db";
/// The lock file that keeps a second process out.
pub const LOCK_FILE: &str = ".lock";

const FORMAT_VERSION: &str = "1";
const WRAP_AD: &[u8] = b"WAC1-store/data-key/1\0";
const MESSAGES_CHECK: &[u8] = b"WAC1-store/messages-check/1";
/// Longest peer id, message id or key-value key accepted.
const MAX_ID_LEN: usize = 512;
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
    /// Argon2id parameters for a new store and for [`Store::change_password`].
    pub kdf: KdfParams,
    /// Ratchet limits applied when decrypting.
    pub limits: Limits,
    /// Most session records kept in memory.
    pub session_cache: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            durability: Durability::Full,
            create: true,
            kdf: KdfParams::default(),
            limits: Limits::default(),
            session_cache: 1024,
        }
    }
}

/// An open account store. One per account directory per process; a second process is
/// refused with [`StoreError::Locked`].
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    keys: Connection,
    msgs: Connection,
    data_key: SecretKey,
    account: Option<Account>,
    cache: SessionCache,
    opts: StoreOptions,
    _lock: File,
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

fn check_status(status: &str) -> Result<()> {
    if status.is_empty() || status.len() > 32 {
        return Err(StoreError::Invalid("status must be 1 to 32 bytes".into()));
    }
    Ok(())
}

impl Store {
    /// Opens (or creates) the store of one account in `dir`.
    pub fn open(dir: impl AsRef<Path>, password: &str, opts: StoreOptions) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        opts.kdf.validate()?;
        if password.is_empty() {
            return Err(StoreError::Invalid("the store password must not be empty".into()));
        }
        if opts.limits.max_skipped_keys > 100_000 || opts.limits.max_skip > 100_000 {
            return Err(StoreError::Invalid("max_skip and max_skipped_keys must be at most 100000".into()));
        }
        if !dir.exists() {
            if !opts.create {
                return Err(StoreError::NotFound(format!("no store at {}", dir.display())));
            }
            create_private_dir(&dir)?;
        }
        if !dir.is_dir() {
            return Err(StoreError::Storage(format!("{} is not a directory", dir.display())));
        }
        check_private(&dir, true)?;
        let lock_path = dir.join(LOCK_FILE);
        check_private(&lock_path, false)?;
        let lock = private_file_options().create(true).truncate(false).open(&lock_path)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked(format!(
                    "the store at {} is open in another process; one process at a time may use an account",
                    dir.display()
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        }
        let keys_path = dir.join(KEYS_DB);
        let msgs_path = dir.join(MESSAGES_DB);
        for name in [KEYS_DB, MESSAGES_DB] {
            for suffix in ["", "-wal", "-shm"] {
                check_private(&dir.join(format!("{name}{suffix}")), false)?;
            }
        }
        let mut fresh_key = None;
        if !keys_path.exists() {
            if !opts.create {
                return Err(StoreError::NotFound(format!("no store at {}", dir.display())));
            }
            if msgs_path.exists() {
                return Err(StoreError::Corrupt(format!(
                    "{} exists without {KEYS_DB}: the key database is missing; restore it from a backup",
                    msgs_path.display()
                )));
            }
            let data_key = SecretKey::random();
            let mut meta = wrap_rows(password, &opts.kdf, &data_key)?;
            meta.push(("format", FORMAT_VERSION.as_bytes().to_vec()));
            create_db(&keys_path, KEYS_SCHEMA, &meta)?;
            fresh_key = Some(data_key);
        }
        let keys = open_db(&keys_path)?;
        let data_key = match fresh_key {
            Some(k) => k,
            None => unwrap_data_key(&keys, password)?,
        };
        let ok: String = keys.query_row("PRAGMA quick_check(1)", [], |r| r.get(0))?;
        if ok != "ok" {
            return Err(StoreError::Corrupt(format!(
                "{} is damaged ({ok}); restore it from a backup",
                keys_path.display()
            )));
        }
        check_schema(&keys, KEYS_SCHEMA, &keys_path)?;
        configure(&keys, opts.durability)?;
        if !msgs_path.exists() {
            let check = data_key.seal("meta", b"check", MESSAGES_CHECK)?;
            create_db(
                &msgs_path,
                MESSAGES_SCHEMA,
                &[("format", FORMAT_VERSION.as_bytes().to_vec()), ("check", check)],
            )?;
        }
        let msgs = open_db(&msgs_path)?;
        check_schema(&msgs, MESSAGES_SCHEMA, &msgs_path)?;
        let check = meta_get(&msgs, "check")?;
        if data_key.open("meta", b"check", &check).is_err() {
            return Err(StoreError::Corrupt(format!(
                "{} does not belong to this store or is damaged",
                msgs_path.display()
            )));
        }
        configure(&msgs, opts.durability)?;
        let account_blob: Option<Vec<u8>> =
            keys.query_row("SELECT blob FROM account WHERE id = 1", [], |r| r.get(0)).optional()?;
        let account = match account_blob {
            Some(blob) => {
                let raw = data_key.open("account", b"1", &blob)?;
                let mut a = Account::from_bytes(&raw)
                    .map_err(|_| StoreError::Corrupt("the stored account is malformed".into()))?;
                a.set_limits(opts.limits);
                Some(a)
            }
            None => None,
        };
        let cache = SessionCache::new(opts.session_cache);
        Ok(Self { dir, keys, msgs, data_key, account, cache, opts, _lock: lock })
    }

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

    fn begin(conn: &mut Connection) -> Result<Transaction<'_>> {
        Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
    }
}

fn id_key(id: &str, peer: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(id.len() + 1 + peer.len());
    k.extend_from_slice(id.as_bytes());
    k.push(0);
    k.extend_from_slice(peer.as_bytes());
    k
}
