//! One desk's live state: the queue, the counsellors' presence and load, the running chats,
//! and the wait estimate. A plain synchronous struct: every change is a short method call
//! made under the desk's mutex (never held across an `.await`), which is what makes
//! assignment atomic. The property test in `tests` drives it directly with random
//! interleavings.
//!
//! # The wait estimate
//!
//! Honest means: computed from what is happening now, not promised. Each slot a counsellor
//! can serve (capacity, for counsellors who are connected, available, not within the
//! shift-end margin and owing no registration where the desk requires one) frees at an
//! expected time: a free slot now; a running chat after
//! `max(mean − elapsed, mean / 10)`, but never later than its time limit. `mean` is the
//! mean of the desk's last [`ESTIMATE_SAMPLES`] chat durations, starting from
//! [`DEFAULT_MEAN_CHAT`] (18.5 min) until enough chats were seen. Client *p* in the queue
//! gets the *p*-th slot to free up; a slot taken is busy again for `mean`. With nobody to
//! serve, there is no estimate (`None`) rather than a made-up number. Appointments and
//! health questions are not modelled: the estimate is for the ordinary queue.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use crate::account::{StaffIdentity, StaffRole};
use crate::config::{DEFAULT_MEAN_CHAT, ESTIMATE_SAMPLES};
use crate::error::{Error, Result};
use crate::event::{CounsellorStatus, CoverageWarning, Discipline, PresenceStatus, RunningChat};
use crate::ids::{ConversationId, StaffId};
use crate::router::{Candidate, Router, WaitingClient};

/// A client in the queue.
#[derive(Debug, Clone)]
pub(crate) struct QueueEntry {
    pub(crate) conversation: ConversationId,
    number: u64,
    pub(crate) arrived: Instant,
    priority_at: Instant,
    /// Put back at the head of the queue (their counsellor was lost): before everyone.
    front: bool,
    health_question: bool,
    /// An appointment: its counsellor, then its stand-in (empty: anyone).
    reserved_for: Vec<StaffId>,
    /// Stored and its conversation task running; only then can it be assigned.
    ready: bool,
    /// A disconnected client keeps its place during the grace period but is skipped.
    connected: bool,
    published: Option<(u32, Option<u32>)>,
}

/// A staff member online at the desk.
#[derive(Debug, Clone)]
pub(crate) struct Presence {
    pub(crate) identity: StaffIdentity,
    pub(crate) available: bool,
    pub(crate) connected: bool,
    pub(crate) load: u32,
    pub(crate) shift_ends_at: Option<DateTime<Utc>>,
    /// The shift ends when the desk closes (or later): the last shift of the opening. The
    /// shift-end margin leaves room for the next shift to take over; after the last one
    /// there is none, so it does not apply (the desk's own closing margin stops new
    /// visitors before closing, and running chats finish after it).
    pub(crate) last_shift: bool,
    pub(crate) registrations_due: BTreeSet<ConversationId>,
    idle_since: Instant,
    /// Counts the times this presence lost its connection: the staff grace timer started
    /// at a disconnect acts only if no reconnect (or later disconnect) came after it.
    pub(crate) away_epoch: u64,
    /// When the connection was lost (while it is lost).
    pub(crate) away_since: Option<Instant>,
    /// Taken offline after the staff grace period: kept only for registrations still due.
    pub(crate) gone: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Running {
    pub(crate) counsellor: StaffId,
    started: Instant,
    pub(crate) reconnecting: bool,
    health_question: bool,
}

/// A client given to a counsellor.
#[derive(Debug, Clone)]
pub(crate) struct Assignment {
    pub(crate) conversation: ConversationId,
    pub(crate) staff: StaffIdentity,
}

/// Rules the desk applies before the router chooses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    pub(crate) shift_end_margin: Duration,
    pub(crate) require_registration: bool,
    pub(crate) chat_limit: Duration,
}

/// The live state of one desk.
#[derive(Debug, Default)]
pub(crate) struct DeskState {
    queue: Vec<QueueEntry>,
    next_number: u64,
    pub(crate) counsellors: BTreeMap<StaffId, Presence>,
    pub(crate) running: HashMap<ConversationId, Running>,
    durations: VecDeque<Duration>,
}

/// What to tell a waiting client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) conversation: ConversationId,
    pub(crate) position: u32,
    pub(crate) estimate_minutes: Option<u32>,
}

fn minutes_up(d: Duration) -> u32 {
    u32::try_from(d.as_secs().div_ceil(60)).unwrap_or(u32::MAX)
}

impl DeskState {
    pub(crate) fn queue_len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn is_waiting(&self, conversation: ConversationId) -> bool {
        self.queue.iter().any(|e| e.conversation == conversation)
    }

