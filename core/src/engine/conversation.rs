//! One task per live conversation: it owns the log, the timers and the participants' queues.
//!
//! Everything that happens in a chat passes through this task's bounded command channel,
//! so the log has one writer and its sequence numbers need no lock. An event is appended
//! to the store *before* anyone sees it; a message is acknowledged to its sender only after
//! the store accepted it, and a retry with the same client message id gets the original
//! acknowledgement. Timers (time limit and warnings, idle prompt, reconnect grace) are
//! deadlines this task sleeps towards with `tokio::time`, so tests pause time.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::desk::Position;
use super::outbox::{Outbox, Pushed};
use super::{Desk, Shared};
use crate::account::StaffIdentity;
use crate::config::Limits;
use crate::error::{Error, Result, StoreErrorKind};
use crate::event::{
    Ack, ClientProfile, DisconnectKind, EndReason, EventBody, LoggedEvent, Role, ServerEvent,
    TransferTarget,
};
use crate::flags::VisitorHistory;
use crate::ids::{ClientMsgId, ConversationId, StaffId};
use crate::partner::Handoff;
use crate::pseudonym::hash_secret;
use crate::review::{may_read, ChatFacts, ReadPurpose};
use crate::store::{ConversationMeta, ConversationState, TranscriptRead};

/// Capacity of a conversation's command channel.
pub(crate) const COMMAND_CAPACITY: usize = 64;

type Reply<T> = oneshot::Sender<Result<T>>;

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Party {
    Client,
    Staff(StaffId),
}

/// What a resumed client gets.
#[derive(Debug)]
pub(crate) struct Resumed {
    pub(crate) missed: Vec<LoggedEvent>,
    pub(crate) position: Option<Position>,
}

impl Resumed {
    /// What the new connection is sent first: the missed entries, then the queue place.
    pub(crate) fn replay(self, conversation: ConversationId) -> Vec<ServerEvent> {
        let mut replay: Vec<ServerEvent> = self.missed.into_iter().map(ServerEvent::Log).collect();
        if let Some(p) = self.position {
            replay.push(ServerEvent::Queue {
                conversation,
                position: p.position,
                estimated_wait_minutes: p.estimate_minutes,
            });
        }
        replay
    }
}

/// Commands to a conversation task.
#[derive(Debug)]
pub(crate) enum ConvCmd {
    Assigned {
        staff: StaffIdentity,
    },
    Queue(Position),
    Closing {
        next_opening: Option<DateTime<Utc>>,
    },
    Send {
        who: Party,
        id: ClientMsgId,
        text: String,
        reply: Reply<Ack>,
    },
    Typing {
        who: Party,
    },
    /// A staff member types: answered, so typing in a chat not theirs is refused.
    StaffTyping {
        staff: StaffId,
        reply: Reply<()>,
    },
    Leave {
        reply: Reply<()>,
    },
    End {
        staff: StaffId,
        reply: Reply<()>,
    },
    Extend {
        staff: StaffId,
        reason: String,
        reply: Reply<()>,
    },
    Transfer {
        staff: StaffId,
        target: TransferTarget,
        note: String,
        reply: Reply<StaffId>,
    },
    AnswerTransfer {
        staff: StaffIdentity,
        accept: bool,
        reply: Reply<()>,
    },
    OfferPartner {
        staff: StaffId,
        partner: String,
        summary: String,
        reply: Reply<()>,
    },
    PartnerConsent {
        consent: bool,
        reply: Reply<()>,
    },
    Whisper {
        staff: StaffIdentity,
        text: String,
        reply: Reply<Ack>,
    },
    Observe {
        staff: StaffIdentity,
        reply: Reply<Vec<LoggedEvent>>,
    },
    TakeOver {
        staff: StaffIdentity,
        reply: Reply<()>,
    },
    Rejoin {
        staff: StaffId,
        reply: Reply<Vec<LoggedEvent>>,
    },
    Resume {
        token: String,
        last_seq: u64,
        outbox: Outbox,
        reply: Reply<Resumed>,
    },
    /// The client of an appointment opened its link again (another phone, another tab):
    /// the new connection takes the chat over with a new resume token (its hash here), the
    /// old one is told and closed; the whole log is replayed.
    TakeOverClient {
        token_hash: String,
        outbox: Outbox,
        reply: Reply<Resumed>,
    },
    /// The counsellor was taken offline after the staff grace period; the desk has put the
    /// client back at the head of the queue.
    Requeued,
    Shutdown,
}

#[derive(Debug, Clone)]
struct PendingTransfer {
    from: StaffId,
    to: StaffId,
}

/// The sending end of a conversation's command queue. Commands are boxed: a tokio channel
/// allocates its slots 32 at a time when it is made, so an unboxed command (136 bytes) cost
/// 4 KiB per conversation before anything was sent; boxed, 256 bytes (issue 20, memory per
/// idle connection).
pub(crate) type ConvTx = mpsc::Sender<Box<ConvCmd>>;
/// The receiving end of [`ConvTx`].
pub(crate) type ConvRx = mpsc::Receiver<Box<ConvCmd>>;

