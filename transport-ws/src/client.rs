//! A Rust client for `clbchat.v1`.
//!
//! [`Client`] is one connection: requests are numbered and answered in any order, events
//! arrive on their own queue. [`VisitorClient`] is what a student's page does, in Rust: it
//! remembers its conversation, resume token and the last sequence number it delivered, and
//! when the connection drops it reconnects, resumes, and retries an unacknowledged message
//! with the same id (which the engine stores once). Each log event is delivered once, in
//! order.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clbchat_core::engine::Arrival;
use clbchat_core::event::{Ack, ServerEvent};
use clbchat_core::ids::{ClientMsgId, ConversationId, DeskId};
use futures::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use crate::error::{Error, Result};
use crate::protocol::{ClientEnvelope, ClientFrame, ServerFrame, SUBPROTOCOL};

/// Events buffered in the client; a program that lets more pile up loses the connection
/// (and a [`VisitorClient`] resumes), so answers never wait behind unread events.
pub const CLIENT_EVENT_BUFFER: usize = 1024;

/// Requests waiting for their answer; `None` once the connection is gone, so a request made
/// after that fails at once instead of waiting for an answer no reader will deliver.
type Pending = Arc<Mutex<Option<HashMap<u64, oneshot::Sender<ServerFrame>>>>>;

/// One connection to a clbchat server.
#[derive(Debug)]
pub struct Client {
    out: mpsc::Sender<Message>,
    pending: Pending,
    events: mpsc::Receiver<ServerFrame>,
    next_req: AtomicU64,
    close_reason: Arc<Mutex<Option<String>>>,
}

impl Client {
    /// Connects to `url` (`ws://host:port/path`), offering `clbchat.v1`, with an optional
    /// `Origin` header.
    pub async fn connect(url: &str, origin: Option<&str>) -> Result<Self> {
        Self::connect_with_protocol(url, origin, Some(SUBPROTOCOL)).await
    }

