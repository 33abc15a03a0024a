//! Demo data: a synthetic school year played through the real engine and the real store,
//! so a deployer sees a filled report on the first day (`clbchat demo-data`).
//!
//! # How it plays
//!
//! The year runs on tokio's paused clock (the caller's runtime must be a current-thread
//! runtime started paused): arrivals over the months and the opening hours of the
//! calendar, counsellors on overlapping shifts of about three hours (three to five
//! online, usually one of them medical), students and parents in the published split,
//! chats around the published 18.5 minutes that the engine caps at 45, the published
//! result and topic shares, about 5% suspected fake calls, returning visitors, ratings
//! around the published means, and three centre chatboxes opened for an event (an info
//! evening, a crisis afternoon, a three-day study fair). Everything goes through the
//! engine's public API, exactly as the WebSocket transport drives it; the engine writes
//! the store.
//!
//! # The store on a paused clock
//!
//! A paused tokio clock jumps to the next timer as soon as every task is idle, also while
//! a task waits for the database thread, which would make a write appear to take minutes
//! and fire time-outs. And the store's own timers (the connection pool's maintenance task,
//! its acquire time-outs) must not run on such a clock at all: on a clock that jumps
//! whenever the runtime is idle, `demo-data` hung about one run in fifteen, spinning in
//! the pool's maintenance task, until the store moved off the paused runtime.
//! So the store lives on a [`StoreRuntime`], a runtime on real time on a thread of its
//! own, where it is opened, called and closed; the engine on the paused runtime reaches
//! it through [`Unhurried`], which runs each call there and holds a blocking task open
//! while it waits: tokio does not advance a paused clock while a blocking task runs. The
//! SQL store is opened without a group-commit delay and, since demo data is not
//! precious, in the faster durability mode.
//!
//! # What it returns
//!
//! A [`Ledger`] of what was generated and what the counsellor and visitor agents saw:
//! the test compares the report against it.

mod agents;
mod runtime;
mod sampling;

use agents::{counsellor, visitor};
pub use runtime::{StoreRuntime, Unhurried};
use sampling::{exponential, month_weight, pick, plan};

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use clbchat_core::account::{Account, StaffIdentity, StaffRole};
use clbchat_core::appointment::{Appointment, AppointmentFilter};
use clbchat_core::auth::{Authenticator, Credential};
use clbchat_core::calendar::{Calendar, EventWindow, Opening};
use clbchat_core::centre::Centre;
use clbchat_core::clock::{Clock, TokioClock};
use clbchat_core::config::DeskConfig;
use clbchat_core::engine::{Arrival, Engine, StaffSession, VisitorSession};
use clbchat_core::event::{ClientProfile, Discipline, EventBody, LoggedEvent, Role, ServerEvent};
use clbchat_core::flags::Flag;
use clbchat_core::ids::{
    AppointmentId, CentreId, ClientMsgId, ConversationId, DeskId, FlagId, StaffId,
};
use clbchat_core::pseudonym::Pseudonym;
use clbchat_core::registration::{
    ChatResult, ClientType, FoundVia, Gender, Rating, Registration, RegistrationForm,
};
use clbchat_core::statistics::{school_year_dates, CoverageSample, ReportData, ReportQuery};
use clbchat_core::store::{ConversationFilter, ConversationMeta, Store, Summary, TranscriptRead};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::{Error, Result};

/// Chats CLBch@t held in 2021-2022 (the default size of a demo year).
pub const PUBLISHED_CHATS: u32 = 8_813;
/// The school year whose calendar and figures the demo follows by default.
pub const DEFAULT_SCHOOL_YEAR: i32 = 2021;
/// Chats of the study fair in 2021-2022 (1,017 in 3 days), scaled with the year.
const STUDY_FAIR_CHATS: f64 = 1_017.0;
/// The password of the demo counsellors (they exist only inside the simulation).
const DEMO_PASSWORD: &str = "demo-only";

