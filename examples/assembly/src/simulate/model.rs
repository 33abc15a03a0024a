//! What a simulation is given: the visitors (arrivals per hour of the week, chat lengths,
//! patience, the share with a health question), the staffing per hour of the week, and the
//! period; read from a parameter file (TOML) and a schedule (CSV or TOML), each mistake
//! named with where it is and what to write.
//!
//! Hours are local (Europe/Brussels) hours of the week: index `day * 24 + hour`, Monday
//! 00:00-01:00 first.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Hours in a week.
pub const WEEK_HOURS: usize = 168;

/// The days of the week as the files write them, Monday first.
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// The Dutch day names, as the pages and reports write them.
pub const DAYS_NL: [&str; 7] = ["ma", "di", "wo", "do", "vr", "za", "zo"];

/// An hour of the week as people read it: `wed 14:00-15:00`.
pub fn hour_name(h: usize) -> String {
    format!("{} {:02}:00-{:02}:00", DAYS[h / 24 % 7], h % 24, h % 24 + 1)
}

/// A day's index from its name (`mon`, `monday`, `ma`, `maandag`; any case).
pub fn day_index(name: &str) -> Option<usize> {
    let n = name.trim().to_lowercase();
    const LONG: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    const LONG_NL: [&str; 7] = [
        "maandag",
        "dinsdag",
        "woensdag",
        "donderdag",
        "vrijdag",
        "zaterdag",
        "zondag",
    ];
    (0..7).find(|&i| n == DAYS[i] || n == DAYS_NL[i] || n == LONG[i] || n == LONG_NL[i])
}

/// How long chats last, in minutes (before the desk's limit cuts them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "distribution", rename_all = "snake_case", deny_unknown_fields)]
pub enum Lengths {
    /// Exponential with this mean (what Erlang's formulas assume).
    Exponential {
        /// Mean, minutes.
        mean_minutes: f64,
    },
    /// Log-normal with this mean and standard deviation (chats: many short, a long tail).
    Lognormal {
        /// Mean, minutes.
        mean_minutes: f64,
        /// Standard deviation, minutes.
        sd_minutes: f64,
    },
    /// Drawn from these lengths (a desk's history).
    Sampled {
        /// The lengths, minutes.
        minutes: Vec<f64>,
    },
}

/// The mean and variance of the logarithm of a log-normal length with this mean and
/// standard deviation (of the length itself, in minutes).
pub(crate) fn lognormal_log_params(mean_minutes: f64, sd_minutes: f64) -> (f64, f64) {
    let s2 = (1.0 + (sd_minutes / mean_minutes).powi(2)).ln();
    (mean_minutes.ln() - s2 / 2.0, s2)
}

impl Lengths {
    /// The mean, minutes.
    pub fn mean(&self) -> f64 {
        match self {
            Lengths::Exponential { mean_minutes } | Lengths::Lognormal { mean_minutes, .. } => {
                *mean_minutes
            }
            Lengths::Sampled { minutes } => {
                minutes.iter().sum::<f64>() / minutes.len().max(1) as f64
            }
        }
    }

    /// The share of chats longer than `limit` minutes (what a limit cuts).
    pub fn share_over(&self, limit: f64) -> f64 {
        match self {
            Lengths::Exponential { mean_minutes } => (-limit / mean_minutes).exp(),
            Lengths::Lognormal {
                mean_minutes,
                sd_minutes,
            } => {
                let (mu, s2) = lognormal_log_params(*mean_minutes, *sd_minutes);
                0.5 * statrs::function::erf::erfc((limit.ln() - mu) / (2.0 * s2).sqrt())
            }
            Lengths::Sampled { minutes } => {
                minutes.iter().filter(|l| **l > limit).count() as f64 / minutes.len().max(1) as f64
            }
        }
    }

    fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Scenario(format!("lengths: {m}")));
        match self {
            Lengths::Exponential { mean_minutes } if !(mean_minutes.is_finite() && *mean_minutes > 0.0) => {
                bad(format!("mean_minutes must be more than 0, not {mean_minutes}"))
            }
            Lengths::Lognormal { mean_minutes, sd_minutes }
                if !(mean_minutes.is_finite() && *mean_minutes > 0.0 && sd_minutes.is_finite() && *sd_minutes > 0.0) =>
            {
                bad(format!(
                    "mean_minutes and sd_minutes must both be more than 0, not {mean_minutes} and {sd_minutes}"
                ))
            }
            Lengths::Sampled { minutes } if minutes.is_empty() => {
                bad("no lengths to draw from: the history holds no ended chat".into())
            }
            Lengths::Sampled { minutes } if minutes.iter().any(|m| !(m.is_finite() && *m > 0.0)) => {
                bad("every length must be more than 0 minutes".into())
            }
            _ => Ok(()),
        }
    }
}

/// How long visitors wait before they leave the queue, in minutes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "distribution", rename_all = "snake_case", deny_unknown_fields)]
pub enum Patience {
    /// Nobody leaves (Erlang C's assumption).
    Endless,
    /// Exponential with this mean (Erlang A's assumption).
    Exponential {
        /// Mean, minutes.
        mean_minutes: f64,
    },
    /// Drawn from these (a desk's history of visitors who left the queue).
    Sampled {
        /// Patience, minutes.
        minutes: Vec<f64>,
    },
}

impl Patience {
    /// The mean, minutes (`None`: endless).
    pub fn mean(&self) -> Option<f64> {
        match self {
            Patience::Endless => None,
            Patience::Exponential { mean_minutes } => Some(*mean_minutes),
            Patience::Sampled { minutes } => {
                Some(minutes.iter().sum::<f64>() / minutes.len().max(1) as f64)
            }
        }
    }

    fn check(&self) -> Result<()> {
        match self {
            Patience::Exponential { mean_minutes }
                if !(mean_minutes.is_finite() && *mean_minutes > 0.0) =>
            {
                Err(Error::Scenario(format!(
                    "patience: mean_minutes must be more than 0, not {mean_minutes}"
                )))
            }
            Patience::Sampled { minutes }
                if minutes.is_empty() || minutes.iter().any(|m| !(m.is_finite() && *m >= 0.0)) =>
            {
                Err(Error::Scenario(
                    "patience: give at least one patience of 0 minutes or more".into(),
                ))
            }
            _ => Ok(()),
        }
    }
}

/// Who works in one hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// Counsellors online.
    pub counsellors: u32,
    /// Of whom medical (a doctor or a nurse).
    pub medical: u32,
    /// Chats each takes at once.
    pub capacity: u32,
}

impl Slot {
    /// Chat places: counsellors times capacity.
    pub fn places(&self) -> u32 {
        self.counsellors * self.capacity
    }
}

/// The staffing of each hour of the week; an hour without a row has nobody.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Per hour of the week; `None`: no row.
    pub hours: Vec<Option<Slot>>,
}

/// One row of a schedule file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRow {
    /// `mon` … `sun`.
    pub day: String,
    /// The hour's start, 0 to 23.
    pub hour: u32,
    /// Counsellors online.
    pub counsellors: u32,
    /// Of whom medical.
    #[serde(default)]
    pub medical: u32,
    /// Chats each takes at once (1 if not given).
    #[serde(default = "one")]
    pub capacity: u32,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleToml {
    hours: Vec<ScheduleRow>,
}

impl Schedule {
    /// The same staffing every hour of the week (for theory's stationary cases).
    pub fn constant(slot: Slot) -> Schedule {
        Schedule {
            hours: vec![Some(slot); WEEK_HOURS],
        }
    }

