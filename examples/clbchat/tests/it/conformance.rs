//! Every error code (§8) and every close code (§9) of `docs/protocol.md` happens against
//! the real server, over real sockets, as the document says. The test reads the document's
//! two tables: a code the document lists without a scenario here fails, and so does a
//! scenario for a code the document no longer lists, so the two cannot drift apart.
//!
//! Each scenario starts a server of its own (a SQLite file in a fresh folder) with what it
//! needs: a clock at a chosen hour of the shipped calendar, a partner line that refuses, a
//! login delay counted in milliseconds, or a timeout shortened so that it happens within the
//! test. Storage failures are real: another connection locks the database file, or a
//! trigger refuses the write.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use clbchat_assembly::app::Parts;
use clbchat_assembly::settings::Settings;
use clbchat_core::account::StaffRole;
use clbchat_core::clock::ManualClock;
use clbchat_core::event::{Discipline, EventBody, ServerEvent};
use clbchat_core::ids::ConversationId;
use clbchat_core::partner::RecordingPartner;
use clbchat_transport_ws::client::Client;
use clbchat_transport_ws::protocol::ServerFrame;
use clbchat_transport_ws::tokio_tungstenite::tungstenite::Message;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use sqlx::Connection;

use crate::support::*;

fn document() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/protocol.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The rows of the table in the section that starts with `heading`: the first cell without
/// its backticks, and the whole row.
fn table(doc: &str, heading: &str) -> Vec<(String, String)> {
    let section = doc
        .split(heading)
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap_or_else(|| panic!("the document has no `{heading}`"));
    section
        .lines()
        .filter_map(|l| {
            let code = l.strip_prefix("| `")?.split('`').next()?;
            Some((code.to_owned(), l.to_owned()))
        })
        .collect()
}

/// The `message` the document shows for each error code (its `generated:errors` block).
fn documented_message(doc: &str, code: &str) -> String {
    doc.lines()
        .filter(|l| l.starts_with("{\"type\":\"error\""))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["code"] == code)
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("the document shows no message for `{code}`"))
}

/// The plain words of a message (lower-case words, not names, numbers or times), so that
/// two messages of the same kind compare equal whatever their values.
fn plain_words(message: &str) -> Vec<&str> {
    message
        .split_whitespace()
        .map(|w| w.trim_end_matches([';', ':', ',', '.']))
        .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase()))
        .collect()
}

/// Whether `message` reads as `documented`: the first plain words of the documented one,
/// in order.
fn reads_as(message: &str, documented: &str) -> bool {
    let mut words = plain_words(message).into_iter();
    plain_words(documented)
        .into_iter()
        .take(4)
        .all(|w| words.any(|m| m == w))
}

/// The codes with a scenario below, for errors and for closes.
const ERROR_SCENARIOS: &[&str] = &[
    "closed",
    "queue_full",
    "not_admitted_before_closing",
    "over_capacity",
    "unknown_desk",
    "unknown_conversation",
    "not_yours",
    "forbidden",
    "bad_credentials",
    "too_many_attempts",
    "resume_refused",
    "invalid_state",
    "invalid",
    "store_unavailable",
    "store",
    "partner",
    "shutting_down",
    "malformed",
    "unknown_frame",
    "rate_limited",
];
const CLOSE_SCENARIOS: &[&str] = &[
    "1007", "1009", "4002", "1012", "4008", "4009", "4010", "4011",
];

/// Monday 7 December 2026 at `hour:minute` in Brussels (CET: UTC+1). The shipped calendar
/// opens on Mondays from 17:00 to 21:00.
fn monday(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, hour - 1, minute, 0)
        .single()
        .expect("a plain instant")
}

const PARTNER: &str = "nupraatikerover";

/// A server of its own for one scenario.
struct Lab {
    server: InProcess,
    clock: Arc<ManualClock>,
    partner: RecordingPartner,
    dir: tempfile::TempDir,
}

