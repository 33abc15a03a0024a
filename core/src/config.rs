//! Engine and desk settings. Every default is a `const` here, and the docs refer to these
//! constants instead of repeating numbers.
//!
//! The three services are three kinds of [`DeskConfig`]:
//! - [`DeskConfig::national`]: CLBch@t, anonymous, a queue, weekly hours, 45-minute chats,
//!   3-6 counsellors with one medical wanted.
//! - [`DeskConfig::chatbox`]: one centre's Chat-met-je-CLB box, anonymous, open only in
//!   event windows, answered only by that centre's team (staff whose `desks` list it).
//! - [`DeskConfig::blended`]: appointments between a named counsellor and a known client,
//!   not anonymous; a client joins with the appointment's link and waits for that counsellor
//!   only.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::ids::DeskId;

/// The time limit of one chat: 45 minutes, so other students get their turn.
pub const DEFAULT_CHAT_LIMIT: Duration = Duration::from_secs(45 * 60);
/// Warnings before the end, as time left: 10 and 5 minutes, i.e. at 35 and 40 minutes of a
/// 45-minute chat. After an extension they are given again before the new end.
pub const DEFAULT_WARNINGS_BEFORE_END: [Duration; 2] =
    [Duration::from_secs(10 * 60), Duration::from_secs(5 * 60)];
/// What one extension adds.
pub const DEFAULT_EXTENSION: Duration = Duration::from_secs(15 * 60);
/// At the limit, a client who typed this recently is not cut off mid-sentence…
pub const DEFAULT_TYPING_RECENT: Duration = Duration::from_secs(10);
/// …but gets this much more time, once.
pub const DEFAULT_TYPING_GRACE: Duration = Duration::from_secs(60);
/// Nobody said or typed anything for this long: the client is asked whether they are still there.
pub const DEFAULT_IDLE_PROMPT_AFTER: Duration = Duration::from_secs(5 * 60);
/// After the prompt, the client has this long to answer before the chat ends as abandoned.
pub const DEFAULT_IDLE_END_AFTER_PROMPT: Duration = Duration::from_secs(3 * 60);
/// A client who has not said or typed anything since the counsellor joined (away from the
/// screen when their turn came, after a long wait) is not closed as abandoned before this
/// long after the join, whatever the idle prompt says.
pub const DEFAULT_FIRST_REPLY_WAIT: Duration = Duration::from_secs(15 * 60);
/// A dropped client has this long to come back with its resume token.
pub const DEFAULT_RECONNECT_GRACE: Duration = Duration::from_secs(2 * 60);
/// A counsellor whose page lost its connection has this long to come back (a new login)
/// before they are taken offline and their running chats go back to the head of the queue.
/// Shown as disconnected on the board at once.
pub const DEFAULT_STAFF_RECONNECT_GRACE: Duration = Duration::from_secs(3 * 60);
/// A counsellor whose shift ends within this margin gets no new chat (the 30-minute overlap).
pub const DEFAULT_SHIFT_END_MARGIN: Duration = Duration::from_secs(30 * 60);
/// A client is admitted only if the expected wait ends at least this long before closing.
pub const DEFAULT_CLOSING_MARGIN: Duration = Duration::from_secs(10 * 60);
/// Most clients waiting at once.
pub const DEFAULT_MAX_QUEUE: usize = 100;
/// Fewest counsellors the national desk wants online.
pub const DEFAULT_MIN_COUNSELLORS: u32 = 3;
/// Chats in [`DEFAULT_FREQUENT_WINDOW_DAYS`] from which a visitor is a frequent chatter.
pub const DEFAULT_FREQUENT_THRESHOLD: u32 = 5;
/// The look-back window for "returning" and "frequent chatter".
pub const DEFAULT_FREQUENT_WINDOW_DAYS: u32 = 30;
/// How long a flag counts.
pub const DEFAULT_FLAG_TTL_DAYS: u32 = 90;
/// A visitor with an open or confirmed fake-call flag queues as if they arrived this much later.
pub const DEFAULT_PRANK_DELAY: Duration = Duration::from_secs(10 * 60);
/// Wait estimates start from this mean chat duration (18.5 min, the 2021-22 mean) until the
/// desk has seen [`ESTIMATE_SAMPLES`] chats of its own.
pub const DEFAULT_MEAN_CHAT: Duration = Duration::from_secs(18 * 60 + 30);
/// Recent chats the wait estimate averages over.
pub const ESTIMATE_SAMPLES: usize = 20;
/// Longest chat message, in characters.
pub const DEFAULT_MAX_MESSAGE_CHARS: usize = 4_000;
/// Longest nickname, in characters.
pub const MAX_NICKNAME_CHARS: usize = 40;
/// Capacity of each participant's outgoing event queue; a consumer that falls this far
/// behind is disconnected and resumes from its last sequence number.
pub const DEFAULT_OUTBOX_CAPACITY: usize = 256;

