//! `clbchat-hostile`: a million hostile frames against a running clbchat server, while a
//! canary chat goes on.
//!
//! The frames are mutations of the protocol's own golden client frames
//! (`transport-ws/tests/golden/client_*.json`, the examples of `docs/protocol.md`): bits
//! flipped, cut short, a field's value swapped for another type, numbers past every range,
//! values nested thousands deep, keys doubled, unknown types, and staff frames sent on
//! visitor connections (wrong role). `login` frames are left out: a wrong password is slowed
//! down on purpose (see `clbchat_core::engine::logins`), which would only measure that delay.
//!
//! Meanwhile a canary chat (a visitor and the server's first coordinator, taking chats)
//! exchanges a message each way every `canary_every`; every one must be acknowledged and
//! arrive. The server's resident memory is sampled. The run passes when the server still
//! answers, the canary never missed a message, and the memory at the end is within
//! [`MEMORY_SLACK`] of the memory after the first quarter of the frames (warm).
//!
//! Bounded: it stops after `frames` frames (and `timeout`), and talks to the URL it is given
//! (run it against a server on this machine, as `benches/hostile.sh` does).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clbchat_core::ids::{ClientMsgId, DeskId};
use clbchat_transport_ws::protocol::{ClientFrame, ServerFrame};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::error::{Error, Result};
use crate::wire::{self, Ws};

/// How much the server's memory may grow from the warm sample to the end: a quarter, plus
/// 16 MiB for allocator noise.
pub const MEMORY_SLACK: (f64, u64) = (1.25, 16 * 1024);

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The server's socket, e.g. `ws://127.0.0.1:8080/ws`.
    pub url: String,
    /// The `Origin` to send (the server allows its own address).
    pub origin: Option<String>,
    /// The server's one-time setup link: the canary's staff side is the first coordinator.
    pub setup_link: String,
    /// The folder of golden client frames.
    pub golden: std::path::PathBuf,
    /// Hostile frames to send in all.
    pub frames: u64,
    /// Connections sending them at once.
    pub connections: usize,
    /// The mutations' seed (the same seed, the same frames).
    pub seed: u64,
    /// The server's process id, to sample its memory.
    pub pid: Option<u32>,
    /// A canary exchange this often.
    pub canary_every: Duration,
    /// The whole run at most.
    pub timeout: Duration,
}

/// What a run saw.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Outcome {
    /// Hostile frames sent.
    pub frames_sent: u64,
    /// Seconds the flood took.
    pub seconds: f64,
    /// Frames the server answered (errors, acks, …) or pushed.
    pub frames_received: u64,
    /// Frames the server read meanwhile, from its own `clbchat_frames_received_total`.
    pub frames_read_by_server: Option<u64>,
    /// Of those, `rate_limited` refusals: decoded, then dropped by the per-connection rate
    /// limit (the rest reached the handlers or were refused by the decoder).
    pub rate_limited: u64,
    /// Hostile connections used (a new one after each that the server closed).
    pub connections_used: u64,
    /// Canary exchanges that went through (a message each way, acknowledged and delivered).
    pub canary_ok: u64,
    /// Canary exchanges that did not.
    pub canary_failed: u64,
    /// The slowest canary exchange, in milliseconds.
    pub canary_slowest_ms: u64,
    /// Server memory (KiB) before the flood, when warm (a quarter in), at the peak, at the end.
    pub rss_kib: Option<(u64, u64, u64, u64)>,
    /// The server still answered `availability` on a fresh connection afterwards.
    pub server_answers: bool,
}

impl Outcome {
    /// Whether the run passed (see the module docs).
    pub fn passed(&self) -> bool {
        let memory_flat = self.rss_kib.is_none_or(|(_, warm, _, end)| {
            (end as f64) <= (warm as f64) * MEMORY_SLACK.0 + MEMORY_SLACK.1 as f64
        });
        self.server_answers && self.canary_failed == 0 && self.canary_ok > 0 && memory_flat
    }

