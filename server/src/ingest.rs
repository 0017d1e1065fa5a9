//! Ingestion: crawl a website, turn pages into heading-aware chunks, embed
//! them and store them (pgvector + full-text) for the workspace.

pub mod extract;

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::PgPool;
use url::Url;
use uuid::Uuid;

use crate::embed::{EmbedError, Embedder};
use extract::{extract, ExtractedPage};

/// Words per chunk before a section is split.
const CHUNK_WORDS: usize = 180;
const USER_AGENT: &str = concat!(
    "TandemBot/",
    env!("CARGO_PKG_VERSION"),
    " (+self-hosted support assistant)"
);

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("not a crawlable URL: {0}")]
    BadUrl(String),
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
/// at line boundaries with one line of overlap.
pub fn chunk_page(page: &ExtractedPage) -> Vec<ChunkDraft> {
    let mut out = Vec::new();
    for section in &page.sections {
        let heading_path = if section.headings.is_empty() {
            page.title.clone()
        } else {
            section.headings.join(" › ")
        };
        let lines: Vec<&str> = section.text.lines().collect();
        let mut start = 0;
        while start < lines.len() {
            let mut end = start;
            let mut words = 0;
            while end < lines.len()
                && (end == start || words + lines[end].split_whitespace().count() <= CHUNK_WORDS)
            {
                words += lines[end].split_whitespace().count();
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
            start = if end - start > 1 { end - 1 } else { end };
        }
    }
    out
}

#[derive(Clone, Debug, Default)]
pub struct CrawlReport {
    pub pages_indexed: usize,
    pub pages_unchanged: usize,
    pub chunks: usize,
    pub errors: Vec<(String, String)>,
}

/// Records that a crawl of `start` is due, so readiness reflects it before it begins.
pub async fn mark_pending(
    pool: &PgPool,
    workspace_id: Uuid,
    start: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into source (source_id, workspace_id, kind, start_url, status) values ($1, $2, 'website', $3, 'pending')
         on conflict (workspace_id, start_url) do update set status = 'pending', updated_at = now()",
    )
    .bind(Uuid::new_v4())
    .bind(workspace_id)
    .bind(start)
    .execute(pool)
    .await?;
    Ok(())
}

#[derive(Clone)]
pub struct Crawler {
    pool: PgPool,
    embedder: Embedder,
    http: reqwest::Client,
    pub max_pages: usize,
}

impl Crawler {
    pub fn new(pool: PgPool, embedder: Embedder) -> Self {
        Self::with_timeout(pool, embedder, Duration::from_secs(20))
    }

    /// A crawler that gives up on a page after `timeout` (per attempt; three attempts).
    pub fn with_timeout(pool: PgPool, embedder: Embedder, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .expect("static HTTP client settings");
        Self {
            pool,
            embedder,
            http,
            max_pages: 500,
        }
    }

    /// Crawls the site below `start` (same origin, same path prefix) into the
    /// workspace, replacing what an earlier crawl of the same start URL stored.
    #[tracing::instrument(skip(self), fields(workspace.id = %workspace_id))]
    pub async fn crawl(&self, workspace_id: Uuid, start: &str) -> Result<CrawlReport, IngestError> {
        let result = self.crawl_inner(workspace_id, start).await;
        if let Err(err) = &result {
            let _ = sqlx::query(
                "update source set status = 'failed', error = $3, updated_at = now()
                 where workspace_id = $1 and start_url = $2",
            )
            .bind(workspace_id)
            .bind(start)
            .bind(err.to_string())
            .execute(&self.pool)
            .await;
        }
        result
    }

