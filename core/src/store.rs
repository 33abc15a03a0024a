//! The `Store` port: everything the engine keeps.
//!
//! The contract every implementation honours (checked by the conformance suite in
//! [`conformance`], behind the `conformance` feature, which the in-memory store and the SQL
//! stores all run):
//!
//! - **Durability.** When a call returns `Ok`, what it wrote survives a crash of the process.
//!   The engine acknowledges a message only after [`Store::append`] returned `Ok`.
//! - **The log.** Per conversation, sequence numbers start at 1 and have no gaps:
//!   appending `seq` when the last stored is not `seq - 1` fails with
//!   [`StoreErrorKind::Conflict`], and so does appending to an unknown conversation
//!   ([`StoreErrorKind::NotFound`]). An append whose answer was lost may have committed:
//!   the engine then gets `Conflict` on its next append and adopts what the store has
//!   (the store is the truth). The engine appends only while a conversation is live, so
//!   a log emptied by retention is never appended to again.
//! - **Transcripts are read with an audit row.** Staff read a transcript only through
//!   [`Store::read_transcript`], which writes the audit row (who, when, which conversation,
//!   why) in the same transaction as the read. [`Store::events_after`] is for the live
//!   conversation's own participants (resume after a dropped connection or a restart).
//! - **Retention.** [`Store::purge_transcripts`] deletes the events of conversations that
//!   ended before a cut-off; metadata, registrations, ratings and flags stay, so the
//!   statistics keep working. Feedback on a chat goes with its transcript.
//! - **Erasure on request.** [`Store::erase`] takes everything tied to a visitor at once,
//!   with an audit row that says it happened and nothing of what it was.
//! - **Statistics.** [`Store::report`] computes the figures defined in
//!   [`crate::statistics`]; every implementation gives the same numbers for the same data
//!   (means may differ in the last bits of a floating-point number).
//! - **Anonymity.** Nothing here has a field for an IP address or a raw visitor token:
//!   visitors appear only as a [`Pseudonym`], resume tokens only as a hash.
//! - **Errors.** Failures map onto [`StoreErrorKind`]; a store that cannot write says
//!   [`StoreErrorKind::Unavailable`], and the engine tells the sender that sending is
//!   temporarily impossible.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::account::Account;
use crate::appointment::{Appointment, AppointmentFilter};
use crate::calendar::Calendar;
use crate::centre::Centre;
use crate::error::Result;
#[allow(unused_imports)]
use crate::error::StoreErrorKind;
use crate::event::{ClientProfile, EndReason, LoggedEvent};
use crate::flags::Flag;
use crate::ids::{AppointmentId, CentreId, ConversationId, DeskId, FlagId, StaffId};
use crate::pseudonym::Pseudonym;
use crate::registration::{Rating, Registration};
use crate::review::{EraseRequest, Erasure, Feedback, FeedbackFilter};
use crate::statistics::{CoverageSample, ReportData, ReportQuery};

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod memory;

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationState {
    /// In the queue.
    Waiting,
    /// With a counsellor.
    Active,
    /// Over.
    Ended,
}

impl ConversationState {
    /// The stable text form used in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationState::Waiting => "waiting",
            ConversationState::Active => "active",
            ConversationState::Ended => "ended",
        }
    }
}

/// A conversation's metadata: everything but the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationMeta {
    /// Id.
    pub id: ConversationId,
    /// Desk.
    pub desk: DeskId,
    /// The visitor's pseudonym (anonymous desks), if the visitor had a token.
    pub pseudonym: Option<Pseudonym>,
    /// What the client said about themselves.
    pub profile: ClientProfile,
    /// State.
    pub state: ConversationState,
    /// The counsellor now (or last).
    pub counsellor: Option<StaffId>,
    /// Arrival.
    pub arrived_at: DateTime<Utc>,
    /// When a counsellor took it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it ended.
    pub end_reason: Option<EndReason>,
    /// SHA-256 of the resume token (the token itself is never stored).
    pub resume_token_hash: String,
}

/// Who read a transcript, when, and why: one audit row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptRead {
    /// The conversation read.
    pub conversation: ConversationId,
    /// The reader.
    pub reader: StaffId,
    /// When.
    pub at: DateTime<Utc>,
    /// Why: a [`crate::review::ReadPurpose`] as [`crate::review::ReadPurpose::describe`] writes it (e.g. `chat_scan`, `flag_review: frequent visitor`); required.
    pub purpose: String,
}

/// Which audit rows of transcript reads to list ([`Store::read_audit`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadAuditFilter {
    /// Only reads of this desk's chats; `None`: every desk's.
    pub desk: Option<DeskId>,
    /// Read at or after.
    pub from: DateTime<Utc>,
    /// Read before.
    pub to: DateTime<Utc>,
    /// Only this reader's.
    pub reader: Option<StaffId>,
    /// Only reads whose purpose starts with this name (`chat_scan` matches `chat_scan` and
    /// `chat_scan: …`).
    pub purpose: Option<String>,
    /// At most this many, newest first.
    pub limit: u32,
}