    /// Like [`Self::connect`], offering another subprotocol (or none): for tests.
    pub async fn connect_with_protocol(
        url: &str,
        origin: Option<&str>,
        protocol: Option<&str>,
    ) -> Result<Self> {
        let mut request = url.into_client_request()?;
        if let Some(o) = origin {
            let v =
                HeaderValue::from_str(o).map_err(|e| Error::Unexpected(format!("origin: {e}")))?;
            request.headers_mut().insert("origin", v);
        }
        if let Some(p) = protocol {
            let v = HeaderValue::from_str(p)
                .map_err(|e| Error::Unexpected(format!("protocol: {e}")))?;
            request.headers_mut().insert("sec-websocket-protocol", v);
        }
        let (ws, _) = tokio_tungstenite::connect_async(request).await?;
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::channel::<Message>(256);
        let (events_tx, events) = mpsc::channel(CLIENT_EVENT_BUFFER);
        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));
        let close_reason: Arc<Mutex<Option<String>>> = Arc::default();
        tokio::spawn(async move {
            while let Some(m) = out_rx.recv().await {
                if sink.send(m).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let (p, reason) = (pending.clone(), close_reason.clone());
        tokio::spawn(async move {
            while let Some(msg) = stream.next().await {
                let frame = match msg {
                    Ok(Message::Text(t)) => match serde_json::from_str::<ServerFrame>(t.as_str()) {
                        Ok(f) => f,
                        Err(e) => ServerFrame::error(None, "client_decode", e.to_string()),
                    },
                    Ok(Message::Close(c)) => {
                        *reason.lock().unwrap_or_else(|e| e.into_inner()) =
                            c.map(|c| format!("{} {}", u16::from(c.code), c.reason));
                        break;
                    }
                    Ok(_) => continue,
                    Err(_) => break,
                };
                let waiter = frame.req().and_then(|r| {
                    p.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .as_mut()
                        .and_then(|m| m.remove(&r))
                });
                match waiter {
                    Some(w) => {
                        let _ = w.send(frame);
                    }
                    None => match events_tx.try_send(frame) {
                        Ok(()) => {}
                        Err(mpsc::error::TrySendError::Full(_)) => {
                            // The program is not reading events: rather than stall the
                            // answers behind them, give up this connection (a VisitorClient
                            // resumes and gets the missed events again).
                            *reason.lock().unwrap_or_else(|e| e.into_inner()) =
                                Some("client: events not read in time; connection dropped".into());
                            break;
                        }
                        Err(mpsc::error::TrySendError::Closed(_)) => break,
                    },
                }
            }
            // Closed: answer every waiting request (by dropping it), refuse new ones.
            p.lock().unwrap_or_else(|e| e.into_inner()).take();
        });
        Ok(Self {
            out,
            pending,
            events,
            next_req: AtomicU64::new(1),
            close_reason,
        })
    }

    /// Sends a frame and waits for its answer; an `error` frame becomes [`Error::Server`].
    pub async fn request(&self, frame: ClientFrame) -> Result<ServerFrame> {
        let req = self.next_req.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        match self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            Some(waiting) => {
                waiting.insert(req, tx);
            }
            None => return Err(Error::Closed(self.close_reason())),
        }
        let text = ClientEnvelope {
            req: Some(req),
            frame,
        }
        .encode();
        if self.out.send(Message::text(text)).await.is_err() {
            return Err(Error::Closed(self.close_reason()));
        }
        match rx.await {
            Ok(ServerFrame::Error { code, message, .. }) => Err(Error::Server { code, message }),
            Ok(frame) => Ok(frame),
            Err(_) => Err(Error::Closed(self.close_reason())),
        }
    }

    /// Sends a frame without waiting for anything (e.g. `typing`).
    pub async fn tell(&self, frame: ClientFrame) -> Result<()> {
        let text = ClientEnvelope { req: None, frame }.encode();
        self.out
            .send(Message::text(text))
            .await
            .map_err(|_| Error::Closed(self.close_reason()))
    }

    /// Sends raw text (for tests of bad input).
    pub async fn send_raw(&self, message: Message) -> Result<()> {
        self.out
            .send(message)
            .await
            .map_err(|_| Error::Closed(self.close_reason()))
    }

    /// The next frame that answers no request: events and unsolicited errors. `None` when
    /// the connection closed.
    pub async fn next_frame(&mut self) -> Option<ServerFrame> {
        self.events.recv().await
    }

    /// The next engine event, skipping other frames. `None` when the connection closed.
    pub async fn next_event(&mut self) -> Option<ServerEvent> {
        loop {
            match self.events.recv().await? {
                ServerFrame::Event { event } => return Some(event),
                _ => continue,
            }
        }
    }

    /// The close code and reason the server gave, once closed.
    pub fn close_reason(&self) -> Option<String> {
        self.close_reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// How hard [`VisitorClient`] tries to come back.
#[derive(Debug, Clone, Copy)]
pub struct Reconnect {
    /// Attempts before giving up.
    pub attempts: u32,
    /// First pause between attempts (doubles up to `max_pause`).
    pub first_pause: Duration,
    /// Longest pause.
    pub max_pause: Duration,
}

impl Default for Reconnect {
    /// 30 attempts, from 50 ms up to 5 s apart: about two minutes, the engine's grace period.
    fn default() -> Self {
        Self {
            attempts: 30,
            first_pause: Duration::from_millis(50),
            max_pause: Duration::from_secs(5),
        }
    }
}

/// A visitor that survives dropped connections.
#[derive(Debug)]
pub struct VisitorClient {
    url: String,
    origin: Option<String>,
    client: Client,
    conversation: ConversationId,
    resume_token: String,
    visitor_token: Option<String>,
    last_seq: u64,
    /// Seqs of its own messages, acknowledged, that `last_seq` has not passed yet (a visitor
    /// gets no `log` event of its own message: its `ack` holds the place).
    own: std::collections::BTreeSet<u64>,
    next_id: u64,
    reconnect: Reconnect,
    /// How many times it resumed.
    pub resumes: u64,
}

impl VisitorClient {
    /// Connects and arrives at a desk.
    pub async fn arrive(
        url: &str,
        origin: Option<&str>,
        desk: &DeskId,
        arrival: Arrival,
    ) -> Result<Self> {
        let client = Client::connect(url, origin).await?;
        let frame = ClientFrame::Arrive {
            desk: desk.clone(),
            visitor_token: arrival.visitor_token,
            profile: arrival.profile,
            appointment: arrival.appointment,
        };
        match client.request(frame).await? {
            ServerFrame::Welcome {
                conversation,
                resume_token,
                visitor_token,
                ..
            } => Ok(Self {
                url: url.to_owned(),
                origin: origin.map(str::to_owned),
                client,
                conversation,
                resume_token,
                visitor_token,
                last_seq: 0,
                own: Default::default(),
                next_id: 0,
                reconnect: Reconnect::default(),
                resumes: 0,
            }),
            other => Err(Error::Unexpected(format!("{other:?}"))),
        }
    }

    /// How to reconnect.
    pub fn set_reconnect(&mut self, reconnect: Reconnect) {
        self.reconnect = reconnect;
    }

    /// The conversation.
    pub fn conversation(&self) -> ConversationId {
        self.conversation
    }

    /// A new visitor token the server gave, to keep for the next visit.
    pub fn visitor_token(&self) -> Option<&str> {
        self.visitor_token.as_deref()
    }

    /// The last sequence number delivered: of the events [`Self::next_event`] gave, and of
    /// the visitor's own messages acknowledged right after them.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Moves `last_seq` over the visitor's own messages that follow it.
    fn pass_own(&mut self) {
        while self.own.remove(&(self.last_seq + 1)) {
            self.last_seq += 1;
        }
        // Older ones were passed by a resume's replay.
        self.own = self.own.split_off(&(self.last_seq + 1));
    }

    /// Drops the connection and resumes on a new one.
    pub async fn reconnect(&mut self) -> Result<()> {
        let mut pause = self.reconnect.first_pause;
        let mut last = Error::Closed(None);
        for _ in 0..self.reconnect.attempts.max(1) {
            match self.try_resume().await {
                Ok(()) => {
                    self.resumes += 1;
                    return Ok(());
                }
                // The chat ended or the token is wrong: retrying cannot help.
                Err(e @ Error::Server { .. }) => return Err(e),
                Err(e) => last = e,
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(self.reconnect.max_pause);
        }
        Err(last)
    }

    async fn try_resume(&mut self) -> Result<()> {
        let client = Client::connect(&self.url, self.origin.as_deref()).await?;
        let frame = ClientFrame::Resume {
            conversation: self.conversation,
            resume_token: self.resume_token.clone(),
            last_seq: self.last_seq,
        };
        match client.request(frame).await? {
            ServerFrame::Resumed { .. } => {
                self.client = client;
                Ok(())
            }
            other => Err(Error::Unexpected(format!("{other:?}"))),
        }
    }

    /// Sends a message; through dropped connections, until it is acknowledged.
    pub async fn send(&mut self, text: &str) -> Result<Ack> {
        self.next_id += 1;
        let id = ClientMsgId::new(format!("m{}", self.next_id));
        loop {
            let frame = ClientFrame::Send {
                id: id.clone(),
                conversation: None,
                text: text.to_owned(),
            };
            match self.client.request(frame).await {
                Ok(ServerFrame::Ack {
                    conversation,
                    seq,
                    at,
                    ..
                }) => {
                    // Every event before it was queued before the ack (the server's order),
                    // so `last_seq` may pass it once those are delivered.
                    if seq > self.last_seq {
                        self.own.insert(seq);
                        self.pass_own();
                    }
                    return Ok(Ack {
                        conversation,
                        seq,
                        at,
                    });
                }
                Ok(other) => return Err(Error::Unexpected(format!("{other:?}"))),
                Err(Error::Closed(_)) => self.reconnect().await?,
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends another frame (leave, consent, rate) on the current connection.
    pub async fn request(&self, frame: ClientFrame) -> Result<ServerFrame> {
        self.client.request(frame).await
    }

    /// The next event; each log event once and in order, through dropped connections.
    /// `None` when the chat is over and the server closed.
    pub async fn next_event(&mut self) -> Result<ServerEvent> {
        loop {
            match self.client.next_event().await {
                Some(ServerEvent::Log(e)) if e.seq <= self.last_seq => continue,
                // Its own message, replayed after a resume: already acknowledged.
                Some(ServerEvent::Log(e)) if self.own.contains(&e.seq) => {
                    self.last_seq = e.seq;
                    self.pass_own();
                    continue;
                }
                Some(ServerEvent::Log(e)) => {
                    self.last_seq = e.seq;
                    self.pass_own();
                    return Ok(ServerEvent::Log(e));
                }
                Some(other) => return Ok(other),
                None => self.reconnect().await?,
            }
        }
    }
}
