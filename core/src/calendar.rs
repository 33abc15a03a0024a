//! Opening hours: when a desk is open, as data a deployer edits without a release.
//!
//! A [`Calendar`] is plain serde data (TOML or JSON): weekly school-day hours, holiday periods
//! with their own hours, closures, and event windows. CLBch@t's 2021-2022 calendar is in
//! `tests/data/clbchat-2021-2022.toml`: school days Mon, Tue, Thu 17:00-21:00 and Wed
//! 14:00-21:00, holidays Mon-Thu 14:00-21:00, closed on public holidays, between Christmas and
//! New Year and from 15 July to 15 August. A centre's chatbox (Chat-met-je-CLB) is a calendar
//! in [`CalendarMode::EventsOnly`]: open only in the windows the centre opens.
//!
//! # Rules
//!
//! All dates and times in the data are local to the calendar's [`Calendar::time_zone`]
//! (Europe/Brussels unless set); every answer is an instant in UTC.
//!
//! 1. **Per local date**, the hours that apply are decided in this order:
//!    - a [`Closure`] covering the date closes it: neither weekly nor holiday hours apply;
//!    - otherwise, if the date lies in a [`HolidayPeriod`], that period's hours replace the
//!      weekly hours (a period with no hours for a weekday keeps that weekday closed);
//!    - otherwise the [`Calendar::weekly`] hours of the date's weekday apply.
//!
//!    In [`CalendarMode::EventsOnly`] the weekly and holiday hours are ignored altogether.
//!    Several entries for one weekday are allowed (e.g. Covid extra hours 14:00-17:00 next to
//!    17:00-21:00); they are merged.
//! 2. **Event windows are always open**, in both modes and even on a closure date. They are
//!    explicit openings that a person decided on for a reason (a centre opening its chatbox
//!    after a suicide at school, a bus accident or a terror threat, or during a study fair).
//!    Such a decision must never be silently cancelled by a holiday or closure entry that
//!    somebody typed into the calendar months earlier.
//! 3. **`close` of 00:00 means midnight at the end of the day**, so `17:00`-`00:00` is open
//!    until midnight and `00:00`-`00:00` is the whole day. In the data, `close` may also be
//!    written `"24:00"`, and it is written that way when a calendar is serialized.
//! 4. **Local time to UTC across daylight saving time:** a local time that does not exist
//!    (the spring-forward gap, 02:00-03:00 on the last Sunday of March in Brussels) means the
//!    first instant after the gap (03:00 summer time); an ambiguous local time (the repeated
//!    hour on the last Sunday of October) means the earlier of its two instants. So an event
//!    window from 22:00 on 26 March 2022 to 04:00 on 27 March lasts 5 real hours, and one from
//!    22:00 on 29 October 2022 to 04:00 on 30 October lasts 7. An interval that becomes empty
//!    this way (hours lying wholly inside the gap) is dropped.
//! 5. **Openings are merged:** intervals that overlap or touch, also across midnight (an event
//!    window 22:00-02:00, a day open until midnight followed by one open from midnight), form one
//!    [`Opening`]. An instant `at` is open when `start <= at < end`.
//! 6. **Search bound:** [`Calendar::next_opening`] and [`Calendar::next_transition`] look at
//!    most [`SEARCH_DAYS`] days ahead and answer `None` beyond that. An opening longer than the
//!    bound (an always-open calendar) is reported cut at [`SEARCH_DAYS`] days before and after
//!    the instant asked about.
//! 7. **Dates are inclusive:** a holiday period or closure covers `from` up to and including
//!    `to`; a single closed date has `from == to`. Holiday periods may not overlap each other
//!    (which hours would apply?); closures may overlap each other and holiday periods (a public
//!    holiday inside the Christmas closure is simply closed twice).
//!
//! [`Calendar::validate`] rejects entries that make no sense, naming the entry; the queries
//! never panic on an unvalidated calendar but ignore such entries (an interval whose end is not
//! after its start is empty).
//!
//! In TOML, dates and times may be strings (`from = "2021-11-01"`, `open = "17:00"`,
//! `start = "2022-03-10T19:00"`) or TOML's own local date and time values
//! (`from = 2021-11-01`). Weekdays are written `"mon"` to `"sun"` (also `"Mon"` or
//! `"monday"`). Unknown keys are rejected, so a misspelt `closures` cannot leave a desk open on
//! a public holiday.

use std::fmt;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How many days [`Calendar::next_opening`], [`Calendar::next_transition`] and
/// [`Calendar::current_opening`] search ahead (and back) before giving up.
pub const SEARCH_DAYS: i64 = 400;

/// The time zone of a calendar that does not name one: Europe/Brussels.
pub const DEFAULT_TIME_ZONE: Tz = chrono_tz::Europe::Brussels;

/// Midnight; as a `close` time it means the end of the day.
const MIDNIGHT: NaiveTime = NaiveTime::MIN;

fn default_tz() -> Tz {
    DEFAULT_TIME_ZONE
}

/// The opening hours of one desk: weekly hours, holiday periods, closures and event windows.
///
/// Data, not code: a deployer edits it in TOML or JSON without a release. See the
/// [module documentation](self) for the rules that turn it into open intervals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    /// The time zone all dates and times of this calendar are in (default Europe/Brussels).
    #[serde(default = "default_tz")]
    pub time_zone: Tz,
    /// Whether weekly and holiday hours apply, or only event windows.
    #[serde(default)]
    pub mode: CalendarMode,
    /// The hours on school days (dates outside every holiday period and closure).
    #[serde(default)]
    pub weekly: Vec<WeeklyHours>,
    /// Date ranges in which other hours replace the weekly hours.
    #[serde(default)]
    pub holiday_periods: Vec<HolidayPeriod>,
    /// Closed dates and closure periods (public holidays, between Christmas and New Year,
    /// 15 July - 15 August).
    #[serde(default)]
    pub closures: Vec<Closure>,
    /// Extra openings decided by a person (a chatbox after an incident, a study fair). Always
    /// open, even on a closure date.
    #[serde(default)]
    pub event_windows: Vec<EventWindow>,
}

/// Which hours of a [`Calendar`] count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendarMode {
    /// Weekly and holiday hours, minus closures, plus event windows.
    #[default]
    Weekly,
    /// Only event windows: a centre's chatbox that opens now and then.
    EventsOnly,
}

