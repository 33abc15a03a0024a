//! The running engine.
//!
//! # Design
//!
//! - **Desks** ([`desk`]) keep their queue, presence and running chats in a plain struct
//!   behind a `std::sync::Mutex` that is held only for short, synchronous changes, never
//!   across an `.await`. The starting design gave each desk its own task; a mutex does the
//!   same job here with less machinery: every desk change is CPU-only and short, assignment
//!   stays atomic, and no task ever waits on a desk task's mailbox (which could deadlock
//!   with a conversation task waiting the other way).
//! - **Conversations** ([`conversation`]) are one task each: the log's single writer, the
//!   owner of the chat's timers and of the client's outgoing queue.
//! - **Sessions** ([`session`]) are what a transport holds: a cloneable handle for commands
//!   and an [`Events`] stream. Dropping the visitor's `Events` is how a transport says the
//!   connection dropped; the reconnect grace period starts then.
//! - A **desk clock** task per desk sleeps until the calendar's next change; at closing time
//!   the clients still waiting get a closing notice. Running chats finish normally.
//!
//! Nothing here knows about sockets or SQL.

pub mod appointments;
pub mod centres;
pub(crate) mod conversation;
pub(crate) mod desk;
pub mod events;
pub mod logins;
pub(crate) mod outbox;
pub mod quality;
pub mod session;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch, Notify};
use tokio::time::Instant;

use crate::account::StaffIdentity;
use crate::appointment::{Appointment, LinkInfo, LinkState};
use crate::auth::{AccountAuthenticator, Authenticator, Credential};
use crate::calendar::Calendar;
use crate::clock::{Clock, SystemClock};
use crate::config::{
    Admission, Anonymity, DeskConfig, DEFAULT_OUTBOX_CAPACITY, MAX_NICKNAME_CHARS,
};
use crate::error::{Error, Result};
use crate::event::{ClientProfile, DeskBoard, EndReason, ServerEvent};
use crate::flags::{Flag, FlagKind, FlagStatus, FlagSummary, VisitorHistory};
use crate::ids::{ConversationId, DeskId, FlagId, StaffId};
use crate::observer::{NoObserver, Observer};
use crate::partner::PartnerLine;
use crate::pseudonym::{
    hash_secret, random_token, Pseudonym, PseudonymKey, Pseudonymizer, VisitorToken,
};
use crate::router::{DefaultRouter, Router};
use crate::statistics::{CoverageSample, COVERAGE_HEARTBEAT, COVERAGE_SAMPLE_VALID_FOR};
use crate::store::{ConversationMeta, ConversationState, Store};

use conversation::{ConvCmd, ConvTx, Conversation, Start, COMMAND_CAPACITY};
use desk::{DeskState, Rules};
use outbox::Outbox;
pub use outbox::{Disconnect, Events, RESTARTING, TOO_SLOW};
pub use session::{StaffHandle, StaffSession, VisitorHandle, VisitorSession};

/// Arrival at a desk.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Arrival {
    /// The token the visitor's browser keeps (anonymous desks); a new one is made if absent.
    #[serde(default)]
    pub visitor_token: Option<String>,
    /// What the client says about themselves.
    #[serde(default)]
    pub profile: ClientProfile,
    /// The join token of an appointment (blended chat).
    #[serde(default)]
    pub appointment: Option<String>,
}

/// What [`Engine::recover`] reloaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovered {
    /// Clients that were waiting.
    pub waiting: u32,
    /// Chats that were running.
    pub active: u32,
    /// Registrations still due for chats that ended before the restart.
    pub registrations_due: u32,
}

/// Whether a desk is open and what a visitor can expect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeskAvailability {
    /// The desk.
    pub desk: DeskId,
    /// Its public name.
    pub name: String,
    /// Open now.
    pub open: bool,
    /// When it closes (if open).
    pub closes_at: Option<DateTime<Utc>>,
    /// When it opens next (if closed).
    pub next_opening: Option<DateTime<Utc>>,
    /// Clients waiting.
    pub queue_length: u32,
    /// The wait a newcomer can expect, in minutes.
    pub estimated_wait_minutes: Option<u32>,
    /// The event it is open for now (a centre's box: its title and welcome text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<events::OpenEvent>,
}

pub(crate) struct Desk {
    config: RwLock<DeskConfig>,
    state: Mutex<DeskState>,
    calendar_changed: Notify,
    /// The coverage samples written; held while one is written, so a desk's samples reach
    /// the store in order and each is computed from the state after the one before.
    coverage: tokio::sync::Mutex<CoverageState>,
}

/// What [`Shared::note_coverage`] remembers of a desk.
#[derive(Debug, Default)]
struct CoverageState {
    /// The last sample written, and when.
    last: Option<(CoverageKey, DateTime<Utc>)>,
    /// When a write last failed: the next tries wait [`COVERAGE_RETRY_AFTER`].
    failed_at: Option<Instant>,
}

/// After a failed coverage write, how long before the next try (a database that is down
/// should not make every dispatch wait for it).
const COVERAGE_RETRY_AFTER: Duration = Duration::from_secs(30);

/// After a restart, registrations still due are looked for among the chats that arrived
/// this long ago at most (older ones are left to the statistics as unregistered).
const RESTORE_DUES_WITHIN: Duration = Duration::from_secs(24 * 3600);

/// How long the stop waits for each desk's closed coverage sample.
const SHUTDOWN_COVERAGE_WAIT: Duration = Duration::from_secs(2);

/// How often the desk clock wakes at least (for a wall clock that jumps, and for the
/// coverage heartbeat).
const DESK_CLOCK_RECHECK: Duration = Duration::from_secs(15 * 60);

// A sample refreshed by the heartbeat, which the desk clock checks at least every
// DESK_CLOCK_RECHECK, must still be valid when the refresh comes.
const _: () = assert!(
    COVERAGE_HEARTBEAT.as_secs() + DESK_CLOCK_RECHECK.as_secs()
        < COVERAGE_SAMPLE_VALID_FOR.as_secs()
);

/// What a coverage sample records about a desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CoverageKey {
    open: bool,
    counsellors: u32,
    medical: u32,
    minimum: u32,
    medical_wanted: bool,
}

