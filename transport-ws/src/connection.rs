//! One WebSocket connection: a reader loop that decodes frames and calls the engine, and
//! one writer task that writes both the reader's answers (a bounded queue) and the
//! engine's events for this participant (their outbox), `feed`ing what is ready and
//! flushing once.
//!
//! The writer reads the outbox itself rather than through a forwarding task: one task
//! hand-off less per event, on each side of a chat (measured with the load generator; see
//! `benches/README.md`). A peer that stops reading stalls the writer; the outbox then
//! fills and the engine disconnects it (4008), and a write that cannot finish within the
//! slow timeout closes the connection the same way, so the participant resumes from its
//! last sequence number and nothing is lost.
//!
//! Authorisation is per frame: before `arrive`/`resume` a connection can do nothing in a
//! conversation; a visitor's connection reaches only its own conversation (the engine's
//! handle cannot name another); staff frames need `login`, and the engine checks on every
//! command that the chat is theirs (or observed by them) and that coordinator actions come
//! from a coordinator of that desk.
//!
//! Bad input never ends a connection by itself: malformed JSON, unknown frames, a binary
//! frame, a frame over the rate limit each get an `error` frame. Only an oversized message
//! (close 1009), a version mismatch (4002), a slow consumer (4008), silence (4010) or no
//! start (4011) close it.

use std::sync::Arc;

use clbchat_core::account::AccountChange;
use clbchat_core::auth::Credential;
use clbchat_core::centre::Centre;
use clbchat_core::engine::{
    Arrival, Engine, Events, StaffHandle, VisitorHandle, RESTARTING, TOO_SLOW,
};
use clbchat_core::event::{DisconnectKind, ServerEvent};
use clbchat_core::review::{AuditRequest, ScanRequest};
use clbchat_core::statistics::ReportRequest;
use clbchat_core::Error as CoreError;
use futures::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::error::CapacityError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::config::{RateLimit, WsConfig};
use crate::protocol::{
    decode, ClientFrame, ServerFrame, CLOSE_IDLE, CLOSE_NO_START, CLOSE_REPLACED, CLOSE_SLOW,
    CLOSE_VERSION, PROTOCOL_VERSION, SUBPROTOCOL,
};
use crate::reports::ReportRenderer;
use crate::stats::WsStats;

/// Something for the writer. A frame is boxed: a tokio channel allocates its slots 32 at a
/// time when it is made, so an unboxed frame (176 bytes) cost 5.5 KiB per connection before
/// anything was written; boxed, the slots take 512 bytes (issue 20).
#[derive(Debug)]
enum Outgoing {
    Frame(Box<ServerFrame>),
    Flush,
    /// From now on, also write the engine's events for this session.
    Events(Events),
}

/// Tells the writer to send a close frame and stop.
type Closer = watch::Sender<Option<(u16, String)>>;

enum Session {
    None,
    Visitor(VisitorHandle),
    Staff(StaffHandle),
}

struct Conn {
    engine: Engine,
    out: mpsc::Sender<Outgoing>,
    closer: Arc<Closer>,
    session: Session,
    rate: RateLimit,
    /// Failed logins on this connection (they slow its next attempts down).
    login_attempts: clbchat_core::engine::logins::LoginAttempts,

    stats: Arc<WsStats>,
    reports: Option<Arc<dyn ReportRenderer>>,
    planner: Option<Arc<dyn crate::planning::Planner>>,
}

