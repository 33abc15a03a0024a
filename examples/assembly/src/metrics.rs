//! Prometheus metrics at `/metrics`: what an operator watches during an evening.
//!
//! - `clbchat_connections`: WebSocket connections open now.
//! - `clbchat_connections_opened_total`, `clbchat_frames_received_total`.
//! - `clbchat_queue_length{desk}`: clients waiting; `clbchat_running_chats{desk}`.
//! - `clbchat_desk_open{desk}`: 1 while the calendar says open.
//! - `clbchat_staff_online{desk}`, `clbchat_coverage_warnings{desk}`: from the desk board.
//! - `clbchat_wait_seconds{desk}`: histogram of the time from arrival to a counsellor.
//! - `clbchat_messages_total{desk,from}`: chat messages stored and acknowledged.
//! - `clbchat_chats_ended_total{desk,reason}`: how chats ended (refusals included).
//! - `clbchat_errors_total{code}`: error frames sent to clients, by stable code.
//!
//! Labels are desks, roles, end reasons and error codes: a fixed, small set. Nothing here
//! carries text, tokens or addresses. The `prometheus-client` crate does the exposition
//! format (the official Rust client, rather than hand-written text).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use clbchat_core::engine::Engine;
use clbchat_core::event::{EndReason, Role};
use clbchat_core::ids::DeskId;
use clbchat_core::observer::Observer;
use clbchat_transport_ws::WsServer;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeskLabel {
    desk: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MessageLabel {
    desk: String,
    from: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndLabel {
    desk: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: String,
}

/// Upper bounds of the wait histogram, in seconds: 10 s to 1 h.
pub const WAIT_BUCKETS_SECS: [f64; 10] = [
    10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 3600.0,
];

/// The metrics registry and its handles; the engine's [`Observer`].
pub struct Metrics {
    registry: Mutex<Registry>,
    connections: Gauge,
    opened: Counter,
    frames: Counter,
    queue: Family<DeskLabel, Gauge>,
    running: Family<DeskLabel, Gauge>,
    open: Family<DeskLabel, Gauge>,
    online: Family<DeskLabel, Gauge>,
    warnings: Family<DeskLabel, Gauge>,
    waits: Family<DeskLabel, Histogram>,
    messages: Family<MessageLabel, Counter>,
    ended: Family<EndLabel, Counter>,
    errors: Family<CodeLabel, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn label<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "other".into())
}

impl Metrics {
    /// A registry with every metric registered.
    pub fn new() -> Arc<Self> {
        let mut m = Metrics {
            connections: Gauge::default(),
            opened: Counter::default(),
            frames: Counter::default(),
            queue: Family::default(),
            running: Family::default(),
            open: Family::default(),
            online: Family::default(),
            warnings: Family::default(),
            waits: Family::new_with_constructor(|| Histogram::new(WAIT_BUCKETS_SECS)),
            messages: Family::default(),
            ended: Family::default(),
            errors: Family::default(),
            registry: Mutex::new(Registry::default()),
        };
        // Registered in place: the handles above and the registry are disjoint fields.
        let registry = m.registry.get_mut().unwrap_or_else(|p| p.into_inner());
        registry.register(
            "clbchat_connections",
            "WebSocket connections open now",
            m.connections.clone(),
        );
        registry.register(
            "clbchat_connections_opened",
            "WebSocket connections opened since start",
            m.opened.clone(),
        );
        registry.register(
            "clbchat_frames_received",
            "Client frames received since start",
            m.frames.clone(),
        );
        registry.register(
            "clbchat_queue_length",
            "Clients waiting for a counsellor",
            m.queue.clone(),
        );
        registry.register(
            "clbchat_running_chats",
            "Chats with a counsellor now",
            m.running.clone(),
        );
        registry.register(
            "clbchat_desk_open",
            "1 while the desk's calendar says open",
            m.open.clone(),
        );
        registry.register(
            "clbchat_staff_online",
            "Counsellors and coordinators connected at the desk now",
            m.online.clone(),
        );
        registry.register(
            "clbchat_coverage_warnings",
            "Coverage warnings on the desk board now (too few counsellors, no medical one)",
            m.warnings.clone(),
        );
        registry.register(
            "clbchat_wait_seconds",
            "Time from arrival to a counsellor",
            m.waits.clone(),
        );
        registry.register(
            "clbchat_messages",
            "Chat messages stored and acknowledged",
            m.messages.clone(),
        );
        registry.register(
            "clbchat_chats_ended",
            "Chats ended (or refused), by reason",
            m.ended.clone(),
        );
        registry.register(
            "clbchat_errors",
            "Error frames sent to clients, by code",
            m.errors.clone(),
        );
        Arc::new(m)
    }

    /// The exposition text, with the gauges read from the engine and the server now.
    pub fn render(&self, engine: &Engine, ws: &WsServer) -> String {
        // One scrape at a time: the counters catch up with totals, which two concurrent
        // scrapes would otherwise both add.
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        self.connections
            .set(i64::try_from(ws.connections()).unwrap_or(i64::MAX));
        let stats = ws.stats();
        catch_up(&self.opened, stats.connections_opened());
        catch_up(&self.frames, stats.frames_received());
        for (code, n) in stats.errors_sent() {
            catch_up(&self.errors.get_or_create(&CodeLabel { code }), n);
        }
        for desk in engine.desks() {
            let label = DeskLabel {
                desk: desk.id.to_string(),
            };
            if let Ok(b) = engine.board(&desk.id) {
                self.queue
                    .get_or_create(&label)
                    .set(i64::from(b.queue_length));
                self.running
                    .get_or_create(&label)
                    .set(i64::try_from(b.running.len()).unwrap_or(i64::MAX));
                self.open.get_or_create(&label).set(i64::from(b.open));
                // Connected only: the board also lists who is disconnected or offline with
                // a registration still due, and those are not online.
                let online = b.counsellors.iter().filter(|c| c.connected).count();
                self.online
                    .get_or_create(&label)
                    .set(i64::try_from(online).unwrap_or(i64::MAX));
                self.warnings
                    .get_or_create(&label)
                    .set(i64::try_from(b.warnings.len()).unwrap_or(i64::MAX));
            }
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
            out = "# encoding failed\n".into();
        }
        out
    }
}

fn catch_up(counter: &Counter, total: u64) {
    let now = counter.get();
    if total > now {
        counter.inc_by(total - now);
    }
}

impl Observer for Metrics {
    fn chat_started(&self, desk: &DeskId, waited: Duration) {
        self.waits
            .get_or_create(&DeskLabel {
                desk: desk.to_string(),
            })
            .observe(waited.as_secs_f64());
    }

    fn chat_ended(&self, desk: &DeskId, reason: EndReason, _was_active: bool) {
        self.ended
            .get_or_create(&EndLabel {
                desk: desk.to_string(),
                reason: label(&reason),
            })
            .inc();
    }

    fn message_stored(&self, desk: &DeskId, from: Role) {
        self.messages
            .get_or_create(&MessageLabel {
                desk: desk.to_string(),
                from: label(&from),
            })
            .inc();
    }
}
