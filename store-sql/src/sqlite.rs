//! SQLite: the embedded default. One file in WAL mode, one writer connection (SQLite allows
//! one writer at a time anyway; one connection makes that explicit and lets the group-commit
//! writer and the other writes queue in-process instead of in busy-waits), a few read-only
//! connections that read in parallel with it, and a busy timeout for other processes (a
//! `migrate` or a backup) that hold the file's lock for a moment.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Pool, Sqlite, Transaction};

use crate::group_commit::{judge, BatchWriter, LastSeqs, Verdict};
use crate::options::{Durability, SqlOptions};

/// The embedded migrations of the SQLite schema.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The SQLite pools, and this store's part in writing the log.
///
/// # The log's tail
///
/// An append does not go into `events`, whose index by `(conversation, seq)` a batch of a
/// hundred chats would change in a hundred places, but into `events_tail`: rows in the order
/// written, no index but the row id, no key to the conversation (migration
/// `20261206000001_event_log_with_a_tail`). The writer remembers, per chat, the row ids and
/// the last number it put there ([`Tail`]), so the sequence rule is still checked for every
/// append, and it moves the tail into `events` in slices of whole chats, sorted by chat, so
/// that each index page changes once for several entries:
///
/// - after a batch, one slice of about [`FOLD_SLICE`] rows when the tail holds
///   [`TAIL_HIGH`] rows or more (so no pause is much longer than a batch's);
/// - when no append has come for a moment (the group-commit writer's quiet time), one slice
///   at a time until the tail is empty;
/// - all of it when the store opens (after a crash, the tail is what the last process
///   committed) and when it closes.
///
/// Every read goes through the view `event_log`, the union of both tables, so a committed
/// entry is read wherever it is; the move is one transaction, so it is never in both or in
/// neither. The index and the key to the conversation still guard `events`: an entry that
/// cannot join it (its chat was deleted behind the store's back, or another writer stored
/// the same number) stays out, and the writer says how many in its log.
///
/// Only one process may keep a tail: what it remembers is the only record of which chats
/// have rows there. So the store that appends holds an advisory lock on the file
/// `<database>-lock` ([`lock_log`]) for as long as it is open. A second store on the same
/// file (another service pointed at it, or a command run beside the server) reads as usual,
/// writes everything but the log, and answers an append with an error that names the lock
/// and the process's way out. The lock goes with the process, so a crashed server does not
/// keep it.
pub(crate) struct SqliteBackend {
    /// Read-only connections (for `sqlite::memory:`, the writer itself).
    read: SqlitePool,
    /// The one writer connection.
    write: SqlitePool,
    /// The database file (none in memory).
    file: Option<PathBuf>,
    /// Whether this store appends to the log.
    log: LogRole,
}

/// This store's part in writing the log.
enum LogRole {
    /// It appends: it holds the lock (or the database is in memory, where no other process
    /// can reach it).
    Writer {
        /// What it remembers of the tail.
        tail: Mutex<Tail>,
        /// The locked lock file, until [`SqliteBackend::close`] (none in memory).
        lock: Mutex<Option<std::fs::File>>,
    },
    /// Another process holds the lock (or the database was opened read-only).
    Reader {
        /// The lock file the other process holds.
        lock: PathBuf,
    },
}

/// Tail rows from which every batch is followed by a slice moved into `events`.
const TAIL_HIGH: usize = 8_192;

/// Rows a slice moves at least (whole chats, the oldest first, until it has this many).
const FOLD_SLICE: usize = 1_024;

/// What the writer knows of `events_tail`: which chats have rows there, with their row ids
/// and their last number. Only the writer adds rows, and it adds them here once committed;
/// rows deleted behind its back (an erasure) leave ids that match nothing, which is
/// harmless: the table's ids are never used twice (`AUTOINCREMENT`).
#[derive(Debug, Default)]
struct Tail {
    chats: HashMap<Uuid, TailChat>,
    /// Chats in the order of their first row in the tail: the oldest move first.
    order: VecDeque<Uuid>,
    /// Rows in all.
    rows: usize,
}

/// One chat's rows in the tail.
#[derive(Debug, Default)]
struct TailChat {
    ids: Vec<i64>,
    last: i64,
}

impl Tail {
    /// Notes a committed row.
    fn add(&mut self, conversation: Uuid, id: i64, seq: i64) {
        let order = &mut self.order;
        let chat = self.chats.entry(conversation).or_insert_with(|| {
            order.push_back(conversation);
            TailChat::default()
        });
        chat.ids.push(id);
        chat.last = seq;
        self.rows += 1;
    }

