//! The staffing answer (`clbchat simulate --target "p90-wait=2m,abandon=5%"`): the smallest
//! number of counsellors per hour of the week that meets the target in the simulation,
//! written in the schedule's own format, with Erlang C's and Erlang A's answers beside it
//! and why they differ where they do.
//!
//! **The search.** Hours are not independent (a queue left at 18:00 is 18:00-19:00's
//! problem; a shift's end takes counsellors out half an hour early), so the search plays
//! whole weeks, always with the same seed (the same visitors: a change in the answer is the
//! staffing's doing, not chance's):
//! 1. start from theory's answer (Erlang A with a patience, else Erlang C), at least one;
//! 2. play; add a counsellor to every hour that misses the target (and keep the next hour
//!    at least as staffed: a counsellor who leaves at the end of an hour takes no new chat
//!    in its last half hour, as at the real desk); repeat until every hour meets it (or
//!    has the most counsellors allowed);
//! 3. then, hour by hour, take one away where every hour still meets the target without it.
//!
//! Every staffed hour keeps (at least) one medical counsellor, the desk's aim, and the
//! chats each counsellor takes at once from the schedule given (1 where it gives none).
//! An hour that misses the target even with the most counsellors allowed is said, with the
//! best figures found.

use super::erlang::{ErlangA, ErlangC, Hour};
use super::model::{Lengths, Scenario, Schedule, Slot, WEEK_HOURS};
use super::report::{figures, hour_label, Figures, HourFigures};
use super::run::play;
use crate::error::{Error, Result};
use crate::report::labels::Lang;

/// What each hour must meet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// Nine in ten wait at most this many minutes.
    pub p90_wait: Option<f64>,
    /// At most this share does not get a chat (left, turned away, sent home).
    pub not_served: Option<f64>,
}

impl Target {
    /// Reads `p90-wait=2m,abandon=5%` (a wait in `m`, `min` or `s`; a share in `%`).
    pub fn parse(text: &str) -> Result<Target> {
        let bad = |m: String| {
            Err(Error::Scenario(format!(
                "--target: {m}; write e.g. \"p90-wait=2m,abandon=5%\""
            )))
        };
        let mut target = Target {
            p90_wait: None,
            not_served: None,
        };
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = part.split_once('=') else {
                return bad(format!("`{part}` has no `=`"));
            };
            let value = value.trim().to_lowercase();
            match key.trim().to_lowercase().as_str() {
                "p90-wait" => {
                    let (number, scale) = if let Some(n) = value.strip_suffix("min") {
                        (n, 1.0)
                    } else if let Some(n) = value.strip_suffix('m') {
                        (n, 1.0)
                    } else if let Some(n) = value.strip_suffix('s') {
                        (n, 1.0 / 60.0)
                    } else {
                        return bad(format!("`{value}` has no unit (m or s)"));
                    };
                    match number.trim().parse::<f64>() {
                        Ok(n) if n.is_finite() && n >= 0.0 => target.p90_wait = Some(n * scale),
                        _ => return bad(format!("`{value}` is not a wait")),
                    }
                }
                "abandon" => {
                    let Some(n) = value.strip_suffix('%') else {
                        return bad(format!("`{value}` is not a percentage"));
                    };
                    match n.trim().parse::<f64>() {
                        Ok(n) if (0.0..=100.0).contains(&n) => target.not_served = Some(n / 100.0),
                        _ => return bad(format!("`{value}` is not a percentage from 0 to 100")),
                    }
                }
                other => return bad(format!("`{other}` is not a target (p90-wait, abandon)")),
            }
        }
        if target.p90_wait.is_none() && target.not_served.is_none() {
            return bad("no target given".into());
        }
        Ok(target)
    }

    /// Whether the hour meets it (an hour nobody came to does).
    pub fn met(&self, h: &HourFigures) -> bool {
        if h.offered == 0 {
            return true;
        }
        // Nobody queued in the hour: nobody waited.
        let wait = self
            .p90_wait
            .is_none_or(|t| h.p90_wait.is_none_or(|w| w <= t + 1e-9));
        let served = self
            .not_served
            .is_none_or(|a| h.not_served_share().is_some_and(|s| s <= a + 1e-9));
        wait && served
    }

    /// As the command line writes it.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(w) = self.p90_wait {
            parts.push(format!("p90-wait={}m", (w * 100.0).round() / 100.0));
        }
        if let Some(a) = self.not_served {
            parts.push(format!("abandon={}%", (a * 1000.0).round() / 10.0));
        }
        parts.join(",")
    }
}

