//! Ingestion: turn a workspace's websites, files and answer snippets into
//! heading-aware chunks, embed them and store them (pgvector + full-text).
//!
//! Work runs as background jobs stored in PostgreSQL ([`jobs`]); a website
//! job walks a persisted crawl frontier ([`crawl`]) over polite HTTP
//! ([`fetch`]); pages and files become structured text ([`extract`],
//! [`document`]); snippets are indexed at once ([`snippets`]).

pub mod crawl;
pub mod document;
pub mod extract;
pub mod fetch;
pub mod jobs;
pub mod reembed;
pub mod snippets;

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::db::Scope;
use crate::embed::{EmbedError, Embedder, Role};
use extract::ExtractedPage;

/// Words per chunk before a section is split (~240 tokens).
const CHUNK_WORDS: usize = 180;
/// Longest line repeated at the start of the next chunk.
const OVERLAP_WORDS: usize = 45;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("not a crawlable URL: {0}")]
    BadUrl(String),
    #[error("{0}")]
    Rejected(String),
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChunkDraft {
    pub ordinal: i32,
    /// "Refunds › Refund timing".
    pub heading_path: String,
    pub anchor: Option<String>,
    pub content: String,
}

/// Splits a page into chunks that follow its headings; long sections are cut
/// at line boundaries, overlapping by one short line.
pub fn chunk_page(page: &ExtractedPage) -> Vec<ChunkDraft> {
    let mut out = Vec::new();
    for section in &page.sections {
        let heading_path = if section.headings.is_empty() {
            page.title.clone()
        } else {
            section.headings.join(" › ")
        };
        let lines: Vec<&str> = split_long_lines(&section.text);
        let mut start = 0;
        while start < lines.len() {
            let mut end = start;
            let (mut words, mut bytes) = (0, 0);
            while end < lines.len()
                && (end == start
                    || (words + lines[end].split_whitespace().count() <= CHUNK_WORDS
                        && bytes + lines[end].len() < CHUNK_BYTES))
            {
                words += lines[end].split_whitespace().count();
                bytes += lines[end].len() + 1;
                end += 1;
            }
            out.push(ChunkDraft {
                ordinal: out.len() as i32,
                heading_path: heading_path.clone(),
                anchor: section.anchor.clone(),
                content: lines[start..end].join("\n"),
            });
            if end >= lines.len() {
                break;
            }
            // Overlap by the last line when it is short (a sentence or a
            // list item), so a fact on the boundary is whole in one chunk.
            let last_is_short = lines[end - 1].split_whitespace().count() <= OVERLAP_WORDS;
            start = if end - start > 1 && last_is_short {
                end - 1
            } else {
                end
            };
        }
    }
    out
}

const MAX_LINE_BYTES: usize = 750;
/// Longest chunk, in bytes, whatever its word count (code, tables, junk):
/// about what the model reads (256 tokens) of dense text.
const CHUNK_BYTES: usize = 2 * MAX_LINE_BYTES;

/// Lines of a section, with any single line longer than a chunk (a wall of
/// text with no breaks) cut at sentence ends, or at word boundaries.
fn split_long_lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut rest = line;
        while rest.len() > MAX_LINE_BYTES || rest.split_whitespace().count() > CHUNK_WORDS {
            // Byte offset after the CHUNK_WORDS/2-th word.
            let mut cut = rest.len();
            let mut words = 0;
            let mut in_word = false;
            for (i, c) in rest.char_indices() {
                if c.is_whitespace() {
                    if in_word {
                        words += 1;
                        if words >= CHUNK_WORDS / 2 {
                            cut = i;
                            break;
                        }
                    }
                    in_word = false;
                } else {
                    in_word = true;
                }
            }
            // Text without spaces (a hostile page) is cut by length.
            let cut = cut.min(rest.floor_char_boundary(MAX_LINE_BYTES));
            // Prefer the last sentence end before the cut.
            let head = &rest[..cut];
            let at = head
                .rfind(". ")
                .filter(|&i| i > head.len() / 2)
                .map(|i| i + 1)
                .unwrap_or(cut);
            out.push(rest[..at].trim());
            rest = rest[at..].trim_start();
        }
        if !rest.trim().is_empty() {
            out.push(rest);
        }
    }
    out
}

