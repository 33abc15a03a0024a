//! Quality review: who may read which transcript, and why. One rule, here, for every way a
//! chat's text is read after (or beside) the chat itself: a chat scan, a flag's review,
//! feedback, an intervision export, a blended-chat trajectory, a coordinator watching or
//! called in. The engine asks [`may_read`] before every audited read
//! ([`crate::store::Store::read_transcript`]) and writes the read's [`ReadPurpose`] into the
//! audit row, so the audit says why in words a filter can use.
//!
//! The rule:
//!
//! | purpose | who may read |
//! |---|---|
//! | chat scan, flag review, intervision, live observation, called in for help | a coordinator of the chat's desk |
//! | feedback | a coordinator of the chat's desk, and the counsellor who held the chat |
//! | trajectory (blended chat) | the counsellor or stand-in of one of its sessions, of its centre |
//!
//! Nobody else: not a counsellor reading a colleague's chat, not a coordinator of another
//! desk (another centre's box is another desk), and never the sector's administrator, who
//! manages accounts and reads statistics but no chat. The matrix test in
//! `core/tests/it/review.rs` tries every kind of reader with every purpose.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::account::StaffIdentity;
use crate::error::{Error, Result};
use crate::event::{EventBody, LoggedEvent, Role};
use crate::ids::{CentreId, ConversationId, DeskId, StaffId};
use crate::store::{ConversationMeta, ReadAuditRow};

/// Why a transcript is read: what the audit row says, and what decides who may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadPurpose {
    /// A chat scan: a chat drawn at random, read to give the counsellor feedback.
    ChatScan,
    /// Reviewing a flag raised in the chat.
    FlagReview,
    /// Feedback a counsellor asked for on a chat of theirs, or reads.
    Feedback,
    /// Exported, masked, for an intervision session.
    Intervision,
    /// The earlier sessions of a blended-chat trajectory, before the next one.
    Trajectory,
    /// A coordinator watching a running chat.
    Observation,
    /// A coordinator called into a running chat by its counsellor.
    CalledIn,
}

impl ReadPurpose {
    /// Every purpose.
    pub const ALL: [ReadPurpose; 7] = [
        ReadPurpose::ChatScan,
        ReadPurpose::FlagReview,
        ReadPurpose::Feedback,
        ReadPurpose::Intervision,
        ReadPurpose::Trajectory,
        ReadPurpose::Observation,
        ReadPurpose::CalledIn,
    ];

    /// Its name in the audit row and the protocol (`chat_scan`).
    pub fn as_str(self) -> &'static str {
        match self {
            ReadPurpose::ChatScan => "chat_scan",
            ReadPurpose::FlagReview => "flag_review",
            ReadPurpose::Feedback => "feedback",
            ReadPurpose::Intervision => "intervision",
            ReadPurpose::Trajectory => "trajectory",
            ReadPurpose::Observation => "observation",
            ReadPurpose::CalledIn => "called_in",
        }
    }

    /// The audit row's purpose: the name, and a note after a colon if there is one
    /// (`flag_review: frequent visitor`).
    pub fn describe(self, note: Option<&str>) -> String {
        match note.map(str::trim).filter(|n| !n.is_empty()) {
            Some(note) => format!("{}: {note}", self.as_str()),
            None => self.as_str().to_owned(),
        }
    }

    /// The purpose an audit row names, and its note; `None` for a row that names none (a
    /// row written before purposes had names).
    pub fn parse(described: &str) -> (Option<ReadPurpose>, Option<&str>) {
        let (name, note) = match described.split_once(':') {
            Some((name, note)) => (name.trim(), Some(note.trim())),
            None => (described.trim(), None),
        };
        match ReadPurpose::ALL.iter().find(|p| p.as_str() == name) {
            Some(p) => (Some(*p), note.filter(|n| !n.is_empty())),
            None => (None, Some(described)),
        }
    }
}

