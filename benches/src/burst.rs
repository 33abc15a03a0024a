//! The study-fair burst (Chat-met-je-CLB): a centre's box opened for three days of a study
//! fair, with a reception team of 8, takes about a thousand chats (the SID-in held 1,017 in
//! three days), against a real `chat-met-je-clb` server, in compressed time.
//!
//! 1. **Setup.** The sector's administrator (made with the setup link on a fresh server)
//!    adds the centre and its accounts: a coordinator and the team. The coordinator opens
//!    the box for the fair; the team logs in and goes online.
//! 2. **The fair.** The fair's opening hours (days × hours) are compressed by `compress`
//!    into one stretch of wall time. Exactly `chats` visitors arrive (a Poisson process
//!    conditioned on its count), on a uniformly drawn day, busiest at midday (within the
//!    day, a triangular density: twice the day's mean rate at the peak, so a queue forms),
//!    each a student or a parent in the fair's proportions. A visitor waits in the
//!    queue, chats for an exponential time (the fair's mean, cut at the 45-minute limit,
//!    compressed) sending `messages` messages that the counsellor answers, then leaves;
//!    the counsellor registers the chat, as the engine asks before giving them another.
//! 3. **Checks.** Every message acknowledged by the server must reach the other side once
//!    (lost, duplicated); each visitor's queue position must never rise; visitors must be
//!    served in the order they came (a visitor served before someone who was already
//!    waiting is counted as an overtaking, with a tolerance for the two sockets' delivery
//!    order); and the server's own report for the fair must count the chats that were
//!    served, per client type.
//!
//! The wait estimate is not checked here: it is in whole minutes of wall time, and the
//! compressed chats last seconds. Times in the report are given back in the fair's time
//! (wall time × `compress`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use clbchat_core::account::{StaffIdentity, StaffRole};
use clbchat_core::engine::events::EventRequest;
use clbchat_core::engine::Arrival;
use clbchat_core::event::{ClientProfile, Discipline, EventBody, Role, ServerEvent};
use clbchat_core::ids::{CentreId, ClientMsgId, ConversationId, DeskId, StaffId};
use clbchat_core::registration::{ChatResult, ClientType, RegistrationForm};
use clbchat_transport_ws::client::{Client, VisitorClient};
use clbchat_transport_ws::protocol::{ClientFrame, ServerFrame};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::{Error, Result};

/// How long a visitor waits for the answer to a message before counting it lost.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// What a burst run does.
#[derive(Debug, Clone, Serialize)]
pub struct BurstConfig {
    /// The server's socket, `ws://HOST:PORT/ws`.
    pub url: String,
    /// The Origin header (the server's own address).
    pub origin: Option<String>,
    /// The fresh server's setup link, to make the administrator; none: `admin` exists.
    #[serde(skip)]
    pub setup_link: Option<String>,
    /// The administrator's user name.
    pub admin: String,
    /// Every account's password.
    #[serde(skip)]
    pub password: String,
    /// The centre's id (its box's address).
    pub centre: String,
    /// Visitors who come.
    pub chats: usize,
    /// Counsellors in the reception team.
    pub team: usize,
    /// Chats each counsellor holds at once.
    pub capacity: u32,
    /// Days of the fair.
    pub days: u32,
    /// Opening hours a day.
    pub hours_per_day: f64,
    /// How much faster than real time the fair runs.
    pub compress: f64,
    /// The mean chat, in the fair's minutes (the SID-in: 11).
    pub mean_chat_minutes: f64,
    /// Messages a visitor sends (each answered).
    pub messages: u32,
    /// Share of parents among the visitors (the SID-in: 42 of 1,017).
    pub parents_share: f64,
    /// The random seed.
    pub seed: u64,
}

