//! The annual report's figures: what to count ([`ReportQuery`]) and the counts
//! ([`ReportData`]), computed by the store ([`crate::store::Store::report`]) from
//! conversation metadata, registrations, ratings and coverage samples; never from message
//! text.
//!
//! # Definitions
//!
//! Every figure is written once here, and every store computes it the same way (the
//! conformance suite checks that memory, SQLite and PostgreSQL agree on one fixture):
//!
//! - **In the period**: a conversation counts in the period its client *arrived* in,
//!   `[from, until)`. Periods are local dates in Europe/Brussels ([`REPORT_TIME_ZONE`]):
//!   months and school years start at local midnight, so a chat at 23:30 on 31 October
//!   counts in October whatever the offset from UTC.
//! - **A chat** is a conversation a counsellor took (it has a start). Arrivals that were
//!   never served (left the queue, sent home at closing, refused at the door) are counted
//!   apart, in [`Totals`].
//! - **Client type**: the counsellor's registration says it; without a registration, what
//!   the client chose at the start; otherwise unknown (`None`).
//! - **Duration**: from the start to the end, of chats that ended. **Wait**: from the
//!   arrival to the start, of chats; p90 by the nearest-rank method (the smallest wait that
//!   at least 90% of chats did not exceed).
//! - **Topics, results, how the client found the chat, age, gender, fake calls** come from
//!   registrations only (as in the sector's annual report): percentages are of registered
//!   chats. Topic counts are chats per topic (a chat with two topics counts for both).
//! - **Ratings**: the 1-5 stars of chats in the period, by the chat's client type.
//! - **A theme** (e.g. COVID: three topics) counts the chats in its own period whose
//!   registration names at least one of its topics.
//! - **Coverage**: the engine records a [`CoverageSample`] when a desk opens or closes, when
//!   its counsellors come or go, and every hour while it is open. A sample holds until the
//!   next one of its desk, but at most [`COVERAGE_SAMPLE_VALID_FOR`] (so a server that
//!   crashed is not counted as staffed or unstaffed for the whole time it was down), and
//!   never past [`ReportQuery::as_of`]. Open seconds count only where a sample says open;
//!   a clean stop writes a closed sample, so time the server was stopped is not counted.
//! - **An event** (Chat-met-je-CLB: an info evening, a crisis afternoon, a study fair) is a
//!   desk's event windows with one title that follow each other in its calendar: the three
//!   days of a study fair are one event. It counts the chats that arrived at its desk in
//!   one of its windows ([`EventQuery`], built from calendars by [`events_of`]); an event
//!   belongs to the report when its first window starts in the report's period.

use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::error::{Error, Result};
use crate::event::EndReason;
use crate::ids::DeskId;
use crate::registration::{topic, ChatResult, ClientType, FoundVia, Gender};

pub(crate) mod reference;

/// The time zone of periods (months, school years): the sector's.
pub const REPORT_TIME_ZONE: Tz = chrono_tz::Europe::Brussels;
/// The month a school year starts in (September).
pub const SCHOOL_YEAR_START_MONTH: u32 = 9;
/// The first school year of CLBch@t (2016-2017): the per-year table starts there at the
/// earliest.
pub const FIRST_SCHOOL_YEAR: i32 = 2016;
/// The per-year table shows at most this many school years, ending with the report's.
pub const MAX_HISTORY_YEARS: i32 = 10;
/// A report spans at most this many months (the per-month table has one row each).
pub const MAX_REPORT_MONTHS: usize = 60;
/// A report counts at most this many events (61 centres, a few events each a year).
pub const MAX_REPORT_EVENTS: usize = 2_000;
/// An event has at most this many windows.
pub const MAX_EVENT_WINDOWS: usize = 100;
/// How long a coverage sample holds at most without a newer one (see the module docs).
pub const COVERAGE_SAMPLE_VALID_FOR: Duration = Duration::from_secs(65 * 60);
/// While a desk is open, the engine records a coverage sample at least this often, even
/// when nothing changed.
pub const COVERAGE_HEARTBEAT: Duration = Duration::from_secs(45 * 60);