/// Why the simulation's answer for an hour differs from theory's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The desk opens this hour: the queue starts empty.
    Opening,
    /// The desk closes after this hour, or shifts end: in a shift's last half hour a
    /// counsellor takes no new chat, and nobody is let in who would wait past closing.
    ClosingOrShiftEnd,
    /// The chat limit cuts the longest chats.
    Limit,
    /// Health questions wait for the medical counsellor.
    Medical,
    /// Chat lengths are not exponential (theory assumes they are).
    Lengths,
    /// A counsellor needs time to register each chat (theory has none).
    WrapUp,
}

impl Reason {
    /// Whether it makes the desk need more counsellors than theory (`Some(true)`), fewer
    /// (`Some(false)`), or either, depending on the hour (`None`).
    pub fn needs_more(self) -> Option<bool> {
        match self {
            Reason::Opening | Reason::Limit => Some(false),
            Reason::ClosingOrShiftEnd | Reason::Medical | Reason::WrapUp => Some(true),
            Reason::Lengths => None,
        }
    }

    /// In words, Dutch first.
    pub fn describe(self, nl: bool) -> &'static str {
        match (self, nl) {
            (Reason::Opening, true) => "de chat gaat open: de wachtrij begint leeg",
            (Reason::Opening, false) => "the desk opens: the queue starts empty",
            (Reason::ClosingOrShiftEnd, true) => {
                "shiften eindigen: in het laatste halfuur krijgt niemand nog een nieuwe chat"
            }
            (Reason::ClosingOrShiftEnd, false) => {
                "shifts end: in their last half hour nobody gets a new chat"
            }
            (Reason::Limit, true) => "de limiet van 45 minuten kort de langste chats in",
            (Reason::Limit, false) => "the 45-minute limit cuts the longest chats",
            (Reason::Medical, true) => "gezondheidsvragen wachten op de medische hulpverlener",
            (Reason::Medical, false) => "health questions wait for the medical counsellor",
            (Reason::Lengths, true) => {
                "chats zijn niet exponentieel lang (veel korte, een lange staart)"
            }
            (Reason::Lengths, false) => {
                "chat lengths are not exponential (many short, a long tail)"
            }
            (Reason::WrapUp, true) => "registreren na elke chat kost tijd",
            (Reason::WrapUp, false) => "registering after each chat takes time",
        }
    }
}

/// One hour's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct HourAdvice {
    /// Hour of the week.
    pub hour: usize,
    /// Counsellors the simulation needs.
    pub simulated: u32,
    /// Erlang C's answer (`None`: no number of places up to the most allowed meets it).
    pub erlang_c: Option<u32>,
    /// Erlang A's answer (`None`: no patience given, or none meets it).
    pub erlang_a: Option<u32>,
    /// Whether the simulation met the target with `simulated`.
    pub met: bool,
    /// Why the simulation differs from theory, where it does.
    pub why: Vec<Reason>,
}

/// The answer.
#[derive(Debug, Clone)]
pub struct Advice {
    /// The target.
    pub target: Target,
    /// The recommended schedule.
    pub schedule: Schedule,
    /// Its simulation.
    pub figures: Figures,
    /// Per staffed hour.
    pub hours: Vec<HourAdvice>,
    /// Plays the search took.
    pub plays: u32,
}

impl Advice {
    /// The hours that miss the target even with the most counsellors allowed.
    pub fn unmet(&self) -> Vec<&HourAdvice> {
        self.hours.iter().filter(|h| !h.met).collect()
    }
}

/// The smallest `n` up to `max` whose places meet the target in `model(n)`.
fn smallest(max: u32, mut meets: impl FnMut(u32) -> bool) -> Option<u32> {
    (1..=max).find(|&n| meets(n))
}

