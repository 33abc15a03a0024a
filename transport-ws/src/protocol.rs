//! The wire protocol `clbchat.v1`: JSON text frames, one object per frame.
//!
//! Every client frame has a `type` and may carry a `req` number; the server answers a frame
//! that has a `req` with exactly one frame carrying the same `req` (a result or an `error`).
//! Events the engine pushes come as `{"type": "event", "event": …}` frames without `req`.
//! The version is negotiated as the WebSocket subprotocol [`SUBPROTOCOL`]; a client may also
//! say `{"type": "hello", "version": 1}`. `docs/protocol.md` documents every frame, and the
//! golden files in `tests/golden/` keep the format stable.

use chrono::{DateTime, NaiveDate, Utc};
use clbchat_core::account::{AccountView, StaffIdentity};
use clbchat_core::appointment::{AppointmentView, Booking, LinkInfo};
use clbchat_core::calendar::Calendar;
use clbchat_core::engine::appointments::{SessionTranscript, Which};
use clbchat_core::engine::events::EventRequest;
use clbchat_core::engine::DeskAvailability;
use clbchat_core::event::{
    Ack, ClientProfile, DeskBoard, LoggedEvent, ServerEvent, TransferTarget,
};
use clbchat_core::flags::Flag;
use clbchat_core::ids::{
    AppointmentId, CentreId, ClientMsgId, ConversationId, DeskId, FlagId, StaffId, TrajectoryId,
};
use clbchat_core::registration::RegistrationForm;
use clbchat_core::review::{
    Feedback, IntervisionExport, OwnChat, ReadAudit, ReadPurpose, ScanPick,
};
use clbchat_core::statistics::{ReportData, ThemeRequest};

use crate::reports::RenderedReport;
use serde::{Deserialize, Serialize};

/// The WebSocket subprotocol this crate speaks.
pub const SUBPROTOCOL: &str = "clbchat.v1";
/// The protocol version in `hello`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Close code: the client speaks another protocol version.
pub const CLOSE_VERSION: u16 = 4002;
/// Close code: the connection was too slow to keep up and was dropped; resume.
pub const CLOSE_SLOW: u16 = 4008;
/// Close code: the same participant connected again elsewhere; this one is replaced (do
/// not resume automatically: the other window has the chat). A server restart closes with
/// the standard 1012.
pub const CLOSE_REPLACED: u16 = 4009;
/// Close code: nothing was heard from the peer for too long.
pub const CLOSE_IDLE: u16 = 4010;
/// Close code: the first frame (arrive, resume, login) did not come in time.
pub const CLOSE_NO_START: u16 = 4011;

/// A frame from a client, with its optional request number (`req`, beside `type`).
#[derive(Debug, Clone, PartialEq)]
pub struct ClientEnvelope {
    /// Echoed in the answer.
    pub req: Option<u64>,
    /// The frame.
    pub frame: ClientFrame,
}

impl ClientEnvelope {
    /// Encodes as JSON text: the frame's fields with `req` beside them.
    pub fn encode(&self) -> String {
        let mut value = serde_json::to_value(&self.frame).unwrap_or(serde_json::Value::Null);
        if let (Some(req), Some(map)) = (self.req, value.as_object_mut()) {
            map.insert("req".into(), req.into());
        }
        value.to_string()
    }
}

