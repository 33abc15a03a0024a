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

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use clbchat_core::account::{Account, StaffIdentity, StaffRole};
use clbchat_core::auth::{Authenticator, Credential};
use clbchat_core::calendar::{Calendar, EventWindow, Opening};
use clbchat_core::clock::{Clock, TokioClock};
use clbchat_core::config::DeskConfig;
use clbchat_core::engine::{Arrival, Engine, StaffSession, VisitorSession};
use clbchat_core::event::{ClientProfile, Discipline, EventBody, LoggedEvent, Role, ServerEvent};
use clbchat_core::flags::Flag;
use clbchat_core::ids::{ClientMsgId, ConversationId, DeskId, FlagId, StaffId};
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
// sampling

fn pick<T: Copy>(rng: &mut StdRng, weighted: &[(T, f64)]) -> T {
    let total: f64 = weighted.iter().map(|(_, w)| w).sum();
    let mut x = rng.gen::<f64>() * total;
    for (v, w) in weighted {
        if x < *w {
            return *v;
        }
        x -= w;
    }
    weighted[weighted.len() - 1].0
}

fn exponential(rng: &mut StdRng, mean: f64) -> f64 {
    -mean * (1.0 - rng.gen::<f64>()).ln()
}

fn normal(rng: &mut StdRng, mean: f64, sd: f64) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen::<f64>();
    mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The students' topics with the published counts (top 10) and smaller others.
const STUDENT_TOPICS: &[(&str, f64)] = &[
    ("olb.study_choice", 1014.0),
    ("psf.family", 708.0),
    ("psf.in_love", 456.0),
    ("pgz.sexuality", 426.0),
    ("psf.relationship_skills", 411.0),
    ("psf.bullying", 373.0),
    ("psf.suicidal_thoughts", 351.0),
    ("psf.depression", 323.0),
    ("ls.study_method", 297.0),
    ("psf.self_harm", 247.0),
    ("psf.anxiety", 200.0),
    ("ls.motivation", 150.0),
    ("pgz.eating", 120.0),
    ("psf.gender_diversity", 90.0),
    ("pgz.physical_health", 80.0),
    ("psf.covid_related", 60.0),
    ("pgz.substances", 50.0),
];

/// The parents' topics with the published counts.
const PARENT_TOPICS: &[(&str, f64)] = &[
    ("olb.study_choice", 332.0),
    ("pgz.covid_medical", 221.0),
    ("ls.learning_difficulties", 104.0),
    ("psf.family", 81.0),
    ("pgz.vaccination_covid", 51.0),
    ("pgz.vaccination", 37.0),
    ("psf.rule_breaking", 35.0),
    ("psf.covid_related", 34.0),
    ("pgz.contact_moment", 32.0),
    ("ls.motivation", 32.0),
    ("olb.school_change", 25.0),
    ("psf.bullying", 20.0),
];

/// The published result shares (students, parents), besides "broken off", which follows
/// from how the chat ended.
const RESULT_SHARES: &[(ChatResult, f64, f64)] = &[
    (ChatResult::EmotionalSupport, 0.3384, 0.1020),
    (ChatResult::InformationAdvice, 0.4177, 0.4606),
    (ChatResult::ReferredToClb, 0.1524, 0.4286),
    (ChatResult::ReferredToSchoolCare, 0.1126, 0.1093),
    (ChatResult::ReferredToNetwork, 0.0975, 0.0671),
];

/// Each result is drawn with its share times this scale, and a chat left without any
/// result (the registration needs one) gets one drawn by share: with these scales the
/// shares come out as published (solved numerically for the shares above and the
/// broken-off rates of 21.93% and 10.42%).
const STUDENT_RESULT_SCALE: f64 = 0.719;
const PARENT_RESULT_SCALE: f64 = 0.705;

/// How clients found the chat (the published proportions, roughly).
const FOUND_VIA: &[(FoundVia, f64)] = &[
    (FoundVia::Smartschool, 2300.0),
    (FoundVia::ClbWebsite, 1200.0),
    (FoundVia::SchoolWebsite, 600.0),
    (FoundVia::OtherChatLine, 1900.0),
    (FoundVia::SocialMedia, 500.0),
    (FoundVia::PostersFlyers, 200.0),
    (FoundVia::Other, 300.0),
];

/// Stars with a mean of about 4.24 (students) and 4.52 (parents).
const STARS_STUDENTS: &[(u8, f64)] = &[(5, 0.55), (4, 0.25), (3, 0.12), (2, 0.04), (1, 0.04)];
const STARS_PARENTS: &[(u8, f64)] = &[(5, 0.66), (4, 0.24), (3, 0.06), (2, 0.02), (1, 0.02)];