fn theory_answers(
    s: &Scenario,
    target: &Target,
    h: usize,
    capacity: u32,
    max: u32,
) -> (Option<u32>, Option<u32>) {
    let per_minute = s.arrivals[h] / 60.0;
    let hour = |n: u32| Hour {
        arrivals: per_minute,
        mean_length: s.lengths.mean(),
        places: n * capacity,
    };
    let wait_ok = |p90: f64| target.p90_wait.is_none_or(|t| p90 <= t);
    let c = smallest(max, |n| {
        ErlangC::of(hour(n)).is_ok_and(|c| c.stable() && wait_ok(c.p90_wait()))
    });
    let a = s.patience.mean().and_then(|patience| {
        smallest(max, |n| {
            ErlangA::of(hour(n), patience).is_ok_and(|a| {
                wait_ok(a.p90_wait())
                    && target.not_served.is_none_or(|x| a.abandon_probability <= x)
            })
        })
    });
    (c, a)
}

/// Searches the staffing (see the module docs) with at most `max` counsellors an hour.
pub fn search(base: &Scenario, target: &Target, max: u32) -> Result<Advice> {
    base.check()?;
    if max == 0 {
        return Err(Error::Scenario("--max-counsellors: at least 1".into()));
    }
    let open: Vec<usize> = (0..WEEK_HOURS)
        .filter(|&h| base.arrivals[h] > 0.0)
        .collect();
    if open.is_empty() {
        return Err(Error::Scenario(
            "no visitors are expected in any hour: there is nothing to staff".into(),
        ));
    }
    let capacity = |h: usize| base.schedule.slot(h).capacity.max(1);
    let medical = |h: usize, n: u32| n.min(base.schedule.slot(h).medical.max(1));
    let theory: Vec<(Option<u32>, Option<u32>)> = (0..WEEK_HOURS)
        .map(|h| {
            if base.arrivals[h] > 0.0 {
                theory_answers(base, target, h, capacity(h), max)
            } else {
                (None, None)
            }
        })
        .collect();
    let mut n = vec![0u32; WEEK_HOURS];
    for &h in &open {
        let (c, a) = theory[h];
        n[h] = a.or(c).unwrap_or(max).clamp(1, max);
    }
    let schedule_of = |n: &[u32]| Schedule {
        hours: (0..WEEK_HOURS)
            .map(|h| {
                (n[h] > 0).then(|| Slot {
                    counsellors: n[h],
                    medical: medical(h, n[h]),
                    capacity: capacity(h),
                })
            })
            .collect(),
    };
    let mut plays = 0u32;
    let mut evaluate = |n: &[u32]| -> Result<(Scenario, Figures)> {
        let scenario = Scenario {
            schedule: schedule_of(n),
            ..base.clone()
        };
        let played = play(&scenario)?;
        plays += 1;
        let f = figures(&scenario, &played);
        Ok((scenario, f))
    };
    let met_in = |f: &Figures, h: usize| {
        f.hours
            .iter()
            .find(|x| x.hour == h)
            .is_none_or(|x| target.met(x))
    };
    // Up until every hour meets it (or is at the most).
    let (mut scenario, mut f) = evaluate(&n)?;
    for _ in 0..(2 * max) {
        let mut changed = false;
        for &h in &open {
            if !met_in(&f, h) && n[h] < max {
                n[h] += 1;
                changed = true;
                // Who leaves at the end of the hour takes no new chat in its last half
                // hour: the next hour keeps as many, so the added counsellor serves the
                // whole hour (the pass down takes away what is not needed).
                let next = (h + 1) % WEEK_HOURS;
                if base.arrivals[next] > 0.0 && n[next] < n[h] {
                    n[next] = n[h];
                }
            }
        }
        if !changed {
            break;
        }
        (scenario, f) = evaluate(&n)?;
    }
    // Then down, hour by hour, where every hour still meets it.
    let all_met = |f: &Figures, n: &[u32]| open.iter().all(|&h| met_in(f, h) || n[h] >= max);
    if all_met(&f, &n) {
        for &h in &open {
            while n[h] > 1 {
                n[h] -= 1;
                let (s2, f2) = evaluate(&n)?;
                if all_met(&f2, &n) {
                    (scenario, f) = (s2, f2);
                } else {
                    n[h] += 1;
                    break;
                }
            }
        }
    }
    let hours = open
        .iter()
        .map(|&h| {
            let (c, a) = theory[h];
            let reference = a.or(c);
            // Only what pushes the way the simulation differs: more counsellors than theory
            // for what theory leaves out that costs time, fewer for what saves it.
            let why = match reference {
                Some(r) if r == n[h] => Vec::new(),
                Some(r) => reasons(&scenario, h)
                    .into_iter()
                    .filter(|reason| {
                        reason.needs_more() == Some(n[h] > r) || reason.needs_more().is_none()
                    })
                    .collect(),
                None => reasons(&scenario, h),
            };
            HourAdvice {
                hour: h,
                simulated: n[h],
                erlang_c: c,
                erlang_a: a,
                met: met_in(&f, h),
                why,
            }
        })
        .collect();
    Ok(Advice {
        target: *target,
        schedule: scenario.schedule.clone(),
        figures: f,
        hours,
        plays,
    })
}