impl Lab {
    /// The shipped calendar, the clock on a Monday at 18:00 (open), a partner line of its
    /// own, login delays in milliseconds; `tune` changes the rest.
    async fn start(tune: impl FnOnce(&mut Settings, &mut Parts)) -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = settings_in(dir.path());
        settings.desk.calendar_file =
            Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/calendar.toml"));
        settings.partners.clear();
        let clock = Arc::new(ManualClock::new(monday(18, 0)));
        let partner = RecordingPartner::new(PARTNER, "Nu praat ik erover", "https://partner.test");
        let mut parts = Parts {
            clock: Some(clock.clone()),
            partners: vec![Arc::new(partner.clone())],
            login_delay_unit: Some(Duration::from_millis(1)),
            ..Parts::default()
        };
        tune(&mut settings, &mut parts);
        let server = InProcess::start_with(settings, parts).await;
        Lab {
            server,
            clock,
            partner,
            dir,
        }
    }

    /// A connection with no session yet.
    async fn connect(&self) -> Client {
        Client::connect(&self.server.ws(), Some(&self.server.origin()))
            .await
            .expect("connects")
    }

    /// A visitor who arrived: the connection, the chat and its resume token.
    async fn visitor(&self) -> (Client, ConversationId, String) {
        let c = self.connect().await;
        let (conversation, resume_token, _) = arrive(&c).await;
        (c, conversation, resume_token)
    }

    /// A counsellor logged in, online and available.
    async fn counsellor(&self, id: &str) -> Client {
        self.server
            .account(id, StaffRole::Counsellor, Discipline::PsychoPedagogical)
            .await;
        let mut c = staff(&self.server.ws(), &self.server.origin(), id).await;
        ok(&mut c, json!({"type": "online", "desk": DESK})).await;
        ok(
            &mut c,
            json!({"type": "available", "desk": DESK, "available": true}),
        )
        .await;
        c
    }

    /// A visitor in a chat with `counsellor` (who gets it assigned).
    async fn chat_with(&self, counsellor: &mut Client) -> (Client, ConversationId, String) {
        let v = self.visitor().await;
        assert_eq!(assigned(counsellor).await, v.1);
        v
    }

    /// A connection of its own to the server's database file, as another process has.
    async fn database(&self) -> sqlx::SqliteConnection {
        let file = self.dir.path().join("clbchat.db");
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
            .await
            .expect("the database file opens beside the server")
    }

    async fn stop(self) {
        self.server.stop().await;
        drop(self.dir);
    }
}

/// Waits for the next `chat_assigned` and gives its chat.
async fn assigned(staff: &mut Client) -> ConversationId {
    loop {
        match staff.next_event().await {
            Some(ServerEvent::ChatAssigned { conversation, .. }) => return conversation,
            Some(_) => continue,
            None => panic!(
                "closed before a chat was assigned: {:?}",
                staff.close_reason()
            ),
        }
    }
}

static REQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(100);

/// Sends `frame` with a fresh `req` and gives the frame that answers it.
async fn answer(c: &mut Client, mut frame: Value) -> ServerFrame {
    let req = REQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    frame["req"] = json!(req);
    c.send_raw(Message::text(frame.to_string()))
        .await
        .expect("sent");
    loop {
        match c.next_frame().await {
            Some(f) if f.req() == Some(req) => return f,
            Some(_) => continue,
            None => panic!("closed before answering {frame}: {:?}", c.close_reason()),
        }
    }
}

/// Sends `frame` and expects no error.
async fn ok(c: &mut Client, frame: Value) {
    let a = answer(c, frame.clone()).await;
    assert!(
        !matches!(a, ServerFrame::Error { .. }),
        "{frame} was refused: {a:?}"
    );
}

/// Sends `frame` and gives the error's code and message.
async fn refused(c: &mut Client, frame: Value) -> (String, String) {
    match answer(c, frame.clone()).await {
        ServerFrame::Error { code, message, .. } => (code, message),
        other => panic!("{frame} was not refused: {other:?}"),
    }
}

fn arrive_at(desk: &str) -> Value {
    json!({"type": "arrive", "desk": desk})
}

fn visitor_send(id: &str, text: &str) -> Value {
    json!({"type": "send", "id": id, "text": text})
}

/// Reads until the server closes; gives the close code and reason ("4011 no arrive…").
async fn closed(c: &mut Client) -> String {
    while c.next_frame().await.is_some() {}
    c.close_reason()
        .unwrap_or_else(|| "no close frame".to_owned())
}

