//! A play's figures per hour of the week, with Erlang C's and Erlang A's answers beside
//! them, written as markdown, CSV, or an HTML page with SVG charts like the annual
//! report's.
//!
//! Definitions (the same in every output and in `docs/simulate.md`):
//! - **offered**: visitors who came in the hour (over all weeks played);
//! - **served**: of those, who got a chat; **left**: left the queue before a counsellor came;
//!   **turned away**: refused at the door because the queue was full, or still waiting at
//!   closing time; **too late**: came when the desk was closed or about to close (within
//!   its closing margin), which is the desk's hours, not its staffing, and is left out of
//!   the share not served;
//! - **wait**: time in the queue, until a counsellor joined or the visitor left (so the
//!   share still waiting after `t` is Erlang A's `P(W > t)`); mean and 90th percentile;
//! - **utilisation**: chat minutes in the hour over the chat places' minutes (counsellors
//!   × chats each at once × 60 × weeks);
//! - **no medical**: hours (over the weeks) in which the desk was staffed without a medical
//!   counsellor.

use std::fmt::Write as _;

use super::erlang::{ErlangA, ErlangC, Hour};
use super::model::{hour_name, Scenario, Slot, DAYS_NL, WEEK_HOURS};
use super::run::{Outcome, Played};
use crate::error::Result;
use crate::report::charts::{self, Chart, Series};
use crate::report::html::html_escape;
use crate::report::labels::Lang;

/// Theory's answer for one hour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theory {
    /// Erlang C's 90th-percentile wait, minutes (infinite when the places cannot keep up).
    pub erlang_c_p90: f64,
    /// Erlang A's 90th-percentile wait, minutes (`None` without a patience).
    pub erlang_a_p90: Option<f64>,
    /// Erlang A's share who leave the queue.
    pub erlang_a_left: Option<f64>,
}

/// One hour of the week's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct HourFigures {
    /// Hour of the week (Monday 00:00 = 0).
    pub hour: usize,
    /// Who worked.
    pub slot: Slot,
    /// Visitors who came.
    pub offered: u64,
    /// Who got a chat.
    pub served: u64,
    /// Who left the queue.
    pub left: u64,
    /// Turned away (queue full) or sent home at closing.
    pub turned_away: u64,
    /// Came when the desk was closed or about to close.
    pub too_late: u64,
    /// Mean wait, minutes (`None`: nobody queued).
    pub mean_wait: Option<f64>,
    /// 90th-percentile wait, minutes.
    pub p90_wait: Option<f64>,
    /// Share of the chat places in use.
    pub utilisation: Option<f64>,
    /// Hours (over the weeks) staffed without a medical counsellor.
    pub no_medical: u32,
    /// Theory's answer for the hour (`None`: nobody comes or nobody works).
    pub theory: Option<Theory>,
}

impl HourFigures {
    /// Who did not get a chat, as a share of who came while the desk let people in.
    pub fn not_served_share(&self) -> Option<f64> {
        let came = self.offered - self.too_late;
        (came > 0).then(|| (self.left + self.turned_away) as f64 / came as f64)
    }
}

/// The figures of a play: the hours in which someone came or worked, in week order.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Weeks played.
    pub weeks: u32,
    /// The hours.
    pub hours: Vec<HourFigures>,
}

