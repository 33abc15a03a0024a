//! The report's sections, built from the store's figures: key figures, months and school
//! years, clients, topics, results, how they found the desk, students, the year's theme,
//! desks, events (Chat-met-je-CLB), waiting, coverage, endings.

use chrono::{DateTime, Utc};
use clbchat_core::ids::DeskId;
use clbchat_core::registration::{ChatResult, ClientType, FoundVia, Gender};
use clbchat_core::statistics::{
    school_year_dates, school_year_of, ClientFigures, EventFigures, ReportData, REPORT_TIME_ZONE,
};

use super::charts::{Chart, Series};
use super::labels::{self, Lang};
use super::model::*;
use super::{Options, TOP_TOPICS};

pub(super) fn desk_name(options: &Options, desk: &DeskId) -> String {
    options
        .desk_names
        .get(desk)
        .cloned()
        .unwrap_or_else(|| desk.0.clone())
}

pub(super) fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&REPORT_TIME_ZONE)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

pub(super) fn document(data: &ReportData, options: &Options) -> Doc {
    let lang = options.lang;
    let q = &data.query;
    let (from, to) = q.period.local_dates();
    let is_school_year = school_year_dates(school_year_of(from)).is_ok_and(|d| d == (from, to));
    let title = if is_school_year {
        format!(
            "{} {}",
            lang.pick("Jaarverslag", "Annual report"),
            q.period.label
        )
    } else {
        format!("{} {from} – {to}", lang.pick("Rapport", "Report"))
    };
    let scope = match &q.desk {
        Some(d) => format!(
            "{}: {}",
            lang.pick("Chatdienst", "Desk"),
            desk_name(options, d)
        ),
        None => lang
            .pick("Alle chatdiensten en chatboxen", "All desks and chatboxes")
            .to_owned(),
    };
    let mut lines = vec![
        scope,
        format!("{}: {from} – {to}", lang.pick("Periode", "Period")),
    ];
    if let Some(at) = options.generated_at {
        lines.push(format!(
            "{}: {}",
            lang.pick("Opgemaakt op", "Made on"),
            local(at)
        ));
    }
    lines.push(
        lang.pick(
            "Berekend uit de registraties, de beoordelingen en de gegevens van de gesprekken (tijden, type cliënt); nooit uit de tekst van berichten.",
            "Computed from the registrations, the ratings and the conversations' metadata (times, client type); never from message text.",
        )
        .to_owned(),
    );
    let sections = vec![
        key_figures(data, lang),
        per_period(data, lang, true),
        per_period(data, lang, false),
        per_client(data, lang),
        top_topics(data, lang),
        results(data, lang),
        found_via(data, lang),
        students(data, lang),
    ]
    .into_iter()
    .chain(theme(data, lang))
    .chain([desks(data, options)])
    .chain(events(data, options))
    .chain([
        waiting(data, lang),
        coverage(data, options),
        endings(data, lang),
    ])
    .collect();
    Doc {
        title,
        lines,
        sections,
    }
}