/// What a burst run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BurstReport {
    /// Visitors who arrived (were welcomed).
    pub arrivals: u64,
    /// Visitors refused at the door (with the server's words).
    pub refused: BTreeMap<String, u64>,
    /// Visitors a counsellor served.
    pub served: u64,
    /// Visitors whose wait ended without a counsellor (closing notice, end).
    pub unserved: u64,
    /// Of the served: students, parents.
    pub served_students: u64,
    /// Of the served: parents.
    pub served_parents: u64,
    /// Messages acknowledged by the server (both sides).
    pub acknowledged: u64,
    /// Acknowledged messages the other side received.
    pub delivered: u64,
    /// Acknowledged and never received.
    pub lost: u64,
    /// Received more than once.
    pub duplicated: u64,
    /// Registrations the team wrote.
    pub registrations: u64,
    /// The most visitors waiting at once (the highest first position shown).
    pub max_position: u32,
    /// Queue updates where a visitor's position rose.
    pub position_rises: u64,
    /// Visitors served before someone who was already waiting when they came.
    pub overtakings: u64,
    /// Mean, p90 and longest wait, in the fair's minutes.
    pub wait_mean_minutes: f64,
    /// The p90 wait (nearest rank).
    pub wait_p90_minutes: f64,
    /// The longest wait.
    pub wait_max_minutes: f64,
    /// The server's report for the fair: chats, students, parents.
    pub report_chats: u64,
    /// Students in the server's report.
    pub report_students: u64,
    /// Parents in the server's report.
    pub report_parents: u64,
    /// Wall seconds of the fair.
    pub wall_secs: f64,
}

/// One visitor's story.
#[derive(Debug, Clone, Default)]
struct Visit {
    arrived: Option<Instant>,
    started: Option<Instant>,
    parent: bool,
    refused: Option<String>,
    positions: Vec<u32>,
    acknowledged: u64,
    replies: u64,
}

/// Messages sent and acknowledged, and received, by (conversation, text).
#[derive(Debug, Default)]
struct Ledger {
    acknowledged: HashSet<(ConversationId, String)>,
    received: HashMap<(ConversationId, String), u64>,
}

fn client_err(what: &str) -> impl Fn(clbchat_transport_ws::Error) -> Error + '_ {
    move |e| Error::client(what, e)
}

async fn staff(url: &str, origin: Option<&str>, user: &str, password: &str) -> Result<Client> {
    let what = format!("logging in as {user}");
    let c = Client::connect(url, origin)
        .await
        .map_err(client_err(&what))?;
    c.request(ClientFrame::Login {
        username: user.into(),
        password: password.into(),
    })
    .await
    .map_err(client_err(&what))?;
    Ok(c)
}

fn identity(id: &str, role: StaffRole, desk: &DeskId, capacity: u32) -> StaffIdentity {
    StaffIdentity {
        id: StaffId::new(id),
        alias: id.into(),
        role,
        discipline: Discipline::PsychoPedagogical,
        desks: vec![desk.clone()],
        capacity,
        centre: Some(CentreId::new(&desk.0)),
    }
}