/// What a client can say. Visitors: `hello`, `arrive`, `resume`, `availability`, `send`,
/// `typing`, `leave`, `partner_consent`, `rate`. Staff: `login`, then the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// States the protocol version (optional when the subprotocol was negotiated).
    Hello {
        /// Must be [`PROTOCOL_VERSION`].
        version: u32,
    },
    /// Is a desk open, and how long is the wait? Needs no session.
    Availability {
        /// The desk.
        desk: DeskId,
    },
    /// A visitor arrives at a desk.
    Arrive {
        /// The desk.
        desk: DeskId,
        /// The token the browser keeps (anonymous desks).
        #[serde(default)]
        visitor_token: Option<String>,
        /// Self-report (left out or `null`: nothing said).
        #[serde(default, deserialize_with = "clbchat_core::event::null_as_default")]
        profile: ClientProfile,
        /// An appointment's join token (blended chat).
        #[serde(default)]
        appointment: Option<String>,
    },
    /// A visitor comes back after a dropped connection.
    Resume {
        /// The conversation.
        conversation: ConversationId,
        /// The resume token from `welcome`.
        resume_token: String,
        /// The last sequence number it saw.
        last_seq: u64,
    },
    /// A staff member logs in.
    Login {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// A chat message (visitors: in their conversation; staff: name the conversation).
    Send {
        /// The sender's id for it, so a retry is stored once.
        id: ClientMsgId,
        /// Staff only: which chat.
        #[serde(default)]
        conversation: Option<ConversationId>,
        /// The text.
        text: String,
    },
    /// Typing (not logged).
    Typing {
        /// Staff only: which chat.
        #[serde(default)]
        conversation: Option<ConversationId>,
    },
    /// The visitor leaves the queue or the chat.
    Leave {},
    /// The visitor answers a proposal to continue with a partner line.
    PartnerConsent {
        /// Yes or no.
        consent: bool,
    },
    /// The visitor rates the ended chat: on its own connection, or on a new one naming the
    /// conversation and its resume token (the connection may have dropped after the end).
    Rate {
        /// 1 to 5.
        stars: u8,
        /// Optional comment.
        #[serde(default)]
        comment: Option<String>,
        /// From a new connection: the conversation…
        #[serde(default)]
        conversation: Option<ConversationId>,
        /// …and its resume token.
        #[serde(default)]
        resume_token: Option<String>,
    },
    /// Staff: go online at a desk.
    Online {
        /// The desk.
        desk: DeskId,
        /// End of the shift.
        #[serde(default)]
        shift_ends_at: Option<DateTime<Utc>>,
    },
    /// Staff: available or paused.
    Available {
        /// The desk.
        desk: DeskId,
        /// Available?
        available: bool,
    },
    /// Staff: leave a desk.
    Offline {
        /// The desk.
        desk: DeskId,
    },
    /// Staff: end a chat.
    End {
        /// The chat.
        conversation: ConversationId,
    },
    /// Staff: extend the time limit once.
    Extend {
        /// The chat.
        conversation: ConversationId,
        /// Why (staff only).
        reason: String,
    },
    /// Staff: offer a chat to a colleague, a discipline or a coordinator.
    Transfer {
        /// The chat.
        conversation: ConversationId,
        /// To whom.
        target: TransferTarget,
        /// Handover note (staff only).
        note: String,
    },
    /// Staff: accept or decline an offered chat.
    AnswerTransfer {
        /// The chat.
        conversation: ConversationId,
        /// Accept?
        accept: bool,
    },
    /// Staff: propose a partner organisation's line to the client.
    OfferPartner {
        /// The chat.
        conversation: ConversationId,
        /// Partner line id.
        partner: String,
        /// What would be passed on (the client sees it).
        summary: String,
    },
    /// Staff: a whisper (never shown to the client).
    Whisper {
        /// The chat.
        conversation: ConversationId,
        /// The text.
        text: String,
    },
    /// Staff: register a finished chat.
    Register {
        /// The chat.
        conversation: ConversationId,
        /// The form.
        form: RegistrationForm,
    },
    /// Coordinator: releases a registration another staff member owes (they left without
    /// it); the chat stays unregistered.
    ReleaseRegistration {
        /// The chat.
        conversation: ConversationId,
    },
    /// Staff: the log of an own chat, after reconnecting.
    Rejoin {
        /// The chat.
        conversation: ConversationId,
    },
    /// Coordinator: the desk board.
    Board {
        /// The desk.
        desk: DeskId,
    },
    /// Coordinator: observe a chat.
    Observe {
        /// The chat.
        conversation: ConversationId,
    },
    /// Coordinator: take a chat over.
    TakeOver {
        /// The chat.
        conversation: ConversationId,
    },
    /// Coordinator: flags to review.
    Flags {
        /// The desk.
        desk: DeskId,
    },
    /// Coordinator: confirm or dismiss a flag.
    ReviewFlag {
        /// The flag.
        flag: FlagId,
        /// Confirm (true) or dismiss (false).
        confirm: bool,
    },
    /// Staff: read a transcript (audited with its purpose), if the rule of
    /// `clbchat_core::review` lets them.
    Transcript {
        /// The chat.
        conversation: ConversationId,
        /// Why: `chat_scan`, `flag_review`, `feedback`, `intervision`….
        purpose: ReadPurpose,
        /// A word more for the audit (e.g. which flag).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Coordinator: draw a chat scan: `count` ended chats at random from the desk's (one
    /// counsellor's, or everyone's) that arrived in `[from, to)` and whose text is still
    /// kept. Each is then read with `transcript` for `chat_scan`.
    DrawScan {
        /// The desk.
        desk: DeskId,
        /// Only this counsellor's chats.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        counsellor: Option<StaffId>,
        /// Arrived at or after.
        from: DateTime<Utc>,
        /// Arrived before.
        to: DateTime<Utc>,
        /// How many (1 to 20).
        count: u32,
    },
    /// Coordinator (or the sector's administrator): the read audit of a desk: who read
    /// which of its chats, when and why, newest first; by reader and purpose if asked.
    ReadAudit {
        /// The desk.
        desk: DeskId,
        /// Read at or after.
        from: DateTime<Utc>,
        /// Read before.
        to: DateTime<Utc>,
        /// Only this reader's reads.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reader: Option<StaffId>,
        /// Only reads for this purpose.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        purpose: Option<ReadPurpose>,
    },
    /// Coordinator: a chat exported for an intervision session, masked (audited as
    /// `intervision`).
    IntervisionExport {
        /// The chat.
        conversation: ConversationId,
    },
    /// Counsellor: their own ended chats whose text is still kept, with the feedback on each.
    MyChats {},
    /// Counsellor: ask for feedback on a chat they held, with what they would like to hear
    /// about (optional; asking again replaces it).
    AskFeedback {
        /// The chat.
        conversation: ConversationId,
        /// What they would like feedback on (at most 1,000 characters).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        question: Option<String>,
    },
    /// Coordinator: write feedback on a chat of their desk for the counsellor who held it
    /// (writing again replaces it).
    WriteFeedback {
        /// The chat.
        conversation: ConversationId,
        /// The feedback (at most 4,000 characters).
        text: String,
    },
    /// Coordinator: the feedback at a desk: questions asked, feedback written.
    Feedback {
        /// The desk.
        desk: DeskId,
    },
    /// The counsellor of an ended chat or a coordinator of its desk: erase everything tied
    /// to its visitor, on the visitor's request (anonymous desks).
    EraseOnRequest {
        /// The chat the visitor asked from.
        conversation: ConversationId,
    },
    /// Coordinator: the fewest counsellors per hour of the week that meet `target` (e.g.
    /// `p90-wait=2m,abandon=5%`; the server's default without it), simulated from the
    /// desk's own history, as a plan for the page and a schedule to download.
    PlanStaffing {
        /// The desk.
        desk: DeskId,
        /// The target.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
        /// The plan's language (`nl`, `en`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lang: Option<String>,
    },
    /// Coordinator: replace a desk's calendar.
    SetCalendar {
        /// The desk.
        desk: DeskId,
        /// The calendar.
        calendar: Calendar,
    },
    /// Coordinator: a desk's calendar as it is in force.
    Calendar {
        /// The desk.
        desk: DeskId,
    },
    /// Coordinator: open a desk for an event, now or later (a title, a welcome, an end).
    OpenEvent {
        /// The desk.
        desk: DeskId,
        /// The event.
        event: EventRequest,
    },
    /// Coordinator: close the event open now, at once.
    CloseEvent {
        /// The desk.
        desk: DeskId,
    },
    /// Coordinator: call off a planned event that has not begun.
    CancelEvent {
        /// The desk.
        desk: DeskId,
        /// Its start, in the calendar's local time as the calendar writes it
        /// (`"2022-03-10T19:00"`).
        #[serde(with = "clbchat_core::calendar::serde_datetime")]
        start: chrono::NaiveDateTime,
    },
    /// Coordinator: the accounts of their desks (never password hashes).
    Accounts {},
    /// Coordinator: the annual report's figures for a desk and a period (local dates), and
    /// optionally the report written in a `format` (`html_fragment`, `html`, `markdown`,
    /// `csv`) in `lang` (`nl`, `en`). The sector's administrator may leave out `desk`: the
    /// report of every desk of the server.
    Report {
        /// The desk; none: every desk (administrator only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        desk: Option<DeskId>,
        /// First day.
        from: NaiveDate,
        /// Last day, included.
        to: NaiveDate,
        /// A theme to count.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        theme: Option<ThemeRequest>,
        /// The report written out in this format, besides the figures.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        format: Option<String>,
        /// Its language.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lang: Option<String>,
    },
    /// Blended chat, no session needed: what the client's link shows before they join.
    AppointmentLink {
        /// The blended-chat desk.
        desk: DeskId,
        /// The join token from the link's fragment.
        token: String,
    },
    /// Staff (blended chat): plan a session for themself.
    PlanAppointment {
        /// The blended-chat desk.
        desk: DeskId,
        /// What, when, with whom.
        booking: Booking,
    },
    /// Staff: move their session (new time, length, name, note or stand-in); the link stays.
    RescheduleAppointment {
        /// The session.
        appointment: AppointmentId,
        /// Its new details.
        booking: Booking,
    },
    /// Staff: call their session off; its link then says so.
    CancelAppointment {
        /// The session.
        appointment: AppointmentId,
    },
    /// Staff: a new link for their session; the old one stops working.
    NewAppointmentLink {
        /// The session.
        appointment: AppointmentId,
    },
    /// Staff: their coming or past sessions (as counsellor or stand-in).
    Appointments {
        /// `coming` or `past`.
        which: Which,
    },
    /// Staff: all sessions with one client, with their transcripts (each read audited).
    Trajectory {
        /// The trajectory.
        trajectory: TrajectoryId,
    },
    /// Coordinator: create an account or change one.
    SaveAccount {
        /// Login name (the key).
        username: String,
        /// `true` for a new account (refused if the name exists); `false` to change one.
        #[serde(default, deserialize_with = "clbchat_core::event::null_as_default")]
        create: bool,
        /// A new password; omit to keep the current one (required for a new account).
        #[serde(default)]
        password: Option<String>,
        /// Whether the account may log in.
        active: bool,
        /// Who the account is.
        identity: StaffIdentity,
    },
    /// The sector's administrator: add a centre or change one's name and websites (on a
    /// server that hosts the centres' chatboxes).
    SaveCentre {
        /// Its id: the address of its box (`/c/<id>`).
        id: CentreId,
        /// `true` for a new centre (refused if the id exists); `false` to change one.
        #[serde(default, deserialize_with = "clbchat_core::event::null_as_default")]
        create: bool,
        /// Its name, as visitors read it.
        name: String,
        /// The websites that may put its box on their pages (origins, no path).
        #[serde(default)]
        origins: Vec<String>,
    },
}

impl ClientFrame {
    /// Every `type` a client may send.
    pub const KINDS: &'static [&'static str] = &[
        "hello",
        "availability",
        "arrive",
        "resume",
        "login",
        "send",
        "typing",
        "leave",
        "partner_consent",
        "rate",
        "online",
        "available",
        "offline",
        "end",
        "extend",
        "transfer",
        "answer_transfer",
        "offer_partner",
        "whisper",
        "register",
        "release_registration",
        "rejoin",
        "board",
        "observe",
        "take_over",
        "flags",
        "review_flag",
        "transcript",
        "draw_scan",
        "my_chats",
        "ask_feedback",
        "write_feedback",
        "feedback",
        "erase_on_request",
        "plan_staffing",
        "read_audit",
        "intervision_export",
        "set_calendar",
        "calendar",
        "open_event",
        "close_event",
        "cancel_event",
        "accounts",
        "save_account",
        "save_centre",
        "report",
        "appointment_link",
        "plan_appointment",
        "reschedule_appointment",
        "cancel_appointment",
        "new_appointment_link",
        "appointments",
        "trajectory",
    ];

    /// The frame's `type`, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientFrame::Hello { .. } => "hello",
            ClientFrame::Availability { .. } => "availability",
            ClientFrame::Arrive { .. } => "arrive",
            ClientFrame::Resume { .. } => "resume",
            ClientFrame::Login { .. } => "login",
            ClientFrame::Send { .. } => "send",
            ClientFrame::Typing { .. } => "typing",
            ClientFrame::Leave {} => "leave",
            ClientFrame::PartnerConsent { .. } => "partner_consent",
            ClientFrame::Rate { .. } => "rate",
            ClientFrame::Online { .. } => "online",
            ClientFrame::Available { .. } => "available",
            ClientFrame::Offline { .. } => "offline",
            ClientFrame::End { .. } => "end",
            ClientFrame::Extend { .. } => "extend",
            ClientFrame::Transfer { .. } => "transfer",
            ClientFrame::AnswerTransfer { .. } => "answer_transfer",
            ClientFrame::OfferPartner { .. } => "offer_partner",
            ClientFrame::Whisper { .. } => "whisper",
            ClientFrame::Register { .. } => "register",
            ClientFrame::ReleaseRegistration { .. } => "release_registration",
            ClientFrame::Rejoin { .. } => "rejoin",
            ClientFrame::Board { .. } => "board",
            ClientFrame::Observe { .. } => "observe",
            ClientFrame::TakeOver { .. } => "take_over",
            ClientFrame::Flags { .. } => "flags",
            ClientFrame::ReviewFlag { .. } => "review_flag",
            ClientFrame::Transcript { .. } => "transcript",
            ClientFrame::DrawScan { .. } => "draw_scan",
            ClientFrame::ReadAudit { .. } => "read_audit",
            ClientFrame::IntervisionExport { .. } => "intervision_export",
            ClientFrame::MyChats {} => "my_chats",
            ClientFrame::AskFeedback { .. } => "ask_feedback",
            ClientFrame::WriteFeedback { .. } => "write_feedback",
            ClientFrame::Feedback { .. } => "feedback",
            ClientFrame::EraseOnRequest { .. } => "erase_on_request",
            ClientFrame::PlanStaffing { .. } => "plan_staffing",
            ClientFrame::SetCalendar { .. } => "set_calendar",
            ClientFrame::Calendar { .. } => "calendar",
            ClientFrame::OpenEvent { .. } => "open_event",
            ClientFrame::CloseEvent { .. } => "close_event",
            ClientFrame::CancelEvent { .. } => "cancel_event",
            ClientFrame::Accounts {} => "accounts",
            ClientFrame::SaveAccount { .. } => "save_account",
            ClientFrame::SaveCentre { .. } => "save_centre",
            ClientFrame::Report { .. } => "report",
            ClientFrame::AppointmentLink { .. } => "appointment_link",
            ClientFrame::PlanAppointment { .. } => "plan_appointment",
            ClientFrame::RescheduleAppointment { .. } => "reschedule_appointment",
            ClientFrame::CancelAppointment { .. } => "cancel_appointment",
            ClientFrame::NewAppointmentLink { .. } => "new_appointment_link",
            ClientFrame::Appointments { .. } => "appointments",
            ClientFrame::Trajectory { .. } => "trajectory",
        }
    }
}

