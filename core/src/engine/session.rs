//! What a transport holds for one connected participant: a cloneable handle for commands
//! and an [`Events`] stream. Authorisation is checked on every command, not only at
//! connect: a visitor's handle reaches only its own conversation; a staff member acts only
//! in chats assigned to or observed by them, and coordinator actions need the role.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use super::conversation::{ConvCmd, ConvTx, Party};
use super::{board, Events, Shared};
use crate::account::{Account, AccountChange, AccountView, StaffIdentity};
use crate::auth::hash_password_async;
use crate::calendar::Calendar;
use crate::error::{Error, Result};
use crate::event::{Ack, DeskBoard, LoggedEvent, ServerEvent, TransferTarget};
use crate::flags::{Flag, FlagKind, FlagStatus};
use crate::ids::{ClientMsgId, ConversationId, DeskId, FlagId, StaffId};
use crate::pseudonym::hash_secret;
use crate::registration::{Rating, Registration, RegistrationForm};
use crate::review::{
    may_read, AuditEntry, AuditRequest, ChatFacts, IntervisionExport, ReadAudit, ReadPurpose,
    ScanPick, ScanRequest,
};
use crate::statistics::{ReportData, ReportRequest};
use crate::store::{ConversationFilter, ConversationState, ReadAuditFilter, TranscriptRead};

/// Sends a command with a reply channel and waits for the answer.
pub(crate) async fn ask<T>(
    tx: &ConvTx,
    id: ConversationId,
    make: impl FnOnce(oneshot::Sender<Result<T>>) -> ConvCmd,
) -> Result<T> {
    let (reply, answer) = oneshot::channel();
    tx.send(Box::new(make(reply)))
        .await
        .map_err(|_| Error::UnknownConversation(id))?;
    answer.await.map_err(|_| Error::UnknownConversation(id))?
}

/// A visitor's connection to their conversation.
#[derive(Debug)]
pub struct VisitorSession {
    /// The conversation.
    pub conversation: ConversationId,
    /// The secret to resume with after a dropped connection (keep it in the page only).
    pub resume_token: String,
    /// A newly made visitor token for the browser to keep (anonymous desks, first visit).
    pub visitor_token: Option<String>,
    /// Commands.
    pub handle: VisitorHandle,
    /// What the engine pushes; dropping it means the connection dropped.
    pub events: Events,
}

/// The visitor's commands. Cloneable; reaches only its own conversation.
#[derive(Clone)]
pub struct VisitorHandle {
    shared: Arc<Shared>,
    conversation: ConversationId,
    tx: ConvTx,
    resume_token: String,
}

impl std::fmt::Debug for VisitorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VisitorHandle")
            .field("conversation", &self.conversation)
            .finish_non_exhaustive()
    }
}

impl VisitorHandle {
    pub(crate) fn new(
        shared: Arc<Shared>,
        conversation: ConversationId,
        tx: ConvTx,
        resume_token: String,
    ) -> Self {
        Self {
            shared,
            conversation,
            tx,
            resume_token,
        }
    }

    /// The conversation.
    pub fn conversation(&self) -> ConversationId {
        self.conversation
    }

    /// Sends a message; the acknowledgement means it is stored. A retry with the same id
    /// gets the same acknowledgement and stores nothing twice.
    pub async fn send(&self, id: ClientMsgId, text: impl Into<String>) -> Result<Ack> {
        let text = text.into();
        let sent = ask(&self.tx, self.conversation, |reply| ConvCmd::Send {
            who: Party::Client,
            id,
            text,
            reply,
        })
        .await;
        after_the_end(&self.shared, self.conversation, None, sent).await
    }

    /// The visitor is typing (shown to the counsellor, not logged).
    pub async fn typing(&self) {
        let _ = self
            .tx
            .try_send(Box::new(ConvCmd::Typing { who: Party::Client }));
    }

    /// Leaves the queue or the chat.
    pub async fn leave(&self) -> Result<()> {
        ask(&self.tx, self.conversation, |reply| ConvCmd::Leave {
            reply,
        })
        .await
    }