/// Serves one upgraded connection until it closes.
pub(crate) async fn serve<S>(engine: Engine, config: Arc<WsConfig>, stats: Arc<WsStats>, socket: S)
where
    S: Stream<Item = Result<Message, WsError>>
        + Sink<Message, Error = WsError>
        + Send
        + Unpin
        + 'static,
{
    let slow_timeout = config.slow_timeout;
    let (sink, mut stream) = socket.split();
    let (out, out_rx) = mpsc::channel(config.write_queue.max(1));
    let (closer, close_rx) = watch::channel(None);
    let closer = Arc::new(closer);
    let writer = tokio::spawn(writer(
        sink,
        out_rx,
        (closer.clone(), close_rx),
        config.heartbeat,
        slow_timeout,
    ));
    let mut conn = Conn {
        engine,
        out,
        closer: closer.clone(),
        session: Session::None,
        rate: RateLimit::new(config.rate_burst, config.rate_per_sec),
        login_attempts: Default::default(),

        stats,
        reports: config.reports.clone(),
        planner: config.planner.clone(),
    };
    conn.stats.opened();
    let start_deadline = Instant::now() + config.start_timeout;
    let mut last_heard = Instant::now();
    let mut close_watch = closer.subscribe();
    let mut stopping = conn.engine.stopping();
    loop {
        let idle_deadline = last_heard + config.idle_timeout;
        let (deadline, code, why) = match conn.session {
            Session::None if start_deadline < idle_deadline => (
                start_deadline,
                CLOSE_NO_START,
                "no arrive, resume or login frame in time",
            ),
            _ => (
                idle_deadline,
                CLOSE_IDLE,
                "nothing heard from you for too long",
            ),
        };
        // In this order: a close already decided wins; then a frame already received is
        // answered before the stop closes a connection without a session.
        tokio::select! {
            biased;
            _ = close_watch.changed() => break,
            msg = stream.next() => {
                last_heard = Instant::now();
                match msg {
                    None | Some(Ok(Message::Close(_))) => break,
                    Some(Err(WsError::Capacity(e))) => {
                        let reason = match e {
                            CapacityError::MessageTooLong { max_size, .. } => {
                                format!("message too big (at most {} KiB)", max_size / 1024)
                            }
                            other => other.to_string(),
                        };
                        let _ = conn.closer.send(Some((u16::from(CloseCode::Size), reason)));
                        break;
                    }
                    Some(Err(WsError::Utf8(_))) => {
                        // RFC 6455 §8.1: invalid UTF-8 in a text frame fails the connection
                        // with 1007.
                        let _ = conn.closer.send(Some((
                            u16::from(CloseCode::Invalid),
                            "a text frame must be UTF-8".into(),
                        )));
                        break;
                    }
                    Some(Err(_)) => break,
                    Some(Ok(Message::Text(text))) => conn.on_text(text.as_str()).await,
                    Some(Ok(Message::Binary(_))) => {
                        conn.reply(ServerFrame::error(None, "malformed", "binary frames are not used; send JSON text")).await;
                    }
                    Some(Ok(Message::Ping(_))) => {
                        // tungstenite queued the pong; have the writer flush it now.
                        let _ = conn.out.try_send(Outgoing::Flush);
                    }
                    Some(Ok(Message::Pong(_) | Message::Frame(_))) => {}
                }
            }
            () = tokio::time::sleep_until(deadline) => {
                let _ = conn.closer.send(Some((code, why.into())));
                break;
            }
            // The server stops: a connection with a session hears it from the engine; one
            // without is closed here, so the stop does not wait for it.
            () = stopped(&mut stopping), if matches!(conn.session, Session::None) => {
                let _ = conn.closer.send(Some((u16::from(CloseCode::Restart), RESTARTING.into())));
                break;
            }
        }
    }
    drop(conn);
    let _ = writer.await;
}

/// Completes once the engine stops (never, if it is gone without stopping).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    if stopping.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

impl Conn {
    async fn reply(&self, frame: ServerFrame) {
        if let ServerFrame::Error { code, .. } = &frame {
            self.stats.error(code);
        }
        let _ = self.out.send(Outgoing::Frame(Box::new(frame))).await;
    }

    async fn on_text(&mut self, text: &str) {
        self.stats.frame();
        if !self.rate.allow() {
            let req = decode(text).ok().and_then(|e| e.req);
            self.reply(ServerFrame::error(
                req,
                "rate_limited",
                "too many frames; slow down (this one was dropped)",
            ))
            .await;
            return;
        }
        let envelope = match decode(text) {
            Ok(e) => e,
            Err(e) => {
                tracing::debug!(code = e.code, "undecodable frame");
                self.reply(ServerFrame::error(e.req, e.code, e.message))
                    .await;
                return;
            }
        };
        let req = envelope.req;
        let kind = envelope.frame.kind();
        let answer = match self.handle(req, envelope.frame).await {
            Ok(frame) => frame,
            Err(e) => {
                tracing::debug!(frame = kind, error.code = e.code(), "refused");
                Some(ServerFrame::error(req, e.code(), e.public_message()))
            }
        };
        if let Some(frame) = answer {
            self.reply(frame).await;
        }
    }

