//! The `Router` port: who gets the next waiting client.
//!
//! The desk applies the hard rules first and offers the router only eligible counsellors:
//! in the desk's team, connected, available (not paused), below capacity, no registration
//! due (when the desk requires it), and not within the shift-end margin. Clients are
//! offered in queue order (oldest first, a suspected prank queued as if later). The router
//! chooses among the eligible; the choice is applied atomically under the desk's lock, so
//! a client never gets two counsellors and nobody goes over capacity, whatever the router
//! returns.

use std::time::Duration;

use crate::account::StaffIdentity;
use crate::event::Discipline;
use crate::ids::{ConversationId, StaffId};

/// A waiting client, as the router sees them.
#[derive(Debug, Clone)]
pub struct WaitingClient<'a> {
    /// The conversation.
    pub conversation: ConversationId,
    /// How long they have waited.
    pub waited: Duration,
    /// They signalled a health question.
    pub health_question: bool,
    /// An appointment: only these may take it, the first (its counsellor) before the
    /// second (the stand-in). Empty: anyone.
    pub reserved_for: &'a [StaffId],
}

/// An eligible counsellor.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// Who.
    pub staff: &'a StaffIdentity,
    /// Chats running now.
    pub load: u32,
    /// Since their last assignment (or going online).
    pub idle_for: Duration,
}

/// Chooses a counsellor for a client.
pub trait Router: Send + Sync + 'static {
    /// The index in `candidates` of the chosen one, or `None` to leave the client waiting.
    fn choose(&self, client: &WaitingClient<'_>, candidates: &[Candidate<'_>]) -> Option<usize>;
}

/// The default policy: an appointment goes to its counsellor (or, when they are not there,
/// the stand-in) only; a health question to a
/// medical counsellor when one is eligible; other clients preferably to a non-medical one
/// (keeping the medical counsellor free for health questions) when there is a choice; then
/// the least loaded; then the one idle longest.
#[derive(Debug, Default, Clone, Copy)]
pub struct DefaultRouter;

impl Router for DefaultRouter {
    fn choose(&self, client: &WaitingClient<'_>, candidates: &[Candidate<'_>]) -> Option<usize> {
        if !client.reserved_for.is_empty() {
            return client
                .reserved_for
                .iter()
                .find_map(|r| candidates.iter().position(|c| &c.staff.id == r));
        }
        let medical = |c: &Candidate<'_>| c.staff.discipline == Discipline::Medical;
        let preferred: Vec<usize> = (0..candidates.len())
            .filter(|&i| medical(&candidates[i]) == client.health_question)
            .collect();
        let pool: Vec<usize> = if preferred.is_empty() {
            (0..candidates.len()).collect()
        } else {
            preferred
        };
        pool.into_iter().min_by(|&a, &b| {
            let (ca, cb) = (&candidates[a], &candidates[b]);
            ca.load
                .cmp(&cb.load)
                .then(cb.idle_for.cmp(&ca.idle_for))
                .then(ca.staff.id.cmp(&cb.staff.id))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::StaffRole;

    fn staff(id: &str, d: Discipline) -> StaffIdentity {
        StaffIdentity {
            id: StaffId::new(id),
            alias: id.into(),
            role: StaffRole::Counsellor,
            discipline: d,
            desks: vec![],
            capacity: 1,
            centre: None,
        }
    }

    #[test]
    fn health_question_goes_to_medical_others_keep_medical_free() {
        let (m, s) = (
            staff("m", Discipline::Medical),
            staff("s", Discipline::SocialWork),
        );
        let c = [
            Candidate {
                staff: &m,
                load: 0,
                idle_for: Duration::from_secs(100),
            },
            Candidate {
                staff: &s,
                load: 0,
                idle_for: Duration::from_secs(1),
            },
        ];
        let mut client = WaitingClient {
            conversation: ConversationId::random(),
            waited: Duration::ZERO,
            health_question: true,
            reserved_for: &[],
        };
        assert_eq!(DefaultRouter.choose(&client, &c), Some(0));
        client.health_question = false;
        assert_eq!(DefaultRouter.choose(&client, &c), Some(1));
        // Only the medical counsellor free: a non-health client still gets served.
        assert_eq!(DefaultRouter.choose(&client, &c[..1]), Some(0));
    }

    #[test]
    fn least_loaded_then_longest_idle_and_reservations_are_exclusive() {
        let (a, b) = (
            staff("a", Discipline::SocialWork),
            staff("b", Discipline::SocialWork),
        );
        let c = [
            Candidate {
                staff: &a,
                load: 1,
                idle_for: Duration::from_secs(500),
            },
            Candidate {
                staff: &b,
                load: 0,
                idle_for: Duration::from_secs(1),
            },
        ];
        let id = StaffId::new("a");
        let mut client = WaitingClient {
            conversation: ConversationId::random(),
            waited: Duration::ZERO,
            health_question: false,
            reserved_for: &[],
        };
        assert_eq!(DefaultRouter.choose(&client, &c), Some(1));
        let own = [id.clone()];
        client.reserved_for = &own;
        assert_eq!(DefaultRouter.choose(&client, &c), Some(0));
        let other = [StaffId::new("z")];
        client.reserved_for = &other;
        assert_eq!(DefaultRouter.choose(&client, &c), None);
        // The counsellor first; the stand-in when the counsellor is not there.
        let both = [StaffId::new("z"), id.clone()];
        client.reserved_for = &both;
        assert_eq!(DefaultRouter.choose(&client, &c), Some(0));
    }
}
