//! Password guessing: failed logins slow down, per account and per connection, and a
//! connection that keeps failing waits before it may try again; never a lock-out.
//!
//! # The rules
//!
//! - **Per connection** ([`LoginAttempts`], kept by the transport for each socket): after
//!   the first failure, every further attempt on that connection is answered only after
//!   [`connection_delay`]: 1 s, 2 s, 4 s … up to [`CONNECTION_MAX_DELAY`]. After
//!   [`CONNECTION_FAILURES_BEFORE_WAIT`] failures in a row the connection must wait
//!   [`CONNECTION_WAIT`] before it may try again at all; it is told so (`too_many_attempts`
//!   with the seconds to wait), and the transport may close it.
//! - **Per account**: after [`ACCOUNT_FREE_FAILURES`] failures in a row for one user name
//!   (forgotten after [`FAILURE_MEMORY`] without one), every attempt for that name, from any
//!   connection, is checked only after [`account_delay`], at most [`ACCOUNT_MAX_DELAY`].
//!
//! Why no lock-out: a rule that refuses an account after N failures is a rule an attacker
//! can use to keep a counsellor out of their evening shift. Here the right password always
//! works; under attack it costs the counsellor at most [`ACCOUNT_MAX_DELAY`] on a fresh
//! connection. Guessing, meanwhile, is held to one answer per few seconds per connection,
//! behind the engine-wide limit of two Argon2 computations at a time.
//!
//! Coordinators see, on their desk's board, the accounts of their desk with at least
//! [`BOARD_THRESHOLD`] failures in the last hour. Failures for names that are no account
//! are counted the same (the answer never says which half was wrong) but shown to nobody.
//! Nothing here is stored or logged with a password; the state is in memory and bounded
//! ([`MAX_TRACKED_NAMES`]).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::event::LoginFailures;
use crate::ids::DeskId;

/// Failures in a row for one user name that cost nothing extra.
pub const ACCOUNT_FREE_FAILURES: u32 = 5;
/// The longest an attempt for an account under attack waits before it is checked.
pub const ACCOUNT_MAX_DELAY: Duration = Duration::from_secs(8);
/// Failures for a name are forgotten after this long without a new one.
pub const FAILURE_MEMORY: Duration = Duration::from_secs(15 * 60);
/// The longest an attempt on a connection that failed before waits.
pub const CONNECTION_MAX_DELAY: Duration = Duration::from_secs(16);
/// Failures in a row on one connection after which it must wait [`CONNECTION_WAIT`].
pub const CONNECTION_FAILURES_BEFORE_WAIT: u32 = 8;
/// How long a connection that failed [`CONNECTION_FAILURES_BEFORE_WAIT`] times waits.
pub const CONNECTION_WAIT: Duration = Duration::from_secs(60);
/// Failures in the last hour from which the board shows an account.
pub const BOARD_THRESHOLD: u32 = 5;
/// User names whose failures are tracked at most (the oldest are dropped beyond).
pub const MAX_TRACKED_NAMES: usize = 10_000;

const HOUR: Duration = Duration::from_secs(3600);

/// The wait before an attempt for an account with `failures` failures in a row.
pub fn account_delay(failures: u32) -> Duration {
    match failures.checked_sub(ACCOUNT_FREE_FAILURES) {
        None => Duration::ZERO,
        Some(over) => Duration::from_secs(1u64 << over.min(10)).min(ACCOUNT_MAX_DELAY),
    }
}

/// The wait before an attempt on a connection with `failures` failures in a row.
pub fn connection_delay(failures: u32) -> Duration {
    match failures {
        0 => Duration::ZERO,
        n => Duration::from_secs(1u64 << (n - 1).min(10)).min(CONNECTION_MAX_DELAY),
    }
}

/// One connection's failed logins; the transport keeps one per socket.
#[derive(Debug, Default, Clone)]
pub struct LoginAttempts {
    failures: u32,
    blocked_until: Option<Instant>,
}

impl LoginAttempts {
    /// Failures in a row on this connection.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// How long this connection must still wait before it may try at all, if it must.
    pub fn must_wait(&self, now: Instant) -> Option<Duration> {
        self.blocked_until
            .filter(|t| *t > now)
            .map(|t| t.saturating_duration_since(now))
    }

    pub(crate) fn failed(&mut self, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        if self.failures >= CONNECTION_FAILURES_BEFORE_WAIT {
            self.blocked_until = Some(now + CONNECTION_WAIT);
            self.failures = 0;
        }
    }

    pub(crate) fn succeeded(&mut self) {
        self.failures = 0;
        self.blocked_until = None;
    }
}

#[derive(Debug)]
struct NameFailures {
    in_a_row: u32,
    last: Instant,
    last_hour: VecDeque<Instant>,
    desks: Vec<DeskId>,
}

/// Failed logins per user name, engine-wide.
#[derive(Debug)]
pub(crate) struct LoginGuard {
    names: Mutex<HashMap<String, NameFailures>>,
    unit: Duration,
}

impl Default for LoginGuard {
    fn default() -> Self {
        Self::new(DEFAULT_DELAY_UNIT)
    }
}