/// What the server answers in the scenario for error `code`.
async fn produce_error(code: &str) -> (String, String) {
    match code {
        "closed" => {
            let lab = Lab::start(|_, _| {}).await;
            lab.clock.set(monday(10, 0));
            let mut v = lab.connect().await;
            let out = refused(&mut v, arrive_at(DESK)).await;
            lab.stop().await;
            out
        }
        "queue_full" => {
            let lab = Lab::start(|s, _| s.desk.max_queue = 1).await;
            let _first = lab.visitor().await;
            let mut second = lab.connect().await;
            let out = refused(&mut second, arrive_at(DESK)).await;
            lab.stop().await;
            out
        }
        "not_admitted_before_closing" => {
            let lab = Lab::start(|_, _| {}).await;
            lab.clock.set(monday(20, 55));
            let _ann = lab.counsellor("ann").await;
            let mut v = lab.connect().await;
            let out = refused(&mut v, arrive_at(DESK)).await;
            lab.stop().await;
            out
        }
        "over_capacity" => {
            // Bob takes two chats (his capacity); Ann offers him a third.
            let lab = Lab::start(|_, _| {}).await;
            let mut bob = lab.counsellor("bob").await;
            let _one = lab.chat_with(&mut bob).await;
            let _two = lab.chat_with(&mut bob).await;
            let mut ann = lab.counsellor("ann").await;
            let (_v, chat, _) = lab.chat_with(&mut ann).await;
            let out = refused(
                &mut ann,
                json!({"type": "transfer", "conversation": chat,
                       "target": {"kind": "colleague", "staff": "bob"},
                       "note": "Bob kent deze school."}),
            )
            .await;
            lab.stop().await;
            out
        }
        "unknown_desk" => {
            let lab = Lab::start(|_, _| {}).await;
            let mut v = lab.connect().await;
            let out = refused(&mut v, arrive_at("clbchatt")).await;
            lab.stop().await;
            out
        }
        "unknown_conversation" => {
            let lab = Lab::start(|_, _| {}).await;
            let mut ann = lab.counsellor("ann").await;
            let out = refused(
                &mut ann,
                json!({"type": "end", "conversation": ConversationId::random()}),
            )
            .await;
            lab.stop().await;
            out
        }
        "not_yours" => {
            let lab = Lab::start(|_, _| {}).await;
            let mut ann = lab.counsellor("ann").await;
            let (_v, chat, _) = lab.chat_with(&mut ann).await;
            let mut bob = lab.counsellor("bob").await;
            let out = refused(&mut bob, json!({"type": "end", "conversation": chat})).await;
            lab.stop().await;
            out
        }
        "forbidden" => {
            let lab = Lab::start(|_, _| {}).await;
            let mut ann = lab.counsellor("ann").await;
            let out = refused(&mut ann, json!({"type": "board", "desk": DESK})).await;
            lab.stop().await;
            out
        }
        "bad_credentials" => {
            let lab = Lab::start(|_, _| {}).await;
            lab.server
                .account("ann", StaffRole::Counsellor, Discipline::Medical)
                .await;
            let mut c = lab.connect().await;
            let out = refused(
                &mut c,
                json!({"type": "login", "username": "ann", "password": "fout"}),
            )
            .await;
            lab.stop().await;
            out
        }
        "too_many_attempts" => {
            let lab = Lab::start(|_, _| {}).await;
            lab.server
                .account("ann", StaffRole::Counsellor, Discipline::Medical)
                .await;
            let mut c = lab.connect().await;
            let wrong = json!({"type": "login", "username": "ann", "password": "fout"});
            for attempt in 1..=8 {
                let (code, _) = refused(&mut c, wrong.clone()).await;
                assert_eq!(code, "bad_credentials", "attempt {attempt}");
            }
            let out = refused(&mut c, wrong).await;
            lab.stop().await;
            out
        }
        "resume_refused" => {
            let lab = Lab::start(|_, _| {}).await;
            let (_v, chat, _) = lab.visitor().await;
            let mut c = lab.connect().await;
            let out = refused(
                &mut c,
                json!({"type": "resume", "conversation": chat,
                       "resume_token": "not-the-token", "last_seq": 0}),
            )
            .await;
            lab.stop().await;
            out
        }
        "invalid_state" => {
            let lab = Lab::start(|_, _| {}).await;
            let (mut v, _, _) = lab.visitor().await;
            let out = refused(&mut v, visitor_send("v1", "is er iemand?")).await;
            lab.stop().await;
            out
        }
        "invalid" => {
            let lab = Lab::start(|_, _| {}).await;
            let mut ann = lab.counsellor("ann").await;
            let (mut v, _, _) = lab.chat_with(&mut ann).await;
            let out = refused(&mut v, visitor_send("v1", &"a".repeat(4001))).await;
            lab.stop().await;
            out
        }
        "store_unavailable" => {
            // Another process holds the database's write lock past the busy timeout (5 s).
            let lab = Lab::start(|_, _| {}).await;
            let mut ann = lab.counsellor("ann").await;
            let (mut v, _, _) = lab.chat_with(&mut ann).await;
            let mut other = lab.database().await;
            sqlx::query("BEGIN EXCLUSIVE")
                .execute(&mut other)
                .await
                .unwrap();
            let out = refused(&mut v, visitor_send("v1", "hallo")).await;
            sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
            // As the document says: the same frame again, and it is stored once.
            ok(&mut v, visitor_send("v1", "hallo")).await;
            lab.stop().await;
            out
        }
        "store" => {
            // The database refuses the write (a trigger stands in for any refusal that is
            // not "try again").
            let lab = Lab::start(|_, _| {}).await;
            let mut ann = lab.counsellor("ann").await;
            let (mut v, _, _) = lab.chat_with(&mut ann).await;
            let mut other = lab.database().await;
            sqlx::query(
                "CREATE TRIGGER conformance_refuses BEFORE INSERT ON events \
                 BEGIN SELECT RAISE(ABORT, 'refused for the conformance test'); END",
            )
            .execute(&mut other)
            .await
            .unwrap();
            let out = refused(&mut v, visitor_send("v1", "hallo")).await;
            lab.stop().await;
            out
        }
        "partner" => {
            let lab = Lab::start(|_, _| {}).await;
            lab.partner
                .refuse_with(Some("no counsellor free right now"));
            let mut ann = lab.counsellor("ann").await;
            let (mut v, chat, _) = lab.chat_with(&mut ann).await;
            ok(
                &mut ann,
                json!({"type": "offer_partner", "conversation": chat, "partner": PARTNER,
                       "summary": "Wil praten over thuis."}),
            )
            .await;
            let out = refused(&mut v, json!({"type": "partner_consent", "consent": true})).await;
            // Both sides hear it and the chat goes on.
            ok(&mut v, visitor_send("v2", "oké, dan hier")).await;
            lab.stop().await;
            out
        }
        "shutting_down" => {
            // A login waits its delay (one second after a wrong password on the same
            // connection) while the server begins to stop: it is refused, not let in.
            let lab = Lab::start(|_, parts| parts.login_delay_unit = None).await;
            lab.server
                .account("ann", StaffRole::Counsellor, Discipline::Medical)
                .await;
            let mut c = lab.connect().await;
            let wrong = json!({"type": "login", "username": "ann", "password": "fout"});
            assert_eq!(refused(&mut c, wrong).await.0, "bad_credentials");
            let stats = lab.server.shared.ws.stats();
            let read = stats.frames_received();
            c.send_raw(Message::text(
                json!({"type": "login", "req": 1, "username": "ann", "password": PASSWORD})
                    .to_string(),
            ))
            .await
            .unwrap();
            // The server has the login in hand (and waits its second) before it stops.
            while stats.frames_received() == read {
                tokio::task::yield_now().await;
            }
            let Lab { server, dir, .. } = lab;
            let stopping = tokio::spawn(server.stop());
            let out = loop {
                match c.next_frame().await {
                    Some(ServerFrame::Error {
                        code,
                        message,
                        req: Some(1),
                    }) => break (code, message),
                    Some(f) if f.req() == Some(1) => panic!("let in while stopping: {f:?}"),
                    Some(_) => continue,
                    None => panic!("closed unanswered: {:?}", c.close_reason()),
                }
            };
            assert!(closed(&mut c).await.starts_with("1012 "));
            stopping.await.unwrap();
            drop(dir);
            out
        }
        "malformed" => {
            let lab = Lab::start(|_, _| {}).await;
            let (mut v, _, _) = lab.visitor().await;
            let out = refused(&mut v, json!({"type": "send", "id": "v1", "text": 42})).await;
            lab.stop().await;
            out
        }
        "unknown_frame" => {
            let lab = Lab::start(|_, _| {}).await;
            let mut c = lab.connect().await;
            let out = refused(&mut c, json!({"type": "sned"})).await;
            lab.stop().await;
            out
        }
        "rate_limited" => {
            // Forty frames at once: more than the burst of thirty.
            let lab = Lab::start(|_, _| {}).await;
            let mut c = lab.connect().await;
            for req in 1..=40 {
                c.send_raw(Message::text(
                    json!({"type": "availability", "req": req, "desk": DESK}).to_string(),
                ))
                .await
                .unwrap();
            }
            let mut out = None;
            for _ in 1..=40 {
                match c.next_frame().await {
                    Some(ServerFrame::Error { code, message, .. }) if out.is_none() => {
                        out = Some((code, message));
                    }
                    Some(_) => {}
                    None => panic!("closed: {:?}", c.close_reason()),
                }
            }
            lab.stop().await;
            out.expect("one of forty frames was refused")
        }
        other => panic!(
            "docs/protocol.md §8 lists `{other}`, and this test has no scenario for it: add one"
        ),
    }
}