    /// The last number of `conversation` in the tail, if it has rows there.
    fn last(&self, conversation: &Uuid) -> Option<i64> {
        self.chats.get(conversation).map(|c| c.last)
    }

    /// The oldest chats, until they hold `rows` rows or the tail ends, with their row ids.
    fn slice(&self, rows: usize) -> (Vec<Uuid>, Vec<i64>) {
        let mut chats = Vec::new();
        let mut ids = Vec::new();
        for id in &self.order {
            if ids.len() >= rows {
                break;
            }
            if let Some(chat) = self.chats.get(id) {
                chats.push(*id);
                ids.extend_from_slice(&chat.ids);
            }
        }
        (chats, ids)
    }

    /// Forgets chats whose rows moved.
    fn moved(&mut self, chats: &[Uuid]) {
        for id in chats {
            if let Some(chat) = self.chats.remove(id) {
                self.rows -= chat.ids.len();
            }
        }
        let gone: std::collections::HashSet<&Uuid> = chats.iter().collect();
        self.order.retain(|id| !gone.contains(id));
    }
}

/// The lock file of a database: `<database>-lock`, beside SQLite's `-wal` and `-shm`.
fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-lock");
    PathBuf::from(name)
}

/// Takes the lock that makes this process the writer of the log of `database`: the file
/// `<database>-lock` (created owner-only), locked with `flock(2)`, exclusive, not waiting.
/// `Ok(Some(file))`: held while `file` is open; `Ok(None)`: another process holds it.
fn lock_log(database: &Path) -> Result<Option<std::fs::File>> {
    let path = lock_path(database);
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(&path).map_err(|source| Error::File {
        context: format!("opening the lock file `{}`", path.display()),
        source,
    })?;
    #[cfg(unix)]
    {
        use rustix::fs::{flock, FlockOperation};
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(file)),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(None),
            Err(e) => Err(Error::File {
                context: format!("locking `{}`", path.display()),
                source: e.into(),
            }),
        }
    }
    // Elsewhere there is no lock: one store per database file is then the operator's job.
    #[cfg(not(unix))]
    Ok(Some(file))
}

/// A write transaction that takes the file's write lock at once (`BEGIN IMMEDIATE`), so a
/// transaction that reads before it writes cannot fail to upgrade its lock half-way.
async fn begin_write(pool: &Pool<Sqlite>) -> sqlx::Result<Transaction<'static, Sqlite>> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// A read transaction: one snapshot for several queries.
async fn begin_read(pool: &Pool<Sqlite>) -> sqlx::Result<Transaction<'static, Sqlite>> {
    pool.begin().await
}

/// The tables that hold the log: the indexed log and its tail (see `crate::queries` and
/// [`SqliteBackend`]'s write-up of the tail).
const EVENT_TABLES: [&str; 2] = ["events", "events_tail"];

/// SQL that is true when chat `chat` (a column) has entries in the log that also meet
/// `and` (conditions on `e.`, each starting with ` AND`): the index by chat for `events`,
/// and the tail read once for the whole query. A correlated `EXISTS` on the view
/// `event_log` would scan the unindexed tail again for every chat that has nothing in
/// `events` (every purged chat, in a purge).
fn log_has(chat: &str, and: &str) -> String {
    format!(
        "(EXISTS (SELECT 1 FROM events e WHERE e.conversation = {chat}{and}) \
         OR {chat} IN (SELECT e.conversation FROM events_tail e WHERE 1 = 1{and}))"
    )
}

crate::queries::shared_queries!(SqliteBackend, Sqlite);

/// How SQLite reads JSON (see `report.rs`).
const DIALECT: crate::report::Dialect = crate::report::Dialect {
    profile_client_type: "json_extract(c.profile, '$.client_type')",
    elements: "json_each({col}) AS je",
    lateral: "",
};

crate::report::report_queries!(SqliteBackend, sqlx::Sqlite);

/// Creates a missing database file readable by its owner only: it holds every transcript.
/// SQLite gives the WAL and shared-memory files it makes beside it the same mode. An
/// existing file keeps the mode its owner gave it.
fn create_owner_only(path: &std::path::Path) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(Error::File {
            context: format!("creating the SQLite database file `{}`", path.display()),
            source,
        }),
    }
}

