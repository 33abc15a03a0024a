//! The conversation log and the events the engine pushes to participants.
//!
//! Every conversation is an append-only log of [`LoggedEvent`]s numbered 1, 2, 3… per
//! conversation. The log is the source of truth; what a screen shows is a view of it, and a
//! participant who reconnects gets exactly the events after the last sequence number it saw.
//! Some events are for staff only (whispers, handover notes, extension reasons): they are
//! never sent to the client, not even on resume. Typing indicators are not logged.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::flags::VisitorHistory;
use crate::ids::{ClientMsgId, ConversationId, DeskId, StaffId};
use crate::registration::{ClientType, Gender};

/// For `#[serde(deserialize_with)]` on a field with a default: `null` reads as the default,
/// as the wire protocol says of every optional field (`"profile": null`).
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Who did something in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The visitor (student, parent) or, in blended chat, the known client.
    Client,
    /// A counsellor.
    Counsellor,
    /// A coordinator.
    Coordinator,
    /// The engine itself.
    System,
}

/// A counsellor's discipline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Discipline {
    /// Doctor or nurse.
    Medical,
    /// Paramedical.
    Paramedical,
    /// Social work.
    SocialWork,
    /// Psycho-pedagogical.
    PsychoPedagogical,
}

/// Why a conversation ended. Every end has exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The client closed the chat.
    ClientLeft,
    /// The counsellor ended it.
    CounsellorEnded,
    /// The time limit was reached.
    TimeLimit,
    /// The client's connection dropped and did not come back within the grace period.
    BrokenOff,
    /// The client went quiet, was prompted, and did not answer.
    Abandoned,
    /// The client left the queue before being served.
    AbandonedInQueue,
    /// The desk closed while the client was still waiting.
    ClosedAtClosingTime,
    /// Handed over, with consent, to another organisation's chat line.
    TransferredOut,
    /// The server shut down for good (not a restart, which resumes).
    ServerShutdown,
    /// Refused at arrival: the queue was full.
    RefusedQueueFull,
    /// Refused at arrival: the expected wait ran past closing time.
    RefusedBeforeClosing,
}

/// What a transfer inside the desk goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TransferTarget {
    /// A named colleague.
    Colleague {
        /// The colleague.
        staff: StaffId,
    },
    /// Any free counsellor of a discipline (e.g. a medical one).
    Discipline {
        /// The discipline.
        discipline: Discipline,
    },
    /// A coordinator (any one online at the desk).
    Coordinator,
}

/// What the client said about themselves at the start (all optional, all self-reported).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientProfile {
    /// Student, parent, other.
    #[serde(default)]
    pub client_type: Option<ClientType>,
    /// A nickname to be addressed by; never a real name on anonymous desks.
    #[serde(default)]
    pub nickname: Option<String>,
    /// Age.
    #[serde(default)]
    pub age: Option<u8>,
    /// Gender.
    #[serde(default)]
    pub gender: Option<Gender>,
    /// The client signals a health question (routes to a medical counsellor when one is free).
    #[serde(default, deserialize_with = "null_as_default")]
    pub health_question: bool,
}