/// A named stretch of time, `[from, until)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// How a table names it, e.g. `2021-11` or `2021-2022`.
    pub label: String,
    /// First instant in it.
    pub from: DateTime<Utc>,
    /// First instant after it.
    pub until: DateTime<Utc>,
}

impl Period {
    /// The local dates `from ..= to` (both included) in [`REPORT_TIME_ZONE`].
    pub fn dates(label: impl Into<String>, from: NaiveDate, to: NaiveDate) -> Result<Period> {
        if to < from {
            return Err(Error::Invalid(format!(
                "report: the period ends ({to}) before it starts ({from})"
            )));
        }
        let next = to
            .succ_opt()
            .ok_or_else(|| Error::Invalid(format!("report: {to} is too far in the future")))?;
        Ok(Period {
            label: label.into(),
            from: local_midnight(from)?,
            until: local_midnight(next)?,
        })
    }

    /// The school year that starts in September of `start_year` (e.g. 2021: 2021-2022).
    pub fn school_year(start_year: i32) -> Result<Period> {
        let (from, to) = school_year_dates(start_year)?;
        Period::dates(school_year_label(start_year), from, to)
    }

    /// Whether `at` lies in it.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        at >= self.from && at < self.until
    }

    /// The first and last local dates of the period.
    pub fn local_dates(&self) -> (NaiveDate, NaiveDate) {
        let from = self.from.with_timezone(&REPORT_TIME_ZONE).date_naive();
        let last = (self.until - chrono::Duration::nanoseconds(1))
            .with_timezone(&REPORT_TIME_ZONE)
            .date_naive();
        (from, last)
    }
}

/// Local midnight of `date` in [`REPORT_TIME_ZONE`] (Brussels never skips midnight, but a
/// skipped one would start at the first instant after the gap).
fn local_midnight(date: NaiveDate) -> Result<DateTime<Utc>> {
    let midnight = date
        .and_hms_opt(0, 0, 0)
        .ok_or_else(|| Error::Invalid(format!("report: no midnight on {date}")))?;
    match REPORT_TIME_ZONE.from_local_datetime(&midnight) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            Ok(t.with_timezone(&Utc))
        }
        chrono::LocalResult::None => {
            let one_hour_later = midnight + chrono::Duration::hours(1);
            REPORT_TIME_ZONE
                .from_local_datetime(&one_hour_later)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| Error::Invalid(format!("report: no local time for {date}")))
        }
    }
}

/// The first and last date of the school year starting in `start_year`.
pub fn school_year_dates(start_year: i32) -> Result<(NaiveDate, NaiveDate)> {
    let bad = || Error::Invalid(format!("report: {start_year} is not a usable school year"));
    let from = NaiveDate::from_ymd_opt(start_year, SCHOOL_YEAR_START_MONTH, 1).ok_or_else(bad)?;
    let to = NaiveDate::from_ymd_opt(start_year + 1, SCHOOL_YEAR_START_MONTH, 1)
        .and_then(|d| d.pred_opt())
        .ok_or_else(bad)?;
    Ok((from, to))
}

/// The school year a date falls in, by its starting year (1 March 2022: 2021).
pub fn school_year_of(date: NaiveDate) -> i32 {
    if date.month() >= SCHOOL_YEAR_START_MONTH {
        date.year()
    } else {
        date.year() - 1
    }
}

/// `2021-2022` for 2021.
pub fn school_year_label(start_year: i32) -> String {
    format!("{start_year}-{}", start_year + 1)
}

/// A theme to count in its own period, e.g. COVID between 22/11 and 8/12/2021.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThemeQuery {
    /// Its name in the report (e.g. `COVID-19`).
    pub name: String,
    /// Topic codes of [`crate::registration::TOPICS`]; a chat is about the theme when its
    /// registration names at least one.
    pub topics: Vec<String>,
    /// The theme's period.
    pub period: Period,
}

