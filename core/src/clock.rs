//! The `Clock` port: wall time for calendars.
//!
//! Durations (time limits, grace periods) use `tokio::time`, so tests pause and advance them.
//! Calendars need the date and the hour, which tokio's `Instant` does not have; the clock
//! gives them. [`TokioClock`] ties the two together: it starts at a chosen wall time and
//! moves with tokio's clock, so a test with paused time sees an evening pass in both at once.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// Wall time.
pub trait Clock: Send + Sync + 'static {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that tests set and move by hand.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Set the time.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = to;
    }

    /// Move the time forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Wall time that starts at a given instant and advances with `tokio::time::Instant`.
///
/// With `#[tokio::test(start_paused = true)]` the whole engine (timers and calendar) runs on
/// virtual time, so a four-hour evening takes milliseconds.
#[derive(Debug)]
pub struct TokioClock {
    start_wall: DateTime<Utc>,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading `start_wall` now.
    pub fn starting_at(start_wall: DateTime<Utc>) -> Self {
        Self {
            start_wall,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = tokio::time::Instant::now().saturating_duration_since(self.start);
        self.start_wall + Duration::from_std(elapsed).unwrap_or(Duration::zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_follows_paused_time() {
        let start = Utc.with_ymd_and_hms(2022, 3, 2, 16, 0, 0).unwrap();
        let clock = TokioClock::starting_at(start);
        tokio::time::sleep(std::time::Duration::from_secs(90 * 60)).await;
        assert_eq!(clock.now(), start + Duration::minutes(90));
    }

    #[test]
    fn manual_clock_moves_by_hand() {
        let start = Utc.with_ymd_and_hms(2022, 3, 2, 16, 0, 0).unwrap();
        let clock = ManualClock::new(start);
        clock.advance(Duration::minutes(5));
        assert_eq!(clock.now(), start + Duration::minutes(5));
        clock.set(start);
        assert_eq!(clock.now(), start);
    }
}