pub(super) fn key_figures(data: &ReportData, lang: Lang) -> Section {
    let t = &data.totals;
    let chats_of = |ct| data.client(ct).map_or(0, |c| c.chats);
    let students = chats_of(Some(ClientType::Student));
    let parents = chats_of(Some(ClientType::Parent));
    let rest = t.chats.saturating_sub(students + parents);
    let value = lang.pick("Waarde", "Value");
    let of_chats = lang.pick("% van de chats", "% of chats");
    let rows = vec![
        row(
            "arrivals",
            lang.pick(
                "Aanmeldingen (ook wie niet geholpen werd)",
                "Arrivals (also those not served)",
            ),
            alone(Cell::Count(t.arrivals)),
        ),
        row(
            "chats",
            lang.pick("Chatgesprekken", "Chats"),
            alone(Cell::Count(t.chats)),
        ),
        row(
            "students",
            lang.pick("… met leerlingen", "… with students"),
            counted(students, t.chats),
        ),
        row(
            "parents",
            lang.pick("… met ouders", "… with parents"),
            counted(parents, t.chats),
        ),
        row(
            "others",
            lang.pick("… met anderen of onbekend", "… with others or unknown"),
            counted(rest, t.chats),
        ),
        row(
            "mean_duration",
            lang.pick("Gemiddelde gespreksduur", "Mean chat duration"),
            alone(Cell::Minutes(t.mean_duration_secs)),
        ),
        row(
            "mean_wait",
            lang.pick("Gemiddelde wachttijd", "Mean wait"),
            alone(Cell::Minutes(t.mean_wait_secs)),
        ),
        row(
            "registrations",
            lang.pick("Geregistreerde gesprekken", "Registered chats"),
            counted(t.registrations, t.chats),
        ),
        row(
            "fake_calls",
            lang.pick(
                "Vermoedelijke nepoproepen (% van de geregistreerde)",
                "Suspected fake calls (% of registered)",
            ),
            counted(t.fake_calls, t.registrations),
        ),
        row(
            "ratings",
            lang.pick("Beoordelingen", "Ratings"),
            counted(t.ratings, t.chats),
        ),
        row(
            "mean_stars",
            lang.pick(
                "Gemiddelde beoordeling (1-5 sterren)",
                "Mean rating (1-5 stars)",
            ),
            alone(Cell::Stars(t.mean_stars)),
        ),
    ];
    Section {
        id: "key-figures",
        title: lang.pick("Kerncijfers", "Key figures").to_owned(),
        text: vec![],
        tables: vec![Table {
            id: "totals".into(),
            caption: lang
                .pick("Kerncijfers van de periode", "Key figures of the period")
                .to_owned(),
            first: String::new(),
            columns: vec![col("value", value), col("percent", of_chats)],
            rows,
        }],
        charts: vec![],
    }
}

pub(super) fn per_period(data: &ReportData, lang: Lang, months: bool) -> Section {
    let list = if months {
        &data.months
    } else {
        &data.school_years
    };
    // The per-year table starts at the first year with chats (the store reaches back ten).
    let first = if months {
        0
    } else {
        list.iter()
            .position(|p| p.chats > 0)
            .unwrap_or(list.len().saturating_sub(1))
    };
    let list = &list[first.min(list.len())..];
    let (id, title, first_col) = if months {
        (
            "months",
            lang.pick("Chatgesprekken per maand", "Chats per month"),
            lang.pick("Maand", "Month"),
        )
    } else {
        (
            "school-years",
            lang.pick("Chatgesprekken per schooljaar", "Chats per school year"),
            lang.pick("Schooljaar", "School year"),
        )
    };
    let rows = list
        .iter()
        .map(|p| {
            let rest = p.chats.saturating_sub(p.students + p.parents);
            row(
                p.period.label.clone(),
                p.period.label.clone(),
                vec![
                    Cell::Count(p.chats),
                    Cell::Count(p.students),
                    Cell::Count(p.parents),
                    Cell::Count(rest),
                ],
            )
        })
        .collect();
    let series = |name: &str, f: &dyn Fn(&clbchat_core::statistics::PeriodCount) -> u64| Series {
        name: name.to_owned(),
        values: list.iter().map(|p| f(p) as f64).collect(),
    };
    let students = lang.pick("Leerlingen", "Students");
    let parents = lang.pick("Ouders", "Parents");
    let others = lang.pick("Anderen/onbekend", "Others/unknown");
    let chart = Chart {
        title: title.to_owned(),
        categories: list
            .iter()
            .map(|p| {
                if months {
                    // 2021-09 → 09/21: short enough for 12 labels side by side.
                    let l = &p.period.label;
                    format!(
                        "{}/{}",
                        l.get(5..7).unwrap_or(""),
                        l.get(2..4).unwrap_or("")
                    )
                } else {
                    p.period.label.clone()
                }
            })
            .collect(),
        series: vec![
            series(students, &|p| p.students),
            series(parents, &|p| p.parents),
            series(others, &|p| p.chats.saturating_sub(p.students + p.parents)),
        ],
        horizontal: false,
        stacked: true,
        unit: lang.pick("chats", "chats").to_owned(),
    };
    Section {
        id,
        title: title.to_owned(),
        text: vec![],
        tables: vec![Table {
            id: id.replace('-', "_"),
            caption: title.to_owned(),
            first: first_col.to_owned(),
            columns: vec![
                col("chats", lang.pick("Chats", "Chats")),
                col("students", students),
                col("parents", parents),
                col("others", others),
            ],
            rows,
        }],
        charts: vec![chart],
    }
}