/// What a report counts. Build it with [`ReportQuery::for_dates`] or
/// [`ReportQuery::school_year`]; the stores take the buckets as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportQuery {
    /// Only this desk; `None` for every desk.
    pub desk: Option<DeskId>,
    /// The report's period.
    pub period: Period,
    /// The rows of the per-month table: the calendar months of the period, the first and
    /// last cut to the period.
    pub months: Vec<Period>,
    /// The rows of the per-school-year table: from [`FIRST_SCHOOL_YEAR`] (or
    /// [`MAX_HISTORY_YEARS`] back) up to the school year the period ends in.
    pub school_years: Vec<Period>,
    /// A theme to count, if asked.
    pub theme: Option<ThemeQuery>,
    /// The events to count, each on its own (see [`events_of`]); empty: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventQuery>,
    /// Coverage is counted up to here at most (now, when the period has not ended).
    pub as_of: DateTime<Utc>,
}

/// One event to count: the windows of one desk that share a title (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventQuery {
    /// The desk (a centre's chatbox).
    pub desk: DeskId,
    /// The title visitors read ("Studiebeurs").
    pub title: String,
    /// Its windows, in order, not overlapping.
    pub windows: Vec<Period>,
}

impl EventQuery {
    /// When it opened first.
    pub fn starts_at(&self) -> Option<DateTime<Utc>> {
        self.windows.first().map(|w| w.from)
    }

    /// Whether a chat of `desk` that arrived at `at` belongs to this event.
    pub fn contains(&self, desk: &DeskId, at: DateTime<Utc>) -> bool {
        &self.desk == desk && self.windows.iter().any(|w| w.contains(at))
    }
}

/// The events of `desk`'s `calendar` whose first window starts in `period`, oldest first:
/// its event windows in time order, one event for each run of windows with the same title.
pub fn events_of(desk: &DeskId, calendar: &Calendar, period: &Period) -> Vec<EventQuery> {
    let mut windows: Vec<_> = calendar
        .event_windows
        .iter()
        .map(|w| (w.name.clone(), calendar.window_interval(w)))
        .filter(|(_, o)| o.start < o.end)
        .collect();
    windows.sort_by_key(|(_, o)| o.start);
    let mut events: Vec<EventQuery> = Vec::new();
    for (title, o) in windows {
        let window = Period {
            label: title.clone(),
            from: o.start,
            until: o.end,
        };
        match events.last_mut() {
            Some(e) if e.title == title && e.windows.len() < MAX_EVENT_WINDOWS => {
                e.windows.push(window);
            }
            _ => events.push(EventQuery {
                desk: desk.clone(),
                title,
                windows: vec![window],
            }),
        }
    }
    events.retain(|e| e.starts_at().is_some_and(|at| period.contains(at)));
    events
}

