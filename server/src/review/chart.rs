//! Charts drawn on the server as SVG text: stacked bars over days, and
//! horizontal bars. Every label is escaped; sizes are fixed and the
//! browser scales them (`viewBox`).

use std::fmt::Write;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 26.0;

use crate::html::escape;

/// `text` cut to `chars` characters, the last an ellipsis when cut.
pub fn short(text: &str, chars: usize) -> String {
    if text.chars().count() > chars {
        format!("{}…", text.chars().take(chars - 1).collect::<String>())
    } else {
        text.to_owned()
    }
}

/// One stacked series: its name, colour and a value per column.
pub struct Series<'a> {
    pub name: &'a str,
    pub colour: &'a str,
    pub values: Vec<f64>,
}

/// A round step (1, 2, 2.5 or 5 times a power of ten) of at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|s| s * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// The axis' step for four grid lines over `max`; whole numbers for counts.
fn axis_step(max: f64, whole: bool) -> f64 {
    let step = nice_step(max / 4.0);
    if whole {
        step.max(1.0).ceil()
    } else {
        step
    }
}

fn number(v: f64) -> String {
    let text = format!("{v:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn open(out: &mut String, title: &str, height: f64) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{}" class="w-full h-auto" font-family="system-ui, sans-serif" font-size="11">"#,
        escape(title)
    );
}

/// Stacked bars, one column per label (`labels` are the x axis, shown
/// every few columns), with a legend and `unit` on the y axis; `whole` when
/// the values are counts.
pub fn stacked_bars(
    title: &str,
    labels: &[String],
    series: &[Series],
    unit: &str,
    whole: bool,
) -> String {
    let columns = labels.len().max(1);
    let totals: Vec<f64> = (0..columns)
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0.0))
                .sum()
        })
        .collect();
    let step = axis_step(totals.iter().copied().fold(0.0, f64::max), whole);
    let top = 4.0 * step;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / columns as f64;
    let bar = (slot * 0.7).max(1.0);
    let mut out = String::new();
    open(&mut out, title, HEIGHT);
    // Grid and y axis labels.
    for i in 0..=4 {
        let v = step * i as f64;
        let y = TOP + plot_h - plot_h * i as f64 / 4.0;
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e2e8f0\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#64748b\">{}{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            number(v),
            escape(unit)
        );
    }
    for (i, label) in labels.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
        let mut base = TOP + plot_h;
        for s in series {
            let v = s.values.get(i).copied().unwrap_or(0.0);
            if v <= 0.0 {
                continue;
            }
            let h = plot_h * v / top;
            base -= h;
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{base:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\" fill=\"{}\"><title>{}: {} {}</title></rect>",
                escape(s.colour),
                escape(label),
                number(v),
                escape(s.name)
            );
        }
        // Every few columns, and the last, without crowding it.
        let every = columns.div_ceil(8);
        if (i % every == 0 && i + every < columns) || i + 1 == columns {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#64748b\">{}</text>",
                x + bar / 2.0,
                HEIGHT - 8.0,
                escape(label)
            );
        }
    }
    // Legend.
    let mut x = LEFT;
    for s in series {
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"8\" width=\"10\" height=\"10\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"17\" fill=\"#334155\">{}</text>",
            escape(s.colour),
            x + 14.0,
            escape(s.name)
        );
        x += 24.0 + 6.5 * s.name.chars().count() as f64;
    }
    out.push_str("</svg>");
    out
}

/// One horizontal bar: its label, value (0..=`max`) and the text after it.
pub struct Bar<'a> {
    pub label: String,
    pub value: f64,
    pub text: String,
    pub colour: &'a str,
}

/// Horizontal bars, one per row, scaled to `max`.
pub fn horizontal_bars(title: &str, bars: &[Bar], max: f64) -> String {
    const ROW: f64 = 26.0;
    const LABEL: f64 = 250.0;
    let height = (bars.len().max(1) as f64) * ROW + 12.0;
    let span = WIDTH - LABEL - 135.0;
    let mut out = String::new();
    open(&mut out, title, height);
    if bars.is_empty() {
        let _ = write!(
            out,
            "<text x=\"{LEFT}\" y=\"20\" fill=\"#64748b\">Nothing in this period.</text>"
        );
    }
    for (i, b) in bars.iter().enumerate() {
        let y = 6.0 + ROW * i as f64;
        let w = if max > 0.0 {
            (span * b.value / max).clamp(0.0, span)
        } else {
            0.0
        };
        let label = short(&b.label, 40);
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#334155\">{}<title>{}</title></text>\
             <rect x=\"{LABEL}\" y=\"{y:.1}\" width=\"{span:.1}\" height=\"16\" fill=\"#f1f5f9\"/>\
             <rect x=\"{LABEL}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"16\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#334155\">{}</text>",
            LABEL - 8.0,
            y + 12.0,
            escape(&label),
            escape(&b.label),
            escape(b.colour),
            LABEL + span + 8.0,
            y + 12.0,
            escape(&b.text)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        let svg = horizontal_bars(
            "<script>",
            &[Bar {
                label: "<img src=x onerror=alert(1)>".into(),
                value: 1.0,
                text: "\"100 %\"".into(),
                colour: "#000",
            }],
            1.0,
        );
        assert!(!svg.contains("<img"), "{svg}");
        assert!(!svg.contains("<script"), "{svg}");
        assert!(svg.contains("&lt;img src=x onerror=alert(1)&gt;"));
    }

    #[test]
    fn stacked_bars_draw_every_non_zero_value() {
        let labels: Vec<String> = (1..=3).map(|d| format!("11-0{d}")).collect();
        let svg = stacked_bars(
            "Conversations",
            &labels,
            &[
                Series {
                    name: "AI",
                    colour: "#16a34a",
                    values: vec![1.0, 0.0, 3.0],
                },
                Series {
                    name: "team",
                    colour: "#334155",
                    values: vec![2.0, 1.0, 0.0],
                },
            ],
            "",
            true,
        );
        assert_eq!(
            svg.matches("<rect").count(),
            4 + 2,
            "four bars and two legend keys"
        );
        assert!(svg.contains("11-03: 3 AI"));
        assert!(
            svg.contains(">4</text>"),
            "the axis goes 0 to 4 by ones: {svg}"
        );
    }

    #[test]
    fn axis_steps_are_round() {
        assert_eq!(axis_step(3.0, true), 1.0);
        assert_eq!(axis_step(0.0, true), 1.0);
        assert_eq!(axis_step(40.0, true), 10.0);
        assert_eq!(axis_step(90.0, true), 25.0);
        assert_eq!(axis_step(0.3, false), 0.1);
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(2.0), "2");
    }
}
