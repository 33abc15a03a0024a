//! Blended chat: planned sessions between a counsellor and a known client.
//!
//! A counsellor plans an [`Appointment`]: the client's name as the counsellor wants to see
//! it, a note for themself, the start and the length, and optionally a colleague of the same
//! centre who may stand in. The client gets a link with a join token; the store keeps only
//! the token's keyed hash ([`crate::pseudonym::hash_secret`]), so a copy of the database
//! lets nobody in. The link opens a waiting room from [`EARLY_JOIN`] before the start until
//! the end; the counsellor (or the stand-in) gets the chat at once, with no queue.
//!
//! All appointments with one client form a trajectory ([`TrajectoryId`]), which belongs to
//! the centre of the counsellor who planned it: staff of that centre who hold one of its
//! appointments may read its earlier sessions; nobody of another centre may.
//!
//! The rules a booking must meet are here ([`check_booking`]), so every store and every
//! transport refuse the same things: a start in the past, a length of zero or over
//! [`MAX_LENGTH_MINUTES`], an empty name, a stand-in from another centre, and a counsellor
//! (or stand-in) with two appointments at once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::{AppointmentId, CentreId, ConversationId, DeskId, StaffId, TrajectoryId};

/// How long before the start the client may enter the waiting room.
pub const EARLY_JOIN: Duration = Duration::from_secs(15 * 60);
/// The longest session that can be planned (two hours).
pub const MAX_LENGTH_MINUTES: u32 = 120;
/// The longest client name and note, in characters.
pub const MAX_NAME_CHARS: usize = 120;
/// The longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 2_000;

/// Planned or cancelled. A held session is still `Planned`, with its chats in
/// [`Appointment::conversations`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    /// On the calendar.
    Planned,
    /// Called off; its link says so.
    Cancelled,
}

impl AppointmentStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::Planned => "planned",
            AppointmentStatus::Cancelled => "cancelled",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "planned" => Some(AppointmentStatus::Planned),
            "cancelled" => Some(AppointmentStatus::Cancelled),
            _ => None,
        }
    }
}

/// A planned blended-chat session, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Appointment {
    /// Its id.
    pub id: AppointmentId,
    /// The blended-chat desk.
    pub desk: DeskId,
    /// The centre the trajectory belongs to (the planning counsellor's).
    pub centre: CentreId,
    /// The trajectory: all sessions with this client.
    pub trajectory: TrajectoryId,
    /// The counsellor.
    pub counsellor: StaffId,
    /// A colleague of the same centre who may stand in.
    pub stand_in: Option<StaffId>,
    /// The client's name, as the counsellor wants to see it.
    pub client_name: String,
    /// The counsellor's own note (never shown to the client).
    pub note: Option<String>,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// Length in minutes.
    pub length_minutes: u32,
    /// Planned or cancelled.
    pub status: AppointmentStatus,
    /// The keyed hash of the join token (the token itself is only in the client's link).
    pub token_hash: String,
    /// The chats held for it, oldest first: one once the client joined, another if they
    /// came back through the link after that chat ended (a dead phone, a closed tab).
    pub conversations: Vec<ConversationId>,
    /// When it was planned.
    pub created_at: DateTime<Utc>,
}

impl Appointment {
    /// The end of the session.
    pub fn ends_at(&self) -> DateTime<Utc> {
        self.starts_at + chrono::Duration::minutes(i64::from(self.length_minutes))
    }

    /// When the waiting room opens.
    pub fn opens_at(&self) -> DateTime<Utc> {
        self.starts_at - chrono::Duration::from_std(EARLY_JOIN).unwrap_or_default()
    }

    /// Its newest chat, if the client ever joined.
    pub fn latest_chat(&self) -> Option<ConversationId> {
        self.conversations.last().copied()
    }

    /// Whether the client ever joined (the session took place, at least in part).
    pub fn was_held(&self) -> bool {
        !self.conversations.is_empty()
    }

    /// Whether `staff` may hold it (the counsellor or the stand-in).
    pub fn held_by(&self, staff: &StaffId) -> bool {
        &self.counsellor == staff || self.stand_in.as_ref() == Some(staff)
    }

    /// Whether it overlaps `[from, to)` for `staff`.
    fn overlaps(&self, staff: &StaffId, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.status == AppointmentStatus::Planned
            && self.held_by(staff)
            && self.starts_at < to
            && from < self.ends_at()
    }

    /// Where a client's link stands at `now`.
    pub fn link_state(&self, now: DateTime<Utc>) -> LinkState {
        if self.status == AppointmentStatus::Cancelled {
            LinkState::Cancelled
        } else if now < self.opens_at() {
            LinkState::TooEarly
        } else if now >= self.ends_at() {
            LinkState::Over
        } else {
            LinkState::Open
        }
    }
}

/// Where a client's link stands: what the join page says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// The waiting room is not open yet (it opens [`EARLY_JOIN`] before the start).
    TooEarly,
    /// The client may join.
    Open,
    /// The session's time is over.
    Over,
    /// The counsellor called it off.
    Cancelled,
}