    /// Puts a client in the queue (not yet ready for assignment).
    pub(crate) fn enqueue(
        &mut self,
        conversation: ConversationId,
        now: Instant,
        health_question: bool,
        delay: Duration,
        reserved_for: Vec<StaffId>,
    ) {
        self.next_number += 1;
        let entry = QueueEntry {
            conversation,
            number: self.next_number,
            arrived: now,
            priority_at: now + delay,
            front: false,
            health_question,
            reserved_for,
            ready: false,
            connected: true,
            published: None,
        };
        self.insert_in_order(entry);
    }

    /// Inserts in queue order: the heads put back first, then by priority time and number.
    fn insert_in_order(&mut self, entry: QueueEntry) {
        let key = |e: &QueueEntry| (!e.front, e.priority_at, e.number);
        let at = self.queue.partition_point(|e| key(e) <= key(&entry));
        self.queue.insert(at, entry);
    }

    /// Puts a running chat back at the head of the queue (its counsellor was lost); frees
    /// the counsellor's slot. Nothing happens if it was not running.
    fn requeue_front(&mut self, conversation: ConversationId, now: Instant) {
        let Some(running) = self.running.remove(&conversation) else {
            return;
        };
        if let Some(p) = self.counsellors.get_mut(&running.counsellor) {
            p.load = p.load.saturating_sub(1);
        }
        self.next_number += 1;
        let entry = QueueEntry {
            conversation,
            number: self.next_number,
            arrived: now,
            priority_at: now,
            front: true,
            health_question: running.health_question,
            reserved_for: Vec::new(),
            ready: true,
            connected: !running.reconnecting,
            published: None,
        };
        self.insert_in_order(entry);
    }

    pub(crate) fn mark_ready(&mut self, conversation: ConversationId) {
        if let Some(e) = self
            .queue
            .iter_mut()
            .find(|e| e.conversation == conversation)
        {
            e.ready = true;
        }
    }

    pub(crate) fn set_waiting_connected(&mut self, conversation: ConversationId, connected: bool) {
        if let Some(e) = self
            .queue
            .iter_mut()
            .find(|e| e.conversation == conversation)
        {
            e.connected = connected;
            e.published = None;
        }
    }

    /// Removes a waiting client; false if it is not waiting (already assigned or gone).
    pub(crate) fn remove_waiting(&mut self, conversation: ConversationId) -> bool {
        let before = self.queue.len();
        self.queue.retain(|e| e.conversation != conversation);
        self.queue.len() != before
    }

    /// Empties the queue (closing time); returns who was waiting.
    pub(crate) fn drain_queue(&mut self) -> Vec<ConversationId> {
        self.queue.drain(..).map(|e| e.conversation).collect()
    }

    /// A staff member comes online (or reconnects: load and dues are kept).
    pub(crate) fn online(
        &mut self,
        identity: StaffIdentity,
        shift_ends_at: Option<DateTime<Utc>>,
        last_shift: bool,
        now: Instant,
    ) {
        let available = identity.role == StaffRole::Counsellor;
        match self.counsellors.get_mut(&identity.id) {
            Some(p) => {
                p.available = identity.role == StaffRole::Counsellor;
                p.identity = identity;
                p.connected = true;
                p.away_since = None;
                p.gone = false;
                if shift_ends_at.is_some() {
                    p.shift_ends_at = shift_ends_at;
                    p.last_shift = last_shift;
                }
            }
            None => {
                self.counsellors.insert(
                    identity.id.clone(),
                    Presence {
                        identity,
                        available,
                        connected: true,
                        load: 0,
                        shift_ends_at,
                        last_shift,
                        registrations_due: BTreeSet::new(),
                        idle_since: now,
                        away_epoch: 0,
                        away_since: None,
                        gone: false,
                    },
                );
            }
        }
    }

    /// After a restart: a chat that was running with a counsellor who has not logged in
    /// again yet. Their presence is kept (not connected, not available) so the load is right.
    pub(crate) fn restore_running(
        &mut self,
        conversation: ConversationId,
        counsellor: StaffIdentity,
        started: Instant,
        health_question: bool,
    ) {
        let staff = counsellor.id.clone();
        self.restored_presence(counsellor, started).load += 1;
        self.running.insert(
            conversation,
            Running {
                counsellor: staff,
                started,
                reconnecting: true,
                health_question,
            },
        );
    }

    /// After a restart: a registration still due from a counsellor who has not logged in
    /// again yet (their presence is kept, not connected, so the form comes back at login).
    pub(crate) fn restore_due(&mut self, conversation: ConversationId, counsellor: StaffIdentity) {
        let p = self.restored_presence(counsellor, Instant::now());
        p.registrations_due.insert(conversation);
    }