impl SqliteBackend {
    /// Opens (creating it if missing, unless the URL says `mode=`) and migrates the file.
    pub(crate) async fn connect(url: &str, options: &SqlOptions) -> Result<Self> {
        let mut base = SqliteConnectOptions::from_str(url)
            .map_err(|e| Error::sql(format!("reading the SQLite URL `{url}`"), e))?
            .foreign_keys(true)
            // Deleted rows are overwritten, not left in free pages (the purge's text).
            .pragma("secure_delete", "ON")
            .busy_timeout(options.busy_timeout)
            .synchronous(match options.durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            });
        if !url.contains("mode=") {
            base = base.create_if_missing(true);
        }
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let opening = |what: &str| format!("opening the SQLite database `{url}` ({what})");
        if !in_memory && !url.contains("mode=") {
            create_owner_only(base.get_filename())?;
        }

        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(options.acquire_timeout);
        if in_memory {
            // One connection holds the whole database: it must never be closed.
            let pool = writer
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(base)
                .await
                .context(&opening("in memory"))?;
            let backend = Self {
                read: pool.clone(),
                write: pool,
                file: None,
                log: LogRole::Writer {
                    tail: Mutex::new(Tail::default()),
                    lock: Mutex::new(None),
                },
            };
            backend.migrate().await?;
            return Ok(backend);
        }
        // The lock before the migrations: the writer moves a tail left by a crash into the
        // log right after them, and no other process may be writing that tail meanwhile.
        let file = base.get_filename().to_path_buf();
        let log = if url.contains("mode=ro") {
            LogRole::Reader {
                lock: lock_path(&file),
            }
        } else {
            match lock_log(&file)? {
                Some(held) => LogRole::Writer {
                    tail: Mutex::new(Tail::default()),
                    lock: Mutex::new(Some(held)),
                },
                None => LogRole::Reader {
                    lock: lock_path(&file),
                },
            }
        };
        let write = writer
            .connect_with(base.clone().journal_mode(SqliteJournalMode::Wal))
            .await
            .context(&opening("writer"))?;
        let backend_write = write.clone();
        // The schema must exist before read-only connections look at it.
        MIGRATOR
            .run(&backend_write)
            .await
            .map_err(|source| Error::Migrate {
                backend: "SQLite",
                source,
            })?;
        let read = SqlitePoolOptions::new()
            .max_connections(options.sqlite_readers.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(base.read_only(true))
            .await
            .context(&opening("readers"))?;
        let backend = Self {
            read,
            write,
            file: Some(file),
            log,
        };
        if matches!(backend.log, LogRole::Writer { .. }) {
            backend.fold_all().await?;
        }
        Ok(backend)
    }

    /// The database file (none in memory).
    pub(crate) fn file(&self) -> Option<&std::path::Path> {
        self.file.as_deref()
    }

    /// Applies the embedded migrations that are not applied yet.
    pub(crate) async fn migrate(&self) -> Result<()> {
        MIGRATOR
            .run(&self.write)
            .await
            .map_err(|source| Error::Migrate {
                backend: "SQLite",
                source,
            })
    }

    /// Moves the whole tail into the log (when this store writes it), closes both pools
    /// and lets go of the lock; after the group-commit writer has finished.
    pub(crate) async fn close(&self) {
        if let LogRole::Writer { lock, .. } = &self.log {
            if let Err(e) = self.fold_all().await {
                // Nothing is lost: the next store to open the file moves it.
                tracing::warn!(error = %e, "the log's tail stays for the next start");
            }
            self.write.close().await;
            self.read.close().await;
            drop(lock.lock().unwrap_or_else(|p| p.into_inner()).take());
            return;
        }
        self.write.close().await;
        self.read.close().await;
    }

    /// What this store remembers of the log's tail; an error that says which process
    /// appends when it is not this one.
    fn log_tail(&self) -> Result<&Mutex<Tail>> {
        match &self.log {
            LogRole::Writer { tail, .. } => Ok(tail),
            LogRole::Reader { lock } => Err(Error::LogWrittenElsewhere {
                database: self
                    .file
                    .as_deref()
                    .map(|f| f.display().to_string())
                    .unwrap_or_default(),
                lock: lock.display().to_string(),
            }),
        }
    }

    /// `Ok` when this store may append to the log; else the error an append would get.
    pub(crate) fn may_append(&self) -> Result<()> {
        self.log_tail().map(|_| ())
    }

