//! The load run: N visitors and M counsellors over real WebSockets against a running
//! server, in phases.
//!
//! 1. **Setup.** clbchat: a coordinator logs in, creates the counsellor accounts
//!    (capacity `ceil(N / M)` each) and the counsellors log in and go online. Relay and
//!    socket.io: one "counsellor" socket per visitor, opened before the storm.
//! 2. **Connect storm.** All visitor sockets at once (at most `connect_concurrency` opening
//!    at a time): handshakes per second, and sessions per second (clbchat: `arrive` answered
//!    with `welcome`; socket.io: the namespace connected). Then every conversation must be
//!    running (clbchat: a counsellor `joined`).
//! 3. **Idle.** Nothing is sent for `idle`; the server's memory then, minus before the
//!    setup, divided by the connections is the memory per idle connection.
//! 4. **Traffic.** `warmup`, then `duration` measured. Each visitor sends; its counsellor
//!    receives. Closed loop (`Mode::Max`): at most `window` messages per conversation sent
//!    and not yet delivered (and, on clbchat, acknowledged). Open loop (`Mode::Fixed`): each
//!    visitor sends at `rate` per second on a schedule, whatever happens; latency is
//!    measured from the scheduled instant, so a stalled server cannot hide its stall.
//!    Both respect a client-side token bucket (the server's rate limit by default), so
//!    nothing is dropped by the server's protection in a well-behaved run.
//! 5. **Drain.** Sending stops; every message sent must be delivered (and acknowledged)
//!    within `drain_timeout`. What is not, is *lost*; what comes twice, *duplicated*. The
//!    run checks it, it never assumes it.
//!
//! Latency is visitor send → counsellor receive, from a timestamp in the message itself
//! (both ends are in this process, on one monotonic clock), into an HDR histogram in µs.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clbchat_core::account::{StaffIdentity, StaffRole};
use clbchat_core::event::{ClientProfile, Discipline};
use clbchat_core::ids::{DeskId, StaffId};
use clbchat_core::registration::ClientType;
use clbchat_transport_ws::protocol::{ClientFrame, ServerFrame};
use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tokio::sync::{watch, Notify, Semaphore};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::error::{Error, Result};
use crate::marker::Marker;
use crate::report::{Connect, Counts, Latency, Memory, Report};
use crate::wire::{self, Target, VisitorFrame, Ws};

/// How visitors send.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Closed loop: as fast as deliveries (and acknowledgements) allow, with at most
    /// `window` messages in flight per conversation.
    Max {
        /// Messages in flight per conversation.
        window: u32,
    },
    /// Open loop: each conversation sends `rate` messages per second on a fixed schedule.
    Fixed {
        /// Messages per second per conversation.
        rate: f64,
    },
}

/// A client-side token bucket, the same shape as the server's rate limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClientLimit {
    /// Frames at once.
    pub burst: u32,
    /// Refilled per second.
    pub per_sec: f64,
}

/// How staff get in on a clbchat server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    /// A coordinator of the desk (created by the setup link when one is given).
    pub coordinator: String,
    /// Their password (and the password given to the counsellor accounts).
    pub password: String,
    /// The server's one-time setup link, to create the coordinator first.
    pub setup_link: Option<String>,
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The server's WebSocket URL (clbchat: `ws://HOST:PORT/ws`; relays: `ws://HOST:PORT`).
    pub url: String,
    /// What it is.
    pub target: Target,
    /// A name for the report (e.g. `sqlite-full`).
    pub label: String,
    /// Visitors, i.e. conversations.
    pub visitors: usize,
    /// Counsellors (clbchat); the relays pair one socket per visitor.
    pub counsellors: usize,
    /// How visitors send.
    pub mode: Mode,
    /// Client-side rate limit per visitor connection (`None`: none).
    pub client_limit: Option<ClientLimit>,
    /// Traffic before the measurement.
    pub warmup: Duration,
    /// The measurement.
    pub duration: Duration,
    /// The idle phase before traffic (memory per idle connection is read at its end).
    pub idle: Duration,
    /// How long sent messages may take to arrive after sending stopped.
    pub drain_timeout: Duration,
    /// How long setup and the storm may take at most.
    pub setup_timeout: Duration,
    /// Bytes of message text (marker and padding).
    pub message_bytes: usize,
    /// Sockets opening at once in the storm.
    pub connect_concurrency: usize,
    /// The `Origin` header (the clbchat server allows its own address by default).
    pub origin: Option<String>,
    /// clbchat: the desk.
    pub desk: String,
    /// clbchat: staff credentials.
    pub staff: Option<Staff>,
    /// The server's process id, to read its memory.
    pub server_pid: Option<u32>,
}

