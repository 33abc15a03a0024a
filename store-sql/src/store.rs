//! [`SqlStore`]: the core's [`Store`] on SQLite or PostgreSQL, chosen by the URL.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clbchat_core::account::Account;
use clbchat_core::appointment::{Appointment, AppointmentFilter};
use clbchat_core::calendar::Calendar;
use clbchat_core::centre::Centre;
use clbchat_core::error::Result;
use clbchat_core::event::LoggedEvent;
use clbchat_core::flags::Flag;
use clbchat_core::ids::{AppointmentId, CentreId, ConversationId, DeskId, FlagId};
use clbchat_core::pseudonym::Pseudonym;
use clbchat_core::registration::{Rating, Registration};
use clbchat_core::statistics::{CoverageSample, ReportData, ReportQuery};
use clbchat_core::store::{ConversationFilter, ConversationMeta, Store, Summary, TranscriptRead};

use crate::codec::EventRow;
use crate::error::Error;
use crate::group_commit::{BatchWriter, GroupCommit};
use crate::options::SqlOptions;
use crate::postgres::PgBackend;
use crate::sqlite::SqliteBackend;

/// Which database a [`SqlStore`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite: one file (or memory), embedded.
    Sqlite,
    /// PostgreSQL: a server.
    Postgres,
}

enum Db {
    Sqlite(Arc<SqliteBackend>),
    Postgres(Arc<PgBackend>),
}

struct Inner {
    db: Db,
    appends: GroupCommit,
}

/// The core's [`Store`] on SQLite or PostgreSQL. Cheap to clone: clones share the pools and
/// the group-commit writer.
///
/// Every `Ok` is a committed transaction, as durable as [`SqlOptions::durability`] says;
/// appends are group-committed (see the crate docs). Failures reach the core as
/// [`clbchat_core::Error`] with a [`StoreErrorKind`](clbchat_core::error::StoreErrorKind):
/// `Unavailable` when the database cannot be reached or cannot write now.
#[derive(Clone)]
pub struct SqlStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

/// Calls the same method on whichever backend the store runs on.
macro_rules! on_db {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match &$self.inner.db {
            Db::Sqlite(b) => b.$method($($arg),*).await,
            Db::Postgres(b) => b.$method($($arg),*).await,
        }
    };
}