    /// From rows (`where_` names the file in errors). A day or hour that does not exist, an
    /// hour given twice, more medical counsellors than counsellors or a capacity of 0 is
    /// refused, naming the row.
    pub fn from_rows(rows: &[ScheduleRow], where_: &str) -> Result<Schedule> {
        let mut hours = vec![None; WEEK_HOURS];
        for (i, r) in rows.iter().enumerate() {
            let at = format!("{where_}, row {}", i + 1);
            let day = day_index(&r.day).ok_or_else(|| {
                Error::Scenario(format!(
                    "{at}: `{}` is not a day; write mon, tue, wed, thu, fri, sat or sun",
                    r.day
                ))
            })?;
            if r.hour > 23 {
                return Err(Error::Scenario(format!(
                    "{at}: hour {} does not exist; write the hour's start, 0 to 23",
                    r.hour
                )));
            }
            if r.medical > r.counsellors {
                return Err(Error::Scenario(format!(
                    "{at}: {} medical counsellors but only {} counsellors",
                    r.medical, r.counsellors
                )));
            }
            if r.capacity == 0 && r.counsellors > 0 {
                return Err(Error::Scenario(format!(
                    "{at}: a capacity of 0 chats; a counsellor takes at least 1"
                )));
            }
            let h = day * 24 + r.hour as usize;
            if hours[h].is_some() {
                return Err(Error::Scenario(format!(
                    "{at}: {} is given twice",
                    hour_name(h)
                )));
            }
            hours[h] = Some(Slot {
                counsellors: r.counsellors,
                medical: r.medical,
                capacity: r.capacity.max(1),
            });
        }
        Ok(Schedule { hours })
    }

    /// From a CSV file's text (`day,hour,counsellors,medical,capacity`).
    pub fn from_csv(text: &str, where_: &str) -> Result<Schedule> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        let mut rows = Vec::new();
        for (i, row) in reader.deserialize::<ScheduleRow>().enumerate() {
            rows.push(row.map_err(|e| {
                Error::Scenario(format!(
                    "{where_}, row {}: {e}; the columns are day,hour,counsellors,medical,capacity",
                    i + 1
                ))
            })?);
        }
        Schedule::from_rows(&rows, where_)
    }

    /// From a TOML file's text (`[[hours]]` tables with the CSV's columns).
    pub fn from_toml(text: &str, where_: &str) -> Result<Schedule> {
        let parsed: ScheduleToml = toml::from_str(text)
            .map_err(|e| Error::Scenario(format!("{where_}: {}", e.to_string().trim())))?;
        Schedule::from_rows(&parsed.hours, where_)
    }

    /// The rows of this schedule (hours with a row), in week order.
    pub fn rows(&self) -> Vec<ScheduleRow> {
        self.hours
            .iter()
            .enumerate()
            .filter_map(|(h, s)| {
                s.map(|s| ScheduleRow {
                    day: DAYS[h / 24].into(),
                    hour: (h % 24) as u32,
                    counsellors: s.counsellors,
                    medical: s.medical,
                    capacity: s.capacity,
                })
            })
            .collect()
    }

    /// As a CSV file, the format [`Schedule::from_csv`] reads.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("day,hour,counsellors,medical,capacity\n");
        for r in self.rows() {
            out.push_str(&format!(
                "{},{},{},{},{}\n",
                r.day, r.hour, r.counsellors, r.medical, r.capacity
            ));
        }
        out
    }

    /// One counsellor (medical) in every hour with visitors, nobody elsewhere: where a
    /// staffing search starts when no schedule is given.
    pub fn where_visitors_come(arrivals: &[f64]) -> Schedule {
        Schedule {
            hours: (0..WEEK_HOURS)
                .map(|h| {
                    (arrivals.get(h).copied().unwrap_or(0.0) > 0.0).then_some(Slot {
                        counsellors: 1,
                        medical: 1,
                        capacity: 1,
                    })
                })
                .collect(),
        }
    }

    /// Who works in hour `h` (nobody without a row).
    pub fn slot(&self, h: usize) -> Slot {
        self.hours[h % WEEK_HOURS].unwrap_or_default()
    }
}

