//! The report computed in plain Rust over records in memory: the reference the SQL stores
//! are checked against (the conformance suite runs both on one fixture), and what the
//! in-memory store answers.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::{
    client_type_rank, ClientFigures, CoverageFigures, CoverageSample, DeskFigures, EventFigures,
    EventQuery, PeriodCount, ReportData, ReportQuery, ThemeClient, ThemeFigures, TopicCount,
    Totals, COVERAGE_SAMPLE_VALID_FOR,
};
use crate::event::EndReason;
use crate::ids::{ConversationId, DeskId};
use crate::registration::{ChatResult, ClientType, FoundVia, Gender, Rating, Registration};
use crate::store::ConversationMeta;

/// What the report reads.
pub(crate) struct Records<'a> {
    pub(crate) conversations: Vec<&'a ConversationMeta>,
    pub(crate) registrations: &'a HashMap<ConversationId, Registration>,
    pub(crate) ratings: &'a HashMap<ConversationId, Rating>,
    pub(crate) coverage: Vec<&'a CoverageSample>,
}

#[derive(Default)]
struct Mean {
    sum: f64,
    n: u64,
}

impl Mean {
    fn add(&mut self, x: f64) {
        self.sum += x;
        self.n += 1;
    }
    fn get(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }
}

fn secs(d: chrono::Duration) -> f64 {
    d.num_nanoseconds()
        .map_or(d.num_seconds() as f64, |ns| ns as f64 / 1e9)
}

/// The client type of a chat: the registration's, else the self-report.
fn client_type(c: &ConversationMeta, r: Option<&Registration>) -> Option<ClientType> {
    r.map(|r| r.client_type).or(c.profile.client_type)
}