/// What one visitor's slot says; written by the counsellor side that receives its messages.
#[derive(Debug, Default)]
struct Slot {
    /// Distinct messages delivered.
    delivered: AtomicU64,
    /// Highest message number delivered.
    highest: AtomicU64,
    /// Deliveries of a number at or below `highest`.
    duplicated: AtomicU64,
    /// Deliveries that skipped numbers (counted by how many they skipped).
    skipped: AtomicU64,
    /// Woken on each delivery (closed loop, drain).
    notify: Notify,
}

impl Slot {
    fn record(&self, number: u64) {
        let highest = self.highest.load(Ordering::Acquire);
        if number <= highest {
            self.duplicated.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if number > highest + 1 {
            self.skipped
                .fetch_add(number - highest - 1, Ordering::Relaxed);
        }
        self.highest.store(number, Ordering::Release);
        self.delivered.fetch_add(1, Ordering::AcqRel);
        self.notify.notify_one();
    }
}

/// The instants every task works to, fixed before traffic starts.
#[derive(Debug, Clone, Copy)]
struct Clock {
    base: Instant,
    go: Instant,
    measure_from: Instant,
    measure_until: Instant,
    drain_until: Instant,
}

impl Clock {
    fn ns(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX)
    }
    fn at(&self, ns: u64) -> Instant {
        self.base + Duration::from_nanos(ns)
    }
    fn measured(&self, t: Instant) -> bool {
        t >= self.measure_from && t < self.measure_until
    }
}

/// Shared between all tasks of a run.
struct Shared {
    cfg: LoadConfig,
    slots: Vec<Slot>,
    /// Conversations running (clbchat: counsellor joined; relays: socket paired).
    ready: AtomicUsize,
    ready_changed: Notify,
    /// Counsellor-side: chats assigned (clbchat).
    assigned: AtomicUsize,
    clock: watch::Receiver<Option<Clock>>,
}

/// What a receiving (counsellor-side) task measured.
struct Received {
    latency: Histogram<u64>,
    in_window: u64,
    disconnects: u64,
    close_reasons: Vec<String>,
}

/// What a visitor task measured.
#[derive(Debug, Default)]
struct Sent {
    sent: u64,
    sent_in_window: u64,
    acked: u64,
    rate_limited: u64,
    errors: u64,
    disconnected: bool,
    close_reason: Option<String>,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 60 s, 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant histogram bounds are valid")
}

impl LoadConfig {
    /// Checks that the parameters fit together.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Usage(m));
        if self.visitors == 0 {
            return bad("--visitors: at least 1".into());
        }
        if self.target == Target::Clbchat {
            if self.counsellors == 0 {
                return bad("--counsellors: at least 1 for a clbchat server".into());
            }
            if self.staff.is_none() {
                return bad(
                    "a clbchat server needs staff: give --coordinator and --password (and \
                     --setup-link on a fresh server)"
                        .into(),
                );
            }
        }
        if self.message_bytes < 32 || self.message_bytes > 4000 {
            return bad(format!(
                "--message-bytes: 32 to 4000 (clbchat's limit is 4,000 characters); got {}",
                self.message_bytes
            ));
        }
        match self.mode {
            Mode::Fixed { rate } if !(rate > 0.0 && rate.is_finite()) => {
                return bad(format!(
                    "--rate: a positive number of messages per second per conversation; got {rate}"
                ))
            }
            Mode::Fixed { rate } => {
                if let Some(l) = self.client_limit {
                    if rate > l.per_sec {
                        return bad(format!(
                            "--rate {rate}/s per conversation is over the client limit of {}/s per \
                             connection (the clbchat server's rate limit); use more conversations \
                             for more load, or --client-limit 0 to send anyway",
                            l.per_sec
                        ));
                    }
                }
            }
            Mode::Max { window: 0 } => return bad("--window: at least 1".into()),
            Mode::Max { .. } => {}
        }
        if self.connect_concurrency == 0 {
            return bad("--connect-concurrency: at least 1".into());
        }
        Ok(())
    }

    /// Sockets the run holds open: visitors plus counsellors (clbchat) or plus one partner
    /// socket per visitor (relays).
    pub fn connections(&self) -> usize {
        match self.target {
            Target::Clbchat => self.visitors + self.counsellors,
            Target::Relay | Target::RelayAck | Target::RelayDurable | Target::Socketio => {
                2 * self.visitors
            }
        }
    }

    fn origin(&self) -> Option<String> {
        if let Some(o) = &self.origin {
            return (!o.is_empty()).then(|| o.clone());
        }
        // The clbchat server allows its own address: http://HOST:PORT.
        let rest = self
            .url
            .strip_prefix("ws://")
            .map(|r| ("http", r))
            .or_else(|| self.url.strip_prefix("wss://").map(|r| ("https", r)))?;
        let host = rest.1.split('/').next()?;
        Some(format!("{}://{host}", rest.0))
    }
}