/// The task's state.
pub(crate) struct Conversation {
    shared: Arc<Shared>,
    desk: Arc<Desk>,
    meta: ConversationMeta,
    limits: Limits,
    log: Vec<LoggedEvent>,
    acks: HashMap<(Party, ClientMsgId), Ack>,
    client: Option<Outbox>,
    client_alias: String,
    counsellor: Option<StaffIdentity>,
    observers: BTreeSet<StaffId>,
    history: VisitorHistory,
    pending_transfer: Option<PendingTransfer>,
    pending_partner: Option<(String, String)>,
    limit_at: Option<Instant>,
    warned: BTreeSet<Duration>,
    extended: bool,
    typing_grace_used: bool,
    last_activity: Instant,
    last_client_typing: Option<Instant>,
    idle_prompted_at: Option<Instant>,
    /// When the current counsellor joined, and whether the client said or typed anything
    /// since: a client who was away when their turn came gets [`Limits::first_reply_wait`].
    joined_at: Option<Instant>,
    client_spoke: bool,
    grace_until: Option<Instant>,
    position: Option<Position>,
    ended: bool,
    rx: ConvRx,
}

/// What is reloaded for a live conversation after a restart.
pub(crate) struct Restore {
    pub(crate) meta: ConversationMeta,
    pub(crate) limits: Limits,
    pub(crate) log: Vec<LoggedEvent>,
    pub(crate) counsellor: Option<StaffIdentity>,
    /// How long the chat has been running (active chats).
    pub(crate) elapsed: Option<Duration>,
}

/// What the engine knows when a conversation starts.
pub(crate) struct Start {
    pub(crate) meta: ConversationMeta,
    pub(crate) limits: Limits,
    pub(crate) client: Outbox,
    pub(crate) history: VisitorHistory,
}

