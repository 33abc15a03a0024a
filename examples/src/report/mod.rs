//! The annual report as a document: markdown, CSV, a self-contained HTML page with charts,
//! and the same HTML as a fragment for the coordinator page.
//!
//! The figures come from the store ([`clbchat_core::store::Store::report`]; what each means
//! is written in [`clbchat_core::statistics`]). This module only lays them out: it builds
//! one document model (sections with tables and charts) and writes it in each format, so
//! the formats cannot disagree. Percentages are computed here from the counts, with their
//! denominators said in the table (e.g. "% of registered chats").
//!
//! CSV is the long format (`table,row,row_label,column,value`): one figure per line, with
//! machine-readable keys and plain numbers (a dot as decimal mark, durations in minutes),
//! so a spreadsheet can pivot it and a script can read it without knowing the layout.

mod charts;
mod labels;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use clbchat_core::ids::DeskId;
use clbchat_core::registration::{ChatResult, ClientType, FoundVia, Gender};
use clbchat_core::statistics::{
    school_year_dates, school_year_of, ClientFigures, ReportData, REPORT_TIME_ZONE,
};

pub use labels::Lang;

use crate::error::{Error, Result};
use charts::{Chart, Series};

/// How many topics the top list shows per client type.
pub const TOP_TOPICS: usize = 10;

/// The stylesheet of the report (the standalone page inlines it; the coordinator page
/// links it as `/assets/report.css`).
pub const REPORT_CSS: &str = include_str!("../../assets/report.css");

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Markdown tables.
    Markdown,
    /// One figure per line (see the module docs).
    Csv,
    /// A self-contained HTML page with SVG charts (no outside resources).
    Html,
    /// The page's content, without `<html>` and styles, for embedding.
    HtmlFragment,
    /// The figures as the store computed them (JSON).
    Json,
}

impl Format {
    /// Reads `markdown`/`md`, `csv`, `html`, `html-fragment`, `json`.
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "markdown" | "md" => Some(Format::Markdown),
            "csv" => Some(Format::Csv),
            "html" => Some(Format::Html),
            "html-fragment" | "html_fragment" | "fragment" => Some(Format::HtmlFragment),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Csv => "csv",
            Format::Html | Format::HtmlFragment => "html",
            Format::Json => "json",
        }
    }

    /// The media type to serve it with.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Html | Format::HtmlFragment => "text/html; charset=utf-8",
            Format::Json => "application/json",
        }
    }
}

/// How to write a report.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Language.
    pub lang: Lang,
    /// Names to show for desk ids (e.g. `clbchat` → `CLBch@t`); unknown ids show as is.
    pub desk_names: BTreeMap<DeskId, String>,
    /// When it was made (shown in the heading); `None` leaves it out.
    pub generated_at: Option<DateTime<Utc>>,
}

/// The reference server's report writer for the WebSocket's `report` frame: the
/// coordinator page shows the `html_fragment` and downloads the other formats.
#[derive(Debug, Clone, Default)]
pub struct ServerRenderer {
    /// Names for desk ids.
    pub desk_names: BTreeMap<DeskId, String>,
}

impl ServerRenderer {
    fn parse(format: &str, lang: Option<&str>) -> std::result::Result<(Format, Lang), String> {
        let f = Format::parse(format).ok_or_else(|| {
            format!("`{format}` is not a report format; ask for html_fragment, html, markdown, csv or json")
        })?;
        let lang = match lang {
            None => Lang::default(),
            Some(l) => Lang::parse(l)
                .ok_or_else(|| format!("`{l}` is not a language; ask for nl or en"))?,
        };
        Ok((f, lang))
    }
}

impl clbchat_transport_ws::reports::ReportRenderer for ServerRenderer {
    fn check(&self, format: &str, lang: Option<&str>) -> std::result::Result<(), String> {
        Self::parse(format, lang).map(|_| ())
    }