/// One open interval on a weekday, in local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeeklyHours {
    /// The weekday (`"mon"` to `"sun"` in the data).
    #[serde(with = "serde_weekday")]
    pub day: Weekday,
    /// Opening time (`"17:00"`).
    #[serde(with = "serde_time")]
    pub open: NaiveTime,
    /// Closing time (`"21:00"`); 00:00 (or `"24:00"`) means midnight at the end of the day.
    #[serde(with = "serde_close_time")]
    pub close: NaiveTime,
}

/// A date range (a school holiday) with its own hours instead of the weekly ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayPeriod {
    /// Its name, used in error messages (`"Kerstvakantie"`).
    pub name: String,
    /// First date of the period.
    #[serde(with = "serde_date")]
    pub from: NaiveDate,
    /// Last date of the period, inclusive.
    #[serde(with = "serde_date")]
    pub to: NaiveDate,
    /// The hours in this period; a weekday without hours is closed.
    #[serde(default)]
    pub hours: Vec<WeeklyHours>,
}

/// Dates on which the weekly and holiday hours do not apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Closure {
    /// Its name, used in error messages (`"Wapenstilstand"`).
    pub name: String,
    /// First closed date.
    #[serde(with = "serde_date")]
    pub from: NaiveDate,
    /// Last closed date, inclusive; a single date has `from == to`.
    #[serde(with = "serde_date")]
    pub to: NaiveDate,
}

/// An extra opening decided by a person, in local time; open even on a closure date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventWindow {
    /// Its title, which visitors read while it is open and error messages name
    /// (`"Studiebeurs"`, `"Infoavond studiekeuze"`).
    pub name: String,
    /// What visitors read under the title while it is open (a centre's chatbox: why it is
    /// open, who answers); none: only the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome: Option<String>,
    /// When it opens (local time, `"2022-03-10T19:00"`).
    #[serde(with = "serde_datetime")]
    pub start: NaiveDateTime,
    /// When it closes (local time); may be on a later date.
    #[serde(with = "serde_datetime")]
    pub end: NaiveDateTime,
}

/// One open interval in UTC: open from `start` (inclusive) to `end` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Opening {
    /// The first open instant.
    pub start: DateTime<Utc>,
    /// The first instant after the opening.
    pub end: DateTime<Utc>,
}

impl Opening {
    /// Whether `at` lies in this opening (`start <= at < end`).
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }

    /// How long the opening lasts.
    pub fn duration(&self) -> Duration {
        self.end - self.start
    }
}

impl Default for Calendar {
    /// An empty weekly calendar in Europe/Brussels: never open.
    fn default() -> Self {
        Self {
            time_zone: DEFAULT_TIME_ZONE,
            mode: CalendarMode::Weekly,
            weekly: Vec::new(),
            holiday_periods: Vec::new(),
            closures: Vec::new(),
            event_windows: Vec::new(),
        }
    }
}

const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

impl Calendar {
    /// A calendar open around the clock, every day (tests, appointment desks): weekly hours
    /// 00:00-00:00 on all seven days, in Europe/Brussels.
    pub fn always_open() -> Self {
        Self {
            weekly: WEEK
                .iter()
                .map(|&day| WeeklyHours {
                    day,
                    open: MIDNIGHT,
                    close: MIDNIGHT,
                })
                .collect(),
            ..Self::default()
        }
    }

    /// An events-only calendar (a centre's chatbox) with these windows, in Europe/Brussels.
    pub fn events_only(event_windows: Vec<EventWindow>) -> Self {
        Self {
            mode: CalendarMode::EventsOnly,
            event_windows,
            ..Self::default()
        }
    }

    /// Checks that every entry makes sense; the error names the first entry that does not.
    ///
    /// Weekly and holiday hours need `open` before `close` (or `close` 00:00, the end of the
    /// day); holiday periods and closures need `from` on or before `to`; event windows need
    /// `start` before `end`; holiday periods may not overlap.
    pub fn validate(&self) -> Result<()> {
        for (i, hours) in self.weekly.iter().enumerate() {
            check_hours(hours).map_err(|why| {
                invalid(format!(
                    "weekly hours #{} ({}): {why}",
                    i + 1,
                    describe(hours)
                ))
            })?;
        }
        for (i, period) in self.holiday_periods.iter().enumerate() {
            let what = format!("holiday period {}", label(&period.name, i));
            check_dates(period.from, period.to).map_err(|why| invalid(format!("{what}: {why}")))?;
            for (j, hours) in period.hours.iter().enumerate() {
                check_hours(hours).map_err(|why| {
                    invalid(format!(
                        "{what}: hours #{} ({}): {why}",
                        j + 1,
                        describe(hours)
                    ))
                })?;
            }
        }
        for (i, a) in self.holiday_periods.iter().enumerate() {
            for (j, b) in self.holiday_periods.iter().enumerate().skip(i + 1) {
                if a.from <= b.to && b.from <= a.to {
                    return Err(invalid(format!(
                        "holiday periods {} ({} to {}) and {} ({} to {}) overlap; \
                         which hours apply would be ambiguous",
                        label(&a.name, i),
                        a.from,
                        a.to,
                        label(&b.name, j),
                        b.from,
                        b.to
                    )));
                }
            }
        }
        for (i, closure) in self.closures.iter().enumerate() {
            check_dates(closure.from, closure.to)
                .map_err(|why| invalid(format!("closure {}: {why}", label(&closure.name, i))))?;
        }
        for (i, window) in self.event_windows.iter().enumerate() {
            if window.start >= window.end {
                return Err(invalid(format!(
                    "event window {}: `start` {} is not before `end` {}",
                    label(&window.name, i),
                    window.start.format("%Y-%m-%d %H:%M"),
                    window.end.format("%Y-%m-%d %H:%M")
                )));
            }
        }
        Ok(())
    }

    /// The closure covering a local date, if any (the first one listed).
    pub fn closure_on(&self, local_date: NaiveDate) -> Option<&Closure> {
        self.closures
            .iter()
            .find(|c| c.from <= local_date && local_date <= c.to)
    }