/// Whether clients are anonymous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anonymity {
    /// No names; visitors are known only by a pseudonym; flags follow the pseudonym.
    Anonymous,
    /// A known client (blended chat); no pseudonyms or flags.
    Identified,
}

/// How clients get to a counsellor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Admission {
    /// A first-come queue, routed to any free counsellor of the team.
    Queue,
    /// Planned appointments: each client waits for their own counsellor.
    Appointment,
}

/// Time limits of a desk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// See [`DEFAULT_CHAT_LIMIT`].
    pub chat_limit: Duration,
    /// See [`DEFAULT_WARNINGS_BEFORE_END`].
    pub warnings_before_end: Vec<Duration>,
    /// See [`DEFAULT_EXTENSION`].
    pub extension: Duration,
    /// See [`DEFAULT_TYPING_RECENT`].
    pub typing_recent: Duration,
    /// See [`DEFAULT_TYPING_GRACE`].
    pub typing_grace: Duration,
    /// See [`DEFAULT_IDLE_PROMPT_AFTER`].
    pub idle_prompt_after: Duration,
    /// See [`DEFAULT_IDLE_END_AFTER_PROMPT`].
    pub idle_end_after_prompt: Duration,
    /// See [`DEFAULT_FIRST_REPLY_WAIT`].
    pub first_reply_wait: Duration,
    /// See [`DEFAULT_RECONNECT_GRACE`].
    pub reconnect_grace: Duration,
    /// See [`DEFAULT_STAFF_RECONNECT_GRACE`].
    pub staff_reconnect_grace: Duration,
    /// See [`DEFAULT_SHIFT_END_MARGIN`].
    pub shift_end_margin: Duration,
    /// See [`DEFAULT_CLOSING_MARGIN`].
    pub closing_margin: Duration,
    /// See [`DEFAULT_MAX_QUEUE`].
    pub max_queue: usize,
    /// See [`DEFAULT_MAX_MESSAGE_CHARS`].
    pub max_message_chars: usize,
}

impl Default for Limits {
    /// Every field at its `DEFAULT_*` constant.
    fn default() -> Self {
        Self {
            chat_limit: DEFAULT_CHAT_LIMIT,
            warnings_before_end: DEFAULT_WARNINGS_BEFORE_END.to_vec(),
            extension: DEFAULT_EXTENSION,
            typing_recent: DEFAULT_TYPING_RECENT,
            typing_grace: DEFAULT_TYPING_GRACE,
            idle_prompt_after: DEFAULT_IDLE_PROMPT_AFTER,
            idle_end_after_prompt: DEFAULT_IDLE_END_AFTER_PROMPT,
            first_reply_wait: DEFAULT_FIRST_REPLY_WAIT,
            reconnect_grace: DEFAULT_RECONNECT_GRACE,
            staff_reconnect_grace: DEFAULT_STAFF_RECONNECT_GRACE,
            shift_end_margin: DEFAULT_SHIFT_END_MARGIN,
            closing_margin: DEFAULT_CLOSING_MARGIN,
            max_queue: DEFAULT_MAX_QUEUE,
            max_message_chars: DEFAULT_MAX_MESSAGE_CHARS,
        }
    }
}