/// Busier and quieter months (September and the November COVID wave busier, summer
/// quiet), as weights on the arrival rate per open minute.
fn month_weight(month: u32) -> f64 {
    match month {
        9 => 1.15,
        10 => 1.0,
        11 => 1.3,
        12 => 0.85,
        1..=3 => 1.0,
        4 => 0.8,
        5 => 0.95,
        6 => 0.8,
        7 => 0.45,
        _ => 0.55,
    }
}

fn plan(rng: &mut StdRng, parent_share: f64, mean_minutes: f64, shared: &Shared) -> Plan {
    let client_type = if rng.gen_bool(parent_share) {
        ClientType::Parent
    } else {
        ClientType::Student
    };
    let student = client_type == ClientType::Student;
    let age = if student {
        normal(rng, 14.5, 1.9).round().clamp(10.0, 20.0)
    } else {
        normal(rng, 11.0, 3.5).round().clamp(3.0, 18.0)
    } as u8;
    let gender = student.then(|| {
        pick(
            rng,
            &[(Gender::F, 0.743), (Gender::M, 0.217), (Gender::X, 0.04)],
        )
    });
    // Erlang(3): mean `mean_minutes`, now and then past the 45-minute limit.
    let minutes: f64 = (0..3).map(|_| exponential(rng, mean_minutes / 3.0)).sum();
    let length = Duration::from_secs_f64((minutes * 60.0).max(60.0));
    let broken = if student { 0.2193 } else { 0.1042 };
    let ending = if rng.gen_bool(broken) {
        Ending::BrokenOff
    } else if rng.gen_bool(0.5) {
        Ending::ClientLeaves
    } else {
        Ending::CounsellorEnds
    };
    let fake_call = rng.gen_bool(0.052);
    let returning = {
        let pool = lock(&shared.returning);
        // Fake callers mostly come back; others about one in five.
        let fakes: Vec<&String> = pool.iter().filter(|(_, f)| *f).map(|(t, _)| t).collect();
        if fake_call && !fakes.is_empty() && rng.gen_bool(0.6) {
            Some(fakes[rng.gen_range(0..fakes.len())].clone())
        } else if !pool.is_empty() && rng.gen_bool(0.2) {
            Some(pool[rng.gen_range(0..pool.len())].0.clone())
        } else {
            None
        }
    };
    let topics_of = if student {
        STUDENT_TOPICS
    } else {
        PARENT_TOPICS
    };
    let mut topics = vec![pick(rng, topics_of).to_owned()];
    if rng.gen_bool(0.3) {
        let second = pick(rng, topics_of).to_owned();
        if !topics.contains(&second) {
            topics.push(second);
        }
    }
    let share = |s: f64, p: f64| if student { s } else { p };
    let scale = share(STUDENT_RESULT_SCALE, PARENT_RESULT_SCALE);
    let mut results: Vec<ChatResult> = RESULT_SHARES
        .iter()
        .filter(|(_, s, p)| rng.gen_bool(scale * share(*s, *p)))
        .map(|(r, _, _)| *r)
        .collect();
    if ending == Ending::BrokenOff {
        results.push(ChatResult::BrokenOff);
    }
    if results.is_empty() {
        let weighted: Vec<(ChatResult, f64)> = RESULT_SHARES
            .iter()
            .map(|(r, s, p)| (*r, share(*s, *p)))
            .collect();
        results.push(pick(rng, &weighted));
    }
    let found_via = if returning.is_some() {
        Some(FoundVia::EarlierChat)
    } else {
        rng.gen_bool(0.85).then(|| pick(rng, FOUND_VIA))
    };
    let stars = (ending != Ending::BrokenOff && rng.gen_bool(0.6)).then(|| {
        pick(
            rng,
            if student {
                STARS_STUDENTS
            } else {
                STARS_PARENTS
            },
        )
    });
    Plan {
        client_type,
        age,
        gender,
        health_question: rng.gen_bool(0.08),
        patience: Duration::from_secs_f64(exponential(rng, 15.0 * 60.0).max(60.0)),
        length,
        ending,
        topics: if fake_call {
            vec!["psf.in_love".into()]
        } else {
            topics
        },
        results,
        found_via,
        fake_call,
        stars,
        token: returning,
    }
}

// ---------------------------------------------------------------------------------------
// the agents