/// Runs the whole load test and reports.
pub async fn run(cfg: LoadConfig) -> Result<Report> {
    cfg.validate()?;
    let started_at = chrono::Utc::now();
    let rss = |pid: Option<u32>| pid.and_then(crate::procfs::rss_kib);
    let rss_start = rss(cfg.server_pid);
    let (clock_tx, clock_rx) = watch::channel(None);
    let shared = Arc::new(Shared {
        slots: (0..cfg.visitors).map(|_| Slot::default()).collect(),
        ready: AtomicUsize::new(0),
        ready_changed: Notify::new(),
        assigned: AtomicUsize::new(0),
        clock: clock_rx,
        cfg,
    });
    let cfg = &shared.cfg;
    let setup_deadline = Instant::now() + cfg.setup_timeout;

    // 1. Setup: the receiving side.
    let receivers = tokio::time::timeout_at(setup_deadline, open_receivers(&shared))
        .await
        .map_err(|_| Error::Timeout {
            what: "setup (counsellors)".into(),
            after: cfg.setup_timeout,
        })??;

    eprintln!(
        "clbchat-load: {}: receiving side ready ({} sockets); connect storm of {} visitors",
        cfg.label,
        receivers.len(),
        cfg.visitors
    );
    let rss_before = rss(cfg.server_pid);

    // 2. The connect storm.
    let storm = tokio::time::timeout_at(setup_deadline, storm(&shared))
        .await
        .map_err(|_| Error::Timeout {
            what: "the connect storm".into(),
            after: cfg.setup_timeout,
        })??;
    let connect = storm.connect;
    eprintln!(
        "clbchat-load: {}: {} visitors in ({:.0} sessions/s, {} failed); waiting for every conversation to run",
        cfg.label, connect.visitors, connect.sessions_per_sec, connect.failed
    );
    let visitors = storm.visitors;
    let wanted = visitors.len();
    let all_ready = async {
        loop {
            let changed = shared.ready_changed.notified();
            if shared.ready.load(Ordering::Acquire) >= wanted {
                return;
            }
            changed.await;
        }
    };
    tokio::time::timeout_at(setup_deadline, all_ready)
        .await
        .map_err(|_| Error::Timeout {
            what: format!(
                "conversations running ({} of {wanted})",
                shared.ready.load(Ordering::Acquire)
            ),
            after: cfg.setup_timeout,
        })?;

    // 3. Idle.
    tokio::time::sleep(cfg.idle).await;
    let rss_idle = rss(cfg.server_pid);
    eprintln!(
        "clbchat-load: {}: {wanted} conversations running; traffic: {:.0} s warm-up, {:.0} s measured",
        cfg.label,
        cfg.warmup.as_secs_f64(),
        cfg.duration.as_secs_f64()
    );

    // 4. Traffic.
    let base = Instant::now();
    let go = base + Duration::from_millis(50);
    let measure_from = go + cfg.warmup;
    let measure_until = measure_from + cfg.duration;
    let clock = Clock {
        base,
        go,
        measure_from,
        measure_until,
        drain_until: measure_until + cfg.drain_timeout,
    };
    let _ = clock_tx.send(Some(clock));
    let pid = cfg.server_pid;
    let sampler = tokio::spawn(async move {
        let mut peak: Option<u64> = None;
        let step = (measure_until - measure_from) / 4;
        tokio::time::sleep_until(measure_from).await;
        for _ in 0..4 {
            tokio::time::sleep(step).await;
            if let Some(k) = pid.and_then(crate::procfs::rss_kib) {
                peak = Some(peak.map_or(k, |p| p.max(k)));
            }
        }
        peak
    });

    // 5. Drain: visitors end when all theirs arrived or at the drain deadline.
    let mut sent = Vec::with_capacity(visitors.len());
    // Sockets stay open until every side is done, so no close is taken for a loss.
    let mut open = Vec::with_capacity(visitors.len());
    for v in visitors {
        match v.await {
            Ok((s, ws)) => {
                sent.push(s);
                open.push(ws);
            }
            Err(e) => return Err(Error::protocol("a visitor task", &format!("failed: {e}"))),
        }
    }
    let rss_load = sampler.await.ok().flatten();
    let _ = clock_tx.send(None);
    let mut received = Vec::with_capacity(receivers.len());
    for r in receivers {
        if let Ok(r) = r.await {
            received.push(r);
        }
    }
    for mut ws in open.into_iter().flatten() {
        let _ = ws.close(None).await;
    }

    Ok(summarise(
        &shared,
        clock,
        started_at,
        connect,
        &sent,
        &received,
        Memory::new(rss_start, rss_before, rss_idle, rss_load, wanted),
    ))
}