    /// The holiday period covering a local date, if any (the first one listed).
    pub fn holiday_period_on(&self, local_date: NaiveDate) -> Option<&HolidayPeriod> {
        self.holiday_periods
            .iter()
            .find(|p| p.from <= local_date && local_date <= p.to)
    }

    /// The weekly or holiday hours that apply on a local date, after closures and the mode
    /// (rule 1), all weekdays included; empty when the date is closed. Event windows are not
    /// part of this.
    pub fn hours_on(&self, local_date: NaiveDate) -> &[WeeklyHours] {
        if self.mode == CalendarMode::EventsOnly || self.closure_on(local_date).is_some() {
            return &[];
        }
        match self.holiday_period_on(local_date) {
            Some(period) => &period.hours,
            None => &self.weekly,
        }
    }

    /// The openings that overlap a local date (merged, sorted), in UTC.
    ///
    /// Each is whole: an opening that crosses midnight (an event window 22:00-02:00) is
    /// reported on both dates, not cut at midnight.
    pub fn openings_on(&self, local_date: NaiveDate) -> Vec<Opening> {
        let day_start = self.local_to_utc(local_date.and_time(MIDNIGHT));
        let day_end = self.day_end(local_date);
        let (openings, lo, hi) = self.merged(shift(local_date, -1), shift(local_date, 1));
        openings
            .into_iter()
            .filter(|o| o.end > day_start && o.start < day_end)
            .map(|o| {
                if o.start <= lo || o.end >= hi {
                    // It may go on beyond the dates looked at: ask for the whole of it.
                    self.current_opening(o.start.max(day_start)).unwrap_or(o)
                } else {
                    o
                }
            })
            .collect()
    }

    /// An event window's interval in UTC.
    pub fn window_interval(&self, window: &EventWindow) -> Opening {
        Opening {
            start: self.local_to_utc(window.start),
            end: self.local_to_utc(window.end),
        }
    }

    /// The event window open at `at` (the first listed, if two touch), if any.
    pub fn current_event(&self, at: DateTime<Utc>) -> Option<&EventWindow> {
        self.event_windows
            .iter()
            .find(|w| self.window_interval(w).contains(at))
    }

    /// An instant in this calendar's local time, to the minute's start below it (what a
    /// calendar can write).
    pub fn to_local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        let local = at.with_timezone(&self.time_zone).naive_local();
        local
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(local)
    }

    /// Whether the desk is open at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let date = self.local_date(at);
        let (openings, _, _) = self.merged(shift(date, -1), shift(date, 1));
        openings.iter().any(|o| o.contains(at))
    }

    /// The opening containing `at` (`start <= at < end`), merged with the intervals it
    /// touches, also across midnight; `None` when closed at `at`.
    pub fn current_opening(&self, at: DateTime<Utc>) -> Option<Opening> {
        let date = self.local_date(at);
        let (mut back, mut ahead) = (1, 1);
        loop {
            let (openings, lo, hi) = self.merged(shift(date, -back), shift(date, ahead));
            let opening = openings.into_iter().find(|o| o.contains(at))?;
            // An opening reaching an edge of the dates looked at may go on beyond it.
            let more_back = opening.start <= lo && back < SEARCH_DAYS;
            let more_ahead = opening.end >= hi && ahead < SEARCH_DAYS;
            if !more_back && !more_ahead {
                return Some(opening);
            }
            if more_back {
                back = (back * 8).min(SEARCH_DAYS);
            }
            if more_ahead {
                ahead = (ahead * 8).min(SEARCH_DAYS);
            }
        }
    }

    /// When the opening containing `at` ends; `None` when closed at `at`, and when the
    /// opening runs on past [`SEARCH_DAYS`] (a desk open around the clock has no closing
    /// time to report, not one a year ahead).
    pub fn closes_at(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let horizon = at.checked_add_signed(Duration::days(SEARCH_DAYS))?;
        self.current_opening(at)
            .map(|o| o.end)
            .filter(|end| *end < horizon)
    }

    /// The start of the first opening that starts strictly after `at`, at most
    /// [`SEARCH_DAYS`] days ahead. When open at `at`, that is the opening after the current one.
    pub fn next_opening(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next_change(at, true)
    }

    /// The first instant after `at` at which [`Calendar::is_open`] changes (an opening's start
    /// or end), at most [`SEARCH_DAYS`] days ahead: the engine sleeps until then.
    pub fn next_transition(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next_change(at, false)
    }

    fn next_change(&self, at: DateTime<Utc>, starts_only: bool) -> Option<DateTime<Utc>> {
        let horizon = at
            .checked_add_signed(Duration::days(SEARCH_DAYS))
            .unwrap_or(at);
        let date = self.local_date(at);
        let last_date = self.local_date(horizon);
        let mut ahead = 7;
        loop {
            let last = shift(date, ahead).min(last_date);
            let (openings, _, hi) = self.merged(shift(date, -1), last);
            let first = openings
                .iter()
                .flat_map(|o| [(o.start, true), (o.end, false)])
                .find(|&(t, is_start)| t > at && (is_start || !starts_only))
                .map(|(t, _)| t);
            match first {
                // Transitions before `hi` are final: later dates can only add intervals
                // starting at `hi` or later.
                Some(t) if t < hi => return (t <= horizon).then_some(t),
                _ if last >= last_date => return None,
                _ => ahead = (ahead * 8).min(SEARCH_DAYS + 1),
            }
        }
    }

    /// The merged openings from the hours of the local dates `first..=last` and the event
    /// windows overlapping them, with the UTC instants where those dates start and end.
    /// Openings touching either instant may go on beyond it.
    fn merged(
        &self,
        first: NaiveDate,
        last: NaiveDate,
    ) -> (Vec<Opening>, DateTime<Utc>, DateTime<Utc>) {
        let lo = self.local_to_utc(first.and_time(MIDNIGHT));
        let hi = self.day_end(last);
        let mut intervals = Vec::new();
        let mut date = first;
        loop {
            let weekday = date.weekday();
            if let Some(next) = date.succ_opt() {
                for hours in self.hours_on(date).iter().filter(|h| h.day == weekday) {
                    let end_date = if hours.close == MIDNIGHT { next } else { date };
                    intervals.push((
                        self.local_to_utc(date.and_time(hours.open)),
                        self.local_to_utc(end_date.and_time(hours.close)),
                    ));
                }
            }
            match date.succ_opt() {
                Some(next) if next <= last => date = next,
                _ => break,
            }
        }
        for window in &self.event_windows {
            let interval = (
                self.local_to_utc(window.start),
                self.local_to_utc(window.end),
            );
            if interval.0 < hi && interval.1 > lo {
                intervals.push(interval);
            }
        }
        (merge(intervals), lo, hi)
    }

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.time_zone).date_naive()
    }

    /// The instant a local date ends (the next date's midnight).
    fn day_end(&self, date: NaiveDate) -> DateTime<Utc> {
        match date.succ_opt() {
            Some(next) => self.local_to_utc(next.and_time(MIDNIGHT)),
            None => DateTime::<Utc>::MAX_UTC,
        }
    }

    /// A local time as an instant, by rule 4: a time in a gap means the first instant after
    /// the gap, an ambiguous time the earlier instant.
    fn local_to_utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        match self.time_zone.from_local_datetime(&local) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
            LocalResult::None => self.first_instant_after_gap(local),
        }
    }

    /// The first instant whose local time is at or after `local`, which lies in a gap.
    fn first_instant_after_gap(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let tz = self.time_zone;
        let as_utc = local.and_utc();
        let offset_at = |t: Option<DateTime<Utc>>| {
            t.map(|t| {
                tz.offset_from_utc_datetime(&t.naive_utc())
                    .fix()
                    .local_minus_utc()
            })
        };
        let before = offset_at(as_utc.checked_sub_signed(Duration::days(1)));
        let after = offset_at(as_utc.checked_add_signed(Duration::days(1)));
        let (Some(before), Some(after)) = (before, after) else {
            return as_utc;
        };
        // The gap's end lies between `local` read with the offset after it and with the one
        // before it; find the first second there whose local time has reached `local`.
        let mut lo = as_utc.timestamp() - i64::from(before.max(after));
        let mut hi = as_utc.timestamp() - i64::from(before.min(after));
        let reached = |secs: i64| {
            DateTime::from_timestamp(secs, 0)
                .is_none_or(|t| t.with_timezone(&tz).naive_local() >= local)
        };
        if !reached(hi) {
            return as_utc;
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if reached(mid) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        DateTime::from_timestamp(hi, 0).unwrap_or(as_utc)
    }
}