impl Conversation {
    pub(crate) fn new(shared: Arc<Shared>, desk: Arc<Desk>, start: Start, rx: ConvRx) -> Self {
        let client_alias = start
            .meta
            .profile
            .nickname
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| default_alias(&start.meta.profile));
        Self {
            shared,
            desk,
            meta: start.meta,
            limits: start.limits,
            log: Vec::new(),
            acks: HashMap::new(),
            client: Some(start.client),
            client_alias,
            counsellor: None,
            observers: BTreeSet::new(),
            history: start.history,
            pending_transfer: None,
            pending_partner: None,
            limit_at: None,
            warned: BTreeSet::new(),
            extended: false,
            typing_grace_used: false,
            last_activity: Instant::now(),
            last_client_typing: None,
            idle_prompted_at: None,
            joined_at: None,
            client_spoke: true,
            grace_until: None,
            position: None,
            ended: false,
            rx,
        }
    }

    /// A conversation reloaded from the store after a restart: its log, its counsellor and
    /// its time limit as they were; the client is away until it resumes, within the grace
    /// period. Offers in flight (a transfer, a partner proposal) are not carried over.
    pub(crate) fn restored(
        shared: Arc<Shared>,
        desk: Arc<Desk>,
        restore: Restore,
        rx: ConvRx,
    ) -> Self {
        let (client, _events) = super::outbox::outbox(1);
        let mut c = Self::new(
            shared,
            desk,
            Start {
                meta: restore.meta,
                limits: restore.limits,
                client,
                history: VisitorHistory::default(),
            },
            rx,
        );
        c.client = None;
        let now = Instant::now();
        c.grace_until = Some(now + c.limits.reconnect_grace);
        c.extended = restore
            .log
            .iter()
            .any(|e| matches!(e.body, EventBody::Extended { .. }));
        for e in &restore.log {
            if let EventBody::Message {
                from,
                client_msg_id,
                ..
            } = &e.body
            {
                let party = match (from, &c.meta.counsellor) {
                    (Role::Client, _) => Party::Client,
                    (_, Some(staff)) => Party::Staff(staff.clone()),
                    (_, None) => continue,
                };
                c.acks.insert(
                    (party, client_msg_id.clone()),
                    Ack {
                        conversation: e.conversation,
                        seq: e.seq,
                        at: e.at,
                    },
                );
            }
        }
        c.log = restore.log;
        if let (ConversationState::Active, Some(elapsed)) = (c.meta.state, restore.elapsed) {
            let total = c.limits.chat_limit
                + if c.extended {
                    c.limits.extension
                } else {
                    Duration::ZERO
                };
            c.limit_at = Some(now + total.saturating_sub(elapsed));
            for w in &c.limits.warnings_before_end {
                if total.saturating_sub(*w) <= elapsed {
                    c.warned.insert(*w);
                }
            }
        }
        c.counsellor = restore.counsellor;
        c
    }

    fn id(&self) -> ConversationId {
        self.meta.id
    }

    fn active(&self) -> bool {
        self.meta.state == ConversationState::Active && !self.ended
    }

    /// The task's loop: commands, timers and the client's connection, until the end.
    pub(crate) async fn run(mut self) {
        while !self.ended {
            let deadline = self.next_deadline();
            let client = self.client.clone();
            tokio::select! {
                cmd = self.rx.recv() => match cmd.map(|c| *c) {
                    Some(ConvCmd::Shutdown) | None => {
                        self.shutdown();
                        break;
                    }
                    Some(cmd) => self.handle(cmd).await,
                },
                () = sleep_until_opt(deadline) => self.on_timer().await,
                () = closed_opt(client) => self.client_dropped().await,
            }
        }
        self.shared.forget_conversation(self.id());
        // Answer whatever was still queued, so no caller waits forever.
        self.rx.close();
        while let Ok(cmd) = self.rx.try_recv() {
            refuse(*cmd, self.meta.id);
        }
    }

    fn shutdown(&mut self) {
        if let Some(c) = self.client.take() {
            c.disconnect(
                DisconnectKind::Restart,
                "the server restarts; your chat will resume in a moment".into(),
            );
        }
        self.ended = true;
    }

    fn next_deadline(&self) -> Option<Instant> {
        let mut next: Option<Instant> = self.grace_until;
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        if self.active() {
            if let Some(limit) = self.limit_at {
                consider(limit);
                for w in &self.limits.warnings_before_end {
                    if !self.warned.contains(w) {
                        consider(limit.checked_sub(*w).unwrap_or(limit));
                    }
                }
            }
            if self.client.is_some() {
                match self.idle_prompted_at {
                    None => consider(self.last_activity + self.limits.idle_prompt_after),
                    Some(at) => consider(self.idle_end_at(at)),
                }
            }
        }
        next
    }

    /// When a chat whose client was prompted at `prompted` ends as abandoned: after the
    /// prompt's answer time, and never before [`Limits::first_reply_wait`] after the join
    /// for a client who has not said or typed anything since.
    fn idle_end_at(&self, prompted: Instant) -> Instant {
        let after_prompt = prompted + self.limits.idle_end_after_prompt;
        match (self.client_spoke, self.joined_at) {
            (false, Some(joined)) => after_prompt.max(joined + self.limits.first_reply_wait),
            _ => after_prompt,
        }
    }

    async fn on_timer(&mut self) {
        let now = Instant::now();
        if self.grace_until.is_some_and(|g| now >= g) {
            self.grace_until = None;
            // A chat that was served (even one back in the queue after losing its
            // counsellor) was broken off, not abandoned in the queue.
            let reason = if self.meta.started_at.is_some() {
                EndReason::BrokenOff
            } else {
                EndReason::AbandonedInQueue
            };
            self.end(reason).await;
            return;
        }
        if !self.active() {
            return;
        }
        if let Some(limit) = self.limit_at {
            let due: Vec<Duration> = self
                .limits
                .warnings_before_end
                .iter()
                .filter(|w| {
                    !self.warned.contains(*w) && now >= limit.checked_sub(**w).unwrap_or(limit)
                })
                .copied()
                .collect();
            if !due.is_empty() {
                self.warned.extend(due);
                let left = limit.saturating_duration_since(now);
                let minutes_left = u32::try_from(left.as_secs().div_ceil(60)).unwrap_or(u32::MAX);
                self.emit(EventBody::TimeWarning { minutes_left }).await;
            }
            if now >= limit {
                let typing_recently = self
                    .last_client_typing
                    .is_some_and(|t| now.saturating_duration_since(t) <= self.limits.typing_recent);
                if typing_recently && !self.typing_grace_used {
                    // Never cut a student off mid-sentence: a short grace, once.
                    self.typing_grace_used = true;
                    self.limit_at = Some(now + self.limits.typing_grace);
                    return;
                }
                self.end(EndReason::TimeLimit).await;
                return;
            }
        }
        if self.client.is_some() {
            match self.idle_prompted_at {
                None if now >= self.last_activity + self.limits.idle_prompt_after => {
                    self.idle_prompted_at = Some(now);
                    self.emit(EventBody::IdlePrompt).await;
                }
                Some(at) if now >= self.idle_end_at(at) => {
                    self.end(EndReason::Abandoned).await;
                }
                _ => {}
            }
        }
    }

    async fn client_dropped(&mut self) {
        self.client = None;
        if self.ended {
            return;
        }
        self.grace_until = Some(Instant::now() + self.limits.reconnect_grace);
        {
            let mut st = self.desk.lock_state();
            st.set_waiting_connected(self.id(), false);
            st.set_reconnecting(self.id(), true);
        }
        if self.active() {
            self.emit(EventBody::ClientReconnecting).await;
        }
    }

    fn client_activity(&mut self) {
        self.last_activity = Instant::now();
        self.idle_prompted_at = None;
        self.client_spoke = true;
    }

    async fn handle(&mut self, cmd: ConvCmd) {
        match cmd {
            ConvCmd::Assigned { staff } => self.assigned(staff).await,
            ConvCmd::Queue(p) => {
                self.position = Some(p);
                if let Some(c) = &self.client {
                    let _ = c.push(ServerEvent::Queue {
                        conversation: p.conversation,
                        position: p.position,
                        estimated_wait_minutes: p.estimate_minutes,
                    });
                }
            }
            ConvCmd::Closing { next_opening } => {
                if self.meta.state == ConversationState::Waiting {
                    if let Some(c) = &self.client {
                        let _ = c.push(ServerEvent::ClosingNotice {
                            conversation: self.id(),
                            next_opening,
                        });
                    }
                    self.end(EndReason::ClosedAtClosingTime).await;
                }
            }
            ConvCmd::Send {
                who,
                id,
                text,
                reply,
            } => {
                let r = self.send(who, id, text).await;
                let _ = reply.send(r);
            }
            ConvCmd::Typing { who } => self.typing(who),
            ConvCmd::StaffTyping { staff, reply } => {
                let r = self.require_counsellor(&staff);
                if r.is_ok() {
                    self.typing(Party::Staff(staff));
                }
                let _ = reply.send(r);
            }
            ConvCmd::Leave { reply } => {
                let reason = if self.meta.state == ConversationState::Waiting
                    && self.meta.started_at.is_none()
                    && self.desk.lock_state().is_waiting(self.id())
                {
                    EndReason::AbandonedInQueue
                } else {
                    EndReason::ClientLeft
                };
                self.end(reason).await;
                let _ = reply.send(Ok(()));
            }
            ConvCmd::End { staff, reply } => {
                let r = self.require_counsellor(&staff);
                if r.is_ok() {
                    self.end(EndReason::CounsellorEnded).await;
                }
                let _ = reply.send(r);
            }
            ConvCmd::Extend {
                staff,
                reason,
                reply,
            } => {
                let _ = reply.send(self.extend(staff, reason).await);
            }
            ConvCmd::Transfer {
                staff,
                target,
                note,
                reply,
            } => {
                let _ = reply.send(self.transfer(staff, target, note).await);
            }
            ConvCmd::AnswerTransfer {
                staff,
                accept,
                reply,
            } => {
                let _ = reply.send(self.answer_transfer(staff, accept).await);
            }
            ConvCmd::OfferPartner {
                staff,
                partner,
                summary,
                reply,
            } => {
                let _ = reply.send(self.offer_partner(staff, partner, summary).await);
            }
            ConvCmd::PartnerConsent { consent, reply } => {
                let _ = reply.send(self.partner_consent(consent).await);
            }
            ConvCmd::Whisper { staff, text, reply } => {
                let _ = reply.send(self.whisper(staff, text).await);
            }
            ConvCmd::Observe { staff, reply } => {
                let _ = reply.send(self.observe(staff).await);
            }
            ConvCmd::TakeOver { staff, reply } => {
                let _ = reply.send(self.take_over(staff).await);
            }
            ConvCmd::Rejoin { staff, reply } => {
                let r = self.require_counsellor(&staff).map(|()| self.log.clone());
                let _ = reply.send(r);
            }
            ConvCmd::Resume {
                token,
                last_seq,
                outbox,
                reply,
            } => {
                let _ = reply.send(self.resume(&token, last_seq, outbox).await);
            }
            ConvCmd::TakeOverClient {
                token_hash,
                outbox,
                reply,
            } => {
                let _ = reply.send(self.take_over_client(token_hash, outbox).await);
            }
            ConvCmd::Requeued => self.requeued().await,
            ConvCmd::Shutdown => {}
        }
    }

    /// Back to waiting, at the head of the queue, after the counsellor was lost. The log
    /// stays; the next counsellor reads it when they join. The client is told in plain
    /// words (the page explains `counsellor_lost`) and then gets their place.
    async fn requeued(&mut self) {
        if self.ended || self.meta.state != ConversationState::Active {
            // Ended meanwhile: the desk must not keep it in the queue.
            self.desk.lock_state().remove_waiting(self.id());
            return;
        }
        let alias = self.counsellor.take().map(|c| c.alias).unwrap_or_default();
        self.meta.state = ConversationState::Waiting;
        self.meta.counsellor = None;
        self.pending_transfer = None;
        self.pending_partner = None;
        self.limit_at = None;
        self.warned.clear();
        self.typing_grace_used = false;
        self.idle_prompted_at = None;
        self.persist_meta().await;
        self.emit(EventBody::CounsellorLost { alias }).await;
        tracing::info!(conversation = %self.id(), "back at the head of the queue: the counsellor was lost");
    }

    // --- the log ---

    /// Appends to the store first, then shows it to whoever may see it.
    ///
    /// The store is the truth: if it reports a conflict, an earlier append committed even
    /// though its answer was lost (say the connection broke after COMMIT). The events it has
    /// beyond ours are adopted into the log (and shown), and the append goes after them. A
    /// message that turns out to be among them already is not stored twice: its stored
    /// event is returned, so the sender gets the original acknowledgement.
    async fn append(&mut self, body: EventBody) -> Result<LoggedEvent> {
        self.append_by(body, None).await
    }

    /// [`Self::append`] of what `author` sent: everyone who may see it gets it as a `log`
    /// event except `author`, whose acknowledgement carries its place in the log (one frame
    /// for the sender instead of an answer and an echo; see `docs/protocol.md`).
    async fn append_by(&mut self, body: EventBody, author: Option<&Party>) -> Result<LoggedEvent> {
        // The body moves into each attempt's event and back out of a refused one: no copy
        // of the text on the way to the store.
        let mut body = body;
        for _ in 0..3 {
            let event = LoggedEvent {
                conversation: self.id(),
                seq: self.log.len() as u64 + 1,
                at: self.shared.clock.now(),
                body,
            };
            let e = match self.shared.store.append(&event).await {
                Ok(()) => {
                    self.log.push(event.clone());
                    self.deliver_except(&event, author);
                    return Ok(event);
                }
                Err(e) => e,
            };
            body = event.body;
            if e.store_kind() != Some(StoreErrorKind::Conflict) {
                return Err(e);
            }
            let missing = self
                .shared
                .store
                .events_after(self.id(), self.log.len() as u64)
                .await?;
            if missing.is_empty() {
                return Err(e);
            }
            tracing::warn!(conversation = %self.id(), adopted = missing.len(), "adopted events the store had");
            let mut already = None;
            for m in missing {
                if let (
                    EventBody::Message {
                        from,
                        client_msg_id,
                        ..
                    },
                    EventBody::Message {
                        from: want_from,
                        client_msg_id: want_id,
                        ..
                    },
                ) = (&m.body, &body)
                {
                    if from == want_from && client_msg_id == want_id {
                        already = Some(m.clone());
                    }
                }
                self.log.push(m.clone());
                self.deliver(&m);
            }
            if let Some(stored) = already {
                return Ok(stored);
            }
        }
        Err(Error::store(
            StoreErrorKind::Conflict,
            "the log keeps changing under this conversation",
        ))
    }

    /// Like [`Self::append`] for events the engine makes itself; a store failure is logged
    /// (without content) and the event is not shown, so views never run ahead of the log.
    async fn emit(&mut self, body: EventBody) {
        if let Err(e) = self.append(body).await {
            tracing::warn!(conversation = %self.id(), error.code = e.code(), "could not log an event");
        }
    }

    fn deliver(&mut self, event: &LoggedEvent) {
        self.deliver_except(event, None);
    }

    /// [`Self::deliver`] to everyone but `author`.
    fn deliver_except(&mut self, event: &LoggedEvent, author: Option<&Party>) {
        if event.body.visible_to_client() && author != Some(&Party::Client) {
            if let Some(c) = &self.client {
                if c.push(ServerEvent::Log(event.clone())) != Pushed::Queued {
                    // Too slow or gone: the transport closes and the client resumes.
                    tracing::debug!(conversation = %self.id(), "client outbox full; disconnected");
                }
            }
        }
        let mut staff: BTreeSet<&StaffId> = self.observers.iter().collect();
        if let Some(c) = &self.counsellor {
            staff.insert(&c.id);
        }
        if let Some(Party::Staff(author)) = author {
            staff.remove(author);
        }
        for s in staff {
            self.shared.push_staff(s, ServerEvent::Log(event.clone()));
        }
    }

    fn staff_audience(&self) -> BTreeSet<StaffId> {
        let mut s = self.observers.clone();
        if let Some(c) = &self.counsellor {
            s.insert(c.id.clone());
        }
        s
    }

    // --- lifecycle ---

    async fn persist_meta(&self) {
        if let Err(e) = self.shared.store.put_conversation(&self.meta).await {
            tracing::warn!(conversation = %self.id(), error.code = e.code(), "could not store conversation state");
        }
    }

    async fn assigned(&mut self, staff: StaffIdentity) {
        if self.ended || self.meta.state != ConversationState::Waiting {
            // Raced with the end or already served: give the slot back.
            let now = Instant::now();
            self.desk.lock_state().finish(self.id(), now, false);
            self.shared.spawn_dispatch(self.desk.clone());
            return;
        }
        let now = Instant::now();
        self.meta.state = ConversationState::Active;
        self.meta.counsellor = Some(staff.id.clone());
        if self.meta.started_at.is_none() {
            // Served for the first time (a client put back after losing their counsellor
            // keeps the start of their chat, and is not counted as started twice).
            self.meta.started_at = Some(self.shared.clock.now());
            let waited = (self.shared.clock.now() - self.meta.arrived_at)
                .to_std()
                .unwrap_or_default();
            self.shared.observer.chat_started(&self.meta.desk, waited);
        }
        self.persist_meta().await;
        self.limit_at = Some(now + self.limits.chat_limit);
        self.last_activity = now;
        self.idle_prompted_at = None;
        self.joined_at = Some(now);
        self.client_spoke = false;
        self.position = None;
        let ends_at = self.shared.clock.now()
            + chrono::Duration::from_std(self.limits.chat_limit)
                .unwrap_or(chrono::Duration::zero());
        self.shared.push_staff(
            &staff.id,
            ServerEvent::ChatAssigned {
                conversation: self.id(),
                desk: self.meta.desk.clone(),
                profile: self.meta.profile.clone(),
                history: self.history.clone(),
                ends_at,
            },
        );
        let alias = staff.alias.clone();
        self.counsellor = Some(staff);
        self.emit(EventBody::Joined {
            role: Role::Counsellor,
            alias,
        })
        .await;
    }

    async fn end(&mut self, reason: EndReason) {
        if self.ended {
            return;
        }
        let was_active = self.meta.state == ConversationState::Active;
        self.emit(EventBody::Ended { reason }).await;
        self.ended = true;
        self.meta.state = ConversationState::Ended;
        self.meta.ended_at = Some(self.shared.clock.now());
        self.meta.end_reason = Some(reason);
        self.shared
            .observer
            .chat_ended(&self.meta.desk, reason, was_active);
        self.persist_meta().await;
        let owes = {
            let mut st = self.desk.lock_state();
            st.remove_waiting(self.id());
            st.finish(self.id(), Instant::now(), was_active)
        };
        if let (true, Some(staff)) = (was_active, owes) {
            self.shared.push_staff(
                &staff,
                ServerEvent::RegistrationDue {
                    conversation: self.id(),
                },
            );
        }
        self.shared.spawn_dispatch(self.desk.clone());
        tracing::info!(conversation = %self.id(), desk = %self.meta.desk, ?reason, "conversation ended");
    }

    // --- participants' actions ---

    fn require_counsellor(&self, staff: &StaffId) -> Result<()> {
        match &self.counsellor {
            Some(c) if &c.id == staff && !self.ended => Ok(()),
            _ => Err(Error::NotYours(self.id())),
        }
    }

    async fn send(&mut self, who: Party, id: ClientMsgId, text: String) -> Result<Ack> {
        // The key is made once: looking it up costs no copies of the ids.
        let key = (who, id);
        if let Some(ack) = self.acks.get(&key) {
            return Ok(*ack);
        }
        let (who, id) = (&key.0, &key.1);
        if id.0.is_empty() || id.0.len() > 64 {
            return Err(Error::Invalid("message id: 1 to 64 characters".into()));
        }
        let (from, author) = match who {
            Party::Client => (Role::Client, self.client_alias.clone()),
            Party::Staff(s) => {
                self.require_counsellor(s)?;
                let c = self.counsellor.as_ref().ok_or(Error::NotYours(self.id()))?;
                let role = if c.is_coordinator() {
                    Role::Coordinator
                } else {
                    Role::Counsellor
                };
                (role, c.alias.clone())
            }
        };
        if self.ended {
            return Err(Error::InvalidState(
                "the chat has ended; the message was not sent".into(),
            ));
        }
        if self.meta.state == ConversationState::Waiting {
            return Err(Error::InvalidState(
                "you are still waiting for a counsellor; the message was not sent".into(),
            ));
        }
        let text = match text.trim() {
            trimmed if trimmed.len() == text.len() => text,
            trimmed => trimmed.to_owned(),
        };
        if text.is_empty() {
            return Err(Error::Invalid("the message is empty".into()));
        }
        let max = self.limits.max_message_chars;
        if text.chars().count() > max {
            return Err(Error::Invalid(format!(
                "the message is longer than {max} characters; split it up"
            )));
        }
        let event = self
            .append_by(
                EventBody::Message {
                    from,
                    author,
                    text,
                    client_msg_id: id.clone(),
                },
                Some(who),
            )
            .await?;
        let ack = Ack {
            conversation: self.id(),
            seq: event.seq,
            at: event.at,
        };
        self.shared.observer.message_stored(&self.meta.desk, from);
        match who {
            Party::Client => self.client_activity(),
            Party::Staff(_) => self.last_activity = Instant::now(),
        }
        self.acks.insert(key, ack);
        Ok(ack)
    }

    fn typing(&mut self, who: Party) {
        if !self.active() {
            return;
        }
        let event = match &who {
            Party::Client => {
                self.last_client_typing = Some(Instant::now());
                self.client_activity();
                ServerEvent::Typing {
                    conversation: self.id(),
                    role: Role::Client,
                }
            }
            Party::Staff(s) => {
                if self.require_counsellor(s).is_err() {
                    return;
                }
                self.last_activity = Instant::now();
                ServerEvent::Typing {
                    conversation: self.id(),
                    role: Role::Counsellor,
                }
            }
        };
        match who {
            Party::Client => {
                for s in self.staff_audience() {
                    self.shared.push_staff(&s, event.clone());
                }
            }
            Party::Staff(_) => {
                if let Some(c) = &self.client {
                    let _ = c.push(event);
                }
            }
        }
    }

    async fn extend(&mut self, staff: StaffId, reason: String) -> Result<()> {
        self.require_counsellor(&staff)?;
        if self.extended {
            return Err(Error::InvalidState(
                "the time limit can be extended only once".into(),
            ));
        }
        let reason = reason.trim().to_owned();
        if reason.is_empty() {
            return Err(Error::Invalid(
                "extension: give a reason (it is logged for staff)".into(),
            ));
        }
        let minutes = u32::try_from(self.limits.extension.as_secs() / 60).unwrap_or(u32::MAX);
        self.append(EventBody::ExtensionReason { by: staff, reason })
            .await?;
        self.extended = true;
        self.limit_at = self.limit_at.map(|l| l + self.limits.extension);
        self.warned.clear();
        self.emit(EventBody::Extended { minutes }).await;
        Ok(())
    }

    async fn transfer(
        &mut self,
        staff: StaffId,
        target: TransferTarget,
        note: String,
    ) -> Result<StaffId> {
        self.require_counsellor(&staff)?;
        if self.pending_transfer.is_some() {
            return Err(Error::InvalidState("a transfer is already offered".into()));
        }
        let to = {
            let cfg = self.desk.config();
            let rules = self.desk.rules(&cfg);
            let st = self.desk.lock_state();
            let wall = self.shared.clock.now();
            match &target {
                TransferTarget::Colleague { staff: to } => {
                    let p = st
                        .counsellors
                        .get(to)
                        .filter(|p| p.connected)
                        .ok_or_else(|| {
                            Error::InvalidState(format!("{to} is not online at this desk"))
                        })?;
                    if !p.identity.is_coordinator() && p.load >= p.identity.capacity {
                        return Err(Error::OverCapacity {
                            staff: to.clone(),
                            capacity: p.identity.capacity,
                        });
                    }
                    to.clone()
                }
                TransferTarget::Discipline { discipline } => st
                    .free_of_discipline(*discipline, &staff, wall, &rules)
                    .ok_or_else(|| {
                        Error::InvalidState(format!("no free {discipline:?} counsellor online now"))
                    })?,
                TransferTarget::Coordinator => st
                    .coordinator_online(&staff)
                    .ok_or_else(|| Error::InvalidState("no coordinator online now".into()))?,
            }
        };
        if to == staff {
            return Err(Error::InvalidState(
                "you cannot transfer a chat to yourself".into(),
            ));
        }
        let note = note.trim().to_owned();
        self.append(EventBody::TransferOffered {
            from: staff.clone(),
            to: TransferTarget::Colleague { staff: to.clone() },
            note: note.clone(),
        })
        .await?;
        self.pending_transfer = Some(PendingTransfer {
            from: staff.clone(),
            to: to.clone(),
        });
        self.shared.push_staff(
            &to,
            ServerEvent::TransferRequested {
                conversation: self.id(),
                from: staff,
                note,
            },
        );
        Ok(to)
    }

    async fn answer_transfer(&mut self, staff: StaffIdentity, accept: bool) -> Result<()> {
        let pending = match &self.pending_transfer {
            Some(p) if p.to == staff.id && !self.ended => p.clone(),
            _ => return Err(Error::NotYours(self.id())),
        };
        if !accept {
            self.pending_transfer = None;
            self.append(EventBody::TransferDeclined {
                by: staff.id.clone(),
            })
            .await?;
            return Ok(());
        }
        self.pending_transfer = None;
        let moved = self
            .desk
            .lock_state()
            .move_chat(self.id(), &staff.id, staff.is_coordinator());
        if let Err(e) = moved {
            // They cannot take it after all: the offer is off, the counsellor can try another.
            self.append(EventBody::TransferDeclined {
                by: staff.id.clone(),
            })
            .await?;
            return Err(e);
        }
        self.switch_counsellor(
            staff,
            EventBody::TransferAccepted {
                from: pending.from,
                to: pending.to,
            },
        )
        .await;
        Ok(())
    }

    async fn switch_counsellor(&mut self, to: StaffIdentity, why: EventBody) {
        // The one handing over still sees the hand-over and their own leaving, then no more.
        self.emit(why).await;
        if let Some(old) = self.counsellor.clone() {
            self.emit(EventBody::Left {
                role: Role::Counsellor,
                alias: old.alias.clone(),
            })
            .await;
            self.observers.remove(&old.id);
        }
        self.counsellor = None;
        self.meta.counsellor = Some(to.id.clone());
        self.persist_meta().await;
        let role = if to.is_coordinator() {
            Role::Coordinator
        } else {
            Role::Counsellor
        };
        let ends_at = self.limit_at.map(|l| {
            self.shared.clock.now()
                + chrono::Duration::from_std(l.saturating_duration_since(Instant::now()))
                    .unwrap_or(chrono::Duration::zero())
        });
        self.shared.push_staff(
            &to.id,
            ServerEvent::ChatAssigned {
                conversation: self.id(),
                desk: self.meta.desk.clone(),
                profile: self.meta.profile.clone(),
                history: self.history.clone(),
                ends_at: ends_at.unwrap_or_else(|| self.shared.clock.now()),
            },
        );
        self.observers.remove(&to.id);
        let alias = to.alias.clone();
        self.counsellor = Some(to);
        self.emit(EventBody::Joined { role, alias }).await;
    }

    async fn offer_partner(
        &mut self,
        staff: StaffId,
        partner: String,
        summary: String,
    ) -> Result<()> {
        self.require_counsellor(&staff)?;
        let line = self
            .shared
            .partners
            .get(&partner)
            .cloned()
            .ok_or_else(|| Error::Invalid(format!("there is no partner line `{partner}`")))?;
        if summary.trim().is_empty() {
            return Err(Error::Invalid(
                "partner transfer: write the summary the partner will receive".into(),
            ));
        }
        let summary = summary.trim().to_owned();
        self.append(EventBody::PartnerOffered {
            partner: partner.clone(),
            partner_name: line.name().to_owned(),
            summary: summary.clone(),
        })
        .await?;
        self.pending_partner = Some((partner, summary));
        Ok(())
    }

    async fn partner_consent(&mut self, consent: bool) -> Result<()> {
        let (partner, summary) = self
            .pending_partner
            .take()
            .ok_or_else(|| Error::InvalidState("no transfer was proposed".into()))?;
        self.append(EventBody::PartnerConsent {
            partner: partner.clone(),
            consent,
        })
        .await?;
        if !consent {
            return Ok(());
        }
        let line = self
            .shared
            .partners
            .get(&partner)
            .cloned()
            .ok_or_else(|| Error::Invalid(format!("there is no partner line `{partner}`")))?;
        let ticket = match line
            .hand_off(Handoff {
                conversation: self.id(),
                summary,
            })
            .await
        {
            Ok(t) => t,
            Err(e) => {
                // Both sides hear it; the chat goes on here.
                let reason = e.to_string();
                self.emit(EventBody::PartnerFailed { partner, reason })
                    .await;
                return Err(e);
            }
        };
        self.append(EventBody::TransferredOut {
            partner,
            continue_at: ticket.continue_at,
        })
        .await?;
        self.end(EndReason::TransferredOut).await;
        Ok(())
    }

    async fn whisper(&mut self, staff: StaffIdentity, text: String) -> Result<Ack> {
        let is_counsellor = self.counsellor.as_ref().is_some_and(|c| c.id == staff.id);
        if !(is_counsellor || self.observers.contains(&staff.id)) || self.ended {
            return Err(Error::NotYours(self.id()));
        }
        let text = text.trim().to_owned();
        if text.is_empty() {
            return Err(Error::Invalid("the whisper is empty".into()));
        }
        if is_counsellor && self.observers.is_empty() {
            // Asking for help: bring a coordinator in as observer.
            let coordinator = self.desk.lock_state().coordinator_online(&staff.id);
            let Some(coordinator) = coordinator else {
                return Err(Error::InvalidState("no coordinator online now".into()));
            };
            // Being called in is reading the chat: through the audited read, and the
            // coordinator gets the log so far to understand the question.
            let read = TranscriptRead {
                conversation: self.id(),
                reader: coordinator.clone(),
                at: self.shared.clock.now(),
                purpose: ReadPurpose::CalledIn.describe(Some(&format!("by {}", staff.id))),
            };
            let backlog = self.shared.store.read_transcript(&read).await?;
            for event in backlog {
                self.shared
                    .push_staff(&coordinator, ServerEvent::Log(event));
            }
            self.observers.insert(coordinator);
        }
        let role = if staff.is_coordinator() {
            Role::Coordinator
        } else {
            Role::Counsellor
        };
        let event = self
            .append(EventBody::Whisper {
                from: staff.id,
                role,
                text,
            })
            .await?;
        Ok(Ack {
            conversation: self.id(),
            seq: event.seq,
            at: event.at,
        })
    }

    async fn observe(&mut self, staff: StaffIdentity) -> Result<Vec<LoggedEvent>> {
        let facts = ChatFacts {
            desk: self.meta.desk.clone(),
            counsellor: self.meta.counsellor.clone(),
            trajectory: None,
        };
        may_read(&staff, &facts, ReadPurpose::Observation)?;
        if self.ended {
            return Err(Error::UnknownConversation(self.id()));
        }
        // Watching a chat is reading its transcript: it goes through the audited read.
        let read = TranscriptRead {
            conversation: self.id(),
            reader: staff.id.clone(),
            at: self.shared.clock.now(),
            purpose: ReadPurpose::Observation.describe(None),
        };
        let events = self.shared.store.read_transcript(&read).await?;
        self.observers.insert(staff.id);
        Ok(events)
    }

    async fn take_over(&mut self, staff: StaffIdentity) -> Result<()> {
        if !staff.is_coordinator() || !staff.serves(&self.meta.desk) {
            return Err(Error::Forbidden(
                "only a coordinator of this desk can take over".into(),
            ));
        }
        if !self.active() {
            return Err(Error::InvalidState(
                "only a running chat can be taken over".into(),
            ));
        }
        self.desk
            .lock_state()
            .move_chat(self.id(), &staff.id, true)?;
        let from = self.counsellor.as_ref().map(|c| c.id.clone());
        self.pending_transfer = None;
        self.switch_counsellor(staff.clone(), EventBody::TakenOver { by: staff.id, from })
            .await;
        Ok(())
    }

    async fn resume(&mut self, token: &str, last_seq: u64, outbox: Outbox) -> Result<Resumed> {
        if !constant_time_eq(
            hash_secret(token).as_bytes(),
            self.meta.resume_token_hash.as_bytes(),
        ) {
            return Err(Error::ResumeRefused(
                "the resume token does not match".into(),
            ));
        }
        if self.ended {
            return Err(Error::ResumeRefused("the chat has ended".into()));
        }
        Ok(self.attach_client(last_seq, outbox).await)
    }

    /// An appointment's client on a new connection, by their link: a new resume token.
    async fn take_over_client(&mut self, token_hash: String, outbox: Outbox) -> Result<Resumed> {
        if self.ended {
            return Err(Error::InvalidState("this session has ended".into()));
        }
        self.meta.resume_token_hash = token_hash;
        self.persist_meta().await;
        Ok(self.attach_client(0, outbox).await)
    }

    /// The client's connection is now `outbox` (an older one is told and closed); what it
    /// missed after `last_seq`.
    async fn attach_client(&mut self, last_seq: u64, outbox: Outbox) -> Resumed {
        if let Some(old) = self.client.replace(outbox) {
            // A newer connection wins; the old one is told and closed.
            old.disconnect(
                DisconnectKind::Replaced,
                "this chat continues in another window".into(),
            );
        }
        let missed: Vec<LoggedEvent> = self
            .log
            .iter()
            .filter(|e| e.seq > last_seq && e.body.visible_to_client())
            .cloned()
            .collect();
        let was_away = self.grace_until.take().is_some();
        {
            let mut st = self.desk.lock_state();
            st.set_waiting_connected(self.id(), true);
            st.set_reconnecting(self.id(), false);
        }
        self.client_activity();
        if was_away && self.active() {
            self.emit(EventBody::ClientResumed).await;
        }
        if self.meta.state == ConversationState::Waiting {
            self.shared.spawn_dispatch(self.desk.clone());
        }
        Resumed {
            missed,
            position: self.position,
        }
    }
}

