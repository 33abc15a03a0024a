//! The report as CSV, in the long format (`table,row,row_label,column,value`).

use std::fmt::Write as _;

use super::model::Doc;

pub(super) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

pub(super) fn csv(doc: &Doc) -> String {
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