    /// The presence of someone known from before a restart: away since now.
    fn restored_presence(&mut self, counsellor: StaffIdentity, now: Instant) -> &mut Presence {
        self.counsellors
            .entry(counsellor.id.clone())
            .or_insert_with(|| Presence {
                identity: counsellor.clone(),
                available: false,
                connected: false,
                load: 0,
                shift_ends_at: None,
                last_shift: false,
                registrations_due: BTreeSet::new(),
                idle_since: now,
                away_epoch: 0,
                away_since: Some(now),
                gone: false,
            })
    }

    pub(crate) fn set_available(&mut self, staff: &StaffId, available: bool) -> Result<()> {
        let p = self
            .counsellors
            .get_mut(staff)
            .ok_or_else(|| Error::InvalidState("you are not online at this desk".into()))?;
        p.available = available;
        Ok(())
    }

    /// A kept presence is connected again (a new login); whether this changed anything.
    pub(crate) fn staff_reconnected(&mut self, staff: &StaffId) -> bool {
        match self.counsellors.get_mut(staff) {
            Some(p) if !p.connected => {
                p.connected = true;
                p.away_since = None;
                if p.gone {
                    // Back after being taken offline: at the desk again only by going online.
                    p.gone = false;
                    p.available = false;
                }
                true
            }
            _ => false,
        }
    }

    /// A staff member's connection closed. Gone at once when nothing is left (no running
    /// chat, no registration due); else kept as disconnected, and the returned epoch is
    /// what the staff grace timer must find unchanged to take them offline.
    pub(crate) fn staff_disconnected(&mut self, staff: &StaffId, now: Instant) -> Option<u64> {
        let p = self.counsellors.get_mut(staff)?;
        if p.load == 0 && p.registrations_due.is_empty() {
            self.counsellors.remove(staff);
            return None;
        }
        p.connected = false;
        p.away_since = Some(now);
        p.away_epoch += 1;
        Some(p.away_epoch)
    }

    /// The epoch of a presence that is away now (for a grace timer started after a restart).
    pub(crate) fn away_epoch(&self, staff: &StaffId) -> Option<u64> {
        self.counsellors
            .get(staff)
            .filter(|p| !p.connected && !p.gone)
            .map(|p| p.away_epoch)
    }

    /// The staff grace period ran out: if the staff member is still away since the
    /// disconnect of `epoch`, their running chats go back to the head of the queue and they
    /// are taken offline (kept only as long as registrations are due). Returns the chats
    /// put back.
    pub(crate) fn staff_expired(
        &mut self,
        staff: &StaffId,
        epoch: u64,
        now: Instant,
    ) -> Vec<ConversationId> {
        let still_away = self
            .counsellors
            .get(staff)
            .is_some_and(|p| !p.connected && !p.gone && p.away_epoch == epoch);
        if !still_away {
            return Vec::new();
        }
        let mut chats: Vec<(Instant, ConversationId)> = self
            .running
            .iter()
            .filter(|(_, r)| &r.counsellor == staff)
            .map(|(c, r)| (r.started, *c))
            .collect();
        // The longest-running chat first: it was served first, it goes back first.
        chats.sort();
        let chats: Vec<ConversationId> = chats.into_iter().map(|(_, c)| c).collect();
        for c in &chats {
            self.requeue_front(*c, now);
        }
        if let Some(p) = self.counsellors.get_mut(staff) {
            if p.registrations_due.is_empty() {
                self.counsellors.remove(staff);
            } else {
                p.gone = true;
                p.available = false;
            }
        }
        chats
    }

    /// Goes offline: gone at once when no chat runs and nothing is due, else stays listed
    /// as unavailable until the running chats end and the registrations are made.
    pub(crate) fn offline(&mut self, staff: &StaffId) {
        if let Some(p) = self.counsellors.get_mut(staff) {
            if p.load == 0 && p.registrations_due.is_empty() {
                self.counsellors.remove(staff);
            } else {
                p.available = false;
            }
        }
    }

