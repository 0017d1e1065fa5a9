//! One ingest job's work: seed the frontier (start URL, sitemaps, or the
//! uploaded file), then take queued items in batches: fetch (politely, with
//! conditional requests), clean, chunk, skip what did not change, embed and
//! store what did, queue the links found. Every outcome is written to the
//! job's `crawl_item` rows, so a job taken over after a restart resumes
//! where it stopped and redoes nothing already stored.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use url::Url;
use uuid::Uuid;

use super::document::{self, Format};
use super::extract::{extract_with, stylesheet_links};
use super::fetch::{parse_sitemap, Denied, Fetched, Fetcher, Sitemap, UNREACHABLE};
use super::{store_pages, IngestError, PreparedPage};
use crate::db::{InWorkspace, Scope as _};
use crate::embed::Embedder;

/// Items taken from the frontier at a time.
const BATCH: i64 = 48;
/// Longest a single page or file may take to clean.
const EXTRACTION_TIMEOUT: Duration = Duration::from_secs(60);

/// A website source's crawl settings (stored as JSON on the source).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct CrawlSettings {
    /// URL prefixes outside the start URL's folder that belong to the site.
    pub extra_prefixes: Vec<String>,
    pub max_pages: u32,
    /// Links followed from the start URL (sitemap entries are depth 0).
    pub max_depth: u32,
    /// Requests at once to one host.
    pub per_host: u32,
    /// Seconds before one attempt at a page gives up.
    pub timeout_secs: u64,
}

impl Default for CrawlSettings {
    fn default() -> Self {
        Self {
            extra_prefixes: Vec::new(),
            max_pages: 5000,
            max_depth: 10,
            per_host: 4,
            timeout_secs: 20,
        }
    }
}

/// Which URLs belong to a website source.
#[derive(Clone, Debug)]
pub struct Scope {
    prefixes: Vec<String>,
}

impl Scope {
    /// The start URL's folder (on its origin), plus the extra prefixes.
    pub fn new(start: &Url, extra: &[String]) -> Self {
        let mut p = start.clone();
        p.set_query(None);
        p.set_fragment(None);
        let path = p.path().to_owned();
        p.set_path(&path[..=path.rfind('/').unwrap_or(0)]);
        let mut prefixes = vec![p.to_string()];
        prefixes.extend(
            extra
                .iter()
                .filter_map(|e| Url::parse(e.trim()).ok())
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .map(|u| u.to_string()),
        );
        Self { prefixes }
    }

    /// Whether `url` is on one of the site's origins (robots.txt and
    /// sitemaps may live outside its folders, never on another site).
    pub fn same_site(&self, url: &Url) -> bool {
        matches!(url.scheme(), "http" | "https")
            && self
                .prefixes
                .iter()
                .filter_map(|p| Url::parse(p).ok())
                .any(|p| p.origin() == url.origin())
    }

    pub fn contains(&self, url: &Url) -> bool {
        matches!(url.scheme(), "http" | "https")
            && self.prefixes.iter().any(|p| url.as_str().starts_with(p))
    }

    /// `link` resolved against `base`, without its fragment, if it is in
    /// scope and could be a page (not an image, script or archive).
    pub fn resolve(&self, base: &Url, link: &str) -> Option<Url> {
        let mut url = base.join(link.trim()).ok()?;
        url.set_fragment(None);
        let path = url.path().to_ascii_lowercase();
        const ASSETS: &[&str] = &[
            ".png", ".jpg", ".jpeg", ".gif", ".svg", ".css", ".js", ".zip", ".gz", ".tgz", ".mp4",
            ".mp3", ".ico", ".webp", ".woff", ".woff2", ".ttf", ".exe", ".dmg", ".json",
        ];
        (self.contains(&url) && !ASSETS.iter().any(|ext| path.ends_with(ext))).then_some(url)
    }
}

/// Whether a start URL names a sitemap rather than a page.
pub fn is_sitemap_url(url: &Url) -> bool {
    let path = url.path().to_ascii_lowercase();
    path.ends_with(".xml")
}

