//! Files to pages: Markdown, HTML, plain text and PDF become the same
//! structured text as a crawled page (sections with headings and anchors).

use pulldown_cmark::{html, Options, Parser};

use super::extract::{extract, ExtractedPage, Section};

/// Largest file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 20 * 1024 * 1024;

/// The document formats Tandem reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Html,
    Markdown,
    Text,
    Pdf,
}

impl Format {
    /// From a file name's extension, then from a declared content type.
    pub fn detect(filename: &str, content_type: Option<&str>) -> Option<Self> {
        let ext = filename
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "html" | "htm" | "xhtml" => return Some(Self::Html),
            "md" | "markdown" | "mdown" => return Some(Self::Markdown),
            "txt" | "text" => return Some(Self::Text),
            "pdf" => return Some(Self::Pdf),
            _ => {}
        }
        Self::from_content_type(content_type?)
    }

    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match mime.as_str() {
            "text/html" | "application/xhtml+xml" => Some(Self::Html),
            "text/markdown" | "text/x-markdown" => Some(Self::Markdown),
            "text/plain" => Some(Self::Text),
            "application/pdf" => Some(Self::Pdf),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Html => "text/html; charset=utf-8",
            Self::Markdown => "text/markdown; charset=utf-8",
            Self::Text => "text/plain; charset=utf-8",
            Self::Pdf => "application/pdf",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DocumentError {
    #[error("{0} is larger than the 20 MB limit")]
    TooLarge(String),
    #[error(
        "{0}: Tandem reads Markdown (.md), HTML (.html), plain text (.txt) and PDF (.pdf) files"
    )]
    Unsupported(String),
    #[error("{0} is not valid UTF-8 text")]
    NotText(String),
    #[error("cannot read the PDF {0}: {1}")]
    Pdf(String, String),
    #[error("{0} has no text to index")]
    Empty(String),
}

/// Extracts a document's structured text. `title_hint` (the file name) is
/// the title when the document has none of its own. Runs PDF parsing, which
/// can be slow, on the caller's thread: call it from a blocking task.
pub fn read(
    format: Format,
    bytes: &[u8],
    title_hint: &str,
) -> Result<ExtractedPage, DocumentError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(DocumentError::TooLarge(title_hint.to_owned()));
    }
    let text = || {
        std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
            .map_err(|_| DocumentError::NotText(title_hint.to_owned()))
    };
    let mut page = match format {
        Format::Html => extract(text()?),
        Format::Markdown => {
            let mut rendered = String::new();
            let options = Options::ENABLE_TABLES | Options::ENABLE_HEADING_ATTRIBUTES;
            // Raw HTML in the Markdown goes through the same extractor as a
            // crawled page: scripts and styles dropped, the rest kept as text.
            html::push_html(&mut rendered, Parser::new_ext(text()?, options));
            let mut page = extract(&with_heading_ids(&rendered));
            page.links.clear();
            page
        }
        Format::Text => plain_text(text()?, title_hint),
        Format::Pdf => pdf(bytes, title_hint)?,
    };
    if page.title == "Untitled page" {
        title_hint.clone_into(&mut page.title);
    }
    if page.sections.iter().all(|s| s.text.trim().is_empty()) {
        return Err(DocumentError::Empty(title_hint.to_owned()));
    }
    Ok(page)
}

/// Paragraphs (blank-line separated) of a text file, one section.
fn plain_text(text: &str, title: &str) -> ExtractedPage {
    let lines: Vec<String> = text
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect();
    ExtractedPage {
        title: title.to_owned(),
        sections: vec![Section {
            headings: vec![title.to_owned()],
            anchor: None,
            text: lines.join("\n"),
        }],
        links: vec![],
        canonical: None,
    }
}

/// One section per PDF page, anchored `page=N` (which PDF viewers follow).
fn pdf(bytes: &[u8], title: &str) -> Result<ExtractedPage, DocumentError> {
    let pages = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem_by_pages(bytes))
        .map_err(|_| DocumentError::Pdf(title.to_owned(), "the file is malformed".into()))?
        .map_err(|e| DocumentError::Pdf(title.to_owned(), e.to_string()))?;
    let sections = pages
        .iter()
        .enumerate()
        .filter_map(|(i, text)| {
            let lines: Vec<String> = text
                .split("\n\n")
                .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|p| !p.is_empty())
                .collect();
            (!lines.is_empty()).then(|| Section {
                headings: vec![title.to_owned(), format!("Page {}", i + 1)],
                anchor: Some(format!("page={}", i + 1)),
                text: lines.join("\n"),
            })
        })
        .collect();
    Ok(ExtractedPage {
        title: title.to_owned(),
        sections,
        links: vec![],
        canonical: None,
    })
}

