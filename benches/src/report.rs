//! What a load run reports (JSON and a markdown table), and the comparison of several runs
//! into the ratios issue 6 asks for, with its targets.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::wire::Target;

/// One load run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The run's name (e.g. `memory-max`).
    pub label: String,
    /// What it ran against.
    pub target: Target,
    /// The server's socket URL.
    pub url: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// Visitors (conversations).
    pub visitors: usize,
    /// Counsellors (the relays: one partner socket per visitor).
    pub counsellors: usize,
    /// Sockets held open.
    pub connections: usize,
    /// `max` (closed loop) or `fixed` (open loop).
    pub mode: String,
    /// Fixed mode: messages per second per conversation.
    pub rate_per_conversation: Option<f64>,
    /// Fixed mode: messages per second offered in all.
    pub offered_per_sec: Option<f64>,
    /// Max mode: messages in flight per conversation.
    pub window: Option<u32>,
    /// The client-side rate limit per connection, if any.
    pub client_limit_per_sec: Option<f64>,
    /// Seconds of traffic before the measurement.
    pub warmup_secs: f64,
    /// Seconds measured.
    pub duration_secs: f64,
    /// Bytes of message text.
    pub message_bytes: usize,
    /// Messages delivered per second in the measurement.
    pub messages_per_sec: f64,
    /// Delivery latency in the measurement.
    pub latency: Latency,
    /// The connect storm.
    pub connect: Connect,
    /// What was sent and what came.
    pub counts: Counts,
    /// The server's memory.
    pub memory: Memory,
    /// Why connections closed, when they did (at most 10 distinct).
    pub close_reasons: Vec<String>,
    /// Every message sent was delivered once, no connection was lost and (clbchat) every
    /// message was acknowledged: checked, not assumed.
    pub nothing_lost: bool,
}

/// Delivery latency percentiles, in milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Latency {
    /// Messages measured.
    pub count: u64,
    /// Mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

impl Latency {
    /// From a histogram in microseconds.
    pub fn from_histogram(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            count: h.len(),
            mean_ms: h.mean() / 1000.0,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

/// The connect storm.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Connect {
    /// Visitors that got in.
    pub visitors: usize,
    /// Visitors that did not.
    pub failed: usize,
    /// The first failure, if any.
    pub first_error: Option<String>,
    /// WebSocket handshakes completed per second.
    pub handshakes_per_sec: f64,
    /// Sessions started per second (clbchat: `welcome`; socket.io: namespace connected;
    /// relay: the handshake).
    pub sessions_per_sec: f64,
    /// Seconds from the first connect to the last session.
    pub storm_secs: f64,
    /// Sockets opening at once.
    pub concurrency: usize,
}

/// What was sent and what came.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Messages sent (each once; resends not counted).
    pub sent: u64,
    /// Of which scheduled or sent in the measurement.
    pub sent_in_window: u64,
    /// Acknowledged by the server (clbchat only).
    pub acked: Option<u64>,
    /// Distinct messages delivered to the counsellor side.
    pub delivered: u64,
    /// Deliveries in the measurement.
    pub delivered_in_window: u64,
    /// Sent but never delivered (by the end of the drain).
    pub lost: u64,
    /// Delivered more than once.
    pub duplicated: u64,
    /// Messages skipped over by a later one (delivered out of order or lost).
    pub out_of_order: u64,
    /// Refused by the server's rate limit (and sent again).
    pub rate_limited: u64,
    /// Other error frames.
    pub errors: u64,
    /// Sent but never acknowledged (clbchat).
    pub unacked: Option<u64>,
    /// Connections that closed during the run.
    pub disconnects: u64,
}

/// The server's resident memory (`VmRSS`), when its pid was given. Per connection is what
/// the visitor connections added (each with its conversation on clbchat): read just before
/// the storm, after staff logins, whose password hashing leaves the allocator holding
/// memory that has nothing to do with connections.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Memory {
    /// At the start of the run, KiB.
    pub rss_start_kib: Option<u64>,
    /// After setup (counsellors or partner sockets), before the visitors' storm, KiB.
    pub rss_before_kib: Option<u64>,
    /// With every connection open and idle, KiB.
    pub rss_idle_kib: Option<u64>,
    /// The peak of four samples under load, KiB.
    pub rss_load_kib: Option<u64>,
    /// Visitor connections the per-connection figures divide by.
    pub visitor_connections: usize,
    /// (idle − before) / visitor connections, bytes.
    pub per_connection_idle_bytes: Option<f64>,
    /// (load − before) / visitor connections, bytes.
    pub per_connection_load_bytes: Option<f64>,
}

