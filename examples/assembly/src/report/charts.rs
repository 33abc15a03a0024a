//! Bar charts as SVG, drawn with `plotters` (its SVG backend only: no fonts, no C
//! libraries; the browser renders the text). Every chart repeats a table of the report, so
//! it is a picture of figures that are also there as text.
//!
//! The SVG uses presentation attributes only (no `style` attributes, no scripts), so the
//! coordinator page can show it under its strict Content-Security-Policy.

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use crate::error::{Error, Result};

/// One series of bars.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    /// Its name in the legend.
    pub(crate) name: String,
    /// One value per category.
    pub(crate) values: Vec<f64>,
}

/// A bar chart: categories with one bar per series (grouped) or one bar of stacked series.
#[derive(Debug, Clone)]
pub(crate) struct Chart {
    /// What it shows (the figure's caption and the SVG's accessible name).
    pub(crate) title: String,
    /// The categories, in reading order.
    pub(crate) categories: Vec<String>,
    /// The series.
    pub(crate) series: Vec<Series>,
    /// Bars run left to right (long category names), else bottom to top.
    pub(crate) horizontal: bool,
    /// Series stacked in one bar, else side by side.
    pub(crate) stacked: bool,
    /// The value axis' description (e.g. "%" or "chats").
    pub(crate) unit: String,
}

/// The series colours, in order (dark enough on white for the bars' labels to be read).
const COLOURS: [RGBColor; 4] = [
    RGBColor(0x0b, 0x5f, 0x7a),
    RGBColor(0xc2, 0x5b, 0x0a),
    RGBColor(0x5b, 0x6b, 0x2f),
    RGBColor(0x6b, 0x6b, 0x6b),
];

const WIDTH: u32 = 760;
const FONT: &str = "sans-serif";
/// Every text in a chart: plotters' SVG backend writes a font of size `s` as
/// `font-size = s / 1.24` SVG pixels (the 12 and 13 used before came out at 9.7 and 10.5 px),
/// so 19 gives 15.3 px. Charts are drawn [`WIDTH`] wide and never shown narrower than
/// 700 px (`report.css` lets the figure scroll instead): a label is at least 14 px on screen.
const FONT_SIZE: u32 = 19;
/// The smallest text in a chart, in SVG pixels.
#[cfg(test)]
const MIN_TEXT_PX: f64 = 15.0;

fn drawing<E: std::error::Error + Send + Sync>(e: E) -> Error {
    Error::Chart(e.to_string())
}

/// The bars' extent on the value axis: a little room above the largest.
fn value_max(chart: &Chart) -> f64 {
    let n = chart.categories.len();
    let max = if chart.stacked {
        (0..n)
            .map(|i| {
                chart
                    .series
                    .iter()
                    .filter_map(|s| s.values.get(i))
                    .sum::<f64>()
            })
            .fold(0.0, f64::max)
    } else {
        chart
            .series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .fold(0.0, f64::max)
    };
    if max <= 0.0 {
        1.0
    } else {
        max * 1.08
    }
}

/// `(from, to)` on the value axis of series `k` in category `i`.
fn extent(chart: &Chart, k: usize, i: usize) -> (f64, f64) {
    let value = chart.series[k].values.get(i).copied().unwrap_or(0.0);
    if chart.stacked {
        let below: f64 = chart.series[..k]
            .iter()
            .filter_map(|s| s.values.get(i))
            .sum();
        (below, below + value)
    } else {
        (0.0, value)
    }
}

/// Pixels trimmed off a category's band on each side for series `k` of `count`: the bars
/// of a group share the band, with padding around the group.
fn band_margins(band: u32, k: usize, count: usize, stacked: bool) -> (u32, u32) {
    let pad = (band / 6).max(2);
    if stacked || count <= 1 {
        return (pad, pad);
    }
    let inner = band.saturating_sub(2 * pad);
    let each = inner / u32::try_from(count).unwrap_or(1);
    let k = u32::try_from(k).unwrap_or(0);
    let before = pad + k * each;
    let after = band.saturating_sub(before + each);
    (before, after)
}