    fn render(
        &self,
        data: &ReportData,
        format: &str,
        lang: Option<&str>,
    ) -> std::result::Result<clbchat_transport_ws::reports::RenderedReport, String> {
        let (f, lang) = Self::parse(format, lang)?;
        let options = Options {
            lang,
            desk_names: self.desk_names.clone(),
            generated_at: Some(Utc::now()),
        };
        let content = render(data, f, &options).map_err(|e| e.to_string())?;
        let (from, to) = data.query.period.local_dates();
        let desk = data.query.desk.as_ref().map_or("alle", |d| d.0.as_str());
        Ok(clbchat_transport_ws::reports::RenderedReport {
            format: format.to_owned(),
            content_type: f.content_type().to_owned(),
            file_name: format!(
                "{}-{desk}-{from}-{to}.{}",
                lang.pick("rapport", "report"),
                f.extension()
            ),
            content,
        })
    }
}

/// Writes the report in `format`.
pub fn render(data: &ReportData, format: Format, options: &Options) -> Result<String> {
    let doc = || document(data, options);
    match format {
        Format::Json => serde_json::to_string_pretty(data)
            .map_err(|e| Error::Refused(format!("report: cannot write JSON: {e}"))),
        Format::Markdown => Ok(markdown(&doc(), options.lang)),
        Format::Csv => Ok(csv(&doc())),
        Format::Html => html_page(&doc(), options.lang),
        // Inside a page whose own heading is an h2: the report's headings are h3 and h4.
        Format::HtmlFragment => html_body(&doc(), options.lang, 3),
    }
}

// ---------------------------------------------------------------------------------------
// the document model

/// One cell: the value as a figure, so each format writes it its own way.
#[derive(Debug, Clone)]
enum Cell {
    Text(String),
    Count(u64),
    /// A share, 0-100; `None` when the denominator is zero.
    Percent(Option<f64>),
    /// Seconds, shown in minutes.
    Minutes(Option<f64>),
    /// Seconds, shown in hours.
    Hours(u64),
    Stars(Option<f64>),
    Years(Option<f64>),
}

impl Cell {
    fn text(&self, lang: Lang) -> String {
        let opt =
            |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or_else(|| lang.none().to_owned(), f);
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Count(n) => lang.count(*n),
            Cell::Percent(p) => opt(*p, &|p| format!("{}%", lang.decimal(p, 1))),
            Cell::Minutes(s) => opt(*s, &|s| format!("{} min", lang.decimal(s / 60.0, 1))),
            Cell::Hours(s) => format!(
                "{} {}",
                lang.decimal(*s as f64 / 3600.0, 1),
                lang.pick("u", "h")
            ),
            Cell::Stars(s) => opt(*s, &|s| lang.decimal(s, 2)),
            Cell::Years(y) => opt(*y, &|y| {
                format!("{} {}", lang.decimal(y, 1), lang.pick("jaar", "years"))
            }),
        }
    }

    /// The plain value for CSV: numbers with a dot, minutes and hours as numbers.
    fn raw(&self) -> String {
        let opt = |v: Option<f64>, scale: f64| {
            v.map_or_else(String::new, |v| format!("{:.4}", v / scale))
        };
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Count(n) => n.to_string(),
            Cell::Percent(p) => opt(*p, 1.0),
            Cell::Minutes(s) => opt(*s, 60.0),
            Cell::Hours(s) => format!("{:.4}", *s as f64 / 3600.0),
            Cell::Stars(s) | Cell::Years(s) => opt(*s, 1.0),
        }
    }

    fn numeric(&self) -> bool {
        !matches!(self, Cell::Text(_))
    }
}

#[derive(Debug, Clone)]
struct Column {
    key: String,
    label: String,
}

#[derive(Debug, Clone)]
struct Row {
    key: String,
    label: String,
    cells: Vec<Cell>,
}

#[derive(Debug, Clone)]
struct Table {
    id: String,
    caption: String,
    /// The heading of the label column.
    first: String,
    columns: Vec<Column>,
    rows: Vec<Row>,
}

#[derive(Debug, Clone)]
struct Section {
    id: &'static str,
    title: String,
    text: Vec<String>,
    tables: Vec<Table>,
    charts: Vec<Chart>,
}

