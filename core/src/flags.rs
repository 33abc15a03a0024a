//! Flags on a pseudonym: suspected fake calls and frequent chatters.
//!
//! A counsellor suspects a fake call; a coordinator confirms or dismisses it. The engine
//! raises "frequent chatter" by itself when a pseudonym arrives more often than the desk's
//! threshold. Flags expire. They warn the next counsellor and, for an open fake-call flag,
//! lower the visitor's queue priority by a bounded delay: they never lock anyone out.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConversationId, DeskId, FlagId, StaffId};
use crate::pseudonym::Pseudonym;

/// What a flag says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// A counsellor suspects a fake (prank) call.
    SuspectedFakeCall,
    /// The visitor chats very often (veelchatter), raised automatically.
    FrequentChatter,
}

/// Where a flag stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagStatus {
    /// Raised, not yet reviewed.
    Open,
    /// A coordinator confirmed it.
    Confirmed,
    /// A coordinator dismissed it; it no longer warns or lowers priority.
    Dismissed,
}

/// A flag on a pseudonym.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    /// Its id.
    pub id: FlagId,
    /// The visitor's pseudonym.
    pub pseudonym: Pseudonym,
    /// The desk where it was raised.
    pub desk: DeskId,
    /// What it says.
    pub kind: FlagKind,
    /// Review status.
    pub status: FlagStatus,
    /// The chat that led to it, if one did.
    pub conversation: Option<ConversationId>,
    /// Who raised it; `None` when the engine did.
    pub raised_by: Option<StaffId>,
    /// Who reviewed it.
    pub reviewed_by: Option<StaffId>,
    /// When it was raised.
    pub created_at: DateTime<Utc>,
    /// When it stops counting.
    pub expires_at: DateTime<Utc>,
}

impl Flag {
    /// Whether the flag still counts at `now` (not expired, not dismissed).
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.status != FlagStatus::Dismissed && self.expires_at > now
    }
}

/// What a counsellor sees about a visitor when a chat starts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VisitorHistory {
    /// Chats by this pseudonym in the look-back window (this one not counted).
    pub chats_in_window: u32,
    /// The window, in days.
    pub window_days: u32,
    /// The active flags.
    pub flags: Vec<FlagSummary>,
}

/// A flag as shown to a counsellor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagSummary {
    /// Its id.
    pub id: FlagId,
    /// What it says.
    pub kind: FlagKind,
    /// Review status.
    pub status: FlagStatus,
    /// When it was raised.
    pub created_at: DateTime<Utc>,
}

impl From<&Flag> for FlagSummary {
    fn from(f: &Flag) -> Self {
        Self {
            id: f.id,
            kind: f.kind,
            status: f.status,
            created_at: f.created_at,
        }
    }
}
