//! Playing a scenario through the real engine: the same desk, router, limits and calendar
//! code as the server, on the in-memory store, on tokio's paused clock (a week takes
//! moments).
//!
//! - **Time.** The play starts on a Monday at 00:00 and runs in the desk's own hours: the
//!   calendar is the schedule's (open where someone works), in UTC so that an hour of the
//!   week is always 60 minutes (no summer-time night in the middle of a plan).
//! - **Visitors** arrive as a Poisson process per hour of the week at the scenario's rate.
//!   Each comes with a chat length, a patience and, at the scenario's share, a health
//!   question, all drawn before the play from the seed, so one seed plays one set of
//!   visitors whatever the engine does with them. A visitor waits until a counsellor joins
//!   or the patience runs out (and leaves), then chats for their length (writing every few
//!   minutes, as people do, so the engine's idle rules never end a chat early) and leaves;
//!   the engine ends the chat at its limit first when the length is longer. A visitor the
//!   desk turns away is counted as such (queue full, or too late: closed or closing soon);
//!   one still waiting at closing time is sent home (the closing notice).
//! - **Counsellors** are seats: seat `k` works in every hour whose schedule has more than
//!   `k` counsellors, the lowest seats medical. Each run of hours of a seat is a shift: the
//!   counsellor logs in, goes online with the shift's end (so the engine gives them no new
//!   chat in its last half hour, as at the real desk), registers each chat after the
//!   scenario's wrap-up, and goes offline at the end, finishing what runs.
//!
//! What the play returns is what the agents saw ([`Visit`]); the report turns it
//! into the figures per hour of the week.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveTime, TimeZone, Utc, Weekday};
use clbchat_core::account::{StaffIdentity, StaffRole};
use clbchat_core::auth::{Authenticator, Credential};
use clbchat_core::calendar::{Calendar, WeeklyHours};
use clbchat_core::clock::TokioClock;
use clbchat_core::config::DeskConfig;
use clbchat_core::engine::{Arrival, Engine, StaffSession};
use clbchat_core::event::{ClientProfile, Discipline, EventBody, LoggedEvent, Role, ServerEvent};
use clbchat_core::ids::{ClientMsgId, DeskId, StaffId};
use clbchat_core::registration::{ChatResult, ClientType, RegistrationForm};
use clbchat_core::store::memory::MemoryStore;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

use super::model::{lognormal_log_params, Lengths, Patience, Scenario, Schedule, Slot, WEEK_HOURS};
use crate::error::{Error, Result};

/// The desk of a play.
const DESK: &str = "simulated";
/// The password of the seats (they exist only inside the play).
const SEAT_PASSWORD: &str = "simulated-only";
/// How often a chatting visitor writes.
const PACE: Duration = Duration::from_secs(4 * 60);

/// How one visitor's visit went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// A counsellor joined after `wait` minutes; the chat lasted `length` minutes.
    Served {
        /// Minutes in the queue.
        wait: f64,
        /// Minutes from the join to the end.
        length: f64,
    },
    /// Left the queue after `after` minutes.
    Abandoned {
        /// Minutes in the queue.
        after: f64,
    },
    /// Still waiting when the desk closed, after `after` minutes.
    SentHome {
        /// Minutes in the queue.
        after: f64,
    },
    /// Turned away at the door because the queue was full.
    QueueFull,
    /// Turned away at the door because the desk was closed or about to close (its hours,
    /// not its staffing: counted apart).
    TooLate,
}

/// One visitor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Visit {
    /// Minutes from the play's start to the arrival.
    pub arrived: f64,
    /// The hour of the week of the arrival.
    pub hour: usize,
    /// How it went.
    pub outcome: Outcome,
}

/// What a play saw.
#[derive(Debug, Clone)]
pub struct Played {
    /// Every visitor, in arrival order.
    pub visits: Vec<Visit>,
    /// Weeks played.
    pub weeks: u32,
}

