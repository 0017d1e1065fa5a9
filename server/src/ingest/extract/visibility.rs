//! Whether an element is shown to a reader, from the page's CSS: its
//! `<style>` elements and the stylesheets it links (fetched by the crawler),
//! plus inline `style` attributes. Text a page hides is no part of what the
//! business tells its visitors, and hidden text is how instructions are
//! planted for an AI ("warranty claims need your PIN …").
//!
//! Not a cascade engine: rules are read simply (selector lists and their
//! declarations; `@media` for screens, `@supports` and `@layer` read
//! through; other at-rules skipped), matched with `scraper`'s selectors,
//! and ordered by `!important`, a specificity count and source order.
//! What hides: `display: none`, `visibility: hidden`, opacity below 0.1,
//! text below 4px, zero height or width with overflow hidden, an empty
//! `clip`/`clip-path`, `transform: scale(0…)`, an offset beyond −999px,
//! transparent text or text the colour of its background.

use std::collections::HashMap;

use scraper::{ElementRef, Selector};

/// Rules read from all of a page's CSS at most (the ones that can hide).
const MAX_RULES: usize = 4000;
/// CSS read from a page at most, in bytes.
const MAX_CSS: usize = 2 * 1024 * 1024;

/// The properties that can hide text, or set the colours compared.
const RELEVANT: &[&str] = &[
    "display",
    "visibility",
    "opacity",
    "font-size",
    "height",
    "max-height",
    "width",
    "max-width",
    "overflow",
    "overflow-x",
    "overflow-y",
    "clip",
    "clip-path",
    "transform",
    "position",
    "left",
    "top",
    "right",
    "text-indent",
    "margin-left",
    "margin-top",
    "color",
    "background",
    "background-color",
];

struct Rule {
    selector: Selector,
    specificity: u32,
    declarations: Vec<Declaration>,
}

#[derive(Clone, Debug)]
struct Declaration {
    property: String,
    value: String,
    important: bool,
}

/// The rules of a page's CSS that can hide text.
#[derive(Default)]
pub struct Styles {
    rules: Vec<Rule>,
}

impl Styles {
    /// Reads `sheets` in order (later rules win ties).
    pub fn parse<'a>(sheets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut styles = Self::default();
        let mut read = 0;
        for sheet in sheets {
            if read >= MAX_CSS {
                break;
            }
            let sheet = &sheet[..sheet.floor_char_boundary((MAX_CSS - read).min(sheet.len()))];
            read += sheet.len();
            styles.read(&strip_comments(sheet), 0);
        }
        styles
    }

    fn read(&mut self, css: &str, depth: usize) {
        let mut rest = css;
        while let Some(open) = rest.find('{') {
            if self.rules.len() >= MAX_RULES {
                return;
            }
            let head = rest[..open].trim();
            let Some(close) = matching_brace(&rest[open..]).map(|c| open + c) else {
                return;
            };
            let body = &rest[open + 1..close];
            rest = &rest[close + 1..];
            // Statements without a block (`@import …;`) before the head.
            let head = head.rsplit(';').next().unwrap_or(head).trim();
            if let Some(at) = head.strip_prefix('@') {
                let name = at
                    .split(|c: char| !c.is_ascii_alphanumeric() && c != '-')
                    .next();
                let query = at.to_ascii_lowercase();
                let inside = match name.map(str::to_ascii_lowercase).as_deref() {
                    Some("media") => {
                        let types = ["print", "speech", "screen", "all"];
                        query.contains("screen")
                            || query.contains("all")
                            || !types.iter().any(|t| query.contains(t))
                    }
                    Some("supports" | "layer" | "container" | "document") => true,
                    _ => false,
                };
                if inside && depth < 8 {
                    self.read(body, depth + 1);
                }
                continue;
            }
            let declarations = parse_declarations(body);
            if declarations.is_empty() {
                continue;
            }
            for part in head.split(',') {
                let part = part.trim();
                if part.is_empty() {
                    continue;
                }
                // Pseudo-elements and states (`::before`, `:hover`) are not
                // what is shown of the element itself: `scraper` refuses them.
                if let Ok(selector) = Selector::parse(part) {
                    self.rules.push(Rule {
                        selector,
                        specificity: specificity(part),
                        declarations: declarations.clone(),
                    });
                }
            }
        }
    }

    /// What applies to `element`: the matching rules' declarations, then
    /// its inline style, by the cascade's simple order.
    pub fn computed(&self, element: ElementRef) -> Computed {
        let mut matched: Vec<(bool, u32, usize, &Declaration)> = Vec::new();
        for (order, rule) in self.rules.iter().enumerate() {
            if rule.selector.matches(&element) {
                for d in &rule.declarations {
                    matched.push((d.important, rule.specificity, order, d));
                }
            }
        }
        let inline = element
            .value()
            .attr("style")
            .map(parse_declarations)
            .unwrap_or_default();
        for d in &inline {
            matched.push((d.important, u32::MAX, usize::MAX, d));
        }
        matched
            .sort_by_key(|(important, specificity, order, _)| (*important, *specificity, *order));
        let mut values = HashMap::new();
        for (_, _, _, d) in matched {
            values.insert(d.property.clone(), d.value.clone());
        }
        Computed { values }
    }
}

