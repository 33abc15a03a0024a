//! The one error type of the core.
//!
//! Every refusal a client or a staff member can meet has its own variant, with a message a
//! person can act on. Store adapters map their driver errors onto [`StoreErrorKind`], so the
//! core never sees a database type.

use chrono::{DateTime, Utc};

use crate::ids::{ConversationId, DeskId, StaffId};

/// `Result` with the core's [`Error`] as default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure a store reported; adapters map their driver errors onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The write conflicts with what is stored (a duplicate key, a sequence number out of order).
    Conflict,
    /// The thing asked for is not stored.
    NotFound,
    /// The store cannot be reached or cannot write now; retrying later may work.
    Unavailable,
    /// The stored data or the request is not valid.
    Invalid,
}

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The desk is closed now.
    #[error("the desk `{desk}` is closed{}", next_opening_text(.next_opening))]
    Closed {
        /// The desk.
        desk: DeskId,
        /// When it opens next, if it is planned to.
        next_opening: Option<DateTime<Utc>>,
    },
    /// The waiting queue is at its configured maximum.
    #[error(
        "the queue of desk `{desk}` is full ({limit} waiting); please try again in a few minutes"
    )]
    QueueFull {
        /// The desk.
        desk: DeskId,
        /// The configured maximum.
        limit: usize,
    },
    /// The expected wait runs past closing time (less the minutes a chat needs), so the
    /// client would not be helped today.
    #[error("the desk `{desk}` closes at {}; after the expected wait of {wait_minutes} min, fewer than the {margin_minutes} min a chat needs would be left; please come back at the next opening{}", .closes_at.to_rfc3339(), next_opening_text(.next_opening))]
    NotAdmittedBeforeClosing {
        /// The desk.
        desk: DeskId,
        /// When it closes.
        closes_at: DateTime<Utc>,
        /// The expected wait in minutes.
        wait_minutes: u32,
        /// The minutes before closing in which nobody new is let in (the desk's closing
        /// margin).
        margin_minutes: u32,
        /// When it opens next.
        next_opening: Option<DateTime<Utc>>,
    },
    /// A counsellor cannot take one more chat.
    #[error("{staff} is at capacity ({capacity} chat(s) running)")]
    OverCapacity {
        /// The counsellor.
        staff: StaffId,
        /// Their capacity.
        capacity: u32,
    },
    /// No such desk is configured.
    #[error("there is no desk `{0}`")]
    UnknownDesk(DeskId),
    /// No such conversation is live (it may have ended).
    #[error("there is no live conversation {0}")]
    UnknownConversation(ConversationId),
    /// The caller has no part in this conversation, or lacks the role for the action.
    #[error("conversation {0} is not yours to act in")]
    NotYours(ConversationId),
    /// The caller is not allowed to do this at all (for example a counsellor asking for the desk board).
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// A login failed. Deliberately says nothing about which half was wrong.
    #[error("wrong user name or password")]
    BadCredentials,
    /// Too many wrong passwords from this connection: it must wait before trying again.
    #[error("too many wrong passwords in a row: wait {wait_secs} seconds, then try again")]
    TooManyAttempts {
        /// Seconds to wait.
        wait_secs: u64,
    },
    /// A resume was refused: wrong token, or the grace period is over.
    #[error("this chat cannot be resumed: {0}")]
    ResumeRefused(String),
    /// The action does not fit the conversation's state (e.g. a message after the end).
    #[error("not possible now: {0}")]
    InvalidState(String),
    /// The input is not acceptable; the message says which field and why.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The store could not keep the data; nothing was acknowledged.
    /// The detail is for operators and logs; the wire protocol shows clients only the
    /// first sentence.
    #[error("sending is temporarily impossible; nothing was lost, please try again in a moment (storage unavailable: {0})")]
    StoreUnavailable(String),
    /// Any other store failure, with its kind.
    #[error("storage error ({kind:?}): {message}")]
    Store {
        /// The kind.
        kind: StoreErrorKind,
        /// What the store said.
        message: String,
    },
    /// The partner organisation's line refused or failed the hand-off.
    #[error("the partner line `{partner}` could not take over: {message}")]
    Partner {
        /// The partner line id.
        partner: String,
        /// What went wrong.
        message: String,
    },
    /// The engine is shutting down.
    #[error("the server is shutting down; please reconnect in a moment")]
    ShuttingDown,
}

fn next_opening_text(next: &Option<DateTime<Utc>>) -> String {
    match next {
        Some(t) => format!("; it opens again at {}", t.to_rfc3339()),
        None => String::new(),
    }
}

impl Error {
    /// A store error of a given kind.
    pub fn store(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        let message = message.into();
        match kind {
            StoreErrorKind::Unavailable => Error::StoreUnavailable(message),
            kind => Error::Store { kind, message },
        }
    }

    /// The store error kind, if this is a store error.
    pub fn store_kind(&self) -> Option<StoreErrorKind> {
        match self {
            Error::StoreUnavailable(_) => Some(StoreErrorKind::Unavailable),
            Error::Store { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// What a client may be told: the message, without storage details (driver errors can
    /// name servers and tables, which visitors have no business seeing).
    pub fn public_message(&self) -> String {
        match self {
            Error::StoreUnavailable(_) => {
                "sending is temporarily impossible; nothing was lost, please try again in a moment"
                    .into()
            }
            Error::Store { .. } => "a storage error occurred; please try again".into(),
            other => other.to_string(),
        }
    }

    /// A short stable code for the wire protocol and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Closed { .. } => "closed",
            Error::QueueFull { .. } => "queue_full",
            Error::NotAdmittedBeforeClosing { .. } => "not_admitted_before_closing",
            Error::OverCapacity { .. } => "over_capacity",
            Error::UnknownDesk(_) => "unknown_desk",
            Error::UnknownConversation(_) => "unknown_conversation",
            Error::NotYours(_) => "not_yours",
            Error::Forbidden(_) => "forbidden",
            Error::BadCredentials => "bad_credentials",
            Error::TooManyAttempts { .. } => "too_many_attempts",
            Error::ResumeRefused(_) => "resume_refused",
            Error::InvalidState(_) => "invalid_state",
            Error::Invalid(_) => "invalid",
            Error::StoreUnavailable(_) => "store_unavailable",
            Error::Store { .. } => "store",
            Error::Partner { .. } => "partner",
            Error::ShuttingDown => "shutting_down",
        }
    }
}