/// An appointment as staff see it: everything but the token's hash, with its end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppointmentView {
    /// Its id.
    pub id: AppointmentId,
    /// The blended-chat desk.
    pub desk: DeskId,
    /// The centre the trajectory belongs to.
    pub centre: CentreId,
    /// The trajectory (all sessions with this client).
    pub trajectory: TrajectoryId,
    /// The counsellor.
    pub counsellor: StaffId,
    /// The colleague who may stand in.
    pub stand_in: Option<StaffId>,
    /// The client's name.
    pub client_name: String,
    /// The counsellor's note.
    pub note: Option<String>,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Length in minutes.
    pub length_minutes: u32,
    /// Planned or cancelled.
    pub status: AppointmentStatus,
    /// The chats held for it, oldest first (empty until the client joined).
    pub conversations: Vec<ConversationId>,
}

impl From<&Appointment> for AppointmentView {
    fn from(a: &Appointment) -> Self {
        Self {
            id: a.id,
            desk: a.desk.clone(),
            centre: a.centre.clone(),
            trajectory: a.trajectory,
            counsellor: a.counsellor.clone(),
            stand_in: a.stand_in.clone(),
            client_name: a.client_name.clone(),
            note: a.note.clone(),
            starts_at: a.starts_at,
            ends_at: a.ends_at(),
            length_minutes: a.length_minutes,
            status: a.status,
            conversations: a.conversations.clone(),
        }
    }
}

/// What a client's link shows before they join: no name, no note, only when and with whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkInfo {
    /// Where the link stands now.
    pub state: LinkState,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// When the waiting room opens.
    pub opens_at: DateTime<Utc>,
    /// The counsellor's name as clients see it (their alias); `None` if their account is
    /// gone.
    pub counsellor: Option<String>,
}

/// What a counsellor asks for when planning or moving a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Booking {
    /// The client's name, as the counsellor wants to see it.
    pub client_name: String,
    /// A note for themself.
    #[serde(default)]
    pub note: Option<String>,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// Length in minutes.
    pub length_minutes: u32,
    /// A colleague of the same centre who may stand in.
    #[serde(default)]
    pub stand_in: Option<StaffId>,
    /// Another session of an existing trajectory (the same client); `None`: a new client.
    #[serde(default)]
    pub trajectory: Option<TrajectoryId>,
}

/// Which appointments to list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AppointmentFilter {
    /// Only those this staff member holds (as counsellor or stand-in).
    pub staff: Option<StaffId>,
    /// Only those of this centre.
    pub centre: Option<CentreId>,
    /// Only those of this trajectory.
    pub trajectory: Option<TrajectoryId>,
    /// Only those that end after this instant.
    pub ending_after: Option<DateTime<Utc>>,
    /// Only those that start before this instant.
    pub starting_before: Option<DateTime<Utc>>,
    /// Also the cancelled ones.
    pub include_cancelled: bool,
}

impl AppointmentFilter {
    /// Whether `a` passes the filter (the in-memory store's and the tests' reference).
    pub fn matches(&self, a: &Appointment) -> bool {
        self.staff.as_ref().is_none_or(|s| a.held_by(s))
            && self.centre.as_ref().is_none_or(|c| &a.centre == c)
            && self.trajectory.is_none_or(|t| a.trajectory == t)
            && self.ending_after.is_none_or(|t| a.ends_at() > t)
            && self.starting_before.is_none_or(|t| a.starts_at < t)
            && (self.include_cancelled || a.status == AppointmentStatus::Planned)
    }
}

/// Checks a booking for `counsellor` against the rules in the module docs; `others` are
/// the planned appointments of the counsellor and the stand-in around that time (the one
/// being moved, `moving`, is left out). `stand_in_centre` is the stand-in's centre.
pub fn check_booking(
    booking: &Booking,
    counsellor: &StaffId,
    stand_in_centre: Option<&CentreId>,
    centre: &CentreId,
    others: &[Appointment],
    moving: Option<AppointmentId>,
    now: DateTime<Utc>,
) -> Result<()> {
    let invalid = |m: &str| Err(Error::Invalid(format!("appointment: {m}")));
    let name = booking.client_name.trim();
    if name.is_empty() {
        return invalid("the client's name is missing");
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return invalid(&format!(
            "the client's name is longer than {MAX_NAME_CHARS} characters"
        ));
    }
    if booking
        .note
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
    {
        return invalid(&format!(
            "the note is longer than {MAX_NOTE_CHARS} characters"
        ));
    }
    if booking.length_minutes == 0 {
        return invalid("the length must be at least one minute");
    }
    if booking.length_minutes > MAX_LENGTH_MINUTES {
        return invalid(&format!(
            "the length is at most {MAX_LENGTH_MINUTES} minutes"
        ));
    }
    if booking.starts_at < now {
        return invalid("the start is in the past");
    }
    if let Some(s) = &booking.stand_in {
        if s == counsellor {
            return invalid("the stand-in is the counsellor themself");
        }
        if stand_in_centre != Some(centre) {
            return invalid(&format!(
                "the stand-in `{s}` is not a colleague of centre `{centre}`"
            ));
        }
    }
    let end = booking.starts_at + chrono::Duration::minutes(i64::from(booking.length_minutes));
    let mut people = vec![counsellor];
    people.extend(booking.stand_in.as_ref());
    for who in people {
        if let Some(clash) = others
            .iter()
            .filter(|a| Some(a.id) != moving)
            .find(|a| a.overlaps(who, booking.starts_at, end))
        {
            return Err(Error::InvalidState(format!(
                "{who} already has an appointment from {} to {}",
                clash.starts_at.to_rfc3339(),
                clash.ends_at().to_rfc3339()
            )));
        }
    }
    Ok(())
}