/// A page ready to store: its chunks, content hash and what the next crawl
/// needs to skip it cheaply.
#[derive(Clone, Debug, Default)]
pub struct PreparedPage {
    /// Where the page lives (canonical, after redirects).
    pub url: String,
    pub title: String,
    pub chunks: Vec<ChunkDraft>,
    pub hash: Vec<u8>,
    /// Absolute, in-scope links.
    pub links: Vec<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub sitemap_lastmod: Option<String>,
    /// The text-search configuration of the page's language (`german`, …).
    pub ts_config: &'static str,
}

impl PreparedPage {
    pub fn new(url: String, page: &ExtractedPage) -> Self {
        let chunks = chunk_page(page);
        let mut hasher = Sha256::new();
        hasher.update(page.title.as_bytes());
        for c in &chunks {
            hasher.update([0]);
            hasher.update(c.heading_path.as_bytes());
            hasher.update([0]);
            hasher.update(c.anchor.as_deref().unwrap_or_default().as_bytes());
            hasher.update([0]);
            hasher.update(c.content.as_bytes());
        }
        let text: String = chunks
            .iter()
            .map(|c| c.content.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        Self {
            url,
            title: page.title.clone(),
            ts_config: crate::lang::ts_config_of_page(&text),
            chunks,
            hash: hasher.finalize().to_vec(),
            ..Self::default()
        }
    }
}

/// How a batch of pages was stored.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stored {
    pub chunks: usize,
    pub embed_time: Duration,
}