    /// Hands the session's events to the writer, after the frames queued so far (the
    /// `welcome` before the first event).
    async fn start_forwarding(&mut self, events: Events) {
        let _ = self.out.send(Outgoing::Events(events)).await;
    }

    fn visitor(&self) -> Result<&VisitorHandle, CoreError> {
        match &self.session {
            Session::Visitor(v) => Ok(v),
            Session::Staff(_) => Err(CoreError::Forbidden("this is a staff connection".into())),
            Session::None => Err(CoreError::InvalidState(
                "send `arrive` or `resume` first".into(),
            )),
        }
    }

    fn staff(&self) -> Result<&StaffHandle, CoreError> {
        match &self.session {
            Session::Staff(s) => Ok(s),
            Session::Visitor(_) => Err(CoreError::Forbidden(
                "staff only: log in on a staff connection".into(),
            )),
            Session::None => Err(CoreError::Forbidden("log in first".into())),
        }
    }

    fn not_started(&self) -> Result<(), CoreError> {
        match self.session {
            Session::None => Ok(()),
            _ => Err(CoreError::InvalidState(
                "this connection has already started a session".into(),
            )),
        }
    }

    /// Handles one frame; `Ok(None)` when the answer was already sent.
    async fn handle(
        &mut self,
        req: Option<u64>,
        frame: ClientFrame,
    ) -> Result<Option<ServerFrame>, CoreError> {
        let ok = Ok(Some(ServerFrame::Ok { req }));
        match frame {
            ClientFrame::Hello { version } => {
                if version != PROTOCOL_VERSION {
                    let reason = format!("this server speaks {SUBPROTOCOL} (version {PROTOCOL_VERSION}), not version {version}");
                    let _ = self.closer.send(Some((CLOSE_VERSION, reason)));
                    return Ok(None);
                }
                ok
            }
            ClientFrame::Availability { desk } => Ok(Some(ServerFrame::Availability {
                req,
                availability: self.engine.availability(&desk)?,
            })),
            ClientFrame::Arrive {
                desk,
                visitor_token,
                profile,
                appointment,
            } => {
                self.not_started()?;
                let s = self
                    .engine
                    .arrive(
                        &desk,
                        Arrival {
                            visitor_token,
                            profile,
                            appointment,
                        },
                    )
                    .await?;
                tracing::info!(conversation = %s.conversation, desk = %desk, "visitor connected");
                self.reply(ServerFrame::Welcome {
                    req,
                    conversation: s.conversation,
                    resume_token: s.resume_token.clone(),
                    visitor_token: s.visitor_token.clone(),
                })
                .await;
                self.session = Session::Visitor(s.handle);
                self.start_forwarding(s.events).await;
                Ok(None)
            }
            ClientFrame::Resume {
                conversation,
                resume_token,
                last_seq,
            } => {
                self.not_started()?;
                let s = self
                    .engine
                    .resume(conversation, &resume_token, last_seq)
                    .await?;
                self.reply(ServerFrame::Resumed { req, conversation }).await;
                self.session = Session::Visitor(s.handle);
                self.start_forwarding(s.events).await;
                Ok(None)
            }
            ClientFrame::Login { username, password } => {
                self.not_started()?;
                let s = self
                    .engine
                    .login_from(
                        &Credential::Password { username, password },
                        &mut self.login_attempts,
                    )
                    .await?;
                tracing::info!(staff = %s.identity.id, "staff connected");
                self.reply(ServerFrame::LoggedIn {
                    req,
                    identity: s.identity.clone(),
                })
                .await;
                self.session = Session::Staff(s.handle);
                self.start_forwarding(s.events).await;
                Ok(None)
            }
            ClientFrame::Send {
                id,
                conversation,
                text,
            } => {
                let ack = match (&self.session, conversation) {
                    (Session::Staff(s), Some(c)) => s.send(c, id.clone(), text).await?,
                    (Session::Staff(_), None) => {
                        return Err(CoreError::Invalid(
                            "`send`: staff must name the `conversation`".into(),
                        ))
                    }
                    _ => self.visitor()?.send(id.clone(), text).await?,
                };
                Ok(Some(ServerFrame::ack(req, id, ack)))
            }
            ClientFrame::Typing { conversation } => {
                match (&self.session, conversation) {
                    (Session::Staff(s), Some(c)) => s.typing(c).await?,
                    (Session::Staff(_), None) => {
                        return Err(CoreError::Invalid(
                            "`typing`: staff must name the `conversation`".into(),
                        ))
                    }
                    _ => self.visitor()?.typing().await,
                }
                // Typing is fire-and-forget; answered only when the client numbered it.
                Ok(req.map(|req| ServerFrame::Ok { req: Some(req) }))
            }
            ClientFrame::Leave {} => {
                self.visitor()?.leave().await?;
                ok
            }
            ClientFrame::PartnerConsent { consent } => {
                self.visitor()?.answer_partner(consent).await?;
                ok
            }
            ClientFrame::Rate {
                stars,
                comment,
                conversation,
                resume_token,
            } => {
                match (conversation, resume_token) {
                    (Some(c), Some(token)) => self.engine.rate(c, &token, stars, comment).await?,
                    _ => self.visitor()?.rate(stars, comment).await?,
                }
                ok
            }
            ClientFrame::Online {
                desk,
                shift_ends_at,
            } => {
                self.staff()?.go_online(&desk, shift_ends_at).await?;
                ok
            }
            ClientFrame::Available { desk, available } => {
                self.staff()?.set_available(&desk, available).await?;
                ok
            }
            ClientFrame::Offline { desk } => {
                self.staff()?.go_offline(&desk).await?;
                ok
            }
            ClientFrame::End { conversation } => {
                self.staff()?.end(conversation).await?;
                ok
            }
            ClientFrame::Extend {
                conversation,
                reason,
            } => {
                self.staff()?.extend(conversation, reason).await?;
                ok
            }
            ClientFrame::Transfer {
                conversation,
                target,
                note,
            } => {
                let to = self.staff()?.transfer(conversation, target, note).await?;
                Ok(Some(ServerFrame::TransferOffered { req, to }))
            }
            ClientFrame::AnswerTransfer {
                conversation,
                accept,
            } => {
                self.staff()?.answer_transfer(conversation, accept).await?;
                ok
            }
            ClientFrame::OfferPartner {
                conversation,
                partner,
                summary,
            } => {
                self.staff()?
                    .offer_partner(conversation, &partner, summary)
                    .await?;
                ok
            }
            ClientFrame::Whisper { conversation, text } => {
                let ack = self.staff()?.whisper(conversation, text).await?;
                Ok(Some(ServerFrame::ack(
                    req,
                    clbchat_core::ids::ClientMsgId::new("whisper"),
                    ack,
                )))
            }
            ClientFrame::Register { conversation, form } => {
                self.staff()?.register(conversation, form).await?;
                ok
            }
            ClientFrame::ReleaseRegistration { conversation } => {
                self.staff()?.release_registration(conversation).await?;
                ok
            }
            ClientFrame::Rejoin { conversation } => {
                let events = self.staff()?.rejoin(conversation).await?;
                Ok(Some(ServerFrame::Log { req, events }))
            }
            ClientFrame::Board { desk } => Ok(Some(ServerFrame::Board {
                req,
                board: self.staff()?.board(&desk)?,
            })),
            ClientFrame::Observe { conversation } => {
                let events = self.staff()?.observe(conversation).await?;
                Ok(Some(ServerFrame::Log { req, events }))
            }
            ClientFrame::TakeOver { conversation } => {
                self.staff()?.take_over(conversation).await?;
                ok
            }
            ClientFrame::Flags { desk } => Ok(Some(ServerFrame::Flags {
                req,
                flags: self.staff()?.flags_to_review(&desk).await?,
            })),
            ClientFrame::ReviewFlag { flag, confirm } => {
                let flag = self.staff()?.review_flag(flag, confirm).await?;
                Ok(Some(ServerFrame::Flags {
                    req,
                    flags: vec![flag],
                }))
            }
            ClientFrame::Transcript {
                conversation,
                purpose,
                note,
            } => {
                let events = self
                    .staff()?
                    .read_transcript(conversation, purpose, note.as_deref())
                    .await?;
                Ok(Some(ServerFrame::Log { req, events }))
            }
            ClientFrame::DrawScan {
                desk,
                counsellor,
                from,
                to,
                count,
            } => {
                let picks = self
                    .staff()?
                    .draw_scan(&ScanRequest {
                        desk,
                        counsellor,
                        from,
                        to,
                        count,
                    })
                    .await?;
                Ok(Some(ServerFrame::Scan { req, picks }))
            }
            ClientFrame::ReadAudit {
                desk,
                from,
                to,
                reader,
                purpose,
            } => {
                let audit = self
                    .staff()?
                    .read_audit(&AuditRequest {
                        desk,
                        from,
                        to,
                        reader,
                        purpose,
                    })
                    .await?;
                Ok(Some(ServerFrame::ReadAudit { req, audit }))
            }
            ClientFrame::IntervisionExport { conversation } => {
                let export = self.staff()?.intervision_export(conversation).await?;
                Ok(Some(ServerFrame::IntervisionExport { req, export }))
            }
            ClientFrame::MyChats {} => Ok(Some(ServerFrame::MyChats {
                req,
                chats: self.staff()?.my_chats().await?,
            })),
            ClientFrame::AskFeedback {
                conversation,
                question,
            } => {
                let feedback = self
                    .staff()?
                    .ask_feedback(conversation, question.as_deref())
                    .await?;
                Ok(Some(ServerFrame::Feedback {
                    req,
                    feedback: vec![feedback],
                }))
            }
            ClientFrame::WriteFeedback { conversation, text } => {
                let feedback = self.staff()?.write_feedback(conversation, &text).await?;
                Ok(Some(ServerFrame::Feedback {
                    req,
                    feedback: vec![feedback],
                }))
            }
            ClientFrame::Feedback { desk } => Ok(Some(ServerFrame::Feedback {
                req,
                feedback: self.staff()?.feedback_at(&desk).await?,
            })),
            ClientFrame::EraseOnRequest { conversation } => {
                self.staff()?.erase_on_request(conversation).await?;
                ok
            }
            ClientFrame::PlanStaffing { desk, target, lang } => {
                let desk = self.staff()?.desk_config(&desk)?;
                let Some(planner) = &self.planner else {
                    return Err(CoreError::Invalid(
                        "this server plans no staffing; run `clbchat simulate` instead".into(),
                    ));
                };
                let plan = planner
                    .plan(self.engine.store().clone(), desk, target, lang)
                    .await
                    .map_err(CoreError::Invalid)?;
                Ok(Some(ServerFrame::StaffingPlan {
                    req,
                    plan: Box::new(plan),
                }))
            }
            ClientFrame::SetCalendar { desk, calendar } => {
                self.staff()?.set_calendar(&desk, calendar).await?;
                ok
            }
            ClientFrame::Calendar { desk } => Ok(Some(ServerFrame::Calendar {
                req,
                calendar: self.staff()?.calendar(&desk)?,
            })),
            ClientFrame::OpenEvent { desk, event } => Ok(Some(ServerFrame::Calendar {
                req,
                calendar: self.staff()?.open_event(&desk, &event).await?,
            })),
            ClientFrame::CloseEvent { desk } => Ok(Some(ServerFrame::Calendar {
                req,
                calendar: self.staff()?.close_event(&desk).await?,
            })),
            ClientFrame::CancelEvent { desk, start } => Ok(Some(ServerFrame::Calendar {
                req,
                calendar: self.staff()?.cancel_event(&desk, start).await?,
            })),
            ClientFrame::Accounts {} => Ok(Some(ServerFrame::Accounts {
                req,
                accounts: self.staff()?.accounts().await?,
            })),
            ClientFrame::Report {
                desk,
                from,
                to,
                theme,
                format,
                lang,
            } => {
                let staff = self.staff()?;
                // What cannot be written is refused before anything is computed.
                let writer = match &format {
                    None => None,
                    Some(f) => {
                        let Some(renderer) = &self.reports else {
                            return Err(CoreError::Invalid(format!(
                                "this server writes no `{f}` reports; ask without `format` for the figures"
                            )));
                        };
                        renderer
                            .check(f, lang.as_deref())
                            .map_err(CoreError::Invalid)?;
                        Some((renderer.clone(), f.clone()))
                    }
                };
                let data = staff
                    .report(&ReportRequest {
                        desk,
                        from,
                        to,
                        theme,
                    })
                    .await?;
                let Some((renderer, f)) = writer else {
                    return Ok(Some(ServerFrame::Report {
                        req,
                        data: Box::new(data),
                        document: None,
                    }));
                };
                // Tables and charts take a while: not on the threads that serve the chats.
                let (data, document) = tokio::task::spawn_blocking(move || {
                    let document = renderer.render(&data, &f, lang.as_deref());
                    (data, document)
                })
                .await
                .map_err(|e| CoreError::Invalid(format!("the report could not be written: {e}")))?;
                Ok(Some(ServerFrame::Report {
                    req,
                    data: Box::new(data),
                    document: Some(document.map_err(CoreError::Invalid)?),
                }))
            }
            ClientFrame::AppointmentLink { desk, token } => {
                Ok(Some(ServerFrame::AppointmentLink {
                    req,
                    link: self.engine.appointment_link(&desk, &token).await?,
                }))
            }
            ClientFrame::PlanAppointment { desk, booking } => {
                let (a, token) = self.staff()?.plan_appointment(&desk, &booking).await?;
                Ok(Some(ServerFrame::Appointment {
                    req,
                    appointment: Box::new((&a).into()),
                    token: Some(token),
                }))
            }
            ClientFrame::RescheduleAppointment {
                appointment,
                booking,
            } => {
                let a = self
                    .staff()?
                    .reschedule_appointment(appointment, &booking)
                    .await?;
                Ok(Some(ServerFrame::Appointment {
                    req,
                    appointment: Box::new((&a).into()),
                    token: None,
                }))
            }
            ClientFrame::CancelAppointment { appointment } => {
                let a = self.staff()?.cancel_appointment(appointment).await?;
                Ok(Some(ServerFrame::Appointment {
                    req,
                    appointment: Box::new((&a).into()),
                    token: None,
                }))
            }
            ClientFrame::NewAppointmentLink { appointment } => {
                let (a, token) = self.staff()?.new_appointment_link(appointment).await?;
                Ok(Some(ServerFrame::Appointment {
                    req,
                    appointment: Box::new((&a).into()),
                    token: Some(token),
                }))
            }
            ClientFrame::Appointments { which } => Ok(Some(ServerFrame::Appointments {
                req,
                appointments: self
                    .staff()?
                    .appointments(which)
                    .await?
                    .iter()
                    .map(Into::into)
                    .collect(),
            })),
            ClientFrame::Trajectory { trajectory } => Ok(Some(ServerFrame::Trajectory {
                req,
                sessions: self.staff()?.trajectory(trajectory).await?,
            })),
            ClientFrame::SaveAccount {
                username,
                create,
                password,
                active,
                identity,
            } => {
                self.staff()?
                    .save_account(AccountChange {
                        username,
                        create,
                        password,
                        active,
                        identity,
                    })
                    .await?;
                ok
            }
            ClientFrame::SaveCentre {
                id,
                create,
                name,
                origins,
            } => {
                self.staff()?
                    .save_centre(
                        Centre {
                            id,
                            name,
                            origins,
                            created_at: chrono::Utc::now(),
                        },
                        create,
                    )
                    .await?;
                ok
            }
        }
    }
}