fn default_alias(profile: &ClientProfile) -> String {
    match profile.client_type {
        Some(crate::registration::ClientType::Parent) => "Ouder".into(),
        Some(crate::registration::ClientType::Student) => "Leerling".into(),
        _ => "Bezoeker".into(),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

async fn closed_opt(client: Option<Outbox>) {
    match client {
        Some(c) => c.closed().await,
        None => std::future::pending().await,
    }
}

fn refuse(cmd: ConvCmd, id: ConversationId) {
    let gone = || Error::UnknownConversation(id);
    match cmd {
        ConvCmd::Send { reply, .. } => drop(reply.send(Err(gone()))),
        ConvCmd::Whisper { reply, .. } => drop(reply.send(Err(gone()))),
        ConvCmd::Leave { reply }
        | ConvCmd::End { reply, .. }
        | ConvCmd::Extend { reply, .. }
        | ConvCmd::AnswerTransfer { reply, .. }
        | ConvCmd::OfferPartner { reply, .. }
        | ConvCmd::PartnerConsent { reply, .. }
        | ConvCmd::StaffTyping { reply, .. }
        | ConvCmd::TakeOver { reply, .. } => drop(reply.send(Err(gone()))),
        ConvCmd::Transfer { reply, .. } => drop(reply.send(Err(gone()))),
        ConvCmd::Observe { reply, .. } | ConvCmd::Rejoin { reply, .. } => {
            drop(reply.send(Err(gone())))
        }
        ConvCmd::Resume { reply, .. } => {
            drop(reply.send(Err(Error::ResumeRefused("the chat has ended".into()))))
        }
        ConvCmd::TakeOverClient { reply, .. } => {
            drop(reply.send(Err(Error::InvalidState("this session has ended".into()))))
        }
        ConvCmd::Assigned { .. }
        | ConvCmd::Queue(_)
        | ConvCmd::Closing { .. }
        | ConvCmd::Typing { .. }
        | ConvCmd::Requeued
        | ConvCmd::Shutdown => {}
    }
}