impl Memory {
    /// From the readings and the number of visitor connections.
    pub fn new(
        start: Option<u64>,
        before: Option<u64>,
        idle: Option<u64>,
        load: Option<u64>,
        connections: usize,
    ) -> Memory {
        let per = |after: Option<u64>| {
            let (b, a) = (before?, after?);
            Some((a.saturating_sub(b) as f64 * 1024.0) / connections.max(1) as f64)
        };
        Memory {
            rss_start_kib: start,
            rss_before_kib: before,
            rss_idle_kib: idle,
            rss_load_kib: load,
            visitor_connections: connections,
            per_connection_idle_bytes: per(idle),
            per_connection_load_bytes: per(load),
        }
    }
}

impl Report {
    /// Sets [`Report::nothing_lost`] from the counts.
    pub fn checked(mut self) -> Report {
        let c = &self.counts;
        self.nothing_lost = c.lost == 0
            && c.duplicated == 0
            && c.out_of_order == 0
            && c.disconnects == 0
            && c.unacked.unwrap_or(0) == 0
            && self.connect.failed == 0
            && c.sent > 0;
        self
    }

    /// A markdown table of this run.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "### Load run `{}`\n", self.label);
        s.push_str(&runs_table(std::slice::from_ref(self)));
        s
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.digits$}"))
}

fn kib(bytes: Option<f64>) -> String {
    opt(bytes.map(|b| b / 1024.0), 1)
}

/// A markdown table with one row per run.
pub fn runs_table(reports: &[Report]) -> String {
    let mut s = String::from(
        "| run | target | mode | conversations / sockets | offered msg/s | delivered msg/s | p50 ms | p99 ms | p99.9 ms | max ms | sessions/s | KiB per idle conn | sent | lost | dup | disconnects |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in reports {
        let offered = match (r.offered_per_sec, r.window) {
            (Some(o), _) => format!("{o:.0}"),
            (None, Some(w)) => format!("max (window {w})"),
            _ => "–".into(),
        };
        let _ = writeln!(
            s,
            "| {} | {:?} | {} | {} / {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} | {:.0} | {} | {} | {} | {} | {} |",
            r.label,
            r.target,
            r.mode,
            r.visitors,
            r.connections,
            offered,
            r.messages_per_sec,
            r.latency.p50_ms,
            r.latency.p99_ms,
            r.latency.p999_ms,
            r.latency.max_ms,
            r.connect.sessions_per_sec,
            kib(r.memory.per_connection_idle_bytes),
            r.counts.sent,
            r.counts.lost,
            r.counts.duplicated,
            r.counts.disconnects,
        );
    }
    s
}

/// One line of the comparison.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ratio {
    /// What is compared.
    pub measure: String,
    /// The figure (a ratio, milliseconds or KiB, as `unit` says).
    pub value: Option<f64>,
    /// Its unit.
    pub unit: String,
    /// The target, in words (`≥ 0.85`), if the issue sets one.
    pub target: Option<String>,
    /// Whether the target was met (`None`: no target, or not measured).
    pub met: Option<bool>,
    /// Which runs it comes from.
    pub from: String,
}

/// The comparison of a set of runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    /// The ratios, in the order.
    pub ratios: Vec<Ratio>,
    /// Every run.
    pub runs: Vec<Report>,
}

