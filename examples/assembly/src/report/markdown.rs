//! The report as markdown.

use std::fmt::Write as _;

use super::labels::Lang;
use super::model::Doc;

pub(super) fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub(super) fn markdown(doc: &Doc, lang: Lang) -> String {
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