impl CoverageKey {
    /// Whether a sample is due: the first, a change, or the heartbeat of an open desk.
    fn due(
        last: Option<(CoverageKey, DateTime<Utc>)>,
        key: CoverageKey,
        now: DateTime<Utc>,
    ) -> bool {
        let heartbeat = chrono::Duration::from_std(COVERAGE_HEARTBEAT)
            .unwrap_or_else(|_| chrono::Duration::minutes(45));
        match last {
            None => true,
            Some((k, at)) => k != key || (key.open && now - at >= heartbeat),
        }
    }
}

impl Desk {
    pub(crate) fn config(&self) -> DeskConfig {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn lock_state(&self) -> MutexGuard<'_, DeskState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The staffing now; `stopping` records the desk as closed and unstaffed (the time the
    /// server is stopped is not counted).
    fn coverage_key(&self, now: DateTime<Utc>, stopping: bool) -> CoverageKey {
        // Read in place: this runs at every dispatch, and the calendar is not small.
        let cfg = self.config.read().unwrap_or_else(|p| p.into_inner());
        let (counsellors, medical) = if stopping {
            (0, 0)
        } else {
            self.lock_state().coverage_counts(&self.rules(&cfg))
        };
        CoverageKey {
            open: !stopping && cfg.calendar.is_open(now),
            counsellors,
            medical,
            minimum: cfg.min_counsellors,
            medical_wanted: cfg.want_medical,
        }
    }

    pub(crate) fn rules(&self, cfg: &DeskConfig) -> Rules {
        Rules {
            shift_end_margin: cfg.limits.shift_end_margin,
            require_registration: cfg.require_registration,
            chat_limit: cfg.limits.chat_limit,
        }
    }
}

#[derive(Clone)]
pub(crate) struct ConvHandle {
    pub(crate) tx: ConvTx,
}

struct StaffConn {
    outbox: Outbox,
    generation: u64,
}

pub(crate) struct Shared {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    auth: Arc<dyn Authenticator>,
    router: Arc<dyn Router>,
    pub(crate) partners: HashMap<String, Arc<dyn PartnerLine>>,
    pseudonyms: Pseudonymizer,
    outbox_capacity: usize,
    pub(crate) observer: Arc<dyn Observer>,
    desks: RwLock<HashMap<DeskId, Arc<Desk>>>,
    convs: Mutex<HashMap<ConversationId, ConvHandle>>,
    staff: Mutex<HashMap<StaffId, StaffConn>>,
    logins: logins::LoginGuard,
    generation: std::sync::atomic::AtomicU64,
    shutdown: watch::Sender<bool>,
    /// The desk a centre's chatbox is made from, when the engine hosts centres.
    pub(crate) centre_desk: Option<DeskConfig>,
}

/// Builds an [`Engine`]; `new` documents every default.
pub struct EngineBuilder {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    auth: Option<Arc<dyn Authenticator>>,
    router: Arc<dyn Router>,
    partners: Vec<Arc<dyn PartnerLine>>,
    pseudonyms: Option<Pseudonymizer>,
    outbox_capacity: usize,
    observer: Arc<dyn Observer>,
    login_delay_unit: std::time::Duration,
    centre_desk: Option<DeskConfig>,
}

impl EngineBuilder {
    /// Defaults: the system clock; accounts from the store ([`AccountAuthenticator`]); the
    /// [`DefaultRouter`]; no partner lines; a pseudonym key generated at start (so flags do
    /// not survive a restart: give a configured key in production); outboxes of
    /// [`DEFAULT_OUTBOX_CAPACITY`] events; no observer.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            clock: Arc::new(SystemClock),
            auth: None,
            router: Arc::new(DefaultRouter),
            partners: Vec::new(),
            pseudonyms: None,
            outbox_capacity: DEFAULT_OUTBOX_CAPACITY,
            observer: Arc::new(NoObserver),
            login_delay_unit: logins::DEFAULT_DELAY_UNIT,
            centre_desk: None,
        }
    }

    /// The engine hosts the centres' chatboxes (Chat-met-je-CLB): a centre's desk is
    /// `template` (its limits) with the centre's id and name, and an events-only calendar
    /// until its coordinator opens it. See [`centres`].
    pub fn centres(mut self, template: DeskConfig) -> Self {
        self.centre_desk = Some(template);
        self
    }

    /// The step of the delays after failed logins ([`logins`]; default
    /// [`logins::DEFAULT_DELAY_UNIT`], one second). Only a test of the whole server has a
    /// reason to shorten it: it reaches `too_many_attempts` in milliseconds instead of a
    /// minute. Never shorten it in production: it is what holds a password guesser back.
    pub fn login_delay_unit(mut self, unit: std::time::Duration) -> Self {
        self.login_delay_unit = unit;
        self
    }

    /// The wall clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The authenticator.
    pub fn authenticator(mut self, auth: Arc<dyn Authenticator>) -> Self {
        self.auth = Some(auth);
        self
    }

    /// The assignment policy.
    pub fn router(mut self, router: Arc<dyn Router>) -> Self {
        self.router = router;
        self
    }

    /// Adds a partner organisation's line.
    pub fn partner(mut self, line: Arc<dyn PartnerLine>) -> Self {
        self.partners.push(line);
        self
    }

    /// The pseudonym keys.
    pub fn pseudonyms(mut self, p: Pseudonymizer) -> Self {
        self.pseudonyms = Some(p);
        self
    }

    /// Capacity of each participant's event queue.
    pub fn outbox_capacity(mut self, capacity: usize) -> Self {
        self.outbox_capacity = capacity.max(1);
        self
    }

    /// Who hears about chats started and ended and messages stored (metrics).
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = observer;
        self
    }

    /// The engine.
    pub fn build(self) -> Engine {
        let auth = self
            .auth
            .unwrap_or_else(|| Arc::new(AccountAuthenticator::new(self.store.clone())));
        let (shutdown, _) = watch::channel(false);
        Engine {
            shared: Arc::new(Shared {
                store: self.store,
                clock: self.clock,
                auth,
                router: self.router,
                partners: self
                    .partners
                    .into_iter()
                    .map(|p| (p.id().to_owned(), p))
                    .collect(),
                pseudonyms: self
                    .pseudonyms
                    .unwrap_or_else(|| Pseudonymizer::new(PseudonymKey::generate("k0"))),
                outbox_capacity: self.outbox_capacity,
                observer: self.observer,
                desks: RwLock::default(),
                convs: Mutex::default(),
                staff: Mutex::default(),
                logins: logins::LoginGuard::new(self.login_delay_unit),
                generation: std::sync::atomic::AtomicU64::new(0),
                shutdown,
                centre_desk: self.centre_desk,
            }),
        }
    }
}