fn summarise(
    shared: &Shared,
    clock: Clock,
    started_at: chrono::DateTime<chrono::Utc>,
    connect: Connect,
    sent: &[Sent],
    received: &[Received],
    memory: Memory,
) -> Report {
    let cfg = &shared.cfg;
    let mut latency = histogram();
    let mut in_window = 0;
    let mut disconnects = 0;
    let mut close_reasons = Vec::new();
    for r in received {
        let _ = latency.add(&r.latency);
        in_window += r.in_window;
        disconnects += r.disconnects;
        close_reasons.extend(r.close_reasons.iter().cloned());
    }
    let total_sent: u64 = sent.iter().map(|s| s.sent).sum();
    let delivered: u64 = shared
        .slots
        .iter()
        .map(|s| s.delivered.load(Ordering::Acquire))
        .sum();
    let duplicated: u64 = shared
        .slots
        .iter()
        .map(|s| s.duplicated.load(Ordering::Acquire))
        .sum();
    let skipped: u64 = shared
        .slots
        .iter()
        .map(|s| s.skipped.load(Ordering::Acquire))
        .sum();
    for s in sent.iter().filter(|s| s.disconnected) {
        disconnects += 1;
        if let Some(r) = &s.close_reason {
            close_reasons.push(r.clone());
        }
    }
    close_reasons.sort();
    close_reasons.dedup();
    close_reasons.truncate(10);
    let secs = (clock.measure_until - clock.measure_from).as_secs_f64();
    let acked = wire::acknowledges(cfg.target).then(|| sent.iter().map(|s| s.acked).sum());
    let counts = Counts {
        sent: total_sent,
        sent_in_window: sent.iter().map(|s| s.sent_in_window).sum(),
        acked,
        delivered,
        delivered_in_window: in_window,
        lost: total_sent.saturating_sub(delivered),
        duplicated,
        out_of_order: skipped,
        rate_limited: sent.iter().map(|s| s.rate_limited).sum(),
        errors: sent.iter().map(|s| s.errors).sum(),
        unacked: acked.map(|a| total_sent.saturating_sub(a)),
        disconnects,
    };
    let (mode, rate, window) = match cfg.mode {
        Mode::Max { window } => ("max", None, Some(window)),
        Mode::Fixed { rate } => ("fixed", Some(rate), None),
    };
    Report {
        label: cfg.label.clone(),
        target: cfg.target,
        url: cfg.url.clone(),
        started_at: started_at.to_rfc3339(),
        visitors: cfg.visitors,
        counsellors: match cfg.target {
            Target::Clbchat => cfg.counsellors,
            Target::Relay | Target::RelayAck | Target::RelayDurable | Target::Socketio => {
                cfg.visitors
            }
        },
        connections: cfg.connections(),
        mode: mode.into(),
        rate_per_conversation: rate,
        offered_per_sec: rate.map(|r| r * cfg.visitors as f64),
        window,
        client_limit_per_sec: cfg.client_limit.map(|l| l.per_sec),
        warmup_secs: cfg.warmup.as_secs_f64(),
        duration_secs: secs,
        message_bytes: cfg.message_bytes,
        messages_per_sec: in_window as f64 / secs,
        latency: Latency::from_histogram(&latency),
        connect,
        counts,
        memory,
        close_reasons,
        nothing_lost: false,
    }
    .checked()
}

// --- the receiving side ---

type Task<T> = tokio::task::JoinHandle<T>;

async fn open_receivers(shared: &Arc<Shared>) -> Result<Vec<Task<Received>>> {
    let cfg = &shared.cfg;
    match cfg.target {
        Target::Clbchat => open_counsellors(shared).await,
        Target::Relay | Target::RelayAck | Target::RelayDurable | Target::Socketio => {
            let gate = Arc::new(Semaphore::new(cfg.connect_concurrency));
            let mut opening = Vec::with_capacity(cfg.visitors);
            for n in 0..cfg.visitors {
                let (shared, gate) = (shared.clone(), gate.clone());
                opening.push(tokio::spawn(async move {
                    let _permit = gate.acquire().await;
                    let cfg = &shared.cfg;
                    let url = wire::socket_url(cfg.target, &cfg.url, n);
                    let what = format!("partner socket {n}");
                    let mut ws = wire::connect(&url, None, wire::protocol(cfg.target)).await?;
                    if cfg.target == Target::Socketio {
                        wire::socketio_handshake(&mut ws, &what).await?;
                    }
                    Ok::<_, Error>(ws)
                }));
            }
            let mut tasks = Vec::with_capacity(opening.len());
            for o in opening {
                let ws = o
                    .await
                    .map_err(|e| Error::protocol("opening a partner socket", &e.to_string()))??;
                tasks.push(tokio::spawn(receive(shared.clone(), ws)));
            }
            Ok(tasks)
        }
    }
}

