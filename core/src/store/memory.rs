//! The in-memory [`Store`]: the reference implementation of the contract, for tests, demos
//! and embedders who keep nothing. It loses everything when the process ends, so "durably"
//! means "for the life of the process" here.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    ConversationFilter, ConversationMeta, ConversationState, ReadAuditFilter, ReadAuditRow, Store,
    Summary, TranscriptRead,
};
use crate::account::Account;
use crate::appointment::{Appointment, AppointmentFilter};
use crate::calendar::Calendar;
use crate::centre::Centre;
use crate::error::{Error, Result, StoreErrorKind};
use crate::event::{ClientProfile, EndReason, LoggedEvent};
use crate::flags::{Flag, FlagStatus};
use crate::ids::{AppointmentId, CentreId, ConversationId, DeskId, FlagId, TrajectoryId};
use crate::pseudonym::Pseudonym;
use crate::registration::{Rating, Registration};
use crate::review::{EraseRequest, Erasure, Feedback, FeedbackFilter};
use crate::statistics::reference::{self, Records};
use crate::statistics::{CoverageSample, ReportData, ReportQuery};

#[derive(Default)]
struct Inner {
    conversations: HashMap<ConversationId, ConversationMeta>,
    logs: HashMap<ConversationId, Vec<LoggedEvent>>,
    reads: Vec<TranscriptRead>,
    registrations: HashMap<ConversationId, Registration>,
    ratings: HashMap<ConversationId, Rating>,
    flags: BTreeMap<FlagId, Flag>,
    accounts: BTreeMap<String, Account>,
    calendars: HashMap<DeskId, Calendar>,
    appointments: BTreeMap<AppointmentId, Appointment>,
    centres: BTreeMap<CentreId, Centre>,
    coverage: BTreeMap<(DeskId, DateTime<Utc>), CoverageSample>,
    /// Arrivals per pseudonym, so counting a returning visitor's visits reads only theirs.
    visits: HashMap<Pseudonym, BTreeSet<(DateTime<Utc>, ConversationId)>>,
    feedback: HashMap<ConversationId, Feedback>,
    erasures: Vec<Erasure>,
}

impl Inner {
    fn forget_visit(&mut self, meta: &ConversationMeta) {
        if let Some(p) = &meta.pseudonym {
            if let Some(set) = self.visits.get_mut(p) {
                set.remove(&(meta.arrived_at, meta.id));
                if set.is_empty() {
                    self.visits.remove(p);
                }
            }
        }
    }

    fn note_visit(&mut self, meta: &ConversationMeta) {
        if let Some(p) = &meta.pseudonym {
            self.visits
                .entry(p.clone())
                .or_default()
                .insert((meta.arrived_at, meta.id));
        }
    }
}

