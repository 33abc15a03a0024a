//! Settings of the SQL store, every default a `const` that the docs refer to.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// How hard a commit works to survive a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Durability {
    /// An acknowledged write survives a crash of the process, of the operating system and a
    /// power cut. SQLite: `synchronous=FULL` (each commit flushes the write-ahead log to
    /// disk). PostgreSQL: the server's `synchronous_commit` (on by default) is left alone.
    /// The default: the engine acknowledges a message only once it is stored like this.
    #[default]
    Full,
    /// Faster: an acknowledged write survives a crash or kill of the process, but the last
    /// commits (up to about a second) may be lost if the machine loses power or the operating
    /// system (SQLite) or the database server (PostgreSQL) crashes; the database is never
    /// corrupted. SQLite: `synchronous=NORMAL` in WAL mode (the log is flushed at
    /// checkpoints, not at each commit). PostgreSQL: `synchronous_commit=off` for the
    /// store's sessions. For demos and deployments that accept that trade.
    Normal,
}

/// Default [`SqlOptions::durability`].
pub const DEFAULT_DURABILITY: Durability = Durability::Full;
/// Default [`SqlOptions::group_commit_max_batch`]: appends written in one transaction at most.
pub const DEFAULT_GROUP_COMMIT_MAX_BATCH: usize = 256;
/// Default [`SqlOptions::group_commit_max_delay`]: how long the writer waits for more appends
/// after the first of a batch: none. The writer writes what is queued as soon as it is free,
/// and what comes in while it writes is the next batch (see `group_commit.rs`).
pub const DEFAULT_GROUP_COMMIT_MAX_DELAY: Duration = Duration::ZERO;
/// Default [`SqlOptions::busy_timeout`] (SQLite): how long a statement waits for another
/// process's lock on the file before it fails (5 s).
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Default [`SqlOptions::acquire_timeout`]: how long a call waits for a database connection
/// before it fails with `Unavailable` (5 s).
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Default [`SqlOptions::postgres_pool_size`]: connections to PostgreSQL.
pub const DEFAULT_POSTGRES_POOL_SIZE: u32 = 10;
/// Default [`SqlOptions::sqlite_readers`]: read-only connections to the SQLite file (writes
/// always go through one writer connection).
pub const DEFAULT_SQLITE_READERS: u32 = 4;
/// Default [`SqlOptions::sqlite_appends_file`]: off (the appends go straight into the log's
/// table, as they always have) until the file of their own is measured on the server.
pub const DEFAULT_SQLITE_APPENDS_FILE: bool = false;
/// Default [`SqlOptions::sqlite_move_interval`]: how often what came into the appends file is
/// copied into the log (250 ms).
pub const DEFAULT_SQLITE_MOVE_INTERVAL: Duration = Duration::from_millis(250);
/// Default retention of transcripts, in days: long enough for quality review (chat scans,
/// intervision), after which the operator's purge (`purge_transcripts(retention_cutoff(now,
/// days))`) deletes the message text. Registrations, ratings and metadata stay.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

/// The instant before which ended conversations lose their transcript, for a retention of
/// `days` days at `now`: pass it to `Store::purge_transcripts`.
pub fn retention_cutoff(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    now - chrono::Duration::days(i64::from(days))
}

/// Default retention of a blended-chat client file, in months after the trajectory's last
/// appointment. Those transcripts belong to the client's file at the centre, not to the
/// anonymous desk's review period; set it to the centre's own rule for client files.
pub const DEFAULT_CLIENT_FILE_MONTHS: u32 = 24;

/// The instant before which a trajectory's last appointment must have ended for its client
/// file to be emptied, for a retention of `months` months at `now`: pass it to
/// `Store::purge_client_files`. A month is a calendar month (31 March minus one month is
/// 28 or 29 February).
pub fn client_file_cutoff(now: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    now.checked_sub_months(chrono::Months::new(months))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Settings of [`crate::SqlStore::connect`]. Start from [`SqlOptions::new`] (or `default()`)
/// and change fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqlOptions {
    /// How hard a commit works to survive a crash (default [`DEFAULT_DURABILITY`]).
    pub durability: Durability,
    /// Appends written in one transaction at most (default [`DEFAULT_GROUP_COMMIT_MAX_BATCH`]).
    pub group_commit_max_batch: usize,
    /// How long the writer waits for more appends after the first of a batch; zero batches
    /// only what is already queued (default [`DEFAULT_GROUP_COMMIT_MAX_DELAY`]).
    pub group_commit_max_delay: Duration,
    /// SQLite: wait for another process's lock this long (default [`DEFAULT_BUSY_TIMEOUT`]).
    pub busy_timeout: Duration,
    /// Wait for a free connection this long (default [`DEFAULT_ACQUIRE_TIMEOUT`]).
    pub acquire_timeout: Duration,
    /// PostgreSQL: connections in the pool (default [`DEFAULT_POSTGRES_POOL_SIZE`]).
    pub postgres_pool_size: u32,
    /// SQLite: read-only connections (default [`DEFAULT_SQLITE_READERS`]).
    pub sqlite_readers: u32,
    /// SQLite (a file): append to a second SQLite file beside the database, without an index,
    /// and copy what came into the log's table, sorted by chat, every
    /// [`SqlOptions::sqlite_move_interval`] (see `crate::appends`; default
    /// [`DEFAULT_SQLITE_APPENDS_FILE`]). An acknowledgement still waits for the appends
    /// file's commit. Whatever its setting, an appends file left by an earlier run is
    /// emptied into the log when the store opens.
    pub sqlite_appends_file: bool,
    /// SQLite with [`SqlOptions::sqlite_appends_file`]: how often what came is copied into
    /// the log (default [`DEFAULT_SQLITE_MOVE_INTERVAL`]).
    pub sqlite_move_interval: Duration,
    /// The key file: every conversation's key, kept apart from its text (see the crate's
    /// docs, "Crypto-shredding"). Default `None`: beside a SQLite file, the same name with
    /// `.keys` added (`clbchat.db.keys`); in memory for a database in memory. A PostgreSQL
    /// database needs one named.
    pub key_file: Option<std::path::PathBuf>,
}

impl SqlOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self {
            // Acknowledged means flushed to disk.
            durability: DEFAULT_DURABILITY,
            // 256 appends per transaction at most.
            group_commit_max_batch: DEFAULT_GROUP_COMMIT_MAX_BATCH,
            // Write what is queued as soon as the writer is free.
            group_commit_max_delay: DEFAULT_GROUP_COMMIT_MAX_DELAY,
            // SQLite waits 5 s for a lock.
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            // A call waits 5 s for a connection, then says `Unavailable`.
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            // 10 PostgreSQL connections.
            postgres_pool_size: DEFAULT_POSTGRES_POOL_SIZE,
            // 4 SQLite readers besides the one writer.
            sqlite_readers: DEFAULT_SQLITE_READERS,
            // Appends go straight into the log's table.
            sqlite_appends_file: DEFAULT_SQLITE_APPENDS_FILE,
            // Copied into the log every 250 ms when they do not.
            sqlite_move_interval: DEFAULT_SQLITE_MOVE_INTERVAL,
            // Beside a SQLite file; in memory for a database in memory.
            key_file: None,
        }
    }
}

impl Default for SqlOptions {
    fn default() -> Self {
        Self::new()
    }
}