    /// Moves every row of the tail into `events`, in one transaction, sorted by chat.
    async fn fold_all(&self) -> Result<()> {
        let mut tx = begin_write(&self.write)
            .await
            .context("starting to move the log's tail")?;
        let moved = sqlx::query(&format!(
            "{FOLD_INTO_EVENTS} ORDER BY t.conversation, t.seq"
        ))
        .execute(&mut *tx)
        .await
        .context("moving the log's tail into the log")?
        .rows_affected();
        let removed = sqlx::query("DELETE FROM events_tail")
            .execute(&mut *tx)
            .await
            .context("emptying the log's tail")?
            .rows_affected();
        tx.commit().await.context("committing the log's tail")?;
        if let LogRole::Writer { tail, .. } = &self.log {
            *tail.lock().unwrap_or_else(|p| p.into_inner()) = Tail::default();
        }
        report_left_out(removed, moved);
        Ok(())
    }

    /// Moves one slice of the tail (the oldest chats, [`FOLD_SLICE`] rows or more) into
    /// `events`, in one transaction. Returns whether rows are left in the tail.
    async fn fold_slice(&self, tail: &Mutex<Tail>) -> Result<bool> {
        let (chats, ids) = tail
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .slice(FOLD_SLICE);
        if chats.is_empty() {
            return Ok(false);
        }
        // The ids as one JSON array: one statement for every slice, prepared once.
        let ids = serde_json::to_string(&ids)
            .map_err(|e| Error::Data(format!("listing the tail's rows: {e}")))?;
        let mut tx = begin_write(&self.write)
            .await
            .context("starting to move a slice of the log's tail")?;
        let moved = sqlx::query(&format!(
            "{FOLD_INTO_EVENTS} AND t.id IN (SELECT value FROM json_each($1)) \
             ORDER BY t.conversation, t.seq"
        ))
        .bind(ids.as_str())
        .execute(&mut *tx)
        .await
        .context("moving a slice of the log's tail into the log")?
        .rows_affected();
        let removed =
            sqlx::query("DELETE FROM events_tail WHERE id IN (SELECT value FROM json_each($1))")
                .bind(ids.as_str())
                .execute(&mut *tx)
                .await
                .context("removing a moved slice from the log's tail")?
                .rows_affected();
        tx.commit()
            .await
            .context("committing a slice of the log's tail")?;
        report_left_out(removed, moved);
        let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
        tail.moved(&chats);
        Ok(tail.rows > 0)
    }

    /// Copies the write-ahead log into the file and empties it, so what was overwritten
    /// (text stored plain before it was sealed) leaves the log now, not at some later
    /// checkpoint.
    pub(crate) async fn checkpoint(&self) -> Result<()> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.write)
            .await
            .context("checkpointing the write-ahead log")?;
        Ok(())
    }
}

/// Copies rows of the tail (`t`) into `events`; the caller adds which rows (`AND ...`) and
/// their order. `OR IGNORE` and the `EXISTS`: a row whose number is taken already, or whose
/// chat was deleted behind the store's back, stays out instead of failing the move of all
/// the others (see [`report_left_out`]).
const FOLD_INTO_EVENTS: &str = "INSERT OR IGNORE INTO events \
     (conversation, seq, at_ns, kind, has_text, body) \
     SELECT t.conversation, t.seq, t.at_ns, t.kind, t.has_text, t.body FROM events_tail t \
     WHERE EXISTS (SELECT 1 FROM conversations c WHERE c.id = t.conversation)";

/// Says how many rows of a move could not join the log (`removed` from the tail, `moved`
/// into `events`). Only a write behind the store's back causes that.
fn report_left_out(removed: u64, moved: u64) {
    if removed > moved {
        tracing::error!(
            left_out = removed - moved,
            "log entries in the tail could not join the log: their chat is gone, or their \
             number was taken by a write behind this store's back"
        );
    }
}

/// Rows per multi-row `INSERT`: 6 parameters each stays far below SQLite's limit of 32,766
/// parameters per statement, whatever `group_commit_max_batch` is set to.
const INSERT_CHUNK: usize = 1_000;

