//! SQLite: the embedded default. One file in WAL mode, one writer connection (SQLite allows
//! one writer at a time anyway; one connection makes that explicit and lets the group-commit
//! writer and the other writes queue in-process instead of in busy-waits), a few read-only
//! connections that read in parallel with it, and a busy timeout for other processes (a
//! `migrate` or a backup) that hold the file's lock for a moment.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Pool, Sqlite, SqliteConnection, Transaction};

use crate::appends::Appends;
use crate::codec::StoredEvent;
use crate::group_commit::{judge, BatchWriter, LastSeqs, Verdict};
use crate::options::{Durability, SqlOptions};

/// The embedded migrations of the SQLite schema.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The SQLite pools.
pub(crate) struct SqliteBackend {
    /// Read-only connections (for `sqlite::memory:`, the writer itself).
    read: SqlitePool,
    /// The one writer connection.
    write: SqlitePool,
    /// The database file (none in memory).
    file: Option<std::path::PathBuf>,
    /// The appends file, when appends go there (see `crate::appends`).
    appends: Option<Arc<Appends>>,
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
pub(crate) fn create_owner_only(path: &std::path::Path) -> Result<()> {
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

        // No ping before each use (sqlx's default): a connection to a local file does not go
        // stale the way a network one does, and the ping is a round trip to the
        // connection's worker thread, which on the writer came before every append batch.
        //
        // No idle timeout and no lifetime either: closing and reopening a local file's
        // connection gains nothing, and without them sqlx runs no periodic reaper. (Before
        // sqlx 0.9.1 that reaper's sweep could spin a core forever on a miscounted idle
        // queue and hang the process at its exit, sqlx issue #3645, seen here in CI; 0.9.1
        // fixed it, for PostgreSQL's pool too, which keeps its reaper.)
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(options.acquire_timeout);
        if in_memory {
            // One connection holds the whole database: it must never be closed.
            let pool = writer
                .connect_with(base)
                .await
                .context(&opening("in memory"))?;
            let backend = Self {
                read: pool.clone(),
                write: pool,
                file: None,
                appends: None,
            };
            backend.migrate().await?;
            return Ok(backend);
        }
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
        let file = base.get_filename().to_path_buf();
        let read = SqlitePoolOptions::new()
            .max_connections(options.sqlite_readers.max(1))
            .test_before_acquire(false)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(base.read_only(true))
            .await
            .context(&opening("readers"))?;
        // Whatever the option says, what an earlier run left in an appends file is copied
        // into the log before anything else reads it.
        let appends = Appends::open(
            &file,
            write.clone(),
            read.clone(),
            options,
            options.sqlite_appends_file,
        )
        .await?;
        Ok(Self {
            read,
            write,
            file: Some(file),
            appends,
        })
    }

    /// The appends file, when appends go there.
    pub(crate) fn appends(&self) -> Option<&Arc<Appends>> {
        self.appends.as_ref()
    }

    /// Returns once every acknowledged event is in the log's table (at once without an
    /// appends file): for whatever reads or deletes `events` other than a read by chat.
    pub(crate) async fn settle(&self) -> Result<()> {
        match &self.appends {
            Some(a) => a.settle().await,
            None => Ok(()),
        }
    }