/// What to play.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The national desk (its id, name and limits; the calendar is replaced by the year's).
    pub desk: DeskConfig,
    /// The school year (starting year) to fill.
    pub school_year: i32,
    /// The year's calendar for the national desk.
    pub calendar: Calendar,
    /// About how many chats the national desk holds in the year.
    pub chats: u32,
    /// Also three centre chatboxes with an event each.
    pub chatboxes: bool,
    /// The random seed: the same seed plays the same year.
    pub seed: u64,
}

/// One chat as the agents saw it.
#[derive(Debug, Clone)]
pub struct ChatRecord {
    /// The desk.
    pub desk: DeskId,
    /// The conversation.
    pub conversation: ConversationId,
    /// The counsellor joined (the log's `joined` entry).
    pub started_at: DateTime<Utc>,
    /// The log's `ended` entry.
    pub ended_at: Option<DateTime<Utc>>,
    /// What the counsellor registered.
    pub registration: Option<RegistrationForm>,
    /// The visitor's stars.
    pub stars: Option<u8>,
}

/// What the demo generated and saw.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    /// Visitors who came (national desk and chatboxes).
    pub arrivals: u64,
    /// Turned away at the door (closing time near, queue full, closed).
    pub refused: u64,
    /// Left the queue before a counsellor came.
    pub left_queue: u64,
    /// The chats.
    pub chats: Vec<ChatRecord>,
}

#[derive(Debug, Clone)]
struct Plan {
    client_type: ClientType,
    age: u8,
    gender: Option<Gender>,
    health_question: bool,
    patience: Duration,
    length: Duration,
    ending: Ending,
    topics: Vec<String>,
    results: Vec<ChatResult>,
    found_via: Option<FoundVia>,
    fake_call: bool,
    stars: Option<u8>,
    token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    ClientLeaves,
    CounsellorEnds,
    BrokenOff,
}

/// Who comes to a desk: the parents' share and the mean chat length in minutes.
#[derive(Debug, Clone, Copy)]
struct Audience {
    parent_share: f64,
    mean_minutes: f64,
}