/// One entry of a conversation's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedEvent {
    /// The conversation.
    pub conversation: ConversationId,
    /// Position in the log, from 1, without gaps.
    pub seq: u64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub body: EventBody,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    /// A chat message.
    Message {
        /// Who wrote it.
        from: Role,
        /// The name shown for the author (a nickname or a counsellor's alias).
        author: String,
        /// The text.
        text: String,
        /// The sender's id for it.
        client_msg_id: ClientMsgId,
    },
    /// Someone joined the conversation.
    Joined {
        /// Their role.
        role: Role,
        /// Shown name.
        alias: String,
    },
    /// Someone left the conversation (the conversation may go on).
    Left {
        /// Their role.
        role: Role,
        /// Shown name.
        alias: String,
    },
    /// The time limit approaches.
    TimeWarning {
        /// Minutes left.
        minutes_left: u32,
    },
    /// A counsellor extended the time limit once.
    Extended {
        /// Minutes added.
        minutes: u32,
    },
    /// Why the time limit was extended (staff only).
    ExtensionReason {
        /// Who extended.
        by: StaffId,
        /// Their reason.
        reason: String,
    },
    /// The client has been quiet; are they still there?
    IdlePrompt,
    /// The client's connection dropped; they may come back within the grace period.
    ClientReconnecting,
    /// The client came back.
    ClientResumed,
    /// The counsellor's connection was lost for longer than the staff grace period: the
    /// client is back at the head of the queue for the next counsellor (the chat so far
    /// stays in the log).
    CounsellorLost {
        /// The counsellor's shown name.
        alias: String,
    },
    /// A transfer inside the desk was offered, with a handover note (staff only).
    TransferOffered {
        /// Who offers.
        from: StaffId,
        /// To whom.
        to: TransferTarget,
        /// The handover note.
        note: String,
    },
    /// The receiver declined the transfer (staff only).
    TransferDeclined {
        /// Who declined.
        by: StaffId,
    },
    /// The receiver accepted: the conversation has a new counsellor (staff only; the client
    /// sees the `Left`/`Joined` pair).
    TransferAccepted {
        /// The previous counsellor.
        from: StaffId,
        /// The new one.
        to: StaffId,
    },
    /// A counsellor proposes to pass the chat to another organisation's line.
    PartnerOffered {
        /// The partner line id.
        partner: String,
        /// Its public name, shown to the client.
        partner_name: String,
        /// What would be passed on, shown to the client before they consent.
        summary: String,
    },
    /// The partner line could not take over; the chat goes on here.
    PartnerFailed {
        /// The partner line id.
        partner: String,
        /// What went wrong.
        reason: String,
    },
    /// The client's answer to the partner offer.
    PartnerConsent {
        /// The partner line id.
        partner: String,
        /// Yes or no.
        consent: bool,
    },
    /// The partner line took over; the client continues there.
    TransferredOut {
        /// The partner line id.
        partner: String,
        /// Where the client continues (a link from the partner).
        continue_at: String,
    },
    /// A staff-only message between a coordinator and the counsellor (staff only).
    Whisper {
        /// Who whispers.
        from: StaffId,
        /// Their role.
        role: Role,
        /// The text.
        text: String,
    },
    /// A coordinator took over the conversation from its counsellor (staff only).
    TakenOver {
        /// The coordinator.
        by: StaffId,
        /// The counsellor replaced.
        from: Option<StaffId>,
    },
    /// The conversation ended.
    Ended {
        /// Why.
        reason: EndReason,
    },
}

impl EventBody {
    /// Whether the client may see this event. Staff-only events never reach the client.
    pub fn visible_to_client(&self) -> bool {
        !matches!(
            self,
            EventBody::ExtensionReason { .. }
                | EventBody::TransferOffered { .. }
                | EventBody::TransferDeclined { .. }
                | EventBody::TransferAccepted { .. }
                | EventBody::Whisper { .. }
                | EventBody::TakenOver { .. }
        )
    }

    /// Whether this event carries message text (what retention purges).
    pub fn has_text(&self) -> bool {
        matches!(
            self,
            EventBody::Message { .. }
                | EventBody::Whisper { .. }
                | EventBody::TransferOffered { .. }
                | EventBody::ExtensionReason { .. }
        )
    }
}

/// The engine's acknowledgement of a message: it is stored durably under this number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The conversation.
    pub conversation: ConversationId,
    /// Its sequence number in the log.
    pub seq: u64,
    /// When it was stored.
    pub at: DateTime<Utc>,
}

/// One line of the desk's running chats on the coordinator's board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningChat {
    /// The conversation.
    pub conversation: ConversationId,
    /// Its counsellor.
    pub counsellor: Option<StaffId>,
    /// Minutes since it started.
    pub minutes: u32,
    /// Whether the client is reconnecting now.
    pub reconnecting: bool,
}

/// A counsellor as the board shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CounsellorStatus {
    /// Account.
    pub staff: StaffId,
    /// Shown name.
    pub alias: String,
    /// Discipline.
    pub discipline: Discipline,
    /// Chats running.
    pub load: u32,
    /// Capacity.
    pub capacity: u32,
    /// Counted as available: takes a new chat now or as soon as one of theirs ends
    /// (connected, not paused, no registration due, not in the shift-end margin). This is
    /// what the wait estimate counts.
    pub available: bool,
    /// Registrations still to do.
    pub registrations_due: u32,
    /// When their shift ends, if given.
    pub shift_ends_at: Option<DateTime<Utc>>,
    /// Where they stand, in words for the board.
    #[serde(default)]
    pub status: PresenceStatus,
    /// Their page is connected now.
    #[serde(default = "connected_default")]
    pub connected: bool,
    /// Seconds since their connection was lost (while it is lost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub away_secs: Option<u64>,
    /// The chats whose registration they still owe; a coordinator can fill one in for
    /// them or release it.
    #[serde(default)]
    pub pending_registrations: Vec<ConversationId>,
}