async fn open_counsellors(shared: &Arc<Shared>) -> Result<Vec<Task<Received>>> {
    let cfg = &shared.cfg;
    let staff = cfg
        .staff
        .clone()
        .ok_or_else(|| Error::Usage("no staff credentials".into()))?;
    if let Some(link) = &staff.setup_link {
        crate::setup::first_coordinator(link, &staff.coordinator, &staff.password).await?;
    }
    let origin = cfg.origin();
    let desk = DeskId::new(cfg.desk.clone());
    let capacity = u32::try_from(cfg.visitors.div_ceil(cfg.counsellors)).unwrap_or(u32::MAX);
    let mut coordinator =
        wire::connect(&cfg.url, origin.as_deref(), wire::protocol(cfg.target)).await?;
    let mut req = 0;
    let mut next = || {
        req += 1;
        req
    };
    wire::request(
        &mut coordinator,
        next(),
        ClientFrame::Login {
            username: staff.coordinator.clone(),
            password: staff.password.clone(),
        },
        "coordinator login",
    )
    .await?;
    // Accounts, paced under the server's rate limit (30 at once, 10 per second).
    let mut bucket = Bucket::new(Some(ClientLimit {
        burst: 20,
        per_sec: 8.0,
    }));
    for n in 0..cfg.counsellors {
        bucket.take().await;
        let username = counsellor_name(n);
        let identity = StaffIdentity {
            id: StaffId::new(username.clone()),
            alias: format!("Load {n}"),
            role: StaffRole::Counsellor,
            discipline: Discipline::SocialWork,
            desks: vec![desk.clone()],
            capacity,
            centre: None,
        };
        let frame = |create| ClientFrame::SaveAccount {
            username: username.clone(),
            create,
            password: Some(staff.password.clone()),
            active: true,
            identity: identity.clone(),
        };
        let what = format!("creating account {username}");
        match wire::request(&mut coordinator, next(), frame(true), &what).await {
            Ok(_) => {}
            // Left from an earlier run on the same database: bring it up to date.
            Err(Error::Refused { .. }) => {
                bucket.take().await;
                wire::request(&mut coordinator, next(), frame(false), &what).await?;
            }
            Err(e) => return Err(e),
        }
    }
    let _ = coordinator.close(None).await;

    // Logins hash a password (Argon2, tens of ms of CPU): a few at a time.
    let gate = Arc::new(Semaphore::new(4));
    let mut logging_in = Vec::with_capacity(cfg.counsellors);
    for n in 0..cfg.counsellors {
        let (shared, gate, origin, desk) =
            (shared.clone(), gate.clone(), origin.clone(), desk.clone());
        let password = staff.password.clone();
        logging_in.push(tokio::spawn(async move {
            let _permit = gate.acquire().await;
            let cfg = &shared.cfg;
            let username = counsellor_name(n);
            let what = format!("counsellor {username}");
            let mut ws =
                wire::connect(&cfg.url, origin.as_deref(), wire::protocol(cfg.target)).await?;
            wire::request(&mut ws, 1, ClientFrame::Login { username, password }, &what).await?;
            match wire::request(
                &mut ws,
                2,
                ClientFrame::Online {
                    desk,
                    shift_ends_at: None,
                },
                &what,
            )
            .await?
            {
                ServerFrame::Ok { .. } => Ok::<_, Error>(ws),
                other => Err(Error::protocol(&what, &format!("{other:?}"))),
            }
        }));
    }
    let mut tasks = Vec::with_capacity(logging_in.len());
    for l in logging_in {
        let ws = l
            .await
            .map_err(|e| Error::protocol("a counsellor login", &e.to_string()))??;
        tasks.push(tokio::spawn(receive(shared.clone(), ws)));
    }
    Ok(tasks)
}

/// The user name of load counsellor `n`.
pub fn counsellor_name(n: usize) -> String {
    format!("load-counsellor-{n}")
}