/// The engine: cheap to clone, one per process.
#[derive(Clone)]
pub struct Engine {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Engine {
    /// A builder over a store.
    pub fn builder(store: Arc<dyn Store>) -> EngineBuilder {
        EngineBuilder::new(store)
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.shared.store
    }

    /// Adds a desk. A calendar saved in the store for it replaces the configured one.
    pub async fn add_desk(&self, mut config: DeskConfig) -> Result<()> {
        config.validate()?;
        if let Some(saved) = self.shared.store.calendar(&config.id).await? {
            config.calendar = saved;
        }
        let id = config.id.clone();
        let desk = Arc::new(Desk {
            config: RwLock::new(config),
            state: Mutex::default(),
            calendar_changed: Notify::new(),
            coverage: tokio::sync::Mutex::default(),
        });
        {
            let mut desks = self.shared.desks.write().unwrap_or_else(|p| p.into_inner());
            if desks.contains_key(&id) {
                return Err(Error::Invalid(format!("desk `{id}` is configured twice")));
            }
            desks.insert(id, desk.clone());
        }
        self.shared.note_coverage(&desk, false).await;
        tokio::spawn(desk_clock(Arc::downgrade(&self.shared), desk));
        Ok(())
    }

    /// One desk's configuration as it is in force (its calendar included), if the engine
    /// hosts it.
    pub fn desk(&self, id: &DeskId) -> Option<DeskConfig> {
        self.shared.desk(id).ok().map(|d| d.config())
    }

    /// The configured desks, by id.
    pub fn desks(&self) -> Vec<DeskConfig> {
        self.shared.desk_configs()
    }

    /// Open or closed, and the wait a newcomer can expect.
    pub fn availability(&self, desk: &DeskId) -> Result<DeskAvailability> {
        let d = self.shared.desk(desk)?;
        let cfg = d.config();
        let now = self.shared.clock.now();
        let open = cfg.calendar.is_open(now);
        let rules = d.rules(&cfg);
        let st = d.lock_state();
        Ok(DeskAvailability {
            desk: cfg.id.clone(),
            name: cfg.name.clone(),
            open,
            closes_at: if open {
                cfg.calendar.closes_at(now)
            } else {
                None
            },
            next_opening: if open {
                None
            } else {
                cfg.calendar.next_opening(now)
            },
            queue_length: u32::try_from(st.queue_len()).unwrap_or(u32::MAX),
            estimated_wait_minutes: st
                .estimate_for_newcomer(Instant::now(), now, &rules)
                .map(|d| u32::try_from(d.as_secs().div_ceil(60)).unwrap_or(u32::MAX)),
            event: if open {
                cfg.calendar
                    .current_event(now)
                    .map(|w| events::OpenEvent::of(&cfg.calendar, w))
            } else {
                None
            },
        })
    }