/// What the server says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// A visitor is in: keep `resume_token` (and `visitor_token` if given) to come back.
    Welcome {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// The conversation.
        conversation: ConversationId,
        /// The secret to resume with.
        resume_token: String,
        /// A new visitor token for the browser to keep, on a first visit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        visitor_token: Option<String>,
    },
    /// A visitor is back; the missed events follow as `event` frames.
    Resumed {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// The conversation.
        conversation: ConversationId,
    },
    /// A staff member is in.
    LoggedIn {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// Who.
        identity: StaffIdentity,
    },
    /// A message is stored under this number.
    Ack {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// The sender's id for it.
        id: ClientMsgId,
        /// The conversation.
        conversation: ConversationId,
        /// Its number in the log.
        seq: u64,
        /// When it was stored.
        at: DateTime<Utc>,
    },
    /// Done, nothing to return.
    Ok {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
    },
    /// A desk's availability.
    Availability {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// What a visitor can expect.
        availability: DeskAvailability,
    },
    /// A transfer was offered to this staff member.
    TransferOffered {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// Who was asked.
        to: StaffId,
    },
    /// Log entries (observe, rejoin, transcript).
    Log {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// The entries, in order.
        events: Vec<LoggedEvent>,
    },
    /// The desk board.
    Board {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// The board.
        board: DeskBoard,
    },
    /// Flags.
    Flags {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// The flags.
        flags: Vec<Flag>,
    },
    /// A desk's calendar.
    Calendar {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// The calendar.
        calendar: Calendar,
    },
    /// Accounts.
    Accounts {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// The accounts, by user name.
        accounts: Vec<AccountView>,
    },
    /// The chats a scan drew, in the order they started (fewer than asked when the period
    /// holds fewer).
    Scan {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// The chats.
        picks: Vec<ScanPick>,
    },
    /// The read audit asked for: at most 500 reads, newest first; `truncated` when the
    /// period held more.
    ReadAudit {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// The reads and whether there were more.
        #[serde(flatten)]
        audit: ReadAudit,
    },
    /// A chat exported for intervision: its messages masked, and what the masking cannot
    /// promise.
    IntervisionExport {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// The export.
        #[serde(flatten)]
        export: IntervisionExport,
    },
    /// A counsellor's own chats whose text is kept, newest first, each with its feedback.
    MyChats {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// The chats.
        chats: Vec<OwnChat>,
    },
    /// Feedback: the one asked or written, or a desk's, the newest change first.
    Feedback {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// The feedback.
        feedback: Vec<Feedback>,
    },
    /// A staffing plan: the page's view of it and the schedule to download.
    StaffingPlan {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// The plan.
        #[serde(flatten)]
        plan: Box<crate::planning::StaffingPlan>,
    },
    /// A report: its figures, and the document when a format was asked.
    Report {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// The figures.
        data: Box<ReportData>,
        /// The report written out.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        document: Option<RenderedReport>,
    },
    /// One blended-chat session: planned, moved, cancelled or relinked. `token` (only when
    /// planned or relinked) is the join token for the client's link, shown this once.
    Appointment {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// The session.
        appointment: Box<AppointmentView>,
        /// The join token.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// A staff member's sessions.
    Appointments {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// The sessions: coming ones soonest first, past ones latest first.
        appointments: Vec<AppointmentView>,
    },
    /// A trajectory's sessions with their transcripts.
    Trajectory {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// Oldest first.
        sessions: Vec<SessionTranscript>,
    },
    /// What a client's link shows.
    AppointmentLink {
        /// The request answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// Where it stands, when, and with whom.
        link: LinkInfo,
    },
    /// Something the engine pushes.
    Event {
        /// The event.
        event: ServerEvent,
    },
    /// A refusal or a problem; the connection stays open unless a close follows.
    Error {
        /// The request answered, if the frame had one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// A stable code (see `docs/protocol.md`).
        code: String,
        /// For people.
        message: String,
    },
}