/// Draws every series' bars, `bar(k, i, colour)` being series `k`'s in category `i`, and
/// with more than one series the legend (the same for both orientations).
fn draw_bars<'a, CT>(
    c: &mut ChartContext<'a, SVGBackend<'a>, CT>,
    chart: &Chart,
    bar: impl Fn(usize, usize, RGBColor) -> Rectangle<CT::From>,
) -> Result<()>
where
    CT: CoordTranslate,
{
    let legend = chart.series.len() > 1;
    for (k, s) in chart.series.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let bars = (0..chart.categories.len()).map(|i| bar(k, i, colour));
        let drawn = c.draw_series(bars).map_err(drawing)?;
        if legend {
            drawn.label(s.name.clone()).legend(move |(x, y)| {
                Rectangle::new([(x, y - 6), (x + 12, y + 6)], colour.filled())
            });
        }
    }
    if legend {
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE)
            .border_style(BLACK)
            .label_font((FONT, FONT_SIZE))
            .draw()
            .map_err(drawing)?;
    }
    Ok(())
}

/// Renders the chart as an SVG document (no XML declaration), with `role="img"` and the
/// title as its accessible name.
pub(crate) fn svg(chart: &Chart) -> Result<String> {
    let n = chart.categories.len();
    if n == 0 {
        return Ok(String::new());
    }
    let n32 = u32::try_from(n).map_err(|_| Error::Chart("too many categories".into()))?;
    let legend = chart.series.len() > 1;
    let mut out = String::new();
    {
        let height = if chart.horizontal {
            let per = if chart.stacked || chart.series.len() <= 1 {
                26
            } else {
                16 * u32::try_from(chart.series.len()).unwrap_or(1) + 8
            };
            60 + n32 * per + if legend { 30 } else { 0 }
        } else {
            320
        };
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let max = value_max(chart);
        let labels = &chart.categories;
        let unit = chart.unit.as_str();
        let value_label = |v: &f64| {
            if max < 20.0 {
                format!("{v:.1}")
            } else {
                format!("{v:.0}")
            }
        };
        if chart.horizontal {
            let mut c = ChartBuilder::on(&root)
                .margin(10)
                .margin_top(if legend { 34 } else { 10 })
                .x_label_area_size(34)
                .y_label_area_size(300)
                .build_cartesian_2d(0f64..max, (0u32..n32).into_segmented())
                .map_err(drawing)?;
            // Category 0 at the top.
            let label_of = |v: &SegmentValue<u32>| match v {
                SegmentValue::CenterOf(i) => usize::try_from(*i)
                    .ok()
                    .and_then(|i| (n - 1).checked_sub(i))
                    .and_then(|i| labels.get(i))
                    .cloned()
                    .unwrap_or_default(),
                _ => String::new(),
            };
            c.configure_mesh()
                .disable_y_mesh()
                .max_light_lines(1)
                .y_labels(n)
                .y_label_formatter(&label_of)
                .x_label_formatter(&value_label)
                .x_desc(unit)
                .label_style((FONT, FONT_SIZE))
                .axis_desc_style((FONT, FONT_SIZE))
                .draw()
                .map_err(drawing)?;
            let band = c.plotting_area().dim_in_pixel().1 / n32.max(1);
            draw_bars(&mut c, chart, |k, i, colour| {
                let (top, bottom) = band_margins(band, k, chart.series.len(), chart.stacked);
                let row = n32 - 1 - u32::try_from(i).unwrap_or(0);
                let (from, to) = extent(chart, k, i);
                let mut r = Rectangle::new(
                    [
                        (from, SegmentValue::Exact(row)),
                        (to, SegmentValue::Exact(row + 1)),
                    ],
                    colour.filled(),
                );
                r.set_margin(top, bottom, 0, 0);
                r
            })?;
        } else {
            let mut c = ChartBuilder::on(&root)
                .margin(10)
                .margin_top(if legend { 34 } else { 10 })
                .x_label_area_size(40)
                .y_label_area_size(56)
                .build_cartesian_2d((0u32..n32).into_segmented(), 0f64..max)
                .map_err(drawing)?;
            let label_of = |v: &SegmentValue<u32>| match v {
                SegmentValue::CenterOf(i) => usize::try_from(*i)
                    .ok()
                    .and_then(|i| labels.get(i))
                    .cloned()
                    .unwrap_or_default(),
                _ => String::new(),
            };
            c.configure_mesh()
                .disable_x_mesh()
                .max_light_lines(1)
                .x_labels(n)
                .x_label_formatter(&label_of)
                .y_label_formatter(&value_label)
                .y_desc(unit)
                .label_style((FONT, FONT_SIZE))
                .axis_desc_style((FONT, FONT_SIZE))
                .draw()
                .map_err(drawing)?;
            let band = c.plotting_area().dim_in_pixel().0 / n32.max(1);
            draw_bars(&mut c, chart, |k, i, colour| {
                let (left, right) = band_margins(band, k, chart.series.len(), chart.stacked);
                let col = u32::try_from(i).unwrap_or(0);
                let (from, to) = extent(chart, k, i);
                let mut r = Rectangle::new(
                    [
                        (SegmentValue::Exact(col), from),
                        (SegmentValue::Exact(col + 1), to),
                    ],
                    colour.filled(),
                );
                r.set_margin(0, 0, left, right);
                r
            })?;
        }
        root.present().map_err(drawing)?;
    }
    Ok(label_svg(&out, &chart.title))
}