/// Everything a simulation needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Visitors per hour, per hour of the week.
    pub arrivals: Vec<f64>,
    /// Chat lengths.
    pub lengths: Lengths,
    /// Patience in the queue.
    pub patience: Patience,
    /// The share of visitors with a health question (they go to a medical counsellor when
    /// one is free).
    pub health_share: f64,
    /// The chat limit in minutes (`None`: no limit, for theory's cases).
    pub chat_limit_minutes: Option<f64>,
    /// Minutes a counsellor takes to register a chat before the next.
    pub wrap_up_minutes: f64,
    /// The staffing.
    pub schedule: Schedule,
    /// Weeks to play.
    pub weeks: u32,
    /// The random seed: the same seed plays the same weeks.
    pub seed: u64,
    /// The desk whose rules the play follows (its limits, closing margin, queue length,
    /// shift-end margin, registration rule); its calendar and chat limit are the
    /// scenario's. `None`: the national desk's defaults.
    pub desk: Option<clbchat_core::config::DeskConfig>,
}

impl Scenario {
    /// Checks the whole scenario; the first mistake is named.
    pub fn check(&self) -> Result<()> {
        if self.arrivals.len() != WEEK_HOURS {
            return Err(Error::Scenario(format!(
                "arrivals: {} hours given; a week has {WEEK_HOURS}",
                self.arrivals.len()
            )));
        }
        for (h, r) in self.arrivals.iter().enumerate() {
            if !(r.is_finite() && *r >= 0.0) {
                return Err(Error::Scenario(format!(
                    "arrivals, {}: {r} visitors an hour; a rate is 0 or more",
                    hour_name(h)
                )));
            }
        }
        self.lengths.check()?;
        self.patience.check()?;
        if !(0.0..=1.0).contains(&self.health_share) {
            return Err(Error::Scenario(format!(
                "health_share: {} is not a share between 0 and 1",
                self.health_share
            )));
        }
        if let Some(l) = self.chat_limit_minutes {
            if !(l.is_finite() && l > 0.0) {
                return Err(Error::Scenario(format!(
                    "chat_minutes: {l}; give the limit in minutes, more than 0 (0 for none)"
                )));
            }
        }
        if !(self.wrap_up_minutes.is_finite() && self.wrap_up_minutes >= 0.0) {
            return Err(Error::Scenario(format!(
                "wrap_up_minutes: {}; 0 or more",
                self.wrap_up_minutes
            )));
        }
        if self.weeks == 0 || self.weeks > 60 {
            return Err(Error::Scenario(format!(
                "weeks: {}; play 1 to 60 weeks",
                self.weeks
            )));
        }
        // A gap: visitors expected in an hour the schedule says nothing about.
        for (h, r) in self.arrivals.iter().enumerate() {
            if *r > 0.0 && self.schedule.hours[h].is_none() {
                return Err(Error::Scenario(format!(
                    "the schedule has no row for {}, but {r:.1} visitors an hour are expected \
                     then; add the row (with 0 counsellors if the desk is closed then)",
                    hour_name(h)
                )));
            }
        }
        Ok(())
    }
}

/// The parameter file (TOML): the visitors and the period. The staffing is a file of its
/// own (see [`Schedule`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterFile {
    /// Weeks to play (1 by default).
    #[serde(default = "one")]
    pub weeks: u32,
    /// The random seed (1 by default).
    #[serde(default = "seed_one")]
    pub seed: u64,
    /// The share of visitors with a health question.
    #[serde(default)]
    pub health_share: f64,
    /// Minutes a counsellor takes to register a chat.
    #[serde(default)]
    pub wrap_up_minutes: f64,
    /// The chat limit in minutes; 0 for none (45 by default).
    #[serde(default = "forty_five")]
    pub chat_minutes: f64,
    /// Chat lengths.
    pub lengths: Lengths,
    /// Patience.
    #[serde(default = "endless")]
    pub patience: Patience,
    /// Visitors per hour: 24 numbers a day, `mon` … `sun` (a day left out has none).
    pub arrivals: ArrivalsByDay,
}

fn seed_one() -> u64 {
    1
}

fn forty_five() -> f64 {
    45.0
}

fn endless() -> Patience {
    Patience::Endless
}

