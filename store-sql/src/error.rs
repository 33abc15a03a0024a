//! The crate's one error type, and how driver errors map onto the core's kinds.
//!
//! The public API returns [`clbchat_core::Error`]: the core never sees sqlx. Inside, every
//! failure is an [`Error`], whose [`Error::kind`] decides the [`StoreErrorKind`]:
//!
//! - a duplicate key is [`StoreErrorKind::Conflict`], a missing parent row
//!   [`StoreErrorKind::NotFound`], a refused `NOT NULL`/`CHECK` [`StoreErrorKind::Invalid`];
//! - everything that says "the database cannot do this now" is
//!   [`StoreErrorKind::Unavailable`]: the server is unreachable, the pool is closed or timed
//!   out, the file is locked, read-only, full or damaged, the connection dropped, the schema
//!   is missing. The engine then tells the sender that sending is temporarily impossible and
//!   acknowledges nothing;
//! - stored data that does not decode is [`StoreErrorKind::Invalid`].
//!
//! When in doubt the kind is `Unavailable`: it is the one that never acknowledges.

use clbchat_core::error::StoreErrorKind;
use sqlx::error::ErrorKind as DbErrorKind;

/// `Result` with this crate's [`Error`] as default error.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong in the SQL store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum Error {
    /// The URL names no backend this crate knows.
    #[error(
        "storage: `{0}` is not a database URL this store knows; write \
         `sqlite://path/to/clbchat.db` (or `sqlite::memory:`) or \
         `postgres://user@host:5432/database`"
    )]
    UnsupportedUrl(String),
    /// The driver failed; `context` says what the store was doing.
    #[error("storage: {context}: {source}")]
    Sql {
        /// What the store was doing.
        context: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// Applying the embedded migrations failed.
    #[error("storage: migrating the {backend} database failed: {source}")]
    Migrate {
        /// `SQLite` or `PostgreSQL`.
        backend: &'static str,
        /// What went wrong.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A value could not be written as JSON, or a stored value could not be read back.
    #[error("storage: {0}")]
    Data(String),
    /// A file of the database could not be made.
    #[error("storage: {context}: {source}")]
    File {
        /// What the store was doing.
        context: String,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The key file cannot be used: missing, foreign, unreadable (see `crate::seal`).
    #[error("storage: {0}")]
    Keys(String),
    /// The thing asked for is not stored.
    #[error("{0}")]
    NotFound(String),
    /// The write conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// The appends could not be copied into the log in time (see `crate::appends`).
    #[error("storage: {0}")]
    Behind(String),
    /// The store was closed ([`crate::SqlStore::close`]) or its writer stopped.
    #[error("storage: the store is closed; nothing more can be written")]
    Closed,
}

impl Error {
    /// Wraps a driver error with what the store was doing.
    pub(crate) fn sql(context: impl Into<String>, source: sqlx::Error) -> Self {
        Error::Sql {
            context: context.into(),
            source,
        }
    }

    /// The core's kind for this error.
    pub(crate) fn kind(&self) -> StoreErrorKind {
        match self {
            Error::UnsupportedUrl(_) | Error::Data(_) | Error::Keys(_) => StoreErrorKind::Invalid,
            Error::Sql { source, .. } => sqlx_kind(source),
            Error::Migrate { source, .. } => match source {
                sqlx::migrate::MigrateError::Execute(e) => sqlx_kind(e),
                _ => StoreErrorKind::Invalid,
            },
            Error::NotFound(_) => StoreErrorKind::NotFound,
            Error::Conflict(_) => StoreErrorKind::Conflict,
            Error::Closed | Error::File { .. } | Error::Behind(_) => StoreErrorKind::Unavailable,
        }
    }
}

impl From<Error> for clbchat_core::Error {
    fn from(e: Error) -> Self {
        clbchat_core::Error::store(e.kind(), e.to_string())
    }
}

/// Adds what the store was doing to a driver error.
pub(crate) trait Context<T> {
    /// Wraps the error with `context`.
    fn context(self, context: &str) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, sqlx::Error> {
    fn context(self, context: &str) -> Result<T> {
        self.map_err(|e| Error::sql(context, e))
    }
}

/// The core's kind for a driver error.
pub(crate) fn sqlx_kind(e: &sqlx::Error) -> StoreErrorKind {
    match e {
        sqlx::Error::Database(db) => match db.kind() {
            DbErrorKind::UniqueViolation => StoreErrorKind::Conflict,
            DbErrorKind::ForeignKeyViolation => StoreErrorKind::NotFound,
            DbErrorKind::NotNullViolation | DbErrorKind::CheckViolation => StoreErrorKind::Invalid,
            _ => match (
                db.code(),
                db.try_downcast_ref::<sqlx::sqlite::SqliteError>(),
            ) {
                (Some(code), Some(_)) => sqlite_code_kind(&code),
                (Some(code), None) => postgres_code_kind(&code),
                (None, _) => StoreErrorKind::Unavailable,
            },
        },
        sqlx::Error::RowNotFound => StoreErrorKind::NotFound,
        sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::Encode(_)
        | sqlx::Error::InvalidArgument(_)
        | sqlx::Error::Configuration(_) => StoreErrorKind::Invalid,
        // Io, Tls, Protocol, PoolTimedOut, PoolClosed, WorkerCrashed, BeginFailed, ...: the
        // database cannot be used now.
        _ => StoreErrorKind::Unavailable,
    }
}

/// The kind for an SQLite result code that sqlx does not classify: the extended code as a
/// number, whose low byte is the primary code.
fn sqlite_code_kind(code: &str) -> StoreErrorKind {
    match code.parse::<i32>().map(|n| n & 0xff) {
        // SQLITE_TOOBIG, SQLITE_CONSTRAINT (other than the classified ones), SQLITE_MISMATCH,
        // SQLITE_RANGE: the request does not fit.
        Ok(18 | 19 | 20 | 25) => StoreErrorKind::Invalid,
        // BUSY, LOCKED, NOMEM, READONLY, IOERR, CORRUPT, FULL, CANTOPEN, PROTOCOL, NOTADB,
        // and the generic SQLITE_ERROR (e.g. "no such table"): the file cannot be used now.
        _ => StoreErrorKind::Unavailable,
    }
}

/// The kind for a PostgreSQL SQLSTATE that sqlx does not classify.
fn postgres_code_kind(code: &str) -> StoreErrorKind {
    match code.get(..2) {
        // integrity_constraint_violation (others than the classified ones): the data is refused.
        Some("23") => StoreErrorKind::Invalid,
        // data_exception: a value out of range or malformed.
        Some("22") => StoreErrorKind::Invalid,
        // connection_exception (08), insufficient_resources (53), program_limit_exceeded
        // (54), operator_intervention (57: admin shutdown, cannot connect now), system_error
        // (58), transaction rollback (40: serialization failure, deadlock), invalid
        // transaction state (25: read-only transaction on a standby), undefined table or
        // schema (42P01, 3F000: the schema is gone), and everything else: not now.
        _ => StoreErrorKind::Unavailable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        assert_eq!(sqlite_code_kind("5"), StoreErrorKind::Unavailable); // SQLITE_BUSY
        assert_eq!(sqlite_code_kind("1032"), StoreErrorKind::Unavailable); // READONLY_DBMOVED
        assert_eq!(sqlite_code_kind("13"), StoreErrorKind::Unavailable); // SQLITE_FULL
        assert_eq!(sqlite_code_kind("18"), StoreErrorKind::Invalid); // SQLITE_TOOBIG
        assert_eq!(postgres_code_kind("08006"), StoreErrorKind::Unavailable);
        assert_eq!(postgres_code_kind("53100"), StoreErrorKind::Unavailable); // disk full
        assert_eq!(postgres_code_kind("57P01"), StoreErrorKind::Unavailable);
        assert_eq!(postgres_code_kind("42P01"), StoreErrorKind::Unavailable);
        assert_eq!(postgres_code_kind("40001"), StoreErrorKind::Unavailable);
        assert_eq!(postgres_code_kind("22003"), StoreErrorKind::Invalid);
        assert_eq!(
            sqlx_kind(&sqlx::Error::PoolTimedOut),
            StoreErrorKind::Unavailable
        );
        assert_eq!(
            sqlx_kind(&sqlx::Error::PoolClosed),
            StoreErrorKind::Unavailable
        );
        assert_eq!(
            sqlx_kind(&sqlx::Error::RowNotFound),
            StoreErrorKind::NotFound
        );
    }

    #[test]
    fn core_errors_keep_the_kind_and_say_what_happened() {
        let e: clbchat_core::Error = Error::Closed.into();
        assert_eq!(e.store_kind(), Some(StoreErrorKind::Unavailable));
        assert!(e.to_string().contains("temporarily impossible"), "{e}");
        let e: clbchat_core::Error = Error::UnsupportedUrl("mysql://x".into()).into();
        assert_eq!(e.store_kind(), Some(StoreErrorKind::Invalid));
        assert!(e.to_string().contains("sqlite://"), "{e}");
    }
}