    /// The outcome as a markdown table.
    pub fn markdown(&self) -> String {
        let rate = self.frames_sent as f64 / self.seconds.max(0.001);
        let mut out = String::from("| measure | value |\n|---|---|\n");
        out += &format!("| hostile frames sent | {} |\n", self.frames_sent);
        out += &format!("| seconds | {:.1} ({rate:.0} frames/s) |\n", self.seconds);
        if let Some(n) = self.frames_read_by_server {
            out += &format!("| frames the server read (its metric) | {n} |\n");
        }
        out += &format!(
            "| frames the server sent back (of which `rate_limited`) | {} ({}) |\n",
            self.frames_received, self.rate_limited
        );
        out += &format!("| hostile connections used | {} |\n", self.connections_used);
        out += &format!(
            "| canary exchanges ok / failed | {} / {} (slowest {} ms) |\n",
            self.canary_ok, self.canary_failed, self.canary_slowest_ms
        );
        if let Some((before, warm, peak, end)) = self.rss_kib {
            out += &format!(
                "| server memory before / warm / peak / end | {} / {} / {} / {} MiB |\n",
                before / 1024,
                warm / 1024,
                peak / 1024,
                end / 1024
            );
        }
        out += &format!("| server still answers | {} |\n", self.server_answers);
        out += &format!("| **passed** | **{}** |\n", self.passed());
        out
    }
}

/// A small, fast, seeded generator (xorshift64*): the same seed gives the same frames.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded (0 becomes 1).
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % (n.max(1) as u64)) as usize
    }
}

/// The golden client frames of `dir`, compact, without `login` (see the module docs).
pub fn golden_frames(dir: &std::path::Path) -> Result<Vec<Value>> {
    let what = || format!("reading the golden frames in {}", dir.display());
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(what(), e))?;
    for entry in entries {
        let path = entry.map_err(|e| Error::io(what(), e))?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !name.starts_with("client_") || !name.ends_with(".json") || name == "client_login.json" {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(what(), e))?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| Error::Usage(format!("{}: not JSON: {e}", path.display())))?;
        out.push(value);
    }
    if out.is_empty() {
        return Err(Error::Usage(format!(
            "no golden client frames in {} (give --golden transport-ws/tests/golden)",
            dir.display()
        )));
    }
    out.sort_by_key(|v| v.to_string());
    Ok(out)
}