/// Everything in memory, behind one mutex that is never held across an `.await`.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    unavailable: AtomicBool,
    lose_next_answer: AtomicBool,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every call fail with [`StoreErrorKind::Unavailable`] (or work again), to test
    /// what the engine does when its database is down.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// The next append is stored, but the caller is told the store was unavailable: what
    /// happens when a connection breaks after COMMIT. For tests of the engine's recovery.
    pub fn lose_next_append_answer(&self) {
        self.lose_next_answer.store(true, Ordering::SeqCst);
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(Error::store(
                StoreErrorKind::Unavailable,
                "the in-memory store is switched off",
            ));
        }
        Ok(self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

fn matches(filter: &ConversationFilter, c: &ConversationMeta, logs: &Logs) -> bool {
    filter.desk.as_ref().is_none_or(|d| d == &c.desk)
        && (filter.states.is_empty() || filter.states.contains(&c.state))
        && filter.arrived_from.is_none_or(|t| c.arrived_at >= t)
        && filter.arrived_until.is_none_or(|t| c.arrived_at < t)
        && filter
            .counsellor
            .as_ref()
            .is_none_or(|s| c.counsellor.as_ref() == Some(s))
        && (!filter.with_transcript
            || logs
                .get(&c.id)
                .is_some_and(|log| log.iter().any(|e| e.body.has_text())))
}

/// Every conversation's log.
type Logs = HashMap<ConversationId, Vec<LoggedEvent>>;

#[async_trait]
impl Store for MemoryStore {
    async fn put_conversation(&self, meta: &ConversationMeta) -> Result<()> {
        let mut inner = self.lock()?;
        if let Some(old) = inner.conversations.insert(meta.id, meta.clone()) {
            inner.forget_visit(&old);
        }
        inner.note_visit(meta);
        Ok(())
    }

    async fn conversation(&self, id: ConversationId) -> Result<Option<ConversationMeta>> {
        Ok(self.lock()?.conversations.get(&id).cloned())
    }

    async fn conversations(&self, filter: &ConversationFilter) -> Result<Vec<ConversationMeta>> {
        let inner = self.lock()?;
        let mut out: Vec<_> = inner
            .conversations
            .values()
            .filter(|c| matches(filter, c, &inner.logs))
            .cloned()
            .collect();
        out.sort_by(|a, b| b.arrived_at.cmp(&a.arrived_at).then(a.id.cmp(&b.id)));
        if let Some(limit) = filter.limit {
            out.truncate(limit as usize);
        }
        Ok(out)
    }

    async fn append(&self, event: &LoggedEvent) -> Result<()> {
        let mut inner = self.lock()?;
        if !inner.conversations.contains_key(&event.conversation) {
            return Err(Error::store(
                StoreErrorKind::NotFound,
                format!("append: no conversation {}", event.conversation),
            ));
        }
        let log = inner.logs.entry(event.conversation).or_default();
        let last = log.last().map_or(0, |e| e.seq);
        if event.seq != last + 1 {
            return Err(Error::store(
                StoreErrorKind::Conflict,
                format!("append: seq {} does not follow {last}", event.seq),
            ));
        }
        log.push(event.clone());
        if self.lose_next_answer.swap(false, Ordering::SeqCst) {
            return Err(Error::store(
                StoreErrorKind::Unavailable,
                "the answer was lost after commit",
            ));
        }
        Ok(())
    }

    async fn events_after(&self, id: ConversationId, after_seq: u64) -> Result<Vec<LoggedEvent>> {
        let inner = self.lock()?;
        Ok(inner
            .logs
            .get(&id)
            .map(|log| log.iter().filter(|e| e.seq > after_seq).cloned().collect())
            .unwrap_or_default())
    }

    async fn read_transcript(&self, read: &TranscriptRead) -> Result<Vec<LoggedEvent>> {
        if read.purpose.trim().is_empty() {
            return Err(Error::Invalid(
                "transcript read: say why you read it".into(),
            ));
        }
        let mut inner = self.lock()?;
        if !inner.conversations.contains_key(&read.conversation) {
            return Err(Error::store(
                StoreErrorKind::NotFound,
                format!("no conversation {}", read.conversation),
            ));
        }
        inner.reads.push(read.clone());
        Ok(inner
            .logs
            .get(&read.conversation)
            .cloned()
            .unwrap_or_default())
    }

    async fn transcript_reads(&self, id: ConversationId) -> Result<Vec<TranscriptRead>> {
        let inner = self.lock()?;
        let mut reads: Vec<TranscriptRead> = inner
            .reads
            .iter()
            .filter(|r| r.conversation == id)
            .cloned()
            .collect();
        reads.sort_by_key(|r| r.at); // stable: equal instants stay in insertion order
        Ok(reads)
    }

    async fn read_audit(&self, filter: &ReadAuditFilter) -> Result<Vec<ReadAuditRow>> {
        let inner = self.lock()?;
        let purpose_matches = |p: &str| match &filter.purpose {
            None => true,
            Some(name) => p == name || p.starts_with(&format!("{name}:")),
        };
        let mut out: Vec<ReadAuditRow> = inner
            .reads
            .iter()
            .enumerate()
            .rev() // the later written first, for equal instants (the sort is stable)
            .filter(|(_, r)| r.at >= filter.from && r.at < filter.to)
            .filter(|(_, r)| filter.reader.as_ref().is_none_or(|s| s == &r.reader))
            .filter(|(_, r)| purpose_matches(&r.purpose))
            .filter_map(|(_, r)| {
                let meta = inner.conversations.get(&r.conversation)?;
                filter
                    .desk
                    .as_ref()
                    .is_none_or(|d| d == &meta.desk)
                    .then(|| ReadAuditRow {
                        read: r.clone(),
                        desk: meta.desk.clone(),
                        counsellor: meta.counsellor.clone(),
                    })
            })
            .collect();
        out.sort_by_key(|r| std::cmp::Reverse(r.read.at));
        out.truncate(filter.limit as usize);
        Ok(out)
    }

    async fn forget_visits(&self, arrived_before: DateTime<Utc>) -> Result<u64> {
        let mut inner = self.lock()?;
        let old: Vec<ConversationMeta> = inner
            .conversations
            .values()
            .filter(|c| c.pseudonym.is_some() && c.arrived_at < arrived_before)
            .cloned()
            .collect();
        for meta in &old {
            inner.forget_visit(meta);
            if let Some(c) = inner.conversations.get_mut(&meta.id) {
                c.pseudonym = None;
            }
        }
        Ok(old.len() as u64)
    }

    async fn purge_transcripts(&self, ended_before: DateTime<Utc>) -> Result<u64> {
        let mut inner = self.lock()?;
        let client_file: BTreeSet<ConversationId> = inner
            .appointments
            .values()
            .flat_map(|a| a.conversations.iter().copied())
            .collect();
        let old: Vec<ConversationId> = inner
            .conversations
            .values()
            .filter(|c| c.ended_at.is_some_and(|t| t < ended_before))
            .filter(|c| !client_file.contains(&c.id))
            .map(|c| c.id)
            .collect();
        let mut purged = 0;
        for id in old {
            inner.feedback.remove(&id);
            if inner.logs.remove(&id).is_some_and(|log| !log.is_empty()) {
                purged += 1;
                // The free-text comment and the nickname go with the transcript; the stars,
                // the age and the gender stay for the statistics.
                if let Some(r) = inner.ratings.get_mut(&id) {
                    r.comment = None;
                }
                if let Some(c) = inner.conversations.get_mut(&id) {
                    c.profile.nickname = None;
                }
            }
        }
        Ok(purged)
    }

    async fn erase(&self, request: &EraseRequest) -> Result<u64> {
        let mut inner = self.lock()?;
        let chats: Vec<ConversationMeta> = inner
            .conversations
            .values()
            .filter(|c| c.state == ConversationState::Ended)
            .filter(|c| {
                c.id == request.conversation
                    || (request.pseudonym.is_some() && c.pseudonym == request.pseudonym)
            })
            .cloned()
            .collect();
        for meta in &chats {
            inner.forget_visit(meta);
            if let Some(log) = inner.logs.get_mut(&meta.id) {
                log.clear();
            }
            inner.feedback.remove(&meta.id);
            if let Some(r) = inner.ratings.get_mut(&meta.id) {
                r.comment = None;
            }
            if let Some(c) = inner.conversations.get_mut(&meta.id) {
                c.profile = ClientProfile::default();
                c.pseudonym = None;
            }
        }
        let ids: BTreeSet<ConversationId> = chats.iter().map(|c| c.id).collect();
        inner.flags.retain(|_, f| {
            Some(&f.pseudonym) != request.pseudonym.as_ref()
                && !f.conversation.is_some_and(|c| ids.contains(&c))
        });
        inner.erasures.push(request.record.clone());
        Ok(chats.len() as u64)
    }

    async fn erasures(
        &self,
        desk: Option<&DeskId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Erasure>> {
        let inner = self.lock()?;
        let mut out: Vec<Erasure> = inner
            .erasures
            .iter()
            .filter(|e| desk.is_none_or(|d| &e.desk == d))
            .filter(|e| e.at >= from && e.at < to)
            .cloned()
            .collect();
        out.reverse();
        out.sort_by_key(|e| std::cmp::Reverse(e.at));
        Ok(out)
    }

    async fn purge_client_files(&self, last_ended_before: DateTime<Utc>) -> Result<u64> {
        let mut inner = self.lock()?;
        let mut last_end: HashMap<TrajectoryId, DateTime<Utc>> = HashMap::new();
        for a in inner.appointments.values() {
            let end = last_end.entry(a.trajectory).or_insert(a.ends_at());
            *end = (*end).max(a.ends_at());
        }
        let mut emptied = BTreeSet::new();
        let mut chats = Vec::new();
        for a in inner.appointments.values_mut() {
            if last_end
                .get(&a.trajectory)
                .is_some_and(|end| *end < last_ended_before)
            {
                if !a.client_name.is_empty() {
                    emptied.insert(a.trajectory);
                }
                a.client_name.clear();
                a.note = None;
                chats.extend(a.conversations.iter().copied());
            }
        }
        for id in chats {
            inner.logs.remove(&id);
            inner.feedback.remove(&id);
            if let Some(meta) = inner.conversations.get_mut(&id) {
                meta.profile = ClientProfile::default();
            }
        }
        Ok(u64::try_from(emptied.len()).unwrap_or(u64::MAX))
    }

    async fn save_registration(&self, registration: &Registration) -> Result<()> {
        let mut inner = self.lock()?;
        if inner.registrations.contains_key(&registration.conversation) {
            return Err(Error::store(
                StoreErrorKind::Conflict,
                format!(
                    "conversation {} is already registered",
                    registration.conversation
                ),
            ));
        }
        inner
            .registrations
            .insert(registration.conversation, registration.clone());
        Ok(())
    }

    async fn registration(&self, id: ConversationId) -> Result<Option<Registration>> {
        Ok(self.lock()?.registrations.get(&id).cloned())
    }

    async fn put_feedback(&self, feedback: &Feedback) -> Result<()> {
        self.lock()?
            .feedback
            .insert(feedback.conversation, feedback.clone());
        Ok(())
    }

    async fn feedback(&self, conversation: ConversationId) -> Result<Option<Feedback>> {
        Ok(self.lock()?.feedback.get(&conversation).cloned())
    }

    async fn feedback_list(&self, filter: &FeedbackFilter) -> Result<Vec<Feedback>> {
        let inner = self.lock()?;
        let mut out: Vec<Feedback> = inner
            .feedback
            .values()
            .filter(|f| filter.desk.as_ref().is_none_or(|d| &f.desk == d))
            .filter(|f| {
                filter
                    .counsellor
                    .as_ref()
                    .is_none_or(|c| &f.counsellor == c)
            })
            .cloned()
            .collect();
        out.sort_by(|a, b| {
            b.changed_at()
                .cmp(&a.changed_at())
                .then(b.conversation.cmp(&a.conversation))
        });
        out.truncate(filter.limit as usize);
        Ok(out)
    }

    async fn save_rating(&self, rating: &Rating) -> Result<()> {
        let mut inner = self.lock()?;
        if inner.ratings.contains_key(&rating.conversation) {
            return Err(Error::store(
                StoreErrorKind::Conflict,
                format!("conversation {} is already rated", rating.conversation),
            ));
        }
        inner.ratings.insert(rating.conversation, rating.clone());
        Ok(())
    }

    async fn rating(&self, id: ConversationId) -> Result<Option<Rating>> {
        Ok(self.lock()?.ratings.get(&id).cloned())
    }

    async fn count_visits(&self, pseudonym: &Pseudonym, since: DateTime<Utc>) -> Result<u32> {
        let inner = self.lock()?;
        let n = inner.visits.get(pseudonym).map_or(0, |set| {
            set.range((since, ConversationId(uuid::Uuid::nil()))..)
                .count()
        });
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn put_flag(&self, flag: &Flag) -> Result<()> {
        self.lock()?.flags.insert(flag.id, flag.clone());
        Ok(())
    }

    async fn flag(&self, id: FlagId) -> Result<Option<Flag>> {
        Ok(self.lock()?.flags.get(&id).cloned())
    }

    async fn flags_for(&self, pseudonym: &Pseudonym) -> Result<Vec<Flag>> {
        let inner = self.lock()?;
        let mut out: Vec<_> = inner
            .flags
            .values()
            .filter(|f| &f.pseudonym == pseudonym)
            .cloned()
            .collect();
        out.sort_by_key(|f| (f.created_at, f.id));
        Ok(out)
    }

    async fn flags_to_review(
        &self,
        desk: Option<&DeskId>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Flag>> {
        let inner = self.lock()?;
        let mut out: Vec<_> = inner
            .flags
            .values()
            .filter(|f| f.status == FlagStatus::Open && f.expires_at > now)
            .filter(|f| desk.is_none_or(|d| d == &f.desk))
            .cloned()
            .collect();
        out.sort_by_key(|f| (f.created_at, f.id));
        Ok(out)
    }

    async fn rekey_pseudonym(&self, old: &Pseudonym, new: &Pseudonym) -> Result<()> {
        let mut inner = self.lock()?;
        for c in inner.conversations.values_mut() {
            if c.pseudonym.as_ref() == Some(old) {
                c.pseudonym = Some(new.clone());
            }
        }
        if let Some(moved) = inner.visits.remove(old) {
            inner.visits.entry(new.clone()).or_default().extend(moved);
        }
        for f in inner.flags.values_mut() {
            if &f.pseudonym == old {
                f.pseudonym = new.clone();
            }
        }
        Ok(())
    }

    async fn put_account(&self, account: &Account) -> Result<()> {
        self.lock()?
            .accounts
            .insert(account.username.clone(), account.clone());
        Ok(())
    }

    async fn account(&self, username: &str) -> Result<Option<Account>> {
        Ok(self.lock()?.accounts.get(username).cloned())
    }

    async fn accounts(&self) -> Result<Vec<Account>> {
        Ok(self.lock()?.accounts.values().cloned().collect())
    }

    async fn put_calendar(&self, desk: &DeskId, calendar: &Calendar) -> Result<()> {
        self.lock()?
            .calendars
            .insert(desk.clone(), calendar.clone());
        Ok(())
    }

    async fn calendar(&self, desk: &DeskId) -> Result<Option<Calendar>> {
        Ok(self.lock()?.calendars.get(desk).cloned())
    }

    async fn calendars(&self) -> Result<Vec<(DeskId, Calendar)>> {
        let mut all: Vec<_> = self
            .lock()?
            .calendars
            .iter()
            .map(|(d, c)| (d.clone(), c.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(all)
    }

    async fn put_appointment(&self, appointment: &Appointment) -> Result<()> {
        let mut inner = self.lock()?;
        if inner
            .appointments
            .values()
            .any(|a| a.token_hash == appointment.token_hash && a.id != appointment.id)
        {
            return Err(Error::store(
                StoreErrorKind::Conflict,
                "another appointment has this join token",
            ));
        }
        inner
            .appointments
            .insert(appointment.id, appointment.clone());
        Ok(())
    }

    async fn appointment(&self, id: AppointmentId) -> Result<Option<Appointment>> {
        Ok(self.lock()?.appointments.get(&id).cloned())
    }

    async fn appointment_by_token(&self, token_hash: &str) -> Result<Option<Appointment>> {
        Ok(self
            .lock()?
            .appointments
            .values()
            .find(|a| a.token_hash == token_hash)
            .cloned())
    }

    async fn appointments(&self, filter: &AppointmentFilter) -> Result<Vec<Appointment>> {
        let mut out: Vec<Appointment> = self
            .lock()?
            .appointments
            .values()
            .filter(|a| filter.matches(a))
            .cloned()
            .collect();
        out.sort_by_key(|a| (a.starts_at, a.id));
        Ok(out)
    }

    async fn put_centre(&self, centre: &Centre) -> Result<()> {
        self.lock()?
            .centres
            .insert(centre.id.clone(), centre.clone());
        Ok(())
    }

    async fn centre(&self, id: &CentreId) -> Result<Option<Centre>> {
        Ok(self.lock()?.centres.get(id).cloned())
    }

    async fn centres(&self) -> Result<Vec<Centre>> {
        Ok(self.lock()?.centres.values().cloned().collect())
    }

    async fn summary(
        &self,
        desk: Option<&DeskId>,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Summary> {
        let inner = self.lock()?;
        let convs: Vec<&ConversationMeta> = inner
            .conversations
            .values()
            .filter(|c| desk.is_none_or(|d| d == &c.desk))
            .filter(|c| c.arrived_at >= from && c.arrived_at < until)
            .collect();
        let mut s = Summary {
            arrivals: convs.len() as u64,
            ..Summary::default()
        };
        let mut reasons: BTreeMap<String, (EndReason, u64)> = BTreeMap::new();
        let (mut dur_sum, mut dur_n, mut wait_sum, mut wait_n) = (0f64, 0u64, 0f64, 0u64);
        for c in &convs {
            match c.end_reason {
                Some(EndReason::AbandonedInQueue) => s.abandoned_in_queue += 1,
                Some(EndReason::ClosedAtClosingTime) => s.closed_at_closing_time += 1,
                _ => {}
            }
            let Some(started) = c.started_at else {
                continue;
            };
            s.served += 1;
            wait_sum += (started - c.arrived_at).num_milliseconds() as f64 / 1000.0;
            wait_n += 1;
            if let (Some(ended), Some(reason)) = (c.ended_at, c.end_reason) {
                dur_sum += (ended - started).num_milliseconds() as f64 / 1000.0;
                dur_n += 1;
                let key = serde_json::to_string(&reason).unwrap_or_default();
                reasons.entry(key).or_insert((reason, 0)).1 += 1;
            }
        }
        s.by_end_reason = reasons.into_values().collect();
        s.mean_duration_secs = (dur_n > 0).then(|| dur_sum / dur_n as f64);
        s.mean_wait_secs = (wait_n > 0).then(|| wait_sum / wait_n as f64);
        let in_range = |id: &ConversationId| convs.iter().any(|c| &c.id == id);
        let ratings: Vec<&Rating> = inner
            .ratings
            .values()
            .filter(|r| in_range(&r.conversation))
            .collect();
        s.ratings = ratings.len() as u64;
        s.mean_stars = (!ratings.is_empty()).then(|| {
            ratings.iter().map(|r| f64::from(r.stars)).sum::<f64>() / ratings.len() as f64
        });
        let regs: Vec<&Registration> = inner
            .registrations
            .values()
            .filter(|r| in_range(&r.conversation))
            .collect();
        s.registrations = regs.len() as u64;
        s.fake_calls = regs.iter().filter(|r| r.fake_call).count() as u64;
        Ok(s)
    }

    async fn record_coverage(&self, sample: &CoverageSample) -> Result<()> {
        let mut inner = self.lock()?;
        inner
            .coverage
            .insert((sample.desk.clone(), sample.at), sample.clone());
        Ok(())
    }

    async fn report(&self, query: &ReportQuery) -> Result<ReportData> {
        query.validate()?;
        let inner = self.lock()?;
        let records = Records {
            conversations: inner.conversations.values().collect(),
            registrations: &inner.registrations,
            ratings: &inner.ratings,
            coverage: inner.coverage.values().collect(),
        };
        Ok(reference::compute(query, &records))
    }
}

impl ConversationState {
    /// Whether the conversation is still live (waiting or active).
    pub fn is_live(self) -> bool {
        self != ConversationState::Ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_memory_store_passes_the_conformance_suite() {
        super::super::conformance::run_all(|| async { MemoryStore::new() }).await;
    }
}
