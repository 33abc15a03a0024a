//! A desk's own history as a simulation's visitors: arrivals per hour of the week, chat
//! lengths and patience, read from its store (metadata only: never a message).
//!
//! - **Arrivals.** For each hour of the week, the visitors who came in it divided by the
//!   number of weeks the desk was open in that hour (by its calendar): a closed holiday
//!   week does not lower a school week's rate. Visitors refused at the door count: they
//!   came.
//! - **Lengths.** Every served chat that ended: from the counsellor's join to the end,
//!   drawn from as they are (the limit, the many short chats and the long tail come with
//!   them).
//! - **Patience.** The visitors who left the queue are the only ones whose patience is seen;
//!   everyone else's was at least their wait. For an exponential patience the estimate that
//!   uses both is the time everyone spent queueing divided by the number who left (the
//!   maximum-likelihood estimate with the served as censored). No one left: endless.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use chrono_tz::Tz;
use clbchat_core::calendar::Calendar;
use clbchat_core::event::EndReason;
use clbchat_core::ids::DeskId;
use clbchat_core::store::{ConversationFilter, ConversationState, Store};

use super::model::{Lengths, Patience, WEEK_HOURS};
use crate::error::{Error, Result};

/// What a desk's history says about its visitors.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    /// Visitors per hour, per hour of the week (in the calendar's time zone).
    pub arrivals: Vec<f64>,
    /// Chat lengths.
    pub lengths: Lengths,
    /// Patience.
    pub patience: Patience,
    /// The share of visitors who said they have a health question.
    pub health_share: f64,
    /// Visitors in the period.
    pub visitors: usize,
    /// Chats served and ended in the period.
    pub chats: usize,
    /// Visitors who left the queue.
    pub left: usize,
}

/// The hour of the week of `at` in `tz` (Monday 00:00 = 0).
fn hour_of_week(at: DateTime<Utc>, tz: Tz) -> usize {
    let local = at.with_timezone(&tz);
    local.weekday().num_days_from_monday() as usize * 24 + local.hour() as usize
}