/// What about hour `h` of `s` theory does not know.
fn reasons(s: &Scenario, h: usize) -> Vec<Reason> {
    let mut out = Vec::new();
    let before = s.schedule.slot((h + WEEK_HOURS - 1) % WEEK_HOURS);
    let now = s.schedule.slot(h);
    let after = s.schedule.slot((h + 1) % WEEK_HOURS);
    if before.counsellors == 0 {
        out.push(Reason::Opening);
    }
    if after.counsellors < now.counsellors
        || after.capacity != now.capacity
        || after.medical != now.medical
    {
        out.push(Reason::ClosingOrShiftEnd);
    }
    if let Some(limit) = s.chat_limit_minutes {
        let over = s.lengths.share_over(limit);
        if over > 0.01 {
            out.push(Reason::Limit);
        }
    }
    if s.health_share > 0.0 && now.medical < now.counsellors {
        out.push(Reason::Medical);
    }
    if !matches!(s.lengths, Lengths::Exponential { .. }) {
        out.push(Reason::Lengths);
    }
    if s.wrap_up_minutes > 0.0 {
        out.push(Reason::WrapUp);
    }
    out
}

/// The answer's table: its header and one row per staffed hour (the hour, the
/// simulation's answer, Erlang C's, Erlang A's, why they differ).
pub fn markdown_rows(a: &Advice, lang: Lang) -> (Vec<String>, Vec<Vec<String>>) {
    let nl = lang == Lang::Nl;
    let head = vec![
        lang.pick("uur", "hour").to_owned(),
        lang.pick("simulatie", "simulation").to_owned(),
        "Erlang C".to_owned(),
        "Erlang A".to_owned(),
        lang.pick("waarom anders", "why different").to_owned(),
    ];
    let n = |x: Option<u32>| x.map_or_else(|| "–".to_owned(), |x| x.to_string());
    let rows = a
        .hours
        .iter()
        .map(|h| {
            let why: Vec<&str> = h.why.iter().map(|r| r.describe(nl)).collect();
            vec![
                hour_label(lang, h.hour),
                format!("{}{}", h.simulated, if h.met { "" } else { " (!)" }),
                n(h.erlang_c),
                n(h.erlang_a),
                why.join("; "),
            ]
        })
        .collect();
    (head, rows)
}