/// Runs the fair; see the module docs.
pub async fn run(config: &BurstConfig) -> Result<BurstReport> {
    if config.chats == 0 || config.team == 0 || config.capacity == 0 || config.compress <= 0.0 {
        return Err(Error::Usage(
            "--chats, --team, --capacity and --compress must be more than 0".into(),
        ));
    }
    let origin = config.origin.as_deref();
    let url = config.url.as_str();
    let desk = DeskId::new(&config.centre);
    if let Some(link) = &config.setup_link {
        crate::setup::first_coordinator(link, &config.admin, &config.password).await?;
    }

    // Setup: the centre, its coordinator and team, the box opened for the fair.
    let admin = staff(url, origin, &config.admin, &config.password).await?;
    let what = "adding the centre";
    admin
        .request(ClientFrame::SaveCentre {
            id: CentreId::new(&config.centre),
            create: true,
            name: "SID-in onthaal".into(),
            origins: Vec::new(),
        })
        .await
        .map_err(client_err(what))?;
    let coordinator = format!("{}-coordinator", config.centre);
    let team: Vec<String> = (1..=config.team)
        .map(|i| format!("{}-{i}", config.centre))
        .collect();
    for (user, role) in std::iter::once((&coordinator, StaffRole::Coordinator))
        .chain(team.iter().map(|u| (u, StaffRole::Counsellor)))
    {
        admin
            .request(ClientFrame::SaveAccount {
                username: user.clone(),
                create: true,
                password: Some(config.password.clone()),
                active: true,
                identity: identity(user, role, &desk, config.capacity),
            })
            .await
            .map_err(client_err("creating the team's accounts"))?;
    }
    let fair = Duration::from_secs_f64(
        f64::from(config.days) * config.hours_per_day * 3600.0 / config.compress,
    );
    let boss = staff(url, origin, &coordinator, &config.password).await?;
    boss.request(ClientFrame::OpenEvent {
        desk: desk.clone(),
        event: EventRequest {
            title: "Studiebeurs".into(),
            welcome: Some("Het onthaalteam van de beurs beantwoordt je vragen.".into()),
            starts_at: None,
            // The fair, and an hour more: the engine admits nobody whose wait runs into
            // the desk's closing margin (15 minutes) before the end.
            ends_at: Utc::now()
                + chrono::Duration::from_std(fair + Duration::from_secs(3600)).unwrap_or_default(),
        },
    })
    .await
    .map_err(client_err("opening the box"))?;

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let registrations = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut counsellors = Vec::new();
    for user in &team {
        let mut c = staff(url, origin, user, &config.password).await?;
        c.request(ClientFrame::Online {
            desk: desk.clone(),
            shift_ends_at: None,
        })
        .await
        .map_err(client_err("going online"))?;
        let ledger = ledger.clone();
        let registrations = registrations.clone();
        let mut stop = stop_rx.clone();
        let user = user.clone();
        counsellors.push(tokio::spawn(async move {
            counsellor(&mut c, &user, &ledger, &registrations, &mut stop).await
        }));
    }

    // The visitors, at their instants.
    let mut rng = StdRng::seed_from_u64(config.seed);
    // A day of a fair is busiest at midday: within its day, an arrival's moment is
    // triangular, twice the day's mean rate at the peak.
    let days = f64::from(config.days.max(1));
    let mut arrivals: Vec<Duration> = (0..config.chats)
        .map(|_| {
            let day = f64::from(rng.gen_range(0..config.days.max(1)));
            let within = (rng.gen::<f64>() + rng.gen::<f64>()) / 2.0;
            fair.mul_f64((day + within) / days)
        })
        .collect();
    arrivals.sort();
    let limit = 45.0 * 60.0;
    let start = Instant::now();
    let mut visitors = Vec::new();
    for at in arrivals {
        let parent = rng.gen::<f64>() < config.parents_share;
        // Exponential chat length in the fair's seconds, cut at the limit, compressed.
        let fair_secs =
            (-(1.0 - rng.gen::<f64>()).ln() * config.mean_chat_minutes * 60.0).min(limit);
        let length = Duration::from_secs_f64(fair_secs / config.compress);
        let (url, origin, desk, ledger) = (
            url.to_owned(),
            config.origin.clone(),
            desk.clone(),
            ledger.clone(),
        );
        let messages = config.messages;
        visitors.push(tokio::spawn(async move {
            tokio::time::sleep_until(start + at).await;
            visitor(
                &url,
                origin.as_deref(),
                &desk,
                parent,
                length,
                messages,
                &ledger,
            )
            .await
        }));
    }
    let mut visits = Vec::new();
    for v in visitors {
        visits.push(
            v.await
                .map_err(|e| Error::Usage(format!("a visitor's task failed: {e}")))??,
        );
    }
    let wall = start.elapsed();
    let _ = stop_tx.send(true);
    for c in counsellors {
        c.await
            .map_err(|e| Error::Usage(format!("a counsellor's task failed: {e}")))??;
    }

    // The figures.
    let mut report = BurstReport {
        wall_secs: wall.as_secs_f64(),
        registrations: registrations.load(std::sync::atomic::Ordering::Relaxed),
        ..BurstReport::default()
    };
    let mut waits = Vec::new();
    for v in &visits {
        if let Some(why) = &v.refused {
            *report.refused.entry(why.clone()).or_default() += 1;
            continue;
        }
        report.arrivals += 1;
        report.max_position = report
            .max_position
            .max(v.positions.first().copied().unwrap_or(0));
        report.position_rises += v.positions.windows(2).filter(|w| w[1] > w[0]).count() as u64;
        match (v.arrived, v.started) {
            (Some(a), Some(s)) => {
                report.served += 1;
                if v.parent {
                    report.served_parents += 1;
                } else {
                    report.served_students += 1;
                }
                waits.push((s - a).as_secs_f64() * config.compress / 60.0);
            }
            _ => report.unserved += 1,
        }
    }
    // Overtakings: served before someone who had come earlier and was still waiting,
    // beyond what two sockets' delivery order can explain.
    let tolerance = Duration::from_millis(100);
    let mut served: Vec<(Instant, Instant)> = visits
        .iter()
        .filter_map(|v| Some((v.arrived?, v.started?)))
        .collect();
    served.sort();
    let mut latest_start: Option<Instant> = None;
    for (_, started) in &served {
        if latest_start.is_some_and(|l| *started + tolerance < l) {
            report.overtakings += 1;
        }
        latest_start = Some(latest_start.map_or(*started, |l| l.max(*started)));
    }
    waits.sort_by(f64::total_cmp);
    if !waits.is_empty() {
        report.wait_mean_minutes = waits.iter().sum::<f64>() / waits.len() as f64;
        let k = (waits.len() * 90).div_ceil(100).max(1);
        report.wait_p90_minutes = waits[k - 1];
        report.wait_max_minutes = waits[waits.len() - 1];
    }
    {
        let l = ledger
            .lock()
            .map_err(|_| Error::Usage("the ledger's lock".into()))?;
        report.acknowledged = l.acknowledged.len() as u64;
        for key in &l.acknowledged {
            match l.received.get(key) {
                Some(n) => {
                    report.delivered += 1;
                    report.duplicated += n.saturating_sub(1);
                }
                None => report.lost += 1,
            }
        }
    }

    // The server's own figures for the fair.
    let today = Utc::now().date_naive();
    let answer = admin
        .request(ClientFrame::Report {
            desk: Some(desk.clone()),
            from: today - chrono::Duration::days(1),
            to: today + chrono::Duration::days(1),
            theme: None,
            format: None,
            lang: None,
        })
        .await
        .map_err(client_err("reading the fair's report"))?;
    if let ServerFrame::Report { data, .. } = answer {
        if let Some(e) = data.events.first() {
            report.report_chats = e.chats;
            report.report_students = e.chats_of(Some(ClientType::Student));
            report.report_parents = e.chats_of(Some(ClientType::Parent));
        }
    }
    Ok(report)
}