    /// A client arrives. Refusals: [`Error::Closed`], [`Error::QueueFull`],
    /// [`Error::NotAdmittedBeforeClosing`], [`Error::UnknownDesk`], [`Error::Invalid`],
    /// [`Error::ShuttingDown`] once [`Engine::shutdown`] began.
    pub async fn arrive(&self, desk_id: &DeskId, arrival: Arrival) -> Result<VisitorSession> {
        let shared = &self.shared;
        shared.refuse_when_stopping()?;
        let desk = shared.desk(desk_id)?;
        let cfg = desk.config();
        validate_profile(&arrival.profile)?;
        let now = shared.clock.now();
        if !cfg.calendar.is_open(now) {
            return Err(Error::Closed {
                desk: cfg.id.clone(),
                next_opening: cfg.calendar.next_opening(now),
            });
        }
        let mut profile = arrival.profile.clone();
        let mut reserved_for = Vec::new();
        let mut appointment = None;
        if cfg.admission == Admission::Appointment {
            let token = arrival.appointment.as_deref().ok_or_else(|| {
                Error::Invalid("this desk works by appointment: open the link you were sent".into())
            })?;
            let appt = shared.appointment_by_link(token, &cfg.id).await?;
            match appt.link_state(now) {
                LinkState::Open => {}
                LinkState::TooEarly => {
                    return Err(Error::Closed {
                        desk: cfg.id.clone(),
                        next_opening: Some(appt.opens_at()),
                    })
                }
                LinkState::Over => {
                    return Err(Error::InvalidState(
                        "this appointment is over; ask your counsellor for a new one".into(),
                    ))
                }
                LinkState::Cancelled => {
                    return Err(Error::InvalidState(
                        "this appointment was cancelled; ask your counsellor for a new one".into(),
                    ))
                }
            }
            if let Some(live) = appt
                .latest_chat()
                .and_then(|c| shared.conv(c).map(|h| (c, h)))
            {
                // Opened again (another phone, another tab): this connection takes over.
                return self.take_over_appointment(live.0, live.1).await;
            }
            profile.nickname = Some(appt.client_name.clone());
            reserved_for.push(appt.counsellor.clone());
            reserved_for.extend(appt.stand_in.clone());
            appointment = Some(appt);
        }

        // Who is this, without knowing who: pseudonym, visits and flags.
        let (visitor_token, pseudonym, history, lowered) = match cfg.anonymity {
            Anonymity::Anonymous => {
                let (token, generated) = match &arrival.visitor_token {
                    Some(raw) => (VisitorToken::parse(raw)?, false),
                    None => (VisitorToken::generate(), true),
                };
                let (pseudonym, history, lowered) = shared.recognise(&cfg, &token, now).await?;
                (
                    generated.then_some(token),
                    Some(pseudonym),
                    history,
                    lowered,
                )
            }
            Anonymity::Identified => (None, None, VisitorHistory::default(), false),
        };

        let conversation = ConversationId::random();
        let resume_token = random_token(32);
        let rules = desk.rules(&cfg);
        // Admission, decided and reserved atomically under the desk's lock.
        let refusal = {
            let mut st = desk.lock_state();
            let wait = st.estimate_for_newcomer(Instant::now(), now, &rules);
            if st.queue_len() >= cfg.limits.max_queue {
                Some((
                    EndReason::RefusedQueueFull,
                    Error::QueueFull {
                        desk: cfg.id.clone(),
                        limit: cfg.limits.max_queue,
                    },
                ))
            } else {
                let closes_at = cfg.calendar.closes_at(now);
                let margin =
                    chrono::Duration::from_std(cfg.limits.closing_margin).unwrap_or_default();
                let late = match (closes_at, wait) {
                    (Some(close), Some(wait)) if reserved_for.is_empty() => {
                        let wait_c = chrono::Duration::from_std(wait).unwrap_or_default();
                        (now + wait_c + margin > close).then_some((close, wait))
                    }
                    _ => None,
                };
                match late {
                    Some((closes_at, wait)) => Some((
                        EndReason::RefusedBeforeClosing,
                        Error::NotAdmittedBeforeClosing {
                            desk: cfg.id.clone(),
                            closes_at,
                            wait_minutes: u32::try_from(wait.as_secs().div_ceil(60))
                                .unwrap_or(u32::MAX),
                            margin_minutes: u32::try_from(
                                cfg.limits.closing_margin.as_secs().div_ceil(60),
                            )
                            .unwrap_or(u32::MAX),
                            next_opening: cfg.calendar.next_opening(closes_at),
                        },
                    )),
                    None => {
                        let delay = if lowered {
                            cfg.flags.prank_delay
                        } else {
                            Duration::ZERO
                        };
                        st.enqueue(
                            conversation,
                            Instant::now(),
                            profile.health_question,
                            delay,
                            reserved_for.clone(),
                        );
                        None
                    }
                }
            }
        };

        let mut meta = ConversationMeta {
            id: conversation,
            desk: cfg.id.clone(),
            pseudonym,
            profile: profile.clone(),
            state: ConversationState::Waiting,
            counsellor: None,
            arrived_at: now,
            started_at: None,
            ended_at: None,
            end_reason: None,
            resume_token_hash: hash_secret(&resume_token),
        };
        if let Some((reason, err)) = refusal {
            // Refusals are counted for the statistics (e.g. clients refused at closing).
            meta.state = ConversationState::Ended;
            meta.ended_at = Some(now);
            meta.end_reason = Some(reason);
            shared.observer.chat_ended(&cfg.id, reason, false);
            if let Err(e) = shared.store.put_conversation(&meta).await {
                tracing::warn!(error.code = e.code(), "could not record a refused arrival");
            }
            return Err(err);
        }
        if let Err(e) = shared.store.put_conversation(&meta).await {
            desk.lock_state().remove_waiting(conversation);
            return Err(e);
        }
        if let Some(mut appt) = appointment {
            // The session's chat, so the trajectory finds it (a second one if the client
            // came back after the first ended).
            appt.conversations.push(conversation);
            if let Err(e) = shared.store.put_appointment(&appt).await {
                desk.lock_state().remove_waiting(conversation);
                return Err(e);
            }
        }

        let (client, events) = outbox::outbox(shared.outbox_capacity);
        let (tx, rx) = mpsc::channel(COMMAND_CAPACITY);
        let handle = ConvHandle { tx: tx.clone() };
        shared
            .convs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(conversation, handle);
        let task = Conversation::new(
            shared.clone(),
            desk.clone(),
            Start {
                meta,
                limits: cfg.limits.clone(),
                client,
                history,
            },
            rx,
        );
        tokio::spawn(task.run());
        desk.lock_state().mark_ready(conversation);
        tracing::info!(conversation = %conversation, desk = %cfg.id, "client arrived");
        shared.dispatch(&desk).await;
        Ok(VisitorSession {
            conversation,
            resume_token: resume_token.clone(),
            visitor_token: visitor_token.map(|t| t.expose().to_owned()),
            handle: VisitorHandle::new(shared.clone(), conversation, tx, resume_token),
            events,
        })
    }

    /// What a client's appointment link shows before they join (blended chat): where it
    /// stands, when, and their counsellor's alias. A mistyped or replaced link is refused
    /// as [`Error::Invalid`], like at arrival.
    pub async fn appointment_link(&self, desk: &DeskId, token: &str) -> Result<LinkInfo> {
        let shared = &self.shared;
        let a = shared.appointment_by_link(token, desk).await?;
        let counsellor = shared
            .store
            .account(&a.counsellor.0)
            .await?
            .map(|acc| acc.identity.alias);
        Ok(LinkInfo {
            state: a.link_state(shared.clock.now()),
            starts_at: a.starts_at,
            ends_at: a.ends_at(),
            opens_at: a.opens_at(),
            counsellor,
        })
    }

    /// The client of an appointment whose chat is live opened the link again: the new
    /// connection takes the chat over (a new resume token; the old connection is told),
    /// with the whole log replayed.
    async fn take_over_appointment(
        &self,
        conversation: ConversationId,
        handle: ConvHandle,
    ) -> Result<VisitorSession> {
        let (outbox, mut events) = outbox::outbox(self.shared.outbox_capacity);
        let resume_token = random_token(32);
        let taken = session::ask(&handle.tx, conversation, |reply| ConvCmd::TakeOverClient {
            token_hash: hash_secret(&resume_token),
            outbox,
            reply,
        })
        .await?;
        events.prepend(taken.replay(conversation));
        tracing::info!(conversation = %conversation, "appointment chat taken over by a new connection");
        Ok(VisitorSession {
            conversation,
            resume_token: resume_token.clone(),
            visitor_token: None,
            handle: VisitorHandle::new(self.shared.clone(), conversation, handle.tx, resume_token),
            events,
        })
    }