/// Embeds the pages' chunks (one batch for all) and stores each page with
/// its chunks in its own transaction: a changed page's old chunks are
/// replaced atomically, so retrieval always sees one version or the other.
pub async fn store_pages(
    pool: &PgPool,
    embedder: &Embedder,
    workspace_id: Uuid,
    source_id: Uuid,
    pages: &[PreparedPage],
) -> Result<Stored, IngestError> {
    let texts: Vec<String> = pages
        .iter()
        .flat_map(|p| &p.chunks)
        .map(|c| format!("{}\n{}", c.heading_path, c.content))
        .collect();
    let started = Instant::now();
    let english: Vec<Option<pgvector::Vector>> = match embedder.english() {
        Some(english) => english
            .embed(texts.clone(), Role::Passage)
            .await?
            .into_iter()
            .map(|v| Some(pgvector::Vector::from(v)))
            .collect(),
        None => vec![None; texts.len()],
    };
    let mut english = english.into_iter();
    let mut vectors = embedder.embed(texts, Role::Passage).await?.into_iter();
    let embed_time = started.elapsed();
    let mut stored = Stored {
        chunks: 0,
        embed_time,
    };
    for page in pages {
        let page_vectors: Vec<pgvector::Vector> = vectors
            .by_ref()
            .take(page.chunks.len())
            .map(pgvector::Vector::from)
            .collect();
        let page_english: Vec<Option<pgvector::Vector>> =
            english.by_ref().take(page.chunks.len()).collect();
        let mut tx = pool.ws(workspace_id).begin().await?;
        let page_id: Uuid = sqlx::query_scalar(
            "insert into page (page_id, source_id, workspace_id, url, title, content_hash,
                               etag, last_modified, sitemap_lastmod, links)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             on conflict (source_id, url) do update
                set title = excluded.title, content_hash = excluded.content_hash,
                    etag = excluded.etag, last_modified = excluded.last_modified,
                    sitemap_lastmod = excluded.sitemap_lastmod, links = excluded.links,
                    fetched_at = now()
             returning page_id",
        )
        .bind(Uuid::new_v4())
        .bind(source_id)
        .bind(workspace_id)
        .bind(&page.url)
        .bind(&page.title)
        .bind(&page.hash)
        .bind(&page.etag)
        .bind(&page.last_modified)
        .bind(&page.sitemap_lastmod)
        .bind(&page.links)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query!("delete from chunk where page_id = $1", page_id,)
            .execute(&mut *tx)
            .await?;
        let ids: Vec<Uuid> = page.chunks.iter().map(|_| Uuid::new_v4()).collect();
        let ordinals: Vec<i32> = page.chunks.iter().map(|c| c.ordinal).collect();
        let headings: Vec<&str> = page
            .chunks
            .iter()
            .map(|c| c.heading_path.as_str())
            .collect();
        let anchors: Vec<Option<&str>> = page.chunks.iter().map(|c| c.anchor.as_deref()).collect();
        let contents: Vec<&str> = page.chunks.iter().map(|c| c.content.as_str()).collect();
        sqlx::query(
            "insert into chunk (chunk_id, page_id, workspace_id, ordinal, heading_path, anchor, content,
                                embedding, embedded_with, ts_config, embedding_en)
             select id, $2, $3, ordinal, heading, anchor, content, embedding, $9, $10::regconfig, english
             from unnest($1::uuid[], $4::int[], $5::text[], $6::text[], $7::text[], $8::vector[],
                         $11::vector[])
                  as t(id, ordinal, heading, anchor, content, embedding, english)",
        )
        .bind(&ids)
        .bind(page_id)
        .bind(workspace_id)
        .bind(&ordinals)
        .bind(&headings)
        .bind(&anchors)
        .bind(&contents)
        .bind(&page_vectors)
        .bind(embedder.name())
        .bind(if page.ts_config.is_empty() {
            "english"
        } else {
            page.ts_config
        })
        .bind(&page_english)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        stored.chunks += page.chunks.len();
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use extract::Section;

    fn page(text: String) -> ExtractedPage {
        ExtractedPage {
            title: "T".into(),
            links: vec![],
            canonical: None,
            sections: vec![Section {
                headings: vec!["T".into(), "S".into()],
                anchor: Some("s".into()),
                text,
            }],
        }
    }

    #[test]
    fn long_sections_are_split_with_overlap() {
        let lines: Vec<String> = (0..6)
            .map(|i| format!("line{i} {}", "word ".repeat(39).trim()))
            .collect();
        let chunks = chunk_page(&page(lines.join("\n")));
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].heading_path, "T › S");
        assert_eq!(chunks[0].anchor.as_deref(), Some("s"));
        assert_eq!(chunks[0].content.lines().count(), 4);
        assert!(
            chunks[1].content.starts_with("line3 "),
            "the second chunk repeats the first one's last line"
        );
        // Long lines are not repeated.
        let long: Vec<String> = (0..4)
            .map(|i| format!("line{i} {}", "word ".repeat(69).trim()))
            .collect();
        let chunks = chunk_page(&page(long.join("\n")));
        assert_eq!(chunks.len(), 2);
        assert!(chunks[1].content.starts_with("line2 "));
    }

    #[test]
    fn a_wall_of_text_is_cut_into_bounded_chunks() {
        let wall = "Lorem ipsum dolor sit amet. ".repeat(400);
        let chunks = chunk_page(&page(wall.clone()));
        assert!(chunks.len() > 5);
        for chunk in &chunks {
            let words = chunk.content.split_whitespace().count();
            assert!(words <= CHUNK_WORDS, "{words} words");
        }
        let total: usize = chunks
            .iter()
            .map(|c| c.content.split_whitespace().count())
            .sum();
        assert!(total >= wall.split_whitespace().count(), "no text lost");
        let blob = "x".repeat(100_000);
        let chunks = chunk_page(&page(blob));
        assert!(chunks.iter().all(|c| c.content.len() <= CHUNK_BYTES));
    }

    #[test]
    fn the_hash_sees_text_headings_and_anchors() {
        let a = PreparedPage::new("u".into(), &page("one".into()));
        let b = PreparedPage::new("u".into(), &page("two".into()));
        let mut moved = page("one".into());
        moved.sections[0].anchor = Some("t".into());
        assert_ne!(a.hash, b.hash);
        assert_ne!(a.hash, PreparedPage::new("u".into(), &moved).hash);
        assert_eq!(
            a.hash,
            PreparedPage::new("v".into(), &page("one".into())).hash
        );
    }
}