pub(super) fn per_client(data: &ReportData, lang: Lang) -> Section {
    let total = data.totals.chats;
    let rows = data
        .clients
        .iter()
        .map(|c| {
            row(
                labels::client_type_key(c.client_type),
                labels::client_type(lang, c.client_type),
                vec![
                    Cell::Count(c.chats),
                    Cell::Percent(share(c.chats, total)),
                    Cell::Minutes(c.mean_duration_secs),
                    Cell::Count(c.ratings),
                    Cell::Stars(c.mean_stars),
                    Cell::Count(c.registrations),
                    Cell::Count(c.fake_calls),
                    Cell::Percent(share(c.fake_calls, c.registrations)),
                ],
            )
        })
        .collect();
    Section {
        id: "clients",
        title: lang
            .pick("Leerlingen en ouders", "Students and parents")
            .to_owned(),
        text: vec![],
        tables: vec![Table {
            id: "clients".into(),
            caption: lang
                .pick(
                    "Duur, beoordeling en nepoproepen per type cliënt",
                    "Duration, rating and fake calls per client type",
                )
                .to_owned(),
            first: lang.pick("Type cliënt", "Client type").to_owned(),
            columns: vec![
                col("chats", "Chats"),
                col("share", lang.pick("% van de chats", "% of chats")),
                col("mean_duration", lang.pick("Gem. duur", "Mean duration")),
                col("ratings", lang.pick("Beoordelingen", "Ratings")),
                col("mean_stars", lang.pick("Gem. sterren", "Mean stars")),
                col("registrations", lang.pick("Geregistreerd", "Registered")),
                col("fake_calls", lang.pick("Nepoproepen", "Fake calls")),
                col("fake_share", lang.pick("% nepoproepen", "% fake calls")),
            ],
            rows,
        }],
        charts: vec![],
    }
}

pub(super) fn top_topics(data: &ReportData, lang: Lang) -> Section {
    let mut tables = Vec::new();
    let mut charts = Vec::new();
    for c in data.clients.iter().filter(|c| c.registrations > 0) {
        let who = labels::client_type(lang, c.client_type);
        let top: Vec<_> = c.topics.iter().take(TOP_TOPICS).collect();
        let caption = format!("{} {}: {who}", lang.pick("Top", "Top"), top.len());
        tables.push(Table {
            id: format!("topics_{}", labels::client_type_key(c.client_type)),
            caption: caption.clone(),
            first: lang.pick("Onderwerp", "Topic").to_owned(),
            columns: vec![
                col("rank", "#"),
                col("chats", "Chats"),
                col(
                    "percent",
                    lang.pick("% van de geregistreerde", "% of registered"),
                ),
            ],
            rows: top
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    row(
                        t.topic.clone(),
                        labels::topic_label(lang, &t.topic),
                        vec![
                            Cell::Count(i as u64 + 1),
                            Cell::Count(t.chats),
                            Cell::Percent(share(t.chats, c.registrations)),
                        ],
                    )
                })
                .collect(),
        });
        if !top.is_empty() {
            charts.push(Chart {
                title: caption,
                categories: top
                    .iter()
                    .map(|t| labels::topic_label(lang, &t.topic))
                    .collect(),
                series: vec![Series {
                    name: who.to_owned(),
                    values: top.iter().map(|t| t.chats as f64).collect(),
                }],
                horizontal: true,
                stacked: false,
                unit: "chats".into(),
            });
        }
    }
    Section {
        id: "topics",
        title: lang
            .pick("Top 10 chatonderwerpen", "Top 10 chat topics")
            .to_owned(),
        text: vec![lang
            .pick(
                "Een gesprek over meerdere onderwerpen telt bij elk ervan.",
                "A chat about several topics counts for each of them.",
            )
            .to_owned()],
        tables,
        charts,
    }
}

/// Columns per client type with registrations.
pub(super) fn client_columns(data: &ReportData, lang: Lang) -> Vec<(&ClientFigures, Column)> {
    data.clients
        .iter()
        .filter(|c| c.registrations > 0)
        .map(|c| {
            (
                c,
                col(
                    labels::client_type_key(c.client_type),
                    labels::client_type(lang, c.client_type),
                ),
            )
        })
        .collect()
}