/// Visitors per hour for each day: 24 numbers (00:00-01:00 first).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrivalsByDay {
    /// Monday.
    #[serde(default)]
    pub mon: Option<Vec<f64>>,
    /// Tuesday.
    #[serde(default)]
    pub tue: Option<Vec<f64>>,
    /// Wednesday.
    #[serde(default)]
    pub wed: Option<Vec<f64>>,
    /// Thursday.
    #[serde(default)]
    pub thu: Option<Vec<f64>>,
    /// Friday.
    #[serde(default)]
    pub fri: Option<Vec<f64>>,
    /// Saturday.
    #[serde(default)]
    pub sat: Option<Vec<f64>>,
    /// Sunday.
    #[serde(default)]
    pub sun: Option<Vec<f64>>,
}

impl ArrivalsByDay {
    /// The week's 168 rates; a day with other than 24 numbers is refused by name.
    pub fn week(&self) -> Result<Vec<f64>> {
        let days = [
            &self.mon, &self.tue, &self.wed, &self.thu, &self.fri, &self.sat, &self.sun,
        ];
        let mut out = Vec::with_capacity(WEEK_HOURS);
        for (d, day) in days.iter().enumerate() {
            match day {
                None => out.extend([0.0; 24]),
                Some(v) if v.len() == 24 => out.extend(v.iter().copied()),
                Some(v) => {
                    return Err(Error::Scenario(format!(
                        "arrivals.{}: {} numbers; give 24, one per hour from 00:00",
                        DAYS[d],
                        v.len()
                    )))
                }
            }
        }
        Ok(out)
    }
}

impl ParameterFile {
    /// Reads a parameter file's text (`where_` names it in errors).
    pub fn parse(text: &str, where_: &str) -> Result<ParameterFile> {
        toml::from_str(text)
            .map_err(|e| Error::Scenario(format!("{where_}: {}", e.to_string().trim())))
    }

    /// The scenario without a schedule yet (an empty one), not checked: for the command
    /// line, which may take the visitors from a history and the schedule from another file.
    pub fn unchecked_scenario(&self) -> Result<Scenario> {
        Ok(Scenario {
            arrivals: self.arrivals.week()?,
            lengths: self.lengths.clone(),
            patience: self.patience.clone(),
            health_share: self.health_share,
            chat_limit_minutes: (self.chat_minutes > 0.0).then_some(self.chat_minutes),
            wrap_up_minutes: self.wrap_up_minutes,
            schedule: Schedule {
                hours: vec![None; WEEK_HOURS],
            },
            weeks: self.weeks,
            seed: self.seed,
            desk: None,
        })
    }