/// Sorts intervals and merges those that overlap or touch; empty ones are dropped.
fn merge(mut intervals: Vec<(DateTime<Utc>, DateTime<Utc>)>) -> Vec<Opening> {
    intervals.retain(|(start, end)| start < end);
    intervals.sort();
    let mut merged: Vec<Opening> = Vec::with_capacity(intervals.len());
    for (start, end) in intervals {
        match merged.last_mut() {
            Some(last) if start <= last.end => last.end = last.end.max(end),
            _ => merged.push(Opening { start, end }),
        }
    }
    merged
}

/// A date moved by a number of days, saturating at the ends of the calendar.
fn shift(date: NaiveDate, days: i64) -> NaiveDate {
    date.checked_add_signed(Duration::days(days))
        .unwrap_or(if days < 0 {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        })
}

fn invalid(message: String) -> Error {
    Error::Invalid(format!("calendar: {message}"))
}

fn label(name: &str, index: usize) -> String {
    if name.trim().is_empty() {
        format!("#{}", index + 1)
    } else {
        format!("`{name}`")
    }
}

fn describe(hours: &WeeklyHours) -> String {
    format!(
        "{} {}-{}",
        weekday_name(hours.day),
        hours.open.format("%H:%M"),
        if hours.close == MIDNIGHT {
            "24:00".into()
        } else {
            hours.close.format("%H:%M").to_string()
        }
    )
}

fn check_hours(hours: &WeeklyHours) -> std::result::Result<(), String> {
    if hours.close == MIDNIGHT || hours.open < hours.close {
        Ok(())
    } else {
        Err(format!(
            "`open` {} is not before `close` {}",
            hours.open.format("%H:%M"),
            hours.close.format("%H:%M")
        ))
    }
}

fn check_dates(from: NaiveDate, to: NaiveDate) -> std::result::Result<(), String> {
    if from <= to {
        Ok(())
    } else {
        Err(format!("`from` {from} is after `to` {to}"))
    }
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

/// Text of a date or time in the data: a string, or one of TOML's own date and time values,
/// which reach serde as a one-entry map holding their text.
struct DateText;

impl<'de> serde::de::Visitor<'de> for DateText {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a date or time as text")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<String, A::Error> {
        use serde::de::{Error as _, IgnoredAny};
        let Some((IgnoredAny, text)) = map.next_entry::<IgnoredAny, String>()? else {
            return Err(A::Error::invalid_length(0, &self));
        };
        if map.next_key::<IgnoredAny>()?.is_some() {
            return Err(A::Error::custom("expected a date or time, found a table"));
        }
        Ok(text)
    }
}

fn date_text<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    d.deserialize_str(DateText)
}