pub(super) fn results(data: &ReportData, lang: Lang) -> Section {
    let cols = client_columns(data, lang);
    let rows = if cols.is_empty() {
        &[][..]
    } else {
        ChatResult::ALL
    };
    let rows = rows
        .iter()
        .map(|r| {
            let key = serde_json::to_value(r)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            row(
                key,
                labels::result(lang, *r),
                cols.iter()
                    .map(|(c, _)| {
                        let n = c
                            .results
                            .iter()
                            .find(|(x, _)| x == r)
                            .map_or(0, |(_, n)| *n);
                        Cell::Percent(share(n, c.registrations))
                    })
                    .collect(),
            )
        })
        .collect();
    let title = lang.pick("Resultaat van het gesprek", "What the chat resulted in");
    let chart = Chart {
        title: title.to_owned(),
        categories: ChatResult::ALL
            .iter()
            .map(|r| labels::result(lang, *r).to_owned())
            .collect(),
        series: cols
            .iter()
            .map(|(c, column)| Series {
                name: column.label.clone(),
                values: ChatResult::ALL
                    .iter()
                    .map(|r| {
                        let n = c
                            .results
                            .iter()
                            .find(|(x, _)| x == r)
                            .map_or(0, |(_, n)| *n);
                        share(n, c.registrations).unwrap_or(0.0)
                    })
                    .collect(),
            })
            .collect(),
        horizontal: true,
        stacked: false,
        unit: "%".into(),
    };
    Section {
        id: "results",
        title: title.to_owned(),
        text: vec![lang
            .pick(
                "In % van de geregistreerde gesprekken; meerdere resultaten kunnen samen voorkomen.",
                "In % of registered chats; several results may apply to one chat.",
            )
            .to_owned()],
        tables: vec![Table {
            id: "results".into(),
            caption: title.to_owned(),
            first: lang.pick("Resultaat", "Result").to_owned(),
            columns: cols.iter().map(|(_, c)| c.clone()).collect(),
            rows,
        }],
        charts: if cols.is_empty() { vec![] } else { vec![chart] },
    }
}

pub(super) fn found_via(data: &ReportData, lang: Lang) -> Section {
    let cols = client_columns(data, lang);
    let total_of = |f: &FoundVia| -> u64 {
        data.clients
            .iter()
            .map(|c| {
                c.found_via
                    .iter()
                    .find(|(x, _)| x == f)
                    .map_or(0, |(_, n)| *n)
            })
            .sum()
    };
    let mut columns: Vec<Column> = cols.iter().map(|(_, c)| c.clone()).collect();
    columns.push(col("total", lang.pick("Samen", "Together")));
    let rows = FoundVia::ALL
        .iter()
        .map(|f| {
            let key = serde_json::to_value(f)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let mut cells: Vec<Cell> = cols
                .iter()
                .map(|(c, _)| {
                    Cell::Count(
                        c.found_via
                            .iter()
                            .find(|(x, _)| x == f)
                            .map_or(0, |(_, n)| *n),
                    )
                })
                .collect();
            cells.push(Cell::Count(total_of(f)));
            row(key, labels::found_via(lang, *f), cells)
        })
        .collect();
    let title = lang.pick(
        "Hoe vonden ze de weg naar de chat?",
        "How did they find the chat?",
    );
    Section {
        id: "found-via",
        title: title.to_owned(),
        text: vec![],
        tables: vec![Table {
            id: "found_via".into(),
            caption: title.to_owned(),
            first: lang.pick("Via", "Through").to_owned(),
            columns,
            rows,
        }],
        charts: vec![Chart {
            title: title.to_owned(),
            categories: FoundVia::ALL
                .iter()
                .map(|f| labels::found_via(lang, *f).to_owned())
                .collect(),
            series: vec![Series {
                name: lang.pick("Samen", "Together").to_owned(),
                values: FoundVia::ALL.iter().map(|f| total_of(f) as f64).collect(),
            }],
            horizontal: true,
            stacked: false,
            unit: lang.pick("cliënten", "clients").to_owned(),
        }],
    }
}