    /// The registrations a staff member owes here, in id order.
    pub(crate) fn dues_of(&self, staff: &StaffId) -> Vec<ConversationId> {
        self.counsellors
            .get(staff)
            .map(|p| p.registrations_due.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Who owes the registration of a chat.
    pub(crate) fn due_owner(&self, conversation: ConversationId) -> Option<StaffId> {
        self.counsellors
            .values()
            .find(|p| p.registrations_due.contains(&conversation))
            .map(|p| p.identity.id.clone())
    }

    /// Removes a registration due (made, or released by a coordinator); a presence kept
    /// only for it goes. Returns who owed it.
    pub(crate) fn clear_due(&mut self, conversation: ConversationId) -> Option<StaffId> {
        let owner = self.due_owner(conversation)?;
        if let Some(p) = self.counsellors.get_mut(&owner) {
            p.registrations_due.remove(&conversation);
            let left_behind = (p.gone || !p.connected) && p.load == 0;
            if left_behind && p.registrations_due.is_empty() {
                self.counsellors.remove(&owner);
            }
        }
        Some(owner)
    }

    /// A running chat ended; frees the counsellor's slot and records the duration.
    /// Returns the counsellor, who now owes a registration when `registration_due`.
    pub(crate) fn finish(
        &mut self,
        conversation: ConversationId,
        now: Instant,
        registration_due: bool,
    ) -> Option<StaffId> {
        let running = self.running.remove(&conversation)?;
        self.durations
            .push_back(now.saturating_duration_since(running.started));
        while self.durations.len() > ESTIMATE_SAMPLES {
            self.durations.pop_front();
        }
        if let Some(p) = self.counsellors.get_mut(&running.counsellor) {
            p.load = p.load.saturating_sub(1);
            p.idle_since = now;
            if registration_due {
                p.registrations_due.insert(conversation);
            }
        }
        Some(running.counsellor)
    }

    /// Moves a running chat to another staff member (transfer, take-over). Capacity is
    /// enforced for counsellors unless `force` (a coordinator taking over).
    pub(crate) fn move_chat(
        &mut self,
        conversation: ConversationId,
        to: &StaffId,
        force: bool,
    ) -> Result<StaffId> {
        let from = self
            .running
            .get(&conversation)
            .map(|r| r.counsellor.clone())
            .ok_or(Error::UnknownConversation(conversation))?;
        if &from == to {
            return Err(Error::InvalidState("the chat is already yours".into()));
        }
        let target = self
            .counsellors
            .get(to)
            .ok_or_else(|| Error::InvalidState(format!("{to} is not online at this desk")))?;
        if !force && target.load >= target.identity.capacity {
            return Err(Error::OverCapacity {
                staff: to.clone(),
                capacity: target.identity.capacity,
            });
        }
        if let Some(p) = self.counsellors.get_mut(to) {
            p.load += 1;
        }
        if let Some(p) = self.counsellors.get_mut(&from) {
            p.load = p.load.saturating_sub(1);
        }
        if let Some(r) = self.running.get_mut(&conversation) {
            r.counsellor = to.clone();
        }
        Ok(from)
    }

    pub(crate) fn set_reconnecting(&mut self, conversation: ConversationId, reconnecting: bool) {
        if let Some(r) = self.running.get_mut(&conversation) {
            r.reconnecting = reconnecting;
        }
    }

    fn eligible(p: &Presence, wall: DateTime<Utc>, rules: &Rules) -> bool {
        p.load < p.identity.capacity && Self::eligible_ignoring_load(p, wall, rules)
    }

    /// [`Self::eligible`] but for the load: whether they take clients when a slot frees.
    fn eligible_ignoring_load(p: &Presence, wall: DateTime<Utc>, rules: &Rules) -> bool {
        p.connected
            && p.available
            && !Self::held_by_registration(p, rules)
            && Self::before_shift_margin(p, wall, rules)
    }

    /// Owes a registration the desk wants before the next chat.
    fn held_by_registration(p: &Presence, rules: &Rules) -> bool {
        rules.require_registration && !p.registrations_due.is_empty()
    }

    /// Outside the shift-end margin (or no shift end given, or the opening's last shift):
    /// new chats may still come.
    fn before_shift_margin(p: &Presence, wall: DateTime<Utc>, rules: &Rules) -> bool {
        p.last_shift
            || p.shift_ends_at.is_none_or(|end| {
                end.signed_duration_since(wall)
                    .to_std()
                    .is_ok_and(|left| left > rules.shift_end_margin)
            })
    }

    /// Finds a free counsellor of a discipline for a transfer.
    pub(crate) fn free_of_discipline(
        &self,
        discipline: Discipline,
        except: &StaffId,
        wall: DateTime<Utc>,
        rules: &Rules,
    ) -> Option<StaffId> {
        self.counsellors
            .values()
            .filter(|p| &p.identity.id != except && p.identity.discipline == discipline)
            .filter(|p| Self::eligible(p, wall, rules))
            .min_by_key(|p| (p.load, p.identity.id.clone()))
            .map(|p| p.identity.id.clone())
    }

    /// Any coordinator connected at this desk, other than `except`.
    pub(crate) fn coordinator_online(&self, except: &StaffId) -> Option<StaffId> {
        self.counsellors
            .values()
            .find(|p| p.connected && p.identity.is_coordinator() && &p.identity.id != except)
            .map(|p| p.identity.id.clone())
    }

    /// Assigns waiting clients to eligible counsellors, oldest (by priority) first, until no
    /// client can be placed. Atomic: runs entirely under the caller's `&mut`.
    pub(crate) fn assign(
        &mut self,
        now: Instant,
        wall: DateTime<Utc>,
        rules: &Rules,
        router: &dyn Router,
    ) -> Vec<Assignment> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.queue.len() {
            let free: Vec<&Presence> = self
                .counsellors
                .values()
                .filter(|p| Self::eligible(p, wall, rules))
                .collect();
            if free.is_empty() {
                break;
            }
            let entry = &self.queue[i];
            if !entry.ready || !entry.connected {
                i += 1;
                continue;
            }
            let candidates: Vec<Candidate<'_>> = free
                .iter()
                .map(|p| Candidate {
                    staff: &p.identity,
                    load: p.load,
                    idle_for: now.saturating_duration_since(p.idle_since),
                })
                .collect();
            let client = WaitingClient {
                conversation: entry.conversation,
                waited: now.saturating_duration_since(entry.arrived),
                health_question: entry.health_question,
                reserved_for: &entry.reserved_for,
            };
            let Some(chosen) = router.choose(&client, &candidates) else {
                i += 1;
                continue;
            };
            let Some(staff) = candidates.get(chosen).map(|c| c.staff.id.clone()) else {
                i += 1;
                continue;
            };
            let entry = self.queue.remove(i);
            let Some(p) = self.counsellors.get_mut(&staff) else {
                continue;
            };
            p.load += 1;
            p.idle_since = now;
            self.running.insert(
                entry.conversation,
                Running {
                    counsellor: staff,
                    started: now,
                    reconnecting: !entry.connected,
                    health_question: entry.health_question,
                },
            );
            out.push(Assignment {
                conversation: entry.conversation,
                staff: p.identity.clone(),
            });
        }
        out
    }

    fn mean_duration(&self) -> Duration {
        let n = self.durations.len();
        let samples: Duration = self.durations.iter().sum();
        // Fewer than ESTIMATE_SAMPLES of our own: fill up with the published mean.
        let fill = ESTIMATE_SAMPLES.saturating_sub(n);
        let total = samples + DEFAULT_MEAN_CHAT * u32::try_from(fill).unwrap_or(0);
        total / u32::try_from(n.max(ESTIMATE_SAMPLES)).unwrap_or(1)
    }

    /// Expected waits for the first `n` positions (see the module docs).
    fn expected_waits(
        &self,
        n: usize,
        now: Instant,
        wall: DateTime<Utc>,
        rules: &Rules,
    ) -> Option<Vec<Duration>> {
        let mean = self.mean_duration();
        // Who will take clients when a slot frees: eligible ignoring their load. A
        // counsellor who owes a registration takes nobody until it is made, so they are not
        // counted until then (the estimate is refreshed when they register).
        let serving: HashSet<&StaffId> = self
            .counsellors
            .values()
            .filter(|p| Self::eligible_ignoring_load(p, wall, rules))
            .map(|p| &p.identity.id)
            .collect();
        let free: usize = serving
            .iter()
            .filter_map(|id| self.counsellors.get(*id))
            .map(|p| p.identity.capacity.saturating_sub(p.load) as usize)
            .sum();
        // Enough free slots for everyone: nobody waits, and the running chats (thousands,
        // on a busy desk) need not be looked at. This runs at every arrival and dispatch.
        if free >= n && free > 0 {
            return Some(vec![Duration::ZERO; n]);
        }
        let mut ends: Vec<Duration> = self
            .running
            .values()
            .filter(|r| serving.contains(&r.counsellor))
            .map(|r| {
                let elapsed = now.saturating_duration_since(r.started);
                let expected = mean.saturating_sub(elapsed).max(mean / 10);
                let hard = rules.chat_limit.saturating_sub(elapsed);
                expected.min(hard)
            })
            .collect();
        if free == 0 && ends.is_empty() {
            return None;
        }
        // Only the `n - free` soonest ends can be among the first `n` slots (every later
        // slot of a counsellor comes after their earlier one).
        let wanted = n - free;
        if ends.len() > wanted && wanted > 0 {
            ends.select_nth_unstable(wanted - 1);
            ends.truncate(wanted);
        }
        let mut slots: BinaryHeap<Reverse<Duration>> = ends.into_iter().map(Reverse).collect();
        slots.extend(std::iter::repeat_n(Reverse(Duration::ZERO), free));
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let Reverse(t) = slots.pop()?;
            out.push(t);
            slots.push(Reverse(t + mean));
        }
        Some(out)
    }