    async fn crawl_inner(
        &self,
        workspace_id: Uuid,
        start: &str,
    ) -> Result<CrawlReport, IngestError> {
        let start = Url::parse(start).map_err(|_| IngestError::BadUrl(start.to_owned()))?;
        if !matches!(start.scheme(), "http" | "https") {
            return Err(IngestError::BadUrl(start.to_string()));
        }
        let prefix = {
            let mut p = start.clone();
            p.set_query(None);
            p.set_fragment(None);
            let path = p.path().to_owned();
            p.set_path(&path[..=path.rfind('/').unwrap_or(0)]);
            p.to_string()
        };
        let source_id: Uuid = sqlx::query_scalar(
            "insert into source (source_id, workspace_id, kind, start_url, status)
             values ($1, $2, 'website', $3, 'running')
             on conflict (workspace_id, start_url) do update set status = 'running', error = null, updated_at = now()
             returning source_id",
        )
        .bind(Uuid::new_v4())
        .bind(workspace_id)
        .bind(start.as_str())
        .fetch_one(&self.pool)
        .await?;

        let mut report = CrawlReport::default();
        let mut queue = VecDeque::from([start.clone()]);
        let mut seen: HashSet<String> = HashSet::from([start.to_string()]);
        let mut kept: Vec<String> = Vec::new();
        while let Some(url) = queue.pop_front() {
            if kept.len() >= self.max_pages {
                break;
            }
            let html = match self.fetch(&url).await {
                Ok(Some(html)) => html,
                Ok(None) => continue,
                Err(err) => {
                    tracing::warn!(url = %url, error = %err, "page failed");
                    report.errors.push((url.to_string(), err));
                    // A page that failed this time keeps what an earlier crawl stored.
                    kept.push(url.to_string());
                    continue;
                }
            };
            let page = extract(&html);
            for link in &page.links {
                if let Some(next) = in_scope(&url, link, &prefix) {
                    if seen.insert(next.to_string()) {
                        queue.push_back(next);
                    }
                }
            }
            kept.push(url.to_string());
            match self
                .store_page(workspace_id, source_id, url.as_str(), &page)
                .await?
            {
                Some(chunks) => {
                    report.pages_indexed += 1;
                    report.chunks += chunks;
                }
                None => report.pages_unchanged += 1,
            }
            sqlx::query("update source set pages_found = $2, pages_done = $3, updated_at = now() where source_id = $1")
                .bind(source_id)
                .bind(seen.len() as i32)
                .bind(kept.len() as i32)
                .execute(&self.pool)
                .await?;
        }
        // Pages that disappeared from the site go, with their chunks.
        sqlx::query("delete from page where source_id = $1 and not (url = any($2))")
            .bind(source_id)
            .bind(&kept)
            .execute(&self.pool)
            .await?;
        let error =
            (!report.errors.is_empty()).then(|| format!("{} pages failed", report.errors.len()));
        sqlx::query("update source set status = 'done', error = $2, updated_at = now() where source_id = $1")
            .bind(source_id)
            .bind(error)
            .execute(&self.pool)
            .await?;
        tracing::info!(
            pages = report.pages_indexed,
            unchanged = report.pages_unchanged,
            chunks = report.chunks,
            "crawl finished"
        );
        Ok(report)
    }

