//! The store: `keys.db` (account, sessions, peers, key-value, sent wires, inbox) and
//! `messages.db` (history and outbox) in one directory per account.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rand_core::OsRng;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};
use sha2::{Digest, Sha256};
use wac1::{
    Account, Decrypted, Limits, OneTimePreKey, PreKeyBundle, PublicIdentity, Serialize, SessionRecord,
    SignedPreKey, WireMessage,
};
use zeroize::Zeroizing;

use crate::codec::{Dec, Enc};
use crate::crypto::{random_bytes, KdfParams, SecretKey, SALT_LEN};
use crate::error::{Result, StoreError};

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

const KEYS_SCHEMA: &str = "
CREATE TABLE meta(name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE account(id INTEGER PRIMARY KEY CHECK (id = 1), blob BLOB NOT NULL);
CREATE TABLE sessions(peer TEXT PRIMARY KEY, blob BLOB NOT NULL);
CREATE TABLE peers(peer TEXT PRIMARY KEY, blob BLOB NOT NULL);
CREATE TABLE kv(key TEXT PRIMARY KEY, blob BLOB NOT NULL);
CREATE TABLE sent(id TEXT PRIMARY KEY, peer TEXT NOT NULL, blob BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE inbox(id TEXT PRIMARY KEY, peer TEXT NOT NULL, blob BLOB NOT NULL) WITHOUT ROWID;
";

const MESSAGES_SCHEMA: &str = "
CREATE TABLE meta(name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE messages(id TEXT PRIMARY KEY, peer TEXT NOT NULL, ts INTEGER NOT NULL, status TEXT NOT NULL,
                      blob BLOB NOT NULL);
CREATE INDEX messages_by_peer ON messages(peer, ts);
CREATE TABLE outbox(id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, blob BLOB NOT NULL);
CREATE INDEX outbox_by_age ON outbox(created_at);
";

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

/// A peer's identity as this store knows it, with the verified flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The peer's identity keys.
    pub identity: PublicIdentity,
    /// Whether the user verified the fingerprint.
    pub verified: bool,
    /// When it was verified (Unix seconds).
    pub verified_at: Option<i64>,
}

impl PeerIdentity {
    fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut e = Enc::new(1);
        e.bytes(&self.identity.identity_key).bytes(&self.identity.signing_key);
        e.u8(u8::from(self.verified)).opt_i64(self.verified_at);
        e.finish()
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        let mut d = Dec::new(bytes, 1, "peer identity")?;
        let ik = key32(d.bytes()?)?;
        let sk = key32(d.bytes()?)?;
        let verified = d.flag()?;
        let verified_at = d.opt_i64()?;
        d.finish()?;
        Ok(Self { identity: PublicIdentity { identity_key: ik, signing_key: sk }, verified, verified_at })
    }
}

fn key32(b: &[u8]) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(b).map_err(|_| StoreError::Corrupt("a stored key has the wrong length".into()))
}

/// One message of the local history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    /// Message id.
    pub id: String,
    /// The conversation: the peer's user id, or the group id.
    pub peer_id: String,
    /// Sender's user id.
    pub from_user: String,
    /// Recipient (user id or group id).
    pub to: String,
    /// `"in"` or `"out"`.
    pub direction: String,
    /// Payload type (`text`, `image`, `file`, ...).
    pub kind: String,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// Delivery status (`pending`, `sent`, `delivered`, `read`, ...).
    pub status: String,
    /// The content (sealed at rest).
    pub content: Vec<u8>,
    /// The group, for group messages.
    pub group_id: Option<String>,
}

impl StoredMessage {
    fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut e = Enc::new(1);
        e.str(&self.peer_id).str(&self.from_user).str(&self.to).str(&self.direction).str(&self.kind);
        e.i64(self.timestamp).opt_str(self.group_id.as_deref()).bytes(&self.content);
        e.finish()
    }

    fn decode(id: String, status: String, bytes: &[u8]) -> Result<Self> {
        let mut d = Dec::new(bytes, 1, "message")?;
        let m = Self {
            id,
            peer_id: d.string()?,
            from_user: d.string()?,
            to: d.string()?,
            direction: d.string()?,
            kind: d.string()?,
            timestamp: d.i64()?,
            group_id: d.opt_string()?,
            content: d.bytes()?.to_vec(),
            status,
        };
        d.finish()?;
        Ok(m)
    }

    fn validate(&self) -> Result<()> {
        check_id("message id", &self.id)?;
        check_id("peer_id", &self.peer_id)?;
        if self.direction != "in" && self.direction != "out" {
            return Err(StoreError::Invalid("direction must be \"in\" or \"out\"".into()));
        }
        check_status(&self.status)
    }
}

/// A message waiting to be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxItem {
    /// Message id.
    pub message_id: String,
    /// Recipient.
    pub peer_id: String,
    /// What to send (sealed at rest).
    pub payload: Vec<u8>,
    /// When it was queued (caller's clock).
    pub created_at: i64,
}

/// The public part of the account that `PUT /api/keys` uploads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeysPayload {
    /// X25519 identity key.
    pub identity_key: [u8; 32],
    /// Ed25519 signing key.
    pub signing_key: [u8; 32],
    /// Current signed prekey: id, public key, signature.
    pub signed_prekey: (u32, [u8; 32], [u8; 64]),
    /// One-time prekeys: id, public key.
    pub one_time_prekeys: Vec<(u32, [u8; 32])>,
}

/// A bounded least-recently-used cache of session records.
#[derive(Debug)]
struct SessionCache {
    capacity: usize,
    tick: u64,
    entries: HashMap<String, (u64, SessionRecord)>,
    order: BTreeMap<u64, String>,
}

impl SessionCache {
    fn new(capacity: usize) -> Self {
        Self { capacity, tick: 0, entries: HashMap::new(), order: BTreeMap::new() }
    }

    fn take(&mut self, peer: &str) -> Option<SessionRecord> {
        let (tick, record) = self.entries.remove(peer)?;
        self.order.remove(&tick);
        Some(record)
    }

