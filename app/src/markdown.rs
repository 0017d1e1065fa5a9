//! Safe Markdown for answers: a small allow-listed subset (paragraphs, bullet
//! and numbered lists, bold, italics, inline code, http(s) links and `[n]`
//! citation markers), parsed into a tree and rendered as Leptos views, so
//! every character of the text stays text: no HTML from an answer ever
//! reaches the DOM.

/// An inline piece of a block.
#[derive(Clone, Debug, PartialEq)]
pub enum Inline {
    Text(String),
    Strong(Vec<Inline>),
    Em(Vec<Inline>),
    Code(String),
    /// Only `http(s)://` targets become links; others stay text.
    Link {
        text: String,
        url: String,
    },
    Cite(u32),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    Paragraph(Vec<Inline>),
    Bullets(Vec<Vec<Inline>>),
    Numbered(Vec<Vec<Inline>>),
}

fn list_item(line: &str) -> Option<(bool, &str)> {
    let line = line.trim_start();
    for marker in ["- ", "* ", "• "] {
        if let Some(rest) = line.strip_prefix(marker) {
            return Some((false, rest));
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if (1..=3).contains(&digits) {
        if let Some(rest) = line[digits..].strip_prefix(". ") {
            return Some((true, rest));
        }
    }
    None
}

/// Splits text into blocks: blank lines end paragraphs, list markers start items.
pub fn parse(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let flush = |paragraph: &mut Vec<&str>, blocks: &mut Vec<Block>| {
        if !paragraph.is_empty() {
            blocks.push(Block::Paragraph(inline(&paragraph.join("\n"))));
            paragraph.clear();
        }
    };
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            flush(&mut paragraph, &mut blocks);
            continue;
        }
        if let Some((numbered, item)) = list_item(line) {
            flush(&mut paragraph, &mut blocks);
            let item = inline(item);
            match blocks.last_mut() {
                Some(Block::Numbered(items)) if numbered => items.push(item),
                Some(Block::Bullets(items)) if !numbered => items.push(item),
                _ if numbered => blocks.push(Block::Numbered(vec![item])),
                _ => blocks.push(Block::Bullets(vec![item])),
            }
            continue;
        }
        // A heading becomes a bold line of its own.
        let heading = trimmed.trim_start_matches('#');
        if heading.len() < trimmed.len() && heading.starts_with(' ') {
            flush(&mut paragraph, &mut blocks);
            blocks.push(Block::Paragraph(vec![Inline::Strong(inline(
                heading.trim(),
            ))]));
            continue;
        }
        paragraph.push(trimmed);
    }
    flush(&mut paragraph, &mut blocks);
    blocks
}

fn push_text(out: &mut Vec<Inline>, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(Inline::Text(last)) = out.last_mut() {
        last.push_str(text);
    } else {
        out.push(Inline::Text(text.to_owned()));
    }
}

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && !url.contains(char::is_whitespace)
}

/// Parses the inline pieces of one block.
pub fn inline(text: &str) -> Vec<Inline> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        // The next character that may start markup.
        let Some(at) = rest.find(['[', '*', '`']) else {
            push_text(&mut out, rest);
            break;
        };
        push_text(&mut out, &rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix('[') {
            let digits = after.chars().take_while(char::is_ascii_digit).count();
            if (1..=3).contains(&digits) && after[digits..].starts_with(']') {
                out.push(Inline::Cite(after[..digits].parse().unwrap_or(0)));
                rest = &after[digits + 1..];
                continue;
            }
            if let Some(close) = after.find("](") {
                let label = &after[..close];
                let target = &after[close + 2..];
                if let Some(end) = target.find(')') {
                    if !label.contains('[') && safe_url(&target[..end]) {
                        out.push(Inline::Link {
                            text: label.to_owned(),
                            url: target[..end].trim().to_owned(),
                        });
                        rest = &target[end + 1..];
                        continue;
                    }
                }
            }
            push_text(&mut out, "[");
            rest = after;
        } else if let Some(after) = rest.strip_prefix("**") {
            match after.find("**") {
                Some(end) if end > 0 => {
                    out.push(Inline::Strong(inline(&after[..end])));
                    rest = &after[end + 2..];
                }
                _ => {
                    push_text(&mut out, "**");
                    rest = after;
                }
            }
        } else if let Some(after) = rest.strip_prefix('*') {
            match after.find('*') {
                Some(end) if end > 0 && !after.starts_with(' ') => {
                    out.push(Inline::Em(inline(&after[..end])));
                    rest = &after[end + 1..];
                }
                _ => {
                    push_text(&mut out, "*");
                    rest = after;
                }
            }
        } else if let Some(after) = rest.strip_prefix('`') {
            match after.find('`') {
                Some(end) => {
                    out.push(Inline::Code(after[..end].to_owned()));
                    rest = &after[end + 1..];
                }
                None => {
                    push_text(&mut out, "`");
                    rest = after;
                }
            }
        }
    }
    out
}

/// The text of the pieces, without markup (for screen readers and tests).
pub fn plain(pieces: &[Inline]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Inline::Text(t) | Inline::Code(t) => t.clone(),
            Inline::Strong(inner) | Inline::Em(inner) => plain(inner),
            Inline::Link { text, .. } => text.clone(),
            Inline::Cite(n) => format!("[{n}]"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn citations_and_emphasis() {
        assert_eq!(
            inline("Refunds take **5 days** [1]."),
            vec![
                Inline::Text("Refunds take ".into()),
                Inline::Strong(vec![Inline::Text("5 days".into())]),
                Inline::Text(" ".into()),
                Inline::Cite(1),
                Inline::Text(".".into()),
            ]
        );
    }

    #[test]
    fn lists_and_paragraphs() {
        let blocks = parse("Steps:\n\n1. Unplug it [2]\n2. Wait `10 s`\n\n- a\n- b");
        assert_eq!(blocks.len(), 3);
        assert!(matches!(&blocks[1], Block::Numbered(items) if items.len() == 2));
        assert!(matches!(&blocks[2], Block::Bullets(items) if items.len() == 2));
    }

    #[test]
    fn only_http_links_become_links() {
        assert!(matches!(
            &inline("[docs](https://example.com/a)")[0],
            Inline::Link { url, .. } if url == "https://example.com/a"
        ));
        for hostile in [
            "[x](javascript:alert(1))",
            "[x](data:text/html,<script>alert(1)</script>)",
            "[x](//evil.example)",
        ] {
            assert!(
                !inline(hostile)
                    .iter()
                    .any(|i| matches!(i, Inline::Link { .. })),
                "{hostile}"
            );
        }
    }

    #[test]
    fn html_stays_text() {
        let pieces = inline("<img src=x onerror=alert(1)> **<b>hi</b>**");
        assert_eq!(plain(&pieces), "<img src=x onerror=alert(1)> <b>hi</b>");
    }

    #[test]
    fn brackets_that_are_not_citations_stay_text() {
        let pieces = inline("[x] and [12345]");
        assert!(!pieces.iter().any(|p| matches!(p, Inline::Cite(_))));
        assert_eq!(plain(&pieces), "[x] and [12345]");
    }

    #[test]
    fn unclosed_markup_is_kept() {
        assert_eq!(plain(&inline("a * b ** c ` d [e")), "a * b ** c ` d [e");
    }
}