pub(super) fn students(data: &ReportData, lang: Lang) -> Section {
    let title = lang.pick("Leerlingen: leeftijd en gender", "Students: age and gender");
    let Some(s) = data.client(Some(ClientType::Student)) else {
        return Section {
            id: "students",
            title: title.to_owned(),
            text: vec![lang
                .pick(
                    "Geen geregistreerde gesprekken met leerlingen.",
                    "No registered chats with students.",
                )
                .to_owned()],
            tables: vec![],
            charts: vec![],
        };
    };
    let with_gender: u64 = s.genders.iter().map(|(_, n)| n).sum();
    let mut rows = vec![
        row(
            "mean_age",
            lang.pick("Gemiddelde leeftijd", "Mean age"),
            alone(Cell::Years(s.mean_age)),
        ),
        row(
            "ages",
            lang.pick("… van zoveel leerlingen", "… of this many students"),
            counted(s.ages, s.registrations),
        ),
    ];
    for (g, n) in &s.genders {
        rows.push(row(
            format!("gender_{}", gender_key(*g)),
            labels::gender(lang, *g),
            counted(*n, with_gender),
        ));
    }
    Section {
        id: "students",
        title: title.to_owned(),
        text: vec![lang
            .pick(
                "Zelfrapportage, zoals geregistreerd; het gender in % van wie het opgaf.",
                "Self-reported, as registered; gender in % of those who gave it.",
            )
            .to_owned()],
        tables: vec![Table {
            id: "students".into(),
            caption: title.to_owned(),
            first: String::new(),
            columns: vec![
                col("value", lang.pick("Waarde", "Value")),
                col("percent", "%"),
            ],
            rows,
        }],
        charts: vec![Chart {
            title: lang
                .pick(
                    "Gender van de leerlingen (zelfrapportage)",
                    "Students' gender (self-reported)",
                )
                .to_owned(),
            categories: s
                .genders
                .iter()
                .map(|(g, _)| labels::gender(lang, *g).to_owned())
                .collect(),
            series: vec![Series {
                name: lang.pick("Leerlingen", "Students").to_owned(),
                values: s
                    .genders
                    .iter()
                    .map(|(_, n)| share(*n, with_gender).unwrap_or(0.0))
                    .collect(),
            }],
            horizontal: true,
            stacked: false,
            unit: "%".into(),
        }],
    }
}

pub(super) fn gender_key(g: Gender) -> &'static str {
    match g {
        Gender::F => "f",
        Gender::M => "m",
        Gender::X => "x",
    }
}

pub(super) fn theme(data: &ReportData, lang: Lang) -> Option<Section> {
    let f = data.theme.as_ref()?;
    let (from, to) = f.query.period.local_dates();
    let topics: Vec<String> = f
        .query
        .topics
        .iter()
        .map(|t| labels::topic_label(lang, t))
        .collect();
    let mut text = vec![match lang {
        Lang::Nl => format!(
            "Van de {} gesprekken tussen {from} en {to} gingen er {} ({}) over {}.",
            lang.count(f.chats),
            lang.count(f.about_theme),
            Cell::Percent(share(f.about_theme, f.chats)).text(lang),
            f.query.name
        ),
        Lang::En => format!(
            "Of the {} chats between {from} and {to}, {} ({}) were about {}.",
            lang.count(f.chats),
            lang.count(f.about_theme),
            Cell::Percent(share(f.about_theme, f.chats)).text(lang),
            f.query.name
        ),
    }];
    text.push(format!(
        "{}: {}",
        lang.pick("Onderwerpen", "Topics"),
        topics.join("; ")
    ));
    let mut rows: Vec<Row> = f
        .clients
        .iter()
        .map(|c| {
            row(
                labels::client_type_key(c.client_type),
                labels::client_type(lang, c.client_type),
                vec![Cell::Count(c.chats), Cell::Years(c.mean_age)],
            )
        })
        .collect();
    rows.push(row(
        "all",
        lang.pick("Samen", "Together"),
        alone(Cell::Count(f.about_theme)),
    ));
    text.push(format!(
        "{}: {}; {}: {} ({} {})",
        lang.pick("Gemiddelde duur", "Mean duration"),
        Cell::Minutes(f.mean_duration_secs).text(lang),
        lang.pick("gemiddelde beoordeling", "mean rating"),
        Cell::Stars(f.mean_stars).text(lang),
        lang.count(f.ratings),
        lang.pick("beoordelingen", "ratings"),
    ));
    Some(Section {
        id: "theme",
        title: format!("{}: {}", lang.pick("Thema", "Theme"), f.query.name),
        text,
        tables: vec![Table {
            id: "theme".into(),
            caption: format!("{} ({from} – {to})", f.query.name),
            first: lang.pick("Type cliënt", "Client type").to_owned(),
            columns: vec![
                col("chats", "Chats"),
                col(
                    "mean_age",
                    lang.pick(
                        "Gem. leeftijd (bij ouders: van het kind)",
                        "Mean age (parents: of the child)",
                    ),
                ),
            ],
            rows,
        }],
        charts: vec![],
    })
}