/// What the rule needs to know of the chat read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatFacts {
    /// Its desk.
    pub desk: DeskId,
    /// The counsellor who held it, if anyone did.
    pub counsellor: Option<StaffId>,
    /// Blended chat: the centre of its trajectory and who held one of its sessions
    /// (counsellor or stand-in); empty for an anonymous chat.
    pub trajectory: Option<(CentreId, Vec<StaffId>)>,
}

/// Whether `reader` may read the chat `chat` for `purpose`; `Forbidden`, saying why, if not.
pub fn may_read(reader: &StaffIdentity, chat: &ChatFacts, purpose: ReadPurpose) -> Result<()> {
    if reader.is_administrator() {
        return Err(Error::Forbidden(
            "the sector's administrator reads no chat; a coordinator of its desk can".into(),
        ));
    }
    let coordinator = reader.is_coordinator() && reader.serves(&chat.desk);
    let allowed = match purpose {
        ReadPurpose::ChatScan
        | ReadPurpose::FlagReview
        | ReadPurpose::Intervision
        | ReadPurpose::Observation
        | ReadPurpose::CalledIn => coordinator,
        ReadPurpose::Feedback => coordinator || chat.counsellor.as_ref() == Some(&reader.id),
        ReadPurpose::Trajectory => match &chat.trajectory {
            Some((centre, holders)) => {
                reader.centre.as_ref() == Some(centre) && holders.contains(&reader.id)
            }
            None => false,
        },
    };
    if allowed {
        return Ok(());
    }
    Err(Error::Forbidden(match purpose {
        ReadPurpose::Feedback => format!(
            "only a coordinator of desk `{}` or the counsellor who held this chat may read it \
             for feedback",
            chat.desk
        ),
        ReadPurpose::Trajectory => "only the counsellor or the stand-in of one of its sessions \
             may read this trajectory"
            .into(),
        _ => format!(
            "only a coordinator of desk `{}` may read this chat for {}",
            chat.desk,
            purpose.as_str().replace('_', " ")
        ),
    }))
}

/// Most chats one scan draws.
pub const MAX_SCAN: u32 = 20;

/// A chat scan to draw: `count` chats at random from the desk's ended chats (of one
/// counsellor, or of everyone) that arrived in `[from, to)` and whose text is still kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRequest {
    /// The desk.
    pub desk: DeskId,
    /// Only this counsellor's chats (a new colleague's); `None`: the whole desk's.
    #[serde(default)]
    pub counsellor: Option<StaffId>,
    /// Arrived at or after.
    pub from: DateTime<Utc>,
    /// Arrived before.
    pub to: DateTime<Utc>,
    /// How many, 1 to [`MAX_SCAN`].
    pub count: u32,
}

impl ScanRequest {
    /// Checks the numbers; the error says what to change.
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_SCAN).contains(&self.count) {
            return Err(Error::Invalid(format!(
                "count: draw 1 to {MAX_SCAN} chats at a time"
            )));
        }
        if self.from >= self.to {
            return Err(Error::Invalid(
                "from, to: the period must start before it ends".into(),
            ));
        }
        Ok(())
    }
}

/// One chat a scan drew: enough to choose it and plan the read, none of its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanPick {
    /// The chat.
    pub conversation: ConversationId,
    /// Who held it.
    #[serde(default)]
    pub counsellor: Option<StaffId>,
    /// When it started.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
}

impl From<&ConversationMeta> for ScanPick {
    fn from(m: &ConversationMeta) -> Self {
        ScanPick {
            conversation: m.id,
            counsellor: m.counsellor.clone(),
            started_at: m.started_at,
            ended_at: m.ended_at,
        }
    }
}

/// Most rows one look at the read audit gives; a period with more says so.
pub const MAX_AUDIT_ROWS: u32 = 500;