    /// Answers the counsellor's proposal to continue with a partner organisation.
    pub async fn answer_partner(&self, consent: bool) -> Result<()> {
        ask(&self.tx, self.conversation, |reply| {
            ConvCmd::PartnerConsent { consent, reply }
        })
        .await
    }

    /// Rates the ended chat, 1 to 5 stars, with an optional comment. Once per chat.
    pub async fn rate(&self, stars: u8, comment: Option<String>) -> Result<()> {
        rate(
            &self.shared,
            self.conversation,
            &self.resume_token,
            stars,
            comment,
        )
        .await
    }
}

/// A message to a chat that is no longer live: if the store has it as ended, say so to
/// whoever was in it (`invalid_state`: "the chat has ended") rather than "there is no such
/// chat"; while the server stops, say that (`shutting_down`: resume in a moment). `staff`
/// is the sender when staff; a chat they did not hold stays unknown to them.
async fn after_the_end<T>(
    shared: &Shared,
    conversation: ConversationId,
    staff: Option<&StaffId>,
    result: Result<T>,
) -> Result<T> {
    match result {
        // The server stops: the chat's task is gone but the chat is not over.
        Err(Error::UnknownConversation(_)) if shared.stopping() => Err(Error::ShuttingDown),
        Err(Error::UnknownConversation(id)) => match stored_meta(shared, id).await {
            Ok(meta)
                if meta.state == ConversationState::Ended
                    && staff.is_none_or(|s| meta.counsellor.as_ref() == Some(s)) =>
            {
                Err(Error::InvalidState(
                    "the chat has ended; the message was not sent".into(),
                ))
            }
            _ => Err(Error::UnknownConversation(conversation)),
        },
        other => other,
    }
}

/// A conversation's stored metadata, or [`Error::UnknownConversation`].
pub(super) async fn stored_meta(
    shared: &Shared,
    conversation: ConversationId,
) -> Result<crate::store::ConversationMeta> {
    shared
        .store
        .conversation(conversation)
        .await?
        .ok_or(Error::UnknownConversation(conversation))
}

/// Rating, shared by the handle and [`super::Engine::rate`].
pub(crate) async fn rate(
    shared: &Shared,
    conversation: ConversationId,
    resume_token: &str,
    stars: u8,
    comment: Option<String>,
) -> Result<()> {
    let store = &shared.store;
    let meta = stored_meta(shared, conversation).await?;
    if meta.resume_token_hash != hash_secret(resume_token) {
        return Err(Error::NotYours(conversation));
    }
    if meta.state != ConversationState::Ended || meta.started_at.is_none() {
        return Err(Error::InvalidState(
            "a chat can be rated after it has ended".into(),
        ));
    }
    let rating = Rating {
        conversation,
        desk: meta.desk,
        stars,
        comment: comment
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty()),
        rated_at: shared.clock.now(),
    };
    rating.validate()?;
    store
        .save_rating(&rating)
        .await
        .map_err(|e| match e.store_kind() {
            Some(crate::error::StoreErrorKind::Conflict) => {
                Error::InvalidState("this chat was already rated; thank you".into())
            }
            _ => e,
        })
}

/// A staff member's connection.
#[derive(Debug)]
pub struct StaffSession {
    /// Who they are.
    pub identity: StaffIdentity,
    /// Commands.
    pub handle: StaffHandle,
    /// What the engine pushes.
    pub events: Events,
}

/// A staff member's commands. Cloneable.
#[derive(Clone)]
pub struct StaffHandle {
    pub(super) shared: Arc<Shared>,
    pub(super) identity: StaffIdentity,
}

impl std::fmt::Debug for StaffHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffHandle")
            .field("staff", &self.identity.id)
            .finish_non_exhaustive()
    }
}

impl StaffHandle {
    pub(crate) fn new(shared: Arc<Shared>, identity: StaffIdentity) -> Self {
        Self { shared, identity }
    }

    /// Who this is.
    pub fn identity(&self) -> &StaffIdentity {
        &self.identity
    }

    fn id(&self) -> StaffId {
        self.identity.id.clone()
    }