/// The labels `benches/run.sh` gives its runs, which [`compare`] looks for.
pub mod labels {
    /// The bare relay, closed loop.
    pub const RELAY_MAX: &str = "relay-max";
    /// The full stack on the in-memory store, closed loop.
    pub const MEMORY_MAX: &str = "memory-max";
    /// SQLite, `durability = "full"`, closed loop.
    pub const SQLITE_FULL_MAX: &str = "sqlite-full-max";
    /// SQLite, `durability = "normal"`, closed loop.
    pub const SQLITE_NORMAL_MAX: &str = "sqlite-normal-max";
    /// PostgreSQL, closed loop.
    pub const POSTGRES_MAX: &str = "postgres-max";
    /// The socket.io relay, closed loop.
    pub const SOCKETIO_MAX: &str = "socketio-max";
    /// The full stack in memory at half its maximum, open loop.
    pub const MEMORY_HALF: &str = "memory-half";
    /// The bare relay at the same rate as [`MEMORY_HALF`].
    pub const RELAY_AT_MEMORY_HALF: &str = "relay-at-memory-half";
    /// Durable SQLite at half its maximum, open loop.
    pub const SQLITE_FULL_HALF: &str = "sqlite-full-half";
    /// The bare relay at the same rate as [`SQLITE_FULL_HALF`].
    pub const RELAY_AT_SQLITE_FULL_HALF: &str = "relay-at-sqlite-full-half";
    /// 10,000 concurrent conversations on the full stack (SQLite, durable).
    pub const CONVERSATIONS_10K: &str = "conversations-10k";
    /// The bare relay, closed loop, with twice the conversations: the client's limit of
    /// 10 messages a second per conversation no longer caps it, so it shows its ceiling.
    pub const RELAY_MAX_2X: &str = "relay-max-2x";
    /// The full stack in memory with the same twice the conversations.
    pub const MEMORY_MAX_2X: &str = "memory-max-2x";
    /// The acknowledging relay (`relay-ack`), closed loop, twice the conversations: the
    /// ceiling of any server that acknowledges each message, on this machine.
    pub const RELAY_ACK_MAX_2X: &str = "relay-ack-max-2x";
    /// The acknowledging relay at the same rate as [`MEMORY_HALF`].
    pub const RELAY_ACK_AT_MEMORY_HALF: &str = "relay-ack-at-memory-half";
    /// The acknowledging relay, closed loop, the same conversations as [`MEMORY_MAX`].
    pub const RELAY_ACK_MAX: &str = "relay-ack-max";
    /// The durable relay (`relay-durable`: each message in an SQLite journal with
    /// `synchronous=FULL` before it is acknowledged), closed loop: with [`RELAY_ACK_MAX`],
    /// the ceiling of "durable / in memory" with SQLite on this machine.
    pub const RELAY_DURABLE_MAX: &str = "relay-durable-max";
    /// The durable relay at the same rate as [`SQLITE_FULL_HALF`].
    pub const RELAY_DURABLE_AT_SQLITE_FULL_HALF: &str = "relay-durable-at-sqlite-full-half";
    /// The durable relay with its journal laid out by chat (`clbchat-bare-relay
    /// --journal-by-chat`: clbchat's unique index on (chat, number) beside the rows),
    /// closed loop: with [`RELAY_ACK_MAX`], the ceiling of "durable / in memory" on this
    /// machine for a server whose messages can be read back by chat, as clbchat's must.
    pub const RELAY_BY_CHAT_MAX: &str = "relay-by-chat-max";
    /// The durable relay by chat at the same rate as [`SQLITE_FULL_HALF`].
    pub const RELAY_BY_CHAT_AT_SQLITE_FULL_HALF: &str = "relay-by-chat-at-sqlite-full-half";
}