/// The answer as markdown: the table, then the hours that miss the target.
pub fn markdown(a: &Advice, lang: Lang) -> String {
    use std::fmt::Write as _;
    let nl = lang == Lang::Nl;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {} ({})\n",
        if nl {
            "Aanbevolen bezetting"
        } else {
            "Recommended staffing"
        },
        a.target.describe()
    );
    let _ = writeln!(
        out,
        "{}\n",
        if nl {
            "Het kleinste aantal hulpverleners per uur dat in de simulatie het doel haalt, met het antwoord van Erlang C en Erlang A ernaast."
        } else {
            "The fewest counsellors per hour that meet the target in the simulation, with Erlang C's and Erlang A's answers beside it."
        }
    );
    let (head, rows) = markdown_rows(a, lang);
    let _ = writeln!(
        out,
        "| {} |\n|{}",
        head.join(" | "),
        "---|".repeat(head.len())
    );
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    let unmet = a.unmet();
    if !unmet.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            if nl {
                "(!) Het doel wordt niet gehaald, ook niet met het grootste toegelaten aantal:"
            } else {
                "(!) The target is not met, not even with the most counsellors allowed:"
            }
        );
        for h in unmet {
            if let Some(f) = a.figures.hours.iter().find(|x| x.hour == h.hour) {
                let _ = writeln!(
                    out,
                    "- {}: {} {}, p90 {} min, {}% {}",
                    hour_label(lang, h.hour),
                    h.simulated,
                    if nl { "hulpverleners" } else { "counsellors" },
                    lang.decimal(f.p90_wait.unwrap_or(0.0), 1),
                    lang.decimal(f.not_served_share().unwrap_or(0.0) * 100.0, 0),
                    if nl { "niet geholpen" } else { "not served" }
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::model::hour_name;

    #[test]
    fn a_target_is_read_and_its_mistakes_named() {
        assert_eq!(
            Target::parse("p90-wait=2m,abandon=5%").unwrap(),
            Target {
                p90_wait: Some(2.0),
                not_served: Some(0.05)
            }
        );
        assert_eq!(Target::parse("p90-wait=90s").unwrap().p90_wait, Some(1.5));
        for (bad, want) in [
            ("p90-wait=2", "no unit"),
            ("abandon=5", "not a percentage"),
            ("abandon=150%", "from 0 to 100"),
            ("speed=3", "`speed` is not a target"),
            ("", "no target given"),
            ("p90-wait", "has no `=`"),
        ] {
            let e = Target::parse(bad).unwrap_err().to_string();
            assert!(e.contains(want), "{bad}: {e}");
        }
    }

    /// Wednesday 14:00-17:00 at 10 visitors an hour.
    fn afternoon(weeks: u32) -> Scenario {
        let mut arrivals = vec![0.0; WEEK_HOURS];
        let mut hours = vec![None; WEEK_HOURS];
        for h in (2 * 24 + 14)..(2 * 24 + 17) {
            arrivals[h] = 10.0;
            hours[h] = Some(Slot {
                counsellors: 1,
                medical: 1,
                capacity: 1,
            });
        }
        Scenario {
            arrivals,
            lengths: Lengths::Exponential { mean_minutes: 18.5 },
            patience: crate::simulate::model::Patience::Exponential { mean_minutes: 8.0 },
            health_share: 0.0,
            chat_limit_minutes: Some(45.0),
            wrap_up_minutes: 0.0,
            schedule: Schedule { hours },
            weeks,
            seed: 3,
            desk: None,
        }
    }

    #[test]
    fn the_answer_meets_the_target_and_one_fewer_does_not() {
        let target = Target::parse("p90-wait=2m,abandon=5%").unwrap();
        let base = afternoon(3);
        let advice = search(&base, &target, 12).unwrap();
        assert!(advice.unmet().is_empty(), "{:?}", advice.hours);
        assert_eq!(advice.hours.len(), 3);
        for h in &advice.hours {
            let f = advice
                .figures
                .hours
                .iter()
                .find(|x| x.hour == h.hour)
                .unwrap();
            assert!(target.met(f), "{f:?}");
            assert_eq!(f.slot.counsellors, h.simulated);
            assert_eq!(f.slot.medical, 1, "one medical counsellor an hour");
            assert!(h.erlang_c.is_some() && h.erlang_a.is_some());
        }
        // Taking one away from any hour misses the target somewhere.
        for h in &advice.hours {
            let mut fewer = advice.schedule.clone();
            if let Some(slot) = fewer.hours[h.hour].as_mut() {
                slot.counsellors -= 1;
                slot.medical = slot.medical.min(slot.counsellors);
            }
            let scenario = Scenario {
                schedule: fewer,
                ..base.clone()
            };
            let f = figures(&scenario, &play(&scenario).unwrap());
            assert!(
                f.hours.iter().any(|x| !target.met(x)),
                "{}: one fewer still meets the target",
                hour_name(h.hour)
            );
        }
        // The schedule it writes reads back.
        let again = Schedule::from_csv(&advice.schedule.to_csv(), "again.csv").unwrap();
        assert_eq!(again, advice.schedule);
    }

    #[test]
    fn a_target_no_staffing_meets_says_so_with_the_best_found() {
        let target = Target::parse("p90-wait=0s,abandon=0%").unwrap();
        let advice = search(&afternoon(1), &target, 2).unwrap();
        let unmet = advice.unmet();
        assert!(!unmet.is_empty());
        assert!(
            unmet.iter().all(|h| h.simulated == 2),
            "the best found: the most allowed"
        );
        let text = markdown(&advice, Lang::Nl);
        assert!(
            text.contains("niet gehaald, ook niet met het grootste toegelaten aantal"),
            "{text}"
        );
        assert!(text.contains("wo 14-15 u: 2 hulpverleners"), "{text}");
        let e = search(
            &Scenario {
                arrivals: vec![0.0; WEEK_HOURS],
                ..afternoon(1)
            },
            &target,
            2,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("nothing to staff"), "{e}");
    }
}