const VISITOR_LINES: &[&str] = &[
    "Hallo, ik heb een vraag.",
    "Ik weet niet goed hoe ik het moet zeggen.",
    "Het gaat al een tijdje niet zo goed.",
    "Ja, dat klopt.",
    "Ik heb er nog niemand over verteld.",
    "Wat zou jij doen?",
    "Oké, dat helpt.",
    "Dank je.",
];
const COUNSELLOR_LINES: &[&str] = &[
    "Dag, fijn dat je er bent. Waarover wil je chatten?",
    "Dat begrijp ik. Vertel eens wat meer?",
    "Wat zou je zelf graag willen?",
    "Dat is een goede stap.",
];

/// How often a visitor writes: often enough that the engine never finds them idle.
const VISITOR_PACE: Duration = Duration::from_secs(150);

fn nickname(n: u64) -> String {
    format!("Bezoeker {n}")
}

/// Waits until `deadline` while reading events; returns `false` when the events end.
async fn read_until(v: &mut VisitorSession, deadline: tokio::time::Instant) -> Option<bool> {
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => return Some(false),
            e = v.events.next() => match e {
                None => return None,
                Some(ServerEvent::Log(LoggedEvent { body: EventBody::Ended { .. }, .. })) => return Some(true),
                Some(_) => {}
            }
        }
    }
}