/// One audit row with the chat it is about: its desk and who held it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadAuditRow {
    /// The read.
    pub read: TranscriptRead,
    /// The chat's desk.
    pub desk: DeskId,
    /// Who held the chat.
    pub counsellor: Option<StaffId>,
}

/// Which conversations to list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConversationFilter {
    /// Only this desk.
    pub desk: Option<DeskId>,
    /// Only these states.
    pub states: Vec<ConversationState>,
    /// Arrived at or after.
    pub arrived_from: Option<DateTime<Utc>>,
    /// Arrived before.
    pub arrived_until: Option<DateTime<Utc>>,
    /// Only those this counsellor held.
    #[serde(default)]
    pub counsellor: Option<StaffId>,
    /// Only those whose text is still stored (not purged; at least one message): what a
    /// chat scan can read.
    #[serde(default)]
    pub with_transcript: bool,
    /// At most this many (newest first); `None` for all.
    pub limit: Option<u32>,
}

/// Headline figures for a period, computed in the store (never from message text).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Conversations that arrived in the period.
    pub arrivals: u64,
    /// Of which served by a counsellor.
    pub served: u64,
    /// Left the queue before being served.
    pub abandoned_in_queue: u64,
    /// Still waiting at closing time.
    pub closed_at_closing_time: u64,
    /// Served chats by end reason, as (reason, count), sorted by reason name.
    pub by_end_reason: Vec<(EndReason, u64)>,
    /// Mean duration of served, ended chats, in seconds.
    pub mean_duration_secs: Option<f64>,
    /// Mean wait of served chats, in seconds.
    pub mean_wait_secs: Option<f64>,
    /// Ratings given.
    pub ratings: u64,
    /// Mean stars.
    pub mean_stars: Option<f64>,
    /// Registrations.
    pub registrations: u64,
    /// Registrations marked as suspected fake call.
    pub fake_calls: u64,
}