impl SqlStore {
    /// Opens the database at `url`, applies the embedded migrations it lacks, and starts the
    /// group-commit writer (so call it inside a tokio runtime).
    ///
    /// - `sqlite://path/to/clbchat.db`, `sqlite:clbchat.db`: a file, created if missing
    ///   (unless the URL sets `mode=`, e.g. `?mode=rw`), in WAL mode.
    /// - `sqlite::memory:`: a database in memory, gone when the store is dropped.
    /// - `postgres://user:password@host:5432/database` (or `postgresql://`): a server; sqlx's
    ///   URL parameters apply, e.g. `?options[search_path]=clbchat` to use a schema.
    ///
    /// A server that cannot be reached is an `Unavailable` error; an unknown scheme is
    /// `Invalid`. Error messages show the URL without its password.
    pub async fn connect(url: &str, options: SqlOptions) -> Result<SqlStore> {
        let shown = redact_url(url);
        let db = if url.starts_with("sqlite:") {
            Db::Sqlite(Arc::new(SqliteBackend::connect(url, &options).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Db::Postgres(Arc::new(PgBackend::connect(url, &shown, &options).await?))
        } else {
            return Err(Error::UnsupportedUrl(shown).into());
        };
        let writer: Arc<dyn BatchWriter> = match &db {
            Db::Sqlite(b) => b.clone(),
            Db::Postgres(b) => b.clone(),
        };
        let appends = GroupCommit::start(
            writer,
            options.group_commit_max_batch,
            options.group_commit_max_delay,
            matches!(db, Db::Sqlite(_)),
        );
        tracing::info!(url = %shown, "storage opened");
        Ok(SqlStore {
            inner: Arc::new(Inner { db, appends }),
        })
    }

    /// Applies the embedded migrations that are not applied yet ([`SqlStore::connect`]
    /// already does; this is for a `migrate` command that wants to say so).
    pub async fn migrate(&self) -> Result<()> {
        Ok(on_db!(self.migrate())?)
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        match &self.inner.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Stops taking appends, commits the ones queued (answering their callers), and closes
    /// the connections. Later calls fail with `Unavailable`. Affects every clone.
    pub async fn close(&self) {
        self.inner.appends.close().await;
        on_db!(self.close());
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn put_conversation(&self, meta: &ConversationMeta) -> Result<()> {
        Ok(on_db!(self.put_conversation(meta))?)
    }

    async fn conversation(&self, id: ConversationId) -> Result<Option<ConversationMeta>> {
        Ok(on_db!(self.conversation(id))?)
    }

    async fn conversations(&self, filter: &ConversationFilter) -> Result<Vec<ConversationMeta>> {
        Ok(on_db!(self.conversations(filter))?)
    }

    async fn append(&self, event: &LoggedEvent) -> Result<()> {
        let row = EventRow::encode(event)?;
        self.inner.appends.append(row).await
    }

    async fn events_after(&self, id: ConversationId, after_seq: u64) -> Result<Vec<LoggedEvent>> {
        Ok(on_db!(self.events_after(id, after_seq))?)
    }

    async fn read_transcript(&self, read: &TranscriptRead) -> Result<Vec<LoggedEvent>> {
        if read.purpose.trim().is_empty() {
            return Err(clbchat_core::Error::Invalid(
                "transcript read: say why you read it (e.g. \"chat scan\")".into(),
            ));
        }
        Ok(on_db!(self.read_transcript(read))?)
    }

    async fn transcript_reads(&self, id: ConversationId) -> Result<Vec<TranscriptRead>> {
        Ok(on_db!(self.transcript_reads(id))?)
    }

    async fn purge_transcripts(&self, ended_before: DateTime<Utc>) -> Result<u64> {
        Ok(on_db!(self.purge_transcripts(ended_before))?)
    }

    async fn purge_client_files(&self, last_ended_before: DateTime<Utc>) -> Result<u64> {
        Ok(on_db!(self.purge_client_files(last_ended_before))?)
    }

    async fn save_registration(&self, registration: &Registration) -> Result<()> {
        Ok(on_db!(self.save_registration(registration))?)
    }

    async fn registration(&self, id: ConversationId) -> Result<Option<Registration>> {
        Ok(on_db!(self.registration(id))?)
    }

    async fn save_rating(&self, rating: &Rating) -> Result<()> {
        Ok(on_db!(self.save_rating(rating))?)
    }

    async fn rating(&self, id: ConversationId) -> Result<Option<Rating>> {
        Ok(on_db!(self.rating(id))?)
    }

    async fn count_visits(&self, pseudonym: &Pseudonym, since: DateTime<Utc>) -> Result<u32> {
        Ok(on_db!(self.count_visits(pseudonym, since))?)
    }

    async fn put_flag(&self, flag: &Flag) -> Result<()> {
        Ok(on_db!(self.put_flag(flag))?)
    }

    async fn flag(&self, id: FlagId) -> Result<Option<Flag>> {
        Ok(on_db!(self.flag(id))?)
    }

    async fn flags_for(&self, pseudonym: &Pseudonym) -> Result<Vec<Flag>> {
        Ok(on_db!(self.flags_for(pseudonym))?)
    }

    async fn flags_to_review(
        &self,
        desk: Option<&DeskId>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Flag>> {
        Ok(on_db!(self.flags_to_review(desk, now))?)
    }

    async fn rekey_pseudonym(&self, old: &Pseudonym, new: &Pseudonym) -> Result<()> {
        Ok(on_db!(self.rekey_pseudonym(old, new))?)
    }

    async fn put_account(&self, account: &Account) -> Result<()> {
        Ok(on_db!(self.put_account(account))?)
    }

    async fn account(&self, username: &str) -> Result<Option<Account>> {
        Ok(on_db!(self.account(username))?)
    }

    async fn accounts(&self) -> Result<Vec<Account>> {
        Ok(on_db!(self.accounts())?)
    }

    async fn put_calendar(&self, desk: &DeskId, calendar: &Calendar) -> Result<()> {
        Ok(on_db!(self.put_calendar(desk, calendar))?)
    }

    async fn calendar(&self, desk: &DeskId) -> Result<Option<Calendar>> {
        Ok(on_db!(self.calendar(desk))?)
    }

    async fn calendars(&self) -> Result<Vec<(DeskId, Calendar)>> {
        Ok(on_db!(self.calendars())?)
    }

    async fn put_appointment(&self, appointment: &Appointment) -> Result<()> {
        Ok(on_db!(self.put_appointment(appointment))?)
    }

    async fn appointment(&self, id: AppointmentId) -> Result<Option<Appointment>> {
        Ok(on_db!(self.appointment(id))?)
    }

    async fn appointment_by_token(&self, token_hash: &str) -> Result<Option<Appointment>> {
        Ok(on_db!(self.appointment_by_token(token_hash))?)
    }

    async fn appointments(&self, filter: &AppointmentFilter) -> Result<Vec<Appointment>> {
        Ok(on_db!(self.appointments(filter))?)
    }

    async fn put_centre(&self, centre: &Centre) -> Result<()> {
        Ok(on_db!(self.put_centre(centre))?)
    }

    async fn centre(&self, id: &CentreId) -> Result<Option<Centre>> {
        Ok(on_db!(self.centre(id))?)
    }

    async fn centres(&self) -> Result<Vec<Centre>> {
        Ok(on_db!(self.centres())?)
    }

    async fn summary(
        &self,
        desk: Option<&DeskId>,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Summary> {
        Ok(on_db!(self.summary(desk, from, until))?)
    }

    async fn record_coverage(&self, sample: &CoverageSample) -> Result<()> {
        Ok(on_db!(self.record_coverage(sample))?)
    }

    async fn report(&self, query: &ReportQuery) -> Result<ReportData> {
        query.validate()?;
        Ok(on_db!(self.report(query))?)
    }
}

/// The URL without its password, for messages and logs.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_their_password() {
        assert_eq!(
            redact_url("postgres://clb:geheim@db.example:5432/clbchat?sslmode=require"),
            "postgres://clb:***@db.example:5432/clbchat?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(
            redact_url("sqlite://data/clbchat.db"),
            "sqlite://data/clbchat.db"
        );
        assert_eq!(redact_url("sqlite::memory:"), "sqlite::memory:");
    }
}