    /// A client comes back after a dropped connection, with its resume token and the last
    /// sequence number it saw; it gets exactly the events it missed, then the live ones.
    pub async fn resume(
        &self,
        conversation: ConversationId,
        resume_token: &str,
        last_seq: u64,
    ) -> Result<VisitorSession> {
        self.shared.refuse_when_stopping()?;
        let handle = self
            .shared
            .conv(conversation)
            .ok_or_else(|| Error::ResumeRefused("the chat has ended or does not exist".into()))?;
        let (outbox, mut events) = outbox::outbox(self.shared.outbox_capacity);
        let resumed = session::ask(&handle.tx, conversation, |reply| ConvCmd::Resume {
            token: resume_token.to_owned(),
            last_seq,
            outbox,
            reply,
        })
        .await?;
        events.prepend(resumed.replay(conversation));
        Ok(VisitorSession {
            conversation,
            resume_token: resume_token.to_owned(),
            visitor_token: None,
            handle: VisitorHandle::new(
                self.shared.clone(),
                conversation,
                handle.tx,
                resume_token.to_owned(),
            ),
            events,
        })
    }

    /// Rates an ended chat from any connection, proving it is the visitor's own chat with
    /// its resume token (the page may have lost its connection between the end and the rating).
    pub async fn rate(
        &self,
        conversation: ConversationId,
        resume_token: &str,
        stars: u8,
        comment: Option<String>,
    ) -> Result<()> {
        session::rate(&self.shared, conversation, resume_token, stars, comment).await
    }

    /// A staff member logs in. Failed logins for an account slow its next attempts down
    /// (see [`logins`]); a transport should use [`Engine::login_from`] so that a
    /// connection that keeps failing slows down too.
    pub async fn login(&self, credential: &Credential) -> Result<StaffSession> {
        self.login_from(credential, &mut logins::LoginAttempts::default())
            .await
    }

    /// A staff member logs in on a connection whose failed attempts are `attempts`: the
    /// answer waits as [`logins`] says (never a lock-out: the right password always
    /// works), and a connection that failed too often is told how long to wait
    /// ([`Error::TooManyAttempts`]).
    pub async fn login_from(
        &self,
        credential: &Credential,
        attempts: &mut logins::LoginAttempts,
    ) -> Result<StaffSession> {
        self.shared.refuse_when_stopping()?;
        let Credential::Password { username, .. } = credential;
        if let Some(wait) = attempts.must_wait(Instant::now()) {
            return Err(Error::TooManyAttempts {
                wait_secs: wait.as_secs().max(1),
            });
        }
        let delay = self
            .shared
            .logins
            .delay_for(username, attempts, Instant::now());
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
            // The server may have begun to stop meanwhile.
            self.shared.refuse_when_stopping()?;
        }
        match self.shared.auth.authenticate(credential).await {
            Ok(identity) => {
                attempts.succeeded();
                self.shared.logins.succeeded(username);
                self.host_centres_of(&identity).await?;
                Ok(self.shared.clone().connect_staff(identity))
            }
            Err(Error::BadCredentials) => {
                attempts.failed(Instant::now());
                // The desks of the account of that name, so its coordinators see it.
                let desks = match self.shared.store.account(username).await {
                    Ok(Some(a)) => a.identity.desks,
                    _ => Vec::new(),
                };
                self.shared.logins.failed(username, desks, Instant::now());
                tracing::info!(failures = attempts.failures(), "failed login");
                Err(Error::BadCredentials)
            }
            Err(e) => Err(e),
        }
    }