/// A counsellor: answers every message of their chats, registers each chat that ends.
async fn counsellor(
    c: &mut Client,
    user: &str,
    ledger: &Mutex<Ledger>,
    registrations: &std::sync::atomic::AtomicU64,
    stop: &mut watch::Receiver<bool>,
) -> Result<()> {
    let what = format!("counsellor {user}");
    let mut types: HashMap<ConversationId, ClientType> = HashMap::new();
    let mut n = 0u64;
    loop {
        let frame = tokio::select! {
            f = c.next_frame() => f,
            _ = stop.changed() => return Ok(()),
        };
        let Some(ServerFrame::Event { event }) = frame else {
            if frame.is_none() {
                return Err(Error::protocol(&what, "the connection closed"));
            }
            continue;
        };
        match event {
            ServerEvent::ChatAssigned {
                conversation,
                profile,
                ..
            } => {
                types.insert(
                    conversation,
                    profile.client_type.unwrap_or(ClientType::Student),
                );
            }
            ServerEvent::Log(e) => {
                if let EventBody::Message {
                    from: Role::Client,
                    text,
                    ..
                } = &e.body
                {
                    record(ledger, e.conversation, text)?;
                    n += 1;
                    let reply = format!("re {text}");
                    c.request(ClientFrame::Send {
                        id: ClientMsgId::new(format!("{user}-{n}")),
                        conversation: Some(e.conversation),
                        text: reply.clone(),
                    })
                    .await
                    .map_err(client_err(&what))?;
                    acknowledge(ledger, e.conversation, reply)?;
                }
            }
            ServerEvent::RegistrationDue { conversation } => {
                let client_type = types.remove(&conversation).unwrap_or(ClientType::Student);
                c.request(ClientFrame::Register {
                    conversation,
                    form: RegistrationForm {
                        client_type,
                        age: None,
                        gender: None,
                        topics: vec!["olb.study_choice".into()],
                        results: vec![ChatResult::InformationAdvice],
                        found_via: None,
                        fake_call: false,
                    },
                })
                .await
                .map_err(client_err(&what))?;
                registrations.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

fn record(ledger: &Mutex<Ledger>, conversation: ConversationId, text: &str) -> Result<()> {
    let mut l = ledger
        .lock()
        .map_err(|_| Error::Usage("the ledger's lock".into()))?;
    *l.received
        .entry((conversation, text.to_owned()))
        .or_default() += 1;
    Ok(())
}

fn acknowledge(ledger: &Mutex<Ledger>, conversation: ConversationId, text: String) -> Result<()> {
    ledger
        .lock()
        .map_err(|_| Error::Usage("the ledger's lock".into()))?
        .acknowledged
        .insert((conversation, text));
    Ok(())
}

/// A visitor: arrives, waits, chats `length` sending `messages` messages, leaves.
async fn visitor(
    url: &str,
    origin: Option<&str>,
    desk: &DeskId,
    parent: bool,
    length: Duration,
    messages: u32,
    ledger: &Mutex<Ledger>,
) -> Result<Visit> {
    let mut visit = Visit {
        parent,
        ..Visit::default()
    };
    let arrival = Arrival {
        profile: ClientProfile {
            client_type: Some(if parent {
                ClientType::Parent
            } else {
                ClientType::Student
            }),
            ..ClientProfile::default()
        },
        ..Arrival::default()
    };
    let mut v = match VisitorClient::arrive(url, origin, desk, arrival).await {
        Ok(v) => v,
        Err(clbchat_transport_ws::Error::Server { code, message }) => {
            visit.refused = Some(format!("{code}: {message}"));
            return Ok(visit);
        }
        Err(e) => return Err(Error::client("a visitor arriving", e)),
    };
    visit.arrived = Some(Instant::now());
    let conversation = v.conversation();
    let what = "a visitor";
    // Waiting.
    loop {
        match v.next_event().await.map_err(client_err(what))? {
            ServerEvent::Queue { position, .. } => visit.positions.push(position),
            ServerEvent::Log(e) => match e.body {
                EventBody::Joined {
                    role: Role::Counsellor,
                    ..
                } => {
                    visit.started = Some(Instant::now());
                    break;
                }
                EventBody::Ended { .. } => return Ok(visit),
                _ => {}
            },
            ServerEvent::ClosingNotice { .. } => return Ok(visit),
            _ => {}
        }
    }
    // Chatting.
    let pause = length / messages.max(1);
    for i in 0..messages {
        tokio::time::sleep(pause).await;
        let text = format!("vraag {i} van {conversation}");
        v.send(&text).await.map_err(client_err(what))?;
        visit.acknowledged += 1;
        acknowledge(ledger, conversation, text.clone())?;
        let want = format!("re {text}");
        loop {
            // A reply that does not come is counted as lost by the ledger; the run goes on.
            let Ok(next) = tokio::time::timeout(REPLY_TIMEOUT, v.next_event()).await else {
                break;
            };
            if let ServerEvent::Log(e) = next.map_err(client_err(what))? {
                if let EventBody::Message {
                    from: Role::Counsellor,
                    text: got,
                    ..
                } = &e.body
                {
                    record(ledger, conversation, got)?;
                    if *got == want {
                        visit.replies += 1;
                        break;
                    }
                }
            }
        }
    }
    v.request(ClientFrame::Leave {})
        .await
        .map_err(client_err(what))?;
    Ok(visit)
}

impl BurstReport {
    /// The run as a markdown table.
    pub fn markdown(&self, config: &BurstConfig) -> String {
        let refused: u64 = self.refused.values().sum();
        let mut s = format!(
            "Study fair: {} chats over {} days of {} h, compressed {}× ({:.0} s of wall time), \
             a team of {} with {} chats each, mean chat {} min, {} messages each way.\n\n\
             | figure | value |\n|---|---:|\n",
            config.chats,
            config.days,
            config.hours_per_day,
            config.compress,
            self.wall_secs,
            config.team,
            config.capacity,
            config.mean_chat_minutes,
            config.messages
        );
        let rows: Vec<(&str, String)> = vec![
            ("visitors welcomed", self.arrivals.to_string()),
            ("refused at the door", refused.to_string()),
            ("served", self.served.to_string()),
            ("not served (closing, end)", self.unserved.to_string()),
            (
                "served students / parents",
                format!("{} / {}", self.served_students, self.served_parents),
            ),
            ("messages acknowledged", self.acknowledged.to_string()),
            ("delivered", self.delivered.to_string()),
            ("lost", self.lost.to_string()),
            ("duplicated", self.duplicated.to_string()),
            ("registrations", self.registrations.to_string()),
            (
                "longest queue (first position shown)",
                self.max_position.to_string(),
            ),
            ("queue positions that rose", self.position_rises.to_string()),
            (
                "served before an earlier visitor",
                self.overtakings.to_string(),
            ),
            (
                "wait mean / p90 / max (fair minutes)",
                format!(
                    "{:.1} / {:.1} / {:.1}",
                    self.wait_mean_minutes, self.wait_p90_minutes, self.wait_max_minutes
                ),
            ),
            (
                "server's report: chats (students / parents)",
                format!(
                    "{} ({} / {})",
                    self.report_chats, self.report_students, self.report_parents
                ),
            ),
        ];
        for (k, v) in rows {
            s.push_str(&format!("| {k} | {v} |\n"));
        }
        for (why, n) in &self.refused {
            s.push_str(&format!("\nrefused {n}×: {why}\n"));
        }
        s
    }

    /// Whether the run kept its promises: nothing lost or doubled, positions that never
    /// rose, nobody overtaken, every visitor served, and the server's report agreeing.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.lost > 0 {
            p.push(format!("{} acknowledged messages were lost", self.lost));
        }
        if self.duplicated > 0 {
            p.push(format!("{} messages arrived twice", self.duplicated));
        }
        if self.position_rises > 0 {
            p.push(format!("{} queue positions rose", self.position_rises));
        }
        if self.overtakings > 0 {
            p.push(format!(
                "{} visitors were served before an earlier one",
                self.overtakings
            ));
        }
        if self.unserved > 0 || !self.refused.is_empty() {
            p.push(format!(
                "{} visitors were not served and {} refused",
                self.unserved,
                self.refused.values().sum::<u64>()
            ));
        }
        if self.report_chats != self.served {
            p.push(format!(
                "the server's report counts {} chats, the visitors {}",
                self.report_chats, self.served
            ));
        }
        p
    }
}