/// The nearest-rank percentile `p` (0-100) of sorted values.
pub(crate) fn nearest_rank(sorted: &[f64], p: u32) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = (n * p as usize).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// Computes the report (see the definitions in [`super`]).
pub(crate) fn compute(query: &ReportQuery, records: &Records<'_>) -> ReportData {
    let in_scope = |c: &&ConversationMeta| query.desk.as_ref().is_none_or(|d| d == &c.desk);
    let scoped: Vec<&ConversationMeta> = records
        .conversations
        .iter()
        .copied()
        .filter(in_scope)
        .collect();
    let in_period: Vec<&ConversationMeta> = scoped
        .iter()
        .copied()
        .filter(|c| query.period.contains(c.arrived_at))
        .collect();
    let reg = |c: &ConversationMeta| records.registrations.get(&c.id);
    let rating = |c: &ConversationMeta| records.ratings.get(&c.id);

    // Totals.
    let mut t = Totals {
        arrivals: in_period.len() as u64,
        ..Totals::default()
    };
    let (mut duration, mut wait, mut abandoned_wait, mut stars) = (
        Mean::default(),
        Mean::default(),
        Mean::default(),
        Mean::default(),
    );
    let mut waits = Vec::new();
    let mut reasons: BTreeMap<String, (EndReason, u64)> = BTreeMap::new();
    for c in &in_period {
        match c.end_reason {
            Some(EndReason::AbandonedInQueue) if c.started_at.is_none() => {
                t.abandoned_in_queue += 1;
                if let Some(end) = c.ended_at {
                    abandoned_wait.add(secs(end - c.arrived_at));
                }
            }
            Some(EndReason::RefusedBeforeClosing) => t.refused_before_closing += 1,
            Some(EndReason::ClosedAtClosingTime) => t.closed_at_closing_time += 1,
            Some(EndReason::RefusedQueueFull) => t.refused_queue_full += 1,
            _ => {}
        }
        let Some(started) = c.started_at else {
            continue;
        };
        t.chats += 1;
        let w = secs(started - c.arrived_at);
        wait.add(w);
        waits.push(w);
        if let (Some(ended), Some(reason)) = (c.ended_at, c.end_reason) {
            t.ended += 1;
            duration.add(secs(ended - started));
            let key = serde_json::to_string(&reason).unwrap_or_default();
            reasons.entry(key).or_insert((reason, 0)).1 += 1;
        }
        if let Some(r) = reg(c) {
            t.registrations += 1;
            t.fake_calls += u64::from(r.fake_call);
        }
        if let Some(r) = rating(c) {
            t.ratings += 1;
            stars.add(f64::from(r.stars));
        }
    }
    waits.sort_by(f64::total_cmp);
    t.mean_duration_secs = duration.get();
    t.mean_wait_secs = wait.get();
    t.p90_wait_secs = nearest_rank(&waits, 90);
    t.mean_wait_abandoned_secs = abandoned_wait.get();
    t.chats_by_end_reason = reasons.into_values().collect();
    t.mean_stars = stars.get();

    // By client type.
    #[derive(Default)]
    struct Acc {
        chats: u64,
        duration: Mean,
        stars: Mean,
        registrations: u64,
        fake: u64,
        topics: BTreeMap<String, u64>,
        results: BTreeMap<ChatResult, u64>,
        found: BTreeMap<FoundVia, u64>,
        age: Mean,
        genders: BTreeMap<u8, u64>,
    }
    let mut by_type: BTreeMap<u8, (Option<ClientType>, Acc)> = BTreeMap::new();
    for c in in_period.iter().filter(|c| c.started_at.is_some()) {
        let r = reg(c);
        let ct = client_type(c, r);
        let a = &mut by_type
            .entry(client_type_rank(ct))
            .or_insert_with(|| (ct, Acc::default()))
            .1;
        a.chats += 1;
        if let (Some(s), Some(e), Some(_)) = (c.started_at, c.ended_at, c.end_reason) {
            a.duration.add(secs(e - s));
        }
        if let Some(x) = rating(c) {
            a.stars.add(f64::from(x.stars));
        }
        if let Some(r) = r {
            a.registrations += 1;
            a.fake += u64::from(r.fake_call);
            let mut seen = Vec::new();
            for topic in &r.topics {
                if !seen.contains(&topic) {
                    seen.push(topic);
                    *a.topics.entry(topic.clone()).or_default() += 1;
                }
            }
            for res in ChatResult::ALL {
                if r.results.contains(res) {
                    *a.results.entry(*res).or_default() += 1;
                }
            }
            if let Some(f) = r.found_via {
                *a.found.entry(f).or_default() += 1;
            }
            if let Some(age) = r.age {
                a.age.add(f64::from(age));
            }
            if let Some(g) = r.gender {
                *a.genders.entry(gender_rank(g)).or_default() += 1;
            }
        }
    }
    let clients = by_type
        .into_values()
        .map(|(ct, a)| {
            let mut topics: Vec<TopicCount> = a
                .topics
                .into_iter()
                .map(|(topic, chats)| TopicCount { topic, chats })
                .collect();
            topics.sort_by(|x, y| y.chats.cmp(&x.chats).then(x.topic.cmp(&y.topic)));
            ClientFigures {
                client_type: ct,
                chats: a.chats,
                ended: a.duration.n,
                mean_duration_secs: a.duration.get(),
                ratings: a.stars.n,
                mean_stars: a.stars.get(),
                registrations: a.registrations,
                fake_calls: a.fake,
                topics,
                results: ChatResult::ALL
                    .iter()
                    .map(|r| (*r, a.results.get(r).copied().unwrap_or(0)))
                    .collect(),
                found_via: FoundVia::ALL
                    .iter()
                    .map(|f| (*f, a.found.get(f).copied().unwrap_or(0)))
                    .collect(),
                ages: a.age.n,
                mean_age: a.age.get(),
                genders: [Gender::F, Gender::M, Gender::X]
                    .into_iter()
                    .map(|g| (g, a.genders.get(&gender_rank(g)).copied().unwrap_or(0)))
                    .collect(),
            }
        })
        .collect();

    // Per period tables (school years reach outside the report's period).
    let count_in = |p: &super::Period| {
        let mut pc = PeriodCount {
            period: p.clone(),
            chats: 0,
            students: 0,
            parents: 0,
        };
        for c in scoped
            .iter()
            .filter(|c| c.started_at.is_some() && p.contains(c.arrived_at))
        {
            pc.chats += 1;
            match client_type(c, reg(c)) {
                Some(ClientType::Student) => pc.students += 1,
                Some(ClientType::Parent) => pc.parents += 1,
                _ => {}
            }
        }
        pc
    };
    let months = query.months.iter().map(count_in).collect();
    let school_years = query.school_years.iter().map(count_in).collect();

    // The theme.
    let theme = query.theme.as_ref().map(|q| {
        let mut f = ThemeFigures {
            query: q.clone(),
            chats: 0,
            about_theme: 0,
            clients: Vec::new(),
            mean_duration_secs: None,
            ratings: 0,
            mean_stars: None,
        };
        let (mut duration, mut stars) = (Mean::default(), Mean::default());
        let mut by: BTreeMap<u8, (Option<ClientType>, u64, Mean)> = BTreeMap::new();
        for c in scoped
            .iter()
            .filter(|c| c.started_at.is_some() && q.period.contains(c.arrived_at))
        {
            f.chats += 1;
            let Some(r) = reg(c).filter(|r| r.topics.iter().any(|x| q.topics.contains(x))) else {
                continue;
            };
            f.about_theme += 1;
            let e = by.entry(client_type_rank(Some(r.client_type))).or_insert((
                Some(r.client_type),
                0,
                Mean::default(),
            ));
            e.1 += 1;
            if let Some(age) = r.age {
                e.2.add(f64::from(age));
            }
            if let (Some(s), Some(end), Some(_)) = (c.started_at, c.ended_at, c.end_reason) {
                duration.add(secs(end - s));
            }
            if let Some(x) = rating(c) {
                stars.add(f64::from(x.stars));
            }
        }
        f.clients = by
            .into_values()
            .map(|(client_type, chats, age)| ThemeClient {
                client_type,
                chats,
                ages: age.n,
                mean_age: age.get(),
            })
            .collect();
        f.mean_duration_secs = duration.get();
        f.ratings = stars.n;
        f.mean_stars = stars.get();
        f
    });

    // Per desk.
    let mut desks: BTreeMap<DeskId, (u64, Mean, Mean)> = BTreeMap::new();
    for c in in_period.iter().filter(|c| c.started_at.is_some()) {
        let e = desks
            .entry(c.desk.clone())
            .or_insert((0, Mean::default(), Mean::default()));
        e.0 += 1;
        if let (Some(s), Some(end), Some(_)) = (c.started_at, c.ended_at, c.end_reason) {
            e.1.add(secs(end - s));
        }
        if let Some(x) = rating(c) {
            e.2.add(f64::from(x.stars));
        }
    }
    let desks = desks
        .into_iter()
        .map(|(desk, (chats, d, s))| DeskFigures {
            desk,
            chats,
            mean_duration_secs: d.get(),
            ratings: s.n,
            mean_stars: s.get(),
        })
        .collect();

    ReportData {
        query: query.clone(),
        totals: t,
        clients,
        months,
        school_years,
        theme,
        desks,
        coverage: coverage(query, &records.coverage),
        events: query
            .events
            .iter()
            .map(|e| event(e, &scoped, records))
            .collect(),
    }
}