    /// Whether [`Engine::shutdown`] has begun, as a watch: a transport closes the
    /// connections that have no session yet when it turns `true` (those with one are
    /// disconnected by the engine).
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.shared.shutdown.subscribe()
    }

    /// Stops the engine: every participant is told the server restarts and is disconnected;
    /// conversations stay in the store as they are.
    pub async fn shutdown(&self) {
        let _ = self.shared.shutdown.send(true);
        let convs: Vec<ConvHandle> = self
            .shared
            .convs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for c in convs {
            let _ = c.tx.send(Box::new(ConvCmd::Shutdown)).await;
        }
        let staff: Vec<Outbox> = self
            .shared
            .staff
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .map(|(_, c)| c.outbox)
            .collect();
        for o in staff {
            o.disconnect(crate::event::DisconnectKind::Restart, RESTARTING.into());
        }
        // Everyone is told first; then the desks are recorded as closed (statistics: a
        // slow database must not keep the stop from reaching the clients).
        for desk in self.shared.all_desks() {
            let note = self.shared.note_coverage(&desk, true);
            if tokio::time::timeout(SHUTDOWN_COVERAGE_WAIT, note)
                .await
                .is_err()
            {
                tracing::warn!(desk = %desk.config().id, "no closed coverage sample at the stop: the store is slow");
            }
        }
    }

    /// After a restart: reloads the conversations that were waiting or active, so their
    /// clients can resume (within the reconnect grace period) and their counsellors can
    /// rejoin. Waiting clients keep their order; running chats keep their counsellor and the
    /// time limit counted from when they started. Call after adding the desks, before
    /// serving.
    pub async fn recover(&self) -> Result<Recovered> {
        let shared = &self.shared;
        let identities: HashMap<StaffId, StaffIdentity> = shared
            .store
            .accounts()
            .await?
            .into_iter()
            .map(|a| (a.identity.id.clone(), a.identity))
            .collect();
        let mut report = Recovered::default();
        for desk in shared.all_desks() {
            let cfg = desk.config();
            let filter = crate::store::ConversationFilter {
                desk: Some(cfg.id.clone()),
                states: vec![ConversationState::Waiting, ConversationState::Active],
                ..Default::default()
            };
            let mut live = shared.store.conversations(&filter).await?;
            live.sort_by_key(|m| m.arrived_at);
            // Waiting clients of appointments wait for their own counsellor again.
            let reserved = if cfg.admission == Admission::Appointment && !live.is_empty() {
                let since = shared.clock.now() - chrono::Duration::days(1);
                shared
                    .store
                    .appointments(&crate::appointment::AppointmentFilter {
                        ending_after: Some(since),
                        ..Default::default()
                    })
                    .await?
                    .into_iter()
                    .filter_map(|a| {
                        let chat = a.latest_chat()?;
                        let mut who = vec![a.counsellor];
                        who.extend(a.stand_in);
                        Some((chat, who))
                    })
                    .collect::<HashMap<_, _>>()
            } else {
                HashMap::new()
            };
            for meta in live {
                if shared.conv(meta.id).is_some() {
                    continue;
                }
                let log = shared.store.events_after(meta.id, 0).await?;
                let now_wall = shared.clock.now();
                let elapsed = meta.started_at.and_then(|t| (now_wall - t).to_std().ok());
                let counsellor = meta.counsellor.as_ref().map(|id| {
                    identities
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| StaffIdentity {
                            id: id.clone(),
                            alias: "Medewerker".into(),
                            role: crate::account::StaffRole::Counsellor,
                            discipline: crate::event::Discipline::SocialWork,
                            desks: vec![cfg.id.clone()],
                            capacity: crate::account::DEFAULT_CAPACITY,
                            centre: None,
                        })
                });
                let id = meta.id;
                let state = meta.state;
                {
                    let mut st = desk.lock_state();
                    match (state, &counsellor) {
                        (ConversationState::Active, Some(c)) => {
                            let started = Instant::now()
                                .checked_sub(elapsed.unwrap_or_default())
                                .unwrap_or_else(Instant::now);
                            st.restore_running(
                                id,
                                c.clone(),
                                started,
                                meta.profile.health_question,
                            );
                            report.active += 1;
                        }
                        _ => {
                            st.enqueue(
                                id,
                                Instant::now(),
                                meta.profile.health_question,
                                Duration::ZERO,
                                reserved.get(&id).cloned().unwrap_or_default(),
                            );
                            st.mark_ready(id);
                            st.set_waiting_connected(id, false);
                            report.waiting += 1;
                        }
                    }
                }
                let (tx, rx) = mpsc::channel(COMMAND_CAPACITY);
                shared
                    .convs
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id, ConvHandle { tx });
                let restore = conversation::Restore {
                    meta,
                    limits: cfg.limits.clone(),
                    log,
                    counsellor,
                    elapsed,
                };
                tokio::spawn(
                    Conversation::restored(shared.clone(), desk.clone(), restore, rx).run(),
                );
            }
            if cfg.require_registration {
                report.registrations_due += shared.restore_dues(&desk, &identities).await?;
            }
            // Counsellors who do not log in again within the grace period are taken
            // offline, and their chats go back to the head of the queue.
            let away: Vec<(StaffId, u64)> = {
                let st = desk.lock_state();
                st.counsellors
                    .keys()
                    .filter_map(|id| st.away_epoch(id).map(|e| (id.clone(), e)))
                    .collect()
            };
            for (staff, epoch) in away {
                shared.start_staff_grace(&desk, staff, epoch);
            }
        }
        tracing::info!(
            waiting = report.waiting,
            active = report.active,
            registrations_due = report.registrations_due,
            "recovered live conversations"
        );
        Ok(report)
    }

    /// A desk's live board, for the embedding program (metrics, operations); staff reach it
    /// through [`StaffHandle::board`], which checks the role.
    pub fn board(&self, desk: &DeskId) -> Result<DeskBoard> {
        let d = self.shared.desk(desk)?;
        Ok(board(&self.shared, &d))
    }

    /// Live conversations (waiting or active), for operators and tests.
    pub fn live_conversations(&self) -> usize {
        self.shared
            .convs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }
}

fn validate_profile(p: &ClientProfile) -> Result<()> {
    if let Some(n) = &p.nickname {
        if n.chars().count() > MAX_NICKNAME_CHARS {
            return Err(Error::Invalid(format!(
                "nickname: at most {MAX_NICKNAME_CHARS} characters"
            )));
        }
    }
    if let Some(age) = p.age {
        if !(6..=99).contains(&age) {
            return Err(Error::Invalid(format!(
                "age: {age} is not plausible; leave it empty if you prefer"
            )));
        }
    }
    Ok(())
}

impl Shared {
    /// Whether [`Engine::shutdown`] has begun.
    pub(crate) fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// [`Error::ShuttingDown`] once the engine stops: no chat starts, resumes or logs in on
    /// a server that is going away (the client reconnects in a moment, to the next one).
    pub(crate) fn refuse_when_stopping(&self) -> Result<()> {
        if self.stopping() {
            Err(Error::ShuttingDown)
        } else {
            Ok(())
        }
    }

    /// Every desk's configuration in force, by id.
    pub(crate) fn desk_configs(&self) -> Vec<DeskConfig> {
        let desks = self.desks.read().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<DeskConfig> = desks.values().map(|d| d.config()).collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    pub(crate) fn desk(&self, id: &DeskId) -> Result<Arc<Desk>> {
        self.desks
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| Error::UnknownDesk(id.clone()))
    }

    pub(crate) fn conv(&self, id: ConversationId) -> Option<ConvHandle> {
        self.convs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
    }