/// The step of the delays: [`account_delay`] and [`connection_delay`] count in it.
pub const DEFAULT_DELAY_UNIT: Duration = Duration::from_secs(1);

/// `delay` (whole seconds, as the rules above give it) counted in `unit` instead.
fn in_unit(delay: Duration, unit: Duration) -> Duration {
    unit.saturating_mul(u32::try_from(delay.as_secs()).unwrap_or(u32::MAX))
}

fn key(username: &str) -> String {
    username.trim().to_lowercase()
}

impl LoginGuard {
    /// A guard whose delays step by `unit` instead of [`DEFAULT_DELAY_UNIT`] (a test of the
    /// whole server that must reach `too_many_attempts` in milliseconds; the wait of
    /// [`CONNECTION_WAIT`] a connection is told about stays as it is).
    pub(crate) fn new(unit: Duration) -> Self {
        Self {
            names: Mutex::default(),
            unit,
        }
    }

    /// The wait before an attempt for `username` on a connection with `attempts` is
    /// checked: the longer of the account's and the connection's delay.
    pub(crate) fn delay_for(
        &self,
        username: &str,
        attempts: &LoginAttempts,
        now: Instant,
    ) -> Duration {
        let names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        let account = names
            .get(&key(username))
            .filter(|f| now.saturating_duration_since(f.last) < FAILURE_MEMORY)
            .map_or(Duration::ZERO, |f| account_delay(f.in_a_row));
        in_unit(
            account.max(connection_delay(attempts.failures())),
            self.unit,
        )
    }

    /// Records a failure; `desks` are the desks of the account of that name (none for a
    /// name that is no account).
    pub(crate) fn failed(&self, username: &str, desks: Vec<DeskId>, now: Instant) {
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        if names.len() >= MAX_TRACKED_NAMES && !names.contains_key(&key(username)) {
            // Keep the map bounded: forget what is stale, else the oldest.
            names.retain(|_, f| now.saturating_duration_since(f.last) < HOUR);
            if names.len() >= MAX_TRACKED_NAMES {
                if let Some(oldest) = names
                    .iter()
                    .min_by_key(|(_, f)| f.last)
                    .map(|(k, _)| k.clone())
                {
                    names.remove(&oldest);
                }
            }
        }
        let f = names.entry(key(username)).or_insert_with(|| NameFailures {
            in_a_row: 0,
            last: now,
            last_hour: VecDeque::new(),
            desks: Vec::new(),
        });
        if now.saturating_duration_since(f.last) >= FAILURE_MEMORY {
            f.in_a_row = 0;
        }
        f.in_a_row = f.in_a_row.saturating_add(1);
        f.last = now;
        if !desks.is_empty() {
            // Names are compared without case; a spelling that is no account keeps the
            // desks learned from the one that is.
            f.desks = desks;
        }
        f.last_hour.push_back(now);
        while f
            .last_hour
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= HOUR)
            || f.last_hour.len() > 1_000
        {
            f.last_hour.pop_front();
        }
    }

    /// A login succeeded: the name starts afresh (the board keeps the hour's count).
    pub(crate) fn succeeded(&self, username: &str) {
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = names.get_mut(&key(username)) {
            f.in_a_row = 0;
        }
    }

    /// The accounts of `desk` with at least [`BOARD_THRESHOLD`] failures in the last hour,
    /// most failures first.
    pub(crate) fn for_board(&self, desk: &DeskId, now: Instant) -> Vec<LoginFailures> {
        let names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<LoginFailures> = names
            .iter()
            .filter(|(_, f)| f.desks.contains(desk))
            .filter_map(|(name, f)| {
                let n = f
                    .last_hour
                    .iter()
                    .filter(|t| now.saturating_duration_since(**t) < HOUR)
                    .count();
                let n = u32::try_from(n).unwrap_or(u32::MAX);
                (n >= BOARD_THRESHOLD).then(|| LoginFailures {
                    username: name.clone(),
                    last_hour: n,
                    minutes_ago: u32::try_from(
                        now.saturating_duration_since(f.last).as_secs() / 60,
                    )
                    .unwrap_or(u32::MAX),
                })
            })
            .collect();
        out.sort_by(|a, b| {
            b.last_hour
                .cmp(&a.last_hour)
                .then(a.username.cmp(&b.username))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_bounded() {
        assert_eq!(account_delay(0), Duration::ZERO);
        assert_eq!(account_delay(ACCOUNT_FREE_FAILURES - 1), Duration::ZERO);
        assert_eq!(account_delay(ACCOUNT_FREE_FAILURES), Duration::from_secs(1));
        assert_eq!(
            account_delay(ACCOUNT_FREE_FAILURES + 2),
            Duration::from_secs(4)
        );
        assert_eq!(account_delay(u32::MAX), ACCOUNT_MAX_DELAY);
        assert_eq!(connection_delay(0), Duration::ZERO);
        assert_eq!(connection_delay(1), Duration::from_secs(1));
        assert_eq!(connection_delay(3), Duration::from_secs(4));
        assert_eq!(connection_delay(u32::MAX), CONNECTION_MAX_DELAY);
    }
}