    fn put(&mut self, peer: &str, record: SessionRecord) {
        if self.capacity == 0 {
            return;
        }
        self.take(peer);
        self.tick += 1;
        self.entries.insert(peer.to_owned(), (self.tick, record));
        self.order.insert(self.tick, peer.to_owned());
        while self.entries.len() > self.capacity {
            match self.order.pop_first() {
                Some((_, oldest)) => {
                    self.entries.remove(&oldest);
                }
                None => break,
            }
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
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

#[cfg(unix)]
fn mode_of(path: &Path) -> Result<Option<u32>> {
    use std::os::unix::fs::PermissionsExt;
    match fs::metadata(path) {
        Ok(m) => Ok(Some(m.permissions().mode() & 0o777)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Refuses a directory or file that other users can read or write.
#[cfg(unix)]
fn check_private(path: &Path, is_dir: bool) -> Result<()> {
    if let Some(mode) = mode_of(path)? {
        if mode & 0o077 != 0 {
            let (want, fix) = if is_dir { ("0700", "700") } else { ("0600", "600") };
            return Err(StoreError::Permissions(format!(
                "refusing to use {}: its mode is {mode:04o}, so other users can read it (it must be {want}). \
                 Fix it with: chmod {fix} '{}'",
                path.display(),
                path.display()
            )));
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _is_dir: bool) -> Result<()> {
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<()> {
    if let Some(parent) = dir.parent() {
        if !parent.as_os_str().is_empty() {
            fs::create_dir_all(parent)?;
        }
    }
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    match builder.create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn private_file_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.read(true).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

fn sync_dir(dir: &Path) {
    // Makes a rename durable; not every platform can open a directory, which is harmless.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

fn configure(conn: &Connection, durability: Durability) -> Result<()> {
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Fast => "NORMAL",
    };
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Storage(format!("could not switch the database to WAL mode (got {mode})")));
    }
    conn.execute_batch(&format!(
        "PRAGMA synchronous={sync}; PRAGMA secure_delete=ON; PRAGMA foreign_keys=OFF; PRAGMA fullfsync=ON;"
    ))?;
    conn.busy_timeout(std::time::Duration::from_millis(0))?;
    Ok(())
}

/// Opens an existing database without writing to it: the caller checks it before
/// [`configure`] may write.
fn open_db(path: &Path) -> Result<Connection> {
    use std::io::Read;
    let mut header = [0u8; 100];
    let mut f = File::open(path)?;
    let complete = f.read_exact(&mut header).is_ok();
    // Bytes 18 and 19 are the read and write format versions: 2 (WAL) in every store file.
    if !complete || &header[..16] != b"SQLite format 3\0" || header[18] != 2 || header[19] != 2 {
        return Err(StoreError::Corrupt(format!(
            "{} is truncated or is not a store database; restore it from a backup",
            path.display()
        )));
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Ok(Connection::open_with_flags(path, flags)?)
}

/// Builds a database under a temporary name and renames it into place, so that a crash
/// during creation never leaves a half-made store behind.
fn create_db(path: &Path, schema: &str, meta: &[(&str, Vec<u8>)]) -> Result<()> {
    let tmp = path.with_extension("db-creating");
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let p = PathBuf::from(format!("{}{suffix}", tmp.display()));
        match fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    private_file_options().create_new(true).open(&tmp)?;
    {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(&tmp, flags)?;
        conn.execute_batch("PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL;")?;
        let tx = conn.transaction()?;
        tx.execute_batch(schema)?;
        for (name, value) in meta {
            tx.execute("INSERT INTO meta(name, value) VALUES (?1, ?2)", params![name, value])?;
        }
        tx.commit()?;
        let _: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.close().map_err(|(_, e)| StoreError::from(e))?;
    }
    File::open(&tmp)?.sync_all()?;
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        sync_dir(dir);
    }
    Ok(())
}

/// The schema rows (`type`, `name`, `sql`) of a database, sorted.
fn schema_of(conn: &Connection) -> Result<Vec<(String, String, Option<String>)>> {
    let mut stmt = conn.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Refuses a database whose tables and indexes are not exactly the ones `schema` makes.
fn check_schema(conn: &Connection, schema: &str, path: &Path) -> Result<()> {
    let reference = Connection::open_in_memory()?;
    reference.execute_batch(schema)?;
    let damaged = || {
        StoreError::Corrupt(format!(
            "{} has a damaged or unknown schema; restore it from a backup",
            path.display()
        ))
    };
    let found = schema_of(conn).map_err(|e| match e {
        StoreError::Storage(_) => damaged(),
        other => other,
    })?;
    if found != schema_of(&reference)? {
        return Err(damaged());
    }
    Ok(())
}

fn meta_get(conn: &Connection, name: &str) -> Result<Vec<u8>> {
    let missing = || {
        StoreError::Corrupt(format!(
            "the store metadata ('{name}') is missing; the file is not a valid store"
        ))
    };
    let v: Option<Vec<u8>> = conn
        .query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| r.get(0))
        .optional()
        .map_err(|e| match StoreError::from(e) {
            StoreError::Storage(_) => missing(),
            other => other,
        })?;
    v.ok_or_else(missing)
}

fn wrap_ad(kdf_json: &str, salt: &[u8]) -> Vec<u8> {
    let mut ad = WRAP_AD.to_vec();
    ad.extend_from_slice(kdf_json.as_bytes());
    ad.push(0);
    ad.extend_from_slice(salt);
    ad
}

fn wrap_check(kdf_json: &str, salt: &[u8], wrapped: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"WAC1-store/wrap-check/1\0");
    h.update(kdf_json.as_bytes());
    h.update([0]);
    h.update(salt);
    h.update(wrapped);
    h.finalize().to_vec()
}

/// The metadata rows that wrap `data_key` under `password`.
fn wrap_rows(password: &str, kdf: &KdfParams, data_key: &SecretKey) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let salt = random_bytes::<SALT_LEN>();
    let kdf_json = kdf.to_json();
    let kek = SecretKey::derive(password.as_bytes(), &salt, kdf)?;
    let wrapped = kek.wrap(data_key, &wrap_ad(&kdf_json, &salt))?;
    let check = wrap_check(&kdf_json, &salt, &wrapped);
    Ok(vec![
        ("kdf", kdf_json.into_bytes()),
        ("salt", salt.to_vec()),
        ("wrapped_key", wrapped),
        ("wrap_check", check),
    ])
}

/// Unwraps the data key with `password`: [`StoreError::Auth`] when it is wrong,
/// [`StoreError::Corrupt`] when the metadata is damaged.
fn unwrap_data_key(conn: &Connection, password: &str) -> Result<SecretKey> {
    let version = meta_get(conn, "format")?;
    if version != FORMAT_VERSION.as_bytes() {
        return Err(StoreError::Corrupt("the store has an unknown format version".into()));
    }
    let kdf_raw = meta_get(conn, "kdf")?;
    let salt = meta_get(conn, "salt")?;
    let wrapped = meta_get(conn, "wrapped_key")?;
    let check = meta_get(conn, "wrap_check")?;
    let kdf_json = String::from_utf8(kdf_raw).map_err(|_| StoreError::Corrupt("bad kdf metadata".into()))?;
    if wrap_check(&kdf_json, &salt, &wrapped) != check {
        return Err(StoreError::Corrupt(
            "the store's wrapped key is damaged; restore the store from a backup".into(),
        ));
    }
    let kdf =
        KdfParams::from_json(&kdf_json).ok_or_else(|| StoreError::Corrupt("bad kdf metadata".into()))?;
    let kek = SecretKey::derive(password.as_bytes(), &salt, &kdf)?;
    kek.unwrap_key(&wrapped, &wrap_ad(&kdf_json, &salt))
        .ok_or_else(|| StoreError::Auth("wrong password for the local store".into()))
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

    // ----- account --------------------------------------------------------------------

    /// Whether an identity exists.
    pub fn has_identity(&self) -> bool {
        self.account.is_some()
    }

    /// The account, if an identity exists.
    pub fn account(&self) -> Option<&Account> {
        self.account.as_ref()
    }

    fn require_account(&self) -> Result<&Account> {
        self.account.as_ref().ok_or_else(|| {
            StoreError::Storage("this store has no identity yet: call create_identity() first".into())
        })
    }

    fn account_blob(&self, account: &Account) -> Result<Vec<u8>> {
        self.data_key.seal("account", b"1", &account.to_bytes())
    }

    fn begin(conn: &mut Connection) -> Result<Transaction<'_>> {
        Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
    }

    /// Writes a changed account and makes it current once committed.
    fn commit_account(&mut self, account: Account) -> Result<()> {
        let blob = self.account_blob(&account)?;
        let tx = Self::begin(&mut self.keys)?;
        tx.execute(
            "INSERT INTO account(id, blob) VALUES (1, ?1) ON CONFLICT(id) DO UPDATE SET blob = excluded.blob",
            [&blob],
        )?;
        tx.commit()?;
        self.account = Some(account);
        Ok(())
    }

    /// The public identity of the account.
    pub fn keys_identity(&self) -> Result<PublicIdentity> {
        Ok(self.require_account()?.identity().public())
    }

    /// Makes a new identity. Refused when one exists.
    pub fn create_identity(&mut self) -> Result<()> {
        if self.account.is_some() {
            return Err(StoreError::Invalid("this store already has an identity".into()));
        }
        let mut account = Account::generate(&mut OsRng);
        account.set_limits(self.opts.limits);
        self.commit_account(account)
    }

    /// Makes a new current signed prekey (committed) and returns it.
    pub fn rotate_signed_prekey(&mut self, now: u64) -> Result<SignedPreKey> {
        let mut account = self.require_account()?.clone();
        let key = account.rotate_signed_prekey(now, &mut OsRng).clone();
        self.commit_account(account)?;
        Ok(key)
    }

    /// Drops non-current signed prekeys made before `older_than`; returns how many.
    pub fn expire_signed_prekeys(&mut self, older_than: u64) -> Result<usize> {
        let mut account = self.require_account()?.clone();
        let n = account.expire_signed_prekeys(older_than);
        if n > 0 {
            self.commit_account(account)?;
        }
        Ok(n)
    }

    /// The current signed prekey.
    pub fn signed_prekey(&self) -> Result<Option<SignedPreKey>> {
        Ok(self.require_account()?.current_signed_prekey().cloned())
    }

    /// Makes `count` new one-time prekeys (committed) and returns them.
    pub fn generate_one_time_prekeys(&mut self, count: usize) -> Result<Vec<OneTimePreKey>> {
        if count > MAX_PREKEY_BATCH {
            return Err(StoreError::Invalid(format!("at most {MAX_PREKEY_BATCH} one-time prekeys per call")));
        }
        let mut account = self.require_account()?.clone();
        let keys: Vec<OneTimePreKey> =
            account.generate_one_time_prekeys(count, &mut OsRng)?.into_iter().cloned().collect();
        self.commit_account(account)?;
        Ok(keys)
    }

    /// Our own prekey bundle, as the server would hand it out with the given one-time prekey.
    pub fn bundle(&self, one_time_prekey: Option<u32>) -> Result<PreKeyBundle> {
        Ok(self.require_account()?.bundle(one_time_prekey)?)
    }

    /// One-time prekeys held.
    pub fn one_time_prekey_count(&self) -> Result<usize> {
        Ok(self.require_account()?.one_time_prekeys().count())
    }

    /// The body of `PUT /api/keys`.
    pub fn keys_payload(&self) -> Result<KeysPayload> {
        let account = self.require_account()?;
        let me = account.identity().public();
        let spk = account.current_signed_prekey().ok_or_else(|| {
            StoreError::Invalid("no signed prekey yet: call rotate_signed_prekey() first".into())
        })?;
        Ok(KeysPayload {
            identity_key: me.identity_key,
            signing_key: me.signing_key,
            signed_prekey: (spk.id, *spk.pair.public(), spk.signature),
            one_time_prekeys: account.one_time_prekeys().map(|k| (k.id, *k.pair.public())).collect(),
        })
    }

    // ----- sessions -------------------------------------------------------------------

    /// Takes a peer's record out of the cache or the database (an empty one if none). The
    /// caller puts it back with `cache.put` only once its changes are committed.
    fn take_session(&mut self, peer: &str) -> Result<SessionRecord> {
        if let Some(r) = self.cache.take(peer) {
            return Ok(r);
        }
        let blob: Option<Vec<u8>> = self
            .keys
            .prepare_cached("SELECT blob FROM sessions WHERE peer = ?1")?
            .query_row([peer], |r| r.get(0))
            .optional()?;
        match blob {
            None => Ok(SessionRecord::new()),
            Some(b) => {
                let raw = self.data_key.open("sessions", peer.as_bytes(), &b)?;
                SessionRecord::from_bytes(&raw).map_err(|_| {
                    StoreError::Corrupt(format!("the stored session with {peer:?} is malformed"))
                })
            }
        }
    }

    /// Whether a session with the peer exists.
    pub fn has_session(&mut self, peer: &str) -> Result<bool> {
        check_id("peer_id", peer)?;
        let record = self.take_session(peer)?;
        let has = record.has_session();
        self.cache.put(peer, record);
        Ok(has)
    }

    fn session_blob(&self, peer: &str, record: &SessionRecord) -> Result<Vec<u8>> {
        self.data_key.seal("sessions", peer.as_bytes(), &record.to_bytes())
    }

    fn load_peer(&self, peer: &str) -> Result<Option<PeerIdentity>> {
        let blob: Option<Vec<u8>> = self
            .keys
            .prepare_cached("SELECT blob FROM peers WHERE peer = ?1")?
            .query_row([peer], |r| r.get(0))
            .optional()?;
        match blob {
            None => Ok(None),
            Some(b) => Ok(Some(PeerIdentity::decode(&self.data_key.open("peers", peer.as_bytes(), &b)?)?)),
        }
    }

    /// What to write to `peers` when a session shows `seen` as the peer's identity:
    /// `(new row if any, whether the identity changed from the stored one)`.
    fn peer_update(&self, peer: &str, seen: Option<&PublicIdentity>) -> Result<(Option<Vec<u8>>, bool)> {
        let Some(seen) = seen else { return Ok((None, false)) };
        let known = self.load_peer(peer)?;
        let (row, changed) = match known {
            Some(k) if k.identity == *seen => return Ok((None, false)),
            Some(_) => (PeerIdentity { identity: *seen, verified: false, verified_at: None }, true),
            None => (PeerIdentity { identity: *seen, verified: false, verified_at: None }, false),
        };
        Ok((Some(self.data_key.seal("peers", peer.as_bytes(), &row.encode())?), changed))
    }

    fn upsert_session(tx: &Transaction<'_>, peer: &str, blob: &[u8]) -> Result<()> {
        tx.prepare_cached(
            "INSERT INTO sessions(peer, blob) VALUES (?1, ?2) ON CONFLICT(peer) DO UPDATE SET blob = excluded.blob",
        )?
        .execute(params![peer, blob])?;
        Ok(())
    }

    fn upsert_peer(tx: &Transaction<'_>, peer: &str, blob: &[u8]) -> Result<()> {
        tx.prepare_cached(
            "INSERT INTO peers(peer, blob) VALUES (?1, ?2) ON CONFLICT(peer) DO UPDATE SET blob = excluded.blob",
        )?
        .execute(params![peer, blob])?;
        Ok(())
    }

    /// X3DH as initiator with the peer's bundle; committed before it returns. Returns
    /// whether the peer's identity changed (its verified flag is then cleared).
    pub fn start_session(&mut self, peer: &str, bundle: &PreKeyBundle) -> Result<bool> {
        check_id("peer_id", peer)?;
        let identity = self.require_account()?.identity().clone();
        let mut record = self.take_session(peer)?;
        let changed_in_record = match record.initiate(&identity, bundle, &mut OsRng) {
            Ok(c) => c,
            Err(e) => {
                self.cache.put(peer, record);
                return Err(e.into());
            }
        };
        let (peer_row, changed_in_table) = self.peer_update(peer, record.peer_identity())?;
        let blob = self.session_blob(peer, &record)?;
        let tx = Self::begin(&mut self.keys)?;
        Self::upsert_session(&tx, peer, &blob)?;
        if let Some(row) = &peer_row {
            Self::upsert_peer(&tx, peer, row)?;
        }
        tx.commit()?;
        self.cache.put(peer, record);
        Ok(changed_in_record || changed_in_table)
    }

    fn sent_wire(&self, id: &str, peer: &str) -> Result<Option<String>> {
        let row: Option<(String, Vec<u8>)> = self
            .keys
            .prepare_cached("SELECT peer, blob FROM sent WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((stored_peer, blob)) = row else { return Ok(None) };
        // Opened with the stored peer first: a damaged row is corrupt, not a misuse.
        let raw = self.data_key.open("sent", &id_key(id, &stored_peer), &blob)?;
        if stored_peer != peer {
            return Err(StoreError::Invalid(format!("message id {id:?} was already used for another peer")));
        }
        String::from_utf8(raw.to_vec())
            .map(Some)
            .map_err(|_| StoreError::Corrupt("a stored sent message is malformed".into()))
    }

    /// Encrypts for the peer. The wire string is returned only after the advanced session
    /// is committed (write-ahead). With `message_id` the wire is stored in the same
    /// transaction, and a repeated call with that id returns the same wire.
    pub fn encrypt(&mut self, peer: &str, plaintext: &[u8], message_id: Option<&str>) -> Result<String> {
        check_id("peer_id", peer)?;
        self.require_account()?;
        if let Some(id) = message_id {
            check_id("message id", id)?;
            if let Some(wire) = self.sent_wire(id, peer)? {
                return Ok(wire);
            }
        }
        let mut record = self.take_session(peer)?;
        let wire = match record.encrypt(plaintext) {
            Ok(w) => w.encode(),
            Err(e) => {
                self.cache.put(peer, record);
                return Err(e.into());
            }
        };
        let blob = self.session_blob(peer, &record)?;
        let sent = match message_id {
            Some(id) => Some((id, self.data_key.seal("sent", &id_key(id, peer), wire.as_bytes())?)),
            None => None,
        };
        let tx = Self::begin(&mut self.keys)?;
        Self::upsert_session(&tx, peer, &blob)?;
        if let Some((id, sealed)) = &sent {
            tx.prepare_cached("INSERT INTO sent(id, peer, blob) VALUES (?1, ?2, ?3)")?
                .execute(params![id, peer, sealed])?;
        }
        tx.commit()?;
        self.cache.put(peer, record);
        Ok(wire)
    }

    /// Encrypts a batch with one commit. With `message_ids`, ids already stored return
    /// their stored wire and only the others are encrypted.
    pub fn encrypt_many<T: AsRef<[u8]>>(
        &mut self,
        peer: &str,
        plaintexts: &[T],
        message_ids: Option<&[String]>,
    ) -> Result<Vec<String>> {
        check_id("peer_id", peer)?;
        self.require_account()?;
        let mut out: Vec<Option<String>> = vec![None; plaintexts.len()];
        if let Some(ids) = message_ids {
            if ids.len() != plaintexts.len() {
                return Err(StoreError::Invalid("message_ids must have one id per plaintext".into()));
            }
            let mut seen = HashSet::new();
            for (slot, id) in out.iter_mut().zip(ids) {
                check_id("message id", id)?;
                if !seen.insert(id.as_str()) {
                    return Err(StoreError::Invalid(format!("message id {id:?} appears twice in the batch")));
                }
                *slot = self.sent_wire(id, peer)?;
            }
        }
        let todo: Vec<usize> = out.iter().enumerate().filter(|(_, w)| w.is_none()).map(|(i, _)| i).collect();
        if todo.is_empty() {
            return Ok(out.into_iter().flatten().collect());
        }
        let inputs: Vec<&[u8]> = todo.iter().filter_map(|&i| plaintexts.get(i).map(AsRef::as_ref)).collect();
        let mut record = self.take_session(peer)?;
        let wires = match record.encrypt_many(&inputs) {
            Ok(w) => w,
            Err(e) => {
                self.cache.put(peer, record);
                return Err(e.into());
            }
        };
        let blob = self.session_blob(peer, &record)?;
        let mut sent = Vec::new();
        for (&i, wire) in todo.iter().zip(&wires) {
            let text = wire.encode();
            if let Some(id) = message_ids.and_then(|ids| ids.get(i)) {
                sent.push((id.as_str(), self.data_key.seal("sent", &id_key(id, peer), text.as_bytes())?));
            }
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(text);
            }
        }
        let tx = Self::begin(&mut self.keys)?;
        Self::upsert_session(&tx, peer, &blob)?;
        {
            let mut stmt = tx.prepare_cached("INSERT INTO sent(id, peer, blob) VALUES (?1, ?2, ?3)")?;
            for (id, sealed) in &sent {
                stmt.execute(params![id, peer, sealed])?;
            }
        }
        tx.commit()?;
        self.cache.put(peer, record);
        Ok(out.into_iter().flatten().collect())
    }

    /// Drops stored wires once the server has acknowledged them.
    pub fn forget_sent(&mut self, message_ids: &[String]) -> Result<()> {
        self.delete_ids("sent", message_ids)
    }

    /// Drops stored decrypt results once the application has them safe.
    pub fn forget_received(&mut self, message_ids: &[String]) -> Result<()> {
        self.delete_ids("inbox", message_ids)
    }

    fn delete_ids(&mut self, table: &'static str, ids: &[String]) -> Result<()> {
        let tx = Self::begin(&mut self.keys)?;
        {
            let mut stmt = tx.prepare_cached(&format!("DELETE FROM {table} WHERE id = ?1"))?;
            for id in ids {
                stmt.execute([id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn inbox_result(&self, id: &str, peer: &str) -> Result<Option<Decrypted>> {
        let row: Option<(String, Vec<u8>)> = self
            .keys
            .prepare_cached("SELECT peer, blob FROM inbox WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((stored_peer, blob)) = row else { return Ok(None) };
        // Opened with the stored peer first: a damaged row is corrupt, not a misuse.
        let raw = self.data_key.open("inbox", &id_key(id, &stored_peer), &blob)?;
        if stored_peer != peer {
            return Err(StoreError::Invalid(format!("message id {id:?} was already used for another peer")));
        }
        let mut d = Dec::new(&raw, 1, "inbox")?;
        let plaintext = d.bytes()?.to_vec();
        let used = if d.flag()? { Some(d.u32()?) } else { None };
        let new_session = d.flag()?;
        let identity_changed = d.flag()?;
        d.finish()?;
        Ok(Some(Decrypted { plaintext, used_one_time_prekey: used, new_session, identity_changed }))
    }

    /// Decrypts a message from the peer in one transaction: session state, skipped keys,
    /// one-time prekey deletion, peer identity and (with `message_id`) the sealed result.
    /// Nothing is committed on failure. A repeated id returns the stored result.
    pub fn decrypt(&mut self, peer: &str, wire: &str, message_id: Option<&str>) -> Result<Decrypted> {
        check_id("peer_id", peer)?;
        self.require_account()?;
        if let Some(id) = message_id {
            check_id("message id", id)?;
            if let Some(done) = self.inbox_result(id, peer)? {
                return Ok(done);
            }
        }
        let message = WireMessage::parse(wire)?;
        let mut record = self.take_session(peer)?;
        let account = self.require_account()?;
        let limits = *account.limits();
        let mut done = match record.decrypt(account, &message, &limits, &mut OsRng) {
            Ok(d) => d,
            Err(e) => {
                // The engine leaves the record untouched on failure.
                self.cache.put(peer, record);
                return Err(e.into());
            }
        };
        let new_account = match done.used_one_time_prekey {
            Some(id) => {
                let mut a = account.clone();
                a.remove_one_time_prekey(id);
                Some(a)
            }
            None => None,
        };
        let (peer_row, changed) =
            if done.new_session { self.peer_update(peer, record.peer_identity())? } else { (None, false) };
        done.identity_changed |= changed;
        let blob = self.session_blob(peer, &record)?;
        let account_blob = match &new_account {
            Some(a) => Some(self.account_blob(a)?),
            None => None,
        };
        let inbox = match message_id {
            Some(id) => Some((id, self.seal_inbox(id, peer, &done)?)),
            None => None,
        };
        let tx = Self::begin(&mut self.keys)?;
        Self::upsert_session(&tx, peer, &blob)?;
        if let Some(b) = &account_blob {
            tx.execute("UPDATE account SET blob = ?1 WHERE id = 1", [b])?;
        }
        if let Some(row) = &peer_row {
            Self::upsert_peer(&tx, peer, row)?;
        }
        if let Some((id, sealed)) = &inbox {
            tx.prepare_cached("INSERT INTO inbox(id, peer, blob) VALUES (?1, ?2, ?3)")?
                .execute(params![id, peer, sealed])?;
        }
        tx.commit()?;
        if let Some(a) = new_account {
            self.account = Some(a);
        }
        self.cache.put(peer, record);
        Ok(done)
    }

    /// Decrypts a batch of incoming messages, `(peer id, wire, message id)` each, with one
    /// commit: every changed session, the account (consumed one-time prekeys), peer
    /// identities and the sealed result of every message decrypted (as [`Store::decrypt`]
    /// stores it under its id). Each message gets its own result: one that fails (malformed
    /// wire, tag mismatch, replay, ...) changes nothing and does not stop the others. An id
    /// already stored, or repeated in the batch, returns the stored result. A bad argument or
    /// a database error fails the whole batch and commits nothing.
    pub fn decrypt_many(
        &mut self,
        items: &[(String, String, String)],
    ) -> Result<Vec<std::result::Result<Decrypted, wac1::Error>>> {
        self.require_account()?;
        for (peer, _, id) in items {
            check_id("peer_id", peer)?;
            check_id("message id", id)?;
        }
        let mut out = Vec::with_capacity(items.len());
        let mut records: HashMap<String, SessionRecord> = HashMap::new();
        let mut changed: Vec<String> = Vec::new();
        let mut account: Option<Account> = None;
        let mut peer_rows: HashMap<String, PeerIdentity> = HashMap::new();
        let mut inbox_rows: Vec<(&str, &str, Vec<u8>)> = Vec::new();
        let mut in_batch: HashMap<&str, (&str, Decrypted)> = HashMap::new();
        for (peer, wire, id) in items {
            if let Some((first_peer, done)) = in_batch.get(id.as_str()) {
                if *first_peer != peer.as_str() {
                    return Err(StoreError::Invalid(format!(
                        "message id {id:?} was already used for another peer"
                    )));
                }
                out.push(Ok(done.clone()));
                continue;
            }
            if let Some(done) = self.inbox_result(id, peer)? {
                out.push(Ok(done));
                continue;
            }
            let message = match WireMessage::parse(wire) {
                Ok(m) => m,
                Err(e) => {
                    out.push(Err(e));
                    continue;
                }
            };
            if !records.contains_key(peer) {
                let r = self.take_session(peer)?;
                records.insert(peer.clone(), r);
            }
            let Some(record) = records.get_mut(peer) else {
                return Err(StoreError::Storage("session record missing from the batch".into()));
            };
            let current = match &account {
                Some(a) => a,
                None => self.require_account()?,
            };
            let limits = *current.limits();
            // The engine leaves the record untouched on failure.
            let mut done = match record.decrypt(current, &message, &limits, &mut OsRng) {
                Ok(d) => d,
                Err(e) => {
                    out.push(Err(e));
                    continue;
                }
            };
            if let Some(k) = done.used_one_time_prekey {
                let mut a = current.clone();
                a.remove_one_time_prekey(k);
                account = Some(a);
            }
            if done.new_session {
                if let Some(seen) = record.peer_identity().copied() {
                    let known = match peer_rows.get(peer) {
                        Some(p) => Some(p.identity),
                        None => self.load_peer(peer)?.map(|p| p.identity),
                    };
                    if known != Some(seen) {
                        done.identity_changed |= known.is_some();
                        peer_rows.insert(
                            peer.clone(),
                            PeerIdentity { identity: seen, verified: false, verified_at: None },
                        );
                    }
                }
            }
            if !changed.contains(peer) {
                changed.push(peer.clone());
            }
            inbox_rows.push((id, peer, self.seal_inbox(id, peer, &done)?));
            in_batch.insert(id, (peer, done.clone()));
            out.push(Ok(done));
        }
        if !inbox_rows.is_empty() {
            let mut session_blobs = Vec::with_capacity(changed.len());
            for peer in &changed {
                if let Some(record) = records.get(peer) {
                    session_blobs.push((peer.as_str(), self.session_blob(peer, record)?));
                }
            }
            let account_blob = match &account {
                Some(a) => Some(self.account_blob(a)?),
                None => None,
            };
            let mut peer_blobs = Vec::with_capacity(peer_rows.len());
            for (peer, p) in &peer_rows {
                peer_blobs.push((peer.as_str(), self.data_key.seal("peers", peer.as_bytes(), &p.encode())?));
            }
            let tx = Self::begin(&mut self.keys)?;
            for (peer, blob) in &session_blobs {
                Self::upsert_session(&tx, peer, blob)?;
            }
            if let Some(b) = &account_blob {
                tx.execute("UPDATE account SET blob = ?1 WHERE id = 1", [b])?;
            }
            for (peer, blob) in &peer_blobs {
                Self::upsert_peer(&tx, peer, blob)?;
            }
            {
                let mut stmt = tx.prepare_cached("INSERT INTO inbox(id, peer, blob) VALUES (?1, ?2, ?3)")?;
                for (id, peer, sealed) in &inbox_rows {
                    stmt.execute(params![id, peer, sealed])?;
                }
            }
            tx.commit()?;
            if let Some(a) = account {
                self.account = Some(a);
            }
        }
        for (peer, record) in records {
            self.cache.put(&peer, record);
        }
        Ok(out)
    }

    fn seal_inbox(&self, id: &str, peer: &str, done: &Decrypted) -> Result<Vec<u8>> {
        let mut e = Enc::new(1);
        e.bytes(&done.plaintext);
        match done.used_one_time_prekey {
            Some(k) => e.u8(1).u32(k),
            None => e.u8(0),
        };
        e.u8(u8::from(done.new_session)).u8(u8::from(done.identity_changed));
        self.data_key.seal("inbox", &id_key(id, peer), &e.finish())
    }

    /// The peer's identity as stored.
    pub fn peer_identity(&self, peer: &str) -> Result<Option<PeerIdentity>> {
        check_id("peer_id", peer)?;
        self.load_peer(peer)
    }

    /// Sets or clears the verified flag (with the time it was set).
    pub fn set_verified(&mut self, peer: &str, verified: bool) -> Result<()> {
        check_id("peer_id", peer)?;
        let mut p = self
            .load_peer(peer)?
            .ok_or_else(|| StoreError::NotFound(format!("no identity is known for peer {peer:?}")))?;
        p.verified = verified;
        p.verified_at = verified.then(now_secs);
        let blob = self.data_key.seal("peers", peer.as_bytes(), &p.encode())?;
        let tx = Self::begin(&mut self.keys)?;
        Self::upsert_peer(&tx, peer, &blob)?;
        tx.commit()?;
        Ok(())
    }

    // ----- key-value --------------------------------------------------------------------

    /// A value of the encrypted key-value area.
    pub fn kv_get(&self, key: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        check_id("key", key)?;
        let blob: Option<Vec<u8>> = self
            .keys
            .prepare_cached("SELECT blob FROM kv WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?;
        match blob {
            None => Ok(None),
            Some(b) => Ok(Some(self.data_key.open("kv", key.as_bytes(), &b)?)),
        }
    }

    /// Sets a value (committed).
    pub fn kv_set(&mut self, key: &str, value: &[u8]) -> Result<()> {
        check_id("key", key)?;
        let blob = self.data_key.seal("kv", key.as_bytes(), value)?;
        let tx = Self::begin(&mut self.keys)?;
        tx.execute(
            "INSERT INTO kv(key, blob) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET blob = excluded.blob",
            params![key, blob],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes a value (no error when absent).
    pub fn kv_delete(&mut self, key: &str) -> Result<()> {
        check_id("key", key)?;
        self.keys.execute("DELETE FROM kv WHERE key = ?1", [key])?;
        Ok(())
    }

    // ----- password ---------------------------------------------------------------------

    /// Re-wraps the data key under a new password (records are not re-sealed). The new
    /// wrapping uses the KDF parameters this store was opened with.
    pub fn change_password(&mut self, old: &str, new: &str) -> Result<()> {
        if new.is_empty() {
            return Err(StoreError::Invalid("the store password must not be empty".into()));
        }
        let current = unwrap_data_key(&self.keys, old)?;
        let rows = wrap_rows(new, &self.opts.kdf, &current)?;
        let tx = Self::begin(&mut self.keys)?;
        for (name, value) in &rows {
            tx.execute("UPDATE meta SET value = ?2 WHERE name = ?1", params![name, value])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Deletes every file of this account's store and the directory if it is then empty.
    pub fn wipe(self) -> Result<()> {
        let Self { dir, keys, msgs, _lock, .. } = self;
        // Overwrite the wrapped key first: without it nothing in the files can be opened.
        keys.execute_batch(
            "PRAGMA secure_delete=ON; UPDATE meta SET value = zeroblob(length(value)) WHERE name = 'wrapped_key';
             PRAGMA wal_checkpoint(TRUNCATE);",
        )?;
        keys.close().map_err(|(_, e)| StoreError::from(e))?;
        msgs.close().map_err(|(_, e)| StoreError::from(e))?;
        for name in [KEYS_DB, MESSAGES_DB] {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                match fs::remove_file(dir.join(format!("{name}{suffix}"))) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let _ = fs::remove_file(dir.join(LOCK_FILE));
        drop(_lock);
        let _ = fs::remove_dir(&dir);
        sync_dir(dir.parent().unwrap_or(&dir));
        Ok(())
    }

    // ----- history and outbox (messages.db) ---------------------------------------------------

    /// Saves a message; `false` when its id exists.
    pub fn save_message(&mut self, m: &StoredMessage) -> Result<bool> {
        m.validate()?;
        let blob = self.data_key.seal("messages", m.id.as_bytes(), &m.encode())?;
        let n = self
            .msgs
            .prepare_cached(
                "INSERT INTO messages(id, peer, ts, status, blob) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(id) DO NOTHING",
            )?
            .execute(params![m.id, m.peer_id, m.timestamp, m.status, blob])?;
        Ok(n == 1)
    }

    /// Saves messages and removes ids from the outbox in one transaction (one commit);
    /// returns, per message, `false` when its id existed. Every message is checked before
    /// anything is written: one bad message, or a database error, commits nothing.
    pub fn save_messages(
        &mut self,
        ms: &[StoredMessage],
        remove_from_outbox: &[String],
    ) -> Result<Vec<bool>> {
        let mut blobs = Vec::with_capacity(ms.len());
        for m in ms {
            m.validate()?;
            blobs.push(self.data_key.seal("messages", m.id.as_bytes(), &m.encode())?);
        }
        let tx = Self::begin(&mut self.msgs)?;
        let mut saved = Vec::with_capacity(ms.len());
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO messages(id, peer, ts, status, blob) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(id) DO NOTHING",
            )?;
            for (m, blob) in ms.iter().zip(&blobs) {
                saved.push(stmt.execute(params![m.id, m.peer_id, m.timestamp, m.status, blob])? == 1);
            }
            let mut del = tx.prepare_cached("DELETE FROM outbox WHERE id = ?1")?;
            for id in remove_from_outbox {
                del.execute([id])?;
            }
        }
        tx.commit()?;
        Ok(saved)
    }

    /// Sets the status of messages; returns how many exist.
    pub fn update_status(&mut self, ids: &[String], status: &str) -> Result<usize> {
        check_status(status)?;
        let tx = Self::begin(&mut self.msgs)?;
        let mut n = 0;
        {
            let mut stmt = tx.prepare_cached("UPDATE messages SET status = ?2 WHERE id = ?1")?;
            for id in ids {
                n += stmt.execute(params![id, status])?;
            }
        }
        tx.commit()?;
        Ok(n)
    }

    fn message_row(&self, id: String, status: String, blob: &[u8]) -> Result<StoredMessage> {
        let raw = self.data_key.open("messages", id.as_bytes(), blob)?;
        StoredMessage::decode(id, status, &raw)
    }

    /// One message by id.
    pub fn get_message(&self, id: &str) -> Result<Option<StoredMessage>> {
        let row: Option<(String, String, Vec<u8>)> = self
            .msgs
            .prepare_cached("SELECT id, status, blob FROM messages WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        row.map(|(id, status, blob)| self.message_row(id, status, &blob)).transpose()
    }

    /// A page of a conversation, newest first, strictly older than `before` when given.
    pub fn messages(&self, peer: &str, limit: usize, before: Option<i64>) -> Result<Vec<StoredMessage>> {
        let limit = i64::try_from(limit.min(10_000)).unwrap_or(10_000);
        let mut stmt = self.msgs.prepare_cached(
            "SELECT id, status, blob FROM messages WHERE peer = ?1 AND ts < ?2 ORDER BY ts DESC, rowid DESC LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(params![peer, before.unwrap_or(i64::MAX), limit], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Vec<u8>>(2)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(|(id, status, blob)| self.message_row(id, status, &blob)).collect()
    }

    /// Queues a message to send (idempotent by id); the payload is sealed at rest.
    pub fn outbox_add(&mut self, id: &str, peer: &str, payload: &[u8], created_at: i64) -> Result<()> {
        check_id("message id", id)?;
        check_id("peer_id", peer)?;
        let mut e = Enc::new(1);
        e.str(peer).bytes(payload);
        let blob = self.data_key.seal("outbox", id.as_bytes(), &e.finish())?;
        self.msgs
            .prepare_cached(
                "INSERT INTO outbox(id, created_at, blob) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO NOTHING",
            )?
            .execute(params![id, created_at, blob])?;
        Ok(())
    }

    /// Queues many messages in one transaction (one commit), each idempotent by id. Every
    /// item is checked before anything is written: one bad item commits nothing.
    pub fn outbox_add_many(&mut self, items: &[OutboxItem]) -> Result<()> {
        let mut blobs = Vec::with_capacity(items.len());
        for item in items {
            check_id("message id", &item.message_id)?;
            check_id("peer_id", &item.peer_id)?;
            let mut e = Enc::new(1);
            e.str(&item.peer_id).bytes(&item.payload);
            blobs.push(self.data_key.seal("outbox", item.message_id.as_bytes(), &e.finish())?);
        }
        let tx = Self::begin(&mut self.msgs)?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO outbox(id, created_at, blob) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO NOTHING",
            )?;
            for (item, blob) in items.iter().zip(&blobs) {
                stmt.execute(params![item.message_id, item.created_at, blob])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Everything queued, oldest first.
    pub fn outbox(&self) -> Result<Vec<OutboxItem>> {
        let mut stmt =
            self.msgs.prepare_cached("SELECT id, created_at, blob FROM outbox ORDER BY created_at, rowid")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, Vec<u8>>(2)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(id, created_at, blob)| {
                let raw = self.data_key.open("outbox", id.as_bytes(), &blob)?;
                let mut d = Dec::new(&raw, 1, "outbox")?;
                let peer_id = d.string()?;
                let payload = d.bytes()?.to_vec();
                d.finish()?;
                Ok(OutboxItem { message_id: id, peer_id, payload, created_at })
            })
            .collect()
    }

    /// Removes a queued message (no error when absent).
    pub fn outbox_remove(&mut self, id: &str) -> Result<()> {
        self.msgs.prepare_cached("DELETE FROM outbox WHERE id = ?1")?.execute([id])?;
        Ok(())
    }

    /// Removes many queued messages in one transaction (no error for absent ids).
    pub fn outbox_remove_many(&mut self, ids: &[String]) -> Result<()> {
        self.save_messages(&[], ids).map(|_| ())
    }

    // ----- raw access for export and import -------------------------------------------------

    /// A copy of the peer's session record (an empty record when there is none).
    pub fn session_copy(&mut self, peer: &str) -> Result<SessionRecord> {
        let record = self.take_session(peer)?;
        let copy = record.clone();
        self.cache.put(peer, record);
        Ok(copy)
    }

    /// Every row of a keyed table, opened: `(row key, plaintext)`.
    pub(crate) fn all_rows(&self, table: &'static str) -> Result<Vec<(String, Zeroizing<Vec<u8>>)>> {
        let key_col = if table == "kv" { "key" } else { "peer" };
        let mut stmt = self.keys.prepare(&format!("SELECT {key_col}, blob FROM {table}"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(k, blob)| {
                let raw = self.data_key.open(table, k.as_bytes(), &blob)?;
                Ok((k, raw))
            })
            .collect()
    }

    /// Writes an imported account, sessions, peers and key-value rows in one transaction.
    pub(crate) fn write_import(
        &mut self,
        account: Option<Account>,
        sessions: &[(String, SessionRecord)],
        peers: &[(String, PeerIdentity)],
        kv: &[(String, Zeroizing<Vec<u8>>)],
    ) -> Result<()> {
        let account_blob = match &account {
            Some(a) => Some(self.account_blob(a)?),
            None => None,
        };
        let mut session_blobs = Vec::with_capacity(sessions.len());
        for (peer, record) in sessions {
            check_id("peer_id", peer)?;
            session_blobs.push((peer.as_str(), self.session_blob(peer, record)?));
        }
        let mut peer_blobs = Vec::with_capacity(peers.len());
        for (peer, p) in peers {
            check_id("peer_id", peer)?;
            peer_blobs.push((peer.as_str(), self.data_key.seal("peers", peer.as_bytes(), &p.encode())?));
        }
        let mut kv_blobs = Vec::with_capacity(kv.len());
        for (key, value) in kv {
            check_id("key", key)?;
            kv_blobs.push((key.as_str(), self.data_key.seal("kv", key.as_bytes(), value)?));
        }
        let tx = Self::begin(&mut self.keys)?;
        if let Some(b) = &account_blob {
            tx.execute(
                "INSERT INTO account(id, blob) VALUES (1, ?1) ON CONFLICT(id) DO UPDATE SET blob = excluded.blob",
                [b],
            )?;
        }
        for (peer, blob) in &session_blobs {
            Self::upsert_session(&tx, peer, blob)?;
        }
        for (peer, blob) in &peer_blobs {
            Self::upsert_peer(&tx, peer, blob)?;
        }
        for (key, blob) in &kv_blobs {
            tx.execute(
                "INSERT INTO kv(key, blob) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET blob = excluded.blob",
                params![key, blob],
            )?;
        }
        tx.commit()?;
        if let Some(mut a) = account {
            a.set_limits(self.opts.limits);
            self.account = Some(a);
        }
        for (peer, record) in sessions {
            self.cache.take(peer);
            self.cache.put(peer, record.clone());
        }
        Ok(())
    }

    /// Fills the store with copies of one peer's session under other peer ids, for
    /// benchmarks of opening a large store. Never use it with real peers: the copies share
    /// key material.
    #[doc(hidden)]
    pub fn bench_clone_sessions(&mut self, template_peer: &str, prefix: &str, count: usize) -> Result<()> {
        let record = self.session_copy(template_peer)?;
        let raw = record.to_bytes();
        let tx = Self::begin(&mut self.keys)?;
        {
            let mut stmt =
                tx.prepare_cached("INSERT OR REPLACE INTO sessions(peer, blob) VALUES (?1, ?2)")?;
            for i in 0..count {
                let peer = format!("{prefix}{i}");
                let blob = self.data_key.seal("sessions", peer.as_bytes(), &raw)?;
                stmt.execute(params![peer, blob])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Drops every cached session record (they are reloaded on demand).
    pub fn clear_cache(&mut self) {
        self.cache.clear();
    }
}

fn id_key(id: &str, peer: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(id.len() + 1 + peer.len());
    k.extend_from_slice(id.as_bytes());
    k.push(0);
    k.extend_from_slice(peer.as_bytes());
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neither_the_data_key_nor_the_password_key_is_on_disk() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("me");
        let kdf = KdfParams { memory_kib: 64, iterations: 1, lanes: 1 };
        let mut store = Store::open(&dir, "pw", StoreOptions { kdf, ..Default::default() }).unwrap();
        store.create_identity().unwrap();
        store.kv_set("token", b"t").unwrap();
        store.change_password("pw", "pw2").unwrap();
        let data_key = *store.data_key.expose();
        let salt = meta_get(&store.keys, "salt").unwrap();
        let kek = SecretKey::derive(b"pw2", &salt, &kdf).unwrap();
        let old_salt_key = SecretKey::derive(b"pw", &salt, &kdf).unwrap();
        for entry in fs::read_dir(&dir).unwrap() {
            let data = fs::read(entry.unwrap().path()).unwrap();
            for needle in [&data_key, kek.expose(), old_salt_key.expose()] {
                assert!(!data.windows(32).any(|w| w == needle.as_slice()));
            }
        }
        // The wrapped key opens with the new password only.
        drop(store);
        assert!(matches!(
            Store::open(&dir, "pw", StoreOptions { kdf, ..Default::default() }),
            Err(StoreError::Auth(_))
        ));
    }
}