impl ReportQuery {
    /// The local dates `from ..= to` (both included), at `now`.
    pub fn for_dates(
        desk: Option<DeskId>,
        from: NaiveDate,
        to: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<ReportQuery> {
        let label = format!("{from} – {to}");
        let label = match school_year_dates(school_year_of(from)) {
            Ok((f, t)) if f == from && t == to => school_year_label(school_year_of(from)),
            _ => label,
        };
        let period = Period::dates(label, from, to)?;
        let mut months = Vec::new();
        let mut first = from;
        while first <= to {
            let next_month = if first.month() == 12 {
                NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
            }
            .ok_or_else(|| Error::Invalid(format!("report: no month after {first}")))?;
            let last = next_month.pred_opt().unwrap_or(next_month).min(to);
            months.push(Period::dates(
                format!("{:04}-{:02}", first.year(), first.month()),
                first,
                last,
            )?);
            if months.len() > MAX_REPORT_MONTHS {
                return Err(Error::Invalid(format!(
                    "report: a report spans at most {MAX_REPORT_MONTHS} months; choose a shorter period"
                )));
            }
            first = next_month;
        }
        let last_year = school_year_of(to);
        let first_year = FIRST_SCHOOL_YEAR
            .min(school_year_of(from))
            .max(last_year - MAX_HISTORY_YEARS + 1);
        let school_years = (first_year..=last_year)
            .map(Period::school_year)
            .collect::<Result<Vec<_>>>()?;
        Ok(ReportQuery {
            desk,
            period,
            months,
            school_years,
            theme: None,
            events: Vec::new(),
            as_of: now,
        })
    }

    /// The school year starting in September of `start_year`, at `now`.
    pub fn school_year(
        desk: Option<DeskId>,
        start_year: i32,
        now: DateTime<Utc>,
    ) -> Result<ReportQuery> {
        let (from, to) = school_year_dates(start_year)?;
        Self::for_dates(desk, from, to, now)
    }

    /// Adds the events of these desks' calendars (those of the query's desk only, when it
    /// has one) whose first window starts in the period, in order of their start (see
    /// [`events_of`]).
    pub fn add_events<'a>(&mut self, desks: impl IntoIterator<Item = (&'a DeskId, &'a Calendar)>) {
        for (desk, calendar) in desks {
            if self.desk.as_ref().is_none_or(|d| d == desk) {
                self.events.extend(events_of(desk, calendar, &self.period));
            }
        }
        self.events.sort_by(|a, b| {
            (a.starts_at(), &a.desk, &a.title).cmp(&(b.starts_at(), &b.desk, &b.title))
        });
    }

    /// Adds a theme counted between the local dates `from ..= to`.
    pub fn with_theme(
        mut self,
        name: impl Into<String>,
        topics: Vec<String>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<ReportQuery> {
        let name = name.into();
        let period = Period::dates(format!("{from} – {to}"), from, to)?;
        self.theme = Some(ThemeQuery {
            name,
            topics,
            period,
        });
        self.validate()?;
        Ok(self)
    }

    /// Checks what a hand-built query could get wrong: empty or reversed periods, unknown
    /// topics, too many rows.
    pub fn validate(&self) -> Result<()> {
        let check = |p: &Period, what: &str| {
            if p.until <= p.from {
                Err(Error::Invalid(format!(
                    "report: the {what} `{}` is empty or ends before it starts",
                    p.label
                )))
            } else {
                Ok(())
            }
        };
        check(&self.period, "period")?;
        // Instants are stored as nanoseconds since 1970 (the SQL stores), up to 2262.
        let bounds = |p: &Period, what: &str| {
            if p.from.year() < 1970 || p.until.year() > 2200 {
                Err(Error::Invalid(format!(
                    "report: the {what} `{}` is outside the years 1970 to 2199",
                    p.label
                )))
            } else {
                Ok(())
            }
        };
        bounds(&self.period, "period")?;
        if let Some(t) = &self.theme {
            bounds(&t.period, "theme period")?;
        }
        for m in &self.months {
            check(m, "month")?;
        }
        for y in &self.school_years {
            check(y, "school year")?;
        }
        if self.months.len() > MAX_REPORT_MONTHS {
            return Err(Error::Invalid(format!(
                "report: at most {MAX_REPORT_MONTHS} months"
            )));
        }
        if self.school_years.len() > usize::try_from(MAX_HISTORY_YEARS).unwrap_or(10) {
            return Err(Error::Invalid(format!(
                "report: at most {MAX_HISTORY_YEARS} school years"
            )));
        }
        if self.events.len() > MAX_REPORT_EVENTS {
            return Err(Error::Invalid(format!(
                "report: at most {MAX_REPORT_EVENTS} events; choose a shorter period"
            )));
        }
        for e in &self.events {
            if e.windows.is_empty() || e.windows.len() > MAX_EVENT_WINDOWS {
                return Err(Error::Invalid(format!(
                    "report: the event `{}` needs 1 to {MAX_EVENT_WINDOWS} windows",
                    e.title
                )));
            }
            if self.desk.as_ref().is_some_and(|d| d != &e.desk) {
                return Err(Error::Invalid(format!(
                    "report: the event `{}` is of another desk than the report's",
                    e.title
                )));
            }
            for w in &e.windows {
                check(w, "event window")?;
                bounds(w, "event window")?;
            }
        }
        if let Some(t) = &self.theme {
            check(&t.period, "theme period")?;
            if t.name.trim().is_empty() {
                return Err(Error::Invalid("report: give the theme a name".into()));
            }
            if t.topics.is_empty() {
                return Err(Error::Invalid(
                    "report: a theme needs at least one topic (e.g. `pgz.covid_medical`)".into(),
                ));
            }
            if let Some(bad) = t.topics.iter().find(|c| topic(c).is_none()) {
                return Err(Error::Invalid(format!(
                    "report: `{bad}` is not a topic of the taxonomy (e.g. `pgz.covid_medical`)"
                )));
            }
        }
        Ok(())
    }
}

/// What a coordinator asks for (the protocol's `report` frame): a desk, local dates, and
/// optionally a theme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRequest {
    /// The desk (a coordinator sees the reports of the desks they serve); none: every desk
    /// of the server (the sector's view, for the sector's administrator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desk: Option<DeskId>,
    /// First local date.
    pub from: NaiveDate,
    /// Last local date, included.
    pub to: NaiveDate,
    /// A theme to count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<ThemeRequest>,
}