#[async_trait]
impl BatchWriter for SqliteBackend {
    /// One batch in one transaction, in as few statements as SQLite allows: one `SELECT`
    /// for the last sequence number of the batch's conversations the writer does not know
    /// yet (none, for chats already going), then one multi-row `INSERT` into the log's tail
    /// (per [`INSERT_CHUNK`] rows). Each statement is a round trip to sqlx's SQLite worker
    /// thread, so this keeps a batch of 256 at a handful of hand-offs instead of one or two
    /// per row (measured: the per-row version was the durable-SQLite bottleneck).
    ///
    /// The rows go to the end of `events_tail` (see [`SqliteBackend`]), a few pages per
    /// batch; their last numbers in `events` come from its index, and [`Tail`] raises them
    /// to what is still in the tail. The `INSERT` says `OR FAIL`: no statement of the batch
    /// can need undoing on its own, so SQLite keeps no statement journal (a temporary copy
    /// of every page the statement changes; migration `20261205000004`); a failed batch is
    /// rolled back whole.
    async fn write_batch(&self, rows: &[EventRow], known: &LastSeqs) -> Result<Vec<Verdict>> {
        let tail = self.log_tail()?;
        let mut tx = begin_write(&self.write)
            .await
            .context("starting an append batch")?;
        let ids = known.unknown(rows);
        let mut found = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(INSERT_CHUNK) {
            let mut qb = sqlx::QueryBuilder::<Sqlite>::new(
                "SELECT c.id AS id, (SELECT max(seq) FROM events e WHERE e.conversation = c.id) \
                 AS last FROM conversations c WHERE c.id IN (",
            );
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            qb.push(")");
            let stored = qb
                .build()
                .fetch_all(&mut *tx)
                .await
                .context("reading the last seq of the batch's conversations")?;
            for r in &stored {
                let id: Uuid = r.try_get("id").context("reading column `id`")?;
                let max: Option<i64> = r.try_get("last").context("reading column `last`")?;
                found.insert(id, max.unwrap_or(0));
            }
        }
        if !found.is_empty() {
            let tail = tail.lock().unwrap_or_else(|p| p.into_inner());
            for (id, last) in found.iter_mut() {
                if let Some(in_tail) = tail.last(id) {
                    *last = (*last).max(in_tail);
                }
            }
        }
        let (verdicts, accepted) = judge(rows, known.for_batch(rows, found));
        // (row, its id in the tail), known once the `INSERT` has run.
        let mut written = Vec::with_capacity(accepted.len());
        for chunk in accepted.chunks(INSERT_CHUNK) {
            let mut qb = sqlx::QueryBuilder::<Sqlite>::new(
                "INSERT OR FAIL INTO events_tail (conversation, seq, at_ns, kind, has_text, body) ",
            );
            qb.push_values(chunk, |mut b, &i| {
                let row = &rows[i];
                b.push_bind(row.conversation)
                    .push_bind(row.seq)
                    .push_bind(row.at_ns)
                    .push_bind(row.kind.as_str())
                    .push_bind(row.has_text)
                    .push_bind(row.body.as_str());
            });
            let done = qb
                .build()
                .execute(&mut *tx)
                .await
                .context("appending events")?;
            // One statement's rows get consecutive ids, in the order of its VALUES: each is
            // one more than the largest id so far, and this transaction is the only writer.
            let n = i64::try_from(chunk.len()).unwrap_or(i64::MAX);
            if done.rows_affected() != chunk.len() as u64 {
                return Err(Error::Data(format!(
                    "appending events: {} of {} rows were written",
                    done.rows_affected(),
                    chunk.len()
                )));
            }
            let first = done.last_insert_rowid() - n + 1;
            written.extend(chunk.iter().zip(first..).map(|(&i, id)| (i, id)));
        }
        tx.commit().await.context("committing an append batch")?;
        let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
        for (i, id) in written {
            tail.add(rows[i].conversation, id, rows[i].seq);
        }
        Ok(verdicts)
    }

    /// Moves a slice of the tail into `events`: after a batch once the tail holds
    /// [`TAIL_HIGH`] rows, and whenever the writer is idle. A failed move leaves the rows in
    /// the tail (they are committed there) and is tried again later.
    async fn between_batches(&self, idle: bool) -> bool {
        let LogRole::Writer { tail, .. } = &self.log else {
            return false;
        };
        let rows = tail.lock().unwrap_or_else(|p| p.into_inner()).rows;
        if rows == 0 || (!idle && rows < TAIL_HIGH) {
            return rows > 0;
        }
        match self.fold_slice(tail).await {
            Ok(left) => left,
            Err(e) => {
                tracing::warn!(error = %e, "moving a slice of the log's tail failed; it stays in the tail");
                true
            }
        }
    }
}
