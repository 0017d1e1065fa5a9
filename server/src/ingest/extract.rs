//! HTML to clean, structured text: the page title and its sections, each with
//! its heading path and anchor. Lists, tables and code keep their shape (one
//! line per item, row or code line); navigation, headers, footers, cookie
//! banners, scripts, styles and hidden elements are dropped (hidden by the
//! page's CSS too: see [`visibility`]); text is never kept as HTML.

mod visibility;

use scraper::{ElementRef, Html, Node, Selector};
use visibility::{Paint, Styles};

/// Linked stylesheets read for a page at most.
pub const MAX_STYLESHEETS: usize = 8;

/// Deepest element nesting walked into.
const MAX_DEPTH: usize = 200;

/// Elements whose content is never page content.
const SKIPPED: &[&str] = &[
    "nav", "footer", "header", "aside", "script", "style", "noscript", "template", "svg", "form",
    "iframe", "button", "select", "dialog",
];
/// Elements that end a line of text.
const BLOCKS: &[&str] = &[
    "p",
    "li",
    "pre",
    "blockquote",
    "table",
    "tr",
    "div",
    "section",
    "article",
    "dd",
    "dt",
    "br",
    "ul",
    "ol",
    "main",
    "figure",
    "figcaption",
];

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Section {
    /// Headings from the page's top down to this section: ["Refunds", "Refund timing"].
    pub headings: Vec<String>,
    pub anchor: Option<String>,
    /// Text with one line per block (paragraph, list item, table row).
    pub text: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ExtractedPage {
    pub title: String,
    pub sections: Vec<Section>,
    /// Links found in the page (raw `href` values), for the crawler.
    pub links: Vec<String>,
    /// The page's `<link rel="canonical">`, raw.
    pub canonical: Option<String>,
}

/// The page with only its own CSS (its `<style>` elements and inline
/// styles) deciding what is hidden.
pub fn extract(html: &str) -> ExtractedPage {
    extract_with(html, &[])
}

/// The stylesheets a page links for screens (raw `href` values, at most
/// [`MAX_STYLESHEETS`]), for the crawler to fetch before [`extract_with`].
/// A scan of the `<link>` tags, not a parse: it runs before the page is
/// parsed, on the crawler's thread.
pub fn stylesheet_links(html: &str) -> Vec<String> {
    static LINK: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"(?is)<link\b[^>]*>").expect("static"));
    static ATTR: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"(?is)\b(rel|href|media)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))"#)
            .expect("static")
    });
    let mut out = Vec::new();
    for tag in LINK.find_iter(html) {
        let (mut rel, mut href, mut media) = (None, None, None);
        for attr in ATTR.captures_iter(tag.as_str()) {
            let value = attr
                .get(2)
                .or_else(|| attr.get(3))
                .or_else(|| attr.get(4))
                .map(|v| v.as_str().to_owned());
            match attr[1].to_ascii_lowercase().as_str() {
                "rel" => rel = value,
                "href" => href = value,
                _ => media = value,
            }
        }
        let stylesheet = rel.is_some_and(|r| {
            r.split_whitespace()
                .any(|w| w.eq_ignore_ascii_case("stylesheet"))
        });
        if let (true, Some(href)) = (stylesheet && for_screens(media.as_deref()), href) {
            out.push(href);
            if out.len() == MAX_STYLESHEETS {
                break;
            }
        }
    }
    out
}

fn for_screens(media: Option<&str>) -> bool {
    media.is_none_or(|m| {
        let m = m.to_ascii_lowercase();
        m.contains("screen") || m.contains("all") || !(m.contains("print") || m.contains("speech"))
    })
}