/// Gives the SVG an accessible name: `role="img"` and a `<title>`.
fn label_svg(svg: &str, title: &str) -> String {
    let escaped = super::html_escape(title);
    match svg.find("<svg") {
        Some(start) => match svg[start..].find('>') {
            Some(end) => {
                let end = start + end;
                format!(
                    "{} role=\"img\" aria-label=\"{escaped}\">\n<title>{escaped}</title>{}",
                    &svg[start..end],
                    &svg[end + 1..]
                )
            }
            None => svg.to_owned(),
        },
        None => svg.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_an_svg_with_its_labels_and_no_style_attributes() {
        let chart = Chart {
            title: "Top 10 <onderwerpen> & meer".into(),
            categories: vec![
                "OLB: Studiekeuze".into(),
                "PSF: Pesten & cyberpesten".into(),
            ],
            series: vec![
                Series {
                    name: "Leerlingen".into(),
                    values: vec![1014.0, 373.0],
                },
                Series {
                    name: "Ouders".into(),
                    values: vec![332.0, 0.0],
                },
            ],
            horizontal: true,
            stacked: false,
            unit: "chats".into(),
        };
        let svg = svg(&chart).expect("a chart");
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("<title>Top 10 &lt;onderwerpen&gt; &amp; meer</title>"));
        assert!(
            svg.contains("PSF: Pesten &amp; cyberpesten"),
            "labels are escaped"
        );
        assert!(svg.contains("Ouders"), "a legend names the series");
        assert!(!svg.contains("style="), "no inline styles (CSP)");
        assert!(!svg.contains("<script"));
        let vertical = Chart {
            horizontal: false,
            stacked: true,
            ..chart
        };
        let svg = super::svg(&vertical).expect("a chart");
        assert!(svg.contains("OLB: Studiekeuze"));
    }

    /// Labels of 9-10 px were seen on the coordinator page: every text is at least
    /// MIN_TEXT_PX in the SVG, which is never shown narrower than 700 px.
    #[test]
    fn chart_texts_are_large_enough_to_read() {
        for horizontal in [true, false] {
            let chart = Chart {
                title: "Chats per maand".into(),
                categories: (1..=12).map(|m| format!("{m:02}/2022")).collect(),
                series: vec![Series {
                    name: "Chats".into(),
                    values: (1..=12).map(|m| f64::from(m * 70)).collect(),
                }],
                horizontal,
                stacked: false,
                unit: "chats".into(),
            };
            let svg = svg(&chart).expect("a chart");
            let sizes: Vec<f64> = svg
                .split("font-size=\"")
                .skip(1)
                .filter_map(|rest| rest.split('"').next()?.trim_end_matches("px").parse().ok())
                .collect();
            assert!(!sizes.is_empty(), "the chart has texts");
            assert!(sizes.iter().all(|s| *s >= MIN_TEXT_PX), "{sizes:?}");
        }
        let css = include_str!("../../assets/report.css");
        assert!(
            css.contains("min-width: 700px"),
            "charts never shrink below 700 px"
        );
    }
}