async fn visitor(engine: Engine, shared: Arc<Shared>, desk: DeskId, n: u64, plan: Plan) {
    shared.arrivals.fetch_add(1, Ordering::Relaxed);
    let name = nickname(n);
    let profile = ClientProfile {
        client_type: Some(plan.client_type),
        nickname: Some(name.clone()),
        age: Some(plan.age),
        gender: plan.gender,
        health_question: plan.health_question,
    };
    lock(&shared.plans).insert(name.clone(), plan.clone());
    let arrival = Arrival {
        visitor_token: plan.token.clone(),
        profile,
        appointment: None,
    };
    let mut v = match engine.arrive(&desk, arrival).await {
        Ok(v) => v,
        Err(_) => {
            shared.refused.fetch_add(1, Ordering::Relaxed);
            lock(&shared.plans).remove(&name);
            return;
        }
    };
    if let Some(token) = v.visitor_token.clone() {
        let mut pool = lock(&shared.returning);
        if pool.len() < 2_000 {
            pool.push((token, plan.fake_call));
        }
    }
    // The queue: until a counsellor joins, the desk closes, or patience runs out.
    let give_up = tokio::time::Instant::now() + plan.patience;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(give_up) => {
                let _ = v.handle.leave().await;
                shared.left_queue.fetch_add(1, Ordering::Relaxed);
                return;
            }
            e = v.events.next() => match e {
                None => return,
                Some(ServerEvent::Log(LoggedEvent { body: EventBody::Joined { role: Role::Counsellor, .. }, .. })) => break,
                Some(ServerEvent::Log(LoggedEvent { body: EventBody::Ended { .. }, .. })) => return,
                Some(_) => {}
            }
        }
    }
    // The chat.
    let started = tokio::time::Instant::now();
    let end = started + plan.length;
    let mut k = 0u32;
    let ended_by_engine = loop {
        let next = (tokio::time::Instant::now() + VISITOR_PACE).min(end);
        match read_until(&mut v, next).await {
            None => return,
            Some(true) => break true,
            Some(false) => {}
        }
        if tokio::time::Instant::now() >= end {
            break false;
        }
        k += 1;
        let line = VISITOR_LINES[k as usize % VISITOR_LINES.len()];
        if v.handle
            .send(ClientMsgId::new(format!("m{k}")), line)
            .await
            .is_err()
        {
            break true;
        }
    };
    if !ended_by_engine {
        match plan.ending {
            Ending::BrokenOff => {
                // The phone's battery is empty: the connection drops and never comes back.
                drop(v);
                return;
            }
            Ending::ClientLeaves => {
                let _ = v.handle.leave().await;
            }
            Ending::CounsellorEnds => {
                // Keep writing now and then until the counsellor closes (the engine ends it
                // at the limit at the latest).
                loop {
                    let next = tokio::time::Instant::now() + VISITOR_PACE;
                    match read_until(&mut v, next).await {
                        None => return,
                        Some(true) => break,
                        Some(false) => {}
                    }
                    k += 1;
                    if v.handle
                        .send(ClientMsgId::new(format!("m{k}")), "Ben je er nog?")
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    }
    if let Some(stars) = plan.stars {
        if v.handle.rate(stars, None).await.is_ok() {
            if let Some(r) = lock(&shared.chats).get_mut(&v.conversation) {
                r.stars = Some(stars);
            }
        }
    }
}

/// A counsellor's shift: online from now until `until`, then finishing what runs.
async fn counsellor(
    mut s: StaffSession,
    shared: Arc<Shared>,
    desk: DeskId,
    until: DateTime<Utc>,
    shift_ends: tokio::time::Instant,
) {
    if s.handle.go_online(&desk, Some(until)).await.is_err() {
        return;
    }
    let mut online = true;
    let mut running: HashMap<ConversationId, String> = HashMap::new();
    let mut due = 0usize;
    let mut k = 0u64;
    let (end_tx, mut end_rx) = tokio::sync::mpsc::channel::<ConversationId>(16);
    loop {
        if !online && running.is_empty() && due == 0 {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep_until(shift_ends), if online => {
                let _ = s.handle.go_offline(&desk).await;
                online = false;
            }
            Some(conv) = end_rx.recv() => {
                if running.contains_key(&conv) {
                    let _ = s.handle.end(conv).await;
                }
            }
            e = s.events.next() => {
                let Some(e) = e else { return };
                match e {
                    ServerEvent::ChatAssigned { conversation, profile, .. } => {
                        let name = profile.nickname.unwrap_or_default();
                        let plan = lock(&shared.plans).get(&name).cloned();
                        lock(&shared.chats).insert(conversation, ChatRecord {
                            desk: desk.clone(),
                            conversation,
                            started_at: shared.clock.now(), // the log's `joined` follows
                            ended_at: None,
                            registration: None,
                            stars: None,
                        });
                        running.insert(conversation, name);
                        k += 1;
                        let _ = s.handle.send(conversation, ClientMsgId::new(format!("c{k}")), COUNSELLOR_LINES[0]).await;
                        if let Some(p) = plan.filter(|p| p.ending == Ending::CounsellorEnds) {
                            let tx = end_tx.clone();
                            tokio::spawn(async move {
                                tokio::time::sleep(p.length).await;
                                let _ = tx.send(conversation).await;
                            });
                        }
                    }
                    ServerEvent::Log(l) => match &l.body {
                        EventBody::Joined { role: Role::Counsellor, .. } => {
                            if let Some(r) = lock(&shared.chats).get_mut(&l.conversation) {
                                r.started_at = l.at;
                            }
                        }
                        EventBody::Message { from: Role::Client, .. } if running.contains_key(&l.conversation) => {
                            k += 1;
                            let line = COUNSELLOR_LINES[1 + (k as usize % (COUNSELLOR_LINES.len() - 1))];
                            let _ = s.handle.send(l.conversation, ClientMsgId::new(format!("c{k}")), line).await;
                        }
                        EventBody::Ended { .. } => {
                            if let Some(r) = lock(&shared.chats).get_mut(&l.conversation) {
                                r.ended_at = Some(l.at);
                            }
                        }
                        _ => {}
                    },
                    ServerEvent::RegistrationDue { conversation } => {
                        due += 1;
                        let name = running.remove(&conversation).unwrap_or_default();
                        let plan = lock(&shared.plans).remove(&name);
                        if let Some(p) = plan {
                            let form = RegistrationForm {
                                client_type: p.client_type,
                                age: Some(p.age),
                                gender: p.gender,
                                topics: p.topics.clone(),
                                results: p.results.clone(),
                                found_via: p.found_via,
                                fake_call: p.fake_call,
                            };
                            if s.handle.register(conversation, form.clone()).await.is_ok() {
                                if let Some(r) = lock(&shared.chats).get_mut(&conversation) {
                                    r.registration = Some(form);
                                }
                            }
                        }
                        due -= 1;
                    }
                    _ => {}
                }
            }
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

// ---------------------------------------------------------------------------------------
// the store on a paused clock

/// A tokio runtime on real time, on a thread of its own, for the store of a simulation
/// that runs on paused time (see the module docs).
///
/// Open the store with [`StoreRuntime::run`], so that its connection pool, the pool's
/// maintenance task and its time-outs belong to this runtime, and hand the store to
/// [`play_school_year`]. Dropping it stops the runtime and waits for its thread.
pub struct StoreRuntime {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StoreRuntime {
    /// Starts the runtime and its thread.
    pub fn start() -> Result<StoreRuntime> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Refused(format!("cannot start the store's runtime: {e}")))?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("demo-store".into())
            .spawn(move || {
                // Runs until the sender is dropped (see `Drop`).
                let _ = runtime.block_on(stopped);
            })
            .map_err(|e| Error::Refused(format!("cannot start the store's thread: {e}")))?;
        Ok(StoreRuntime {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Runs `work` on this runtime and waits for it, keeping the caller's paused clock
    /// standing still meanwhile (see the module docs). A panic in `work` goes on
    /// in the caller.
    pub async fn run<T, F>(&self, work: F) -> Result<T>
    where
        F: std::future::Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        spawn_and_wait(&self.handle, work)
            .await
            .ok_or_else(|| Error::Refused(STOPPED.into()))
    }
}

/// Why a call on a [`StoreRuntime`] found no runtime to run on.
const STOPPED: &str = "the demo's store runtime has stopped";

/// Spawns `work` on `handle` and waits for it without letting the caller's paused clock
/// move; `None` when that runtime has stopped. A panic in `work` goes on in the caller.
async fn spawn_and_wait<T, F>(handle: &tokio::runtime::Handle, work: F) -> Option<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    match without_advancing(handle.spawn(work)).await {
        Ok(out) => Some(out),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => None,
    }
}

impl Drop for StoreRuntime {
    fn drop(&mut self) {
        // A dropped sender ends the thread's `block_on`.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A store whose calls run on a [`StoreRuntime`] and keep the calling, paused tokio clock
/// standing still while they run (see the module docs). Only for simulations on paused
/// time; it adds two thread hand-offs to every call.
pub struct Unhurried {
    store: Arc<dyn Store>,
    handle: tokio::runtime::Handle,
}

impl Unhurried {
    /// `store`, opened on `runtime`, called there.
    pub fn new(store: Arc<dyn Store>, runtime: &StoreRuntime) -> Unhurried {
        Unhurried {
            store,
            handle: runtime.handle.clone(),
        }
    }

    async fn call<T, F, Fut>(&self, work: F) -> clbchat_core::Result<T>
    where
        F: FnOnce(Arc<dyn Store>) -> Fut,
        Fut: std::future::Future<Output = clbchat_core::Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        spawn_and_wait(&self.handle, work(self.store.clone()))
            .await
            .unwrap_or_else(|| Err(clbchat_core::Error::StoreUnavailable(STOPPED.into())))
    }
}

/// How long a call may hold the clock at most (real time); after that the clock may move
/// again, so a hung database cannot hang the simulation for ever.
const HOLD_AT_MOST: Duration = Duration::from_secs(60);

/// Runs `call` with a paused tokio clock standing still (at most [`HOLD_AT_MOST`] of real
/// time): tokio does not advance a paused clock while a blocking task runs, so this
/// holds one open until `call` is done.
async fn without_advancing<T>(call: impl std::future::Future<Output = T>) -> T {
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let guard = tokio::task::spawn_blocking(move || {
        let _ = wait.recv_timeout(HOLD_AT_MOST);
    });
    let out = call.await;
    drop(done);
    let _ = guard.await;
    out
}

#[async_trait]
impl Store for Unhurried {
    async fn put_conversation(&self, meta: &ConversationMeta) -> clbchat_core::Result<()> {
        let meta = meta.to_owned();
        self.call(move |s| async move { s.put_conversation(&meta).await })
            .await
    }
    async fn conversation(
        &self,
        id: ConversationId,
    ) -> clbchat_core::Result<Option<ConversationMeta>> {
        self.call(move |s| async move { s.conversation(id).await })
            .await
    }
    async fn conversations(
        &self,
        filter: &ConversationFilter,
    ) -> clbchat_core::Result<Vec<ConversationMeta>> {
        let filter = filter.to_owned();
        self.call(move |s| async move { s.conversations(&filter).await })
            .await
    }
    async fn append(&self, event: &LoggedEvent) -> clbchat_core::Result<()> {
        let event = event.to_owned();
        self.call(move |s| async move { s.append(&event).await })
            .await
    }
    async fn events_after(
        &self,
        id: ConversationId,
        after_seq: u64,
    ) -> clbchat_core::Result<Vec<LoggedEvent>> {
        self.call(move |s| async move { s.events_after(id, after_seq).await })
            .await
    }
    async fn read_transcript(
        &self,
        read: &TranscriptRead,
    ) -> clbchat_core::Result<Vec<LoggedEvent>> {
        let read = read.to_owned();
        self.call(move |s| async move { s.read_transcript(&read).await })
            .await
    }
    async fn transcript_reads(
        &self,
        id: ConversationId,
    ) -> clbchat_core::Result<Vec<TranscriptRead>> {
        self.call(move |s| async move { s.transcript_reads(id).await })
            .await
    }
    async fn purge_transcripts(&self, ended_before: DateTime<Utc>) -> clbchat_core::Result<u64> {
        self.call(move |s| async move { s.purge_transcripts(ended_before).await })
            .await
    }
    async fn save_registration(&self, registration: &Registration) -> clbchat_core::Result<()> {
        let registration = registration.to_owned();
        self.call(move |s| async move { s.save_registration(&registration).await })
            .await
    }
    async fn registration(&self, id: ConversationId) -> clbchat_core::Result<Option<Registration>> {
        self.call(move |s| async move { s.registration(id).await })
            .await
    }
    async fn save_rating(&self, rating: &Rating) -> clbchat_core::Result<()> {
        let rating = rating.to_owned();
        self.call(move |s| async move { s.save_rating(&rating).await })
            .await
    }
    async fn rating(&self, id: ConversationId) -> clbchat_core::Result<Option<Rating>> {
        self.call(move |s| async move { s.rating(id).await }).await
    }
    async fn count_visits(
        &self,
        pseudonym: &Pseudonym,
        since: DateTime<Utc>,
    ) -> clbchat_core::Result<u32> {
        let pseudonym = pseudonym.to_owned();
        self.call(move |s| async move { s.count_visits(&pseudonym, since).await })
            .await
    }
    async fn put_flag(&self, flag: &Flag) -> clbchat_core::Result<()> {
        let flag = flag.to_owned();
        self.call(move |s| async move { s.put_flag(&flag).await })
            .await
    }
    async fn flag(&self, id: FlagId) -> clbchat_core::Result<Option<Flag>> {
        self.call(move |s| async move { s.flag(id).await }).await
    }
    async fn flags_for(&self, pseudonym: &Pseudonym) -> clbchat_core::Result<Vec<Flag>> {
        let pseudonym = pseudonym.to_owned();
        self.call(move |s| async move { s.flags_for(&pseudonym).await })
            .await
    }
    async fn flags_to_review(
        &self,
        desk: Option<&DeskId>,
        now: DateTime<Utc>,
    ) -> clbchat_core::Result<Vec<Flag>> {
        let desk = desk.cloned();
        self.call(move |s| async move { s.flags_to_review(desk.as_ref(), now).await })
            .await
    }
    async fn rekey_pseudonym(&self, old: &Pseudonym, new: &Pseudonym) -> clbchat_core::Result<()> {
        let old = old.to_owned();
        let new = new.to_owned();
        self.call(move |s| async move { s.rekey_pseudonym(&old, &new).await })
            .await
    }
    async fn put_account(&self, account: &Account) -> clbchat_core::Result<()> {
        let account = account.to_owned();
        self.call(move |s| async move { s.put_account(&account).await })
            .await
    }
    async fn account(&self, username: &str) -> clbchat_core::Result<Option<Account>> {
        let username = username.to_owned();
        self.call(move |s| async move { s.account(&username).await })
            .await
    }
    async fn accounts(&self) -> clbchat_core::Result<Vec<Account>> {
        self.call(move |s| async move { s.accounts().await }).await
    }
    async fn put_calendar(&self, desk: &DeskId, calendar: &Calendar) -> clbchat_core::Result<()> {
        let desk = desk.to_owned();
        let calendar = calendar.to_owned();
        self.call(move |s| async move { s.put_calendar(&desk, &calendar).await })
            .await
    }
    async fn calendar(&self, desk: &DeskId) -> clbchat_core::Result<Option<Calendar>> {
        let desk = desk.to_owned();
        self.call(move |s| async move { s.calendar(&desk).await })
            .await
    }
    async fn summary(
        &self,
        desk: Option<&DeskId>,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> clbchat_core::Result<Summary> {
        let desk = desk.cloned();
        self.call(move |s| async move { s.summary(desk.as_ref(), from, until).await })
            .await
    }
    async fn record_coverage(&self, sample: &CoverageSample) -> clbchat_core::Result<()> {
        let sample = sample.to_owned();
        self.call(move |s| async move { s.record_coverage(&sample).await })
            .await
    }
    async fn report(&self, query: &ReportQuery) -> clbchat_core::Result<ReportData> {
        let query = query.to_owned();
        self.call(move |s| async move { s.report(&query).await })
            .await
    }
}
