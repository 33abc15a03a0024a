//! SQLite: the embedded default. One file in WAL mode, one writer connection (SQLite allows
//! one writer at a time anyway; one connection makes that explicit and lets the group-commit
//! writer and the other writes queue in-process instead of in busy-waits), a few read-only
//! connections that read in parallel with it, and a busy timeout for other processes (a
//! `migrate` or a backup) that hold the file's lock for a moment.

use std::collections::HashMap;
use std::str::FromStr;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Pool, Sqlite, Transaction};

use crate::group_commit::{judge, BatchWriter, Verdict};
use crate::options::{Durability, SqlOptions};

/// The embedded migrations of the SQLite schema.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The SQLite pools.
pub(crate) struct SqliteBackend {
    /// Read-only connections (for `sqlite::memory:`, the writer itself).
    read: SqlitePool,
    /// The one writer connection.
    write: SqlitePool,
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

impl SqliteBackend {
    /// Opens (creating it if missing, unless the URL says `mode=`) and migrates the file.
    pub(crate) async fn connect(url: &str, options: &SqlOptions) -> Result<Self> {
        let mut base = SqliteConnectOptions::from_str(url)
            .map_err(|e| Error::sql(format!("reading the SQLite URL `{url}`"), e))?
            .foreign_keys(true)
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
        let read = SqlitePoolOptions::new()
            .max_connections(options.sqlite_readers.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(base.read_only(true))
            .await
            .context(&opening("readers"))?;
        Ok(Self { read, write })
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

    /// Closes both pools (after the group-commit writer has finished).
    pub(crate) async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

#[async_trait]
impl BatchWriter for SqliteBackend {
    async fn write_batch(&self, rows: &[EventRow]) -> Result<Vec<Verdict>> {
        let mut tx = begin_write(&self.write)
            .await
            .context("starting an append batch")?;
        let mut last = HashMap::new();
        for row in rows {
            if last.contains_key(&row.conversation) {
                continue;
            }
            let found: Option<Option<i64>> = sqlx::query_scalar(
                "SELECT (SELECT max(seq) FROM events e WHERE e.conversation = c.id) \
                 FROM conversations c WHERE c.id = $1",
            )
            .bind(row.conversation)
            .fetch_optional(&mut *tx)
            .await
            .context("reading the last seq of a conversation")?;
            if let Some(max) = found {
                last.insert(row.conversation, max.unwrap_or(0));
            }
        }
        let (verdicts, accepted) = judge(rows, last);
        for &i in &accepted {
            let row = &rows[i];
            sqlx::query(
                "INSERT INTO events (conversation, seq, at_ns, kind, has_text, body) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(row.conversation)
            .bind(row.seq)
            .bind(row.at_ns)
            .bind(row.kind.as_str())
            .bind(row.has_text)
            .bind(row.body.as_str())
            .execute(&mut *tx)
            .await
            .context("appending an event")?;
        }
        tx.commit().await.context("committing an append batch")?;
        Ok(verdicts)
    }
}