/// The next event of the session, or never when there is none (yet).
async fn next_event(events: &mut Option<Events>) -> Option<ServerEvent> {
    match events {
        Some(e) => e.next().await,
        None => std::future::pending().await,
    }
}

/// The close an ended event stream asks for: the engine's reason (carried by the
/// disconnection itself, so it is known even when the `disconnecting` event was not read);
/// `None` when the stream ended normally.
fn close_for(events: &Events) -> Option<(u16, String)> {
    let (kind, reason) = events.disconnect_reason()?;
    Some(match kind {
        DisconnectKind::Replaced => (CLOSE_REPLACED, reason),
        DisconnectKind::Restart => (u16::from(CloseCode::Restart), reason),
        DisconnectKind::TooSlow => (CLOSE_SLOW, reason),
    })
}

/// Most frames fed before a flush.
const WRITE_BATCH: usize = 64;

/// The one writer: feeds whatever is ready (answers and events), flushes once; pings on a
/// timer; closes when told, when the engine disconnects the session, or when the peer
/// does not take a write within `slow_timeout`.
///
/// **Order.** Before an answer it writes every event already queued: whatever the engine
/// pushed before it answered comes first. So the `ack` of one's own message (which is not
/// echoed as a `log` event) comes after every log event with a lower `seq`, and a client
/// that takes its last seen `seq` from acks as well as events never skips one on resume.
async fn writer<K>(
    mut sink: K,
    mut rx: mpsc::Receiver<Outgoing>,
    (closer, mut close): (Arc<Closer>, watch::Receiver<Option<(u16, String)>>),
    heartbeat: std::time::Duration,
    slow_timeout: std::time::Duration,
) where
    K: Sink<Message, Error = WsError> + Unpin,
{
    let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
    let mut events: Option<Events> = None;
    let slow = || (CLOSE_SLOW, TOO_SLOW.to_owned());
    loop {
        let first = tokio::select! {
            biased;
            _ = close.changed() => {
                let what = close.borrow().clone();
                if let Some((code, reason)) = what {
                    // Let go of the events first: the engine learns at once that this
                    // participant is gone (the counsellor sees the visitor's connection
                    // drop now, not after the close below has had its time).
                    drop(events.take());
                    // Frames queued before the close still go out first (if the peer
                    // takes them in time).
                    let drained = tokio::time::timeout(slow_timeout, async {
                        while let Ok(item) = rx.try_recv() {
                            if let Outgoing::Frame(f) = item {
                                sink.feed(Message::text(f.encode())).await?;
                            }
                        }
                        Ok::<(), WsError>(())
                    })
                    .await;
                    if matches!(drained, Ok(Ok(()))) {
                        finish(&mut sink, code, &reason, slow_timeout).await;
                    }
                    return;
                }
                continue;
            }
            event = next_event(&mut events) => match event {
                Some(event) => Some((ServerFrame::Event { event }, false)),
                None => {
                    // Closing goes through the closer, so the reader stops too.
                    let ended = events.take();
                    if let Some(close) = ended.as_ref().and_then(close_for) {
                        let _ = closer.send(Some(close));
                    }
                    continue;
                }
            },
            item = rx.recv() => match item {
                None => {
                    let _ = tokio::time::timeout(slow_timeout, sink.close()).await;
                    return;
                }
                Some(Outgoing::Events(e)) => {
                    events = Some(e);
                    continue;
                }
                Some(Outgoing::Flush) => None,
                Some(Outgoing::Frame(f)) => Some((*f, true)),
            },
            _ = ping.tick() => {
                match tokio::time::timeout(slow_timeout, sink.send(Message::Ping(Default::default()))).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return,
                    Err(_) => {
                        let _ = closer.send(Some(slow()));
                        continue;
                    }
                }
                continue;
            }
        };
        // Feed this frame and whatever else is ready, then flush once.
        let write = async {
            let mut next = first;
            let mut fed = 0usize;
            loop {
                if let Some((f, answer)) = next.take() {
                    if answer {
                        // What the engine queued before this answer goes first.
                        while let Some(event) = events.as_mut().and_then(Events::try_next) {
                            sink.feed(Message::text(ServerFrame::Event { event }.encode()))
                                .await?;
                            fed += 1;
                        }
                    }
                    sink.feed(Message::text(f.encode())).await?;
                    fed += 1;
                }
                if fed >= WRITE_BATCH {
                    break;
                }
                match events.as_mut().and_then(Events::try_next) {
                    Some(event) => next = Some((ServerFrame::Event { event }, false)),
                    None => match rx.try_recv() {
                        Ok(Outgoing::Frame(f)) => next = Some((*f, true)),
                        Ok(Outgoing::Flush) => {}
                        Ok(Outgoing::Events(e)) => events = Some(e),
                        Err(_) => break,
                    },
                }
            }
            sink.flush().await
        };
        match tokio::time::timeout(slow_timeout, write).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return,
            Err(_) => {
                // The peer does not take what we write: close (the close frame itself gets
                // `slow_timeout` more at most), so the reader stops and the visitor resumes.
                let _ = closer.send(Some(slow()));
            }
        }
    }
}

/// Sends the close frame (within `within`, a peer that does not read may never take it)
/// and closes the sink.
async fn finish<K>(sink: &mut K, code: u16, reason: &str, within: std::time::Duration)
where
    K: Sink<Message, Error = WsError> + Unpin,
{
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: truncate(reason).into(),
    };
    let _ = tokio::time::timeout(within, async {
        let _ = sink.send(Message::Close(Some(frame))).await;
        let _ = sink.close().await;
    })
    .await;
}

/// Close reasons must fit in a control frame (123 bytes).
fn truncate(reason: &str) -> String {
    let mut out = String::new();
    for c in reason.chars() {
        if out.len() + c.len_utf8() > 123 {
            break;
        }
        out.push(c);
    }
    out
}