/// Ratios and targets from runs labelled as in [`labels`]; runs that are missing give
/// figures of `None` (shown as "not run").
pub fn compare(runs: Vec<Report>) -> Comparison {
    use labels::*;
    let by: BTreeMap<&str, &Report> = runs.iter().map(|r| (r.label.as_str(), r)).collect();
    let tput = |l: &str| by.get(l).map(|r| r.messages_per_sec);
    let p99 = |l: &str| by.get(l).map(|r| r.latency.p99_ms);
    let ratio = |a: &str, b: &str| Some(tput(a)? / tput(b)?);
    let added = |a: &str, b: &str| Some(p99(a)? - p99(b)?);
    let line = |measure: &str,
                value: Option<f64>,
                unit: &str,
                target: Option<(&str, bool)>,
                from: String| Ratio {
        measure: measure.into(),
        value,
        unit: unit.into(),
        target: target.map(|(t, _)| t.to_owned()),
        met: target.and_then(|(_, ok)| value.map(|_| ok)),
        from,
    };
    let at_least = |v: Option<f64>, t: f64| v.is_some_and(|v| v >= t);
    let at_most = |v: Option<f64>, t: f64| v.is_some_and(|v| v <= t);
    let mut ratios = Vec::new();
    let v = ratio(MEMORY_MAX, RELAY_MAX);
    ratios.push(line(
        "throughput: full stack in memory / bare relay",
        v,
        "ratio",
        Some(("≥ 0.85", at_least(v, 0.85))),
        format!("{MEMORY_MAX} / {RELAY_MAX}"),
    ));
    let v = ratio(MEMORY_MAX_2X, RELAY_MAX_2X);
    ratios.push(line(
        "throughput at twice the conversations (the relay saturated): full stack in memory / bare relay",
        v,
        "ratio",
        Some(("≥ 0.85", at_least(v, 0.85))),
        format!("{MEMORY_MAX_2X} / {RELAY_MAX_2X}"),
    ));
    ratios.push(line(
        "the ceiling of that goal: acknowledging relay / bare relay, twice the conversations",
        ratio(RELAY_ACK_MAX_2X, RELAY_MAX_2X),
        "ratio",
        None,
        format!("{RELAY_ACK_MAX_2X} / {RELAY_MAX_2X}"),
    ));
    ratios.push(line(
        "how near the ceiling: full stack in memory / acknowledging relay, twice the conversations",
        ratio(MEMORY_MAX_2X, RELAY_ACK_MAX_2X),
        "ratio",
        None,
        format!("{MEMORY_MAX_2X} / {RELAY_ACK_MAX_2X}"),
    ));
    let v = ratio(SQLITE_FULL_MAX, MEMORY_MAX);
    ratios.push(line(
        "throughput: SQLite durable / in memory",
        v,
        "ratio",
        Some(("≥ 0.8", at_least(v, 0.8))),
        format!("{SQLITE_FULL_MAX} / {MEMORY_MAX}"),
    ));
    ratios.push(line(
        "the ceiling of that goal: durable relay (an SQLite journal, synchronous=FULL) / acknowledging relay",
        ratio(RELAY_DURABLE_MAX, RELAY_ACK_MAX),
        "ratio",
        None,
        format!("{RELAY_DURABLE_MAX} / {RELAY_ACK_MAX}"),
    ));
    ratios.push(line(
        "how near the ceiling: SQLite durable / durable relay",
        ratio(SQLITE_FULL_MAX, RELAY_DURABLE_MAX),
        "ratio",
        None,
        format!("{SQLITE_FULL_MAX} / {RELAY_DURABLE_MAX}"),
    ));
    ratios.push(line(
        "the ceiling with messages findable by chat: durable relay by chat (the same journal with clbchat's unique index on chat and number) / acknowledging relay",
        ratio(RELAY_BY_CHAT_MAX, RELAY_ACK_MAX),
        "ratio",
        None,
        format!("{RELAY_BY_CHAT_MAX} / {RELAY_ACK_MAX}"),
    ));
    ratios.push(line(
        "how near that ceiling: SQLite durable / durable relay by chat",
        ratio(SQLITE_FULL_MAX, RELAY_BY_CHAT_MAX),
        "ratio",
        None,
        format!("{SQLITE_FULL_MAX} / {RELAY_BY_CHAT_MAX}"),
    ));
    ratios.push(line(
        "throughput: SQLite normal (faster mode) / in memory",
        ratio(SQLITE_NORMAL_MAX, MEMORY_MAX),
        "ratio",
        None,
        format!("{SQLITE_NORMAL_MAX} / {MEMORY_MAX}"),
    ));
    ratios.push(line(
        "throughput: PostgreSQL / SQLite durable",
        ratio(POSTGRES_MAX, SQLITE_FULL_MAX),
        "ratio",
        None,
        format!("{POSTGRES_MAX} / {SQLITE_FULL_MAX}"),
    ));
    let v = added(MEMORY_HALF, RELAY_AT_MEMORY_HALF);
    ratios.push(line(
        "added p99 latency at half of the maximum load, in memory",
        v,
        "ms",
        Some(("≤ 1 ms", at_most(v, 1.0))),
        format!("{MEMORY_HALF} − {RELAY_AT_MEMORY_HALF}"),
    ));
    ratios.push(line(
        "the same for the acknowledging relay (what one more frame each way adds)",
        added(RELAY_ACK_AT_MEMORY_HALF, RELAY_AT_MEMORY_HALF),
        "ms",
        None,
        format!("{RELAY_ACK_AT_MEMORY_HALF} − {RELAY_AT_MEMORY_HALF}"),
    ));
    let v = added(SQLITE_FULL_HALF, RELAY_AT_SQLITE_FULL_HALF);
    ratios.push(line(
        "added p99 latency at half of the maximum load, SQLite durable",
        v,
        "ms",
        Some(("≤ 5 ms", at_most(v, 5.0))),
        format!("{SQLITE_FULL_HALF} − {RELAY_AT_SQLITE_FULL_HALF}"),
    ));
    ratios.push(line(
        "the same for the durable relay (the journal's own added latency)",
        added(RELAY_DURABLE_AT_SQLITE_FULL_HALF, RELAY_AT_SQLITE_FULL_HALF),
        "ms",
        None,
        format!("{RELAY_DURABLE_AT_SQLITE_FULL_HALF} − {RELAY_AT_SQLITE_FULL_HALF}"),
    ));
    ratios.push(line(
        "the same for the durable relay by chat (the least a by-chat index adds)",
        added(RELAY_BY_CHAT_AT_SQLITE_FULL_HALF, RELAY_AT_SQLITE_FULL_HALF),
        "ms",
        None,
        format!("{RELAY_BY_CHAT_AT_SQLITE_FULL_HALF} − {RELAY_AT_SQLITE_FULL_HALF}"),
    ));
    // The most connections give the steadiest figure.
    let idle_from = [CONVERSATIONS_10K, MEMORY_MAX].into_iter().find(|l| {
        by.get(l)
            .is_some_and(|r| r.memory.per_connection_idle_bytes.is_some())
    });
    let v = idle_from
        .and_then(|l| by.get(l))
        .and_then(|r| r.memory.per_connection_idle_bytes)
        .map(|b| b / 1024.0);
    ratios.push(line(
        "server memory per idle connection",
        v,
        "KiB",
        Some(("≤ 32 KiB", at_most(v, 32.0))),
        idle_from.unwrap_or(CONVERSATIONS_10K).to_owned(),
    ));
    let relay_idle = by
        .get(RELAY_MAX)
        .and_then(|r| r.memory.per_connection_idle_bytes)
        .map(|b| b / 1024.0);
    ratios.push(line(
        "bare relay memory per idle connection (for reference)",
        relay_idle,
        "KiB",
        None,
        RELAY_MAX.to_owned(),
    ));
    ratios.push(line(
        "throughput: socket.io relay / full stack in memory",
        ratio(SOCKETIO_MAX, MEMORY_MAX),
        "ratio",
        None,
        format!("{SOCKETIO_MAX} / {MEMORY_MAX}"),
    ));
    ratios.push(line(
        "p99 latency at max load: socket.io relay − full stack in memory",
        added(SOCKETIO_MAX, MEMORY_MAX),
        "ms",
        None,
        format!("{SOCKETIO_MAX} − {MEMORY_MAX}"),
    ));
    let held = by.get(CONVERSATIONS_10K).map(|r| {
        let ok = r.visitors >= 10_000 && r.connect.visitors >= 10_000 && r.nothing_lost;
        (r.connect.visitors as f64, ok)
    });
    ratios.push(Ratio {
        measure: "concurrent conversations held with nothing lost".into(),
        value: held.map(|(n, _)| n),
        unit: "conversations".into(),
        target: Some("10,000, nothing lost".into()),
        met: held.map(|(_, ok)| ok),
        from: CONVERSATIONS_10K.into(),
    });
    Comparison { ratios, runs }
}

impl Comparison {
    /// The ratios table, then every run.
    pub fn markdown(&self) -> String {
        let mut s =
            String::from("| measure | value | target | met | from runs |\n|---|---|---|---|---|\n");
        for r in &self.ratios {
            let value = match (r.value, r.unit.as_str()) {
                (None, _) => "not run".to_owned(),
                (Some(v), "ratio") => format!("{v:.3}"),
                (Some(v), "conversations") => format!("{v:.0}"),
                (Some(v), unit) => format!("{v:.2} {unit}"),
            };
            let met = match r.met {
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "–",
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | `{}` |",
                r.measure,
                value,
                r.target.as_deref().unwrap_or("–"),
                met,
                r.from
            );
        }
        s.push('\n');
        s.push_str(&runs_table(&self.runs));
        s
    }
}