    fn conv(&self, id: ConversationId) -> Result<ConvTx> {
        self.shared
            .conv(id)
            .map(|h| h.tx)
            .ok_or(Error::UnknownConversation(id))
    }

    /// In the team of `desk`; a desk of another team is refused, also for what would be
    /// a no-op there (nothing of another centre's desk answers to them).
    fn require_team(&self, desk: &DeskId) -> Result<()> {
        if self.identity.serves(desk) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "you are not in the team of desk `{desk}`"
            )))
        }
    }

    pub(super) fn require_coordinator(&self, desk: &DeskId) -> Result<()> {
        if self.identity.is_coordinator() && self.identity.serves(desk) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "only a coordinator of desk `{desk}` can do this"
            )))
        }
    }

    /// Goes online at a desk of their team, with the end of their shift if planned.
    pub async fn go_online(
        &self,
        desk: &DeskId,
        shift_ends_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let d = self.shared.desk(desk)?;
        self.require_team(desk)?;
        // The last shift of the opening (it ends when the desk closes, or later) keeps taking
        // chats to the end: see `Presence::last_shift`. The opening is the one running now,
        // or, before it, the next.
        let last_shift = shift_ends_at.is_some_and(|end| {
            let calendar = d.config().calendar;
            let now = self.shared.clock.now();
            let closes = calendar.closes_at(now).or_else(|| {
                calendar
                    .next_opening(now)
                    .and_then(|opens| calendar.closes_at(opens))
            });
            closes.is_some_and(|closes| end >= closes)
        });
        d.lock_state().online(
            self.identity.clone(),
            shift_ends_at,
            last_shift,
            tokio::time::Instant::now(),
        );
        tracing::info!(staff = %self.identity.id, desk = %desk, "staff online");
        self.shared.dispatch(&d).await;
        Ok(())
    }

    /// Available for new chats, or paused.
    pub async fn set_available(&self, desk: &DeskId, available: bool) -> Result<()> {
        let d = self.shared.desk(desk)?;
        self.require_team(desk)?;
        d.lock_state().set_available(&self.identity.id, available)?;
        self.shared.dispatch(&d).await;
        Ok(())
    }

    /// Leaves the desk (running chats continue until they end).
    pub async fn go_offline(&self, desk: &DeskId) -> Result<()> {
        let d = self.shared.desk(desk)?;
        self.require_team(desk)?;
        d.lock_state().offline(&self.identity.id);
        self.shared.dispatch(&d).await;
        Ok(())
    }

    /// Sends a message in a chat of theirs.
    pub async fn send(
        &self,
        conversation: ConversationId,
        id: ClientMsgId,
        text: impl Into<String>,
    ) -> Result<Ack> {
        let text = text.into();
        let who = Party::Staff(self.id());
        let sent = match self.conv(conversation) {
            Ok(tx) => {
                ask(&tx, conversation, |reply| ConvCmd::Send {
                    who,
                    id,
                    text,
                    reply,
                })
                .await
            }
            Err(e) => Err(e),
        };
        after_the_end(&self.shared, conversation, Some(&self.identity.id), sent).await
    }

    /// Typing in a chat of theirs; [`Error::NotYours`] in anyone else's (the client is
    /// shown nothing).
    pub async fn typing(&self, conversation: ConversationId) -> Result<()> {
        let staff = self.id();
        ask(&self.conv(conversation)?, conversation, |reply| {
            ConvCmd::StaffTyping { staff, reply }
        })
        .await
    }

    /// Ends a chat of theirs.
    pub async fn end(&self, conversation: ConversationId) -> Result<()> {
        let staff = self.id();
        ask(&self.conv(conversation)?, conversation, |reply| {
            ConvCmd::End { staff, reply }
        })
        .await
    }

    /// Extends the time limit once, with a reason that is logged for staff.
    pub async fn extend(
        &self,
        conversation: ConversationId,
        reason: impl Into<String>,
    ) -> Result<()> {
        let (staff, reason) = (self.id(), reason.into());
        ask(&self.conv(conversation)?, conversation, |reply| {
            ConvCmd::Extend {
                staff,
                reason,
                reply,
            }
        })
        .await
    }

    /// Offers the chat to a colleague, a discipline or a coordinator, with a handover note
    /// only staff see. Returns who was asked.
    pub async fn transfer(
        &self,
        conversation: ConversationId,
        target: TransferTarget,
        note: impl Into<String>,
    ) -> Result<StaffId> {
        let (staff, note) = (self.id(), note.into());
        ask(&self.conv(conversation)?, conversation, |reply| {
            ConvCmd::Transfer {
                staff,
                target,
                note,
                reply,
            }
        })
        .await
    }

    /// Accepts or declines a chat offered to them.
    pub async fn answer_transfer(&self, conversation: ConversationId, accept: bool) -> Result<()> {
        let staff = self.identity.clone();
        ask(&self.conv(conversation)?, conversation, |reply| {
            ConvCmd::AnswerTransfer {
                staff,
                accept,
                reply,
            }
        })
        .await
    }

    /// Proposes to the client to continue with a partner organisation's line.
    pub async fn offer_partner(
        &self,
        conversation: ConversationId,
        partner: &str,
        summary: impl Into<String>,
    ) -> Result<()> {
        let (staff, partner, summary) = (self.id(), partner.to_owned(), summary.into());
        ask(&self.conv(conversation)?, conversation, |reply| {
            ConvCmd::OfferPartner {
                staff,
                partner,
                summary,
                reply,
            }
        })
        .await
    }

    /// A staff-only message in a chat: a coordinator to the counsellor, or the counsellor
    /// asking a coordinator for help. Never reaches the client.
    pub async fn whisper(
        &self,
        conversation: ConversationId,
        text: impl Into<String>,
    ) -> Result<Ack> {
        let (staff, text) = (self.identity.clone(), text.into());
        ask(&self.conv(conversation)?, conversation, |reply| {
            ConvCmd::Whisper { staff, text, reply }
        })
        .await
    }

    /// After reconnecting: the log of a chat of theirs, to catch up.
    pub async fn rejoin(&self, conversation: ConversationId) -> Result<Vec<LoggedEvent>> {
        let staff = self.id();
        ask(&self.conv(conversation)?, conversation, |reply| {
            ConvCmd::Rejoin { staff, reply }
        })
        .await
    }

    /// Registers a finished chat (topics, results, …). Required before the next chat where
    /// the desk says so. A suspected fake call flags the visitor's pseudonym for review.
    /// A coordinator of the desk may fill in a registration another staff member owes (a
    /// counsellor who left without it); it is recorded under the counsellor who served.
    pub async fn register(
        &self,
        conversation: ConversationId,
        form: RegistrationForm,
    ) -> Result<()> {
        form.validate()?;
        let store = &self.shared.store;
        let meta = stored_meta(&self.shared, conversation).await?;
        let desk = self.shared.desk(&meta.desk)?;
        let owner = desk.lock_state().due_owner(conversation);
        let served_by = match owner {
            Some(owner) if owner == self.identity.id => owner,
            Some(owner) if self.require_coordinator(&meta.desk).is_ok() => owner,
            _ => return Err(self.not_due(&meta)),
        };
        let now = self.shared.clock.now();
        let registration = Registration {
            conversation,
            desk: meta.desk.clone(),
            counsellor: served_by.clone(),
            client_type: form.client_type,
            age: form.age,
            gender: form.gender,
            topics: form.topics,
            results: form.results,
            found_via: form.found_via,
            fake_call: form.fake_call,
            registered_at: now,
        };
        store.save_registration(&registration).await?;
        if let (true, Some(pseudonym)) = (form.fake_call, meta.pseudonym) {
            let ttl = desk.config().flags.flag_ttl_days;
            store
                .put_flag(&Flag {
                    id: FlagId::random(),
                    pseudonym,
                    desk: meta.desk.clone(),
                    kind: FlagKind::SuspectedFakeCall,
                    status: FlagStatus::Open,
                    conversation: Some(conversation),
                    raised_by: Some(served_by.clone()),
                    reviewed_by: None,
                    created_at: now,
                    expires_at: now + chrono::Duration::days(i64::from(ttl)),
                })
                .await?;
        }
        desk.lock_state().clear_due(conversation);
        self.shared.dispatch(&desk).await;
        Ok(())
    }

    /// Why a registration cannot be made now, in words that say what to do.
    fn not_due(&self, meta: &crate::store::ConversationMeta) -> Error {
        let own = meta.counsellor.as_ref() == Some(&self.identity.id);
        match meta.state {
            ConversationState::Waiting | ConversationState::Active if own => Error::InvalidState(
                "the chat is still going on: register it after it has ended".into(),
            ),
            ConversationState::Ended if own => Error::InvalidState(
                "this chat was already registered (or a coordinator released it)".into(),
            ),
            _ => Error::NotYours(meta.id),
        }
    }

    /// A coordinator releases a registration another staff member owes and cannot make
    /// (they left, or the chat was too short to say anything): the counsellor may take
    /// chats again, and the chat stays unregistered in the statistics.
    pub async fn release_registration(&self, conversation: ConversationId) -> Result<()> {
        let meta = stored_meta(&self.shared, conversation).await?;
        self.require_coordinator(&meta.desk)?;
        let desk = self.shared.desk(&meta.desk)?;
        let released = desk.lock_state().clear_due(conversation);
        let Some(owner) = released else {
            return Err(Error::InvalidState(
                "no registration is due for this chat (it was made or released already)".into(),
            ));
        };
        tracing::info!(staff = %self.identity.id, owner = %owner, conversation = %conversation, "registration released");
        self.shared.dispatch(&desk).await;
        Ok(())
    }

    // --- coordinators ---

    /// The live board of a desk.
    pub fn board(&self, desk: &DeskId) -> Result<DeskBoard> {
        self.require_coordinator(desk)?;
        let d = self.shared.desk(desk)?;
        Ok(board(&self.shared, &d))
    }

    /// Starts observing a chat: returns its log so far (an audited read), then its events
    /// arrive live.
    pub async fn observe(&self, conversation: ConversationId) -> Result<Vec<LoggedEvent>> {
        let staff = self.identity.clone();
        ask(&self.conv(conversation)?, conversation, |reply| {
            ConvCmd::Observe { staff, reply }
        })
        .await
    }

    /// Takes a running chat over from its counsellor.
    pub async fn take_over(&self, conversation: ConversationId) -> Result<()> {
        let staff = self.identity.clone();
        ask(&self.conv(conversation)?, conversation, |reply| {
            ConvCmd::TakeOver { staff, reply }
        })
        .await
    }

    /// Flags waiting for review at a desk.
    pub async fn flags_to_review(&self, desk: &DeskId) -> Result<Vec<Flag>> {
        self.require_coordinator(desk)?;
        self.shared
            .store
            .flags_to_review(Some(desk), self.shared.clock.now())
            .await
    }

    /// Confirms or dismisses a flag.
    pub async fn review_flag(&self, flag: FlagId, confirm: bool) -> Result<Flag> {
        let store = &self.shared.store;
        let mut f = store
            .flag(flag)
            .await?
            .ok_or_else(|| Error::Invalid(format!("there is no flag {flag}")))?;
        self.require_coordinator(&f.desk)?;
        f.status = if confirm {
            FlagStatus::Confirmed
        } else {
            FlagStatus::Dismissed
        };
        f.reviewed_by = Some(self.id());
        store.put_flag(&f).await?;
        Ok(f)
    }

    /// Reads a transcript for `purpose` (a chat scan, a flag's review, feedback…), if the
    /// one rule of [`crate::review`] lets them; the read is audited with its purpose and
    /// `note`.
    pub async fn read_transcript(
        &self,
        conversation: ConversationId,
        purpose: ReadPurpose,
        note: Option<&str>,
    ) -> Result<Vec<LoggedEvent>> {
        let meta = stored_meta(&self.shared, conversation).await?;
        let facts = ChatFacts {
            desk: meta.desk.clone(),
            counsellor: meta.counsellor.clone(),
            trajectory: None,
        };
        may_read(&self.identity, &facts, purpose)?;
        let read = TranscriptRead {
            conversation,
            reader: self.id(),
            at: self.shared.clock.now(),
            purpose: purpose.describe(note),
        };
        self.shared.store.read_transcript(&read).await
    }

    /// Draws a chat scan (see [`ScanRequest`]): chats at random, each to be read with
    /// [`StaffHandle::read_transcript`] for [`ReadPurpose::ChatScan`] (audited). Fewer than
    /// asked when the period holds fewer; in the order they started.
    pub async fn draw_scan(&self, request: &ScanRequest) -> Result<Vec<ScanPick>> {
        request.validate()?;
        self.shared.desk(&request.desk)?;
        let facts = ChatFacts {
            desk: request.desk.clone(),
            counsellor: None,
            trajectory: None,
        };
        may_read(&self.identity, &facts, ReadPurpose::ChatScan)?;
        let candidates = self
            .shared
            .store
            .conversations(&ConversationFilter {
                desk: Some(request.desk.clone()),
                states: vec![ConversationState::Ended],
                arrived_from: Some(request.from),
                arrived_until: Some(request.to),
                counsellor: request.counsellor.clone(),
                with_transcript: true,
                limit: None,
            })
            .await?;
        let mut picks: Vec<ScanPick> = {
            use rand::seq::SliceRandom;
            candidates
                .choose_multiple(&mut rand::thread_rng(), request.count as usize)
                .map(ScanPick::from)
                .collect()
        };
        picks.sort_by_key(|p| (p.started_at, p.conversation));
        tracing::info!(
            staff = %self.identity.id,
            desk = %request.desk,
            drawn = picks.len(),
            "chat scan drawn"
        );
        Ok(picks)
    }

    /// A chat exported for an intervision session ([`IntervisionExport`]): its messages
    /// masked, for a coordinator of its desk; the read is audited (`intervision`). A chat
    /// whose text is gone (purged, or no message was ever written) has nothing to export,
    /// and says so.
    pub async fn intervision_export(
        &self,
        conversation: ConversationId,
    ) -> Result<IntervisionExport> {
        let meta = stored_meta(&self.shared, conversation).await?;
        let log = self
            .read_transcript(conversation, ReadPurpose::Intervision, None)
            .await?;
        let export = IntervisionExport::of(&log, meta.profile.nickname.as_deref());
        if export.lines.is_empty() {
            return Err(Error::InvalidState(
                "this chat has no text to export: it was deleted at the end of the retention \
                 period, or no message was written"
                    .into(),
            ));
        }
        Ok(export)
    }

    /// The read audit of a desk (see [`AuditRequest`]): for its coordinators, and for the
    /// sector's administrator, who oversees every desk. At most
    /// [`crate::review::MAX_AUDIT_ROWS`] reads, newest first; `truncated` says there were
    /// more.
    pub async fn read_audit(&self, request: &AuditRequest) -> Result<ReadAudit> {
        if !self.identity.is_administrator() {
            self.require_coordinator(&request.desk)?;
        }
        if request.from >= request.to {
            return Err(Error::Invalid(
                "from, to: the period must start before it ends".into(),
            ));
        }
        let limit = crate::review::MAX_AUDIT_ROWS;
        let rows = self
            .shared
            .store
            .read_audit(&ReadAuditFilter {
                desk: Some(request.desk.clone()),
                from: request.from,
                to: request.to,
                reader: request.reader.clone(),
                purpose: request.purpose.map(|p| p.as_str().to_owned()),
                limit: limit + 1,
            })
            .await?;
        let truncated = rows.len() > limit as usize;
        let erasures = self
            .shared
            .store
            .erasures(Some(&request.desk), request.from, request.to)
            .await?;
        Ok(ReadAudit {
            erasures,
            entries: rows
                .iter()
                .take(limit as usize)
                .map(AuditEntry::from)
                .collect(),
            truncated,
        })
    }

    /// The annual report's figures for a desk the coordinator serves, or any desk for the
    /// sector's administrator (computed by the
    /// store from registrations, ratings and metadata; see [`crate::statistics`]).
    ///
    /// The report counts the events of the desks in it (see [`crate::statistics`]): the
    /// event windows of their calendars in force. A report of every desk (no `desk`) is the
    /// sector's view, for the administrator only.
    pub async fn report(&self, request: &ReportRequest) -> Result<ReportData> {
        match (&request.desk, self.identity.is_administrator()) {
            (_, true) => {}
            (Some(desk), false) => self.require_coordinator(desk)?,
            (None, false) => {
                return Err(Error::Forbidden(
                    "only the sector's administrator reads the report of every desk; name \
                     your desk"
                        .into(),
                ))
            }
        }
        let mut query = request.query(self.shared.clock.now())?;
        let desks = match &request.desk {
            Some(desk) => vec![self.shared.desk(desk)?.config()],
            None => self.shared.desk_configs(),
        };
        query.add_events(desks.iter().map(|d| (&d.id, &d.calendar)));
        let data = self.shared.store.report(&query).await?;
        tracing::info!(
            staff = %self.identity.id,
            desk = request.desk.as_ref().map_or("every desk", |d| d.0.as_str()),
            "report read"
        );
        Ok(data)
    }

    /// A desk's whole configuration as it is in force now (calendar, limits), for a
    /// coordinator planning its staffing.
    pub fn desk_config(&self, desk: &DeskId) -> Result<crate::config::DeskConfig> {
        self.require_coordinator(desk)?;
        Ok(self.shared.desk(desk)?.config())
    }

    /// A desk's calendar as it is in force now.
    pub fn calendar(&self, desk: &DeskId) -> Result<Calendar> {
        self.require_coordinator(desk)?;
        Ok(self.shared.desk(desk)?.config().calendar)
    }

    /// The accounts of the coordinator's desks (every account sharing a desk with them);
    /// every account for the administrator.
    pub async fn accounts(&self) -> Result<Vec<AccountView>> {
        self.require_account_manager().await?;
        let mut out: Vec<AccountView> = self
            .shared
            .store
            .accounts()
            .await?
            .iter()
            .filter(|a| self.manages(&a.identity))
            .map(AccountView::from)
            .collect();
        out.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(out)
    }

    /// Creates an account or changes one. A coordinator manages only accounts whose desks
    /// are all among their own and never makes an administrator; the administrator
    /// manages every account, on the desks this server hosts. Nobody can deactivate or
    /// demote themselves (so a desk is never left without the person who can fix it). A
    /// deactivated account cannot log in again; sessions already open run until they
    /// disconnect.
    pub async fn save_account(&self, change: AccountChange) -> Result<AccountView> {
        self.require_account_manager().await?;
        let username = change.username.trim().to_owned();
        if username.is_empty() || username.chars().count() > 64 {
            return Err(Error::Invalid("username: 1 to 64 characters".into()));
        }
        if change.identity.desks.is_empty() && !change.identity.is_administrator() {
            return Err(Error::Invalid("desks: name at least one desk".into()));
        }
        if change.identity.is_administrator() && !self.identity.is_administrator() {
            return Err(Error::Forbidden(
                "only the sector's administrator can make an administrator".into(),
            ));
        }
        if self.identity.is_administrator() {
            if let Some(d) = change
                .identity
                .desks
                .iter()
                .find(|d| self.shared.desk(d).is_err())
            {
                return Err(Error::Invalid(format!(
                    "desks: there is no desk `{d}` on this server"
                )));
            }
        } else if let Some(d) = change
            .identity
            .desks
            .iter()
            .find(|d| !self.identity.serves(d))
        {
            return Err(Error::Forbidden(format!(
                "you are not a coordinator of desk `{d}`"
            )));
        }
        if change.identity.alias.trim().is_empty() {
            return Err(Error::Invalid("alias: give the name clients see".into()));
        }
        if change.identity.capacity == 0 {
            return Err(Error::Invalid("capacity: at least 1 chat at a time".into()));
        }
        let store = &self.shared.store;
        let existing = store.account(&username).await?;
        match (&existing, change.create) {
            (Some(_), true) => {
                return Err(Error::Invalid(format!(
                    "username: `{username}` exists already; edit that account instead"
                )))
            }
            (None, false) => {
                return Err(Error::Invalid(format!(
                    "username: there is no account `{username}` to change"
                )))
            }
            _ => {}
        }
        if let Some(old) = &existing {
            if !self.manages(&old.identity) || old.identity.desks.iter().any(|d| !self.may_grant(d))
            {
                return Err(Error::Forbidden(format!(
                    "account `{username}` belongs to a desk you do not coordinate"
                )));
            }
            if old.identity.id != change.identity.id {
                return Err(Error::Invalid(
                    "identity.id: an account's staff id cannot change".into(),
                ));
            }
            let is_self = old.identity.id == self.identity.id;
            if is_self && (!change.active || change.identity.role != old.identity.role) {
                return Err(Error::Invalid(
                    "you cannot deactivate your own account or change your own role".into(),
                ));
            }
        } else if store
            .accounts()
            .await?
            .iter()
            .any(|a| a.identity.id == change.identity.id)
        {
            return Err(Error::Invalid(format!(
                "identity.id: staff id `{}` is taken",
                change.identity.id
            )));
        }
        let password_hash = match (&change.password, &existing) {
            (Some(p), _) => {
                // Argon2 takes tens of milliseconds of CPU: not on the engine's threads.
                hash_password_async(p.clone()).await?
            }
            (None, Some(old)) => old.password_hash.clone(),
            (None, None) => {
                return Err(Error::Invalid(
                    "password: a new account needs a password".into(),
                ))
            }
        };
        let account = Account {
            username,
            password_hash,
            active: change.active,
            identity: change.identity,
        };
        store.put_account(&account).await?;
        Ok(AccountView::from(&account))
    }

    /// Whether they see and manage the account of `who`: the administrator every account,
    /// a coordinator those sharing a desk with them (and never an administrator's).
    fn manages(&self, who: &StaffIdentity) -> bool {
        self.identity.is_administrator()
            || (!who.is_administrator() && who.desks.iter().any(|d| self.identity.serves(d)))
    }

    /// Whether they may give an account desk `d`.
    fn may_grant(&self, d: &DeskId) -> bool {
        self.identity.is_administrator() || self.identity.serves(d)
    }

    /// A coordinator or the administrator, as the store says now: an account deactivated
    /// or demoted since this session logged in loses account management at once.
    async fn require_account_manager(&self) -> Result<()> {
        if !self.identity.manages_accounts() {
            return Err(Error::Forbidden("only a coordinator can do this".into()));
        }
        let accounts = self.shared.store.accounts().await?;
        match accounts.iter().find(|a| a.identity.id == self.identity.id) {
            Some(a) if !a.active || a.identity.role != self.identity.role => Err(Error::Forbidden(
                "your account was deactivated or its role changed".into(),
            )),
            // Found and active, or an identity from another authenticator (no stored account).
            _ => Ok(()),
        }
    }

    /// Replaces a desk's calendar (stored, and in force at once).
    pub async fn set_calendar(&self, desk: &DeskId, calendar: Calendar) -> Result<()> {
        self.require_coordinator(desk)?;
        calendar.validate()?;
        let d = self.shared.desk(desk)?;
        self.shared.store.put_calendar(desk, &calendar).await?;
        self.shared.set_calendar(&d, calendar);
        Ok(())
    }
}

/// Whether an event is for a given conversation (for filtering a staff stream).
pub fn event_conversation(event: &ServerEvent) -> Option<ConversationId> {
    match event {
        ServerEvent::Queue { conversation, .. }
        | ServerEvent::Typing { conversation, .. }
        | ServerEvent::ChatAssigned { conversation, .. }
        | ServerEvent::TransferRequested { conversation, .. }
        | ServerEvent::RegistrationDue { conversation }
        | ServerEvent::ClosingNotice { conversation, .. } => Some(*conversation),
        ServerEvent::Log(e) => Some(e.conversation),
        ServerEvent::Disconnecting { .. } => None,
    }
}