fn parse_time(text: &str) -> Option<NaiveTime> {
    let text = text.trim();
    NaiveTime::parse_from_str(text, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M:%S%.f"))
        .ok()
}

fn format_time(time: &NaiveTime) -> String {
    if time.second() == 0 && time.nanosecond() == 0 {
        time.format("%H:%M").to_string()
    } else {
        time.format("%H:%M:%S%.f").to_string()
    }
}

mod serde_weekday {
    use chrono::Weekday;
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(day: &Weekday, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(super::weekday_name(*day))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Weekday, D::Error> {
        let text = String::deserialize(d)?;
        text.trim().parse().map_err(|_| {
            D::Error::custom(format!(
                "unknown weekday `{text}`; expected one of mon, tue, wed, thu, fri, sat, sun"
            ))
        })
    }
}

mod serde_time {
    use chrono::NaiveTime;
    use serde::{de::Error as _, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(time: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_time(time))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let text = super::date_text(d)?;
        super::parse_time(&text).ok_or_else(|| {
            D::Error::custom(format!(
                "invalid time `{text}`; expected HH:MM, like \"17:00\""
            ))
        })
    }
}

mod serde_close_time {
    use chrono::NaiveTime;
    use serde::{de::Error as _, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(time: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        if *time == super::MIDNIGHT {
            s.serialize_str("24:00")
        } else {
            s.serialize_str(&super::format_time(time))
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let text = super::date_text(d)?;
        if matches!(text.trim(), "24:00" | "24:00:00") {
            return Ok(super::MIDNIGHT);
        }
        super::parse_time(&text).ok_or_else(|| {
            D::Error::custom(format!(
                "invalid closing time `{text}`; expected HH:MM, like \"21:00\", or \"24:00\""
            ))
        })
    }
}

mod serde_date {
    use chrono::NaiveDate;
    use serde::{de::Error as _, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(date: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&date.format("%Y-%m-%d").to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        let text = super::date_text(d)?;
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map_err(|_| D::Error::custom(format!("invalid date `{text}`; expected YYYY-MM-DD")))
    }
}

/// A local date and time as calendars write it (`"2022-03-10T19:00"`), for `#[serde(with)]`.
pub mod serde_datetime {
    use chrono::{NaiveDateTime, Timelike};
    use serde::{de::Error as _, Deserializer, Serializer};

    /// Writes `2022-03-10T19:00` (with seconds only when there are any).
    pub fn serialize<S: Serializer>(at: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        let text = if at.second() == 0 && at.nanosecond() == 0 {
            at.format("%Y-%m-%dT%H:%M").to_string()
        } else {
            at.format("%Y-%m-%dT%H:%M:%S%.f").to_string()
        };
        s.serialize_str(&text)
    }

    /// Reads `2022-03-10T19:00`, with seconds, or with a space for the `T`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        let text = super::date_text(d)?;
        let trimmed = text.trim();
        [
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%d %H:%M:%S%.f",
        ]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(trimmed, format).ok())
        .ok_or_else(|| {
            D::Error::custom(format!(
                "invalid local date and time `{text}`; expected YYYY-MM-DDTHH:MM"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLBCHAT: &str = include_str!("../tests/data/clbchat-2021-2022.toml");

    fn clbchat() -> Calendar {
        toml::from_str(CLBCHAT).expect("the 2021-2022 calendar parses")
    }

    /// A Brussels wall-clock time as an instant (unambiguous times only).
    fn brussels(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Europe::Brussels
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("an unambiguous Brussels time")
            .with_timezone(&Utc)
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("a valid UTC time")
    }

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|date| date.and_hms_opt(h, min, 0))
            .expect("a valid local time")
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
    }

    fn window(name: &str, start: NaiveDateTime, end: NaiveDateTime) -> EventWindow {
        EventWindow {
            name: name.into(),
            welcome: None,
            start,
            end,
        }
    }

    #[test]
    fn the_2021_2022_file_loads_and_validates() {
        let cal = clbchat();
        cal.validate().expect("valid");
        assert_eq!(cal.time_zone, chrono_tz::Europe::Brussels);
        assert_eq!(cal.mode, CalendarMode::Weekly);
        assert_eq!(cal.weekly.len(), 4);
        assert_eq!(cal.holiday_periods.len(), 5);
        assert_eq!(cal.closures.len(), 12);
        assert!(cal.event_windows.is_empty());
    }

    #[test]
    fn school_days_follow_the_weekly_hours() {
        let cal = clbchat();
        // Wednesday 13 October 2021: 14:00-21:00.
        assert!(!cal.is_open(brussels(2021, 10, 13, 13, 59)));
        assert!(cal.is_open(brussels(2021, 10, 13, 14, 0)));
        // Monday 11 October 2021: 17:00-21:00.
        assert!(!cal.is_open(brussels(2021, 10, 11, 16, 59)));
        assert!(cal.is_open(brussels(2021, 10, 11, 17, 0)));
        assert!(cal.is_open(brussels(2021, 10, 11, 20, 59)));
        assert!(!cal.is_open(brussels(2021, 10, 11, 21, 0)));
        // Friday 15 October and the weekend: closed.
        assert!(!cal.is_open(brussels(2021, 10, 15, 18, 0)));
        assert!(!cal.is_open(brussels(2021, 10, 16, 18, 0)));
        assert_eq!(
            cal.openings_on(date(2021, 10, 11)),
            vec![Opening {
                start: brussels(2021, 10, 11, 17, 0),
                end: brussels(2021, 10, 11, 21, 0)
            }]
        );
        assert!(cal.openings_on(date(2021, 10, 17)).is_empty());
    }

    #[test]
    fn holiday_periods_replace_the_weekly_hours() {
        let cal = clbchat();
        // Monday 28 February 2022, krokusvakantie: open from 14:00.
        assert!(cal.is_open(brussels(2022, 2, 28, 14, 0)));
        assert_eq!(
            cal.openings_on(date(2022, 2, 28)),
            vec![Opening {
                start: brussels(2022, 2, 28, 14, 0),
                end: brussels(2022, 2, 28, 21, 0)
            }]
        );
        // A school Monday a week later: not at 14:00.
        assert!(!cal.is_open(brussels(2022, 3, 7, 14, 0)));
        assert!(cal.is_open(brussels(2022, 3, 7, 17, 0)));
        // Friday 4 March 2022, krokusvakantie: closed all day.
        assert!(!cal.is_open(brussels(2022, 3, 4, 14, 0)));
        assert!(!cal.is_open(brussels(2022, 3, 4, 17, 0)));
        assert!(cal.openings_on(date(2022, 3, 4)).is_empty());
        assert_eq!(
            cal.holiday_period_on(date(2022, 3, 4))
                .map(|p| p.name.as_str()),
            Some("Krokusvakantie")
        );
    }

    #[test]
    fn closures_close_weekly_and_holiday_hours() {
        let cal = clbchat();
        // Christmas Day 2021 (a Saturday, but in the closure anyway).
        assert!(!cal.is_open(brussels(2021, 12, 25, 17, 0)));
        // Monday 27 and Thursday 30 December: kerstvakantie, but between Christmas and New Year.
        assert!(!cal.is_open(brussels(2021, 12, 27, 15, 0)));
        assert!(!cal.is_open(brussels(2021, 12, 30, 17, 0)));
        // Wednesday 20 July 2022: zomervakantie, inside the summer closure.
        assert!(!cal.is_open(brussels(2022, 7, 20, 14, 0)));
        assert!(!cal.is_open(brussels(2022, 7, 20, 17, 0)));
        // Thursday 21 July 2022: Nationale feestdag.
        assert!(!cal.is_open(brussels(2022, 7, 21, 17, 0)));
        // Monday 1 November 2021: Allerheiligen, inside the herfstvakantie.
        assert!(!cal.is_open(brussels(2021, 11, 1, 14, 0)));
        assert!(!cal.is_open(brussels(2021, 11, 1, 17, 0)));
        assert!(
            cal.is_open(brussels(2021, 11, 2, 14, 0)),
            "the next holiday day is open"
        );
        // Thursday 11 November 2021 (Wapenstilstand) and Thursday 26 May 2022 (Hemelvaart).
        assert!(!cal.is_open(brussels(2021, 11, 11, 17, 0)));
        assert!(!cal.is_open(brussels(2022, 5, 26, 17, 0)));
        // The summer closure ends on 15 August inclusive: Tuesday 16 August is open again.
        assert!(!cal.is_open(brussels(2022, 8, 15, 14, 0)));
        assert!(cal.is_open(brussels(2022, 8, 16, 14, 0)));
        assert_eq!(
            cal.closure_on(date(2022, 7, 20)).map(|c| c.name.as_str()),
            Some("Zomersluiting")
        );
    }

    #[test]
    fn opening_hours_stay_local_across_dst() {
        let cal = clbchat();
        // Monday 21 March 2022 (winter time, UTC+1): 17:00 local is 16:00 UTC.
        assert_eq!(
            cal.openings_on(date(2022, 3, 21))[0].start,
            utc(2022, 3, 21, 16, 0)
        );
        // Monday 28 March 2022, the day after spring forward (UTC+2): 15:00 UTC.
        assert_eq!(
            cal.openings_on(date(2022, 3, 28))[0].start,
            utc(2022, 3, 28, 15, 0)
        );
        // Monday 31 October 2022, the day after fall back: a school day in this file.
        assert_eq!(
            cal.openings_on(date(2022, 10, 31))[0].start,
            utc(2022, 10, 31, 16, 0)
        );
        // From Saturday 26 March 12:00 the next opening is Monday 28 March 17:00 local.
        assert_eq!(
            cal.next_opening(brussels(2022, 3, 26, 12, 0)),
            Some(utc(2022, 3, 28, 15, 0))
        );
    }

    #[test]
    fn event_windows_across_the_dst_nights_last_real_hours() {
        let spring = window(
            "Lentenacht",
            local(2022, 3, 26, 22, 0),
            local(2022, 3, 27, 4, 0),
        );
        let autumn = window(
            "Herfstnacht",
            local(2022, 10, 29, 22, 0),
            local(2022, 10, 30, 4, 0),
        );
        let cal = Calendar::events_only(vec![spring, autumn]);
        cal.validate().expect("valid");

        let night = cal
            .current_opening(brussels(2022, 3, 27, 1, 0))
            .expect("open");
        assert_eq!(night.start, utc(2022, 3, 26, 21, 0));
        assert_eq!(night.end, utc(2022, 3, 27, 2, 0));
        assert_eq!(night.duration(), Duration::hours(5));

        let night = cal
            .current_opening(brussels(2022, 10, 29, 23, 0))
            .expect("open");
        assert_eq!(night.start, utc(2022, 10, 29, 20, 0));
        assert_eq!(night.end, utc(2022, 10, 30, 3, 0));
        assert_eq!(night.duration(), Duration::hours(7));
        // Both halves of the repeated hour are inside it.
        assert!(cal.is_open(utc(2022, 10, 30, 0, 30)));
        assert!(cal.is_open(utc(2022, 10, 30, 1, 30)));
    }

    #[test]
    fn nonexistent_times_start_after_the_gap_and_ambiguous_ones_at_the_earlier_instant() {
        let cal = Calendar::events_only(vec![
            // 02:30 on 27 March 2022 does not exist in Brussels: it opens at 03:00 CEST.
            window(
                "In de sprong",
                local(2022, 3, 27, 2, 30),
                local(2022, 3, 27, 5, 0),
            ),
            // 02:30 on 30 October 2022 happens twice: the first, 02:30 CEST = 00:30 UTC.
            window(
                "Dubbel uur",
                local(2022, 10, 30, 2, 30),
                local(2022, 10, 30, 5, 0),
            ),
            // Wholly inside the gap: no real time at all.
            window(
                "Niets",
                local(2022, 3, 27, 2, 10),
                local(2022, 3, 27, 2, 50),
            ),
        ]);
        assert_eq!(
            cal.openings_on(date(2022, 3, 27)),
            vec![Opening {
                start: utc(2022, 3, 27, 1, 0),
                end: utc(2022, 3, 27, 3, 0)
            }]
        );
        assert_eq!(
            cal.openings_on(date(2022, 10, 30)),
            vec![Opening {
                start: utc(2022, 10, 30, 0, 30),
                end: utc(2022, 10, 30, 4, 0)
            }]
        );
    }

    #[test]
    fn next_opening_closes_at_and_next_transition() {
        let cal = clbchat();
        // Friday 24 December 2021 18:00: closed until Monday 3 January 2022, 14:00 (holiday
        // hours, the day after the closure ends and a Sunday).
        assert_eq!(
            cal.next_opening(brussels(2021, 12, 24, 18, 0)),
            Some(brussels(2022, 1, 3, 14, 0))
        );
        // A school Tuesday (12 October 2021) at 18:00: closes at 21:00.
        assert_eq!(
            cal.closes_at(brussels(2021, 10, 12, 18, 0)),
            Some(brussels(2021, 10, 12, 21, 0))
        );
        assert_eq!(cal.closes_at(brussels(2021, 10, 12, 21, 0)), None);
        // A school Monday (11 October 2021) at 12:00: the next change is opening at 17:00 ...
        let monday_noon = brussels(2021, 10, 11, 12, 0);
        assert_eq!(
            cal.next_transition(monday_noon),
            Some(brussels(2021, 10, 11, 17, 0))
        );
        // ... and while open, closing at 21:00.
        let monday_evening = brussels(2021, 10, 11, 18, 0);
        assert_eq!(
            cal.next_transition(monday_evening),
            Some(brussels(2021, 10, 11, 21, 0))
        );
        // While open, the next opening is the next day's, not the current one.
        assert_eq!(
            cal.next_opening(monday_evening),
            Some(brussels(2021, 10, 12, 17, 0))
        );
        // At the very opening instant, that opening has not started "after" it.
        assert_eq!(
            cal.next_opening(brussels(2021, 10, 11, 17, 0)),
            Some(brussels(2021, 10, 12, 17, 0))
        );
        assert_eq!(
            cal.current_opening(brussels(2021, 10, 13, 20, 0)),
            Some(Opening {
                start: brussels(2021, 10, 13, 14, 0),
                end: brussels(2021, 10, 13, 21, 0)
            })
        );
    }

    #[test]
    fn an_events_only_chatbox_opens_only_in_its_windows() {
        let mut chatbox = Calendar::events_only(vec![window(
            "Infoavond studiekeuze",
            local(2022, 3, 10, 19, 0),
            local(2022, 3, 10, 21, 0),
        )]);
        // Weekly hours in an events-only calendar are ignored.
        chatbox.weekly = clbchat().weekly;
        chatbox.validate().expect("valid");
        // Wednesday 9 March 2022, 15:00: no window.
        assert!(!chatbox.is_open(brussels(2022, 3, 9, 15, 0)));
        assert_eq!(chatbox.closes_at(brussels(2022, 3, 9, 15, 0)), None);
        assert_eq!(
            chatbox.next_opening(brussels(2022, 3, 9, 15, 0)),
            Some(brussels(2022, 3, 10, 19, 0))
        );
        assert!(!chatbox.is_open(brussels(2022, 3, 10, 18, 59)));
        assert!(chatbox.is_open(brussels(2022, 3, 10, 19, 30)));
        assert_eq!(
            chatbox.closes_at(brussels(2022, 3, 10, 19, 30)),
            Some(brussels(2022, 3, 10, 21, 0))
        );
        assert!(!chatbox.is_open(brussels(2022, 3, 10, 21, 0)));
        // After the last window there is nothing to wait for.
        assert_eq!(chatbox.next_opening(brussels(2022, 3, 10, 21, 0)), None);
        assert_eq!(chatbox.next_transition(brussels(2022, 3, 10, 21, 0)), None);
    }

    #[test]
    fn event_windows_open_even_on_closure_dates() {
        // A centre opens its chatbox after a crisis on Christmas Day.
        let crisis = window(
            "Na het busongeval",
            local(2021, 12, 25, 10, 0),
            local(2021, 12, 25, 16, 0),
        );
        let mut cal = clbchat();
        cal.event_windows.push(crisis.clone());
        cal.validate().expect("valid");
        assert!(cal.is_open(brussels(2021, 12, 25, 12, 0)));
        assert_eq!(
            cal.closes_at(brussels(2021, 12, 25, 12, 0)),
            Some(brussels(2021, 12, 25, 16, 0))
        );

        let mut chatbox = Calendar::events_only(vec![crisis]);
        chatbox.closures = cal.closures.clone();
        assert!(chatbox.is_open(brussels(2021, 12, 25, 12, 0)));
    }

    #[test]
    fn touching_openings_merge_also_across_midnight() {
        let mut cal = clbchat();
        // A school Monday (11 October 2021) 17:00-21:00, extended by a window 21:00-02:00.
        cal.event_windows.push(window(
            "Nachtpermanentie",
            local(2021, 10, 11, 21, 0),
            local(2021, 10, 12, 2, 0),
        ));
        let whole = Opening {
            start: brussels(2021, 10, 11, 17, 0),
            end: brussels(2021, 10, 12, 2, 0),
        };
        assert_eq!(
            cal.current_opening(brussels(2021, 10, 11, 18, 0)),
            Some(whole)
        );
        assert_eq!(
            cal.current_opening(brussels(2021, 10, 12, 1, 0)),
            Some(whole)
        );
        assert_eq!(
            cal.closes_at(brussels(2021, 10, 11, 23, 30)),
            Some(brussels(2021, 10, 12, 2, 0))
        );
        assert_eq!(
            cal.next_transition(brussels(2021, 10, 11, 20, 0)),
            Some(brussels(2021, 10, 12, 2, 0))
        );
        // Reported whole on both dates; Tuesday's own hours follow.
        assert_eq!(cal.openings_on(date(2021, 10, 11)), vec![whole]);
        assert_eq!(cal.openings_on(date(2021, 10, 12))[0], whole);
        assert_eq!(cal.openings_on(date(2021, 10, 12)).len(), 2);

        // Open until midnight, then from midnight: one opening.
        let mut late = Calendar::default();
        late.weekly.push(WeeklyHours {
            day: Weekday::Fri,
            open: local(1, 1, 1, 20, 0).time(),
            close: MIDNIGHT,
        });
        late.weekly.push(WeeklyHours {
            day: Weekday::Sat,
            open: MIDNIGHT,
            close: local(1, 1, 1, 3, 0).time(),
        });
        late.validate().expect("valid");
        assert_eq!(
            late.current_opening(brussels(2021, 10, 15, 23, 0)),
            Some(Opening {
                start: brussels(2021, 10, 15, 20, 0),
                end: brussels(2021, 10, 16, 3, 0)
            })
        );
    }

    #[test]
    fn always_open_is_open_and_bounded() {
        let cal = Calendar::always_open();
        cal.validate().expect("valid");
        let at = brussels(2022, 3, 27, 12, 0);
        assert!(cal.is_open(at));
        assert!(
            cal.is_open(utc(2022, 3, 27, 1, 30)),
            "open through the DST gap"
        );
        assert!(
            cal.is_open(utc(2022, 10, 30, 1, 30)),
            "and through the repeated hour"
        );
        let opening = cal.current_opening(at).expect("open");
        assert!(opening.start <= at - Duration::days(SEARCH_DAYS));
        assert!(opening.end >= at + Duration::days(SEARCH_DAYS));
        assert_eq!(cal.closes_at(at), None, "no closing time a year ahead");
        assert_eq!(cal.next_opening(at), None);
        assert_eq!(cal.next_transition(at), None);
        assert_eq!(Calendar::default().next_opening(at), None);
        assert!(!Calendar::default().is_open(at));
    }

    #[test]
    fn validate_names_the_faulty_entry() {
        let mut cal = clbchat();
        let kerst = cal
            .holiday_periods
            .iter_mut()
            .find(|p| p.name == "Kerstvakantie")
            .expect("present");
        kerst.from = date(2022, 1, 9);
        kerst.to = date(2022, 1, 2);
        let err = cal.validate().expect_err("from after to");
        assert!(matches!(err, Error::Invalid(_)));
        assert_eq!(
            err.to_string(),
            "invalid input: calendar: holiday period `Kerstvakantie`: \
             `from` 2022-01-09 is after `to` 2022-01-02"
        );

        let mut cal = clbchat();
        cal.weekly[1].open = local(1, 1, 1, 21, 0).time();
        let message = cal.validate().expect_err("open after close").to_string();
        assert_eq!(
            message,
            "invalid input: calendar: weekly hours #2 (tue 21:00-21:00): \
             `open` 21:00 is not before `close` 21:00"
        );

        let mut cal = clbchat();
        cal.holiday_periods[4].hours[0].close = local(1, 1, 1, 13, 0).time();
        let message = cal.validate().expect_err("holiday hours").to_string();
        assert!(
            message.contains("holiday period `Zomervakantie`: hours #1 (mon 14:00-13:00)"),
            "{message}"
        );

        let mut cal = clbchat();
        cal.closures[0].to = date(2021, 12, 1);
        let message = cal.validate().expect_err("closure").to_string();
        assert!(
            message.contains("closure `Tussen Kerstmis en Nieuwjaar`: `from` 2021-12-24"),
            "{message}"
        );

        let mut cal = clbchat();
        cal.event_windows.push(window(
            "Studiebeurs",
            local(2022, 3, 10, 21, 0),
            local(2022, 3, 10, 19, 0),
        ));
        let message = cal.validate().expect_err("window").to_string();
        assert!(
            message.contains("event window `Studiebeurs`: `start` 2022-03-10 21:00"),
            "{message}"
        );

        let mut cal = clbchat();
        cal.holiday_periods[0].to = date(2021, 12, 27);
        let message = cal.validate().expect_err("overlap").to_string();
        assert!(message.contains("`Herfstvakantie`"), "{message}");
        assert!(message.contains("`Kerstvakantie`"), "{message}");
    }

    #[test]
    fn serializing_to_toml_and_json_and_back_gives_the_same_calendar() {
        let mut cal = clbchat();
        cal.event_windows.push(window(
            "Studiebeurs",
            local(2022, 3, 10, 9, 0),
            local(2022, 3, 12, 17, 0),
        ));
        cal.weekly.push(WeeklyHours {
            day: Weekday::Fri,
            open: local(1, 1, 1, 20, 0).time(),
            close: MIDNIGHT,
        });

        let text = toml::to_string(&cal).expect("to TOML");
        assert!(text.contains("close = \"24:00\""), "{text}");
        assert!(text.contains("day = \"wed\""), "{text}");
        let back: Calendar = toml::from_str(&text).expect("from TOML");
        assert_eq!(back, cal);

        let json = serde_json::to_string(&cal).expect("to JSON");
        let back: Calendar = serde_json::from_str(&json).expect("from JSON");
        assert_eq!(back, cal);

        let events = Calendar::events_only(cal.event_windows.clone());
        let json = serde_json::to_string(&events).expect("to JSON");
        assert!(json.contains("\"mode\":\"events_only\""), "{json}");
        assert_eq!(
            serde_json::from_str::<Calendar>(&json).expect("from JSON"),
            events
        );
    }

    #[test]
    fn the_data_may_use_toml_dates_capitalised_days_and_24_00() {
        let cal: Calendar = toml::from_str(
            r#"
            mode = "events_only"
            weekly = [{ day = "Mon", open = "17:00:00", close = "24:00" },
                      { day = "tuesday", open = 14:00:00, close = "00:00" }]
            [[closures]]
            name = "Wapenstilstand"
            from = 2021-11-11
            to = 2021-11-11
            [[event_windows]]
            name = "Studiebeurs"
            start = 2022-03-10T09:00:00
            end = "2022-03-12 17:00"
            "#,
        )
        .expect("parses");
        assert_eq!(cal.time_zone, chrono_tz::Europe::Brussels);
        assert_eq!(cal.mode, CalendarMode::EventsOnly);
        assert_eq!(cal.weekly[0].day, Weekday::Mon);
        assert_eq!(cal.weekly[0].close, MIDNIGHT);
        assert_eq!(cal.weekly[1].day, Weekday::Tue);
        assert_eq!(cal.weekly[1].open, local(1, 1, 1, 14, 0).time());
        assert_eq!(cal.closures[0].from, date(2021, 11, 11));
        assert_eq!(cal.event_windows[0].start, local(2022, 3, 10, 9, 0));
        assert_eq!(cal.event_windows[0].end, local(2022, 3, 12, 17, 0));
        assert_eq!(
            cal.current_opening(brussels(2022, 3, 11, 3, 0))
                .map(|o| o.duration()),
            Some(Duration::hours(56))
        );
    }

    #[test]
    fn mistakes_in_the_data_are_refused_when_loading() {
        let misspelt = toml::from_str::<Calendar>(
            "[[closure]]\nname = \"x\"\nfrom = \"2021-11-11\"\nto = \"2021-11-11\"\n",
        );
        assert!(misspelt.is_err());
        let bad_day = toml::from_str::<Calendar>(
            "weekly = [{ day = \"maandag\", open = \"17:00\", close = \"21:00\" }]",
        );
        let message = bad_day.expect_err("unknown weekday").to_string();
        assert!(message.contains("unknown weekday `maandag`"), "{message}");
        let bad_time = toml::from_str::<Calendar>(
            "weekly = [{ day = \"mon\", open = \"5pm\", close = \"21:00\" }]",
        );
        assert!(bad_time
            .expect_err("bad time")
            .to_string()
            .contains("invalid time `5pm`"));
        let bad_zone = toml::from_str::<Calendar>("time_zone = \"Europe/Brussel\"");
        assert!(bad_zone.is_err());
    }
}
