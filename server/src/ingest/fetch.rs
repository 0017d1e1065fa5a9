//! HTTP for crawls: one client per job, robots.txt per origin (RFC 9309,
//! via `texting_robots`, `Crawl-delay` honoured), a politeness gate per host,
//! retries with readable errors, bounded reads, and sitemap parsing. Every
//! request is held to the instance's outbound policy ([`Outbound`]: public
//! addresses unless allowed), and every redirect to it and to the site:
//! errors say what happened in words that reveal nothing of the network
//! (the detail goes to the log).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use url::Url;

use super::crawl::{CrawlSettings, Scope};
use super::document::Format;
use crate::outbound::{self, Outbound, NOT_ALLOWED};

/// What the admin sees when a site does not answer at all (a name that
/// does not resolve, a closed port, a connection reset, something that is
/// not HTTP): the same words whatever the cause, so crawl errors cannot map
/// a network.
pub const UNREACHABLE: &str = "the site could not be reached";

const USER_AGENT: &str = concat!(
    "TandemBot/",
    env!("CARGO_PKG_VERSION"),
    " (+self-hosted support assistant)"
);
/// The name matched against robots.txt groups.
const ROBOTS_AGENT: &str = "TandemBot";
/// Largest page body read, in bytes.
pub const MAX_PAGE_BYTES: usize = 10 * 1024 * 1024;
/// Longest crawl delay honoured from robots.txt.
const MAX_DELAY: Duration = Duration::from_secs(10);

/// What robots.txt says for one origin.
enum Robots {
    AllowAll,
    /// robots.txt could not be fetched (5xx, timeout): RFC 9309 says assume
    /// complete disallow.
    Unreachable(String),
    Rules(Box<texting_robots::Robot>),
}

/// Why a URL is not fetched.
pub enum Denied {
    /// The outbound policy refuses its address.
    NotAllowed,
    Disallowed,
    /// robots.txt itself could not be read (for now): nothing may be fetched.
    Unreachable(String),
}

/// HTTP for one job: a client, robots.txt per origin, a politeness gate per host.
pub struct Fetcher {
    http: reqwest::Client,
    outbound: Outbound,
    per_host: usize,
    robots: tokio::sync::Mutex<HashMap<String, Arc<Robots>>>,
    hosts: Mutex<HashMap<String, (Arc<Semaphore>, Duration)>>,
    /// Stylesheets read in this job (none: it could not be read).
    stylesheets: tokio::sync::Mutex<HashMap<String, Option<Arc<str>>>>,
    scope: Scope,
}