/// One hostile frame from the golden ones.
pub fn mutate(rng: &mut Rng, golden: &[Value]) -> String {
    let base = &golden[rng.below(golden.len())];
    match rng.below(9) {
        // Staff frames on a visitor connection, or anything unchanged: wrong role, wrong state.
        0 => base.to_string(),
        // Bits flipped in the text.
        1 => {
            let mut bytes = base.to_string().into_bytes();
            for _ in 0..=rng.below(4) {
                let i = rng.below(bytes.len());
                bytes[i] ^= 1 << rng.below(7);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        // Cut short.
        2 => {
            let text = base.to_string();
            let mut cut = rng.below(text.len());
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text[..cut].to_owned()
        }
        // A field's value swapped for another type or an extreme.
        3 | 4 => {
            let mut v = base.clone();
            if let Some(map) = v.as_object_mut() {
                let keys: Vec<String> = map.keys().cloned().collect();
                let key = &keys[rng.below(keys.len())];
                let swap = match rng.below(9) {
                    0 => Value::Null,
                    1 => Value::Bool(true),
                    2 => serde_json::json!(-1),
                    3 => serde_json::json!(1e308),
                    4 => Value::String(String::new()),
                    5 => serde_json::json!([]),
                    6 => serde_json::json!({}),
                    7 => Value::String("ü".repeat(1 + rng.below(3000))),
                    _ => serde_json::json!(u64::MAX),
                };
                map.insert(key.clone(), swap);
            }
            v.to_string()
        }
        // Numbers past every range, spelled out.
        5 => base
            .to_string()
            .replacen(":1", ":184467440737095516160000", 1)
            .replacen(":0", ":-1e400", 1),
        // Nested thousands deep.
        6 => {
            let depth = 64 + rng.below(4000);
            format!(
                r#"{{"type":"send","req":1,"id":"x","text":{}1{}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            )
        }
        // Keys doubled (the last one wins in some parsers, the first in others).
        7 => {
            let text = base.to_string();
            format!(r#"{{"type":"leave","req":2,{}"#, &text[1..])
        }
        // A type the protocol does not have, with a real frame's fields.
        _ => {
            let mut v = base.clone();
            if let Some(map) = v.as_object_mut() {
                map.insert("type".into(), Value::String(format!("x{}", rng.next_u64())));
            }
            v.to_string()
        }
    }
}

/// Runs the flood and the canary (see the module docs).
pub async fn run(cfg: &Config) -> Result<Outcome> {
    let golden = Arc::new(golden_frames(&cfg.golden)?);
    let deadline = Instant::now() + cfg.timeout;
    let origin = cfg.origin.as_deref();

    // The canary: the first coordinator takes chats; a visitor arrives and is theirs.
    let user = "canary";
    let password = "canary-password-long-enough";
    crate::setup::first_coordinator(&cfg.setup_link, user, password).await?;
    let mut staff = wire::connect(&cfg.url, origin, Some("clbchat.v1")).await?;
    let desk = DeskId::new("clbchat");
    wire::request(
        &mut staff,
        1,
        ClientFrame::Login {
            username: user.into(),
            password: password.into(),
        },
        "canary login",
    )
    .await?;
    for (req, frame) in [
        (
            2,
            ClientFrame::Online {
                desk: desk.clone(),
                shift_ends_at: None,
            },
        ),
        (
            3,
            ClientFrame::Available {
                desk: desk.clone(),
                available: true,
            },
        ),
    ] {
        wire::request(&mut staff, req, frame, "canary online").await?;
    }
    let mut visitor = wire::connect(&cfg.url, origin, Some("clbchat.v1")).await?;
    let conversation = match wire::request(
        &mut visitor,
        1,
        ClientFrame::Arrive {
            desk: desk.clone(),
            visitor_token: None,
            profile: Default::default(),
            appointment: None,
        },
        "canary arrive",
    )
    .await?
    {
        ServerFrame::Welcome { conversation, .. } => conversation,
        other => return Err(Error::protocol("canary arrive", &format!("{other:?}"))),
    };
    wait_for(&mut staff, "chat_assigned", "canary assignment").await?;

    let sent = Arc::new(AtomicU64::new(0));
    let received = Arc::new(AtomicU64::new(0));
    let limited = Arc::new(AtomicU64::new(0));
    let closes = Arc::new(AtomicU64::new(0));
    let rss = Arc::new(Mutex::new(Vec::<(u64, u64)>::new()));
    let rss_before = cfg.pid.and_then(crate::procfs::rss_kib);
    let read_before = frames_read(&cfg.url).await;
    let started = Instant::now();

    // The flood.
    let mut flood = Vec::new();
    for n in 0..cfg.connections {
        let (cfg, golden) = (cfg.clone(), golden.clone());
        let (sent, received, closes) = (sent.clone(), received.clone(), closes.clone());
        let limited = limited.clone();
        flood.push(tokio::spawn(async move {
            let mut rng = Rng::new(cfg.seed ^ ((n as u64 + 1) * 0x9e37_79b9_7f4a_7c15));
            while sent.load(Ordering::Relaxed) < cfg.frames && Instant::now() < deadline {
                let Ok(ws) =
                    wire::connect(&cfg.url, cfg.origin.as_deref(), Some("clbchat.v1")).await
                else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let counters = (&*sent, &received, &limited);
                hostile_connection(ws, &mut rng, &golden, &cfg, counters, deadline).await;
                closes.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Memory samples while it runs.
    let sampler = cfg.pid.map(|pid| {
        let (rss, sent) = (rss.clone(), sent.clone());
        tokio::spawn(async move {
            loop {
                if let Some(kib) = crate::procfs::rss_kib(pid) {
                    let at = sent.load(Ordering::Relaxed);
                    rss.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((at, kib));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    });

    // The canary, until the flood is done.
    let mut out = Outcome::default();
    let mut n = 0u64;
    while sent.load(Ordering::Relaxed) < cfg.frames && Instant::now() < deadline {
        tokio::time::sleep(cfg.canary_every).await;
        n += 1;
        let t0 = Instant::now();
        let ok = tokio::time::timeout(
            Duration::from_secs(10),
            canary_exchange(&mut visitor, &mut staff, conversation, n),
        )
        .await;
        match ok {
            Ok(Ok(())) => {
                out.canary_ok += 1;
                let ms = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
                out.canary_slowest_ms = out.canary_slowest_ms.max(ms);
            }
            Ok(Err(e)) => {
                eprintln!("clbchat-hostile: canary exchange {n} failed: {e}");
                out.canary_failed += 1;
            }
            Err(_) => {
                eprintln!("clbchat-hostile: canary exchange {n} took over 10 s");
                out.canary_failed += 1;
            }
        }
    }
    for f in flood {
        let _ = f.await;
    }
    out.seconds = started.elapsed().as_secs_f64();
    if let Some(s) = sampler {
        s.abort();
    }
    out.frames_sent = sent.load(Ordering::Relaxed);
    out.frames_received = received.load(Ordering::Relaxed);
    out.connections_used = closes.load(Ordering::Relaxed);
    out.rate_limited = limited.load(Ordering::Relaxed);
    out.frames_read_by_server = match (read_before, frames_read(&cfg.url).await) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    let samples = rss.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let end = cfg.pid.and_then(crate::procfs::rss_kib);
    if let (Some(before), Some(end)) = (rss_before, end) {
        let warm = samples
            .iter()
            .find(|(at, _)| *at >= cfg.frames / 4)
            .map_or(before, |(_, k)| *k);
        let peak = samples
            .iter()
            .map(|(_, k)| *k)
            .max()
            .unwrap_or(end)
            .max(end);
        out.rss_kib = Some((before, warm, peak, end));
    }
    out.server_answers = match wire::connect(&cfg.url, origin, Some("clbchat.v1")).await {
        Ok(mut ws) => matches!(
            wire::request(
                &mut ws,
                1,
                ClientFrame::Availability { desk },
                "availability"
            )
            .await,
            Ok(ServerFrame::Availability { .. })
        ),
        Err(_) => false,
    };
    Ok(out)
}

/// Sends hostile frames on one connection until it closes, the total is reached or the
/// deadline passes; a reader drains what the server sends back.
async fn hostile_connection(
    ws: Ws,
    rng: &mut Rng,
    golden: &[Value],
    cfg: &Config,
    (sent, received, limited): (&AtomicU64, &Arc<AtomicU64>, &Arc<AtomicU64>),
    deadline: Instant,
) {
    let (mut sink, mut stream) = ws.split();
    let counter = received.clone();
    let limited = limited.clone();
    let last_answer = format!(r#""req":{LAST_REQ}"#);
    let reader = tokio::spawn(async move {
        while let Some(Ok(m)) = stream.next().await {
            if let Message::Text(t) = m {
                counter.fetch_add(1, Ordering::Relaxed);
                if t.as_str().contains(r#""code":"rate_limited""#) {
                    limited.fetch_add(1, Ordering::Relaxed);
                }
                if t.as_str().contains(&last_answer) {
                    break;
                }
            }
        }
    });
    // Half the connections are visitors first: their staff frames are then wrong-role.
    if rng.below(2) == 0 {
        let arrive = r#"{"type":"arrive","req":0,"desk":"clbchat"}"#;
        if sink.send(Message::text(arrive)).await.is_err() {
            reader.abort();
            return;
        }
    }
    while !reader.is_finished()
        && sent.fetch_add(1, Ordering::Relaxed) < cfg.frames
        && Instant::now() < deadline
    {
        let frame = mutate(rng, golden);
        let write = tokio::time::timeout(Duration::from_secs(5), sink.send(Message::text(frame)));
        if !matches!(write.await, Ok(Ok(()))) {
            break;
        }
    }
    // A last, well-formed request: its answer (or its `rate_limited` refusal, which also
    // carries the `req`) means the server has read everything sent before it.
    let last = format!(r#"{{"type":"availability","req":{LAST_REQ},"desk":"clbchat"}}"#);
    if !reader.is_finished() && sink.send(Message::text(last)).await.is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(60), async {
            while !reader.is_finished() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
    }
    let _ = sink.close().await;
    reader.abort();
}

/// The `req` of each connection's last frame.
const LAST_REQ: u64 = 9_999_999_999;

/// The server's `clbchat_frames_received_total`, from `/metrics` on the socket's host.
async fn frames_read(url: &str) -> Option<u64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority = url.strip_prefix("ws://")?.split('/').next()?;
    let mut s = tokio::net::TcpStream::connect(authority).await.ok()?;
    let request =
        format!("GET /metrics HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\n\r\n");
    s.write_all(request.as_bytes()).await.ok()?;
    let mut body = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut body))
        .await
        .ok()?
        .ok()?;
    body.lines()
        .find_map(|l| l.strip_prefix("clbchat_frames_received_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as u64)
}

/// A message each way in the canary chat, each acknowledged and seen by the other side.
async fn canary_exchange(
    visitor: &mut Ws,
    staff: &mut Ws,
    conversation: clbchat_core::ids::ConversationId,
    n: u64,
) -> Result<()> {
    let from_visitor = format!("canary visitor {n}");
    wire::request(
        visitor,
        1000 + n,
        ClientFrame::Send {
            id: ClientMsgId::new(format!("v{n}")),
            conversation: None,
            text: from_visitor.clone(),
        },
        "canary visitor send",
    )
    .await?;
    wait_for(staff, &from_visitor, "canary staff receive").await?;
    let from_staff = format!("canary staff {n}");
    wire::request(
        staff,
        1000 + n,
        ClientFrame::Send {
            id: ClientMsgId::new(format!("s{n}")),
            conversation: Some(conversation),
            text: from_staff.clone(),
        },
        "canary staff send",
    )
    .await?;
    wait_for(visitor, &from_staff, "canary visitor receive").await
}

/// Reads until a text frame contains `needle`.
async fn wait_for(ws: &mut Ws, needle: &str, what: &str) -> Result<()> {
    loop {
        let text = wire::next_text(ws, what).await?;
        if text.contains(needle) {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_reproducible_and_varied() {
        let golden = vec![
            serde_json::json!({"type":"send","req":1,"id":"a","text":"hallo"}),
            serde_json::json!({"type":"board","req":2,"desk":"clbchat"}),
        ];
        let a: Vec<String> = {
            let mut r = Rng::new(7);
            (0..200).map(|_| mutate(&mut r, &golden)).collect()
        };
        let b: Vec<String> = {
            let mut r = Rng::new(7);
            (0..200).map(|_| mutate(&mut r, &golden)).collect()
        };
        assert_eq!(a, b, "the same seed, the same frames");
        let distinct: std::collections::BTreeSet<&String> = a.iter().collect();
        assert!(distinct.len() > 100, "{}", distinct.len());
        assert!(a.iter().any(|f| f.contains("[[[[")), "deep nesting");
        assert!(
            a.iter().any(|f| serde_json::from_str::<Value>(f).is_err()),
            "broken JSON"
        );
    }
}
