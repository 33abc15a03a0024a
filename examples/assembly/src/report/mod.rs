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

pub(crate) mod charts;
mod csv;
pub(crate) mod html;
pub(crate) mod labels;
mod markdown;
mod model;
mod sections;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use clbchat_core::ids::DeskId;
use clbchat_core::statistics::ReportData;

pub use labels::Lang;

use crate::error::{Error, Result};
pub(crate) use html::html_escape;

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
#[derive(Debug, Clone)]
pub struct ServerRenderer {
    /// The engine whose desks' names the report writes (a centre created while the server
    /// runs is named too).
    pub engine: clbchat_core::engine::Engine,
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
            desk_names: self
                .engine
                .desks()
                .into_iter()
                .map(|d| (d.id, d.name))
                .collect(),
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
    let doc = || sections::document(data, options);
    match format {
        Format::Json => serde_json::to_string_pretty(data)
            .map_err(|e| Error::Refused(format!("report: cannot write JSON: {e}"))),
        Format::Markdown => Ok(markdown::markdown(&doc(), options.lang)),
        Format::Csv => Ok(csv::csv(&doc())),
        Format::Html => html::html_page(&doc(), options.lang),
        // Inside a page whose own heading is an h2: the report's headings are h3 and h4.
        Format::HtmlFragment => html::html_body(&doc(), options.lang, 3),
    }
}
