//! Test databases: a fresh SQLite file or a fresh PostgreSQL schema per test, removed after.
//!
//! PostgreSQL comes from `CLBCHAT_TEST_POSTGRES_URL`. Unset, the PostgreSQL tests say so on
//! the terminal and pass without running, unless `CI` is set: in CI a missing URL or a
//! server that cannot be reached fails the test.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Once;

use clbchat_store_sql::{SqlOptions, SqlStore};
use sqlx::Connection;

/// The environment variable naming the PostgreSQL server for the tests.
pub(crate) const POSTGRES_URL_VAR: &str = "CLBCHAT_TEST_POSTGRES_URL";

/// The PostgreSQL URL for the tests, or `None` (after saying so) when the developer has none.
///
/// Panics in CI (`CI` set) when the variable is missing: there, PostgreSQL is not optional.
pub(crate) fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => panic!(
            "{POSTGRES_URL_VAR} is not set, but CI is: the PostgreSQL tests must run in CI. \
             Export {POSTGRES_URL_VAR}=postgres://postgres@127.0.0.1:5432/test in .ci/run."
        ),
        _ => {
            static SAID: Once = Once::new();
            SAID.call_once(|| {
                // Straight to the terminal: the test harness captures only `eprintln!`.
                let _ = writeln!(
                    std::io::stderr(),
                    "\nPostgreSQL tests NOT RUN: set \
                     {POSTGRES_URL_VAR}=postgres://postgres@127.0.0.1:5432/test\n"
                );
            });
            None
        }
    }
}

enum Kind {
    Sqlite {
        dir: PathBuf,
    },
    Postgres {
        admin_url: String,
        schema: String,
        /// The key file (a PostgreSQL database needs one named).
        keys: PathBuf,
    },
}

/// A fresh, empty database for one test; removed when dropped.
pub(crate) struct TestDb {
    /// The URL a store (or the crash writer) opens.
    pub(crate) url: String,
    kind: Kind,
}

impl TestDb {
    /// A fresh SQLite file in a new temporary directory.
    pub(crate) fn sqlite() -> TestDb {
        let dir =
            std::env::temp_dir().join(format!("clbchat-it-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("creating a temporary directory");
        let url = format!("sqlite://{}", dir.join("clbchat.db").display());
        TestDb {
            url,
            kind: Kind::Sqlite { dir },
        }
    }

    /// A fresh schema on the test server, or `None` when there is none (see [`postgres_url`]).
    pub(crate) async fn postgres() -> Option<TestDb> {
        let admin_url = postgres_url()?;
        let schema = format!("clbchat_it_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                "PostgreSQL at {POSTGRES_URL_VAR}={admin_url} cannot be reached: {e}. Start the \
                 server, or unset {POSTGRES_URL_VAR} to skip the PostgreSQL tests outside CI."
            )
            });
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut admin)
            .await
            .expect("creating a test schema");
        let _ = admin.close().await;
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        // The application name marks the test's connections, so that clean-up can end them.
        let url =
            format!("{admin_url}{sep}options%5Bsearch_path%5D={schema}&application_name={schema}");
        let keys = std::env::temp_dir().join(format!("{schema}.keys"));
        Some(TestDb {
            url,
            kind: Kind::Postgres {
                admin_url,
                schema,
                keys,
            },
        })
    }

    /// The file of an SQLite test database.
    pub(crate) fn sqlite_path(&self) -> Option<PathBuf> {
        match &self.kind {
            Kind::Sqlite { dir } => Some(dir.join("clbchat.db")),
            Kind::Postgres { .. } => None,
        }
    }

    /// The PostgreSQL schema of this test database.
    pub(crate) fn schema(&self) -> Option<&str> {
        match &self.kind {
            Kind::Postgres { schema, .. } => Some(schema),
            Kind::Sqlite { .. } => None,
        }
    }

    /// Runs one SQL statement on a connection of its own (as a DBA would, beside the store).
    pub(crate) async fn execute(&self, sql: &str) {
        let done = match &self.kind {
            Kind::Sqlite { .. } => {
                let mut c = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("connecting");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut c)
                    .await
                    .map(|_| ())
            }
            Kind::Postgres { .. } => {
                let mut c = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connecting");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut c)
                    .await
                    .map(|_| ())
            }
        };
        done.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Opens the store with test-friendly options (small pools).
    pub(crate) async fn open(&self) -> SqlStore {
        self.open_with(options()).await
    }

    /// The key file of this test database.
    pub(crate) fn key_file(&self) -> PathBuf {
        match &self.kind {
            Kind::Sqlite { dir } => dir.join("clbchat.db.keys"),
            Kind::Postgres { keys, .. } => keys.clone(),
        }
    }

    /// Opens the store with these options (and this database's key file, unless they
    /// name one).
    pub(crate) async fn open_with(&self, mut options: SqlOptions) -> SqlStore {
        if options.key_file.is_none() {
            options.key_file = Some(self.key_file());
        }
        SqlStore::connect(&self.url, options)
            .await
            .unwrap_or_else(|e| panic!("opening the test store at {}: {e}", self.url))
    }
}