/// Everything the engine keeps. See the module docs for the contract.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // --- conversations and their logs ---

    /// Inserts or replaces a conversation's metadata.
    async fn put_conversation(&self, meta: &ConversationMeta) -> Result<()>;
    /// A conversation's metadata.
    async fn conversation(&self, id: ConversationId) -> Result<Option<ConversationMeta>>;
    /// Conversations matching the filter, newest arrival first.
    async fn conversations(&self, filter: &ConversationFilter) -> Result<Vec<ConversationMeta>>;
    /// Appends one event; `seq` must follow the last stored one (see the module docs).
    async fn append(&self, event: &LoggedEvent) -> Result<()>;
    /// The events after `after_seq`, in order: for the conversation's own participants.
    async fn events_after(&self, id: ConversationId, after_seq: u64) -> Result<Vec<LoggedEvent>>;
    /// A staff member reads a whole transcript; writes the audit row in the same transaction.
    async fn read_transcript(&self, read: &TranscriptRead) -> Result<Vec<LoggedEvent>>;
    /// The audit rows of a conversation, by their `at`, oldest first.
    async fn transcript_reads(&self, id: ConversationId) -> Result<Vec<TranscriptRead>>;
    /// The audit rows that match `filter`, newest first (equal instants: the later written
    /// first), at most `filter.limit`.
    async fn read_audit(&self, filter: &ReadAuditFilter) -> Result<Vec<ReadAuditRow>>;
    /// Forgets who came back: conversations that arrived before `arrived_before` lose their
    /// pseudonym, so a visitor's history reaches back no further (their flags expire on
    /// their own). Returns how many conversations forgot theirs.
    async fn forget_visits(&self, arrived_before: DateTime<Utc>) -> Result<u64>;
    /// Deletes the events of conversations that ended before `ended_before`; returns how
    /// many conversations lost their transcript. Chats held for an appointment are not
    /// touched: they belong to the client file ([`Store::purge_client_files`]).
    async fn purge_transcripts(&self, ended_before: DateTime<Utc>) -> Result<u64>;
    /// Erases on a visitor's request (see [`EraseRequest`]): for the chat named and every
    /// *ended* chat under the pseudonym, its text, feedback, rating comment and the
    /// visitor's self-reported profile go, and the chat forgets the pseudonym; the
    /// pseudonym's flags go. What stays (times, registration, stars) no longer leads to the
    /// visitor: the statistics keep their counts. Writes the [`Erasure`] audit row in the
    /// same transaction. Chats still going on are left alone. Returns how many chats were
    /// erased.
    async fn erase(&self, request: &EraseRequest) -> Result<u64>;
    /// The erasure audit rows of `desk` (every desk: `None`) in `[from, to)`, newest first.
    async fn erasures(
        &self,
        desk: Option<&DeskId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Erasure>>;
    /// Empties the client file of every trajectory whose last appointment ended before
    /// `last_ended_before`: the transcripts of its chats, the client's name on its
    /// appointments and chats, the counsellor's notes. The appointments stay (for the
    /// statistics), with an empty `client_name`. Returns how many trajectories were emptied
    /// (a second purge finds nothing more).
    async fn purge_client_files(&self, last_ended_before: DateTime<Utc>) -> Result<u64>;

    // --- after the chat ---

    /// Saves the registration; a second one for the same conversation is a `Conflict`.
    async fn save_registration(&self, registration: &Registration) -> Result<()>;
    /// Inserts or replaces the feedback on a chat (one per chat).
    async fn put_feedback(&self, feedback: &Feedback) -> Result<()>;
    /// The feedback on a chat.
    async fn feedback(&self, conversation: ConversationId) -> Result<Option<Feedback>>;
    /// The feedback `filter` selects, the newest change first, at most `filter.limit`.
    async fn feedback_list(&self, filter: &FeedbackFilter) -> Result<Vec<Feedback>>;
    /// The registration of a conversation.
    async fn registration(&self, id: ConversationId) -> Result<Option<Registration>>;
    /// Saves the rating; a second one for the same conversation is a `Conflict`.
    async fn save_rating(&self, rating: &Rating) -> Result<()>;
    /// The rating of a conversation.
    async fn rating(&self, id: ConversationId) -> Result<Option<Rating>>;

    // --- pseudonyms and flags ---

    /// Conversations of a pseudonym that arrived at or after `since`.
    async fn count_visits(&self, pseudonym: &Pseudonym, since: DateTime<Utc>) -> Result<u32>;
    /// Inserts or replaces a flag.
    async fn put_flag(&self, flag: &Flag) -> Result<()>;
    /// One flag.
    async fn flag(&self, id: FlagId) -> Result<Option<Flag>>;
    /// All flags of a pseudonym, active or not, oldest first.
    async fn flags_for(&self, pseudonym: &Pseudonym) -> Result<Vec<Flag>>;
    /// Flags waiting for review (status open, not expired at `now`), optionally of one desk,
    /// oldest first.
    async fn flags_to_review(&self, desk: Option<&DeskId>, now: DateTime<Utc>)
        -> Result<Vec<Flag>>;
    /// Moves conversations and flags from an old pseudonym to a new one (key rotation).
    async fn rekey_pseudonym(&self, old: &Pseudonym, new: &Pseudonym) -> Result<()>;

    // --- accounts and calendars ---

    /// Inserts or replaces an account (by user name).
    async fn put_account(&self, account: &Account) -> Result<()>;
    /// An account by user name.
    async fn account(&self, username: &str) -> Result<Option<Account>>;
    /// All accounts, by user name.
    async fn accounts(&self) -> Result<Vec<Account>>;
    /// Saves a desk's calendar.
    async fn put_calendar(&self, desk: &DeskId, calendar: &Calendar) -> Result<()>;
    /// A desk's saved calendar.
    async fn calendar(&self, desk: &DeskId) -> Result<Option<Calendar>>;
    /// Every saved calendar, by desk id.
    async fn calendars(&self) -> Result<Vec<(DeskId, Calendar)>>;

    // --- appointments (blended chat) ---

    /// Inserts or replaces an appointment (by id). A second appointment with the same
    /// `token_hash` is a [`StoreErrorKind::Conflict`].
    async fn put_appointment(&self, appointment: &Appointment) -> Result<()>;
    /// An appointment by id.
    async fn appointment(&self, id: AppointmentId) -> Result<Option<Appointment>>;
    /// The appointment whose join token hashes to `token_hash`.
    async fn appointment_by_token(&self, token_hash: &str) -> Result<Option<Appointment>>;
    /// The appointments that pass `filter`, by start (then id).
    async fn appointments(&self, filter: &AppointmentFilter) -> Result<Vec<Appointment>>;

    // --- centres (Chat-met-je-CLB) ---

    /// Inserts or replaces a centre (by id); the caller validated it
    /// ([`Centre::validate`]).
    async fn put_centre(&self, centre: &Centre) -> Result<()>;
    /// A centre by id.
    async fn centre(&self, id: &CentreId) -> Result<Option<Centre>>;
    /// Every centre, by id.
    async fn centres(&self) -> Result<Vec<Centre>>;

    // --- statistics ---

    /// Records a desk's staffing from `sample.at` on; a sample for the same desk and
    /// instant replaces the earlier one (the engine writes a desk's samples in order).
    async fn record_coverage(&self, sample: &CoverageSample) -> Result<()>;

    /// Every figure of the annual report for `query`, as [`crate::statistics`] defines
    /// them, computed from metadata, registrations, ratings and coverage samples (never
    /// from message text), in one consistent snapshot. The query is validated first.
    async fn report(&self, query: &ReportQuery) -> Result<ReportData>;

    /// Headline figures for conversations that arrived in `[from, until)`, optionally of one desk.
    async fn summary(
        &self,
        desk: Option<&DeskId>,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Summary>;
}