/// A counsellor (or partner) socket: records every message that arrives until the run
/// ends, answering socket.io pings.
async fn receive(shared: Arc<Shared>, mut ws: Ws) -> Received {
    let target = shared.cfg.target;
    let prefix = wire::marker_prefix(target);
    let mut clock_rx = shared.clock.clone();
    let mut clock: Option<Clock> = None;
    let mut out = Received {
        latency: histogram(),
        in_window: 0,
        disconnects: 0,
        close_reasons: Vec::new(),
    };
    // Relays: the socket is paired as soon as both are open; the visitor side says so.
    loop {
        tokio::select! {
            msg = ws.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(c))) => {
                        out.disconnects += 1;
                        out.close_reasons.push(c.map_or_else(|| "closed".into(), |c| format!("counsellor: {} {}", u16::from(c.code), c.reason)));
                        break;
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => {
                        out.disconnects += 1;
                        out.close_reasons.push(format!("counsellor: {e}"));
                        break;
                    }
                    None => {
                        out.disconnects += 1;
                        out.close_reasons.push("counsellor: connection ended".into());
                        break;
                    }
                };
                let text = text.as_str();
                match target {
                    Target::Clbchat if !wire::is_client_message(text) => {
                        if text.contains(r#""event":"chat_assigned""#) {
                            shared.assigned.fetch_add(1, Ordering::AcqRel);
                        }
                        continue;
                    }
                    Target::Socketio if text == "2" => {
                        let _ = ws.send(Message::text("3")).await;
                        continue;
                    }
                    _ => {}
                }
                let Some(m) = Marker::find(text, prefix) else { continue };
                let now = Instant::now();
                if clock.is_none() {
                    clock = *clock_rx.borrow();
                }
                let Some(c) = clock else { continue };
                if let Some(slot) = shared.slots.get(m.visitor as usize) {
                    slot.record(m.number);
                }
                let sent = c.at(m.sent_ns);
                if c.measured(sent) {
                    let us = u64::try_from(now.saturating_duration_since(sent).as_micros()).unwrap_or(u64::MAX);
                    out.latency.saturating_record(us.max(1));
                }
                if c.measured(now) {
                    out.in_window += 1;
                }
            }
            changed = clock_rx.changed() => {
                if changed.is_err() {
                    break;
                }
                let now = *clock_rx.borrow();
                match now {
                    Some(c) => clock = Some(c),
                    // The run is over.
                    None => break,
                }
            }
        }
    }
    let _ = ws.close(None).await;
    out
}

// --- the storm and the visitors ---

struct Storm {
    connect: Connect,
    visitors: Vec<Task<(Sent, Option<Ws>)>>,
}