/// A fetched resource.
pub enum Fetched {
    NotModified,
    Document {
        url: Url,
        format: Format,
        bytes: Vec<u8>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
    /// Something that is neither a page nor a document Tandem reads.
    Other {
        url: Url,
        content_type: String,
    },
    /// A redirect left the site; it was not followed.
    LeftSite {
        to: Url,
    },
}

/// Why a redirect was not followed.
#[derive(Debug, thiserror::Error)]
enum Stopped {
    #[error("redirects outside the site, to {0}")]
    LeftSite(Url),
    #[error("too many redirects")]
    TooMany,
}

/// Why a request got no response.
#[derive(Debug)]
enum SendError {
    NotAllowed,
    LeftSite(Url),
    TooManyRedirects,
    TimedOut,
    Unreachable,
}

impl SendError {
    fn message(&self) -> String {
        match self {
            Self::NotAllowed => NOT_ALLOWED.into(),
            Self::LeftSite(to) => format!("redirects outside the site, to {to}"),
            Self::TooManyRedirects => "too many redirects".into(),
            Self::TimedOut => "timed out".into(),
            Self::Unreachable => UNREACHABLE.into(),
        }
    }
}

impl Fetcher {
    /// The job's HTTP: connections held to `outbound`, redirects followed
    /// only to allowed addresses on the site (a page's redirects stay in
    /// `scope`; robots.txt's and sitemaps' on the site's origins).
    pub fn new(settings: &CrawlSettings, outbound: &Outbound, scope: &Scope) -> Self {
        let timeout = Duration::from_secs(settings.timeout_secs.max(1));
        let policy = {
            let (outbound, scope) = (outbound.clone(), scope.clone());
            reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() > 10 {
                    return attempt.error(Stopped::TooMany);
                }
                let to = attempt.url().clone();
                if let Err(refused) = outbound.check(&to) {
                    return attempt.error(refused);
                }
                let from = attempt.previous().first().unwrap_or(&to);
                let on_site = if scope.contains(from) {
                    scope.contains(&to)
                } else {
                    scope.same_site(&to)
                };
                if on_site {
                    attempt.follow()
                } else {
                    attempt.error(Stopped::LeftSite(to))
                }
            })
        };
        let http = outbound
            .client()
            .user_agent(USER_AGENT)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(policy)
            .build()
            .expect("static HTTP client settings");
        Self {
            http,
            outbound: outbound.clone(),
            per_host: settings.per_host.clamp(1, 16) as usize,
            robots: tokio::sync::Mutex::new(HashMap::new()),
            hosts: Mutex::new(HashMap::new()),
            stylesheets: tokio::sync::Mutex::new(HashMap::new()),
            scope: scope.clone(),
        }
    }

    /// Sends a request to `url` (checked first), reporting failures in
    /// words fit for the admin; the cause goes to the log.
    async fn send(
        &self,
        url: &Url,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, SendError> {
        if self.outbound.check(url).is_err() {
            tracing::debug!(%url, "outbound request refused: not a public address");
            return Err(SendError::NotAllowed);
        }
        request.send().await.map_err(|err| {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&err);
            while let Some(e) = cause {
                if let Some(stopped) = e.downcast_ref::<Stopped>() {
                    return match stopped {
                        Stopped::LeftSite(to) => SendError::LeftSite(to.clone()),
                        Stopped::TooMany => SendError::TooManyRedirects,
                    };
                }
                cause = e.source();
            }
            if outbound::refused(&err) {
                tracing::debug!(%url, error = %root_cause(&err), "outbound request refused");
                SendError::NotAllowed
            } else if err.is_timeout() {
                SendError::TimedOut
            } else {
                tracing::debug!(%url, error = %root_cause(&err), "the site could not be reached");
                SendError::Unreachable
            }
        })
    }

    async fn robots(&self, url: &Url) -> Arc<Robots> {
        let origin = url.origin().ascii_serialization();
        let mut cache = self.robots.lock().await;
        if let Some(r) = cache.get(&origin) {
            return r.clone();
        }
        let robots = Arc::new(self.fetch_robots(&origin).await);
        if let Robots::Rules(r) = robots.as_ref() {
            // Any number is accepted by the parser: clamp before converting.
            if let Some(delay) = r
                .delay
                .filter(|d| d.is_finite() && *d > 0.0)
                .and_then(|d| Duration::try_from_secs_f32(d.min(MAX_DELAY.as_secs_f32())).ok())
            {
                self.hosts
                    .lock()
                    .expect("host table")
                    .insert(origin.clone(), (Arc::new(Semaphore::new(1)), delay));
            }
        }
        cache.insert(origin, robots.clone());
        robots
    }

    async fn fetch_robots(&self, origin: &str) -> Robots {
        let Ok(url) = Url::parse(&format!("{origin}/robots.txt")) else {
            return Robots::Unreachable(UNREACHABLE.into());
        };
        let mut last = String::new();
        for attempt in 0..2 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            match self.send(&url, self.http.get(url.clone())).await {
                Ok(r) if r.status().is_success() => {
                    let body = match read_limited(r, 512 * 1024).await {
                        Ok(body) => body,
                        // An oversize robots.txt: use what the limit allowed.
                        Err(ReadError::TooLarge(body)) => body,
                        Err(ReadError::Failed(e)) => {
                            last = e;
                            continue;
                        }
                    };
                    return match texting_robots::Robot::new(ROBOTS_AGENT, &body) {
                        Ok(robot) => Robots::Rules(Box::new(robot)),
                        Err(_) => Robots::AllowAll,
                    };
                }
                // No robots.txt (or it is forbidden): everything is allowed.
                Ok(r) if r.status().is_client_error() => return Robots::AllowAll,
                Ok(r) => last = format!("HTTP {}", r.status()),
                // A robots.txt that redirects to another site is not this
                // site's: as if there were none (like a 404).
                Err(SendError::LeftSite(_)) => return Robots::AllowAll,
                // Not worth a second try.
                Err(e @ SendError::NotAllowed) => return Robots::Unreachable(e.message()),
                Err(e) => last = e.message(),
            }
        }
        Robots::Unreachable(last)
    }

    /// Whether the outbound policy and robots.txt let us fetch `url`.
    pub async fn allowed(&self, url: &Url) -> Result<(), Denied> {
        if self.outbound.check(url).is_err() {
            return Err(Denied::NotAllowed);
        }
        match self.robots(url).await.as_ref() {
            Robots::AllowAll => Ok(()),
            Robots::Unreachable(e) => Err(Denied::Unreachable(e.clone())),
            Robots::Rules(r) if r.allowed(url.as_str()) => Ok(()),
            Robots::Rules(_) => Err(Denied::Disallowed),
        }
    }

    /// Sitemaps that robots.txt lists for `url`'s origin.
    pub async fn robots_sitemaps(&self, url: &Url) -> Vec<String> {
        match self.robots(url).await.as_ref() {
            Robots::Rules(r) => r.sitemaps.clone(),
            _ => Vec::new(),
        }
    }

    fn gate(&self, url: &Url) -> (Arc<Semaphore>, Duration) {
        let origin = url.origin().ascii_serialization();
        self.hosts
            .lock()
            .expect("host table")
            .entry(origin)
            .or_insert_with(|| (Arc::new(Semaphore::new(self.per_host)), Duration::ZERO))
            .clone()
    }

    /// The stylesheets a page links (`hrefs`, resolved against `page`), as
    /// far as they can be read: on the site, allowed by robots.txt, up to
    /// 512 KiB each; each read once per job.
    pub async fn stylesheets(&self, page: &Url, hrefs: &[String]) -> Vec<Arc<str>> {
        let mut out = Vec::new();
        for href in hrefs.iter().take(super::extract::MAX_STYLESHEETS) {
            let Some(url) = page
                .join(href.trim())
                .ok()
                .filter(|u| self.scope.same_site(u))
            else {
                tracing::debug!(%href, "stylesheet on another site not read");
                continue;
            };
            let key = url.to_string();
            let mut cache = self.stylesheets.lock().await;
            if let Some(known) = cache.get(&key) {
                out.extend(known.clone());
                continue;
            }
            let sheet = self.fetch_stylesheet(&url).await;
            cache.insert(key, sheet.clone());
            out.extend(sheet);
        }
        out
    }

    async fn fetch_stylesheet(&self, url: &Url) -> Option<Arc<str>> {
        self.allowed(url).await.ok()?;
        let (gate, _) = self.gate(url);
        let _permit = gate.acquire().await.ok()?;
        let response = match self.send(url, self.http.get(url.clone())).await {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => {
                tracing::debug!(%url, status = %r.status(), "stylesheet not read");
                return None;
            }
            Err(e) => {
                tracing::debug!(%url, error = %e.message(), "stylesheet not read");
                return None;
            }
        };
        let bytes = match read_limited(response, 512 * 1024).await {
            Ok(bytes) | Err(ReadError::TooLarge(bytes)) => bytes,
            Err(ReadError::Failed(_)) => return None,
        };
        Some(Arc::from(String::from_utf8_lossy(&bytes).as_ref()))
    }

    /// A sitemap's bytes (XML is not a document type [`Self::fetch`]
    /// returns), read up to five times the page limit.
    pub async fn fetch_sitemap(&self, url: &Url) -> Result<Vec<u8>, String> {
        let (gate, _) = self.gate(url);
        let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
        let response = self
            .send(url, self.http.get(url.clone()))
            .await
            .map_err(|e| e.message())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status().as_u16()));
        }
        match read_limited(response, MAX_PAGE_BYTES * 5).await {
            Ok(bytes) => Ok(bytes),
            Err(ReadError::TooLarge(_)) => Err("sitemap too large".into()),
            Err(ReadError::Failed(e)) => Err(e),
        }
    }

    /// GET with retries (timeouts, 5xx, 429) and the page's validators;
    /// errors are short sentences for the admin.
    pub async fn fetch(
        &self,
        url: &Url,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<Fetched, String> {
        let (gate, delay) = self.gate(url);
        let mut last = String::new();
        for attempt in 0..3u32 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(400 * 2u64.pow(attempt - 1))).await;
            }
            let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
            let mut request = self.http.get(url.clone());
            if let Some(etag) = etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = last_modified {
                request = request.header(reqwest::header::IF_MODIFIED_SINCE, lm);
            }
            let result = self.send(url, request).await;
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let response = match result {
                Ok(r) => r,
                Err(SendError::LeftSite(to)) => return Ok(Fetched::LeftSite { to }),
                Err(e @ (SendError::TimedOut | SendError::Unreachable)) => {
                    last = e.message();
                    continue;
                }
                Err(e) => return Err(e.message()),
            };
            let status = response.status();
            if status == reqwest::StatusCode::NOT_MODIFIED {
                if etag.is_none() && last_modified.is_none() {
                    return Err("answered 304 Not Modified to a plain request".into());
                }
                return Ok(Fetched::NotModified);
            }
            if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                last = format!("HTTP {}", status.as_u16());
                continue;
            }
            if !status.is_success() {
                return Err(format!(
                    "HTTP {} {}",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or_default()
                ));
            }
            let final_url = response.url().clone();
            let header = |name| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                    .map(str::to_owned)
            };
            let content_type = header(reqwest::header::CONTENT_TYPE).unwrap_or_default();
            let etag = header(reqwest::header::ETAG);
            let last_modified = header(reqwest::header::LAST_MODIFIED);
            let format = if content_type.is_empty() {
                Format::detect(final_url.path(), None).or(Some(Format::Html))
            } else {
                Format::from_content_type(&content_type)
            };
            let Some(format) = format else {
                return Ok(Fetched::Other {
                    url: final_url,
                    content_type,
                });
            };
            return match read_limited(response, MAX_PAGE_BYTES).await {
                Ok(bytes) => Ok(Fetched::Document {
                    url: final_url,
                    format,
                    bytes,
                    etag,
                    last_modified,
                }),
                Err(ReadError::TooLarge(_)) => Err(format!(
                    "larger than the {} MB page limit",
                    MAX_PAGE_BYTES / 1024 / 1024
                )),
                Err(ReadError::Failed(e)) if e.contains("timed out") => {
                    last = e;
                    continue;
                }
                Err(ReadError::Failed(e)) => Err(e),
            };
        }
        Err(last)
    }
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