    /// The expected wait of a client joining the end of the queue now.
    pub(crate) fn estimate_for_newcomer(
        &self,
        now: Instant,
        wall: DateTime<Utc>,
        rules: &Rules,
    ) -> Option<Duration> {
        self.expected_waits(self.queue.len() + 1, now, wall, rules)
            .and_then(|w| w.last().copied())
    }

    /// Positions and estimates that changed since last published.
    pub(crate) fn changed_positions(
        &mut self,
        now: Instant,
        wall: DateTime<Utc>,
        rules: &Rules,
    ) -> Vec<Position> {
        let waits = self.expected_waits(self.queue.len(), now, wall, rules);
        let mut out = Vec::new();
        for (i, e) in self.queue.iter_mut().enumerate() {
            if !e.ready {
                continue;
            }
            let position = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let estimate_minutes = waits
                .as_ref()
                .and_then(|w| w.get(i))
                .map(|d| minutes_up(*d));
            if e.published != Some((position, estimate_minutes)) {
                e.published = Some((position, estimate_minutes));
                out.push(Position {
                    conversation: e.conversation,
                    position,
                    estimate_minutes,
                });
            }
        }
        out
    }

    /// Whether a counsellor is staffing the desk for coverage: connected, and either in a
    /// chat or ready to take one (not paused, not held back by a registration due). A
    /// disconnected, paused or stuck counsellor does not silence a coverage warning.
    fn counts_for_coverage(p: &Presence, rules: &Rules) -> bool {
        p.connected
            && !p.gone
            && p.identity.role == StaffRole::Counsellor
            && (p.load > 0 || (p.available && !Self::held_by_registration(p, rules)))
    }