/// Everything a running job needs.
pub struct JobContext {
    pub pool: PgPool,
    pub embedder: Embedder,
    pub job_id: Uuid,
    pub workspace_id: Uuid,
    pub source_id: Uuid,
    pub cancelled: Arc<AtomicBool>,
    /// Where this instance may connect.
    pub outbound: crate::outbound::Outbound,
}

impl JobContext {
    /// The job's workspace's view of the pool.
    pub fn db(&self) -> InWorkspace<'_> {
        self.pool.ws(self.workspace_id)
    }
}

/// A source as a job sees it.
#[derive(sqlx::FromRow)]
struct SourceRow {
    #[sqlx(try_from = "String")]
    kind: app::knowledge::SourceKind,
    start_url: String,
    settings: sqlx::types::Json<CrawlSettings>,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    url: String,
    depth: i32,
    sitemap_lastmod: Option<String>,
}

#[derive(sqlx::FromRow)]
struct KnownRow {
    url: String,
    #[sqlx(flatten)]
    page: KnownPage,
}

#[derive(sqlx::FromRow, Clone)]
struct KnownPage {
    etag: Option<String>,
    last_modified: Option<String>,
    sitemap_lastmod: Option<String>,
    links: Vec<String>,
    content_hash: Vec<u8>,
}

/// What became of one frontier item.
enum Outcome {
    Changed(Box<PreparedPage>),
    /// Not fetched again or not changed; keeps the stored page and its links.
    Unchanged {
        page_url: String,
        links: Vec<String>,
        /// The stored content's hash (so copies of it are seen as duplicates).
        hash: Vec<u8>,
        refresh: Option<Box<PreparedPage>>,
    },
    /// Not indexed; its links, if any, are still followed.
    Skipped {
        reason: String,
        links: Vec<String>,
    },
    Failed {
        error: String,
        /// The page an earlier crawl stored, kept (with the links it had)
        /// when a fetch fails for a reason that may pass.
        kept: Option<String>,
        links: Vec<String>,
    },
    /// Stored under another URL; `detail` says which and why.
    Duplicate {
        detail: String,
        links: Vec<String>,
    },
    /// The job was cancelled before this item was started: it stays queued.
    NotStarted,
}

fn skipped(reason: impl Into<String>) -> Outcome {
    Outcome::Skipped {
        reason: reason.into(),
        links: Vec::new(),
    }
}

fn failed(error: impl Into<String>) -> Outcome {
    Outcome::Failed {
        error: error.into(),
        kept: None,
        links: Vec::new(),
    }
}

/// A failure that may pass (a timeout, a 5xx, robots.txt unreachable): the
/// page an earlier crawl stored stays, and its links are still followed.
fn failed_keeping(error: impl Into<String>, url: &str, known: Option<KnownPage>) -> Outcome {
    match known {
        Some(known) => Outcome::Failed {
            error: error.into(),
            kept: Some(url.to_owned()),
            links: known.links,
        },
        None => failed(error),
    }
}

/// How a job ended.
#[derive(Debug, PartialEq, Eq)]
pub enum JobEnd {
    Done,
    Cancelled,
}