/// A theme in a [`ReportRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThemeRequest {
    /// Its name.
    pub name: String,
    /// Topic codes.
    pub topics: Vec<String>,
    /// First local date (default: the report's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDate>,
    /// Last local date (default: the report's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<NaiveDate>,
}

impl ReportRequest {
    /// The query, at `now`.
    pub fn query(&self, now: DateTime<Utc>) -> Result<ReportQuery> {
        let q = ReportQuery::for_dates(self.desk.clone(), self.from, self.to, now)?;
        match &self.theme {
            None => Ok(q),
            Some(t) => q.with_theme(
                t.name.clone(),
                t.topics.clone(),
                t.from.unwrap_or(self.from),
                t.to.unwrap_or(self.to),
            ),
        }
    }
}

/// One state of a desk's staffing, recorded by the engine (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageSample {
    /// The desk.
    pub desk: DeskId,
    /// From when.
    pub at: DateTime<Utc>,
    /// Open by its calendar.
    pub open: bool,
    /// Counsellors online (connected, paused or not).
    pub counsellors: u32,
    /// Of which of the medical discipline.
    pub medical: u32,
    /// The desk's minimum of counsellors at that time.
    pub minimum: u32,
    /// Whether the desk wants a medical counsellor online (the national desk does; a
    /// centre's chatbox does not): only then does an hour without one count.
    pub medical_wanted: bool,
}

/// Figures of the whole period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Conversations that arrived (chats and the unserved).
    pub arrivals: u64,
    /// Chats (a counsellor took them).
    pub chats: u64,
    /// Chats that ended (their duration counts).
    pub ended: u64,
    /// Mean duration of ended chats, in seconds.
    pub mean_duration_secs: Option<f64>,
    /// Mean wait of chats, in seconds.
    pub mean_wait_secs: Option<f64>,
    /// 90th percentile of the wait of chats (nearest rank), in seconds.
    pub p90_wait_secs: Option<f64>,
    /// Left the queue before being served.
    pub abandoned_in_queue: u64,
    /// Mean time in the queue of those who left it, in seconds.
    pub mean_wait_abandoned_secs: Option<f64>,
    /// Not admitted: the expected wait ran past closing time.
    pub refused_before_closing: u64,
    /// Still waiting when the desk closed.
    pub closed_at_closing_time: u64,
    /// Not admitted: the queue was full.
    pub refused_queue_full: u64,
    /// Chats by how they ended, sorted by reason name.
    pub chats_by_end_reason: Vec<(EndReason, u64)>,
    /// Registered chats.
    pub registrations: u64,
    /// Registered as a suspected fake call.
    pub fake_calls: u64,
    /// Ratings given.
    pub ratings: u64,
    /// Mean stars.
    pub mean_stars: Option<f64>,
}

