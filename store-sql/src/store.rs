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
use clbchat_core::review::{EraseRequest, Erasure, Feedback, FeedbackFilter};
use clbchat_core::statistics::{CoverageSample, ReportData, ReportQuery};
use clbchat_core::store::{
    ConversationFilter, ConversationMeta, ReadAuditFilter, ReadAuditRow, Store, Summary,
    TranscriptRead,
};

use crate::codec::{EventRow, StoredEvent};
use crate::error::Error;
use crate::group_commit::{BatchWriter, GroupCommit};
use crate::options::SqlOptions;
use crate::postgres::PgBackend;
use crate::seal::{KeyLocation, Keys, Place};
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
    keys: Keys,
}

/// `store_meta`'s name for the id of the key file (see `crate::seal`).
const KEY_FILE_META: &str = "key_file";

/// `store_meta`'s name for "no text is stored plain any more" (set after the first start
/// that sealed what an earlier version stored plain).
const ALL_SEALED_META: &str = "all_text_sealed";

/// Rows sealed per transaction when text stored plain is sealed at the start.
const RESEAL_BATCH: i64 = 500;

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

/// Calls the same method on whichever backend `db` is.
macro_rules! on_db_ref {
    ($db:ident . $method:ident ( $($arg:expr),* )) => {
        match &$db {
            Db::Sqlite(b) => b.$method($($arg),*).await,
            Db::Postgres(b) => b.$method($($arg),*).await,
        }
    };
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
        let location = match (&options.key_file, &db) {
            (Some(path), _) => KeyLocation::File(path.clone()),
            (None, Db::Sqlite(b)) => match b.file() {
                Some(file) => {
                    let mut name = file.as_os_str().to_owned();
                    name.push(".keys");
                    KeyLocation::File(name.into())
                }
                None => KeyLocation::Memory,
            },
            (None, Db::Postgres(_)) => {
                return Err(Error::Keys(
                    "a PostgreSQL database needs a key file for its conversations' keys: \
                     set SqlOptions::key_file (a file on this machine, apart from the \
                     database's backups)"
                        .into(),
                )
                .into())
            }
        };
        let recorded = on_db_ref!(db.meta(KEY_FILE_META))?;
        let keys = Keys::load(&location, recorded.as_deref()).await?;
        if recorded.is_none() {
            on_db_ref!(db.set_meta(KEY_FILE_META, keys.id()))?;
        }
        // Once everything is sealed, every later write is too: the scan runs once.
        if on_db_ref!(db.meta(ALL_SEALED_META))?.is_none() {
            seal_plain_text(&db, &keys).await?;
            on_db_ref!(db.set_meta(ALL_SEALED_META, "1"))?;
        }
        let writer: Arc<dyn BatchWriter> = match &db {
            Db::Sqlite(b) => match b.appends() {
                Some(appends) => appends.clone(),
                None => b.clone(),
            },
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
            inner: Arc::new(Inner { db, appends, keys }),
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
        self.inner.keys.close().await;
    }
}

impl SqlStore {
    /// The events of stored rows, their text opened. A row whose key was destroyed (its
    /// transcript is being purged) is left out: its text is gone.
    async fn open_events(&self, rows: Vec<StoredEvent>) -> crate::error::Result<Vec<LoggedEvent>> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let body = self
                .inner
                .keys
                .open(row.conversation, &Place::Event(row.seq), &row.body)
                .await?;
            if let Some(body) = body {
                out.push(row.decode(&body)?);
            }
        }
        Ok(out)
    }

    /// Feedback with its texts opened; `None` when its chat's key was destroyed (it is being
    /// purged or erased: its feedback is gone).
    async fn open_feedback(&self, mut f: Feedback) -> crate::error::Result<Option<Feedback>> {
        let keys = &self.inner.keys;
        let c = f.conversation.0;
        if let Some(q) = &f.question {
            match keys.open(c, &Place::FeedbackQuestion, q).await? {
                Some(q) => f.question = Some(q),
                None => return Ok(None),
            }
        }
        if let Some(t) = &f.text {
            match keys.open(c, &Place::FeedbackText, t).await? {
                Some(t) => f.text = Some(t),
                None => return Ok(None),
            }
        }
        Ok(Some(f))
    }
}