    /// Counsellors staffing the desk (see [`Self::counts_for_coverage`]), and of those of
    /// the medical discipline: what the board's coverage warnings and the coverage
    /// statistics count.
    pub(crate) fn coverage_counts(&self, rules: &Rules) -> (u32, u32) {
        let mut n = 0u32;
        let mut medical = 0u32;
        for p in self
            .counsellors
            .values()
            .filter(|p| Self::counts_for_coverage(p, rules))
        {
            n = n.saturating_add(1);
            if p.identity.discipline == Discipline::Medical {
                medical = medical.saturating_add(1);
            }
        }
        (n, medical)
    }

    /// Where a staff member stands, in the order a coordinator needs to know it.
    fn presence_status(p: &Presence, wall: DateTime<Utc>, rules: &Rules) -> PresenceStatus {
        if p.gone {
            PresenceStatus::Offline
        } else if !p.connected {
            PresenceStatus::Disconnected
        } else if Self::held_by_registration(p, rules) {
            PresenceStatus::Registering
        } else if !p.available {
            PresenceStatus::Paused
        } else if !Self::before_shift_margin(p, wall, rules) {
            PresenceStatus::ShiftEnding
        } else if p.load >= p.identity.capacity {
            PresenceStatus::Full
        } else {
            PresenceStatus::Available
        }
    }

    /// The coordinator's view.
    pub(crate) fn board_parts(
        &self,
        now: Instant,
        wall: DateTime<Utc>,
        rules: &Rules,
        min_counsellors: u32,
        want_medical: bool,
    ) -> (
        Vec<CounsellorStatus>,
        u32,
        u64,
        Vec<RunningChat>,
        Vec<CoverageWarning>,
    ) {
        let counsellors: Vec<CounsellorStatus> = self
            .counsellors
            .values()
            .filter(|p| {
                p.identity.role == StaffRole::Counsellor
                    || p.load > 0
                    || p.available
                    || !p.registrations_due.is_empty()
            })
            .map(|p| {
                let status = Self::presence_status(p, wall, rules);
                CounsellorStatus {
                    staff: p.identity.id.clone(),
                    alias: p.identity.alias.clone(),
                    discipline: p.identity.discipline,
                    load: p.load,
                    capacity: p.identity.capacity,
                    available: matches!(status, PresenceStatus::Available | PresenceStatus::Full),
                    registrations_due: u32::try_from(p.registrations_due.len()).unwrap_or(u32::MAX),
                    shift_ends_at: p.shift_ends_at,
                    status,
                    connected: p.connected,
                    away_secs: p
                        .away_since
                        .filter(|_| !p.connected)
                        .map(|t| now.saturating_duration_since(t).as_secs()),
                    pending_registrations: p.registrations_due.iter().copied().collect(),
                }
            })
            .collect();
        let longest = self
            .queue
            .iter()
            .map(|e| now.saturating_duration_since(e.arrived).as_secs())
            .max()
            .unwrap_or(0);
        let mut running: Vec<RunningChat> = self
            .running
            .iter()
            .map(|(id, r)| RunningChat {
                conversation: *id,
                counsellor: Some(r.counsellor.clone()),
                minutes: u32::try_from(now.saturating_duration_since(r.started).as_secs() / 60)
                    .unwrap_or(u32::MAX),
                reconnecting: r.reconnecting,
            })
            .collect();
        running.sort_by(|a, b| {
            b.minutes
                .cmp(&a.minutes)
                .then(a.conversation.cmp(&b.conversation))
        });
        let (n, medical) = self.coverage_counts(rules);
        let mut warnings = Vec::new();
        if n < min_counsellors {
            warnings.push(CoverageWarning::TooFewCounsellors {
                online: n,
                minimum: min_counsellors,
            });
        }
        if want_medical && medical == 0 {
            warnings.push(CoverageWarning::NoMedicalCounsellor);
        }
        let queue_length = u32::try_from(self.queue.len()).unwrap_or(u32::MAX);
        (counsellors, queue_length, longest, running, warnings)
    }