/// A topic and how many chats named it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicCount {
    /// Topic code.
    pub topic: String,
    /// Chats.
    pub chats: u64,
}

/// Figures for one client type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientFigures {
    /// Student, parent, other; `None`: unknown.
    pub client_type: Option<ClientType>,
    /// Chats.
    pub chats: u64,
    /// Chats that ended.
    pub ended: u64,
    /// Mean duration of those, in seconds.
    pub mean_duration_secs: Option<f64>,
    /// Ratings.
    pub ratings: u64,
    /// Mean stars.
    pub mean_stars: Option<f64>,
    /// Registered chats.
    pub registrations: u64,
    /// Registered as a suspected fake call.
    pub fake_calls: u64,
    /// Every topic named at least once, most named first (then by code).
    pub topics: Vec<TopicCount>,
    /// Every result of [`ChatResult::ALL`], in that order, with its count (zero too).
    pub results: Vec<(ChatResult, u64)>,
    /// Every answer of [`FoundVia::ALL`], in that order, with its count (zero too).
    pub found_via: Vec<(FoundVia, u64)>,
    /// Registrations with an age.
    pub ages: u64,
    /// Their mean age.
    pub mean_age: Option<f64>,
    /// F, M, X in that order, with their count.
    pub genders: Vec<(Gender, u64)>,
}

/// Chats in one period of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodCount {
    /// The period.
    pub period: Period,
    /// Chats.
    pub chats: u64,
    /// Of which with students.
    pub students: u64,
    /// Of which with parents.
    pub parents: u64,
}

/// A theme's figures for one client type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThemeClient {
    /// The registered client type.
    pub client_type: Option<ClientType>,
    /// Chats about the theme.
    pub chats: u64,
    /// With an age.
    pub ages: u64,
    /// Mean age (for parents: of their child).
    pub mean_age: Option<f64>,
}

/// A theme's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThemeFigures {
    /// What was asked.
    pub query: ThemeQuery,
    /// All chats in the theme's period.
    pub chats: u64,
    /// Of which about the theme.
    pub about_theme: u64,
    /// Those by registered client type (student, parent, other), each present once.
    pub clients: Vec<ThemeClient>,
    /// Mean duration of the theme's chats that ended, in seconds.
    pub mean_duration_secs: Option<f64>,
    /// Ratings of the theme's chats.
    pub ratings: u64,
    /// Their mean stars.
    pub mean_stars: Option<f64>,
}

/// One desk's use (the per-centre chatbox table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeskFigures {
    /// The desk.
    pub desk: DeskId,
    /// Chats.
    pub chats: u64,
    /// Mean duration of ended chats, in seconds.
    pub mean_duration_secs: Option<f64>,
    /// Ratings.
    pub ratings: u64,
    /// Mean stars.
    pub mean_stars: Option<f64>,
}

/// One event's figures (see [`EventQuery`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventFigures {
    /// What was counted.
    pub query: EventQuery,
    /// Visitors who came in its windows (served or not).
    pub arrivals: u64,
    /// Chats.
    pub chats: u64,
    /// Chats by client type (student, parent, teacher, other, unknown; those with chats).
    pub clients: Vec<(Option<ClientType>, u64)>,
    /// Chats that ended.
    pub ended: u64,
    /// Mean duration of ended chats, in seconds.
    pub mean_duration_secs: Option<f64>,
    /// Ratings.
    pub ratings: u64,
    /// Mean stars.
    pub mean_stars: Option<f64>,
}

impl EventFigures {
    /// The figures of an event nobody came to.
    pub fn empty(query: EventQuery) -> Self {
        Self {
            query,
            arrivals: 0,
            chats: 0,
            clients: Vec::new(),
            ended: 0,
            mean_duration_secs: None,
            ratings: 0,
            mean_stars: None,
        }
    }