/// Reads the history of `desk` in `[from, to)`, its opening hours from `calendar`.
pub async fn from_store(
    store: &dyn Store,
    desk: &DeskId,
    calendar: &Calendar,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<History> {
    if from >= to {
        return Err(Error::Scenario(
            "history: the period must start before it ends".into(),
        ));
    }
    let tz = calendar.time_zone;
    let chats = store
        .conversations(&ConversationFilter {
            desk: Some(desk.clone()),
            arrived_from: Some(from),
            arrived_until: Some(to),
            ..ConversationFilter::default()
        })
        .await?;
    let period = || {
        format!(
            "{} to {}",
            from.with_timezone(&tz).format("%Y-%m-%d"),
            to.with_timezone(&tz).format("%Y-%m-%d")
        )
    };
    if chats.is_empty() {
        return Err(Error::Scenario(format!(
            "history: desk `{desk}` has no visitors from {}; give the arrivals in a \
             parameter file instead (--params)",
            period()
        )));
    }
    // The weeks each hour of the week was open, by the calendar (at the hour's middle).
    let mut open_weeks = vec![0u32; WEEK_HOURS];
    let mut t = from;
    while t < to {
        let middle = t + Duration::minutes(30);
        if calendar.is_open(middle) {
            open_weeks[hour_of_week(middle, tz)] += 1;
        }
        t += Duration::hours(1);
    }
    let mut came = vec![0u32; WEEK_HOURS];
    let mut lengths = Vec::new();
    let mut queued_minutes = 0.0;
    let mut left = 0usize;
    let health = chats.iter().filter(|c| c.profile.health_question).count();
    for c in &chats {
        came[hour_of_week(c.arrived_at, tz)] += 1;
        let minutes =
            |a: DateTime<Utc>, b: DateTime<Utc>| (b - a).num_milliseconds() as f64 / 60_000.0;
        match (c.started_at, c.ended_at, c.end_reason) {
            (Some(start), end, _) => {
                queued_minutes += minutes(c.arrived_at, start).max(0.0);
                if let (Some(end), ConversationState::Ended) = (end, c.state) {
                    let length = minutes(start, end);
                    if length > 0.0 {
                        lengths.push(length);
                    }
                }
            }
            (None, Some(end), Some(EndReason::AbandonedInQueue)) => {
                queued_minutes += minutes(c.arrived_at, end).max(0.0);
                left += 1;
            }
            (None, Some(end), Some(EndReason::ClosedAtClosingTime)) => {
                queued_minutes += minutes(c.arrived_at, end).max(0.0);
            }
            _ => {}
        }
    }
    if lengths.is_empty() {
        return Err(Error::Scenario(format!(
            "history: desk `{desk}` has no ended chat from {}, so no chat lengths to draw; \
             give them in a parameter file instead (--params)",
            period()
        )));
    }
    // In a fixed order, so that one seed draws the same lengths whatever order the store
    // lists chats in.
    lengths.sort_by(f64::total_cmp);
    let arrivals = (0..WEEK_HOURS)
        .map(|h| {
            if open_weeks[h] == 0 {
                0.0
            } else {
                f64::from(came[h]) / f64::from(open_weeks[h])
            }
        })
        .collect();
    let patience = if left == 0 {
        Patience::Endless
    } else {
        Patience::Exponential {
            mean_minutes: (queued_minutes / left as f64).max(0.1),
        }
    };
    Ok(History {
        arrivals,
        visitors: chats.len(),
        chats: lengths.len(),
        left,
        lengths: Lengths::Sampled { minutes: lengths },
        patience,
        health_share: health as f64 / chats.len() as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use clbchat_core::calendar::WeeklyHours;
    use clbchat_core::event::ClientProfile;
    use clbchat_core::ids::ConversationId;
    use clbchat_core::store::memory::MemoryStore;
    use clbchat_core::store::ConversationMeta;

    /// Open on Wednesdays 14:00-17:00, Brussels time.
    fn wednesdays() -> Calendar {
        Calendar {
            weekly: vec![WeeklyHours {
                day: chrono::Weekday::Wed,
                open: chrono::NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
                close: chrono::NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
            }],
            ..Calendar::always_open()
        }
    }

    fn brussels(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        chrono_tz::Europe::Brussels
            .with_ymd_and_hms(2022, 3, d, h, m, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    async fn visit(
        store: &MemoryStore,
        arrived: DateTime<Utc>,
        started: Option<DateTime<Utc>>,
        ended: DateTime<Utc>,
        reason: EndReason,
    ) {
        store
            .put_conversation(&ConversationMeta {
                id: ConversationId::random(),
                desk: DeskId::new("clbchat"),
                pseudonym: None,
                profile: ClientProfile::default(),
                state: ConversationState::Ended,
                counsellor: None,
                arrived_at: arrived,
                started_at: started,
                ended_at: Some(ended),
                end_reason: Some(reason),
                resume_token_hash: "h".into(),
            })
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn the_history_gives_rates_per_open_week_lengths_and_patience() {
        let store = MemoryStore::new();
        // Two Wednesdays (2 and 9 March 2022) in a period of two weeks.
        // 2 March 15:xx: a chat of 20 minutes after 4 minutes' wait; one who left after 6.
        visit(
            &store,
            brussels(2, 15, 0),
            Some(brussels(2, 15, 4)),
            brussels(2, 15, 24),
            EndReason::ClientLeft,
        )
        .await;
        visit(
            &store,
            brussels(2, 15, 10),
            None,
            brussels(2, 15, 16),
            EndReason::AbandonedInQueue,
        )
        .await;
        // 9 March 15:xx: a chat of 30 minutes straight away.
        visit(
            &store,
            brussels(9, 15, 30),
            Some(brussels(9, 15, 30)),
            brussels(9, 16, 0),
            EndReason::CounsellorEnded,
        )
        .await;
        let h = from_store(
            &store,
            &DeskId::new("clbchat"),
            &wednesdays(),
            brussels(1, 0, 0),
            brussels(15, 0, 0),
        )
        .await
        .unwrap();
        let wed15 = 2 * 24 + 15;
        assert_eq!(
            h.arrivals[wed15], 1.5,
            "three visitors over two open Wednesdays"
        );
        assert_eq!(h.arrivals[wed15 + 1], 0.0);
        assert_eq!(h.arrivals.iter().filter(|r| **r > 0.0).count(), 1);
        assert_eq!(
            h.lengths,
            Lengths::Sampled {
                minutes: vec![20.0, 30.0]
            }
        );
        // 4 + 6 + 0 minutes queued, one who left: a mean patience of 10 minutes.
        assert_eq!(h.patience, Patience::Exponential { mean_minutes: 10.0 });
        assert_eq!((h.visitors, h.chats, h.left), (3, 2, 1));
        assert_eq!(h.health_share, 0.0);

        let e = from_store(
            &store,
            &DeskId::new("clbchat"),
            &wednesdays(),
            brussels(20, 0, 0),
            brussels(27, 0, 0),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("has no visitors from 2022-03-20 to 2022-03-27"),
            "{e}"
        );
        assert!(e.contains("--params"), "{e}");
    }
}