    /// The events of conversation `id` after `after` not yet copied from the appends file
    /// into the log (see `crate::appends`); to be read before the log itself.
    pub(crate) async fn unmoved_events(
        &self,
        id: uuid::Uuid,
        after: u64,
    ) -> Result<Vec<StoredEvent>> {
        Ok(match (&self.appends, i64::try_from(after)) {
            (Some(a), Ok(after)) => a.unmoved(id, after),
            _ => Vec::new(),
        })
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

    /// Closes both pools (after the group-commit writer has finished), copying what is left
    /// in the appends file into the log first.
    pub(crate) async fn close(&self) {
        if let Some(a) = &self.appends {
            a.close().await;
        }
        self.write.close().await;
        self.read.close().await;
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

/// Rows per multi-row `INSERT`: 6 parameters each stays far below SQLite's limit of 32,766
/// parameters per statement, whatever `group_commit_max_batch` is set to.
pub(crate) const INSERT_CHUNK: usize = 1_000;

#[async_trait]
impl BatchWriter for SqliteBackend {
    /// One batch in one transaction, in as few round trips to sqlx's SQLite worker thread
    /// as SQLite allows (each is a hand-off between two threads and back; see
    /// `docs/storage.md`, "One round trip per batch", for what that did and did not change).
    ///
    /// - **Every conversation known** (the usual case: chats already going), at most
    ///   [`INSERT_CHUNK`] rows: one multi-row `INSERT` on its own. Outside `BEGIN … COMMIT`
    ///   a statement is its own transaction, all of it or nothing of it, committed (and
    ///   flushed) when it ends; the key to the conversation, checked at commit, is then
    ///   checked at the statement's end, and SQLite keeps no statement journal (it can undo
    ///   with the transaction's own). One round trip.
    /// - **Otherwise**: `BEGIN IMMEDIATE`, one `SELECT` for the last sequence number of the
    ///   conversations the writer does not know yet, then one `INSERT OR FAIL` per
    ///   [`INSERT_CHUNK`] rows, then `COMMIT`. The `INSERT` says `OR FAIL` and the key to
    ///   the conversation is checked at `COMMIT` (migration `20261205000004`): no statement
    ///   of the batch can need undoing on its own, so SQLite keeps no statement journal (a
    ///   temporary copy of every page the statement changes); a failed batch is rolled back
    ///   whole, as before.
    ///
    /// Either way the rows go to the end of the table (its rowid is the order of writing;
    /// see the migration `20261205000003_events_in_write_order`), so a batch writes few
    /// pages.
    async fn write_batch(&self, rows: &[EventRow], known: &LastSeqs) -> Result<Vec<Verdict>> {
        let ids = known.unknown(rows);
        if ids.is_empty() && rows.len() <= INSERT_CHUNK {
            let (verdicts, accepted) = judge(rows, known.for_batch(rows, HashMap::new()));
            if !accepted.is_empty() {
                insert_events("INSERT INTO events", rows, &accepted, None)
                    .build()
                    .execute(&self.write)
                    .await
                    .context("appending events")?;
            }
            return Ok(verdicts);
        }
        let mut tx = begin_write(&self.write)
            .await
            .context("starting an append batch")?;
        let found = last_seqs(&mut tx, &ids).await?;
        let (verdicts, accepted) = judge(rows, known.for_batch(rows, found));
        for chunk in accepted.chunks(INSERT_CHUNK) {
            insert_events("INSERT OR FAIL INTO events", rows, chunk, None)
                .build()
                .execute(&mut *tx)
                .await
                .context("appending events")?;
        }
        tx.commit().await.context("committing an append batch")?;
        Ok(verdicts)
    }
}

/// The last stored seq (0 for an empty log) of each of the conversations `ids` that exists,
/// read on `conn`.
pub(crate) async fn last_seqs(
    conn: &mut SqliteConnection,
    ids: &[uuid::Uuid],
) -> Result<HashMap<uuid::Uuid, i64>> {
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
            .fetch_all(&mut *conn)
            .await
            .context("reading the last seq of the batch's conversations")?;
        for r in &stored {
            let id: uuid::Uuid = r.try_get("id").context("reading column `id`")?;
            let max: Option<i64> = r.try_get("last").context("reading column `last`")?;
            found.insert(id, max.unwrap_or(0));
        }
    }
    Ok(found)
}

/// The statement `insert` (`INSERT INTO events`, a variant of it, or `INSERT INTO appends`)
/// of the rows of `rows` at `chosen`, all in one; with `keys`, each row's `id` too (one per
/// chosen row, in order).
pub(crate) fn insert_events(
    insert: &str,
    rows: &[EventRow],
    chosen: &[usize],
    keys: Option<&[i64]>,
) -> sqlx::QueryBuilder<Sqlite> {
    let mut qb = sqlx::QueryBuilder::<Sqlite>::new(insert);
    match keys {
        Some(_) => qb.push(" (id, conversation, seq, at_ns, kind, has_text, body) "),
        None => qb.push(" (conversation, seq, at_ns, kind, has_text, body) "),
    };
    qb.push_values(chosen.iter().enumerate(), |mut b, (n, &i)| {
        let row = &rows[i];
        if let Some(key) = keys.and_then(|k| k.get(n)) {
            b.push_bind(*key);
        }
        b.push_bind(row.conversation)
            .push_bind(row.seq)
            .push_bind(row.at_ns)
            .push_bind(row.kind.as_str())
            .push_bind(row.has_text)
            .push_bind(row.body.as_str());
    });
    qb
}