/// The 90th percentile of `xs` (nearest rank).
pub fn p90(xs: &mut [f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let rank = ((0.9 * xs.len() as f64).ceil() as usize).clamp(1, xs.len());
    Some(xs[rank - 1])
}

/// Theory's answer for an hour with `slot` at `per_hour` arrivals.
fn theory(s: &Scenario, slot: Slot, per_hour: f64) -> Option<Theory> {
    if per_hour <= 0.0 || slot.places() == 0 {
        return None;
    }
    let hour = Hour {
        arrivals: per_hour / 60.0,
        mean_length: s.lengths.mean(),
        places: slot.places(),
    };
    let c = ErlangC::of(hour).ok()?;
    let a = s.patience.mean().and_then(|p| ErlangA::of(hour, p).ok());
    Some(Theory {
        erlang_c_p90: c.p90_wait(),
        erlang_a_p90: a.as_ref().map(ErlangA::p90_wait),
        erlang_a_left: a.as_ref().map(|a| a.abandon_probability),
    })
}

/// The figures of `played`, a play of `scenario`.
pub fn figures(scenario: &Scenario, played: &Played) -> Figures {
    let weeks = played.weeks;
    let mut waits: Vec<Vec<f64>> = vec![Vec::new(); WEEK_HOURS];
    let mut busy = vec![0.0f64; WEEK_HOURS];
    let mut counts = vec![(0u64, 0u64, 0u64, 0u64, 0u64); WEEK_HOURS];
    for v in &played.visits {
        let c = &mut counts[v.hour];
        c.0 += 1;
        match v.outcome {
            Outcome::Served { wait, length } => {
                c.1 += 1;
                waits[v.hour].push(wait);
                // The chat's minutes, hour by hour.
                let (mut from, to) = (v.arrived + wait, v.arrived + wait + length);
                while from < to {
                    let h = (from / 60.0).floor();
                    let until = ((h + 1.0) * 60.0).min(to);
                    busy[h as usize % WEEK_HOURS] += until - from;
                    from = until;
                }
            }
            Outcome::Abandoned { after } => {
                c.2 += 1;
                waits[v.hour].push(after);
            }
            Outcome::SentHome { after } => {
                c.3 += 1;
                waits[v.hour].push(after);
            }
            Outcome::QueueFull => c.3 += 1,
            Outcome::TooLate => c.4 += 1,
        }
    }
    let hours = (0..WEEK_HOURS)
        .filter_map(|h| {
            let slot = scenario.schedule.slot(h);
            let (offered, served, left, turned_away, too_late) = counts[h];
            if offered == 0 && slot.counsellors == 0 {
                return None;
            }
            let w = &mut waits[h];
            let mean_wait = (!w.is_empty()).then(|| w.iter().sum::<f64>() / w.len() as f64);
            let place_minutes = f64::from(slot.places()) * 60.0 * f64::from(weeks);
            Some(HourFigures {
                hour: h,
                slot,
                offered,
                served,
                left,
                turned_away,
                too_late,
                mean_wait,
                p90_wait: p90(w),
                utilisation: (place_minutes > 0.0).then(|| busy[h] / place_minutes),
                no_medical: if slot.counsellors > 0 && slot.medical == 0 {
                    weeks
                } else {
                    0
                },
                theory: theory(scenario, slot, scenario.arrivals[h]),
            })
        })
        .collect();
    Figures { weeks, hours }
}

/// The whole play's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Visitors who came.
    pub offered: u64,
    /// Who got a chat.
    pub served: u64,
    /// Who left the queue.
    pub left: u64,
    /// Turned away (queue full) or sent home at closing.
    pub turned_away: u64,
    /// Came when the desk was closed or about to close.
    pub too_late: u64,
    /// Staffed hours without a medical counsellor.
    pub no_medical: u32,
    /// Staffed hours.
    pub staffed: u32,
}

/// The whole play's totals.
pub fn totals(f: &Figures) -> Totals {
    let mut t = Totals::default();
    for h in &f.hours {
        t.offered += h.offered;
        t.served += h.served;
        t.left += h.left;
        t.turned_away += h.turned_away;
        t.too_late += h.too_late;
        t.no_medical += h.no_medical;
        if h.slot.counsellors > 0 {
            t.staffed += f.weeks;
        }
    }
    t
}

/// An hour of the week as the outputs write it (`wo 14-15 u`, `wed 14:00-15:00`).
pub(crate) fn hour_label(lang: Lang, h: usize) -> String {
    match lang {
        Lang::Nl => format!("{} {:02}-{:02} u", DAYS_NL[h / 24], h % 24, h % 24 + 1),
        Lang::En => hour_name(h),
    }
}

fn minutes(lang: Lang, m: Option<f64>) -> String {
    match m {
        Some(m) if m.is_finite() => lang.decimal(m, 1),
        Some(_) => "∞".into(),
        None => lang.none().into(),
    }
}

fn percent(lang: Lang, x: Option<f64>) -> String {
    x.map_or_else(
        || lang.none().into(),
        |x| format!("{}%", lang.decimal(x * 100.0, 0)),
    )
}

/// The table's columns.
fn header(lang: Lang) -> Vec<&'static str> {
    vec![
        lang.pick("uur", "hour"),
        lang.pick("hulpverleners", "counsellors"),
        lang.pick("medisch", "medical"),
        lang.pick("chats per persoon", "chats each"),
        lang.pick("aangeboden", "offered"),
        lang.pick("geholpen", "served"),
        lang.pick("vertrokken", "left"),
        lang.pick("weggestuurd", "turned away"),
        lang.pick("te laat", "too late"),
        lang.pick("gem. wachttijd (min)", "mean wait (min)"),
        lang.pick("9 op 10 wachten hoogstens (min)", "p90 wait (min)"),
        lang.pick("bezetting", "utilisation"),
        lang.pick("uren zonder medisch", "hours without medical"),
        lang.pick(
            "Erlang C: 9 op 10 wachten hoogstens (min)",
            "Erlang C p90 (min)",
        ),
        lang.pick(
            "Erlang A: 9 op 10 wachten hoogstens (min)",
            "Erlang A p90 (min)",
        ),
        lang.pick("Erlang A vertrokken", "Erlang A left"),
    ]
}