/// An element's declared values (lowercase, without `!important`).
#[derive(Debug, Default)]
pub struct Computed {
    values: HashMap<String, String>,
}

impl Computed {
    fn get(&self, property: &str) -> Option<&str> {
        self.values.get(property).map(String::as_str)
    }

    /// Whether the element is out of a reader's sight whatever its colours.
    pub fn hides(&self) -> bool {
        let number = |p: &str| self.get(p).and_then(length);
        if self.get("display") == Some("none") {
            return true;
        }
        if matches!(self.get("visibility"), Some("hidden" | "collapse")) {
            return true;
        }
        if let Some(opacity) = self.get("opacity").and_then(length) {
            let opacity = if opacity.1 == "%" {
                opacity.0 / 100.0
            } else {
                opacity.0
            };
            if opacity < 0.1 {
                return true;
            }
        }
        if let Some((size, unit)) = number("font-size") {
            let tiny = match unit.as_str() {
                "em" | "rem" => size < 0.25,
                "%" => size < 25.0,
                "pt" => size < 3.0,
                _ => size < 4.0,
            };
            if tiny {
                return true;
            }
        }
        let overflow_hidden = ["overflow", "overflow-x", "overflow-y"].iter().any(|p| {
            self.get(p)
                .is_some_and(|v| v.contains("hidden") || v.contains("clip"))
        });
        let zero = |p: &str| number(p).is_some_and(|(n, _)| n <= 0.0);
        if overflow_hidden
            && (zero("height") || zero("max-height") || zero("width") || zero("max-width"))
        {
            return true;
        }
        if self.get("clip").is_some_and(empty_clip)
            || self.get("clip-path").is_some_and(empty_clip_path)
        {
            return true;
        }
        if self.get("transform").is_some_and(scaled_away) {
            return true;
        }
        let far = |p: &str| number(p).is_some_and(|(n, _)| n <= -999.0);
        if far("text-indent")
            || far("left")
            || far("top")
            || far("right")
            || far("margin-left")
            || far("margin-top")
        {
            return true;
        }
        false
    }

    /// The element's own text colour, if it sets one.
    pub fn color(&self) -> Option<Paint> {
        self.get("color").map(Paint::parse)
    }

    /// The element's own background, if it sets one.
    pub fn background(&self) -> Option<Paint> {
        match (self.get("background-color"), self.get("background")) {
            (Some(color), _) => Some(Paint::parse(color)),
            (None, Some(background)) => {
                if background.contains("url(") || background.contains("gradient(") {
                    Some(Paint::Unknown)
                } else {
                    // The shorthand's colour is one of its words.
                    Some(
                        split_top_level(background, ' ')
                            .into_iter()
                            .map(Paint::parse)
                            .find(|p| !matches!(p, Paint::Unknown))
                            .unwrap_or(Paint::Unknown),
                    )
                }
            }
            (None, None) => None,
        }
    }
}