/// A look at the read audit of a desk: who read which of its chats when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRequest {
    /// The desk.
    pub desk: DeskId,
    /// Read at or after.
    pub from: DateTime<Utc>,
    /// Read before.
    pub to: DateTime<Utc>,
    /// Only this reader's reads.
    #[serde(default)]
    pub reader: Option<StaffId>,
    /// Only reads for this purpose.
    #[serde(default)]
    pub purpose: Option<ReadPurpose>,
}

/// One read in the audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who read.
    pub reader: StaffId,
    /// Which chat.
    pub conversation: ConversationId,
    /// Who held that chat.
    #[serde(default)]
    pub counsellor: Option<StaffId>,
    /// Why; `None` for a row written before purposes had names (its words are the note).
    #[serde(default)]
    pub purpose: Option<ReadPurpose>,
    /// The note the reader gave.
    #[serde(default)]
    pub note: Option<String>,
}

impl From<&ReadAuditRow> for AuditEntry {
    fn from(row: &ReadAuditRow) -> Self {
        let (purpose, note) = ReadPurpose::parse(&row.read.purpose);
        AuditEntry {
            at: row.read.at,
            reader: row.read.reader.clone(),
            conversation: row.read.conversation,
            counsellor: row.counsellor.clone(),
            purpose,
            note: note.map(str::to_owned),
        }
    }
}

/// The reads a look at the audit found, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadAudit {
    /// The reads, at most [`MAX_AUDIT_ROWS`].
    pub entries: Vec<AuditEntry>,
    /// Whether there were more: narrow the period or the filter to see them.
    pub truncated: bool,
    /// The erasures on request at the desk in the period (not filtered by reader or
    /// purpose), newest first: who carried one out and when, nothing of what it erased.
    #[serde(default)]
    pub erasures: Vec<Erasure>,
}

/// One message of an intervision export: when in the chat, who, the masked text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportLine {
    /// Minutes since the chat's first message (never the date or the hour: they can tell
    /// who it was).
    pub minute: u32,
    /// Who wrote it: the client, a counsellor, a coordinator.
    pub from: Role,
    /// The text, masked ([`crate::masking::mask`]).
    pub text: String,
}

/// A chat exported for an intervision session: its messages masked, and what the masking
/// cannot promise, to print on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntervisionExport {
    /// The messages, in order.
    pub lines: Vec<ExportLine>,
    /// What the masking cannot promise, in Dutch.
    pub limits_nl: String,
    /// The same in English.
    pub limits_en: String,
}

impl IntervisionExport {
    /// The export of `log` (a chat's events as read): its messages, masked with every name
    /// the chat knows (`nickname`, and each author's and participant's alias).
    pub fn of(log: &[LoggedEvent], nickname: Option<&str>) -> IntervisionExport {
        let mut names: Vec<String> = nickname.map(crate::masking::name_parts).unwrap_or_default();
        for e in log {
            match &e.body {
                EventBody::Message { author, .. } => {
                    names.extend(crate::masking::name_parts(author))
                }
                EventBody::Joined { alias, .. } | EventBody::Left { alias, .. } => {
                    names.extend(crate::masking::name_parts(alias))
                }
                _ => {}
            }
        }
        // The longest first, so "Anna Peeters" goes whole before "Anna" does.
        names.sort_by(|a, b| {
            b.chars()
                .count()
                .cmp(&a.chars().count())
                .then_with(|| a.cmp(b))
        });
        names.dedup();
        let known: Vec<&str> = names.iter().map(String::as_str).collect();
        let start = log.iter().find_map(|e| match &e.body {
            EventBody::Message { .. } => Some(e.at),
            _ => None,
        });
        let lines = log
            .iter()
            .filter_map(|e| match &e.body {
                EventBody::Message { from, text, .. } => Some(ExportLine {
                    minute: start
                        .map(|s| u32::try_from((e.at - s).num_minutes().max(0)).unwrap_or(0))
                        .unwrap_or(0),
                    from: *from,
                    text: crate::masking::mask(text, &known),
                }),
                _ => None,
            })
            .collect();
        IntervisionExport {
            lines,
            limits_nl: crate::masking::LIMITS_NL.to_owned(),
            limits_en: crate::masking::LIMITS_EN.to_owned(),
        }
    }
}