/// The page, with `linked` (the contents of the stylesheets it links, in
/// order) and its own CSS deciding what is hidden.
pub fn extract_with(html: &str, linked: &[&str]) -> ExtractedPage {
    let doc = Html::parse_document(html);
    let select = |css: &'static str| selector(css);
    let own: Vec<String> = doc
        .select(select("style"))
        .filter(|s| for_screens(s.value().attr("media")))
        .map(|s| s.text().collect())
        .collect();
    let styles = Styles::parse(linked.iter().copied().chain(own.iter().map(String::as_str)));
    let title = doc
        .select(select("title"))
        .next()
        .map(|t| clean(&t.text().collect::<String>()))
        .map(|t| {
            t.split(" · ")
                .next()
                .unwrap_or_default()
                .split(" | ")
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .filter(|t| !t.is_empty())
        .or_else(|| {
            doc.select(select("h1"))
                .next()
                .map(|h| clean(&h.text().collect::<String>()))
        })
        .unwrap_or_else(|| "Untitled page".to_owned());
    let canonical = doc
        .select(select("link[rel~=canonical][href]"))
        .next()
        .and_then(|l| l.value().attr("href"))
        .map(str::to_owned);
    let links = doc
        .select(select("a[href]"))
        .filter_map(|a| a.value().attr("href").map(str::to_owned))
        .collect();
    let root = doc
        .select(select("main"))
        .next()
        .or_else(|| doc.select(select("article")).next())
        .or_else(|| doc.select(select("body")).next())
        .unwrap_or_else(|| doc.root_element());
    let mut walker = Walker::new(&styles);
    // The colours the content starts with: what its ancestors set (a dark
    // theme's `body`), else black on a white page.
    let mut ancestors: Vec<ElementRef> = root.ancestors().filter_map(ElementRef::wrap).collect();
    ancestors.reverse();
    for element in ancestors.into_iter().chain([root]) {
        let computed = styles.computed(element);
        walker.color = computed.color().unwrap_or(walker.color);
        walker.background = computed.background().unwrap_or(walker.background);
    }
    walker.walk(root, 0);
    walker.flush();
    ExtractedPage {
        title,
        sections: walker.sections,
        links,
        canonical,
    }
}

/// A compiled selector, parsed once per process.
fn selector(css: &'static str) -> &'static Selector {
    static CACHE: std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<&'static str, &'static Selector>>,
    > = std::sync::LazyLock::new(Default::default);
    let mut cache = CACHE.lock().expect("selector cache");
    cache
        .entry(css)
        .or_insert_with(|| Box::leak(Box::new(Selector::parse(css).expect("static selector"))))
}

fn clean(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Walker<'s> {
    styles: &'s Styles,
    /// The text colour and the background of the element being walked.
    color: Paint,
    background: Paint,
    path: Vec<(u8, String)>,
    anchor: Option<String>,
    line: String,
    lines: Vec<String>,
    sections: Vec<Section>,
}

impl<'s> Walker<'s> {
    fn new(styles: &'s Styles) -> Self {
        Self {
            styles,
            color: Paint::BLACK,
            background: Paint::WHITE,
            path: Vec::new(),
            anchor: None,
            line: String::new(),
            lines: Vec::new(),
            sections: Vec::new(),
        }
    }

    /// Whether text in the current colours can be read.
    fn readable(&self) -> bool {
        !self.color.unreadable_on(self.background)
    }

    fn end_line(&mut self) {
        let line = clean(&self.line);
        if !line.is_empty() {
            self.lines.push(line);
        }
        self.line.clear();
    }

    fn flush(&mut self) {
        self.end_line();
        if !self.lines.is_empty() {
            self.sections.push(Section {
                headings: self.path.iter().map(|(_, h)| h.clone()).collect(),
                anchor: self.anchor.clone(),
                text: self.lines.join("\n"),
            });
        }
        self.lines.clear();
    }

    fn walk(&mut self, element: ElementRef, depth: usize) {
        // Hostile pages nest elements by the thousand: past a sane depth the
        // text is kept flat (an iterative traversal), never recursed into.
        if depth > MAX_DEPTH {
            self.line.push(' ');
            self.line
                .push_str(&element.text().collect::<Vec<_>>().join(" "));
            return;
        }
        for child in element.children() {
            match child.value() {
                Node::Text(text) if self.readable() => self.line.push_str(text),
                Node::Text(_) => {}
                Node::Element(el) => {
                    let name = el.name();
                    let hidden =
                        el.attr("hidden").is_some() || el.attr("aria-hidden") == Some("true");
                    if SKIPPED.contains(&name) || hidden || is_chrome(el) {
                        continue;
                    }
                    let Some(child) = ElementRef::wrap(child) else {
                        continue;
                    };
                    let computed = self.styles.computed(child);
                    if computed.hides() {
                        continue;
                    }
                    let outer = (self.color, self.background);
                    self.color = computed.color().unwrap_or(self.color);
                    self.background = computed.background().unwrap_or(self.background);
                    self.element(child, name, depth);
                    (self.color, self.background) = outer;
                }
                _ => {}
            }
        }
    }

    /// A shown element, in the colours it sets.
    fn element(&mut self, child: ElementRef, name: &str, depth: usize) {
        if let Some(level) = heading_level(name) {
            self.flush();
            self.path.retain(|(l, _)| *l < level);
            if self.readable() {
                let text = clean(&child.text().collect::<String>());
                if !text.is_empty() {
                    self.path.push((level, text));
                }
            }
            self.anchor = anchor_of(child);
            return;
        }
        if name == "pre" {
            // Code keeps its lines and indentation.
            self.end_line();
            if !self.readable() {
                return;
            }
            let code: String = child.text().collect();
            for line in code.lines() {
                let line = line.trim_end();
                if !line.trim().is_empty() {
                    self.lines.push(line.to_owned());
                }
            }
            return;
        }
        let block = BLOCKS.contains(&name);
        if block {
            self.end_line();
        }
        if name == "td" || name == "th" {
            self.line.push_str(" | ");
        }
        if name == "li" {
            self.line.push_str("• ");
        }
        self.walk(child, depth + 1);
        if block {
            self.end_line();
        }
    }
}

/// Site chrome marked by role, class or id: navigation, banners, cookie
/// notices, breadcrumbs, sidebars.
fn is_chrome(el: &scraper::node::Element) -> bool {
    if matches!(
        el.attr("role"),
        Some("navigation" | "banner" | "contentinfo" | "search" | "dialog" | "alertdialog")
    ) {
        return true;
    }
    const MARKERS: &[&str] = &[
        "cookie",
        "consent",
        "gdpr",
        "breadcrumb",
        "sidebar",
        "navbar",
        "navheader",
        "navfooter",
        "skip-link",
        "site-header",
        "site-footer",
    ];
    let id = el.id().unwrap_or_default().to_ascii_lowercase();
    MARKERS.iter().any(|m| id.contains(m))
        || el.classes().any(|class| {
            let class = class.to_ascii_lowercase();
            MARKERS.iter().any(|m| class.contains(m))
        })
}

/// The fragment that lands on a heading: its own id, an `<a id|name>` inside
/// it, or the id of the section it opens.
fn anchor_of(heading: ElementRef) -> Option<String> {
    if let Some(id) = heading.value().id() {
        return Some(id.to_owned());
    }
    let inner = selector("a[id], a[name]");
    if let Some(a) = heading.select(inner).next() {
        return a
            .value()
            .id()
            .or_else(|| a.value().attr("name"))
            .map(str::to_owned);
    }
    let mut node = heading;
    // Walk up through wrappers (`<div class="titlepage"><div><h2>`) while the
    // heading is their first element.
    for _ in 0..4 {
        let parent = node.parent().and_then(ElementRef::wrap)?;
        let first = parent.children().find_map(ElementRef::wrap)?;
        if first.id() != node.id() {
            return None;
        }
        if let Some(id) = parent.value().id() {
            return Some(id.to_owned());
        }
        node = parent;
    }
    None
}

fn heading_level(name: &str) -> Option<u8> {
    let level = name.strip_prefix('h')?.parse::<u8>().ok()?;
    (1..=6).contains(&level).then_some(level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_structure_and_drops_chrome() {
        let page = extract(
            r#"<html><head><title>Refunds · Help</title><style>p{}</style></head><body>
            <header><nav><a href="/a">Home</a></nav></header>
            <main><h1>Refunds</h1><p>Intro text.</p>
              <h2 id="timing">Refund timing</h2><p>Refunds take <b>5 days</b>.</p>
              <ul><li>One</li><li>Two</li></ul>
              <script>alert(1)</script><div hidden>secret</div><p style="display: none">ignore me</p>
            </main><footer>© us</footer></body></html>"#,
        );
        assert_eq!(page.title, "Refunds");
        assert_eq!(page.links, vec!["/a"]);
        assert_eq!(page.sections.len(), 2);
        assert_eq!(page.sections[0].headings, vec!["Refunds"]);
        assert_eq!(page.sections[0].text, "Intro text.");
        assert_eq!(page.sections[1].headings, vec!["Refunds", "Refund timing"]);
        assert_eq!(page.sections[1].anchor.as_deref(), Some("timing"));
        assert_eq!(page.sections[1].text, "Refunds take 5 days.\n• One\n• Two");
        let all: String = page.sections.iter().map(|s| s.text.clone()).collect();
        assert!(
            !all.contains("alert")
                && !all.contains("secret")
                && !all.contains("ignore")
                && !all.contains('©')
        );
    }

    #[test]
    fn code_tables_anchors_and_banners() {
        let page = extract(
            r#"<html><head><link rel="canonical" href="/docs/a.html"></head><body>
            <div id="cookie-banner">We use cookies <button>OK</button></div>
            <div class="navheader"><a href="b.html">Next</a></div>
            <div class="sect1" id="SQL-SYNTAX"><div class="titlepage"><h2>4.1. Syntax</h2></div>
            <pre>select 1
  from t;</pre>
            <table><tr><th>Plan</th><th>Price</th></tr><tr><td>Plus</td><td>$5</td></tr></table>
            <h3><a id="LEXICAL"></a>Lexical</h3><p>Tokens.</p></div></body></html>"#,
        );
        assert_eq!(page.canonical.as_deref(), Some("/docs/a.html"));
        assert_eq!(page.sections[0].anchor.as_deref(), Some("SQL-SYNTAX"));
        assert_eq!(
            page.sections[0].text,
            "select 1\n  from t;\n| Plan | Price\n| Plus | $5"
        );
        assert_eq!(page.sections[1].anchor.as_deref(), Some("LEXICAL"));
        let all: String = page.sections.iter().map(|s| s.text.clone()).collect();
        assert!(!all.contains("cookies") && !all.contains("Next"));
    }

    #[test]
    fn deep_nesting_is_flattened_not_recursed() {
        let html = format!(
            "<body>{}<p>deep text</p>{}</body>",
            "<div>".repeat(20_000),
            "</div>".repeat(20_000)
        );
        // On a small stack, like a blocking-pool thread's.
        let page = std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(move || extract(&html))
            .unwrap()
            .join()
            .expect("no stack overflow");
        assert!(page.sections[0].text.contains("deep text"));
    }

    #[test]
    fn markup_in_text_stays_text() {
        let page = extract("<body><p>&lt;script&gt;alert(1)&lt;/script&gt;</p></body>");
        assert_eq!(page.sections[0].text, "<script>alert(1)</script>");
    }

    /// The fuzzing corpus (`fuzz/corpus/html_to_text`, grown by `make
    /// fuzz`) replayed on every test run: none of it panics.
    #[test]
    fn the_fuzz_corpus_extracts() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/html_to_text");
        let mut replayed = 0;
        for entry in std::fs::read_dir(dir).expect("the kept corpus") {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let page = extract(&String::from_utf8_lossy(&bytes));
            for section in &page.sections {
                assert!(!section.text.trim().is_empty() || !section.headings.is_empty());
            }
            replayed += 1;
        }
        assert!(replayed >= 10, "{replayed}");
    }
}