/// A colour as far as it matters here.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Paint {
    Rgba([u8; 3], f32),
    /// Whatever it is (a name not listed, a variable, an image).
    Unknown,
}

impl Paint {
    pub const WHITE: Self = Self::Rgba([255, 255, 255], 1.0);
    pub const BLACK: Self = Self::Rgba([0, 0, 0], 1.0);

    pub fn parse(value: &str) -> Self {
        let value = value.trim();
        if let Some(hex) = value.strip_prefix('#') {
            let digits: Vec<u8> = hex
                .chars()
                .filter_map(|c| c.to_digit(16).map(|d| d as u8))
                .collect();
            if digits.len() != hex.len() {
                return Self::Unknown;
            }
            return match digits.len() {
                3 | 4 => Self::Rgba(
                    [digits[0] * 17, digits[1] * 17, digits[2] * 17],
                    digits.get(3).map_or(1.0, |a| f32::from(*a * 17) / 255.0),
                ),
                6 | 8 => {
                    let byte = |i: usize| digits[i] * 16 + digits[i + 1];
                    Self::Rgba(
                        [byte(0), byte(2), byte(4)],
                        if digits.len() == 8 {
                            f32::from(byte(6)) / 255.0
                        } else {
                            1.0
                        },
                    )
                }
                _ => Self::Unknown,
            };
        }
        if let Some(args) = value
            .strip_prefix("rgba(")
            .or_else(|| value.strip_prefix("rgb("))
            .and_then(|v| v.strip_suffix(')'))
        {
            let parts: Vec<&str> = args
                .split([',', ' ', '/'])
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            if parts.len() < 3 {
                return Self::Unknown;
            }
            let channel = |p: &str| -> Option<u8> {
                match p.strip_suffix('%') {
                    Some(pct) => pct
                        .parse::<f32>()
                        .ok()
                        .map(|v| (v.clamp(0.0, 100.0) * 2.55) as u8),
                    None => p.parse::<f32>().ok().map(|v| v.clamp(0.0, 255.0) as u8),
                }
            };
            let alpha = parts
                .get(3)
                .map_or(Some(1.0), |p| match p.strip_suffix('%') {
                    Some(pct) => pct.parse::<f32>().ok().map(|v| v / 100.0),
                    None => p.parse::<f32>().ok(),
                });
            return match (
                channel(parts[0]),
                channel(parts[1]),
                channel(parts[2]),
                alpha,
            ) {
                (Some(r), Some(g), Some(b), Some(a)) => Self::Rgba([r, g, b], a),
                _ => Self::Unknown,
            };
        }
        match value {
            "transparent" => Self::Rgba([0, 0, 0], 0.0),
            "white" => Self::WHITE,
            "black" => Self::BLACK,
            "silver" => Self::Rgba([192, 192, 192], 1.0),
            "gray" | "grey" => Self::Rgba([128, 128, 128], 1.0),
            "red" => Self::Rgba([255, 0, 0], 1.0),
            "green" => Self::Rgba([0, 128, 0], 1.0),
            "blue" => Self::Rgba([0, 0, 255], 1.0),
            "yellow" => Self::Rgba([255, 255, 0], 1.0),
            "navy" => Self::Rgba([0, 0, 128], 1.0),
            "whitesmoke" => Self::Rgba([245, 245, 245], 1.0),
            "snow" => Self::Rgba([255, 250, 250], 1.0),
            "ivory" => Self::Rgba([255, 255, 240], 1.0),
            _ => Self::Unknown,
        }
    }

    /// Text of this colour cannot be read on `background`: it is
    /// (almost) transparent, or (almost) the same colour.
    pub fn unreadable_on(self, background: Self) -> bool {
        match (self, background) {
            (Self::Rgba(_, alpha), _) if alpha < 0.1 => true,
            (Self::Rgba(text, _), Self::Rgba(back, back_alpha)) if back_alpha >= 0.9 => {
                let distance: u32 = text
                    .iter()
                    .zip(back)
                    .map(|(a, b)| u32::from(a.abs_diff(b)))
                    .sum();
                distance <= 24
            }
            _ => false,
        }
    }
}