#[tokio::test]
async fn every_error_code_in_the_document_is_produced_by_the_server() {
    let doc = document();
    let codes: Vec<String> = table(&doc, "## 8. Errors")
        .into_iter()
        .map(|(code, _)| code)
        .collect();
    assert_eq!(
        codes.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        ERROR_SCENARIOS.iter().copied().collect::<BTreeSet<_>>(),
        "the error codes of docs/protocol.md §8 and the scenarios of this test differ"
    );
    let mut failures = Vec::new();
    for code in &codes {
        let (got, message) = produce_error(code).await;
        let documented = documented_message(&doc, code);
        if got != *code {
            failures.push(format!("`{code}`: the server answered `{got}`: {message}"));
        } else if !reads_as(&message, &documented) {
            failures.push(format!(
                "`{code}`: the message `{message}` does not read as documented: `{documented}`"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The raw socket of a visitor who stops reading: a receive buffer of 4 KiB, never drained.
async fn stalled_visitor(
    lab: &Lab,
) -> clbchat_transport_ws::tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(lab.server.addr).await.unwrap();
    let (mut ws, _) =
        clbchat_transport_ws::tokio_tungstenite::client_async(lab.server.ws(), stream)
            .await
            .unwrap();
    ws.send(Message::text(arrive_at(DESK).to_string()))
        .await
        .unwrap();
    ws
}

/// What the server closes with in the scenario for close `code`.
async fn produce_close(code: &str) -> String {
    match code {
        "1007" => {
            use clbchat_transport_ws::tokio_tungstenite::tungstenite::protocol::frame::{
                coding::{Data, OpCode},
                Frame,
            };
            let lab = Lab::start(|_, _| {}).await;
            let mut c = lab.connect().await;
            c.send_raw(Message::Frame(Frame::message(
                vec![b'{', 0xff, 0xfe, b'}'],
                OpCode::Data(Data::Text),
                true,
            )))
            .await
            .unwrap();
            let out = closed(&mut c).await;
            lab.stop().await;
            out
        }
        "1009" => {
            let lab = Lab::start(|_, _| {}).await;
            let (mut v, _, _) = lab.visitor().await;
            v.send_raw(Message::text(
                visitor_send("v1", &"a".repeat(70 * 1024)).to_string(),
            ))
            .await
            .unwrap();
            let out = closed(&mut v).await;
            lab.stop().await;
            out
        }
        "4002" => {
            let lab = Lab::start(|_, _| {}).await;
            let mut c = lab.connect().await;
            c.send_raw(Message::text(
                json!({"type": "hello", "req": 1, "version": 99}).to_string(),
            ))
            .await
            .unwrap();
            let out = closed(&mut c).await;
            lab.stop().await;
            out
        }
        "1012" => {
            let lab = Lab::start(|_, _| {}).await;
            let (mut v, _, _) = lab.visitor().await;
            let Lab { server, dir, .. } = lab;
            let stopping = tokio::spawn(server.stop());
            let out = closed(&mut v).await;
            stopping.await.unwrap();
            drop(dir);
            out
        }
        "4008" => {
            // The visitor stops reading while the counsellor writes long messages: the
            // server's queue for the visitor fills, the counsellor sees the visitor's
            // connection go, and the visitor, reading again, finds 4008 at the end.
            let lab = Lab::start(|s, parts| {
                s.server.accept_clients_without_origin = true;
                s.server.frames_per_second = 100_000;
                s.server.frame_burst = 100_000;
                parts.transport = Some(Box::new(|ws| ws.slow_timeout = Duration::from_secs(3)));
            })
            .await;
            let mut ann = lab.counsellor("ann").await;
            let mut visitor = stalled_visitor(&lab).await;
            let chat = assigned(&mut ann).await;
            let text = "Dit is een lang bericht. ".repeat(160);
            let mut gone = false;
            'writing: for batch in 0..100 {
                let mut reqs = BTreeSet::new();
                for i in 0..50u64 {
                    let req = 10_000 + batch * 50 + i;
                    reqs.insert(req);
                    ann.send_raw(Message::text(
                        json!({"type": "send", "req": req, "id": format!("s{req}"),
                               "conversation": chat, "text": text})
                        .to_string(),
                    ))
                    .await
                    .unwrap();
                }
                while !reqs.is_empty() {
                    match ann.next_frame().await {
                        Some(ServerFrame::Event {
                            event: ServerEvent::Log(e),
                        }) if matches!(e.body, EventBody::ClientReconnecting) => {
                            gone = true;
                            break 'writing;
                        }
                        Some(f) => {
                            if let Some(req) = f.req() {
                                reqs.remove(&req);
                            }
                        }
                        None => panic!("the counsellor was closed: {:?}", ann.close_reason()),
                    }
                }
            }
            assert!(
                gone,
                "5,000 long messages and the visitor was never dropped"
            );
            let mut out = "no close frame".to_owned();
            while let Some(m) = visitor.next().await {
                match m {
                    Ok(Message::Close(Some(f))) => {
                        out = format!("{} {}", u16::from(f.code), f.reason);
                        break;
                    }
                    Ok(_) => continue,
                    Err(_) => break,
                }
            }
            lab.stop().await;
            out
        }
        "4009" => {
            let lab = Lab::start(|_, _| {}).await;
            let (mut first, chat, token) = lab.visitor().await;
            let mut second = lab.connect().await;
            ok(
                &mut second,
                json!({"type": "resume", "conversation": chat, "resume_token": token,
                       "last_seq": 0}),
            )
            .await;
            let out = closed(&mut first).await;
            lab.stop().await;
            out
        }
        "4010" => {
            // Nothing heard: no frame, and no ping to answer (the heartbeat is far off).
            let lab = Lab::start(|_, parts| {
                parts.transport = Some(Box::new(|ws| {
                    ws.idle_timeout = Duration::from_millis(500);
                    ws.heartbeat = Duration::from_secs(3600);
                }))
            })
            .await;
            let (mut v, _, _) = lab.visitor().await;
            let out = closed(&mut v).await;
            lab.stop().await;
            out
        }
        "4011" => {
            let lab = Lab::start(|_, parts| {
                parts.transport = Some(Box::new(|ws| ws.start_timeout = Duration::from_millis(300)))
            })
            .await;
            let mut c = lab.connect().await;
            let out = closed(&mut c).await;
            lab.stop().await;
            out
        }
        other => panic!(
            "docs/protocol.md §9 lists `{other}`, and this test has no scenario for it: add one"
        ),
    }
}

#[tokio::test]
async fn every_close_code_in_the_document_is_produced_by_the_server() {
    let doc = document();
    let rows = table(&doc, "## 9. Close codes");
    assert_eq!(
        rows.iter()
            .map(|(c, _)| c.as_str())
            .collect::<BTreeSet<_>>(),
        CLOSE_SCENARIOS.iter().copied().collect::<BTreeSet<_>>(),
        "the close codes of docs/protocol.md §9 and the scenarios of this test differ"
    );
    let mut failures = Vec::new();
    for (code, row) in &rows {
        let got = produce_close(code).await;
        // The reason the table quotes, when it quotes one.
        let reason = row
            .split('"')
            .nth(1)
            .filter(|_| row.matches('"').count() >= 2);
        if !got.starts_with(&format!("{code} ")) {
            failures.push(format!("{code}: the server closed with `{got}`"));
        } else if let Some(reason) = reason {
            if !got.contains(reason) {
                failures.push(format!(
                    "{code}: the reason `{got}` is not the documented \"{reason}\""
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
