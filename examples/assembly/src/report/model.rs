//! The report as one document model: sections with tables (rows of typed cells) and
//! charts. Every format is written from it, so the formats cannot disagree.

use super::charts::Chart;
use super::labels::Lang;

/// One cell: the value as a figure, so each format writes it its own way.
#[derive(Debug, Clone)]
pub(super) enum Cell {
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
    pub(super) fn text(&self, lang: Lang) -> String {
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
    pub(super) fn raw(&self) -> String {
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

    pub(super) fn numeric(&self) -> bool {
        !matches!(self, Cell::Text(_))
    }
}

#[derive(Debug, Clone)]
pub(super) struct Column {
    pub(super) key: String,
    pub(super) label: String,
}

#[derive(Debug, Clone)]
pub(super) struct Row {
    pub(super) key: String,
    pub(super) label: String,
    pub(super) cells: Vec<Cell>,
}

#[derive(Debug, Clone)]
pub(super) struct Table {
    pub(super) id: String,
    pub(super) caption: String,
    /// The heading of the label column.
    pub(super) first: String,
    pub(super) columns: Vec<Column>,
    pub(super) rows: Vec<Row>,
}

#[derive(Debug, Clone)]
pub(super) struct Section {
    pub(super) id: &'static str,
    pub(super) title: String,
    pub(super) text: Vec<String>,
    pub(super) tables: Vec<Table>,
    pub(super) charts: Vec<Chart>,
}

#[derive(Debug, Clone)]
pub(super) struct Doc {
    pub(super) title: String,
    pub(super) lines: Vec<String>,
    pub(super) sections: Vec<Section>,
}

pub(super) fn col(key: &str, label: impl Into<String>) -> Column {
    Column {
        key: key.to_owned(),
        label: label.into(),
    }
}

pub(super) fn row(key: impl Into<String>, label: impl Into<String>, cells: Vec<Cell>) -> Row {
    Row {
        key: key.into(),
        label: label.into(),
        cells,
    }
}

/// The cells of a figure that has no share.
pub(super) fn alone(cell: Cell) -> Vec<Cell> {
    vec![cell, Cell::Text(String::new())]
}

/// The cells of a count and its share of `whole`.
pub(super) fn counted(n: u64, whole: u64) -> Vec<Cell> {
    vec![Cell::Count(n), Cell::Percent(share(n, whole))]
}

pub(super) fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}