pub(super) fn desks(data: &ReportData, options: &Options) -> Section {
    let lang = options.lang;
    let title = lang.pick(
        "Gebruik per chatdienst en chatbox",
        "Use per desk and chatbox",
    );
    Section {
        id: "desks",
        title: title.to_owned(),
        text: vec![],
        tables: vec![Table {
            id: "desks".into(),
            caption: title.to_owned(),
            first: lang
                .pick("Chatdienst of chatbox", "Desk or chatbox")
                .to_owned(),
            columns: vec![
                col("chats", "Chats"),
                col("mean_duration", lang.pick("Gem. duur", "Mean duration")),
                col("ratings", lang.pick("Beoordelingen", "Ratings")),
                col("mean_stars", lang.pick("Gem. sterren", "Mean stars")),
            ],
            rows: data
                .desks
                .iter()
                .map(|d| {
                    row(
                        d.desk.0.clone(),
                        desk_name(options, &d.desk),
                        vec![
                            Cell::Count(d.chats),
                            Cell::Minutes(d.mean_duration_secs),
                            Cell::Count(d.ratings),
                            Cell::Stars(d.mean_stars),
                        ],
                    )
                })
                .collect(),
        }],
        charts: vec![],
    }
}

/// The events (Chat-met-je-CLB): the sector's line as the annual report writes it (how
/// many chatboxes opened, how many chats, their mean length and stars), then one row per
/// event with its chats per client type. Absent when the report has no event.
pub(super) fn events(data: &ReportData, options: &Options) -> Option<Section> {
    if data.events.is_empty() {
        return None;
    }
    let lang = options.lang;
    let desks: std::collections::BTreeSet<&DeskId> =
        data.events.iter().map(|e| &e.query.desk).collect();
    let chats: u64 = data.events.iter().map(|e| e.chats).sum();
    let ended: u64 = data.events.iter().map(|e| e.ended).sum();
    let ratings: u64 = data.events.iter().map(|e| e.ratings).sum();
    let weighted =
        |n: u64, total: u64, mean: Option<f64>| mean.map_or(0.0, |m| m * n as f64) / total as f64;
    let minutes = (ended > 0).then(|| {
        data.events
            .iter()
            .map(|e| weighted(e.ended, ended, e.mean_duration_secs))
            .sum::<f64>()
    });
    let stars = (ratings > 0).then(|| {
        data.events
            .iter()
            .map(|e| weighted(e.ratings, ratings, e.mean_stars))
            .sum::<f64>()
    });
    let (n, k, c) = (
        lang.count(desks.len() as u64),
        lang.count(data.events.len() as u64),
        lang.count(chats),
    );
    let mut line = match lang {
        Lang::Nl => {
            format!("{n} chatbox(en) gingen samen {k} keer open voor een evenement: {c} gesprekken")
        }
        Lang::En => format!("{n} chatbox(es) opened {k} times for an event: {c} chats"),
    };
    if let Some(m) = minutes {
        let m = Cell::Minutes(Some(m)).text(lang);
        line.push_str(&match lang {
            Lang::Nl => format!(", gemiddeld {m} lang"),
            Lang::En => format!(", {m} long on average"),
        });
    }
    if let Some(s) = stars {
        let s = Cell::Stars(Some(s)).text(lang);
        line.push_str(&match lang {
            Lang::Nl => format!(", gemiddeld {s} sterren op 5"),
            Lang::En => format!(", {s} stars of 5 on average"),
        });
    }
    line.push('.');
    let when = |e: &EventFigures| {
        let first = e.query.windows.first().map(|w| w.from);
        let last = e.query.windows.last().map(|w| w.until);
        match (first, last) {
            (Some(a), Some(b)) => {
                let (a, b) = (local(a), local(b));
                if a.get(..10) == b.get(..10) {
                    format!("{a}–{}", b.get(11..).unwrap_or_default())
                } else {
                    format!(
                        "{} – {}",
                        a.get(..10).unwrap_or_default(),
                        b.get(..10).unwrap_or_default()
                    )
                }
            }
            _ => String::new(),
        }
    };
    let client_types = [
        Some(ClientType::Student),
        Some(ClientType::Parent),
        Some(ClientType::Teacher),
    ];
    let rows = data
        .events
        .iter()
        .map(|e| {
            let known: u64 = client_types.iter().map(|t| e.chats_of(*t)).sum();
            let mut cells = vec![
                Cell::Text(when(e)),
                Cell::Count(e.arrivals),
                Cell::Count(e.chats),
            ];
            cells.extend(client_types.iter().map(|t| Cell::Count(e.chats_of(*t))));
            cells.extend([
                Cell::Count(e.chats.saturating_sub(known)),
                Cell::Minutes(e.mean_duration_secs),
                Cell::Count(e.ratings),
                Cell::Stars(e.mean_stars),
            ]);
            row(
                format!(
                    "{}@{}",
                    e.query.desk.0,
                    e.query
                        .starts_at()
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_default()
                ),
                format!("{}: {}", desk_name(options, &e.query.desk), e.query.title),
                cells,
            )
        })
        .collect();
    Some(Section {
        id: "events",
        title: lang
            .pick(
                "Open voor een evenement (chat-met-je-CLB)",
                "Opened for an event (Chat-met-je-CLB)",
            )
            .to_owned(),
        text: vec![line],
        tables: vec![Table {
            id: "events".into(),
            caption: lang
                .pick(
                    "Per evenement: bezoekers, gesprekken per type cliënt, duur en beoordeling",
                    "Per event: visitors, chats per client type, length and rating",
                )
                .to_owned(),
            first: lang.pick("Chatbox: evenement", "Chatbox: event").to_owned(),
            columns: vec![
                col("when", lang.pick("Wanneer", "When")),
                col("visitors", lang.pick("Bezoekers", "Visitors")),
                col("chats", "Chats"),
                col(
                    "students",
                    labels::client_type(lang, Some(ClientType::Student)),
                ),
                col(
                    "parents",
                    labels::client_type(lang, Some(ClientType::Parent)),
                ),
                col(
                    "teachers",
                    labels::client_type(lang, Some(ClientType::Teacher)),
                ),
                col(
                    "others",
                    lang.pick("Anderen of onbekend", "Others or unknown"),
                ),
                col("mean_duration", lang.pick("Gem. duur", "Mean duration")),
                col("ratings", lang.pick("Beoordelingen", "Ratings")),
                col("mean_stars", lang.pick("Gem. sterren", "Mean stars")),
            ],
            rows,
        }],
        charts: vec![],
    })
}