fn row(lang: Lang, h: &HourFigures) -> Vec<String> {
    let t = h.theory;
    vec![
        hour_label(lang, h.hour),
        h.slot.counsellors.to_string(),
        h.slot.medical.to_string(),
        h.slot.capacity.to_string(),
        lang.count(h.offered),
        lang.count(h.served),
        lang.count(h.left),
        lang.count(h.turned_away),
        lang.count(h.too_late),
        minutes(lang, h.mean_wait),
        minutes(lang, h.p90_wait),
        percent(lang, h.utilisation),
        h.no_medical.to_string(),
        minutes(lang, t.map(|t| t.erlang_c_p90)),
        minutes(lang, t.and_then(|t| t.erlang_a_p90)),
        percent(lang, t.and_then(|t| t.erlang_a_left)),
    ]
}

fn title(lang: Lang, f: &Figures) -> String {
    match lang {
        Lang::Nl => format!(
            "Simulatie van de bezetting: {} {}",
            f.weeks,
            if f.weeks == 1 { "week" } else { "weken" }
        ),
        Lang::En => format!(
            "Staffing simulation: {} week{}",
            f.weeks,
            if f.weeks == 1 { "" } else { "s" }
        ),
    }
}

fn summary(lang: Lang, f: &Figures) -> Vec<String> {
    let t = totals(f);
    let (no_medical, staffed) = (t.no_medical, t.staffed);
    vec![
        match lang {
            Lang::Nl => format!(
                "{} bezoekers, {} geholpen, {} vertrokken uit de wachtrij, {} weggestuurd, {} te laat (de chat was dicht of ging bijna dicht).",
                lang.count(t.offered),
                lang.count(t.served),
                lang.count(t.left),
                lang.count(t.turned_away),
                lang.count(t.too_late)
            ),
            Lang::En => format!(
                "{} visitors, {} served, {} left the queue, {} turned away, {} too late (the desk was closed or about to close).",
                lang.count(t.offered),
                lang.count(t.served),
                lang.count(t.left),
                lang.count(t.turned_away),
                lang.count(t.too_late)
            ),
        },
        match lang {
            Lang::Nl => format!(
                "{no_medical} van de {staffed} bemande uren zonder medische hulpverlener online."
            ),
            Lang::En => format!(
                "{no_medical} of the {staffed} staffed hours without a medical counsellor online."
            ),
        },
        lang.pick(
            "Wachttijd: tijd in de wachtrij, tot een hulpverlener het gesprek aanneemt of de bezoeker vertrekt. Erlang C en Erlang A gaan uit van een uur dat eeuwig duurt, zonder limiet van 45 minuten, zonder einde van shiften en zonder medische voorrang.",
            "Wait: time in the queue, until a counsellor takes the chat or the visitor leaves. Erlang C and Erlang A assume an hour that lasts forever, with no 45-minute limit, no shift ends and no medical priority.",
        )
        .to_owned(),
    ]
}

/// As markdown.
pub fn markdown(f: &Figures, lang: Lang) -> String {
    let mut out = format!("# {}\n\n", title(lang, f));
    for l in summary(lang, f) {
        let _ = writeln!(out, "{l}\n");
    }
    let head = header(lang);
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(head.len()));
    for h in &f.hours {
        let _ = writeln!(out, "| {} |", row(lang, h).join(" | "));
    }
    out
}

/// As CSV: one row an hour, plain numbers (a dot for decimals), for a spreadsheet.
pub fn csv(f: &Figures) -> String {
    let mut out = String::from(
        "day,hour,counsellors,medical,capacity,offered,served,left,turned_away,too_late,mean_wait_min,p90_wait_min,utilisation,hours_without_medical,erlang_c_p90_min,erlang_a_p90_min,erlang_a_left\n",
    );
    let num = |x: Option<f64>| {
        x.filter(|x| x.is_finite())
            .map_or(String::new(), |x| format!("{x:.3}"))
    };
    for h in &f.hours {
        let t = h.theory;
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            super::model::DAYS[h.hour / 24],
            h.hour % 24,
            h.slot.counsellors,
            h.slot.medical,
            h.slot.capacity,
            h.offered,
            h.served,
            h.left,
            h.turned_away,
            h.too_late,
            num(h.mean_wait),
            num(h.p90_wait),
            num(h.utilisation),
            h.no_medical,
            num(t.map(|t| t.erlang_c_p90)),
            num(t.and_then(|t| t.erlang_a_p90)),
            num(t.and_then(|t| t.erlang_a_left)),
        );
    }
    out
}