impl ServerFrame {
    /// The `req` this frame answers.
    pub fn req(&self) -> Option<u64> {
        match self {
            ServerFrame::Welcome { req, .. }
            | ServerFrame::Resumed { req, .. }
            | ServerFrame::LoggedIn { req, .. }
            | ServerFrame::Ack { req, .. }
            | ServerFrame::Ok { req }
            | ServerFrame::Availability { req, .. }
            | ServerFrame::TransferOffered { req, .. }
            | ServerFrame::Log { req, .. }
            | ServerFrame::Board { req, .. }
            | ServerFrame::Flags { req, .. }
            | ServerFrame::Calendar { req, .. }
            | ServerFrame::Accounts { req, .. }
            | ServerFrame::Report { req, .. }
            | ServerFrame::Scan { req, .. }
            | ServerFrame::ReadAudit { req, .. }
            | ServerFrame::IntervisionExport { req, .. }
            | ServerFrame::MyChats { req, .. }
            | ServerFrame::Feedback { req, .. }
            | ServerFrame::StaffingPlan { req, .. }
            | ServerFrame::Appointment { req, .. }
            | ServerFrame::Appointments { req, .. }
            | ServerFrame::AppointmentLink { req, .. }
            | ServerFrame::Trajectory { req, .. }
            | ServerFrame::Error { req, .. } => *req,
            ServerFrame::Event { .. } => None,
        }
    }

