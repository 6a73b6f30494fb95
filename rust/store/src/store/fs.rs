//! The files of a store: layout, schemas, permissions, SQLite configuration and creation.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::*;
use crate::error::{Result, StoreError};

// Every sealed blob's associated data binds its table and every other column of its row
// (see `ledger::Row::ad` and `history`); `gen` is the rollback ledger's generation, and the
// `*_gen` covering indexes let `open()` read every row's generation without its blob.
pub(super) const KEYS_SCHEMA: &str = "
CREATE TABLE meta(name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE ledger(id INTEGER PRIMARY KEY CHECK (id = 1), blob BLOB NOT NULL);
CREATE TABLE account(id INTEGER PRIMARY KEY CHECK (id = 1), gen INTEGER NOT NULL, blob BLOB NOT NULL);
CREATE TABLE sessions(peer TEXT PRIMARY KEY, gen INTEGER NOT NULL, blob BLOB NOT NULL);
CREATE TABLE peers(peer TEXT PRIMARY KEY, gen INTEGER NOT NULL, blob BLOB NOT NULL);
CREATE TABLE kv(key TEXT PRIMARY KEY, gen INTEGER NOT NULL, blob BLOB NOT NULL);
CREATE TABLE sent(id TEXT PRIMARY KEY, peer TEXT NOT NULL, gen INTEGER NOT NULL, blob BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE inbox(peer TEXT NOT NULL, id TEXT NOT NULL, gen INTEGER NOT NULL, blob BLOB NOT NULL,
                   PRIMARY KEY(peer, id)) WITHOUT ROWID;
CREATE INDEX inbox_by_id ON inbox(id);
CREATE INDEX sessions_gen ON sessions(peer, gen);
CREATE INDEX peers_gen ON peers(peer, gen);
CREATE INDEX kv_gen ON kv(key, gen);
CREATE INDEX sent_gen ON sent(id, gen);
CREATE INDEX inbox_gen ON inbox(peer, id, gen);
";

// History is keyed by (conversation, sender, id): ids are chosen by senders, so the same id
// from two senders is two messages.
pub(super) const MESSAGES_SCHEMA: &str = "
CREATE TABLE meta(name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE messages(peer TEXT NOT NULL, sender TEXT NOT NULL, id TEXT NOT NULL, ts INTEGER NOT NULL,
                      status TEXT NOT NULL, blob BLOB NOT NULL, UNIQUE(peer, sender, id));
CREATE INDEX messages_by_peer ON messages(peer, ts);
CREATE INDEX messages_by_id ON messages(id);
CREATE TABLE outbox(id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, blob BLOB NOT NULL);
CREATE INDEX outbox_by_age ON outbox(created_at);
";

#[cfg(unix)]
pub(super) fn mode_of(path: &Path) -> Result<Option<u32>> {
    use std::os::unix::fs::PermissionsExt;
    match fs::metadata(path) {
        Ok(m) => Ok(Some(m.permissions().mode() & 0o777)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Refuses a directory or file that other users can read or write.
#[cfg(unix)]
pub(super) fn check_private(path: &Path, is_dir: bool) -> Result<()> {
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
pub(super) fn check_private(_path: &Path, _is_dir: bool) -> Result<()> {
    Ok(())
}

pub(super) fn create_private_dir(dir: &Path) -> Result<()> {
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

pub(super) fn private_file_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.read(true).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

pub(super) fn sync_dir(dir: &Path) {
    // Makes a rename durable; not every platform can open a directory, which is harmless.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

pub(super) fn configure(conn: &Connection, durability: Durability) -> Result<()> {
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
pub(super) fn open_db(path: &Path) -> Result<Connection> {
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
pub(super) fn create_db(path: &Path, schema: &str, meta: &[(&str, Vec<u8>)]) -> Result<()> {
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
pub(super) fn schema_of(conn: &Connection) -> Result<Vec<(String, String, Option<String>)>> {
    let mut stmt = conn.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Refuses a database whose tables and indexes are not exactly the ones `schema` makes.
pub(super) fn check_schema(conn: &Connection, schema: &str, path: &Path) -> Result<()> {
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

pub(super) fn meta_get(conn: &Connection, name: &str) -> Result<Vec<u8>> {
    let missing = || {
        StoreError::Corrupt(format!(
            "the store metadata ('{name}') is missing; the file is not a valid store"
        ))
    };
    // Metadata is read before anything is authenticated: a value of hostile size is refused
    // before it is loaded (every genuine one is under a kilobyte).
    let v: Option<Vec<u8>> = conn
        .query_row(
            "SELECT CASE WHEN length(value) <= 65536 THEN value ELSE NULL END FROM meta WHERE name = ?1",
            [name],
            |r| r.get::<_, Option<Vec<u8>>>(0),
        )
        .optional()
        .map(Option::flatten)
        .map_err(|e| match StoreError::from(e) {
            StoreError::Storage(_) => missing(),
            other => other,
        })?;
    v.ok_or_else(missing)
}
