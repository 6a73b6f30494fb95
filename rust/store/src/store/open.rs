//! Opening and creating a store: lock, files, key unwrapping, checks.

use std::path::Path;

use rusqlite::Connection;
use wac1::{Account, Serialize};

use super::*;
use crate::crypto::SecretKey;

/// Whether `messages.db` holds no message and no outbox item (a leftover of an interrupted
/// creation, safe to replace).
fn messages_db_is_empty(path: &Path) -> Result<bool> {
    let conn = open_db(path)?;
    let n: i64 =
        conn.query_row("SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM outbox)", [], |r| {
            r.get(0)
        })?;
    Ok(n == 0)
}

fn remove_db(path: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        match std::fs::remove_file(format!("{}{suffix}", path.display())) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn create_messages_db(path: &Path, data_key: &SecretKey) -> Result<()> {
    let check = data_key.seal("meta", b"check", MESSAGES_CHECK)?;
    create_db(path, MESSAGES_SCHEMA, &[("format", FORMAT_VERSION.as_bytes().to_vec()), ("check", check)])
}

fn quick_check(conn: &Connection, path: &Path) -> Result<()> {
    let ok: String = conn.query_row("PRAGMA quick_check(1)", [], |r| r.get(0))?;
    if ok != "ok" {
        return Err(StoreError::Corrupt(format!(
            "{} is damaged ({ok}); restore it from a backup",
            path.display()
        )));
    }
    Ok(())
}

impl Store {
    /// Opens (or creates) the store of one account in `dir`.
    pub fn open(dir: impl AsRef<Path>, password: &str, opts: StoreOptions) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        opts.kdf.check(allow_weak(&opts))?;
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
        let lock = DirLock::acquire(&dir, &dir.join(LOCK_FILE))?;
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
                // messages.db is made first: an empty one is what an interrupted creation
                // leaves; one with history means the key database was lost.
                if !messages_db_is_empty(&msgs_path)? {
                    return Err(StoreError::Corrupt(format!(
                        "{} exists without {KEYS_DB}: the key database is missing; restore it from a backup",
                        msgs_path.display()
                    )));
                }
                remove_db(&msgs_path)?;
            }
            let data_key = SecretKey::random();
            create_messages_db(&msgs_path, &data_key)?;
            let mut meta = wrap_rows(password, &opts.kdf, &data_key)?;
            meta.push(("format", FORMAT_VERSION.as_bytes().to_vec()));
            create_db(&keys_path, KEYS_SCHEMA, &meta)?;
            fresh_key = Some(data_key);
        }
        let keys = open_db(&keys_path)?;
        let (data_key, kdf) = match fresh_key {
            Some(k) => (k, opts.kdf),
            None => unwrap_data_key(&keys, password, allow_weak(&opts))?,
        };
        quick_check(&keys, &keys_path)?;
        check_schema(&keys, KEYS_SCHEMA, &keys_path)?;
        configure(&keys, opts.durability)?;
        if !msgs_path.exists() {
            return Err(StoreError::Corrupt(format!(
                "{} is missing while {KEYS_DB} exists: the history and the outbox are lost or were moved; \
                 restore the file from a backup (it is never recreated silently)",
                msgs_path.display()
            )));
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
        let ledger = Ledger::load(&keys, &data_key)?;
        let cache = SessionCache::new(opts.session_cache);
        let mut store = Self {
            dir,
            keys,
            msgs,
            data_key,
            account: None,
            cache,
            opts,
            kdf,
            ledger,
            pid: std::process::id(),
            _lock: lock,
        };
        if let Some(raw) = store.read_row(Row::Account)? {
            let mut a = Account::from_bytes(&raw)
                .map_err(|_| StoreError::Corrupt("the stored account is malformed".into()))?;
            a.set_limits(store.opts.limits);
            store.account = Some(a);
        }
        Ok(store)
    }
}

/// Whether these options may use Argon2 parameters below the floor (test builds only).
pub(crate) fn allow_weak(opts: &StoreOptions) -> bool {
    #[cfg(any(test, feature = "test-hooks"))]
    {
        opts.insecure_weak_kdf
    }
    #[cfg(not(any(test, feature = "test-hooks")))]
    {
        let _ = opts;
        false
    }
}