#[derive(Debug, Clone)]
struct Doc {
    title: String,
    lines: Vec<String>,
    sections: Vec<Section>,
}

fn col(key: &str, label: impl Into<String>) -> Column {
    Column {
        key: key.to_owned(),
        label: label.into(),
    }
}

fn row(key: impl Into<String>, label: impl Into<String>, cells: Vec<Cell>) -> Row {
    Row {
        key: key.into(),
        label: label.into(),
        cells,
    }
}

/// The cells of a figure that has no share.
fn alone(cell: Cell) -> Vec<Cell> {
    vec![cell, Cell::Text(String::new())]
}

/// The cells of a count and its share of `whole`.
fn counted(n: u64, whole: u64) -> Vec<Cell> {
    vec![Cell::Count(n), Cell::Percent(share(n, whole))]
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

fn desk_name(options: &Options, desk: &DeskId) -> String {
    options
        .desk_names
        .get(desk)
        .cloned()
        .unwrap_or_else(|| desk.0.clone())
}

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&REPORT_TIME_ZONE)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn document(data: &ReportData, options: &Options) -> Doc {
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
    .chain([
        desks(data, options),
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

fn key_figures(data: &ReportData, lang: Lang) -> Section {
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

fn per_period(data: &ReportData, lang: Lang, months: bool) -> Section {
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

fn per_client(data: &ReportData, lang: Lang) -> Section {
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

fn top_topics(data: &ReportData, lang: Lang) -> Section {
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
fn client_columns(data: &ReportData, lang: Lang) -> Vec<(&ClientFigures, Column)> {
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

fn results(data: &ReportData, lang: Lang) -> Section {
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

fn found_via(data: &ReportData, lang: Lang) -> Section {
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

fn students(data: &ReportData, lang: Lang) -> Section {
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

fn gender_key(g: Gender) -> &'static str {
    match g {
        Gender::F => "f",
        Gender::M => "m",
        Gender::X => "x",
    }
}

fn theme(data: &ReportData, lang: Lang) -> Option<Section> {
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

fn desks(data: &ReportData, options: &Options) -> Section {
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

fn waiting(data: &ReportData, lang: Lang) -> Section {
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

fn coverage(data: &ReportData, options: &Options) -> Section {
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

fn endings(data: &ReportData, lang: Lang) -> Section {
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

// ---------------------------------------------------------------------------------------
// the formats

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn markdown(doc: &Doc, lang: Lang) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", doc.title);
    for l in &doc.lines {
        let _ = writeln!(out, "{l}  ");
    }
    for s in &doc.sections {
        let _ = writeln!(out, "\n## {}\n", s.title);
        for t in &s.text {
            let _ = writeln!(out, "{t}\n");
        }
        for t in &s.tables {
            if t.rows.is_empty() {
                let _ = writeln!(out, "_{}_\n", lang.pick("Geen gegevens.", "No data."));
                continue;
            }
            if s.tables.len() > 1 {
                let _ = writeln!(out, "**{}**\n", t.caption);
            }
            let _ = write!(out, "| {} |", md_cell(&t.first));
            for c in &t.columns {
                let _ = write!(out, " {} |", md_cell(&c.label));
            }
            let _ = write!(out, "\n|---|");
            for _ in &t.columns {
                out.push_str("---:|");
            }
            out.push('\n');
            for r in &t.rows {
                let _ = write!(out, "| {} |", md_cell(&r.label));
                for c in &r.cells {
                    let _ = write!(out, " {} |", md_cell(&c.text(lang)));
                }
                out.push('\n');
            }
            out.push('\n');
        }
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn csv(doc: &Doc) -> String {
    let mut out = String::from("table,row,row_label,column,value\n");
    for s in &doc.sections {
        for t in &s.tables {
            for r in &t.rows {
                for (c, cell) in t.columns.iter().zip(&r.cells) {
                    if !cell.numeric() && cell.raw().is_empty() {
                        continue;
                    }
                    let _ = writeln!(
                        out,
                        "{},{},{},{},{}",
                        csv_field(&t.id),
                        csv_field(&r.key),
                        csv_field(&r.label),
                        csv_field(&c.key),
                        csv_field(&cell.raw())
                    );
                }
            }
        }
    }
    out
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The report's HTML; its title is a heading of level `top`, its sections one below.
fn html_body(doc: &Doc, lang: Lang, top: u8) -> Result<String> {
    let e = html_escape;
    let (h1, h2) = (top.clamp(1, 5), top.clamp(1, 5) + 1);
    let mut out = String::new();
    let _ = writeln!(out, "<article class=\"report\" lang=\"{}\">", lang.code());
    let _ = writeln!(
        out,
        "<header><h{h1} class=\"report-title\">{}</h{h1}>",
        e(&doc.title)
    );
    for l in &doc.lines {
        let _ = writeln!(out, "<p>{}</p>", e(l));
    }
    let _ = writeln!(
        out,
        "<nav aria-label=\"{}\"><ul>",
        lang.pick("Inhoud", "Contents")
    );
    for s in &doc.sections {
        let _ = writeln!(
            out,
            "<li><a href=\"#rpt-{}\">{}</a></li>",
            s.id,
            e(&s.title)
        );
    }
    out.push_str("</ul></nav></header>\n");
    for s in &doc.sections {
        let _ = writeln!(
            out,
            "<section id=\"rpt-{}\" aria-labelledby=\"rpt-{}-h\">",
            s.id, s.id
        );
        let _ = writeln!(
            out,
            "<h{h2} class=\"report-section-title\" id=\"rpt-{}-h\">{}</h{h2}>",
            s.id,
            e(&s.title)
        );
        for t in &s.text {
            let _ = writeln!(out, "<p>{}</p>", e(t));
        }
        out.push_str("<div class=\"report-tables\">\n");
        for t in &s.tables {
            if t.rows.is_empty() {
                let _ = writeln!(
                    out,
                    "<p class=\"report-empty\">{}</p>",
                    lang.pick("Geen gegevens.", "No data.")
                );
                continue;
            }
            let _ = writeln!(
                out,
                "<div class=\"report-table\"><table id=\"rpt-table-{}\">",
                e(&t.id)
            );
            let _ = writeln!(out, "<caption>{}</caption>", e(&t.caption));
            let _ = write!(out, "<thead><tr><th scope=\"col\">{}</th>", e(&t.first));
            for c in &t.columns {
                let _ = write!(out, "<th scope=\"col\">{}</th>", e(&c.label));
            }
            out.push_str("</tr></thead>\n<tbody>\n");
            for r in &t.rows {
                let _ = write!(
                    out,
                    "<tr data-key=\"{}\"><th scope=\"row\">{}</th>",
                    e(&r.key),
                    e(&r.label)
                );
                for (c, cell) in t.columns.iter().zip(&r.cells) {
                    let class = if cell.numeric() { " class=\"num\"" } else { "" };
                    let _ = write!(
                        out,
                        "<td data-col=\"{}\"{class}>{}</td>",
                        e(&c.key),
                        e(&cell.text(lang))
                    );
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody></table></div>\n");
        }
        out.push_str("</div>\n");
        for c in &s.charts {
            // A chart of one bar or of nothing but zeros shows nothing the table does not.
            let mut c = c.clone();
            c.series.retain(|s| s.values.iter().any(|v| *v != 0.0));
            if c.categories.len() < 2 || c.series.is_empty() {
                continue;
            }
            let c = &c;
            let _ = writeln!(
                out,
                "<figure class=\"report-chart\">{}<figcaption>{}</figcaption></figure>",
                charts::svg(c)?,
                e(&c.title)
            );
        }
        out.push_str("</section>\n");
    }
    out.push_str("</article>\n");
    Ok(out)
}

fn html_page(doc: &Doc, lang: Lang) -> Result<String> {
    let body = html_body(doc, lang, 1)?;
    Ok(format!(
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{}</style>\n</head>\n<body>\n<main>\n{}</main>\n</body>\n</html>\n",
        lang.code(),
        html_escape(&doc.title),
        REPORT_CSS,
        body
    ))
}