/// The charts: visitors per hour (served, left, turned away, stacked) and the p90 wait per
/// hour beside Erlang C's.
fn charts(f: &Figures, lang: Lang) -> Result<Vec<(String, String)>> {
    let hours: Vec<&HourFigures> = f.hours.iter().filter(|h| h.offered > 0).collect();
    let categories: Vec<String> = hours.iter().map(|h| hour_label(lang, h.hour)).collect();
    let visitors = Chart {
        title: lang.pick("Bezoekers per uur", "Visitors per hour").into(),
        categories: categories.clone(),
        series: vec![
            Series {
                name: lang.pick("geholpen", "served").into(),
                values: hours.iter().map(|h| h.served as f64).collect(),
            },
            Series {
                name: lang.pick("vertrokken", "left").into(),
                values: hours.iter().map(|h| h.left as f64).collect(),
            },
            Series {
                name: lang.pick("weggestuurd", "turned away").into(),
                values: hours.iter().map(|h| h.turned_away as f64).collect(),
            },
            Series {
                name: lang.pick("te laat", "too late").into(),
                values: hours.iter().map(|h| h.too_late as f64).collect(),
            },
        ],
        horizontal: true,
        stacked: true,
        unit: lang.pick("bezoekers", "visitors").into(),
    };
    let finite = |x: Option<f64>| x.filter(|x| x.is_finite()).unwrap_or(0.0);
    let waits = Chart {
        title: lang
            .pick(
                "Wachttijd die 9 op 10 bezoekers niet overschrijden, per uur (minuten)",
                "Wait nine in ten stay under, per hour (minutes)",
            )
            .into(),
        categories,
        series: vec![
            Series {
                name: lang.pick("simulatie", "simulation").into(),
                values: hours.iter().map(|h| finite(h.p90_wait)).collect(),
            },
            Series {
                name: "Erlang C".into(),
                values: hours
                    .iter()
                    .map(|h| finite(h.theory.map(|t| t.erlang_c_p90)))
                    .collect(),
            },
        ]
        .into_iter()
        .chain(
            // With a patience, Erlang A's answer too (it knows visitors leave).
            hours
                .iter()
                .any(|h| h.theory.is_some_and(|t| t.erlang_a_p90.is_some()))
                .then(|| Series {
                    name: "Erlang A".into(),
                    values: hours
                        .iter()
                        .map(|h| finite(h.theory.and_then(|t| t.erlang_a_p90)))
                        .collect(),
                }),
        )
        .collect(),
        horizontal: true,
        stacked: false,
        unit: lang.pick("minuten", "minutes").into(),
    };
    Ok(vec![
        (visitors.title.clone(), charts::svg(&visitors)?),
        (waits.title.clone(), charts::svg(&waits)?),
    ])
}

/// As a self-contained HTML page with the charts and the table.
pub fn html(f: &Figures, lang: Lang) -> Result<String> {
    let e = html_escape;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{}</style>\n</head>\n<body>",
        lang.code(),
        e(&title(lang, f)),
        crate::report::REPORT_CSS
    );
    out.push_str(&html_fragment(f, lang, 1)?);
    out.push_str("</body>\n</html>\n");
    Ok(out)
}