    pub(crate) fn forget_conversation(&self, id: ConversationId) {
        self.convs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    /// The appointment of a join token on `desk`; a token that matches none (mistyped,
    /// or of another desk) is refused the same way.
    async fn appointment_by_link(&self, token: &str, desk: &DeskId) -> Result<Appointment> {
        self.store
            .appointment_by_token(&hash_secret(token))
            .await?
            .filter(|a| &a.desk == desk)
            .ok_or_else(|| {
                Error::Invalid(
                    "this appointment link is not valid; check that it was copied whole".into(),
                )
            })
    }

    /// Pseudonym, returning-visitor history and whether the queue priority is lowered;
    /// raises "frequent chatter" when the threshold is reached.
    async fn recognise(
        &self,
        cfg: &DeskConfig,
        token: &VisitorToken,
        now: DateTime<Utc>,
    ) -> Result<(Pseudonym, VisitorHistory, bool)> {
        let pseudonym = self.pseudonyms.pseudonym(token);
        for old in self.pseudonyms.previous_pseudonyms(token) {
            self.store.rekey_pseudonym(&old, &pseudonym).await?;
        }
        let window = chrono::Duration::days(i64::from(cfg.flags.window_days));
        let visits = self.store.count_visits(&pseudonym, now - window).await?;
        let mut flags: Vec<Flag> = self
            .store
            .flags_for(&pseudonym)
            .await?
            .into_iter()
            .filter(|f| f.is_active(now))
            .collect();
        let frequent = flags.iter().any(|f| f.kind == FlagKind::FrequentChatter);
        if visits + 1 >= cfg.flags.frequent_threshold && !frequent {
            let flag = Flag {
                id: FlagId::random(),
                pseudonym: pseudonym.clone(),
                desk: cfg.id.clone(),
                kind: FlagKind::FrequentChatter,
                status: FlagStatus::Open,
                conversation: None,
                raised_by: None,
                reviewed_by: None,
                created_at: now,
                expires_at: now + chrono::Duration::days(i64::from(cfg.flags.flag_ttl_days)),
            };
            self.store.put_flag(&flag).await?;
            flags.push(flag);
        }
        let lowered = flags.iter().any(|f| f.kind == FlagKind::SuspectedFakeCall);
        let history = VisitorHistory {
            chats_in_window: visits,
            window_days: cfg.flags.window_days,
            flags: flags.iter().map(FlagSummary::from).collect(),
        };
        Ok((pseudonym, history, lowered))
    }

    /// Assigns what can be assigned and tells waiting clients their new place.
    pub(crate) async fn dispatch(&self, desk: &Arc<Desk>) {
        self.note_coverage(desk, false).await;
        loop {
            let cfg = desk.config();
            let rules = desk.rules(&cfg);
            let wall = self.clock.now();
            let (assignments, positions) = {
                let mut st = desk.lock_state();
                let a = st.assign(Instant::now(), wall, &rules, &*self.router);
                let p = st.changed_positions(Instant::now(), wall, &rules);
                (a, p)
            };
            let mut lost = false;
            for a in assignments {
                let delivered = match self.conv(a.conversation) {
                    Some(h) => {
                        h.tx.send(Box::new(ConvCmd::Assigned { staff: a.staff }))
                            .await
                            .is_ok()
                    }
                    None => false,
                };
                if !delivered {
                    // The conversation ended meanwhile: give the slot back and try again.
                    desk.lock_state()
                        .finish(a.conversation, Instant::now(), false);
                    lost = true;
                }
            }
            for p in positions {
                if let Some(h) = self.conv(p.conversation) {
                    let _ = h.tx.try_send(Box::new(ConvCmd::Queue(p)));
                }
            }
            if !lost {
                return;
            }
        }
    }

    /// Records the desk's staffing when it changed (or the hourly heartbeat of an open desk
    /// is due); see [`crate::statistics`]. Cheap when nothing changed. A failed write is
    /// logged and tried again at the next call: coverage is statistics, not a chat.
    pub(crate) async fn note_coverage(&self, desk: &Arc<Desk>, stopping: bool) {
        let mut state = desk.coverage.lock().await;
        // Read after taking the lock: a note that waited behind the stop's is a stop too
        // (staff disconnected by the stop are not staffing).
        let stopping = stopping || *self.shutdown.borrow();
        let now = self.clock.now();
        let key = desk.coverage_key(now, stopping);
        if !CoverageKey::due(state.last, key, now) {
            return;
        }
        if !stopping
            && state
                .failed_at
                .is_some_and(|t| t.elapsed() < COVERAGE_RETRY_AFTER)
        {
            return;
        }
        let sample = CoverageSample {
            desk: desk
                .config
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .id
                .clone(),
            at: now,
            open: key.open,
            counsellors: key.counsellors,
            medical: key.medical,
            minimum: key.minimum,
            medical_wanted: key.medical_wanted,
        };
        match self.store.record_coverage(&sample).await {
            Ok(()) => {
                state.last = Some((key, now));
                state.failed_at = None;
            }
            Err(e) => {
                state.failed_at = Some(Instant::now());
                tracing::warn!(
                    desk = %sample.desk,
                    error.code = e.code(),
                    "could not record the desk's coverage; trying again in 30 s at the next change"
                );
            }
        }
    }

    /// Dispatch from inside a conversation task, without making it wait on another one.
    pub(crate) fn spawn_dispatch(self: &Arc<Self>, desk: Arc<Desk>) {
        let shared = self.clone();
        tokio::spawn(async move { shared.dispatch(&desk).await });
    }

    pub(crate) fn push_staff(&self, staff: &StaffId, event: ServerEvent) {
        let outbox = self
            .staff
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(staff)
            .map(|c| c.outbox.clone());
        if let Some(o) = outbox {
            let _ = o.push(event);
        }
    }

    fn connect_staff(self: Arc<Self>, identity: StaffIdentity) -> StaffSession {
        let (outbox, events) = outbox::outbox(self.outbox_capacity);
        let generation = self
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let old = self.staff.lock().unwrap_or_else(|p| p.into_inner()).insert(
            identity.id.clone(),
            StaffConn {
                outbox: outbox.clone(),
                generation,
            },
        );
        if let Some(old) = old {
            old.outbox.disconnect(
                crate::event::DisconnectKind::Replaced,
                "you logged in elsewhere".into(),
            );
        }
        // Reconnected: mark presence connected again where it was kept, and show every
        // registration still due again (a page that was closed lost its forms).
        let mut reconnected = Vec::new();
        for desk in self.all_desks() {
            let dues = {
                let mut st = desk.lock_state();
                if st.staff_reconnected(&identity.id) {
                    reconnected.push(desk.clone());
                }
                st.dues_of(&identity.id)
            };
            for conversation in dues {
                let _ = outbox.push(ServerEvent::RegistrationDue { conversation });
            }
        }
        if !reconnected.is_empty() {
            // Back: the coverage and the waiting clients' estimates count them again.
            let shared = self.clone();
            tokio::spawn(async move {
                for desk in reconnected {
                    shared.dispatch(&desk).await;
                }
            });
        }
        let watcher = outbox.clone();
        let shared = self.clone();
        let id = identity.id.clone();
        tokio::spawn(async move {
            watcher.closed().await;
            shared.staff_gone(&id, generation);
            let stopping = *shared.shutdown.borrow();
            for desk in shared.all_desks() {
                if stopping {
                    shared.note_coverage(&desk, false).await;
                } else {
                    // Gone: waiting clients are told the estimate without them at once.
                    shared.dispatch(&desk).await;
                }
            }
        });
        StaffSession {
            identity: identity.clone(),
            handle: StaffHandle::new(self, identity),
            events,
        }
    }

    fn all_desks(&self) -> Vec<Arc<Desk>> {
        self.desks
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    fn staff_gone(self: &Arc<Self>, staff: &StaffId, generation: u64) {
        {
            let mut conns = self.staff.lock().unwrap_or_else(|p| p.into_inner());
            match conns.get(staff) {
                Some(c) if c.generation == generation => {
                    conns.remove(staff);
                }
                _ => return, // a newer connection replaced this one
            }
        }
        if *self.shutdown.borrow() {
            // The server stops: presence is not carried over, and nobody is re-queued.
            return;
        }
        for desk in self.all_desks() {
            let epoch = desk.lock_state().staff_disconnected(staff, Instant::now());
            if let Some(epoch) = epoch {
                self.start_staff_grace(&desk, staff.clone(), epoch);
            }
        }
        tracing::info!(staff = %staff, "staff disconnected");
    }

    /// Waits out the desk's staff grace period for a staff member who is away; if they
    /// did not come back, takes them offline and puts their running chats back at the head
    /// of the queue, telling each client in plain words.
    fn start_staff_grace(self: &Arc<Self>, desk: &Arc<Desk>, staff: StaffId, epoch: u64) {
        let grace = desk.config().limits.staff_reconnect_grace;
        let weak = Arc::downgrade(self);
        let desk = desk.clone();
        let mut shutdown = self.shutdown.subscribe();
        tokio::spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(grace) => {}
                _ = shutdown.changed() => return,
            }
            let Some(shared) = weak.upgrade() else { return };
            let chats = desk
                .lock_state()
                .staff_expired(&staff, epoch, Instant::now());
            let expired = chats.len();
            for conversation in chats {
                match shared.conv(conversation) {
                    Some(h) => {
                        let _ = h.tx.send(Box::new(ConvCmd::Requeued)).await;
                    }
                    None => {
                        desk.lock_state().remove_waiting(conversation);
                    }
                }
            }
            tracing::info!(staff = %staff, requeued = expired, "staff taken offline after the grace period");
            shared.dispatch(&desk).await;
        });
    }

    /// After a restart: the registrations still due for chats served in the last day,
    /// owed by the counsellor who served them (shown again when they log in).
    async fn restore_dues(
        &self,
        desk: &Arc<Desk>,
        identities: &HashMap<StaffId, StaffIdentity>,
    ) -> Result<u32> {
        let now = self.clock.now();
        let filter = crate::store::ConversationFilter {
            desk: Some(desk.config().id),
            states: vec![ConversationState::Ended],
            arrived_from: Some(
                now - chrono::Duration::from_std(RESTORE_DUES_WITHIN).unwrap_or_default(),
            ),
            ..Default::default()
        };
        let mut n = 0;
        for meta in self.store.conversations(&filter).await? {
            let (Some(_), Some(staff)) = (meta.started_at, &meta.counsellor) else {
                continue;
            };
            let Some(identity) = identities.get(staff) else {
                continue;
            };
            if self.store.registration(meta.id).await?.is_some() {
                continue;
            }
            desk.lock_state().restore_due(meta.id, identity.clone());
            n += 1;
        }
        Ok(n)
    }

    /// Replaces a desk's calendar (already validated and stored).
    pub(crate) fn set_calendar(&self, desk: &Arc<Desk>, calendar: Calendar) {
        desk.config
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .calendar = calendar;
        desk.calendar_changed.notify_one();
    }
}