/// Longest feedback a coordinator writes on one chat, in characters.
pub const MAX_FEEDBACK_CHARS: usize = 4000;

/// Longest question a counsellor adds when asking for feedback, in characters.
pub const MAX_QUESTION_CHARS: usize = 1000;

/// Feedback on one chat: a counsellor's question (they asked for feedback on a chat of
/// theirs), a coordinator's answer (after a chat scan or on that question), or both. One per
/// chat; asking again replaces the question, writing again replaces the text.
///
/// Both texts speak of the chat, so the store keeps them as it keeps the chat's text (sealed
/// with the chat's key where the store seals) and the retention purge takes them with the
/// transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    /// The chat.
    pub conversation: ConversationId,
    /// Its desk.
    pub desk: DeskId,
    /// The counsellor who held it: who the feedback is for.
    pub counsellor: StaffId,
    /// When the counsellor asked for feedback, if they did.
    #[serde(default)]
    pub asked_at: Option<DateTime<Utc>>,
    /// What they would like feedback on.
    #[serde(default)]
    pub question: Option<String>,
    /// The coordinator who wrote the feedback.
    #[serde(default)]
    pub written_by: Option<StaffId>,
    /// When it was written (or last changed).
    #[serde(default)]
    pub written_at: Option<DateTime<Utc>>,
    /// The feedback.
    #[serde(default)]
    pub text: Option<String>,
}

impl Feedback {
    /// Feedback on `conversation` for `counsellor`, neither asked nor written yet.
    pub fn none_yet(conversation: ConversationId, desk: DeskId, counsellor: StaffId) -> Self {
        Feedback {
            conversation,
            desk,
            counsellor,
            asked_at: None,
            question: None,
            written_by: None,
            written_at: None,
            text: None,
        }
    }

    /// When it last changed: written, or else asked.
    pub fn changed_at(&self) -> Option<DateTime<Utc>> {
        self.written_at.max(self.asked_at)
    }
}

/// Which feedback to list ([`crate::store::Store::feedback_list`]), newest change first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackFilter {
    /// Only this desk's chats.
    pub desk: Option<DeskId>,
    /// Only feedback for this counsellor.
    pub counsellor: Option<StaffId>,
    /// At most this many.
    pub limit: u32,
}

/// Most feedback rows one list gives.
pub const MAX_FEEDBACK_ROWS: u32 = 200;

/// Most of their own chats a counsellor's list shows.
pub const MAX_OWN_CHATS: u32 = 100;

/// One of a counsellor's own ended chats whose text is still kept, with the feedback on
/// it: what their page lists to ask for feedback, read it, or erase on the visitor's request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnChat {
    /// The chat.
    pub conversation: ConversationId,
    /// Its desk.
    pub desk: DeskId,
    /// When it started.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
    /// The feedback on it, if asked or written.
    #[serde(default)]
    pub feedback: Option<Feedback>,
}

/// A visitor's request to erase everything tied to them, made through the desk by the
/// counsellor of one of their chats or a coordinator of its desk
/// ([`crate::store::Store::erase`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EraseRequest {
    /// The chat the request was made from (ended).
    pub conversation: ConversationId,
    /// The visitor's pseudonym, if the chat had one: every ended chat under it goes too.
    pub pseudonym: Option<crate::pseudonym::Pseudonym>,
    /// The audit row to write with it.
    pub record: Erasure,
}

/// The audit row of an erasure: that it happened, by whom, when, at which desk; nothing of
/// what was erased (not the chat, not the visitor, not how many chats).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    /// The desk the request came through.
    pub desk: DeskId,
    /// Who carried it out.
    pub by: StaffId,
    /// When.
    pub at: DateTime<Utc>,
}
