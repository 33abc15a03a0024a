//! # clbchat-store-sql
//!
//! The core's [`Store`](clbchat_core::store::Store) on SQLite (the embedded default: one
//! file) and PostgreSQL (production), with sqlx. The URL picks the backend:
//!
//! ```no_run
//! # async fn demo() -> clbchat_core::Result<()> {
//! use clbchat_store_sql::{SqlOptions, SqlStore};
//! let store = SqlStore::connect("sqlite://data/clbchat.db", SqlOptions::new()).await?;
//! // ... hand `Arc::new(store.clone())` to the engine ...
//! store.close().await; // commits what is queued
//! # Ok(()) }
//! ```
//!
//! What the store promises (the contract of `clbchat_core::store`, checked by the core's
//! conformance suite against both backends in this crate's tests):
//!
//! - **Durable acknowledgements.** `Ok` means committed; with the default
//!   [`Durability::Full`] a commit is flushed to disk before `append` returns. A crash test
//!   kills a writer with SIGKILL many times and finds every acknowledged event, once, in order.
//! - **Group commit.** Appends from all conversations share transactions (up to
//!   [`DEFAULT_GROUP_COMMIT_MAX_BATCH`] events, waiting at most
//!   [`DEFAULT_GROUP_COMMIT_MAX_DELAY`]), so one disk flush acknowledges many messages.
//! - **Audited transcripts, limited retention.** A staff read writes its audit row in the
//!   same transaction; [`DEFAULT_RETENTION_DAYS`] is the default retention of message text.
//! - **Crypto-shredding.** Every conversation's text is sealed with a key of its own, kept
//!   in a key file apart from the database ([`SqlOptions::key_file`]); the purge destroys
//!   the key first, so purged text is unreadable in every backup too.
//! - **Statistics in SQL.** `summary` is a few aggregate queries, never a load of all rows.
//! - **Clear failures.** Driver errors become core error kinds; a database that cannot be
//!   reached or cannot write is `Unavailable`, and nothing is acknowledged.
//!
//! `docs/storage.md` describes the schema, the durability modes and how to run the
//! PostgreSQL tests.
//!
//! # Layout
//!
//! - [`store`]: [`SqlStore`], the `Store` implementation, mirroring `core/src/store.rs`; it
//!   dispatches to one of the backends.
//! - `sqlite` / `postgres`: connecting, migrating, and the backend's batched append.
//! - `queries`: every other query, written once and expanded for both databases.
//! - `group_commit`: the writer task that turns many appends into one transaction.
//! - `codec`: how core values become column values (instants as nanoseconds, enums by name).
//! - `seal`: the key file, and sealing and opening text (crypto-shredding).
//! - [`options`]: [`SqlOptions`] and the defaults, each a `const`.
//! - `error`: the crate's error enum and the mapping of driver errors to core kinds.
//!
//! Migrations live in `migrations/sqlite` and `migrations/postgres`, embedded in the binary
//! and applied by [`SqlStore::connect`].

mod appends;
mod codec;
mod error;
mod group_commit;
pub mod options;
mod postgres;
mod queries;
mod report;
mod seal;
mod sqlite;
pub mod store;

pub use options::{
    client_file_cutoff, retention_cutoff, Durability, SqlOptions, DEFAULT_ACQUIRE_TIMEOUT,
    DEFAULT_BUSY_TIMEOUT, DEFAULT_CLIENT_FILE_MONTHS, DEFAULT_DURABILITY,
    DEFAULT_GROUP_COMMIT_MAX_BATCH, DEFAULT_GROUP_COMMIT_MAX_DELAY, DEFAULT_POSTGRES_POOL_SIZE,
    DEFAULT_RETENTION_DAYS, DEFAULT_SQLITE_APPENDS_FILE, DEFAULT_SQLITE_MOVE_INTERVAL,
    DEFAULT_SQLITE_READERS,
};
pub use store::{Backend, SqlStore};
