//! The report as HTML: a self-contained page, or a fragment for the coordinator page.

use std::fmt::Write as _;

use super::charts;
use super::labels::Lang;
use super::model::Doc;
use super::REPORT_CSS;
use crate::error::Result;

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
pub(super) fn html_body(doc: &Doc, lang: Lang, top: u8) -> Result<String> {
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

pub(super) fn html_page(doc: &Doc, lang: Lang) -> Result<String> {
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