    /// The page's HTML, `None` for a non-HTML resource, or a readable error.
    async fn fetch(&self, url: &Url) -> Result<Option<String>, String> {
        let mut last = String::new();
        for attempt in 0..3 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
            }
            match self.http.get(url.clone()).send().await {
                Ok(response) if response.status().is_success() => {
                    let html = response
                        .headers()
                        .get(reqwest::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .is_none_or(|v| v.contains("html"));
                    if !html {
                        return Ok(None);
                    }
                    return response
                        .text()
                        .await
                        .map(Some)
                        .map_err(|e| format!("reading the page failed: {e}"));
                }
                Ok(response) if response.status().is_server_error() => {
                    last = format!("HTTP {}", response.status())
                }
                Ok(response) => return Err(format!("HTTP {}", response.status())),
                Err(err) if err.is_timeout() => last = "timed out".to_owned(),
                Err(err) => last = format!("request failed: {err}"),
            }
        }
        Err(last)
    }

    /// Stores a page and its chunks, replacing an older version atomically.
    /// Returns `None` when the page is unchanged.
    async fn store_page(
        &self,
        workspace_id: Uuid,
        source_id: Uuid,
        url: &str,
        page: &ExtractedPage,
    ) -> Result<Option<usize>, IngestError> {
        let chunks = chunk_page(page);
        let mut hasher = Sha256::new();
        hasher.update(page.title.as_bytes());
        for c in &chunks {
            hasher.update(c.heading_path.as_bytes());
            hasher.update(c.content.as_bytes());
        }
        let hash = hasher.finalize().to_vec();
        let old: Option<Vec<u8>> =
            sqlx::query_scalar("select content_hash from page where source_id = $1 and url = $2")
                .bind(source_id)
                .bind(url)
                .fetch_optional(&self.pool)
                .await?;
        if old.as_deref() == Some(hash.as_slice()) {
            return Ok(None);
        }
        let texts = chunks
            .iter()
            .map(|c| format!("{}\n{}", c.heading_path, c.content))
            .collect();
        let vectors = self.embedder.embed(texts).await?;

        let mut tx = self.pool.begin().await?;
        let page_id: Uuid = sqlx::query_scalar(
            "insert into page (page_id, source_id, workspace_id, url, title, content_hash)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (source_id, url) do update
                set title = excluded.title, content_hash = excluded.content_hash, fetched_at = now()
             returning page_id",
        )
        .bind(Uuid::new_v4())
        .bind(source_id)
        .bind(workspace_id)
        .bind(url)
        .bind(&page.title)
        .bind(&hash)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("delete from chunk where page_id = $1")
            .bind(page_id)
            .execute(&mut *tx)
            .await?;
        for (chunk, vector) in chunks.iter().zip(vectors) {
            sqlx::query(
                "insert into chunk (chunk_id, page_id, workspace_id, ordinal, heading_path, anchor, content, embedding)
                 values ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(Uuid::new_v4())
            .bind(page_id)
            .bind(workspace_id)
            .bind(chunk.ordinal)
            .bind(&chunk.heading_path)
            .bind(&chunk.anchor)
            .bind(&chunk.content)
            .bind(pgvector::Vector::from(vector))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Some(chunks.len()))
    }
}

/// `link` resolved against `base`, if it is a page of the crawl's scope.
fn in_scope(base: &Url, link: &str, prefix: &str) -> Option<Url> {
    let mut url = base.join(link).ok()?;
    url.set_fragment(None);
    let path = url.path().to_ascii_lowercase();
    let skipped = [
        ".png", ".jpg", ".jpeg", ".gif", ".svg", ".css", ".js", ".zip", ".pdf", ".mp4", ".ico",
        ".webp",
    ];
    (url.as_str().starts_with(prefix) && !skipped.iter().any(|ext| path.ends_with(ext)))
        .then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use extract::Section;

    #[test]
    fn scope_is_same_origin_and_prefix() {
        let base = Url::parse("http://h:1/demo/index.html").unwrap();
        let prefix = "http://h:1/demo/";
        assert_eq!(
            in_scope(&base, "refunds.html#x", prefix).unwrap().as_str(),
            "http://h:1/demo/refunds.html"
        );
        assert!(in_scope(&base, "/inbox", prefix).is_none());
        assert!(in_scope(&base, "http://evil.example/demo/a.html", prefix).is_none());
        assert!(in_scope(&base, "site.css", prefix).is_none());
    }

    #[test]
    fn long_sections_are_split_with_overlap() {
        let lines: Vec<String> = (0..4)
            .map(|i| format!("line{i} {}", "word ".repeat(69).trim()))
            .collect();
        let page = ExtractedPage {
            title: "T".into(),
            links: vec![],
            sections: vec![Section {
                headings: vec!["T".into(), "S".into()],
                anchor: Some("s".into()),
                text: lines.join("\n"),
            }],
        };
        let chunks = chunk_page(&page);
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[0].heading_path, "T › S");
        assert_eq!(chunks[0].anchor.as_deref(), Some("s"));
        for (i, chunk) in chunks.iter().enumerate() {
            assert_eq!(chunk.content.lines().count(), 2);
            assert!(
                chunk.content.starts_with(&format!("line{i} ")),
                "chunk {i} overlaps the one before"
            );
        }
    }
}