/// Sleeps until the desk's calendar changes state; at closing, ends the waiting.
async fn desk_clock(shared: std::sync::Weak<Shared>, desk: Arc<Desk>) {
    const MAX_SLEEP: Duration = DESK_CLOCK_RECHECK;
    let mut shutdown = match shared.upgrade() {
        Some(s) => s.shutdown.subscribe(),
        None => return,
    };
    loop {
        let Some(s) = shared.upgrade() else { return };
        let now = s.clock.now();
        let cal = desk.config().calendar;
        let wait = cal
            .next_transition(now)
            .and_then(|t| (t - now).to_std().ok())
            .map_or(MAX_SLEEP, |d| d.min(MAX_SLEEP));
        drop(s);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = desk.calendar_changed.notified() => {}
            _ = shutdown.changed() => return,
        }
        let Some(s) = shared.upgrade() else { return };
        s.note_coverage(&desk, false).await;
        let now = s.clock.now();
        let cal = desk.config().calendar;
        if !cal.is_open(now) {
            let waiting = desk.lock_state().drain_queue();
            let next_opening = cal.next_opening(now);
            for conv in waiting {
                if let Some(h) = s.conv(conv) {
                    let _ = h.tx.send(Box::new(ConvCmd::Closing { next_opening })).await;
                }
            }
        } else {
            s.dispatch(&desk).await;
        }
    }
}

/// The board of a desk, for coordinators.
pub(crate) fn board(shared: &Shared, desk: &Arc<Desk>) -> DeskBoard {
    let cfg = desk.config();
    let wall = shared.clock.now();
    let open = cfg.calendar.is_open(wall);
    let rules = desk.rules(&cfg);
    let (counsellors, queue_length, longest_wait_secs, running, warnings) =
        desk.lock_state().board_parts(
            Instant::now(),
            wall,
            &rules,
            cfg.min_counsellors,
            cfg.want_medical,
        );
    let login_failures = shared.logins.for_board(&cfg.id, Instant::now());
    DeskBoard {
        desk: cfg.id,
        open,
        counsellors,
        queue_length,
        longest_wait_secs,
        running,
        warnings,
        login_failures,
    }
}