/// One visitor's draw: when they come (minutes from the start), how long they would chat,
/// how long they would wait (`None`: endlessly), and whether they have a health question.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// Arrival, minutes from the start.
    pub at: f64,
    /// Chat length, minutes (the desk's limit may cut it).
    pub length: f64,
    /// Patience, minutes; `None`: endless.
    pub patience: Option<f64>,
    /// A health question.
    pub health: bool,
}

/// Plays `scenario` on a runtime of its own (current-thread, paused clock). Call it from a
/// plain thread (the command line, a blocking task), not from inside a runtime.
pub fn play(scenario: &Scenario) -> Result<Played> {
    play_on(scenario, Arc::new(MemoryStore::new()))
}

/// [`play`] on `store` (the in-memory store by default): the same play on the server's
/// own kind of store, to show the store changes no wait. A store with timers of its own (a
/// SQL store's pool) must run on another runtime, reached through something like
/// [`crate::demo_data::Unhurried`]: the play's clock is paused.
pub fn play_on(scenario: &Scenario, store: Arc<dyn clbchat_core::store::Store>) -> Result<Played> {
    scenario.check()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| Error::Refused(format!("cannot start the simulation's runtime: {e}")))?;
    runtime.block_on(play_paused(scenario, store))
}

fn start() -> DateTime<Utc> {
    // A Monday.
    Utc.with_ymd_and_hms(2024, 1, 8, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

fn minutes(d: Duration) -> f64 {
    d.as_secs_f64() / 60.0
}

fn draw_length(rng: &mut StdRng, lengths: &Lengths) -> f64 {
    match lengths {
        Lengths::Exponential { mean_minutes } => exponential(rng, *mean_minutes),
        Lengths::Lognormal {
            mean_minutes,
            sd_minutes,
        } => {
            let (mu, s2) = lognormal_log_params(*mean_minutes, *sd_minutes);
            (mu + s2.sqrt() * standard_normal(rng)).exp()
        }
        Lengths::Sampled { minutes } => minutes[rng.gen_range(0..minutes.len())],
    }
}

fn draw_patience(rng: &mut StdRng, patience: &Patience) -> Option<f64> {
    match patience {
        Patience::Endless => None,
        Patience::Exponential { mean_minutes } => Some(exponential(rng, *mean_minutes)),
        Patience::Sampled { minutes } => Some(minutes[rng.gen_range(0..minutes.len())]),
    }
}

fn exponential(rng: &mut StdRng, mean: f64) -> f64 {
    -mean * (1.0 - rng.gen::<f64>()).ln()
}

fn standard_normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Every visitor of the play of `s`, drawn from its seed, in arrival order: what
/// [`play`] plays (and what a reference queue can be given to compare).
pub fn visitors_of(s: &Scenario) -> Vec<Plan> {
    visitors(s, &mut StdRng::seed_from_u64(s.seed))
}

fn visitors(s: &Scenario, rng: &mut StdRng) -> Vec<Plan> {
    let mut out = Vec::new();
    for h in 0..(s.weeks as usize * WEEK_HOURS) {
        let per_minute = s.arrivals[h % WEEK_HOURS] / 60.0;
        if per_minute <= 0.0 {
            continue;
        }
        let end = (h as f64 + 1.0) * 60.0;
        let mut t = h as f64 * 60.0;
        loop {
            t += exponential(rng, 1.0 / per_minute);
            if t >= end {
                break;
            }
            out.push(Plan {
                at: t,
                length: draw_length(rng, &s.lengths),
                patience: draw_patience(rng, &s.patience),
                health: rng.gen_bool(s.health_share),
            });
        }
    }
    out
}

/// A seat's shift: hours `[from, to)` of the play with one slot's discipline and capacity.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Shift {
    seat: u32,
    from: usize,
    to: usize,
    medical: bool,
    capacity: u32,
}

/// The shifts of every seat over `hours` hours of the play.
fn shifts(schedule: &Schedule, hours: usize) -> Vec<Shift> {
    let seats = (0..WEEK_HOURS)
        .map(|h| schedule.slot(h).counsellors)
        .max()
        .unwrap_or(0);
    let role = |seat: u32, h: usize| -> Option<(bool, u32)> {
        let s: Slot = schedule.slot(h);
        (seat < s.counsellors).then_some((seat < s.medical, s.capacity))
    };
    let mut out = Vec::new();
    for seat in 0..seats {
        let mut h = 0;
        while h < hours {
            let Some(now) = role(seat, h) else {
                h += 1;
                continue;
            };
            let from = h;
            while h < hours && role(seat, h) == Some(now) {
                h += 1;
            }
            out.push(Shift {
                seat,
                from,
                to: h,
                medical: now.0,
                capacity: now.1,
            });
        }
    }
    out
}

/// The desk's calendar: open in the hours someone works (always, when someone always does).
fn calendar(schedule: &Schedule) -> Calendar {
    if (0..WEEK_HOURS).all(|h| schedule.slot(h).counsellors > 0) {
        let mut c = Calendar::always_open();
        c.time_zone = chrono_tz::UTC;
        return c;
    }
    const WEEKDAYS: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    let mut weekly = Vec::new();
    for (d, day) in WEEKDAYS.iter().enumerate() {
        let mut hour = 0;
        while hour < 24 {
            if schedule.slot(d * 24 + hour).counsellors == 0 {
                hour += 1;
                continue;
            }
            let open = hour;
            while hour < 24 && schedule.slot(d * 24 + hour).counsellors > 0 {
                hour += 1;
            }
            let time =
                |h: usize| NaiveTime::from_hms_opt((h % 24) as u32, 0, 0).unwrap_or_default();
            weekly.push(WeeklyHours {
                day: *day,
                open: time(open),
                close: time(hour),
            });
        }
    }
    Calendar {
        time_zone: chrono_tz::UTC,
        weekly,
        ..Calendar::always_open()
    }
}

/// The seats: anyone whose name the play made, with the play's password.
#[derive(Default)]
struct Seats(Mutex<HashMap<String, StaffIdentity>>);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[async_trait]
impl Authenticator for Seats {
    async fn authenticate(&self, credential: &Credential) -> clbchat_core::Result<StaffIdentity> {
        let Credential::Password { username, password } = credential;
        match lock(&self.0).get(username) {
            Some(id) if password == SEAT_PASSWORD => Ok(id.clone()),
            _ => Err(clbchat_core::Error::BadCredentials),
        }
    }
}

async fn play_paused(s: &Scenario, store: Arc<dyn clbchat_core::store::Store>) -> Result<Played> {
    let begin = start();
    let origin = Instant::now();
    let at = |minute: f64| origin + Duration::from_secs_f64(minute.max(0.0) * 60.0);
    let seats = Arc::new(Seats::default());
    let engine = Engine::builder(store)
        .clock(Arc::new(TokioClock::starting_at(begin)))
        .authenticator(seats.clone())
        .build();
    // The server's desk when given (its rules), with the schedule's calendar.
    let mut desk = match &s.desk {
        Some(d) => DeskConfig {
            calendar: calendar(&s.schedule),
            ..d.clone()
        },
        None => DeskConfig::national(DESK, calendar(&s.schedule)),
    };
    let desk_id = desk.id.clone();
    match s.chat_limit_minutes {
        Some(limit) => desk.limits.chat_limit = Duration::from_secs_f64(limit * 60.0),
        None => {
            // No limit: longer than any play.
            desk.limits.chat_limit = Duration::from_secs(400 * 24 * 3600);
            desk.limits.warnings_before_end.clear();
        }
    }
    engine.add_desk(desk).await?;

    let plans = visitors_of(s);
    let hours = s.weeks as usize * WEEK_HOURS;
    let visits: Arc<Mutex<Vec<Option<Visit>>>> = Arc::new(Mutex::new(vec![None; plans.len()]));

    enum Todo {
        Shift(Shift),
        Visitor(usize),
    }
    let mut agenda: Vec<(f64, Todo)> = shifts(&s.schedule, hours)
        .into_iter()
        .map(|sh| (sh.from as f64 * 60.0, Todo::Shift(sh)))
        .collect();
    agenda.extend(
        plans
            .iter()
            .enumerate()
            .map(|(i, p)| (p.at, Todo::Visitor(i))),
    );
    // Shifts first at the same instant: the counsellor is there when the hour's first
    // visitor comes.
    agenda.sort_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then_with(|| matches!(b.1, Todo::Shift(_)).cmp(&matches!(a.1, Todo::Shift(_))))
    });
    let wrap_up = Duration::from_secs_f64(s.wrap_up_minutes * 60.0);
    let mut tasks = tokio::task::JoinSet::new();
    for (minute, todo) in agenda {
        tokio::time::sleep_until(at(minute)).await;
        match todo {
            Todo::Visitor(i) => {
                tasks.spawn(visitor(
                    engine.clone(),
                    desk_id.clone(),
                    plans[i],
                    i,
                    s.weeks,
                    visits.clone(),
                ));
            }
            Todo::Shift(sh) => {
                let name = format!("seat-{}-{}", sh.seat, sh.from);
                lock(&seats.0).insert(
                    name.clone(),
                    StaffIdentity {
                        id: StaffId::new(name.clone()),
                        alias: format!("Stoel {}", sh.seat + 1),
                        role: StaffRole::Counsellor,
                        discipline: if sh.medical {
                            Discipline::Medical
                        } else {
                            Discipline::PsychoPedagogical
                        },
                        desks: vec![desk_id.clone()],
                        capacity: sh.capacity,
                        centre: None,
                    },
                );
                let session = engine
                    .login(&Credential::Password {
                        username: name,
                        password: SEAT_PASSWORD.into(),
                    })
                    .await?;
                let ends = begin + chrono::Duration::minutes(sh.to as i64 * 60);
                tasks.spawn(counsellor(
                    session,
                    desk_id.clone(),
                    ends,
                    at(sh.to as f64 * 60.0),
                    wrap_up,
                ));
            }
        }
    }
    while tasks.join_next().await.is_some() {}
    engine.shutdown().await;
    let visits = lock(&visits)
        .iter()
        .zip(&plans)
        .map(|(v, p)| {
            v.unwrap_or(Visit {
                arrived: p.at,
                hour: (p.at / 60.0) as usize % WEEK_HOURS,
                outcome: Outcome::TooLate,
            })
        })
        .collect();
    Ok(Played {
        visits,
        weeks: s.weeks,
    })
}