    /// The scenario with `schedule`, checked.
    pub fn scenario(&self, schedule: Schedule) -> Result<Scenario> {
        let scenario = Scenario {
            schedule,
            ..self.unchecked_scenario()?
        };
        scenario.check()?;
        Ok(scenario)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: &str = r#"
weeks = 2
seed = 7
health_share = 0.1

[lengths]
distribution = "lognormal"
mean_minutes = 18.5
sd_minutes = 12

[patience]
distribution = "exponential"
mean_minutes = 8

[arrivals]
wed = [0,0,0,0,0,0,0,0,0,0,0,0,0,0, 6,6,6, 8,8,8,8, 0,0,0]
"#;

    const SCHEDULE: &str = "day,hour,counsellors,medical,capacity
# Wednesday afternoon and evening
wed,14,3,1,1
wed,15,3,1,1
wed,16,3,1,1
wed,17,5,1,1
wed,18,5,1,2
wed,19,5,1,2
wed,20,4,1,1
";

    #[test]
    fn a_parameter_file_and_a_schedule_make_a_scenario() {
        let p = ParameterFile::parse(PARAMS, "params.toml").unwrap();
        let s = p
            .scenario(Schedule::from_csv(SCHEDULE, "schedule.csv").unwrap())
            .unwrap();
        assert_eq!(s.weeks, 2);
        assert_eq!(s.arrivals[2 * 24 + 14], 6.0);
        assert_eq!(s.chat_limit_minutes, Some(45.0));
        assert_eq!(s.schedule.slot(2 * 24 + 18).places(), 10);
        assert_eq!(s.patience.mean(), Some(8.0));
        // The CSV it writes reads back the same.
        let again = Schedule::from_csv(&s.schedule.to_csv(), "again.csv").unwrap();
        assert_eq!(again, s.schedule);
    }

    #[test]
    fn each_mistake_is_named_with_where_it_is() {
        let p = ParameterFile::parse(PARAMS, "params.toml").unwrap();
        let gap = SCHEDULE.replace("wed,16,3,1,1\n", "");
        let e = p
            .scenario(Schedule::from_csv(&gap, "schedule.csv").unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("no row for wed 16:00-17:00"), "{e}");
        assert!(e.contains("6.0 visitors an hour"), "{e}");

        let negative = PARAMS.replace("8,8,8,8", "8,-2,8,8");
        let e = ParameterFile::parse(&negative, "params.toml")
            .unwrap()
            .scenario(Schedule::from_csv(SCHEDULE, "s.csv").unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("wed 18:00-19:00: -2 visitors an hour"), "{e}");

        for (bad, want) in [
            ("wed,25,3,1,1", "hour 25 does not exist"),
            ("wod,14,3,1,1", "`wod` is not a day"),
            ("wed,14,2,3,1", "3 medical counsellors but only 2"),
            ("wed,14,x,1,1", "row 1"),
        ] {
            let text = format!("day,hour,counsellors,medical,capacity\n{bad}\n");
            let e = Schedule::from_csv(&text, "s.csv").unwrap_err().to_string();
            assert!(e.contains(want), "{bad}: {e}");
        }
        let twice = format!("{SCHEDULE}wed,14,1,0,1\n");
        let e = Schedule::from_csv(&twice, "s.csv").unwrap_err().to_string();
        assert!(e.contains("wed 14:00-15:00 is given twice"), "{e}");

        let short = PARAMS.replace("0,0,0]", "0]");
        let e = ParameterFile::parse(&short, "p.toml")
            .unwrap()
            .scenario(Schedule::from_csv(SCHEDULE, "s.csv").unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("arrivals.wed: 22 numbers; give 24"), "{e}");

        let e = ParameterFile::parse("weeks = 1\n[lengths]\ndistribution = \"gamma\"\n", "p.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("p.toml") && e.contains("gamma"), "{e}");
    }

    #[test]
    fn the_share_over_a_limit_is_the_distributions() {
        let e = Lengths::Exponential { mean_minutes: 18.5 };
        assert!((e.share_over(45.0) - (-45.0f64 / 18.5).exp()).abs() < 1e-12);
        // A log-normal's median is exp(mu): half is over it.
        let l = Lengths::Lognormal {
            mean_minutes: 18.5,
            sd_minutes: 13.0,
        };
        let s2 = (1.0f64 + (13.0f64 / 18.5).powi(2)).ln();
        let median = (18.5f64.ln() - s2 / 2.0).exp();
        assert!((l.share_over(median) - 0.5).abs() < 1e-9);
        assert!(l.share_over(45.0) > 0.03 && l.share_over(45.0) < 0.1);
        let d = Lengths::Sampled {
            minutes: vec![10.0, 20.0, 50.0, 60.0],
        };
        assert_eq!(d.share_over(45.0), 0.5);
    }

    #[test]
    fn a_toml_schedule_reads_like_the_csv() {
        let toml = r#"
[[hours]]
day = "wed"
hour = 14
counsellors = 3
medical = 1
"#;
        let s = Schedule::from_toml(toml, "s.toml").unwrap();
        assert_eq!(
            s.slot(2 * 24 + 14),
            Slot {
                counsellors: 3,
                medical: 1,
                capacity: 1
            }
        );
        assert_eq!(s.hours.iter().filter(|h| h.is_some()).count(), 1);
    }
}