enum ReadError {
    TooLarge(Vec<u8>),
    Failed(String),
}

async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, ReadError> {
    if response
        .content_length()
        .is_some_and(|n| n as usize > limit)
    {
        return Err(ReadError::TooLarge(Vec::new()));
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    body.extend_from_slice(&chunk[..limit - body.len()]);
                    return Err(ReadError::TooLarge(body));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) if e.is_timeout() => return Err(ReadError::Failed("timed out".into())),
            Err(e) => {
                tracing::debug!(error = %root_cause(&e), "reading a response failed");
                return Err(ReadError::Failed(
                    "the connection broke off while reading".into(),
                ));
            }
        }
    }
}

/// Entries of a sitemap or sitemap index.
#[derive(Debug, PartialEq)]
pub enum Sitemap {
    Urls(Vec<(String, Option<String>)>),
    Index(Vec<String>),
}

pub fn parse_sitemap(xml: &str) -> Result<Sitemap, String> {
    let doc = roxmltree::Document::parse_with_options(
        xml,
        roxmltree::ParsingOptions {
            allow_dtd: false,
            ..Default::default()
        },
    )
    .map_err(|e| format!("not a valid sitemap: {e}"))?;
    let root = doc.root_element();
    let child_text = |node: roxmltree::Node, name: &str| {
        node.children()
            .find(|c| c.tag_name().name() == name)
            .and_then(|c| c.text())
            .map(|t| t.trim().to_owned())
    };
    match root.tag_name().name() {
        "urlset" => Ok(Sitemap::Urls(
            root.children()
                .filter(|c| c.tag_name().name() == "url")
                .filter_map(|u| Some((child_text(u, "loc")?, child_text(u, "lastmod"))))
                .collect(),
        )),
        "sitemapindex" => Ok(Sitemap::Index(
            root.children()
                .filter(|c| c.tag_name().name() == "sitemap")
                .filter_map(|s| child_text(s, "loc"))
                .collect(),
        )),
        other => Err(format!("not a sitemap (root element <{other}>)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sitemaps_and_indexes() {
        let urls = parse_sitemap(
            r#"<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
            <url><loc> http://h/a.html </loc><lastmod>2026-01-02</lastmod></url>
            <url><loc>http://h/b.html</loc></url></urlset>"#,
        )
        .unwrap();
        assert_eq!(
            urls,
            Sitemap::Urls(vec![
                ("http://h/a.html".into(), Some("2026-01-02".into())),
                ("http://h/b.html".into(), None)
            ])
        );
        let index = parse_sitemap(
            r#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
            <sitemap><loc>http://h/s1.xml</loc></sitemap></sitemapindex>"#,
        )
        .unwrap();
        assert_eq!(index, Sitemap::Index(vec!["http://h/s1.xml".into()]));
        assert!(parse_sitemap("<html></html>").is_err());
        assert!(parse_sitemap(
            r#"<!DOCTYPE x [<!ENTITY a "aaaa">]><urlset><url><loc>&a;</loc></url></urlset>"#
        )
        .is_err());
    }
}