/// Seals the text a database holds plain (written before sealing existed), a batch at a
/// time, at the start; a database written since holds none and this is one query.
async fn seal_plain_text(db: &Db, keys: &Keys) -> crate::error::Result<()> {
    let mut sealed = 0usize;
    loop {
        let events = on_db_ref!(db.plain_text_events(RESEAL_BATCH))?;
        let comments = on_db_ref!(db.plain_comments(RESEAL_BATCH))?;
        if events.is_empty() && comments.is_empty() {
            break;
        }
        let mut done = Vec::with_capacity(events.len());
        for mut e in events {
            e.body = keys
                .seal(e.conversation, &Place::Event(e.seq), &e.body)
                .await?;
            done.push(e);
        }
        let mut done_comments = Vec::with_capacity(comments.len());
        for (c, comment) in comments {
            let comment = keys.seal(c, &Place::RatingComment, &comment).await?;
            done_comments.push((c, comment));
        }
        sealed += done.len() + done_comments.len();
        on_db_ref!(db.reseal(&done, &done_comments))?;
    }
    if sealed > 0 {
        on_db_ref!(db.checkpoint())?;
        tracing::info!(
            rows = sealed,
            "sealed the text stored before sealing existed"
        );
    }
    Ok(())
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
        if filter.with_transcript {
            on_db!(self.settle())?;
        }
        Ok(on_db!(self.conversations(filter))?)
    }

    async fn append(&self, event: &LoggedEvent) -> Result<()> {
        let mut row = EventRow::encode(event)?;
        if row.has_text {
            row.body = self
                .inner
                .keys
                .seal(row.conversation, &Place::Event(row.seq), &row.body)
                .await?;
        }
        self.inner.appends.append(row).await
    }

    async fn events_after(&self, id: ConversationId, after_seq: u64) -> Result<Vec<LoggedEvent>> {
        // What is not copied from the appends file yet first, the log after: an event leaves
        // the first only once it is in the second (see `crate::appends`).
        let unmoved = on_db!(self.unmoved_events(id.0, after_seq))?;
        let mut rows = on_db!(self.events_after(id, after_seq))?;
        if !unmoved.is_empty() {
            let mut by_seq: std::collections::BTreeMap<i64, StoredEvent> =
                rows.into_iter().map(|r| (r.seq, r)).collect();
            for r in unmoved {
                by_seq.entry(r.seq).or_insert(r);
            }
            rows = by_seq.into_values().collect();
        }
        Ok(self.open_events(rows).await?)
    }

    async fn read_transcript(&self, read: &TranscriptRead) -> Result<Vec<LoggedEvent>> {
        if read.purpose.trim().is_empty() {
            return Err(clbchat_core::Error::Invalid(
                "transcript read: say why you read it (e.g. \"chat scan\")".into(),
            ));
        }
        on_db!(self.settle())?;
        let rows = on_db!(self.read_transcript(read))?;
        Ok(self.open_events(rows).await?)
    }

    async fn transcript_reads(&self, id: ConversationId) -> Result<Vec<TranscriptRead>> {
        Ok(on_db!(self.transcript_reads(id))?)
    }

    async fn forget_visits(&self, arrived_before: DateTime<Utc>) -> Result<u64> {
        Ok(on_db!(self.forget_visits(arrived_before))?)
    }

    async fn read_audit(&self, filter: &ReadAuditFilter) -> Result<Vec<ReadAuditRow>> {
        Ok(on_db!(self.read_audit(filter))?)
    }

    async fn purge_transcripts(&self, ended_before: DateTime<Utc>) -> Result<u64> {
        on_db!(self.settle())?;
        let ids = on_db!(self.purgeable_transcripts(ended_before))?;
        // The keys first: once they are gone, the text is unreadable in every copy of the
        // database, and a crash before the rows are deleted leaves only unreadable rows
        // for the next purge.
        self.inner.keys.destroy(&ids).await?;
        on_db!(self.delete_transcripts(&ids))?;
        self.inner.appends.forget();
        Ok(ids.len() as u64)
    }

    async fn erase(&self, request: &EraseRequest) -> Result<u64> {
        let pseudonym = request.pseudonym.as_ref().map(|p| p.0.as_str());
        on_db!(self.settle())?;
        let ids = on_db!(self.erasable_chats(request.conversation.0, pseudonym))?;
        // As in the purge: the keys first, so every copy of the text is unreadable before
        // the rows go.
        self.inner.keys.destroy(&ids).await?;
        on_db!(self.erase(&ids, pseudonym, &request.record))?;
        self.inner.appends.forget();
        Ok(ids.len() as u64)
    }

    async fn erasures(
        &self,
        desk: Option<&DeskId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Erasure>> {
        Ok(on_db!(self.erasures(desk, from, to))?)
    }

    async fn purge_client_files(&self, last_ended_before: DateTime<Utc>) -> Result<u64> {
        on_db!(self.settle())?;
        let chats = on_db!(self.client_file_chats(last_ended_before))?;
        self.inner.keys.destroy(&chats).await?;
        let purged = on_db!(self.purge_client_files(last_ended_before))?;
        self.inner.appends.forget();
        Ok(purged)
    }

    async fn save_registration(&self, registration: &Registration) -> Result<()> {
        Ok(on_db!(self.save_registration(registration))?)
    }

    async fn registration(&self, id: ConversationId) -> Result<Option<Registration>> {
        Ok(on_db!(self.registration(id))?)
    }

    async fn put_feedback(&self, feedback: &Feedback) -> Result<()> {
        let keys = &self.inner.keys;
        let c = feedback.conversation.0;
        let mut sealed = feedback.clone();
        if let Some(q) = &feedback.question {
            sealed.question = Some(keys.seal(c, &Place::FeedbackQuestion, q).await?);
        }
        if let Some(t) = &feedback.text {
            sealed.text = Some(keys.seal(c, &Place::FeedbackText, t).await?);
        }
        Ok(on_db!(self.put_feedback(&sealed))?)
    }

    async fn feedback(&self, conversation: ConversationId) -> Result<Option<Feedback>> {
        match on_db!(self.feedback(conversation))? {
            Some(f) => Ok(self.open_feedback(f).await?),
            None => Ok(None),
        }
    }

    async fn feedback_list(&self, filter: &FeedbackFilter) -> Result<Vec<Feedback>> {
        let mut out = Vec::new();
        for f in on_db!(self.feedback_list(filter))? {
            out.extend(self.open_feedback(f).await?);
        }
        Ok(out)
    }

    async fn save_rating(&self, rating: &Rating) -> Result<()> {
        let mut sealed = rating.clone();
        if let Some(comment) = &rating.comment {
            sealed.comment = Some(
                self.inner
                    .keys
                    .seal(rating.conversation.0, &Place::RatingComment, comment)
                    .await?,
            );
        }
        Ok(on_db!(self.save_rating(&sealed))?)
    }

    async fn rating(&self, id: ConversationId) -> Result<Option<Rating>> {
        let Some(mut rating) = on_db!(self.rating(id))? else {
            return Ok(None);
        };
        if let Some(comment) = &rating.comment {
            // A comment whose key was destroyed was purged with the transcript.
            rating.comment = self
                .inner
                .keys
                .open(id.0, &Place::RatingComment, comment)
                .await?;
        }
        Ok(Some(rating))
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
        on_db!(self.settle())?;
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