fn strip_comments(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        match rest[start + 2..].find("*/") {
            Some(end) => rest = &rest[start + 2 + end + 2..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// The offset of the `}` that closes the block `text` opens.
fn matching_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_declarations(body: &str) -> Vec<Declaration> {
    body.split(';')
        .filter_map(|d| {
            let (property, value) = d.split_once(':')?;
            let property = property.trim().to_ascii_lowercase();
            if !RELEVANT.contains(&property.as_str()) {
                return None;
            }
            let value = value.trim().to_ascii_lowercase();
            let (value, important) = match value.strip_suffix("important") {
                Some(v) if v.trim_end().ends_with('!') => {
                    (v.trim_end().trim_end_matches('!').trim().to_owned(), true)
                }
                _ => (value, false),
            };
            Some(Declaration {
                property,
                value,
                important,
            })
        })
        .collect()
}

/// A count like CSS specificity: ids, then classes, attributes and
/// pseudo-classes, then element names.
fn specificity(selector: &str) -> u32 {
    let ids = selector.matches('#').count() as u32;
    let classes = (selector.matches('.').count()
        + selector.matches('[').count()
        + selector.matches(':').count()) as u32;
    let names = selector
        .split(|c: char| c.is_whitespace() || matches!(c, '>' | '+' | '~'))
        .filter(|part| part.starts_with(|c: char| c.is_ascii_alphabetic()))
        .count() as u32;
    ids * 10_000 + classes.min(99) * 100 + names.min(99)
}

/// A length or number: (value, unit).
fn length(value: &str) -> Option<(f32, String)> {
    let value = value.trim();
    let end = value
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || *c == '.' || (*i == 0 && matches!(c, '-' | '+'))))
        .map_or(value.len(), |(i, _)| i);
    let number: f32 = value[..end].parse().ok()?;
    Some((number, value[end..].trim().to_owned()))
}

/// `rect(…)` with no area: `rect(0 0 0 0)`, `rect(1px, 1px, 1px, 1px)`.
fn empty_clip(value: &str) -> bool {
    let Some(args) = value
        .strip_prefix("rect(")
        .and_then(|v| v.strip_suffix(')'))
    else {
        return false;
    };
    let sides: Vec<Option<f32>> = args
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(|s| length(s).map(|(n, _)| n))
        .collect();
    match sides[..] {
        [Some(top), Some(right), Some(bottom), Some(left)] => bottom <= top || right <= left,
        _ => false,
    }
}

/// `inset(50%)` or more, a circle or ellipse of no size, `polygon(0 0)`.
fn empty_clip_path(value: &str) -> bool {
    let args = |name: &str| value.strip_prefix(name).and_then(|v| v.split(')').next());
    if let Some(inset) = args("inset(") {
        return inset
            .split_whitespace()
            .next()
            .and_then(length)
            .is_some_and(|(n, unit)| unit == "%" && n >= 50.0);
    }
    if let Some(shape) = args("circle(").or_else(|| args("ellipse(")) {
        return shape
            .split_whitespace()
            .next()
            .and_then(length)
            .is_some_and(|(n, _)| n <= 0.0);
    }
    if let Some(points) = args("polygon(") {
        return points.split(',').all(|p| {
            p.split_whitespace()
                .all(|v| length(v).is_some_and(|(n, _)| n == 0.0))
        });
    }
    false
}

/// `scale(0)`, `scale(0.05)`, `scaleX(0)`, …, or a translation far away.
fn scaled_away(value: &str) -> bool {
    let mut rest = value;
    while let Some(open) = rest.find('(') {
        let name = rest[..open]
            .rsplit([' ', ')'])
            .next()
            .unwrap_or_default()
            .trim();
        let Some(close) = rest[open..].find(')') else {
            return false;
        };
        let args: Vec<f32> = rest[open + 1..open + close]
            .split([',', ' '])
            .filter(|a| !a.is_empty())
            .filter_map(|a| length(a).map(|(n, _)| n))
            .collect();
        let hidden = match name {
            "scale" | "scalex" | "scaley" | "scale3d" => args.iter().any(|s| s.abs() < 0.1),
            "translate" | "translatex" | "translatey" | "translate3d" => {
                args.iter().any(|t| *t <= -999.0)
            }
            _ => false,
        };
        if hidden {
            return true;
        }
        rest = &rest[open + close + 1..];
    }
    false
}

/// `value` split on `sep` outside parentheses.
fn split_top_level(value: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in value.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if c == sep && depth == 0 => {
                parts.push(&value[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden(style: &str) -> bool {
        let html = format!(r#"<div style="{style}">x</div>"#);
        let doc = scraper::Html::parse_fragment(&html);
        let div = doc.select(&Selector::parse("div").unwrap()).next().unwrap();
        Styles::default().computed(div).hides()
    }

    #[test]
    fn what_hides_and_what_does_not() {
        for style in [
            "display:none",
            "visibility: hidden",
            "opacity:.001",
            "opacity: 0",
            "font-size:1px",
            "font-size: 0",
            "font-size: 0.1em",
            "height:0;overflow:hidden",
            "max-height: 0px; overflow: hidden",
            "clip: rect(0,0,0,0); position:absolute",
            "clip: rect(1px 1px 1px 1px)",
            "clip-path: inset(50%)",
            "clip-path: inset(100%)",
            "clip-path: circle(0)",
            "transform: scale(0)",
            "transform: translateY(2px) scale(0.05)",
            "position:absolute; left:-9999px",
            "text-indent: -10000px",
            "display: none !important",
        ] {
            assert!(hidden(style), "{style}");
        }
        for style in [
            "display:block",
            "opacity: .85",
            "font-size: 14px",
            "font-size: .9em",
            "height: 0",
            "clip-path: inset(5%)",
            "transform: scale(1.05)",
            "position: absolute; left: -20px",
            "clip: rect(0, 200px, 40px, 0)",
        ] {
            assert!(!hidden(style), "{style}");
        }
    }

    #[test]
    fn colours_are_compared() {
        assert!(Paint::parse("#fff").unreadable_on(Paint::WHITE));
        assert!(Paint::parse("rgb(254, 254, 254)").unreadable_on(Paint::WHITE));
        assert!(Paint::parse("transparent").unreadable_on(Paint::BLACK));
        assert!(Paint::parse("rgba(0,0,0,0)").unreadable_on(Paint::WHITE));
        assert!(Paint::parse("#123456").unreadable_on(Paint::parse("#123456")));
        assert!(!Paint::parse("#333").unreadable_on(Paint::WHITE));
        assert!(!Paint::parse("white").unreadable_on(Paint::parse("#1c1917")));
        assert!(!Paint::parse("var(--fg)").unreadable_on(Paint::WHITE));
    }

    #[test]
    fn rules_from_sheets_match_by_selector_with_the_cascade_simplified() {
        let styles = Styles::parse([
            "/* x */ .a, .b > p { display: none } @media print { .c { display: none } }
             @media screen and (min-width: 10px) { #d { font-size: 0 } }
             @font-face { font-family: x; src: url(x.woff) } @keyframes k { from { opacity: 0 } }
             .e { display: none } .e.shown { display: block }
             .f { display: block !important } p:hover { display: none } p::before { content: 'x' }",
            ".g { color: #fff }",
        ]);
        let doc = scraper::Html::parse_document(
            r#"<div class="a">1</div><div class="b"><p>2</p></div><div class="c">3</div>
            <div id="d">4</div><div class="e shown">5</div><div class="f" style="display:none">6</div>
            <p>7</p><div class="g">8</div>"#,
        );
        let all = Selector::parse("div, p").unwrap();
        let hidden: Vec<String> = doc
            .select(&all)
            .filter(|e| styles.computed(*e).hides())
            .map(|e| e.text().collect())
            .collect();
        assert_eq!(hidden, ["1", "2", "4"]);
        let g = doc.select(&Selector::parse(".g").unwrap()).next().unwrap();
        assert_eq!(styles.computed(g).color(), Some(Paint::WHITE));
    }
}