pub async fn run(ctx: &JobContext) -> Result<JobEnd, IngestError> {
    let source: SourceRow =
        sqlx::query_as("select kind, start_url, settings from source where source_id = $1")
            .bind(ctx.source_id)
            .fetch_one(ctx.db())
            .await?;
    let settings = source.settings.0;
    let start =
        Url::parse(&source.start_url).map_err(|_| IngestError::BadUrl(source.start_url.clone()))?;
    let is_file = source.kind == app::knowledge::SourceKind::File;
    let scope = Scope::new(&start, &settings.extra_prefixes);
    let fetcher = Fetcher::new(&settings, &ctx.outbound, &scope);

    let seeded: bool = sqlx::query_scalar("select seeded from ingest_job where job_id = $1")
        .bind(ctx.job_id)
        .fetch_one(ctx.db())
        .await?;
    if !seeded {
        let seeds = if is_file {
            vec![(start.to_string(), None)]
        } else {
            seeds(&fetcher, &scope, &start, settings.max_pages as usize).await?
        };
        let (urls, lastmods): (Vec<String>, Vec<Option<String>>) = seeds.into_iter().unzip();
        let mut tx = ctx.db().begin().await?;
        sqlx::query(
            "insert into crawl_item (job_id, url, depth, sitemap_lastmod)
             select $1, u, 0, l from unnest($2::text[], $3::text[]) as t(u, l)
             on conflict do nothing",
        )
        .bind(ctx.job_id)
        .bind(&urls)
        .bind(&lastmods)
        .execute(&mut *tx)
        .await?;
        sqlx::query("update ingest_job set seeded = true where job_id = $1")
            .bind(ctx.job_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        progress(ctx.db(), ctx.job_id, Duration::ZERO, Duration::ZERO, 0).await?;
    }

    loop {
        if ctx.cancelled.load(Ordering::Relaxed) {
            return Ok(JobEnd::Cancelled);
        }
        let batch: Vec<ItemRow> = sqlx::query_as(
            "select url, depth, sitemap_lastmod from crawl_item
             where job_id = $1 and state = 'queued' order by depth, url limit $2",
        )
        .bind(ctx.job_id)
        .bind(BATCH)
        .fetch_all(ctx.db())
        .await?;
        if batch.is_empty() {
            break;
        }
        let started = Instant::now();
        let urls: Vec<&str> = batch.iter().map(|i| i.url.as_str()).collect();
        let known: HashMap<String, KnownPage> = sqlx::query_as::<_, KnownRow>(
            "select url, etag, last_modified, sitemap_lastmod, links, content_hash from page
             where source_id = $1 and url = any($2)",
        )
        .bind(ctx.source_id)
        .bind(&urls)
        .fetch_all(ctx.db())
        .await?
        .into_iter()
        .map(|row| (row.url, row.page))
        .collect();
        let (known, fetcher, scope) = (&known, &fetcher, &scope);
        let outcomes: Vec<(ItemRow, Outcome)> = futures::stream::iter(batch)
            .map(|item| async move {
                let known = known.get(&item.url).cloned();
                let outcome = process(ctx, fetcher, scope, is_file, &item, known).await;
                outcome.map(|o| (item, o))
            })
            .buffer_unordered(16)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, IngestError>>()?;
        let outcomes = dedupe(ctx, outcomes).await?;
        let crawl_time = started.elapsed();

        let changed: Vec<PreparedPage> = outcomes
            .iter()
            .filter_map(|(_, o)| match o {
                Outcome::Changed(p) => Some((**p).clone()),
                _ => None,
            })
            .collect();
        let stored = store_pages(
            &ctx.pool,
            &ctx.embedder,
            ctx.workspace_id,
            ctx.source_id,
            &changed,
        )
        .await?;
        record(ctx, &settings, &outcomes).await?;
        progress(
            ctx.db(),
            ctx.job_id,
            crawl_time,
            stored.embed_time,
            stored.chunks as i32,
        )
        .await?;
    }
    if ctx.cancelled.load(Ordering::Relaxed) {
        return Ok(JobEnd::Cancelled);
    }
    finish(ctx, &settings).await?;
    Ok(JobEnd::Done)
}

/// The first frontier: the sitemap's pages when the start URL is a sitemap;
/// otherwise the start URL and the pages of the sitemaps robots.txt lists.
async fn seeds(
    fetcher: &Fetcher,
    scope: &Scope,
    start: &Url,
    max_pages: usize,
) -> Result<Vec<(String, Option<String>)>, IngestError> {
    let mut out = Vec::new();
    let mut listed: HashSet<String> = HashSet::from([start.to_string()]);
    let mut sitemaps = Vec::new();
    if is_sitemap_url(start) {
        sitemaps.push(start.to_string());
    } else {
        out.push((start.to_string(), None));
        if fetcher.allowed(start).await.is_ok() {
            sitemaps.extend(on_site(scope, fetcher.robots_sitemaps(start).await));
        }
    }
    let explicit = is_sitemap_url(start);
    let mut seen = HashSet::new();
    let mut read = 0;
    while let Some(sitemap) = sitemaps.pop() {
        if !seen.insert(sitemap.clone()) || read >= 50 || out.len() >= max_pages {
            continue;
        }
        read += 1;
        let Ok(url) = Url::parse(&sitemap) else {
            continue;
        };
        let xml = match fetcher.fetch_sitemap(&url).await {
            Ok(bytes) => bytes,
            Err(e) if explicit => {
                return Err(IngestError::Rejected(format!("sitemap {sitemap}: {e}")))
            }
            Err(e) => {
                tracing::warn!(%sitemap, error = %e, "sitemap skipped");
                continue;
            }
        };
        match parse_sitemap(&String::from_utf8_lossy(&xml)) {
            Ok(Sitemap::Urls(urls)) => {
                for (loc, lastmod) in urls {
                    if let Some(u) = Url::parse(&loc).ok().filter(|u| scope.contains(u)) {
                        if out.len() < max_pages && listed.insert(u.to_string()) {
                            out.push((u.to_string(), lastmod));
                        }
                    }
                }
            }
            Ok(Sitemap::Index(children)) => sitemaps.extend(on_site(scope, children)),
            Err(e) if explicit && read == 1 => {
                return Err(IngestError::Rejected(format!("{sitemap}: {e}")))
            }
            Err(e) => tracing::warn!(%sitemap, error = %e, "sitemap skipped"),
        }
    }
    Ok(out)
}

/// The sitemaps on the site's own origins; others are not fetched (a
/// robots.txt or sitemap index may name any address at all).
fn on_site(scope: &Scope, sitemaps: Vec<String>) -> Vec<String> {
    sitemaps
        .into_iter()
        .filter(|s| {
            let on = Url::parse(s).is_ok_and(|u| scope.same_site(&u));
            if !on {
                tracing::debug!(sitemap = %s, "sitemap on another site skipped");
            }
            on
        })
        .collect()
}

async fn known_page(ctx: &JobContext, url: &str) -> Result<Option<KnownPage>, sqlx::Error> {
    sqlx::query_as(
        "select etag, last_modified, sitemap_lastmod, links, content_hash from page
         where source_id = $1 and url = $2",
    )
    .bind(ctx.source_id)
    .bind(url)
    .fetch_optional(ctx.db())
    .await
}

async fn process(
    ctx: &JobContext,
    fetcher: &Fetcher,
    scope: &Scope,
    is_file: bool,
    item: &ItemRow,
    known: Option<KnownPage>,
) -> Result<Outcome, IngestError> {
    if ctx.cancelled.load(Ordering::Relaxed) {
        return Ok(Outcome::NotStarted);
    }
    let Ok(url) = Url::parse(&item.url) else {
        return Ok(skipped("not a valid URL"));
    };
    let (format, bytes, final_url, etag, last_modified) = if is_file {
        let blob: Option<(String, String, Vec<u8>)> = sqlx::query_as(
            "select filename, content_type, bytes from file_blob where source_id = $1",
        )
        .bind(ctx.source_id)
        .fetch_optional(ctx.db())
        .await?;
        let Some((filename, content_type, bytes)) = blob else {
            return Ok(failed("the uploaded file is missing"));
        };
        let Some(format) = Format::detect(&filename, Some(&content_type)) else {
            return Ok(skipped(format!("{filename}: not a supported format")));
        };
        (format, bytes, url, None, None)
    } else {
        match fetcher.allowed(&url).await {
            Ok(()) => {}
            Err(Denied::NotAllowed) => return Ok(failed(crate::outbound::NOT_ALLOWED)),
            Err(Denied::Disallowed) => return Ok(skipped("disallowed by robots.txt")),
            // A site that does not answer at all is said to be so.
            Err(Denied::Unreachable(e)) if e == UNREACHABLE => {
                return Ok(failed_keeping(e, &item.url, known))
            }
            Err(Denied::Unreachable(e)) => {
                return Ok(failed_keeping(
                    format!("robots.txt could not be read ({e})"),
                    &item.url,
                    known,
                ))
            }
        }
        // The sitemap says the page has not changed since we stored it.
        if let (Some(known), Some(lastmod)) = (&known, &item.sitemap_lastmod) {
            if known.sitemap_lastmod.as_ref() == Some(lastmod) {
                return Ok(Outcome::Unchanged {
                    page_url: item.url.clone(),
                    links: known.links.clone(),
                    hash: known.content_hash.clone(),
                    refresh: None,
                });
            }
        }
        let validators = known
            .as_ref()
            .map(|k| (k.etag.as_deref(), k.last_modified.as_deref()))
            .unwrap_or_default();
        match fetcher.fetch(&url, validators.0, validators.1).await {
            Ok(Fetched::NotModified) => {
                // `fetch` only reports this when validators were sent.
                let Some(known) = known else {
                    return Ok(failed("answered 304 Not Modified to a plain request"));
                };
                let mut refresh = PreparedPage {
                    url: item.url.clone(),
                    etag: known.etag,
                    last_modified: known.last_modified,
                    sitemap_lastmod: item.sitemap_lastmod.clone().or(known.sitemap_lastmod),
                    ..Default::default()
                };
                refresh.links = known.links.clone();
                return Ok(Outcome::Unchanged {
                    page_url: item.url.clone(),
                    links: known.links,
                    hash: known.content_hash,
                    refresh: Some(Box::new(refresh)),
                });
            }
            Ok(Fetched::LeftSite { to }) => {
                return Ok(skipped(format!("redirects outside the site, to {to}")))
            }
            Ok(Fetched::Other { content_type, .. }) => {
                return Ok(skipped(format!(
                    "not a page or a document Tandem reads ({})",
                    if content_type.is_empty() {
                        "unknown type"
                    } else {
                        &content_type
                    }
                )))
            }
            Ok(Fetched::Document {
                url: final_url,
                format,
                bytes,
                etag,
                last_modified,
            }) => {
                if !scope.contains(&final_url) {
                    return Ok(skipped(format!(
                        "redirects outside the site, to {final_url}"
                    )));
                }
                (format, bytes, final_url, etag, last_modified)
            }
            // Gone for good: the stored page goes too.
            Err(error) if error.starts_with("HTTP 404") || error.starts_with("HTTP 410") => {
                return Ok(failed(error))
            }
            Err(error) => return Ok(failed_keeping(error, &item.url, known)),
        }
    };

    let title_hint = final_url
        .path_segments()
        .and_then(|mut s| s.next_back().map(str::to_owned))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| final_url.to_string());
    let title_hint = percent_decode(&title_hint);
    // What the page's linked stylesheets hide is not indexed either.
    let linked = if format == Format::Html && !is_file {
        let hrefs = stylesheet_links(&String::from_utf8_lossy(&bytes));
        fetcher.stylesheets(&final_url, &hrefs).await
    } else {
        Vec::new()
    };
    // Cleaning is CPU work (PDF especially): off the async threads, and a
    // document that panics the parser or takes too long fails alone.
    let extraction = tokio::task::spawn_blocking(move || {
        if format == Format::Html {
            let sheets: Vec<&str> = linked.iter().map(|s| s.as_ref()).collect();
            Ok(extract_with(&String::from_utf8_lossy(&bytes), &sheets))
        } else {
            document::read(format, &bytes, &title_hint)
        }
    });
    let page = match tokio::time::timeout(EXTRACTION_TIMEOUT, extraction).await {
        Ok(Ok(Ok(page))) => page,
        Ok(Ok(Err(e))) => return Ok(failed(e.to_string())),
        Ok(Err(_)) => return Ok(failed("the document could not be read (the parser failed)")),
        Err(_) => return Ok(failed("the document took too long to read")),
    };
    if is_file {
        // What `/kb/.../files/...` shows, without parsing the file per request.
        sqlx::query("update file_blob set sections = $2 where source_id = $1")
            .bind(ctx.source_id)
            .bind(sqlx::types::Json(&page.sections))
            .execute(ctx.db())
            .await?;
    }
    let mut links: Vec<String> = page
        .links
        .iter()
        .filter_map(|l| scope.resolve(&final_url, l))
        .map(|u| u.to_string())
        .collect();
    // A canonical link elsewhere names the page to index: that page is
    // crawled in its own right, and this copy is not stored.
    if let Some(canonical) = page
        .canonical
        .as_deref()
        .and_then(|c| scope.resolve(&final_url, c))
        .filter(|c| c.as_str() != final_url.as_str())
    {
        links.push(canonical.to_string());
        links.sort();
        links.dedup();
        return Ok(Outcome::Duplicate {
            detail: format!("its canonical page is {canonical}"),
            links,
        });
    }
    links.sort();
    links.dedup();
    let mut prepared = PreparedPage::new(final_url.to_string(), &page);
    prepared.etag = etag;
    prepared.last_modified = last_modified;
    prepared.sitemap_lastmod = item.sitemap_lastmod.clone();
    if prepared.chunks.is_empty() {
        return Ok(Outcome::Skipped {
            reason: "no text on the page".into(),
            links,
        });
    }
    prepared.links = links;
    let stored = if prepared.url == item.url {
        known
    } else {
        known_page(ctx, &prepared.url).await?
    };
    if stored.is_some_and(|k| k.content_hash == prepared.hash) {
        return Ok(Outcome::Unchanged {
            page_url: prepared.url.clone(),
            links: prepared.links.clone(),
            hash: prepared.hash.clone(),
            refresh: Some(Box::new(prepared)),
        });
    }
    Ok(Outcome::Changed(Box::new(prepared)))
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

/// Turns repeats into duplicates: a page URL (after redirects and
/// canonical links) another item of this job already stored, or content
/// identical to another page of the source.
async fn dedupe(
    ctx: &JobContext,
    mut outcomes: Vec<(ItemRow, Outcome)>,
) -> Result<Vec<(ItemRow, Outcome)>, IngestError> {
    // The first in frontier order wins, whatever order the fetches ended in.
    outcomes.sort_by(|(a, _), (b, _)| (a.depth, &a.url).cmp(&(b.depth, &b.url)));
    // What earlier batches stored: page URLs claimed by other items of this
    // job, and pages of the source by content hash.
    let mut page_urls = Vec::new();
    let mut hashes_wanted = Vec::new();
    for (_, outcome) in &outcomes {
        match outcome {
            Outcome::Changed(p) => {
                page_urls.push(p.url.clone());
                hashes_wanted.push(p.hash.clone());
            }
            Outcome::Unchanged { page_url, hash, .. } => {
                page_urls.push(page_url.clone());
                hashes_wanted.push(hash.clone());
            }
            _ => {}
        }
    }
    let claimed: Vec<(String, String)> = sqlx::query_as(
        "select page_url, url from crawl_item where job_id = $1 and page_url = any($2)
           and state in ('changed', 'unchanged')",
    )
    .bind(ctx.job_id)
    .bind(&page_urls)
    .fetch_all(ctx.db())
    .await?;
    // Only pages this job has confirmed count: a stored page that has since
    // moved or gone must not make its new copy a duplicate.
    let stored: Vec<(Vec<u8>, String)> = sqlx::query_as(
        "select p.content_hash, p.url from page p
         where p.source_id = $1 and p.content_hash = any($2)
           and exists (select 1 from crawl_item c where c.job_id = $3 and c.page_url = p.url
                       and c.state in ('changed', 'unchanged'))",
    )
    .bind(ctx.source_id)
    .bind(&hashes_wanted)
    .bind(ctx.job_id)
    .fetch_all(ctx.db())
    .await?;
    let mut urls: HashMap<String, String> = HashMap::new();
    let mut hashes: HashMap<Vec<u8>, String> = HashMap::new();
    let mut out = Vec::with_capacity(outcomes.len());
    for (item, outcome) in outcomes {
        let (page_url, hash) = match &outcome {
            Outcome::Changed(p) => (p.url.clone(), Some(p.hash.clone())),
            Outcome::Unchanged { page_url, hash, .. } => (page_url.clone(), Some(hash.clone())),
            _ => {
                out.push((item, outcome));
                continue;
            }
        };
        // Another item of this job (earlier batch or this one) has this
        // page, or the same content under another URL.
        let same_url = urls.get(&page_url).cloned().or_else(|| {
            claimed
                .iter()
                .find(|(p, u)| *p == page_url && *u != item.url)
                .map(|(_, u)| u.clone())
        });
        let same_content = || {
            let hash = hash.as_ref()?;
            hashes.get(hash).cloned().or_else(|| {
                stored
                    .iter()
                    .find(|(h, u)| h == hash && *u != page_url)
                    .map(|(_, u)| u.clone())
            })
        };
        if let Some(of) = same_url.or_else(same_content) {
            out.push((
                item,
                Outcome::Duplicate {
                    detail: format!("same page as {of}"),
                    links: Vec::new(),
                },
            ));
            continue;
        }
        if let Some(hash) = hash {
            hashes.insert(hash, page_url.clone());
        }
        urls.insert(page_url, item.url.clone());
        out.push((item, outcome));
    }
    Ok(out)
}

/// Writes the batch's outcomes and queues newly found links.
async fn record(
    ctx: &JobContext,
    settings: &CrawlSettings,
    outcomes: &[(ItemRow, Outcome)],
) -> Result<(), IngestError> {
    let mut urls = Vec::new();
    let mut states = Vec::new();
    let mut details: Vec<Option<String>> = Vec::new();
    let mut page_urls: Vec<Option<String>> = Vec::new();
    let mut links_by_depth: HashMap<i32, Vec<String>> = HashMap::new();
    let mut refreshes = Vec::new();
    for (item, outcome) in outcomes {
        let (state, detail, page_url, links) = match outcome {
            Outcome::Changed(p) => ("changed", None, Some(p.url.clone()), Some(&p.links)),
            Outcome::Unchanged {
                page_url,
                links,
                refresh,
                ..
            } => {
                if let Some(r) = refresh {
                    refreshes.push(r);
                }
                ("unchanged", None, Some(page_url.clone()), Some(links))
            }
            Outcome::Skipped { reason, links } => {
                ("skipped", Some(reason.clone()), None, Some(links))
            }
            Outcome::Failed { error, kept, links } => {
                ("failed", Some(error.clone()), kept.clone(), Some(links))
            }
            Outcome::Duplicate { detail, links } => {
                ("duplicate", Some(detail.clone()), None, Some(links))
            }
            Outcome::NotStarted => continue,
        };
        urls.push(item.url.clone());
        states.push(state);
        details.push(detail);
        page_urls.push(page_url);
        if let Some(links) = links {
            if (item.depth as u32) < settings.max_depth {
                links_by_depth
                    .entry(item.depth + 1)
                    .or_default()
                    .extend(links.iter().cloned());
            }
        }
    }
    let mut tx = ctx.db().begin().await?;
    sqlx::query(
        "update crawl_item c set state = t.state, detail = t.detail, page_url = t.page_url, updated_at = now()
         from unnest($2::text[], $3::text[], $4::text[], $5::text[]) as t(url, state, detail, page_url)
         where c.job_id = $1 and c.url = t.url",
    )
    .bind(ctx.job_id)
    .bind(&urls)
    .bind(&states)
    .bind(&details)
    .bind(&page_urls)
    .execute(&mut *tx)
    .await?;
    for (depth, mut links) in links_by_depth {
        links.sort();
        links.dedup();
        // Respect the page limit: only as many new URLs as there is room for.
        sqlx::query(
            "insert into crawl_item (job_id, url, depth)
             select $1, u, $3 from unnest($2::text[]) as u
             where not exists (select 1 from crawl_item c where c.job_id = $1 and c.url = u)
             limit greatest(0, $4 - (select count(*) from crawl_item where job_id = $1))
             on conflict do nothing",
        )
        .bind(ctx.job_id)
        .bind(&links)
        .bind(depth)
        .bind(i64::from(settings.max_pages))
        .execute(&mut *tx)
        .await?;
    }
    // Unchanged pages: keep validators, lastmod and links current.
    for page in refreshes {
        sqlx::query(
            "update page set etag = $3, last_modified = $4, sitemap_lastmod = $5, links = $6, fetched_at = now()
             where source_id = $1 and url = $2",
        )
        .bind(ctx.source_id)
        .bind(&page.url)
        .bind(&page.etag)
        .bind(&page.last_modified)
        .bind(&page.sitemap_lastmod)
        .bind(&page.links)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Updates the job's counters from its items and adds the batch's timings.
pub async fn progress(
    db: InWorkspace<'_>,
    job_id: Uuid,
    crawl: Duration,
    embed: Duration,
    chunks: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update ingest_job j set
            pages_found = c.found, pages_done = c.done, pages_changed = c.changed,
            pages_unchanged = c.unchanged, pages_skipped = c.skipped, pages_failed = c.failed,
            chunks = j.chunks + $4,
            crawl_seconds = j.crawl_seconds + $2, embed_seconds = j.embed_seconds + $3
         from (select count(*)::int as found,
                      count(*) filter (where state <> 'queued')::int as done,
                      count(*) filter (where state = 'changed')::int as changed,
                      count(*) filter (where state = 'unchanged')::int as unchanged,
                      count(*) filter (where state in ('skipped', 'duplicate'))::int as skipped,
                      count(*) filter (where state = 'failed')::int as failed
               from crawl_item where job_id = $1) c
         where j.job_id = $1",
    )
    .bind(job_id)
    .bind(crawl.as_secs_f64())
    .bind(embed.as_secs_f64())
    .bind(chunks)
    .execute(db)
    .await?;
    Ok(())
}

/// After a complete crawl: pages that disappeared from the site go, with
/// their chunks. A crawl that reached nothing at all removes nothing.
async fn finish(ctx: &JobContext, settings: &CrawlSettings) -> Result<(), IngestError> {
    let reached: i64 = sqlx::query_scalar(
        "select count(*) from crawl_item where job_id = $1 and state in ('changed', 'unchanged')",
    )
    .bind(ctx.job_id)
    .fetch_one(ctx.db())
    .await?;
    if reached == 0 {
        let first_error: Option<String> = sqlx::query_scalar(
            "select url || ': ' || detail from crawl_item where job_id = $1 and detail is not null
             order by depth, url limit 1",
        )
        .bind(ctx.job_id)
        .fetch_optional(ctx.db())
        .await?;
        // A site never reached (a new source, or one that never worked)
        // is not re-crawled on its schedule until a crawl succeeds: the
        // admin is told, rather than a failure repeating every day.
        let paused: bool = sqlx::query_scalar(
            "update source s set next_crawl_at = null, updated_at = now()
             where s.source_id = $1 and s.kind = 'website' and s.recrawl_hours is not null
               and not exists (select 1 from page p where p.source_id = s.source_id)
             returning true",
        )
        .bind(ctx.source_id)
        .fetch_optional(ctx.db())
        .await?
        .unwrap_or(false);
        return Err(IngestError::Rejected(format!(
            "nothing could be indexed{}{}",
            first_error.map(|e| format!(" ({e})")).unwrap_or_default(),
            if paused {
                "; its scheduled re-crawls are paused until a re-crawl succeeds"
            } else {
                ""
            }
        )));
    }
    // A crawl cut by the page limit did not see the whole site: what it did
    // not reach may still exist, so nothing is removed.
    let found: i64 = sqlx::query_scalar("select count(*) from crawl_item where job_id = $1")
        .bind(ctx.job_id)
        .fetch_one(ctx.db())
        .await?;
    if found < i64::from(settings.max_pages) {
        sqlx::query!(
            "delete from page p where p.source_id = $1 and not exists (
                select 1 from crawl_item c where c.job_id = $2 and c.page_url = p.url)",
            ctx.source_id,
            ctx.job_id,
        )
        .execute(ctx.db())
        .await?;
    } else {
        tracing::info!(
            max_pages = settings.max_pages,
            "page limit reached: no page removed"
        );
    }
    // A website is named after its start page once that page is known.
    sqlx::query!(
        "update source s set title = p.title from page p
         where s.source_id = $1 and s.kind = 'website' and p.source_id = s.source_id
           and p.url = s.start_url and s.title <> p.title",
        ctx.source_id,
    )
    .execute(ctx.db())
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_is_the_start_folder_plus_extra_prefixes() {
        let start = Url::parse("http://h:1/demo/index.html").unwrap();
        let scope = Scope::new(&start, &["http://h:1/blog/".into()]);
        assert_eq!(
            scope.resolve(&start, "refunds.html#x").unwrap().as_str(),
            "http://h:1/demo/refunds.html"
        );
        assert!(scope.resolve(&start, "/inbox").is_none());
        assert!(scope.resolve(&start, "/blog/post").is_some());
        assert!(scope
            .resolve(&start, "http://evil.example/demo/a.html")
            .is_none());
        assert!(scope.resolve(&start, "site.css").is_none());
        assert!(scope.resolve(&start, "guide.pdf").is_some());
        assert!(scope.resolve(&start, "javascript:alert(1)").is_none());
    }
}