/// One visitor: arrive, wait, chat, leave; what happened goes into `out[i]`.
async fn visitor(
    engine: Engine,
    desk: DeskId,
    plan: Plan,
    i: usize,
    weeks: u32,
    out: Arc<Mutex<Vec<Option<Visit>>>>,
) {
    let hour = (plan.at / 60.0) as usize % WEEK_HOURS;
    let record = |outcome| {
        lock(&out)[i] = Some(Visit {
            arrived: plan.at,
            hour,
            outcome,
        });
    };
    let arrival = Arrival {
        visitor_token: None,
        profile: ClientProfile {
            client_type: Some(ClientType::Student),
            health_question: plan.health,
            ..ClientProfile::default()
        },
        appointment: None,
    };
    let mut v = match engine.arrive(&desk, arrival).await {
        Ok(v) => v,
        Err(clbchat_core::Error::QueueFull { .. }) => {
            record(Outcome::QueueFull);
            return;
        }
        Err(_) => {
            record(Outcome::TooLate);
            return;
        }
    };
    let arrived = Instant::now();
    // Patience longer than the play: endless.
    let give_up = arrived
        + plan.patience.map_or(
            Duration::from_secs(u64::from(weeks) * 7 * 24 * 3600 + 3600),
            |p| Duration::from_secs_f64(p * 60.0),
        );
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(give_up) => {
                let _ = v.handle.leave().await;
                record(Outcome::Abandoned { after: minutes(arrived.elapsed()) });
                return;
            }
            e = v.events.next() => match e {
                None => {
                    record(Outcome::SentHome { after: minutes(arrived.elapsed()) });
                    return;
                }
                Some(ServerEvent::Log(LoggedEvent { body: EventBody::Joined { role: Role::Counsellor, .. }, .. })) => break,
                Some(ServerEvent::Log(LoggedEvent { body: EventBody::Ended { .. }, .. })) => {
                    record(Outcome::SentHome { after: minutes(arrived.elapsed()) });
                    return;
                }
                Some(_) => {}
            }
        }
    }
    let joined = Instant::now();
    let wait = minutes(joined - arrived);
    let end = joined + Duration::from_secs_f64(plan.length * 60.0);
    let mut k = 0u32;
    let mut ended = false;
    while !ended && Instant::now() < end {
        let next = (Instant::now() + PACE).min(end);
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(next) => break,
                e = v.events.next() => match e {
                    None | Some(ServerEvent::Log(LoggedEvent { body: EventBody::Ended { .. }, .. })) => {
                        ended = true;
                        break;
                    }
                    Some(_) => {}
                }
            }
        }
        if !ended && Instant::now() < end {
            k += 1;
            if v.handle
                .send(ClientMsgId::new(format!("m{k}")), "…")
                .await
                .is_err()
            {
                ended = true;
            }
        }
    }
    if !ended {
        let _ = v.handle.leave().await;
    }
    record(Outcome::Served {
        wait,
        length: minutes(joined.elapsed()),
    });
}