pub(super) fn waiting(data: &ReportData, lang: Lang) -> Section {
    let t = &data.totals;
    let title = lang.pick(
        "Wachten, afhaken en geweigerd",
        "Waiting, leaving and refused",
    );
    let of_arrivals = |n| Cell::Percent(share(n, t.arrivals));
    Section {
        id: "waiting",
        title: title.to_owned(),
        text: vec![],
        tables: vec![Table {
            id: "waiting".into(),
            caption: title.to_owned(),
            first: String::new(),
            columns: vec![
                col("value", lang.pick("Waarde", "Value")),
                col(
                    "percent",
                    lang.pick("% van de aanmeldingen", "% of arrivals"),
                ),
            ],
            rows: vec![
                row(
                    "mean_wait",
                    lang.pick("Gemiddelde wachttijd", "Mean wait"),
                    alone(Cell::Minutes(t.mean_wait_secs)),
                ),
                row(
                    "p90_wait",
                    lang.pick(
                        "Wachttijd p90 (90% wachtte niet langer)",
                        "Wait p90 (90% waited no longer)",
                    ),
                    alone(Cell::Minutes(t.p90_wait_secs)),
                ),
                row(
                    "abandoned_in_queue",
                    lang.pick(
                        "Wachtrij verlaten voor ze geholpen werden",
                        "Left the queue before being served",
                    ),
                    vec![
                        Cell::Count(t.abandoned_in_queue),
                        of_arrivals(t.abandoned_in_queue),
                    ],
                ),
                row(
                    "mean_wait_abandoned",
                    lang.pick("… na gemiddeld", "… after on average"),
                    alone(Cell::Minutes(t.mean_wait_abandoned_secs)),
                ),
                row(
                    "refused_before_closing",
                    lang.pick(
                        "Niet meer toegelaten: de wachttijd liep voorbij sluitingstijd",
                        "Not admitted: the wait ran past closing time",
                    ),
                    vec![
                        Cell::Count(t.refused_before_closing),
                        of_arrivals(t.refused_before_closing),
                    ],
                ),
                row(
                    "closed_at_closing_time",
                    lang.pick(
                        "Nog aan het wachten bij sluitingstijd",
                        "Still waiting at closing time",
                    ),
                    vec![
                        Cell::Count(t.closed_at_closing_time),
                        of_arrivals(t.closed_at_closing_time),
                    ],
                ),
                row(
                    "refused_queue_full",
                    lang.pick("Niet toegelaten: wachtrij vol", "Not admitted: queue full"),
                    vec![
                        Cell::Count(t.refused_queue_full),
                        of_arrivals(t.refused_queue_full),
                    ],
                ),
            ],
        }],
        charts: vec![],
    }
}