/// What the agents share.
struct Shared {
    /// The simulation's wall clock (the engine's).
    clock: Arc<dyn Clock>,
    /// Plans by the visitor's nickname (the counsellor sees it in `chat_assigned`).
    plans: Mutex<HashMap<String, Plan>>,
    chats: Mutex<HashMap<ConversationId, ChatRecord>>,
    /// Tokens of visitors who may come back, the later fake callers among them.
    returning: Mutex<Vec<(String, bool)>>,
    arrivals: AtomicU64,
    refused: AtomicU64,
    left_queue: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The demo counsellors: anyone whose name the simulation made, with the demo password.
#[derive(Default)]
struct DemoStaff(Mutex<HashMap<String, StaffIdentity>>);

#[async_trait]
impl Authenticator for DemoStaff {
    async fn authenticate(&self, credential: &Credential) -> clbchat_core::Result<StaffIdentity> {
        let Credential::Password { username, password } = credential;
        match lock(&self.0).get(username) {
            Some(id) if password == DEMO_PASSWORD => Ok(id.clone()),
            _ => Err(clbchat_core::Error::BadCredentials),
        }
    }
}

// ---------------------------------------------------------------------------------------
// the year

/// The chatboxes of the demo: (id, name, event, first local day, days, hours, chats at
/// the published scale).
struct Chatbox {
    id: &'static str,
    name: &'static str,
    event: &'static str,
    month: u32,
    day: u32,
    days: u32,
    hours: (u32, u32),
    chats: f64,
}

const CHATBOXES: &[Chatbox] = &[
    Chatbox {
        id: "clb-gent",
        name: "CLB Gent",
        event: "Infoavond studiekeuze",
        month: 2,
        day: 10,
        days: 1,
        hours: (19, 21),
        chats: 40.0,
    },
    Chatbox {
        id: "clb-kempen",
        name: "CLB Kempen",
        event: "Na een ongeval met een schoolbus",
        month: 11,
        day: 16,
        days: 1,
        hours: (12, 20),
        chats: 60.0,
    },
    Chatbox {
        id: "clb-brugge",
        name: "CLB Brugge",
        event: "Studiebeurs",
        month: 3,
        day: 10,
        days: 3,
        hours: (10, 17),
        chats: STUDY_FAIR_CHATS,
    },
];

fn local(date: NaiveDate, hour: u32) -> Result<NaiveDateTime> {
    date.and_hms_opt(hour, 0, 0)
        .ok_or_else(|| Error::Refused(format!("demo data: no {hour}:00 on {date}")))
}

/// The desks of the demo: the national one and, if asked, the chatboxes with their
/// events in this school year, with the chats each should get.
fn desks(options: &DemoOptions) -> Result<Vec<(DeskConfig, f64, Vec<Discipline>)>> {
    let mut national = options.desk.clone();
    national.calendar = options.calendar.clone();
    let mut out = vec![(
        national,
        f64::from(options.chats),
        vec![
            Discipline::Medical,
            Discipline::PsychoPedagogical,
            Discipline::SocialWork,
            Discipline::Paramedical,
            Discipline::PsychoPedagogical,
        ],
    )];
    if options.chatboxes {
        let scale = f64::from(options.chats) / f64::from(PUBLISHED_CHATS);
        for c in CHATBOXES {
            let year = if c.month >= 9 {
                options.school_year
            } else {
                options.school_year + 1
            };
            let first = NaiveDate::from_ymd_opt(year, c.month, c.day)
                .ok_or_else(|| Error::Refused("demo data: a chatbox date".into()))?;
            let windows = (0..c.days)
                .map(|d| {
                    let day = first + chrono::Duration::days(i64::from(d));
                    Ok(EventWindow {
                        name: c.event.into(),
                        welcome: None,
                        start: local(day, c.hours.0)?,
                        end: local(day, c.hours.1)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let config = DeskConfig::chatbox(c.id, c.name, Calendar::events_only(windows));
            let team = if c.chats > 500.0 {
                vec![Discipline::PsychoPedagogical; 5]
            } else {
                vec![Discipline::PsychoPedagogical, Discipline::SocialWork]
            };
            out.push((config, (c.chats * scale).max(1.0), team));
        }
    }
    Ok(out)
}

/// The openings of a calendar in the school year.
fn openings(calendar: &Calendar, school_year: i32) -> Result<Vec<Opening>> {
    let (from, to) = school_year_dates(school_year)?;
    let mut out = Vec::new();
    let mut day = from;
    while day <= to {
        out.extend(calendar.openings_on(day));
        day = day
            .succ_opt()
            .ok_or_else(|| Error::Refused("demo data: the calendar ran out of days".into()))?;
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The shifts of an opening: blocks of at most three hours, each overlapping the next by
/// half an hour.
fn shifts(o: &Opening) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let len = o.end - o.start;
    let block = chrono::Duration::hours(3);
    let overlap = chrono::Duration::minutes(30);
    if len <= block + overlap {
        let half = o.start + len / 2;
        if len > chrono::Duration::hours(2) {
            return vec![(o.start, half + overlap / 2), (half - overlap / 2, o.end)];
        }
        return vec![(o.start, o.end)];
    }
    let mut out = Vec::new();
    let mut s = o.start;
    while s < o.end {
        let e = (s + block).min(o.end);
        out.push((s, e));
        if e >= o.end {
            break;
        }
        s = e - overlap;
    }
    out
}

/// Stores a demo chatbox as a centre with its calendar, this year's event windows added to
/// those of other demo years, so the report counts its events and names it.
async fn keep_chatbox(
    store: &dyn Store,
    config: &mut DeskConfig,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut calendar = store
        .calendar(&config.id)
        .await?
        .unwrap_or_else(|| Calendar::events_only(vec![]));
    for w in &config.calendar.event_windows {
        if !calendar.event_windows.contains(w) {
            calendar.event_windows.push(w.clone());
        }
    }
    calendar.event_windows.sort_by_key(|w| w.start);
    store.put_calendar(&config.id, &calendar).await?;
    config.calendar = calendar;
    let id = clbchat_core::ids::CentreId(config.id.0.clone());
    if store.centre(&id).await?.is_none() {
        store
            .put_centre(&clbchat_core::centre::Centre {
                id,
                name: config.name.clone(),
                origins: Vec::new(),
                created_at: now,
            })
            .await?;
    }
    Ok(())
}

/// Plays the year. Call on a current-thread runtime with paused time (see the module
/// docs); `store` is the real store, opened on `store_runtime` and wrapped in
/// [`Unhurried`] by this function.
pub async fn play_school_year(
    store: Arc<dyn Store>,
    store_runtime: &StoreRuntime,
    options: DemoOptions,
) -> Result<Ledger> {
    let (first_day, last_day) = school_year_dates(options.school_year)?;
    let start = first_day
        .and_hms_opt(0, 0, 0)
        .and_then(|t| {
            t.and_local_timezone(clbchat_core::statistics::REPORT_TIME_ZONE)
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| Error::Refused("demo data: the year has no start".into()))?;
    let store: Arc<dyn Store> = Arc::new(Unhurried::new(store, store_runtime));
    let staff = Arc::new(DemoStaff::default());
    let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(start));
    let engine = Engine::builder(store.clone())
        .clock(clock.clone())
        .authenticator(staff.clone())
        .build();
    let shared = Arc::new(Shared {
        clock,
        plans: Mutex::default(),
        chats: Mutex::default(),
        returning: Mutex::default(),
        arrivals: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        left_queue: AtomicU64::new(0),
    });
    let mut rng = StdRng::seed_from_u64(options.seed);
    let origin = tokio::time::Instant::now();
    let at = |t: DateTime<Utc>| origin + (t - start).to_std().unwrap_or_default();

    // What happens when: (instant, what).
    enum Todo {
        Shift(DeskId, DateTime<Utc>, Discipline),
        Visit(DeskId, Audience),
    }
    let mut agenda: Vec<(DateTime<Utc>, Todo)> = Vec::new();
    for (mut config, chats, team) in desks(&options)? {
        if config.id != options.desk.id {
            keep_chatbox(store.as_ref(), &mut config, start).await?;
        }
        engine.add_desk(config.clone()).await?;
        // A calendar a coordinator saved replaces the configured one: plan on the one in force.
        if let Some(c) = engine.desks().into_iter().find(|d| d.id == config.id) {
            config = c;
        }
        let opens = openings(&config.calendar, options.school_year)?;
        let weight = |o: &Opening| {
            let month = o
                .start
                .with_timezone(&clbchat_core::statistics::REPORT_TIME_ZONE)
                .month();
            let w = if config.id == options.desk.id {
                month_weight(month)
            } else {
                1.0
            };
            (o.end - o.start).num_seconds() as f64 / 60.0 * w
        };
        let weighted: f64 = opens.iter().map(weight).sum();
        if weighted <= 0.0 {
            continue;
        }
        // About one visitor in seven leaves the queue or is sent home at closing time at the
        // published volume: aim the arrivals that much higher.
        let per_minute = chats * 1.17 / weighted;
        let parent_share = if config.id == options.desk.id {
            0.165
        } else {
            0.04
        };
        let mean_minutes = if config.id == options.desk.id {
            18.5
        } else {
            11.0
        };
        for o in &opens {
            let rate = per_minute * weight(o) / ((o.end - o.start).num_seconds() as f64 / 60.0);
            let mut t = o.start;
            loop {
                t += chrono::Duration::milliseconds(
                    (exponential(&mut rng, 1.0 / rate) * 60_000.0) as i64,
                );
                if t >= o.end {
                    break;
                }
                agenda.push((
                    t,
                    Todo::Visit(
                        config.id.clone(),
                        Audience {
                            parent_share,
                            mean_minutes,
                        },
                    ),
                ));
            }
            for (from, until) in shifts(o) {
                // Three to six online; now and then someone cancels and a shift has two.
                let n = if config.id == options.desk.id {
                    pick(
                        &mut rng,
                        &[(2, 0.05), (3, 0.25), (4, 0.35), (5, 0.25), (6, 0.10)],
                    )
                } else {
                    team.len()
                };
                let medical_today = config.id == options.desk.id && rng.gen_bool(0.9);
                for i in 0..n {
                    let d = if i == 0 && medical_today {
                        Discipline::Medical
                    } else {
                        team[1 + (i % (team.len().max(2) - 1))]
                    };
                    agenda.push((from, Todo::Shift(config.id.clone(), until, d)));
                }
            }
        }
    }
    agenda.sort_by_key(|(t, _)| *t);

    let mut n = 0u64;
    let mut month = 0u32;
    let mut staff_n = 0u64;
    for (t, todo) in agenda {
        tokio::time::sleep_until(at(t)).await;
        let m = t
            .with_timezone(&clbchat_core::statistics::REPORT_TIME_ZONE)
            .month();
        if m != month {
            month = m;
            tracing::info!(month = %t.format("%Y-%m"), chats = lock(&shared.chats).len(), "demo data");
        }
        match todo {
            Todo::Visit(desk, who) => {
                n += 1;
                let plan = plan(&mut rng, who.parent_share, who.mean_minutes, &shared);
                tokio::spawn(visitor(engine.clone(), shared.clone(), desk, n, plan));
            }
            Todo::Shift(desk, until, discipline) => {
                staff_n += 1;
                let id = format!("demo-{staff_n}");
                let identity = StaffIdentity {
                    id: StaffId::new(id.clone()),
                    alias: format!("Hulpverlener {}", 1 + staff_n % 180),
                    role: StaffRole::Counsellor,
                    discipline,
                    desks: vec![desk.clone()],
                    // Some experienced counsellors take two chats at a time.
                    capacity: if rng.gen_bool(0.35) { 2 } else { 1 },
                    centre: None,
                };
                lock(&staff.0).insert(id.clone(), identity);
                let session = engine
                    .login(&Credential::Password {
                        username: id,
                        password: DEMO_PASSWORD.into(),
                    })
                    .await?;
                tokio::spawn(counsellor(session, shared.clone(), desk, until, at(until)));
            }
        }
    }
    // Let the last evening end: every chat within the limit, registrations done.
    let end = last_day
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| {
            t.and_local_timezone(clbchat_core::statistics::REPORT_TIME_ZONE)
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(start);
    tokio::time::sleep_until(
        at(end).max(tokio::time::Instant::now() + Duration::from_secs(3 * 3600)),
    )
    .await;
    engine.shutdown().await;

    let chats: Vec<ChatRecord> = lock(&shared.chats).values().cloned().collect();
    let mut chats = chats;
    chats.sort_by_key(|c| c.started_at);
    Ok(Ledger {
        arrivals: shared.arrivals.load(Ordering::Relaxed),
        refused: shared.refused.load(Ordering::Relaxed),
        left_queue: shared.left_queue.load(Ordering::Relaxed),
        chats,
    })
}

/// Whether the store has conversations in the school year (demo data goes only into an
/// empty year).
pub async fn year_has_chats(store: &dyn Store, school_year: i32) -> Result<bool> {
    let (from, to) = school_year_dates(school_year)?;
    let q = ReportQuery::for_dates(None, from, to, Utc::now())?;
    has_chats(store, Some(q.period.from), Some(q.period.until)).await
}

/// Whether the store has any conversation at all.
pub async fn store_has_chats(store: &dyn Store) -> Result<bool> {
    has_chats(store, None, None).await
}

async fn has_chats(
    store: &dyn Store,
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> Result<bool> {
    let found = store
        .conversations(&ConversationFilter {
            arrived_from: from,
            arrived_until: until,
            limit: Some(1),
            ..ConversationFilter::default()
        })
        .await?;
    Ok(!found.is_empty())
}