/// Gives each rendered Markdown heading an id slugged from its text (as
/// GitHub does), so citations can link to `file#section`.
fn with_heading_ids(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 64);
    let mut rest = html;
    while let Some(at) = rest.find("<h") {
        let (before, tail) = rest.split_at(at);
        out.push_str(before);
        let level = tail.as_bytes().get(2).copied();
        if matches!(level, Some(b'1'..=b'6')) && tail.as_bytes().get(3) == Some(&b'>') {
            let close = format!("</h{}>", level.map(char::from).unwrap_or('1'));
            if let Some(end) = tail.find(&close) {
                let inner = &tail[4..end];
                let text = super::extract::extract(&format!("<p>{inner}</p>"))
                    .sections
                    .first()
                    .map(|s| s.text.clone())
                    .unwrap_or_default();
                out.push_str(&format!(
                    "<h{} id=\"{}\">",
                    char::from(level.unwrap_or(b'1')),
                    slug(&text)
                ));
                out.push_str(inner);
                out.push_str(&close);
                rest = &tail[end + close.len()..];
                continue;
            }
        }
        out.push_str("<h");
        rest = &tail[2..];
    }
    out.push_str(rest);
    out
}

/// "Refund timing (EU)" → "refund-timing-eu".
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// A minimal, valid PDF with one line of text per page (Helvetica), for
/// tests and fixtures.
pub fn test_pdf(pages: &[&str]) -> Vec<u8> {
    let mut objects: Vec<String> = Vec::new();
    let n = pages.len();
    // 1: catalog, 2: pages, 3: font, then (page, content) pairs.
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".into());
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    objects.push(format!(
        "<< /Type /Pages /Kids [{}] /Count {n} >>",
        kids.join(" ")
    ));
    objects.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into());
    for (i, text) in pages.iter().enumerate() {
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
            5 + 2 * i
        ));
        let escaped = text
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        let stream = format!("BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET");
        objects.push(format!(
            "<< /Length {} >>\nstream\n{stream}\nendstream",
            stream.len()
        ));
    }
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_extension_then_type() {
        assert_eq!(Format::detect("a.MD", None), Some(Format::Markdown));
        assert_eq!(Format::detect("guide.pdf", None), Some(Format::Pdf));
        assert_eq!(
            Format::detect("blob", Some("text/plain; charset=utf-8")),
            Some(Format::Text)
        );
        assert_eq!(
            Format::detect("tool.exe", Some("application/octet-stream")),
            None
        );
    }

    #[test]
    fn markdown_keeps_headings_anchors_lists_and_code() {
        let page = read(
            Format::Markdown,
            b"# Returns\n\nIntro.\n\n## Refund timing (EU)\n\n- five days\n- by card\n\n```\nreturn --id 7\n```\n\n<script>alert(1)</script>\n",
            "returns.md",
        )
        .unwrap();
        assert_eq!(page.title, "Returns");
        assert_eq!(
            page.sections[1].headings,
            vec!["Returns", "Refund timing (EU)"]
        );
        assert_eq!(page.sections[1].anchor.as_deref(), Some("refund-timing-eu"));
        assert_eq!(
            page.sections[1].text,
            "• five days\n• by card\nreturn --id 7"
        );
        assert!(!format!("{page:?}").contains("alert"));
    }

    #[test]
    fn text_and_bad_input() {
        let page = read(Format::Text, b"One para\ngoes on.\n\nTwo.", "notes.txt").unwrap();
        assert_eq!(page.sections[0].text, "One para goes on.\nTwo.");
        assert_eq!(
            read(Format::Text, &[0xff, 0xfe, 0x00], "x.txt").unwrap_err(),
            DocumentError::NotText("x.txt".into())
        );
        assert!(matches!(
            read(Format::Pdf, b"%PDF-1.4 garbage", "x.pdf").unwrap_err(),
            DocumentError::Pdf(..)
        ));
        assert_eq!(
            read(Format::Text, b"  \n\n ", "e.txt").unwrap_err(),
            DocumentError::Empty("e.txt".into())
        );
    }

    #[test]
    fn pdf_pages_become_sections() {
        let bytes = crate::ingest::document::test_pdf(&[
            "Warranty covers two years.",
            "Batteries are excluded.",
        ]);
        let page = read(Format::Pdf, &bytes, "warranty.pdf").unwrap();
        assert_eq!(page.sections.len(), 2);
        assert_eq!(page.sections[1].anchor.as_deref(), Some("page=2"));
        assert!(page.sections[0].text.contains("Warranty covers two years."));
        assert!(page.sections[1].text.contains("Batteries are excluded."));
    }
}