/// One shift: online until `ends`, registering each chat after `wrap_up`, then offline,
/// finishing what runs.
async fn counsellor(
    mut s: StaffSession,
    desk: DeskId,
    ends: DateTime<Utc>,
    ends_at: Instant,
    wrap_up: Duration,
) {
    if s.handle.go_online(&desk, Some(ends)).await.is_err() {
        return;
    }
    let mut online = true;
    let mut running = 0usize;
    let mut registering = tokio::task::JoinSet::new();
    loop {
        if !online && running == 0 && registering.is_empty() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep_until(ends_at), if online => {
                let _ = s.handle.go_offline(&desk).await;
                online = false;
            }
            Some(_) = registering.join_next(), if !registering.is_empty() => {}
            e = s.events.next() => {
                let Some(e) = e else { return };
                match e {
                    ServerEvent::ChatAssigned { .. } => running += 1,
                    ServerEvent::RegistrationDue { conversation } => {
                        running = running.saturating_sub(1);
                        let handle = s.handle.clone();
                        registering.spawn(async move {
                            tokio::time::sleep(wrap_up).await;
                            let _ = handle
                                .register(
                                    conversation,
                                    RegistrationForm {
                                        client_type: ClientType::Student,
                                        age: None,
                                        gender: None,
                                        topics: vec!["olb.study_choice".into()],
                                        results: vec![ChatResult::InformationAdvice],
                                        found_via: None,
                                        fake_call: false,
                                    },
                                )
                                .await;
                        });
                    }
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seats_work_in_runs_with_the_lowest_seats_medical() {
        let mut hours = vec![None; WEEK_HOURS];
        for slot in &mut hours[14..17] {
            *slot = Some(Slot {
                counsellors: 2,
                medical: 1,
                capacity: 1,
            });
        }
        hours[17] = Some(Slot {
            counsellors: 3,
            medical: 1,
            capacity: 2,
        });
        let s = shifts(&Schedule { hours }, WEEK_HOURS);
        assert_eq!(
            s,
            vec![
                Shift {
                    seat: 0,
                    from: 14,
                    to: 17,
                    medical: true,
                    capacity: 1
                },
                Shift {
                    seat: 0,
                    from: 17,
                    to: 18,
                    medical: true,
                    capacity: 2
                },
                Shift {
                    seat: 1,
                    from: 14,
                    to: 17,
                    medical: false,
                    capacity: 1
                },
                Shift {
                    seat: 1,
                    from: 17,
                    to: 18,
                    medical: false,
                    capacity: 2
                },
                Shift {
                    seat: 2,
                    from: 17,
                    to: 18,
                    medical: false,
                    capacity: 2
                },
            ]
        );
    }
}