/// One event's figures: the chats that arrived at its desk in its windows.
fn event(e: &EventQuery, scoped: &[&ConversationMeta], records: &Records<'_>) -> EventFigures {
    let mut f = EventFigures::empty(e.clone());
    let (mut duration, mut stars) = (Mean::default(), Mean::default());
    let mut clients: BTreeMap<u8, (Option<ClientType>, u64)> = BTreeMap::new();
    for c in scoped.iter().filter(|c| e.contains(&c.desk, c.arrived_at)) {
        f.arrivals += 1;
        let Some(started) = c.started_at else {
            continue;
        };
        f.chats += 1;
        let t = client_type(c, records.registrations.get(&c.id));
        clients.entry(client_type_rank(t)).or_insert((t, 0)).1 += 1;
        if let (Some(ended), Some(_)) = (c.ended_at, c.end_reason) {
            f.ended += 1;
            duration.add(secs(ended - started));
        }
        if let Some(r) = records.ratings.get(&c.id) {
            f.ratings += 1;
            stars.add(f64::from(r.stars));
        }
    }
    f.clients = clients.into_values().collect();
    f.mean_duration_secs = duration.get();
    f.mean_stars = stars.get();
    f
}

fn gender_rank(g: Gender) -> u8 {
    match g {
        Gender::F => 0,
        Gender::M => 1,
        Gender::X => 2,
    }
}

/// Each sample holds until the next one of its desk, at most
/// [`COVERAGE_SAMPLE_VALID_FOR`], cut to the period and to `as_of`.
fn coverage(query: &ReportQuery, samples: &[&CoverageSample]) -> Vec<CoverageFigures> {
    let valid = chrono::Duration::from_std(COVERAGE_SAMPLE_VALID_FOR)
        .unwrap_or_else(|_| chrono::Duration::minutes(65));
    let end = query.period.until.min(query.as_of);
    let mut by_desk: BTreeMap<&DeskId, Vec<&CoverageSample>> = BTreeMap::new();
    for s in samples
        .iter()
        .filter(|s| query.desk.as_ref().is_none_or(|d| d == &s.desk))
    {
        by_desk.entry(&s.desk).or_default().push(s);
    }
    let mut out = Vec::new();
    for (desk, mut list) in by_desk {
        list.sort_by_key(|s| s.at);
        let mut f = CoverageFigures {
            desk: desk.clone(),
            open_secs: 0,
            below_minimum_secs: 0,
            no_medical_secs: 0,
        };
        let mut any = false;
        for (i, s) in list.iter().enumerate() {
            let next = list.get(i + 1).map(|n| n.at);
            let until: DateTime<Utc> = [Some(s.at + valid), next, Some(end)]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(end);
            let from = s.at.max(query.period.from);
            if until <= from {
                continue;
            }
            any = true;
            if !s.open {
                continue;
            }
            let d = u64::try_from((until - from).num_seconds()).unwrap_or(0);
            f.open_secs += d;
            if s.counsellors < s.minimum {
                f.below_minimum_secs += d;
            }
            if s.medical_wanted && s.medical == 0 {
                f.no_medical_secs += d;
            }
        }
        if any {
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::nearest_rank;

    #[test]
    fn the_nearest_rank_percentile_is_a_value_of_the_data() {
        assert_eq!(nearest_rank(&[], 90), None);
        assert_eq!(nearest_rank(&[5.0], 90), Some(5.0));
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(nearest_rank(&ten, 90), Some(9.0));
        let eleven: Vec<f64> = (1..=11).map(f64::from).collect();
        assert_eq!(nearest_rank(&eleven, 90), Some(10.0));
        assert_eq!(nearest_rank(&ten, 100), Some(10.0));
    }
}