    /// Checks the invariants (used by the property tests and debug builds).
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) -> std::result::Result<(), String> {
        let mut seen = BTreeSet::new();
        for e in &self.queue {
            if !seen.insert(e.conversation) {
                return Err(format!("{} queued twice", e.conversation));
            }
            if self.running.contains_key(&e.conversation) {
                return Err(format!("{} both waiting and running", e.conversation));
            }
        }
        for (id, p) in &self.counsellors {
            let n = self
                .running
                .values()
                .filter(|r| &r.counsellor == id)
                .count();
            if n as u32 != p.load {
                return Err(format!("{id}: load {} but {n} running", p.load));
            }
            if p.load > p.identity.capacity {
                return Err(format!(
                    "{id}: load {} over capacity {}",
                    p.load, p.identity.capacity
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::DefaultRouter;
    use chrono::TimeZone;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Arrive {
            health: bool,
            prank: bool,
        },
        Leave(usize),
        Online {
            discipline: u8,
            capacity: u32,
            shift_minutes: Option<u32>,
        },
        Offline(usize),
        Pause(usize, bool),
        Drop(usize, bool),
        Finish(usize),
        Register(usize),
        Move(usize, usize),
        Advance(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<bool>(), any::<bool>()).prop_map(|(health, prank)| Op::Arrive { health, prank }),
            1 => any::<usize>().prop_map(Op::Leave),
            2 => (0u8..4, 1u32..4, proptest::option::of(0u32..120))
                .prop_map(|(discipline, capacity, shift_minutes)| Op::Online { discipline, capacity, shift_minutes }),
            1 => any::<usize>().prop_map(Op::Offline),
            1 => (any::<usize>(), any::<bool>()).prop_map(|(i, b)| Op::Pause(i, b)),
            1 => (any::<usize>(), any::<bool>()).prop_map(|(i, b)| Op::Drop(i, b)),
            3 => any::<usize>().prop_map(Op::Finish),
            2 => any::<usize>().prop_map(Op::Register),
            1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::Move(a, b)),
            1 => (1u32..30).prop_map(Op::Advance),
        ]
    }

    /// The wait estimate the plain way: every free slot and every running chat's expected
    /// end in one heap (what `expected_waits` computes with its shortcuts).
    fn reference_waits(
        st: &DeskState,
        n: usize,
        now: Instant,
        wall: DateTime<Utc>,
        rules: &Rules,
    ) -> Option<Vec<Duration>> {
        let mean = st.mean_duration();
        let serving: Vec<&Presence> = st
            .counsellors
            .values()
            .filter(|p| DeskState::eligible_ignoring_load(p, wall, rules))
            .collect();
        let mut slots: BinaryHeap<Reverse<Duration>> = BinaryHeap::new();
        for p in &serving {
            for _ in p.load..p.identity.capacity {
                slots.push(Reverse(Duration::ZERO));
            }
        }
        for r in st
            .running
            .values()
            .filter(|r| serving.iter().any(|p| p.identity.id == r.counsellor))
        {
            let elapsed = now.saturating_duration_since(r.started);
            let expected = mean.saturating_sub(elapsed).max(mean / 10);
            slots.push(Reverse(
                expected.min(rules.chat_limit.saturating_sub(elapsed)),
            ));
        }
        if slots.is_empty() {
            return None;
        }
        let mut out = Vec::new();
        while out.len() < n {
            let Reverse(t) = slots.pop()?;
            out.push(t);
            slots.push(Reverse(t + mean));
        }
        Some(out)
    }

    fn pick<T: Clone>(v: &[T], i: usize) -> Option<T> {
        (!v.is_empty()).then(|| v[i % v.len()].clone())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Under any interleaving of arrivals, departures, presence changes, ends and
        /// transfers: no client is ever given to two counsellors, nobody goes over
        /// capacity, and the loads add up.
        #[test]
        fn assignment_is_atomic_under_any_interleaving(ops in proptest::collection::vec(op(), 1..120)) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
            rt.block_on(async move {
                let mut st = DeskState::default();
                let rules = Rules { shift_end_margin: Duration::from_secs(30 * 60), require_registration: true, chat_limit: Duration::from_secs(45 * 60) };
                let mut wall = Utc.with_ymd_and_hms(2022, 3, 2, 14, 0, 0).unwrap();
                let mut staff: Vec<StaffId> = Vec::new();
                let mut ever_assigned: BTreeSet<ConversationId> = BTreeSet::new();
                let mut due: Vec<(StaffId, ConversationId)> = Vec::new();
                for (n, op) in ops.into_iter().enumerate() {
                    let now = Instant::now();
                    match op {
                        Op::Arrive { health, prank } => {
                            let c = ConversationId::random();
                            let delay = if prank { Duration::from_secs(600) } else { Duration::ZERO };
                            st.enqueue(c, now, health, delay, Vec::new());
                            st.mark_ready(c);
                        }
                        Op::Leave(i) => {
                            let waiting: Vec<_> = st.queue.iter().map(|e| e.conversation).collect();
                            if let Some(c) = pick(&waiting, i) { st.remove_waiting(c); }
                        }
                        Op::Online { discipline, capacity, shift_minutes } => {
                            let id = StaffId::new(format!("s{n}"));
                            let discipline = [Discipline::Medical, Discipline::Paramedical, Discipline::SocialWork, Discipline::PsychoPedagogical][discipline as usize];
                            let identity = StaffIdentity { id: id.clone(), alias: id.0.clone(), role: StaffRole::Counsellor, discipline, desks: vec![], capacity, centre: None };
                            st.online(identity, shift_minutes.map(|m| wall + chrono::Duration::minutes(i64::from(m))), false, now);
                            staff.push(id);
                        }
                        Op::Offline(i) => if let Some(s) = pick(&staff, i) { st.offline(&s) },
                        Op::Pause(i, b) => if let Some(s) = pick(&staff, i) { let _ = st.set_available(&s, b); },
                        Op::Drop(i, b) => if let Some(s) = pick(&staff, i) { if b { st.staff_reconnected(&s); } else if let Some(epoch) = st.staff_disconnected(&s, now) { if n % 2 == 0 { for c in st.staff_expired(&s, epoch, now) { ever_assigned.remove(&c); } } } },
                        Op::Finish(i) => {
                            let running: Vec<_> = st.running.keys().copied().collect();
                            if let Some(c) = pick(&running, i) {
                                if let Some(s) = st.finish(c, now, true) { due.push((s, c)); }
                            }
                        }
                        Op::Register(i) => if let Some((_, c)) = pick(&due, i) { st.clear_due(c); },
                        Op::Move(i, j) => {
                            let running: Vec<_> = st.running.keys().copied().collect();
                            if let (Some(c), Some(s)) = (pick(&running, i), pick(&staff, j)) {
                                let _ = st.move_chat(c, &s, false);
                            }
                        }
                        Op::Advance(m) => {
                            tokio::time::advance(Duration::from_secs(u64::from(m) * 60)).await;
                            wall += chrono::Duration::minutes(i64::from(m));
                        }
                    }
                    let assigned = st.assign(Instant::now(), wall, &rules, &DefaultRouter);
                    for a in &assigned {
                        prop_assert!(ever_assigned.insert(a.conversation), "{} assigned twice", a.conversation);
                    }
                    if let Err(e) = st.check_invariants() { prop_assert!(false, "{}", e); }
                    for k in [0, 1, st.queue_len(), st.queue_len() + 1, st.queue_len() + 7] {
                        prop_assert_eq!(
                            st.expected_waits(k, now, wall, &rules),
                            reference_waits(&st, k, now, wall, &rules),
                            "the wait estimate of {} places", k
                        );
                    }
                    let _ = st.changed_positions(Instant::now(), wall, &rules);
                }
                Ok(())
            })?;
        }
    }

    #[test]
    fn the_estimate_follows_running_chats_and_is_none_without_counsellors() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let rules = Rules {
                shift_end_margin: Duration::from_secs(1800),
                require_registration: true,
                chat_limit: Duration::from_secs(2700),
            };
            let wall = Utc.with_ymd_and_hms(2022, 3, 2, 14, 0, 0).unwrap();
            let mut st = DeskState::default();
            let now = Instant::now();
            assert_eq!(st.estimate_for_newcomer(now, wall, &rules), None);
            let id = StaffId::new("a");
            st.online(
                StaffIdentity {
                    id: id.clone(),
                    alias: "a".into(),
                    role: StaffRole::Counsellor,
                    discipline: Discipline::Medical,
                    desks: vec![],
                    capacity: 2,
                    centre: None,
                },
                None,
                false,
                now,
            );
            assert_eq!(
                st.estimate_for_newcomer(now, wall, &rules),
                Some(Duration::ZERO)
            );
            for _ in 0..2 {
                let c = ConversationId::random();
                st.enqueue(c, now, false, Duration::ZERO, Vec::new());
                st.mark_ready(c);
            }
            assert_eq!(st.assign(now, wall, &rules, &DefaultRouter).len(), 2);
            // Two running chats, just started: the next client waits about one mean chat.
            assert_eq!(
                st.estimate_for_newcomer(now, wall, &rules),
                Some(DEFAULT_MEAN_CHAT)
            );
            // 40 minutes in, a mean-length chat is overdue but the limit is 5 minutes away.
            let later = now + Duration::from_secs(40 * 60);
            let est = st.estimate_for_newcomer(later, wall, &rules).unwrap();
            assert_eq!(
                est,
                DEFAULT_MEAN_CHAT / 10,
                "overdue chats count as nearly done"
            );
        });
    }
}
