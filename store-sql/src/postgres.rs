//! PostgreSQL: production, and what several processes share when one machine is not enough.
//! One pool serves reads and writes; a batch of appends is one `INSERT ... SELECT FROM
//! UNNEST(...)` of arrays, not one statement per row.

use std::collections::HashMap;
use std::str::FromStr;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Pool, Postgres, Transaction};

use crate::group_commit::{judge, BatchWriter, LastSeqs, Verdict};
use crate::options::{Durability, SqlOptions};

/// The embedded migrations of the PostgreSQL schema.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The PostgreSQL pool (`read` and `write` are the same pool).
pub(crate) struct PgBackend {
    read: PgPool,
    write: PgPool,
}

/// A write transaction (read committed; the keys guard against concurrent writers).
async fn begin_write(pool: &Pool<Postgres>) -> sqlx::Result<Transaction<'static, Postgres>> {
    pool.begin().await
}

/// A read transaction: one snapshot for several queries.
async fn begin_read(pool: &Pool<Postgres>) -> sqlx::Result<Transaction<'static, Postgres>> {
    pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await
}

crate::queries::shared_queries!(PgBackend, Postgres);

/// How PostgreSQL reads JSON (the columns are JSON text; see `report.rs`).
const DIALECT: crate::report::Dialect = crate::report::Dialect {
    profile_client_type: "(c.profile::json ->> 'client_type')",
    elements: "json_array_elements_text(({col})::json) AS je(value)",
    lateral: "LATERAL ",
};

crate::report::report_queries!(PgBackend, sqlx::Postgres);

impl PgBackend {
    /// Connects (at least one connection, so a wrong URL shows at start) and migrates.
    pub(crate) async fn connect(url: &str, shown_url: &str, options: &SqlOptions) -> Result<Self> {
        let mut connect = PgConnectOptions::from_str(url)
            .map_err(|e| Error::sql(format!("reading the PostgreSQL URL `{shown_url}`"), e))?;
        if options.durability == Durability::Normal {
            connect = connect.options([("synchronous_commit", "off")]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.postgres_pool_size.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .context(&format!(
                "connecting to PostgreSQL at `{shown_url}` (is the server running and the URL right?)"
            ))?;
        let backend = Self {
            read: pool.clone(),
            write: pool,
        };
        backend.migrate().await?;
        Ok(backend)
    }

    /// Applies the embedded migrations that are not applied yet.
    pub(crate) async fn migrate(&self) -> Result<()> {
        MIGRATOR
            .run(&self.write)
            .await
            .map_err(|source| Error::Migrate {
                backend: "PostgreSQL",
                source,
            })
    }

    /// Closes the pool (after the group-commit writer has finished).
    pub(crate) async fn close(&self) {
        self.write.close().await;
    }

    /// Nothing to wait for: appends go straight into the log's table.
    pub(crate) async fn settle(&self) -> Result<()> {
        Ok(())
    }

    /// None: appends go straight into the log's table.
    pub(crate) async fn unmoved_events(
        &self,
        _id: uuid::Uuid,
        _after: u64,
    ) -> Result<Vec<crate::codec::StoredEvent>> {
        Ok(Vec::new())
    }

    /// Nothing to do: the server manages its own log.
    pub(crate) async fn checkpoint(&self) -> Result<()> {
        Ok(())
    }
}

#[async_trait]
impl BatchWriter for PgBackend {
    async fn write_batch(&self, rows: &[EventRow], known: &LastSeqs) -> Result<Vec<Verdict>> {
        let conversations = known.unknown(rows);
        let mut tx = begin_write(&self.write)
            .await
            .context("starting an append batch")?;
        let found: Vec<(Uuid, Option<i64>)> = if conversations.is_empty() {
            Vec::new()
        } else {
            sqlx::query_as(
                "SELECT c.id, (SELECT max(e.seq) FROM events e WHERE e.conversation = c.id) \
             FROM conversations c WHERE c.id = ANY($1)",
            )
            .bind(&conversations)
            .fetch_all(&mut *tx)
            .await
            .context("reading the last seq of the batch's conversations")?
        };
        let found: HashMap<Uuid, i64> = found
            .into_iter()
            .map(|(id, max)| (id, max.unwrap_or(0)))
            .collect();
        let (verdicts, accepted) = judge(rows, known.for_batch(rows, found));
        if !accepted.is_empty() {
            let pick = |f: &dyn Fn(&EventRow) -> i64| {
                accepted.iter().map(|&i| f(&rows[i])).collect::<Vec<_>>()
            };
            let ids: Vec<Uuid> = accepted.iter().map(|&i| rows[i].conversation).collect();
            let seqs = pick(&|r| r.seq);
            let ats = pick(&|r| r.at_ns);
            let kinds: Vec<&str> = accepted.iter().map(|&i| rows[i].kind.as_str()).collect();
            let texts: Vec<bool> = accepted.iter().map(|&i| rows[i].has_text).collect();
            let bodies: Vec<&str> = accepted.iter().map(|&i| rows[i].body.as_str()).collect();
            sqlx::query(
                "INSERT INTO events (conversation, seq, at_ns, kind, has_text, body) \
                 SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::bigint[], $4::text[], \
                 $5::boolean[], $6::text[])",
            )
            .bind(&ids)
            .bind(&seqs)
            .bind(&ats)
            .bind(&kinds)
            .bind(&texts)
            .bind(&bodies)
            .execute(&mut *tx)
            .await
            .context("appending a batch of events")?;
        }
        tx.commit().await.context("committing an append batch")?;
        Ok(verdicts)
    }
}
