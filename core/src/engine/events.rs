//! Opening a desk for an event (Chat-met-je-CLB): a centre's coordinator opens its box now
//! for a while (after a critical incident), plans event windows (an info evening 19:00 to
//! 21:00, the three days of a study fair), each with a title and a welcome text the
//! visitor reads, closes early, and calls off a planned window.
//!
//! These change the desk's calendar's event windows, stored and in force at once, as
//! [`StaffHandle::set_calendar`] does; the desk's clock then does the rest: a box that
//! closes (early, or at the window's end) gives the visitors still waiting the closing
//! notice. The rules: only a coordinator of the desk; a window ends in the future, lasts
//! at most [`MAX_EVENT_DAYS`] days and overlaps no other; titles and texts have a length a
//! phone shows.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use super::session::StaffHandle;
use crate::calendar::{Calendar, EventWindow};
use crate::error::{Error, Result};
use crate::ids::DeskId;

/// The longest event window, in days (a study fair runs three).
pub const MAX_EVENT_DAYS: i64 = 14;
/// The longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 80;
/// The longest welcome text, in characters.
pub const MAX_WELCOME_CHARS: usize = 1_000;

/// What a coordinator asks for: an event window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    /// Its title ("Infoavond studiekeuze").
    pub title: String,
    /// What visitors read under the title.
    #[serde(default)]
    pub welcome: Option<String>,
    /// When it opens; none: now.
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    /// When it closes.
    pub ends_at: DateTime<Utc>,
}

/// An event window as visitors and staff read it: in UTC, with its title and welcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenEvent {
    /// Its title.
    pub title: String,
    /// Its welcome text.
    pub welcome: Option<String>,
    /// When it opens.
    pub starts_at: DateTime<Utc>,
    /// When it closes.
    pub ends_at: DateTime<Utc>,
}

impl OpenEvent {
    /// A window of `calendar` as visitors read it.
    pub fn of(calendar: &Calendar, window: &EventWindow) -> Self {
        let interval = calendar.window_interval(window);
        Self {
            title: window.name.clone(),
            welcome: window.welcome.clone(),
            starts_at: interval.start,
            ends_at: interval.end,
        }
    }
}

impl StaffHandle {
    /// Opens desk `desk` for an event: now (no `starts_at`) or later. Returns the calendar
    /// in force.
    pub async fn open_event(&self, desk: &DeskId, request: &EventRequest) -> Result<Calendar> {
        self.require_coordinator(desk)?;
        let now = self.shared.clock.now();
        let title = request.title.trim();
        if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
            return Err(Error::Invalid(format!(
                "title: give the event a title of 1 to {MAX_TITLE_CHARS} characters"
            )));
        }
        let welcome = request
            .welcome
            .as_deref()
            .map(str::trim)
            .filter(|w| !w.is_empty());
        if welcome.is_some_and(|w| w.chars().count() > MAX_WELCOME_CHARS) {
            return Err(Error::Invalid(format!(
                "welcome: at most {MAX_WELCOME_CHARS} characters"
            )));
        }
        let starts_at = request.starts_at.unwrap_or(now).max(now);
        if request.ends_at <= now {
            return Err(Error::Invalid(
                "ends_at: that moment has passed; choose an end in the future".into(),
            ));
        }
        if request.ends_at <= starts_at {
            return Err(Error::Invalid(
                "ends_at: the end must come after the start".into(),
            ));
        }
        if request.ends_at - starts_at > chrono::Duration::days(MAX_EVENT_DAYS) {
            return Err(Error::Invalid(format!(
                "ends_at: an event lasts at most {MAX_EVENT_DAYS} days; plan a second one \
                 after it"
            )));
        }
        let d = self.shared.desk(desk)?;
        let mut calendar = d.config().calendar;
        if let Some(other) = calendar.event_windows.iter().find(|w| {
            let o = calendar.window_interval(w);
            o.start < request.ends_at && starts_at < o.end
        }) {
            let o = OpenEvent::of(&calendar, other);
            return Err(Error::Invalid(format!(
                "starts_at: this overlaps `{}` ({} to {} UTC); change one of them",
                o.title,
                o.starts_at.format("%Y-%m-%d %H:%M"),
                o.ends_at.format("%Y-%m-%d %H:%M")
            )));
        }
        calendar.event_windows.push(EventWindow {
            name: title.to_owned(),
            welcome: welcome.map(str::to_owned),
            start: calendar.to_local(starts_at),
            end: calendar.to_local(request.ends_at),
        });
        calendar.event_windows.sort_by_key(|w| w.start);
        self.replace_calendar(desk, calendar.clone()).await?;
        tracing::info!(desk = %desk, "event window planned");
        Ok(calendar)
    }

    /// Closes desk `desk` now: the event window open now ends now (visitors still waiting
    /// get the closing notice). Returns the calendar in force.
    pub async fn close_event(&self, desk: &DeskId) -> Result<Calendar> {
        self.require_coordinator(desk)?;
        let now = self.shared.clock.now();
        let d = self.shared.desk(desk)?;
        let mut calendar = d.config().calendar;
        let local_now = calendar.to_local(now);
        let Some(i) = calendar
            .event_windows
            .iter()
            .position(|w| calendar.window_interval(w).contains(now))
        else {
            return Err(Error::InvalidState(
                "no event is open now; there is nothing to close".into(),
            ));
        };
        if calendar.event_windows[i].start >= local_now {
            // Opened this very minute: nothing of it remains.
            calendar.event_windows.remove(i);
        } else {
            calendar.event_windows[i].end = local_now;
        }
        self.replace_calendar(desk, calendar.clone()).await?;
        tracing::info!(desk = %desk, "event closed early");
        Ok(calendar)
    }

    /// Calls off a planned event window of desk `desk` that has not begun: the one whose
    /// `start` is `start`, in the calendar's local time as the calendar writes it. Returns
    /// the calendar in force.
    pub async fn cancel_event(&self, desk: &DeskId, start: NaiveDateTime) -> Result<Calendar> {
        self.require_coordinator(desk)?;
        let now = self.shared.clock.now();
        let d = self.shared.desk(desk)?;
        let mut calendar = d.config().calendar;
        let Some(i) = calendar.event_windows.iter().position(|w| w.start == start) else {
            return Err(Error::Invalid(
                "start: no event starts then; reload the list".into(),
            ));
        };
        if calendar.window_interval(&calendar.event_windows[i]).start <= now {
            return Err(Error::InvalidState(
                "this event has begun; close it instead".into(),
            ));
        }
        calendar.event_windows.remove(i);
        self.replace_calendar(desk, calendar.clone()).await?;
        tracing::info!(desk = %desk, "event window called off");
        Ok(calendar)
    }

    /// Stores a desk's new calendar and puts it in force.
    async fn replace_calendar(&self, desk: &DeskId, calendar: Calendar) -> Result<()> {
        calendar.validate()?;
        let d = self.shared.desk(desk)?;
        self.shared.store.put_calendar(desk, &calendar).await?;
        self.shared.set_calendar(&d, calendar);
        Ok(())
    }
}