    /// The chats of one client type.
    pub fn chats_of(&self, client_type: Option<ClientType>) -> u64 {
        self.clients
            .iter()
            .find(|(t, _)| *t == client_type)
            .map_or(0, |(_, n)| *n)
    }
}

/// One desk's coverage in the period, in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageFigures {
    /// The desk.
    pub desk: DeskId,
    /// Open (by the recorded samples).
    pub open_secs: u64,
    /// Open with fewer counsellors online than the desk's minimum.
    pub below_minimum_secs: u64,
    /// Open with no medical counsellor online, where the desk wants one.
    pub no_medical_secs: u64,
}

/// Everything a report shows, as counts; a renderer turns it into tables and charts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportData {
    /// What was asked.
    pub query: ReportQuery,
    /// The period's totals.
    pub totals: Totals,
    /// By client type: student, parent, other, unknown, each present once when it has chats
    /// or registrations.
    pub clients: Vec<ClientFigures>,
    /// One row per month of the query.
    pub months: Vec<PeriodCount>,
    /// One row per school year of the query.
    pub school_years: Vec<PeriodCount>,
    /// The theme, when asked.
    pub theme: Option<ThemeFigures>,
    /// Per desk with chats in the period, by desk id.
    pub desks: Vec<DeskFigures>,
    /// Per desk with coverage samples in the period, by desk id.
    pub coverage: Vec<CoverageFigures>,
    /// One per event of the query, in the query's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventFigures>,
}

impl ReportData {
    /// The figures of one client type, if it had any.
    pub fn client(&self, client_type: Option<ClientType>) -> Option<&ClientFigures> {
        self.clients.iter().find(|c| c.client_type == client_type)
    }
}