pub(super) fn coverage(data: &ReportData, options: &Options) -> Section {
    let lang = options.lang;
    let title = lang.pick(
        "Bezetting tijdens de openingsuren",
        "Staffing during opening hours",
    );
    Section {
        id: "coverage",
        title: title.to_owned(),
        text: vec![lang
            .pick(
                "Uren dat de desk open was, met minder hulpverleners online dan het minimum, en zonder arts of verpleegkundige online. Tijd dat de server stilstond, telt niet mee.",
                "Hours the desk was open, with fewer counsellors online than its minimum, and with no doctor or nurse online. Time the server was stopped does not count.",
            )
            .to_owned()],
        tables: vec![Table {
            id: "coverage".into(),
            caption: title.to_owned(),
            first: lang.pick("Chatdienst of chatbox", "Desk or chatbox").to_owned(),
            columns: vec![
                col("open_hours", lang.pick("Open", "Open")),
                col("below_minimum_hours", lang.pick("Onder het minimum", "Below the minimum")),
                col("below_minimum_percent", "%"),
                col("no_medical_hours", lang.pick("Zonder medische hulpverlener", "No medical counsellor")),
                col("no_medical_percent", "%"),
            ],
            rows: data
                .coverage
                .iter()
                .map(|c| {
                    row(
                        c.desk.0.clone(),
                        desk_name(options, &c.desk),
                        vec![
                            Cell::Hours(c.open_secs),
                            Cell::Hours(c.below_minimum_secs),
                            Cell::Percent(share(c.below_minimum_secs, c.open_secs)),
                            Cell::Hours(c.no_medical_secs),
                            Cell::Percent(share(c.no_medical_secs, c.open_secs)),
                        ],
                    )
                })
                .collect(),
        }],
        charts: vec![],
    }
}

pub(super) fn endings(data: &ReportData, lang: Lang) -> Section {
    let t = &data.totals;
    let title = lang.pick("Hoe de gesprekken eindigden", "How the chats ended");
    Section {
        id: "endings",
        title: title.to_owned(),
        text: vec![],
        tables: vec![Table {
            id: "endings".into(),
            caption: title.to_owned(),
            first: lang.pick("Einde", "End").to_owned(),
            columns: vec![
                col("chats", "Chats"),
                col("percent", lang.pick("% van de beëindigde", "% of ended")),
            ],
            rows: t
                .chats_by_end_reason
                .iter()
                .map(|(r, n)| {
                    let key = serde_json::to_value(r)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    row(key, labels::end_reason(lang, *r), counted(*n, t.ended))
                })
                .collect(),
        }],
        charts: vec![],
    }
}