fn connected_default() -> bool {
    true
}

/// Where a staff member stands at a desk, from the board's point of view. The first that
/// applies, in this order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    /// Taken offline after their connection was lost for longer than the staff grace
    /// period; listed only because registrations are still due.
    Offline,
    /// Their connection was lost; their chats wait for them during the staff grace period.
    Disconnected,
    /// They must register a finished chat before they get a new one.
    Registering,
    /// Paused: no new chats.
    Paused,
    /// Within the shift-end margin: no new chats, running ones finish.
    ShiftEnding,
    /// Every slot busy: the next client when one of their chats ends.
    Full,
    /// Takes a new chat now.
    #[default]
    Available,
}

/// Repeated failed logins for an account of the desk (see `engine::logins`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginFailures {
    /// The user name tried.
    pub username: String,
    /// Failed attempts in the last hour.
    pub last_hour: u32,
    /// Minutes since the last failed attempt.
    pub minutes_ago: u32,
}

/// A coverage problem the board warns about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CoverageWarning {
    /// Fewer counsellors online than the desk's minimum.
    TooFewCounsellors {
        /// Online now.
        online: u32,
        /// The minimum.
        minimum: u32,
    },
    /// No medical counsellor online though the desk wants one.
    NoMedicalCounsellor,
}

/// The coordinator's live view of a desk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeskBoard {
    /// The desk.
    pub desk: DeskId,
    /// Open now.
    pub open: bool,
    /// Counsellors online.
    pub counsellors: Vec<CounsellorStatus>,
    /// Clients waiting.
    pub queue_length: u32,
    /// The longest wait now, in seconds.
    pub longest_wait_secs: u64,
    /// Running chats.
    pub running: Vec<RunningChat>,
    /// Coverage warnings.
    pub warnings: Vec<CoverageWarning>,
    /// Accounts of this desk with repeated failed logins in the last hour.
    #[serde(default)]
    pub login_failures: Vec<LoginFailures>,
}

/// Everything the engine pushes to a connected participant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ServerEvent {
    /// The client's place in the queue (sent on every change).
    Queue {
        /// The conversation.
        conversation: ConversationId,
        /// 1 = next.
        position: u32,
        /// Honest estimate in minutes; `None` when nobody is online to estimate from.
        estimated_wait_minutes: Option<u32>,
    },
    /// An entry of a conversation's log.
    Log(LoggedEvent),
    /// Someone is typing (not logged).
    Typing {
        /// The conversation.
        conversation: ConversationId,
        /// Who.
        role: Role,
    },
    /// To a counsellor: a chat was assigned to them; what they should know first.
    ChatAssigned {
        /// The conversation.
        conversation: ConversationId,
        /// Its desk: a counsellor who serves several (the national desk and their centre's
        /// box) sees where each chat comes from.
        desk: DeskId,
        /// What the client said about themselves.
        profile: ClientProfile,
        /// Returning-visitor information and flags.
        history: VisitorHistory,
        /// When the time limit ends it.
        ends_at: DateTime<Utc>,
    },
    /// To a staff member: a colleague offers them a chat.
    TransferRequested {
        /// The conversation.
        conversation: ConversationId,
        /// From whom.
        from: StaffId,
        /// The handover note.
        note: String,
    },
    /// To a counsellor: the registration of a finished chat is due.
    RegistrationDue {
        /// The conversation.
        conversation: ConversationId,
    },
    /// To a waiting client at closing time.
    ClosingNotice {
        /// The conversation.
        conversation: ConversationId,
        /// When the desk opens again.
        next_opening: Option<DateTime<Utc>>,
    },
    /// The connection will be closed by the server.
    Disconnecting {
        /// Why, for machines: whether to resume.
        kind: DisconnectKind,
        /// Why, for people.
        reason: String,
    },
}

/// Why the engine disconnects a participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisconnectKind {
    /// The participant could not keep up; resume from the last sequence number.
    TooSlow,
    /// A newer connection of the same participant took over; do not resume automatically
    /// (the other tab or device has the chat).
    Replaced,
    /// The server restarts; resume in a moment.
    Restart,
}