/// The order client types appear in: student, parent, teacher, other, unknown.
pub fn client_type_rank(t: Option<ClientType>) -> u8 {
    match t {
        Some(ClientType::Student) => 0,
        Some(ClientType::Parent) => 1,
        Some(ClientType::Teacher) => 2,
        Some(ClientType::Other) => 3,
        None => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
    }

    #[test]
    fn a_calendar_s_windows_with_one_title_in_a_row_are_one_event() {
        use crate::calendar::EventWindow;
        let at = |d: u32, h: u32| date(2022, 3, d).and_hms_opt(h, 0, 0).expect("a time");
        let window = |name: &str, d: u32, from: u32, to: u32| EventWindow {
            name: name.into(),
            welcome: None,
            start: at(d, from),
            end: at(d, to),
        };
        // Out of order on purpose: the calendar's order is not the events' order.
        let calendar = Calendar::events_only(vec![
            window("Studiebeurs", 11, 10, 17),
            window("Infoavond", 1, 19, 21),
            window("Studiebeurs", 10, 10, 17),
            window("Studiebeurs", 12, 10, 17),
            window("Infoavond", 20, 19, 21),
            window("Na de brand", 25, 12, 20),
        ]);
        let desk = DeskId::new("clb-brugge");
        let march = Period::dates("maart", date(2022, 3, 2), date(2022, 3, 31)).expect("period");
        let events = events_of(&desk, &calendar, &march);
        let shape: Vec<(&str, usize)> = events
            .iter()
            .map(|e| (e.title.as_str(), e.windows.len()))
            .collect();
        // The info evening of 1 March started before the period: not in it.
        assert_eq!(
            shape,
            [("Studiebeurs", 3), ("Infoavond", 1), ("Na de brand", 1)]
        );
        let fair = &events[0];
        assert!(fair.desk == desk && fair.windows.windows(2).all(|w| w[0].until <= w[1].from));
        // 10:00 in Brussels in March (winter time) is 09:00 UTC.
        assert_eq!(
            fair.starts_at(),
            Some(Utc.with_ymd_and_hms(2022, 3, 10, 9, 0, 0).unwrap())
        );
        let inside = Utc.with_ymd_and_hms(2022, 3, 11, 12, 0, 0).unwrap();
        let night = Utc.with_ymd_and_hms(2022, 3, 11, 20, 0, 0).unwrap();
        assert!(fair.contains(&desk, inside));
        assert!(!fair.contains(&desk, night));
        assert!(!fair.contains(&DeskId::new("clb-gent"), inside));
    }

    #[test]
    fn a_school_year_has_twelve_months_from_september_at_brussels_midnight() {
        let now = Utc::now();
        let q = ReportQuery::school_year(None, 2021, now).expect("a query");
        assert_eq!(q.period.label, "2021-2022");
        assert_eq!(q.months.len(), 12);
        assert_eq!(q.months[0].label, "2021-09");
        assert_eq!(q.months[11].label, "2022-08");
        // 1 September 2021 00:00 in Brussels is 31 August 22:00 UTC (summer time).
        assert_eq!(
            q.period.from,
            Utc.with_ymd_and_hms(2021, 8, 31, 22, 0, 0).unwrap()
        );
        // November starts at 23:00 UTC (winter time): the months follow local midnight.
        assert_eq!(
            q.months[2].from,
            Utc.with_ymd_and_hms(2021, 10, 31, 23, 0, 0).unwrap()
        );
        assert_eq!(q.months[11].until, q.period.until);
        for pair in q.months.windows(2) {
            assert_eq!(pair[0].until, pair[1].from, "months are contiguous");
        }
        let labels: Vec<_> = q.school_years.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "2016-2017",
                "2017-2018",
                "2018-2019",
                "2019-2020",
                "2020-2021",
                "2021-2022"
            ]
        );
        assert_eq!(
            q.period.local_dates(),
            (date(2021, 9, 1), date(2022, 8, 31))
        );
    }

    #[test]
    fn a_date_range_cuts_its_first_and_last_month_and_keeps_ten_years_at_most() {
        let q = ReportQuery::for_dates(None, date(2030, 11, 22), date(2031, 1, 8), Utc::now())
            .expect("a query");
        assert_eq!(q.period.label, "2030-11-22 – 2031-01-08");
        let months: Vec<_> = q.months.iter().map(|m| m.local_dates()).collect();
        assert_eq!(
            months,
            [
                (date(2030, 11, 22), date(2030, 11, 30)),
                (date(2030, 12, 1), date(2030, 12, 31)),
                (date(2031, 1, 1), date(2031, 1, 8)),
            ]
        );
        assert_eq!(q.school_years.len(), 10);
        assert_eq!(q.school_years[0].label, "2021-2022");
        assert_eq!(q.school_years[9].label, "2030-2031");
    }

    #[test]
    fn mistakes_are_refused_with_the_reason() {
        let now = Utc::now();
        let err = ReportQuery::for_dates(None, date(2022, 1, 2), date(2022, 1, 1), now)
            .unwrap_err()
            .to_string();
        assert!(err.contains("ends (2022-01-01) before it starts"), "{err}");
        let err = ReportQuery::for_dates(None, date(2000, 1, 1), date(2022, 1, 1), now)
            .unwrap_err()
            .to_string();
        assert!(err.contains("at most 60 months"), "{err}");
        let q = ReportQuery::school_year(None, 2021, now).expect("a query");
        let err = q
            .clone()
            .with_theme(
                "COVID",
                vec!["pgz.covid".into()],
                date(2021, 11, 22),
                date(2021, 12, 8),
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("`pgz.covid` is not a topic"), "{err}");
        let err = q
            .with_theme("COVID", vec![], date(2021, 11, 22), date(2021, 12, 8))
            .unwrap_err()
            .to_string();
        assert!(err.contains("at least one topic"), "{err}");
        let far = ReportQuery::for_dates(None, date(2300, 1, 1), date(2300, 1, 2), now)
            .expect("a query")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(far.contains("outside the years 1970 to 2199"), "{far}");
    }

    #[test]
    fn school_years_start_in_september() {
        assert_eq!(school_year_of(date(2022, 3, 1)), 2021);
        assert_eq!(school_year_of(date(2022, 9, 1)), 2022);
        assert_eq!(school_year_of(date(2022, 8, 31)), 2021);
    }
}