async fn storm(shared: &Arc<Shared>) -> Result<Storm> {
    let cfg = &shared.cfg;
    let origin = cfg.origin();
    let gate = Arc::new(Semaphore::new(cfg.connect_concurrency));
    let start = Instant::now();
    let handshakes_done = Arc::new(AtomicU64::new(0));
    let sessions_done = Arc::new(AtomicU64::new(0));
    let mut opening = Vec::with_capacity(cfg.visitors);
    for n in 0..cfg.visitors {
        let (shared, gate, origin) = (shared.clone(), gate.clone(), origin.clone());
        let (hs, ss) = (handshakes_done.clone(), sessions_done.clone());
        opening.push(tokio::spawn(async move {
            let permit = gate.acquire().await;
            let cfg = &shared.cfg;
            let url = wire::socket_url(cfg.target, &cfg.url, n);
            let what = format!("visitor {n}");
            let origin = match cfg.target {
                Target::Clbchat => origin.as_deref(),
                Target::Relay | Target::RelayAck | Target::RelayDurable | Target::Socketio => None,
            };
            let mut ws = wire::connect(&url, origin, wire::protocol(cfg.target)).await?;
            let elapsed = |s: Instant| u64::try_from(s.elapsed().as_nanos()).unwrap_or(u64::MAX);
            hs.fetch_max(elapsed(start), Ordering::AcqRel);
            match cfg.target {
                Target::Clbchat => {
                    let arrive = ClientFrame::Arrive {
                        desk: DeskId::new(cfg.desk.clone()),
                        visitor_token: None,
                        profile: ClientProfile {
                            client_type: Some(ClientType::Student),
                            nickname: Some(format!("v{n}")),
                            ..ClientProfile::default()
                        },
                        appointment: None,
                    };
                    match wire::request(&mut ws, 0, arrive, &what).await? {
                        ServerFrame::Welcome { .. } => {}
                        other => return Err(Error::protocol(&what, &format!("{other:?}"))),
                    }
                }
                Target::Socketio => wire::socketio_handshake(&mut ws, &what).await?,
                Target::Relay | Target::RelayAck | Target::RelayDurable => {}
            }
            ss.fetch_max(elapsed(start), Ordering::AcqRel);
            drop(permit);
            Ok::<_, Error>(ws)
        }));
    }
    let mut visitors = Vec::with_capacity(opening.len());
    let mut failed = 0;
    let mut first_error = None;
    for (n, o) in opening.into_iter().enumerate() {
        match o.await {
            Ok(Ok(ws)) => {
                let shared = shared.clone();
                visitors.push(tokio::spawn(visitor(shared, n, ws)));
            }
            Ok(Err(e)) => {
                failed += 1;
                first_error.get_or_insert(e.to_string());
            }
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    if visitors.is_empty() {
        return Err(Error::protocol(
            "the connect storm",
            &format!(
                "no visitor got in; the first error: {}",
                first_error.unwrap_or_default()
            ),
        ));
    }
    let secs = |ns: u64| (ns as f64 / 1e9).max(1e-9);
    let hs = secs(handshakes_done.load(Ordering::Acquire));
    let ss = secs(sessions_done.load(Ordering::Acquire));
    let ok = visitors.len() as f64;
    Ok(Storm {
        connect: Connect {
            visitors: visitors.len(),
            failed,
            first_error,
            handshakes_per_sec: ok / hs,
            sessions_per_sec: ok / ss,
            storm_secs: ss,
            concurrency: cfg.connect_concurrency,
        },
        visitors,
    })
}

/// A token bucket on tokio's clock.
#[derive(Debug)]
struct Bucket {
    limit: Option<ClientLimit>,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(limit: Option<ClientLimit>) -> Self {
        Self {
            tokens: limit.map_or(0.0, |l| f64::from(l.burst)),
            limit,
            last: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        if let Some(l) = self.limit {
            let gained = now.saturating_duration_since(self.last).as_secs_f64() * l.per_sec;
            self.tokens = (self.tokens + gained).min(f64::from(l.burst));
        }
        self.last = now;
    }

    /// Takes a token now if there is one.
    fn try_take(&mut self, now: Instant) -> bool {
        if self.limit.is_none() {
            return true;
        }
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// When the next token comes.
    fn next_token(&self) -> Instant {
        match self.limit {
            Some(l) if self.tokens < 1.0 => {
                self.last + Duration::from_secs_f64((1.0 - self.tokens) / l.per_sec)
            }
            _ => self.last,
        }
    }

    /// Waits for a token and takes it.
    async fn take(&mut self) {
        while !self.try_take(Instant::now()) {
            tokio::time::sleep_until(self.next_token()).await;
        }
    }
}

/// One visitor: waits for its conversation to run, then for the start, sends until the
/// end of the measurement, then waits for what it sent to be delivered.
async fn visitor(shared: Arc<Shared>, n: usize, mut ws: Ws) -> (Sent, Option<Ws>) {
    let cfg = &shared.cfg;
    let target = cfg.target;
    let mut out = Sent::default();
    let Some(slot) = shared.slots.get(n) else {
        return (out, Some(ws));
    };
    let visitor_index = u32::try_from(n).unwrap_or(u32::MAX);
    let mut clock_rx = shared.clock.clone();
    // Running: relays at once; clbchat when the counsellor joined.
    let mut running = target != Target::Clbchat;
    if running {
        shared.ready.fetch_add(1, Ordering::AcqRel);
        shared.ready_changed.notify_one();
    }
    let clock = loop {
        if let Some(c) = *clock_rx.borrow_and_update() {
            break c;
        }
        tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let t = t.as_str();
                    if target == Target::Clbchat && !running && wire::visitor_frame(t) == VisitorFrame::Joined {
                        running = true;
                        shared.ready.fetch_add(1, Ordering::AcqRel);
                        shared.ready_changed.notify_one();
                    } else if target == Target::Socketio && t == "2" {
                        let _ = ws.send(Message::text("3")).await;
                    }
                }
                Some(Ok(m)) if !m.is_close() => {}
                other => {
                    out.disconnected = true;
                    out.close_reason = Some(describe_end(other));
                    return (out, None);
                }
            },
            changed = clock_rx.changed() => if changed.is_err() { return (out, Some(ws)); },
        }
    };
    if !running {
        return (out, Some(ws));
    }

    let mut bucket = Bucket::new(cfg.client_limit);
    let mut resend: std::collections::VecDeque<u64> = std::collections::VecDeque::new();
    // clbchat: unacknowledged messages and when they were first sent, so a resend after
    // the rate limit keeps its original timestamp (it is the same message).
    let mut unacked: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
    // Fixed mode: a random phase spreads the conversations over the interval.
    let (interval, phase) = match cfg.mode {
        Mode::Fixed { rate } => {
            let interval = Duration::from_secs_f64(1.0 / rate);
            let spread = (visitor_index as f64 * 0.618_033_988_75).fract();
            (interval, interval.mul_f64(spread))
        }
        Mode::Max { .. } => (Duration::ZERO, Duration::ZERO),
    };
    let mut next_due = clock.go + phase;
    let stop_sending = clock.measure_until;
    let wants_acks = wire::acknowledges(target);
    loop {
        let now = Instant::now();
        let sending = now < stop_sending;
        let delivered = slot.delivered.load(Ordering::Acquire);
        let done = |acked: u64| delivered >= out.sent && (!wants_acks || acked >= out.sent);
        if !sending && resend.is_empty() && done(out.acked) {
            break;
        }
        if now >= clock.drain_until {
            break;
        }
        // What to send now: a resend first, then a new message if due.
        let due_new = sending
            && match cfg.mode {
                Mode::Fixed { .. } => now >= next_due && next_due < stop_sending,
                Mode::Max { window } => {
                    let settled = if wants_acks {
                        delivered.min(out.acked)
                    } else {
                        delivered
                    };
                    out.sent.saturating_sub(settled) < u64::from(window)
                }
            };
        let want = !resend.is_empty() || due_new;
        if want && bucket.try_take(now) {
            let (number, sent_ns) = match resend.pop_front() {
                Some(number) => (
                    number,
                    unacked
                        .get(&number)
                        .copied()
                        .unwrap_or_else(|| clock.ns(now)),
                ),
                None => {
                    out.sent += 1;
                    let at = match cfg.mode {
                        Mode::Fixed { .. } => {
                            let at = next_due;
                            next_due += interval;
                            at
                        }
                        Mode::Max { .. } => now,
                    };
                    if clock.measured(at) {
                        out.sent_in_window += 1;
                    }
                    if wants_acks {
                        unacked.insert(out.sent, clock.ns(at));
                    }
                    (out.sent, clock.ns(at))
                }
            };
            let marker = Marker {
                visitor: visitor_index,
                number,
                sent_ns,
            };
            let frame = wire::message_frame(target, number, &marker.text(cfg.message_bytes));
            if let Err(e) = ws.send(Message::text(frame)).await {
                out.disconnected = true;
                out.close_reason = Some(format!("visitor: {e}"));
                return (out, None);
            }
            continue;
        }
        let mut wake = clock.drain_until;
        if sending {
            wake = wake.min(stop_sending);
            if let Mode::Fixed { .. } = cfg.mode {
                wake = wake.min(next_due);
            }
        }
        if want {
            wake = wake.min(bucket.next_token());
        }
        tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let t = t.as_str();
                    match target {
                        Target::Clbchat => match wire::visitor_frame(t) {
                            VisitorFrame::Ack(number) => {
                                if unacked.remove(&number).is_some() {
                                    out.acked += 1;
                                }
                            }
                            VisitorFrame::RateLimited(number) => {
                                out.rate_limited += 1;
                                resend.push_back(number);
                            }
                            VisitorFrame::Error(_) => out.errors += 1,
                            VisitorFrame::Joined | VisitorFrame::Other => {}
                        },
                        Target::RelayAck | Target::RelayDurable => {
                            let acked = Marker::find(t, "")
                                .is_some_and(|m| unacked.remove(&m.number).is_some());
                            if acked {
                                out.acked += 1;
                            }
                        }
                        Target::Socketio if t == "2" => {
                            let _ = ws.send(Message::text("3")).await;
                        }
                        _ => {}
                    }
                }
                Some(Ok(m)) if !m.is_close() => {}
                other => {
                    out.disconnected = true;
                    out.close_reason = Some(describe_end(other));
                    return (out, None);
                }
            },
            () = slot.notify.notified() => {}
            () = tokio::time::sleep_until(wake) => {}
        }
    }
    (out, Some(ws))
}

fn describe_end(
    msg: Option<std::result::Result<Message, tokio_tungstenite::tungstenite::Error>>,
) -> String {
    match msg {
        Some(Ok(Message::Close(Some(c)))) => {
            format!("visitor: closed {} {}", u16::from(c.code), c.reason)
        }
        Some(Ok(_)) => "visitor: closed".into(),
        Some(Err(e)) => format!("visitor: {e}"),
        None => "visitor: connection ended".into(),
    }
}