/// Options for tests: the defaults with small pools (many tests share one server).
pub(crate) fn options() -> SqlOptions {
    let mut o = SqlOptions::new();
    o.postgres_pool_size = 4;
    o.sqlite_readers = 2;
    o
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.kind {
            Kind::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Kind::Postgres {
                admin_url,
                schema,
                keys,
            } => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut name = keys.as_os_str().to_owned();
                    name.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(name));
                }
                // Drop may run inside a runtime; a thread of its own can block on another.
                let (url, schema) = (admin_url.clone(), schema.clone());
                let done = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    rt.block_on(async {
                        let mut admin = sqlx::PgConnection::connect(&url).await?;
                        // A failed test may leave a connection inside a transaction that
                        // holds locks on the schema's tables: end the test's connections.
                        sqlx::query(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                             WHERE application_name = $1 AND pid <> pg_backend_pid()",
                        )
                        .bind(&schema)
                        .execute(&mut admin)
                        .await?;
                        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                            "SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS {schema} CASCADE"
                        )))
                        .execute(&mut admin)
                        .await?;
                        admin.close().await
                    })
                    .map_err(std::io::Error::other)
                })
                .join();
                if !matches!(done, Ok(Ok(()))) {
                    eprintln!("could not drop the test schema {}: {done:?}", self.url);
                }
            }
        }
    }
}

/// A running chat on the national desk, with a fresh id (the store does not care who is in
/// it).
pub(crate) fn active_chat() -> clbchat_core::store::ConversationMeta {
    let at = test_instant();
    clbchat_core::store::ConversationMeta {
        id: clbchat_core::ids::ConversationId::random(),
        desk: clbchat_core::ids::DeskId::new("national"),
        pseudonym: None,
        profile: clbchat_core::event::ClientProfile::default(),
        state: clbchat_core::store::ConversationState::Active,
        counsellor: None,
        arrived_at: at,
        started_at: Some(at),
        ended_at: None,
        end_reason: None,
        resume_token_hash: "h".into(),
    }
}

/// 1 March 2022, 17:00 UTC: when the tests' chats happen.
pub(crate) fn test_instant() -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc
        .with_ymd_and_hms(2022, 3, 1, 17, 0, 0)
        .single()
        .expect("instant")
}

/// Event `seq` of chat `id`: a time warning (an event without text).
pub(crate) fn time_warning(
    id: clbchat_core::ids::ConversationId,
    seq: u64,
) -> clbchat_core::event::LoggedEvent {
    clbchat_core::event::LoggedEvent {
        conversation: id,
        seq,
        at: test_instant(),
        body: clbchat_core::event::EventBody::TimeWarning { minutes_left: 5 },
    }
}

/// A coordinator's transcript read of chat `id` for a chat scan.
pub(crate) fn transcript_read(
    id: clbchat_core::ids::ConversationId,
) -> clbchat_core::store::TranscriptRead {
    use chrono::TimeZone;
    clbchat_core::store::TranscriptRead {
        conversation: id,
        reader: clbchat_core::ids::StaffId::new("k-karel"),
        at: chrono::Utc
            .with_ymd_and_hms(2022, 3, 2, 10, 0, 0)
            .single()
            .expect("instant"),
        purpose: "chat scan".into(),
    }
}