/// Returning visitors and flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagPolicy {
    /// See [`DEFAULT_FREQUENT_THRESHOLD`].
    pub frequent_threshold: u32,
    /// See [`DEFAULT_FREQUENT_WINDOW_DAYS`].
    pub window_days: u32,
    /// See [`DEFAULT_FLAG_TTL_DAYS`].
    pub flag_ttl_days: u32,
    /// See [`DEFAULT_PRANK_DELAY`].
    pub prank_delay: Duration,
}

impl Default for FlagPolicy {
    /// Every field at its `DEFAULT_*` constant.
    fn default() -> Self {
        Self {
            frequent_threshold: DEFAULT_FREQUENT_THRESHOLD,
            window_days: DEFAULT_FREQUENT_WINDOW_DAYS,
            flag_ttl_days: DEFAULT_FLAG_TTL_DAYS,
            prank_delay: DEFAULT_PRANK_DELAY,
        }
    }
}

/// One desk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeskConfig {
    /// Id.
    pub id: DeskId,
    /// Public name.
    pub name: String,
    /// Anonymous or identified clients.
    pub anonymity: Anonymity,
    /// Queue or appointments.
    pub admission: Admission,
    /// When it is open. A calendar saved in the store for this desk replaces it at start.
    pub calendar: Calendar,
    /// Time limits.
    pub limits: Limits,
    /// Flags and returning visitors.
    pub flags: FlagPolicy,
    /// Fewest counsellors wanted online (coverage warning below it).
    pub min_counsellors: u32,
    /// Whether a medical counsellor is wanted online at all times (coverage warning).
    pub want_medical: bool,
    /// A counsellor must register a chat before the next one is offered.
    pub require_registration: bool,
}

impl DeskConfig {
    /// The national anonymous desk (CLBch@t) with the given calendar.
    pub fn national(id: impl Into<String>, calendar: Calendar) -> Self {
        Self {
            id: DeskId::new(id),
            name: "CLBch@t".into(),
            anonymity: Anonymity::Anonymous,
            admission: Admission::Queue,
            calendar,
            limits: Limits::default(),
            flags: FlagPolicy::default(),
            min_counsellors: DEFAULT_MIN_COUNSELLORS,
            want_medical: true,
            require_registration: true,
        }
    }

    /// A centre's chatbox (Chat-met-je-CLB): anonymous, opened in event windows only.
    pub fn chatbox(id: impl Into<String>, name: impl Into<String>, calendar: Calendar) -> Self {
        Self {
            id: DeskId::new(id),
            name: name.into(),
            anonymity: Anonymity::Anonymous,
            admission: Admission::Queue,
            calendar,
            limits: Limits::default(),
            flags: FlagPolicy::default(),
            min_counsellors: 1,
            want_medical: false,
            require_registration: true,
        }
    }

    /// A blended-chat appointment desk: identified clients, appointments only.
    pub fn blended(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: DeskId::new(id),
            name: name.into(),
            anonymity: Anonymity::Identified,
            admission: Admission::Appointment,
            calendar: Calendar::always_open(),
            limits: Limits {
                chat_limit: Duration::from_secs(60 * 60),
                ..Limits::default()
            },
            flags: FlagPolicy::default(),
            min_counsellors: 0,
            want_medical: false,
            require_registration: false,
        }
    }

    /// Checks the settings; the error names the setting.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |m: String| Err(crate::Error::Invalid(format!("desk `{}`: {m}", self.id)));
        if self.limits.chat_limit.is_zero() {
            return bad("`chat_limit` must be more than 0".into());
        }
        if let Some(w) = self
            .limits
            .warnings_before_end
            .iter()
            .find(|w| **w >= self.limits.chat_limit)
        {
            return bad(format!(
                "a warning {} min before the end does not fit in a {} min chat",
                w.as_secs() / 60,
                self.limits.chat_limit.as_secs() / 60
            ));
        }
        if self.limits.max_queue == 0 {
            return bad("`max_queue` must be at least 1".into());
        }
        self.calendar.validate()
    }
}