/// The page's body alone (for the coordinator page), its title a heading of level `top`.
pub fn html_fragment(f: &Figures, lang: Lang, top: u8) -> Result<String> {
    let e = html_escape;
    let (h1, h2) = (top.clamp(1, 5), top.clamp(1, 5) + 1);
    let mut out = String::new();
    let _ = writeln!(out, "<article class=\"report\" lang=\"{}\">", lang.code());
    let _ = writeln!(
        out,
        "<h{h1} class=\"report-title\">{}</h{h1}>",
        e(&title(lang, f))
    );
    for l in summary(lang, f) {
        let _ = writeln!(out, "<p>{}</p>", e(&l));
    }
    // A chart is never drawn narrower than the report's 700 px: on a phone it scrolls in
    // its figure, which the keyboard can reach.
    for (caption, svg) in charts(f, lang)? {
        let _ = writeln!(
            out,
            "<figure class=\"report-chart\" tabindex=\"0\">{svg}<figcaption>{}</figcaption></figure>",
            e(&caption)
        );
    }
    let _ = writeln!(
        out,
        "<h{h2} class=\"report-section-title\">{}</h{h2}>\n<div class=\"report-table\" role=\"region\" tabindex=\"0\" aria-label=\"{}\"><table>\n<thead><tr>",
        lang.pick("Per uur van de week", "Per hour of the week"),
        lang.pick("Per uur van de week", "Per hour of the week")
    );
    for c in header(lang) {
        let _ = write!(out, "<th scope=\"col\">{}</th>", e(c));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for h in &f.hours {
        out.push_str("<tr>");
        for (i, c) in row(lang, h).iter().enumerate() {
            if i == 0 {
                let _ = write!(out, "<th scope=\"row\">{}</th>", e(c));
            } else {
                let _ = write!(out, "<td class=\"num\">{}</td>", e(c));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n</article>\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::model::{Lengths, Patience, Schedule};
    use crate::simulate::run::Visit;

    #[test]
    fn the_90th_percentile_is_the_nearest_rank() {
        assert_eq!(p90(&mut []), None);
        assert_eq!(p90(&mut [3.0]), Some(3.0));
        let mut ten: Vec<f64> = (1..=10).map(f64::from).rev().collect();
        assert_eq!(p90(&mut ten), Some(9.0));
    }

    #[test]
    fn an_hour_counts_its_visitors_waits_and_chat_minutes() {
        let wed17 = 2 * 24 + 17;
        let mut schedule = Schedule {
            hours: vec![None; WEEK_HOURS],
        };
        schedule.hours[wed17] = Some(Slot {
            counsellors: 2,
            medical: 0,
            capacity: 1,
        });
        schedule.hours[wed17 + 1] = Some(Slot {
            counsellors: 2,
            medical: 1,
            capacity: 1,
        });
        let mut arrivals = vec![0.0; WEEK_HOURS];
        arrivals[wed17] = 4.0;
        let scenario = Scenario {
            arrivals,
            lengths: Lengths::Exponential { mean_minutes: 20.0 },
            patience: Patience::Exponential { mean_minutes: 5.0 },
            health_share: 0.0,
            chat_limit_minutes: Some(45.0),
            wrap_up_minutes: 0.0,
            schedule,
            weeks: 1,
            seed: 1,
            desk: None,
        };
        let at = wed17 as f64 * 60.0;
        let visit = |minute: f64, outcome| Visit {
            arrived: at + minute,
            hour: wed17,
            outcome,
        };
        let played = Played {
            weeks: 1,
            visits: vec![
                visit(
                    0.0,
                    Outcome::Served {
                        wait: 0.0,
                        length: 30.0,
                    },
                ),
                // Its chat runs from 17:50 into the next hour: 10 minutes here, 20 there.
                visit(
                    40.0,
                    Outcome::Served {
                        wait: 10.0,
                        length: 30.0,
                    },
                ),
                visit(45.0, Outcome::Abandoned { after: 4.0 }),
                visit(57.0, Outcome::QueueFull),
                visit(58.0, Outcome::TooLate),
            ],
        };
        let f = figures(&scenario, &played);
        assert_eq!(f.hours.len(), 2, "the staffed hours");
        let h = &f.hours[0];
        assert_eq!(
            (h.offered, h.served, h.left, h.turned_away, h.too_late),
            (5, 2, 1, 1, 1)
        );
        assert_eq!(h.mean_wait, Some((0.0 + 10.0 + 4.0) / 3.0));
        assert_eq!(h.p90_wait, Some(10.0));
        assert_eq!(h.utilisation, Some(40.0 / 120.0));
        assert_eq!(h.no_medical, 1);
        // Who came too late is the desk's hours, not its staffing: not in the share.
        assert_eq!(h.not_served_share(), Some(0.5));
        assert!(h.theory.is_some_and(|t| t.erlang_a_p90.is_some()));
        let next = &f.hours[1];
        assert_eq!(next.offered, 0);
        assert_eq!(next.utilisation, Some(20.0 / 120.0));
        assert_eq!(next.no_medical, 0);
        let t = totals(&f);
        assert_eq!(
            (
                t.offered,
                t.served,
                t.left,
                t.turned_away,
                t.too_late,
                t.no_medical,
                t.staffed
            ),
            (5, 2, 1, 1, 1, 1, 2)
        );
    }
}