    /// The acknowledgement frame for a stored message.
    pub fn ack(req: Option<u64>, id: ClientMsgId, ack: Ack) -> Self {
        ServerFrame::Ack {
            req,
            id,
            conversation: ack.conversation,
            seq: ack.seq,
            at: ack.at,
        }
    }

    /// An error frame.
    pub fn error(req: Option<u64>, code: &str, message: impl Into<String>) -> Self {
        ServerFrame::Error {
            req,
            code: code.into(),
            message: message.into(),
        }
    }

    /// Encodes as JSON text.
    pub fn encode(&self) -> String {
        // Serialising these types cannot fail: no maps with non-string keys, no custom
        // serialisers that refuse.
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"type":"error","code":"internal","message":"cannot encode: {e}"}}"#)
        })
    }
}

/// Why a frame could not be decoded; each becomes an `error` frame and the connection stays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// `malformed` (not JSON / wrong shape) or `unknown_frame` (an unknown `type`).
    pub code: &'static str,
    /// What is wrong, for people.
    pub message: String,
    /// The `req` number, when it could be read.
    pub req: Option<u64>,
}

/// Decodes a client frame from JSON text.
pub fn decode(text: &str) -> Result<ClientEnvelope, DecodeError> {
    let mut value: serde_json::Value = serde_json::from_str(text).map_err(|e| DecodeError {
        code: "malformed",
        message: format!("not valid JSON: {e}"),
        req: None,
    })?;
    let req = match value.get("req") {
        None | Some(serde_json::Value::Null) => None,
        Some(r) => Some(r.as_u64().ok_or_else(|| DecodeError {
            code: "malformed",
            message: format!("`req` must be a whole number from 0 to 2^64-1 (got {r})"),
            req: None,
        })?),
    };
    let Some(kind) = value.get("type").and_then(serde_json::Value::as_str) else {
        return Err(DecodeError {
            code: "malformed",
            message: "a frame is a JSON object with a string `type`".into(),
            req,
        });
    };
    let kind = kind.to_owned();
    if let Some(map) = value.as_object_mut() {
        map.remove("req");
    }
    if !ClientFrame::KINDS.contains(&kind.as_str()) {
        return Err(DecodeError {
            code: "unknown_frame",
            message: format!("unknown frame type `{kind}`"),
            req,
        });
    }
    let frame = serde_json::from_value::<ClientFrame>(value).map_err(|e| {
        // A known frame with a value outside a field's choices (`profile.gender: "Q"`) is
        // a refused value, `invalid`; any other shape problem is `malformed`.
        let text = e.to_string();
        DecodeError {
            code: if text.contains("unknown variant") {
                "invalid"
            } else {
                "malformed"
            },
            message: format!("`{kind}` frame: {text}"),
            req,
        }
    })?;
    Ok(ClientEnvelope { req, frame })
}
