//! Ingestion against a static site served by the test on 127.0.0.1:
//! robots.txt, sitemaps, redirects, canonical links, duplicates, timeouts,
//! changes, disappearances, hostile HTML, documents, jobs that resume after
//! a crash and jobs that are cancelled; files and answer snippets.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tandem::db::{Scope, System};

use app::types::{EventBody, ServerMsg};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use sqlx::PgPool;
use tandem::ingest::crawl::CrawlSettings;
use tandem::ingest::jobs;
use tandem::retrieve::retrieve;
use uuid::Uuid;

use crate::helpers::desks::*;
use crate::helpers::{embedder, local_outbound, TestApp};

/// What the test site serves, changeable between crawls.
#[derive(Default)]
struct Site {
    /// Second crawl: `changing.html` has new text, `gone.html` is gone.
    second: AtomicBool,
    /// Requests per path, and 304s sent.
    hits: std::sync::Mutex<HashMap<String, usize>>,
    not_modified: AtomicUsize,
    /// Milliseconds each page takes (for the resume and cancel tests).
    delay_ms: AtomicUsize,
    /// `p0.html`, the hub of the `p*` pages, times out.
    hub_down: AtomicBool,
}

fn html(title: &str, body: &str) -> String {
    format!("<!doctype html><html><head><title>{title}</title></head><body><nav><a href=\"index.html\">Home</a></nav><main><h1>{title}</h1>{body}</main><footer>Site footer</footer></body></html>")
}

async fn serve_page(
    State(site): State<Arc<Site>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    *site.hits.lock().unwrap().entry(file.clone()).or_default() += 1;
    let delay = site.delay_ms.load(Ordering::Relaxed);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay as u64)).await;
    }
    let second = site.second.load(Ordering::Relaxed);
    let page = |title: &str, body: &str| Html(html(title, body)).into_response();
    match file.as_str() {
        "index.html" => {
            let gone = if second { "" } else { r#"<a href="gone.html">Gone</a>"# };
            page(
                "Help centre",
                &format!(
                    r#"<p>Welcome to the help centre of Lumen lamps.</p>
                    <a href="a.html">A</a> <a href="b.html">B</a> <a href="dup.html">Dup</a>
                    <a href="private/secret.html">Secret</a> <a href="redirect.html">Old</a>
                    <a href="slow.html">Slow</a> <a href="changing.html">Changing</a> {gone}
                    <a href="manual.pdf">Manual</a> <a href="logo.png">Logo</a> <a href="data.bin">Data</a>
                    <a href="hostile.html">Hostile</a> <a href="alias.html">Alias</a>
                    <a href="https://elsewhere.example/x.html">Elsewhere</a> <a href="/outside.html">Outside</a>"#
                ),
            )
        }
        "a.html" => {
            // Supports conditional requests.
            if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some("\"a-v1\"") {
                site.not_modified.fetch_add(1, Ordering::Relaxed);
                return StatusCode::NOT_MODIFIED.into_response();
            }
            let mut r = page(
                "Warranty",
                r#"<h2 id="length">Warranty length</h2><p>Every Lumen lamp carries a warranty of three years from delivery.</p>"#,
            );
            r.headers_mut().insert(header::ETAG, "\"a-v1\"".parse().unwrap());
            r
        }
        "b.html" | "dup.html" => page(
            "Shipping",
            r#"<h2 id="countries">Countries</h2><p>We ship Lumen lamps to Iceland, Norway and Japan.</p>"#,
        ),
        "private/secret.html" => page("Secret", "<p>Internal discount codes.</p>"),
        "redirect.html" => Redirect::permanent("/site/moved.html").into_response(),
        "moved.html" => page(
            "Returns",
            r#"<h2 id="window">Return window</h2><p>Return a lamp within sixty days for a full refund.</p>"#,
        ),
        "slow.html" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            page("Slow", "<p>too late</p>")
        }
        "changing.html" if second => page(
            "Opening hours",
            r#"<h2 id="hours">Hours</h2><p>Support is now open around the clock, every day.</p>"#,
        ),
        "changing.html" => page(
            "Opening hours",
            r#"<h2 id="hours">Hours</h2><p>Support is open from nine to five on weekdays.</p>"#,
        ),
        "gone.html" if second => StatusCode::NOT_FOUND.into_response(),
        "gone.html" => page("Discontinued", "<p>The Lumen Classic model is discontinued.</p>"),
        "manual.pdf" => (
            [(header::CONTENT_TYPE, "application/pdf")],
            tandem::ingest::document::test_pdf(&[
                "Lumen manual. Hold the dimmer for ten seconds to pair the lamp.",
            ]),
        )
            .into_response(),
        "data.bin" => ([(header::CONTENT_TYPE, "application/octet-stream")], "\x00\x01").into_response(),
        "hostile.html" => Html(format!(
            r#"<html><head><title>Cleaning</title><script>document.write("pwned")</script><style>p {{ color: red }}</style></head>
            <body><div class="cookie-consent">We use cookies. Accept all?</div>
            <main><h1>Cleaning<h2 id="cloth">Cloth</h2><p onclick="alert('x')">Wipe the shade with a dry cloth<p>Never use solvents
            <img src=x onerror=alert(1)><iframe src="javascript:alert(2)"></iframe>
            <table><tr><td>Shade<td>Dry cloth<tr><td>Base<td>Damp cloth</table>
            <div style="display:none">hidden instructions</div>
            <p>{}</p></main>"#,
            "Lorem ipsum dolor sit amet consectetur. ".repeat(2_000)
        ))
        .into_response(),
        "dimming.html" => Html(
            r#"<html><head><title>Dimming</title></head>
            <body><main><h1>Dimming</h1><p>Turn the dial clockwise to dim the lamp.</p></main></body></html>"#,
        )
        .into_response(),
        "weird304.html" => StatusCode::NOT_MODIFIED.into_response(),
        "alias.html" => Html(
            r#"<html><head><title>Dimming</title><link rel="canonical" href="/site/dimming.html"></head>
            <body><main><h1>Dimming</h1><p>Turn the dial clockwise to dim the lamp.</p></main></body></html>"#,
        )
        .into_response(),
        "sitemap.xml" => (
            [(header::CONTENT_TYPE, "application/xml")],
            r#"<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
               <sitemap><loc>SITE/site/pages.xml</loc></sitemap></sitemapindex>"#
                .replace("SITE", &format!("http://{}", headers[header::HOST].to_str().unwrap())),
        )
            .into_response(),
        "pages.xml" => {
            let lastmod_changing = if second { "2026-11-02" } else { "2026-11-01" };
            (
                [(header::CONTENT_TYPE, "application/xml")],
                format!(
                    r#"<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
                    <url><loc>SITE/site/a.html</loc><lastmod>2026-10-01</lastmod></url>
                    <url><loc>SITE/site/changing.html</loc><lastmod>{lastmod_changing}</lastmod></url>
                    <url><loc>SITE/site/moved.html</loc><lastmod>2026-10-01</lastmod></url>
                    <url><loc>https://elsewhere.example/site/x.html</loc></url></urlset>"#
                )
                .replace("SITE", &format!("http://{}", headers[header::HOST].to_str().unwrap())),
            )
                .into_response()
        }
        many if many.starts_with("p") && many.ends_with(".html") => {
            let n: usize = many[1..many.len() - 5].parse().unwrap_or(0);
            if n == 0 && site.hub_down.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            let next = if n < 29 { format!(r#"<a href="p{}.html">next</a>"#, n + 1) } else { String::new() };
            let links = if n == 0 {
                (1..30).map(|i| format!(r#"<a href="p{i}.html">{i}</a>"#)).collect::<String>()
            } else {
                next
            };
            Html(format!(
                "<html><head><title>Topic {n}</title></head><body><h1>Topic {n}</h1><h2 id=\"t{n}\">Topic {n} details</h2><p>Topic number {n} explains lamp feature {n} in depth.</p>{links}</body></html>"
            ))
            .into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn spawn_site() -> (SocketAddr, Arc<Site>) {
    let site = Arc::new(Site::default());
    let router = axum::Router::new()
        .route(
            "/robots.txt",
            get(|| async {
                "User-agent: *\nDisallow: /site/private/\n\nUser-agent: OtherBot\nDisallow: /\n"
            }),
        )
        .route("/site/{*file}", get(serve_page))
        .with_state(site.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (addr, site)
}

fn settings() -> CrawlSettings {
    CrawlSettings {
        timeout_secs: 1,
        ..CrawlSettings::default()
    }
}

async fn items(pool: &PgPool, job_id: Uuid) -> HashMap<String, (String, Option<String>)> {
    let rows: Vec<(String, String, Option<String>)> =
        sqlx::query_as("select url, state, detail from crawl_item where job_id = $1")
            .bind(job_id)
            .fetch_all(pool)
            .await
            .unwrap();
    rows.into_iter()
        .map(|(url, state, detail)| {
            let path = url.rsplit("/site/").next().unwrap_or(&url).to_owned();
            (path, (state, detail))
        })
        .collect()
}

/// Page path (after /site/) → its chunk ids.
async fn chunk_ids(pool: &PgPool, workspace_id: Uuid) -> HashMap<String, HashSet<Uuid>> {
    let rows: Vec<(String, Uuid)> = sqlx::query_as(
        "select p.url, c.chunk_id from page p join chunk c using (page_id) where p.workspace_id = $1",
    )
    .bind(workspace_id)
    .fetch_all(pool)
    .await
    .unwrap();
    let mut out: HashMap<String, HashSet<Uuid>> = HashMap::new();
    for (url, id) in rows {
        let path = url.rsplit("/site/").next().unwrap_or(&url).to_owned();
        out.entry(path).or_default().insert(id);
    }
    out
}

#[sqlx::test(migrations = "../migrations")]
async fn a_site_is_crawled_politely_and_recrawled_cheaply(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let (addr, site) = spawn_site().await;
    let start = format!("http://{addr}/site/index.html");

    let first = app.ingest(&start, settings()).await;
    assert_eq!(first.status, app::knowledge::JobStatus::Done, "{first:?}");
    let outcome = items(&pool, first.job_id).await;
    let state = |path: &str| {
        outcome
            .get(path)
            .cloned()
            .unwrap_or_else(|| panic!("{path} not crawled: {outcome:?}"))
    };
    for page in [
        "index.html",
        "a.html",
        "b.html",
        "redirect.html",
        "changing.html",
        "gone.html",
        "manual.pdf",
        "hostile.html",
        "dimming.html",
    ] {
        assert_eq!(state(page).0, "changed", "{page}: {:?}", state(page));
    }
    assert_eq!(
        state("private/secret.html"),
        ("skipped".into(), Some("disallowed by robots.txt".into()))
    );
    assert_eq!(
        state("slow.html"),
        ("failed".into(), Some("timed out".into()))
    );
    assert_eq!(state("dup.html").0, "duplicate");
    assert!(state("dup.html").1.unwrap().ends_with("/site/b.html"));
    assert!(state("data.bin")
        .1
        .unwrap()
        .contains("application/octet-stream"));
    // A canonical link elsewhere: that page is crawled itself, this copy is not stored.
    assert_eq!(state("alias.html").0, "duplicate");
    assert!(state("alias.html").1.unwrap().contains("canonical page is"));
    assert!(!outcome.contains_key("logo.png"), "images are not fetched");
    assert!(
        !outcome
            .keys()
            .any(|k| k.contains("elsewhere") || k.contains("outside")),
        "{outcome:?}"
    );
    assert_eq!(
        *site
            .hits
            .lock()
            .unwrap()
            .get("private/secret.html")
            .unwrap_or(&0),
        0
    );
    assert_eq!(first.pages_failed, 1);

    // Redirects and canonical links decide where a page is stored.
    let chunks = chunk_ids(&pool, app.workspace_id).await;
    let mut pages: Vec<&str> = chunks.keys().map(String::as_str).collect();
    pages.sort();
    assert_eq!(
        pages,
        [
            "a.html",
            "b.html",
            "changing.html",
            "dimming.html",
            "gone.html",
            "hostile.html",
            "index.html",
            "manual.pdf",
            "moved.html"
        ]
    );
    let (pdf_anchor, pdf_text): (Option<String>, String) = sqlx::query_as(
        "select c.anchor, c.content from chunk c join page p using (page_id) where p.url like '%manual.pdf'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(pdf_anchor.as_deref(), Some("page=1"));
    assert!(pdf_text.contains("Hold the dimmer for ten seconds"));

    // Hostile HTML: clean text only, structure kept, a huge page cut into chunks.
    let hostile: Vec<String> = sqlx::query_scalar(
        "select c.content from chunk c join page p using (page_id) where p.url like '%hostile.html' order by ordinal",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let all = hostile.join("\n");
    assert!(all.contains("Wipe the shade with a dry cloth"));
    assert!(all.contains("| Shade | Dry cloth"));
    for bad in [
        "pwned",
        "alert",
        "cookies",
        "hidden instructions",
        "<",
        "color: red",
    ] {
        assert!(!all.contains(bad), "{bad} leaked into the text");
    }
    assert!(hostile.len() > 30, "a long page is many chunks");
    assert!(hostile.iter().all(|c| c.split_whitespace().count() <= 180));

    // Second crawl: one page changed, one is gone, the rest is not redone.
    site.second.store(true, Ordering::Relaxed);
    let second = app.ingest(&start, settings()).await;
    assert_eq!(second.status, app::knowledge::JobStatus::Done, "{second:?}");
    assert_eq!(
        second.pages_changed, 2,
        "changing.html and the index (it lost a link)"
    );
    let after = chunk_ids(&pool, app.workspace_id).await;
    assert!(
        !after.contains_key("gone.html"),
        "a page that disappeared is removed"
    );
    assert_ne!(
        after["changing.html"], chunks["changing.html"],
        "a changed page is re-embedded"
    );
    for page in [
        "a.html",
        "b.html",
        "moved.html",
        "manual.pdf",
        "hostile.html",
        "dimming.html",
    ] {
        assert_eq!(after[page], chunks[page], "{page} was not redone");
    }
    assert!(
        site.not_modified.load(Ordering::Relaxed) >= 1,
        "the ETag was used"
    );
    let orphans: i64 = sqlx::query_scalar("select count(*) from chunk c where not exists (select 1 from page p where p.page_id = c.page_id)")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(orphans, 0);
    let text: String = sqlx::query_scalar(
        "select string_agg(content, ' ') from chunk c join page p using (page_id) where p.url like '%changing.html'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(text.contains("around the clock") && !text.contains("nine to five"));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_sitemap_index_drives_the_crawl_and_lastmod_skips_fetches(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let (addr, site) = spawn_site().await;
    let sitemap = format!("http://{addr}/site/sitemap.xml");
    let first = app.ingest(&sitemap, settings()).await;
    assert_eq!(first.status, app::knowledge::JobStatus::Done, "{first:?}");
    let outcome = items(&pool, first.job_id).await;
    // Sitemap entries, then the links they lead to; nothing off-site.
    for page in ["a.html", "changing.html", "moved.html"] {
        assert_eq!(outcome[page].0, "changed", "{page}");
    }
    assert!(!outcome.keys().any(|k| k.contains("elsewhere")));
    let hits = |site: &Site, page: &str| *site.hits.lock().unwrap().get(page).unwrap_or(&0);
    let before = (hits(&site, "a.html"), hits(&site, "changing.html"));

    site.second.store(true, Ordering::Relaxed);
    let second = app.ingest(&sitemap, settings()).await;
    assert_eq!(second.status, app::knowledge::JobStatus::Done, "{second:?}");
    // Same lastmod: not even fetched. New lastmod: fetched and re-embedded.
    assert_eq!(hits(&site, "a.html"), before.0);
    assert_eq!(hits(&site, "changing.html"), before.1 + 1);
    let outcome = items(&pool, second.job_id).await;
    assert_eq!(outcome["a.html"].0, "unchanged");
    assert_eq!(outcome["changing.html"].0, "changed");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_job_cut_by_a_crash_resumes_without_duplicates(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let (addr, site) = spawn_site().await;
    site.delay_ms.store(150, Ordering::Relaxed);
    let settings = CrawlSettings {
        per_host: 2,
        ..settings()
    };
    let source = jobs::website_source(
        &pool,
        app.workspace_id,
        &format!("http://{addr}/site/p0.html"),
        &settings,
        None,
    )
    .await
    .unwrap();
    let job_id = jobs::enqueue(pool.ws(app.workspace_id), source)
        .await
        .unwrap();

    // Worker A claims it and dies part-way through.
    let worker_a = Uuid::new_v4();
    let claimed = jobs::claim(&System(pool.clone()), worker_a, None)
        .await
        .unwrap()
        .unwrap();
    let running = {
        let pool = pool.clone();
        tokio::spawn(async move {
            jobs::run(&pool, &embedder(), &local_outbound(), worker_a, claimed).await
        })
    };
    loop {
        let done: i32 = sqlx::query_scalar("select pages_done from ingest_job where job_id = $1")
            .bind(job_id)
            .fetch_one(&pool)
            .await
            .unwrap();
        if done > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.abort();
    let _ = running.await;
    let row = jobs::job(pool.ws(app.workspace_id), job_id).await.unwrap();
    assert_eq!(row.status, app::knowledge::JobStatus::Running);
    assert!(row.pages_done < 30, "cut part-way: {row:?}");
    // Another worker cannot take it while the lease holds...
    assert!(jobs::claim(&System(pool.clone()), Uuid::new_v4(), None)
        .await
        .unwrap()
        .is_none());
    // ...and takes it over once the lease has expired, as after a restart.
    sqlx::query(
        "update ingest_job set lease_until = now() - interval '1 second' where job_id = $1",
    )
    .bind(job_id)
    .execute(&pool)
    .await
    .unwrap();
    let worker_b = Uuid::new_v4();
    let claimed = jobs::claim(&System(pool.clone()), worker_b, None)
        .await
        .unwrap()
        .expect("resumable");
    assert_eq!(claimed.job_id, job_id);
    let end = jobs::run(&pool, &embedder(), &local_outbound(), worker_b, claimed).await;
    assert_eq!(end.status, app::knowledge::JobStatus::Done, "{end:?}");
    assert_eq!(
        (end.pages_found, end.pages_done, end.pages_changed),
        (30, 30, 30)
    );
    let (pages, chunks, distinct): (i64, i64, i64) = sqlx::query_as(
        "select count(distinct p.page_id), count(c.chunk_id), count(distinct (p.url, c.ordinal))
         from page p join chunk c using (page_id) where p.workspace_id = $1",
    )
    .bind(app.workspace_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(pages, 30);
    assert_eq!(chunks, distinct, "no chunk stored twice");
    // Nothing was fetched more than twice (once by each worker at most).
    assert!(site.hits.lock().unwrap().values().all(|&n| n <= 2));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_running_job_can_be_cancelled_and_keeps_what_it_stored(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let (addr, site) = spawn_site().await;
    site.delay_ms.store(300, Ordering::Relaxed);
    let source = jobs::website_source(
        &pool,
        app.workspace_id,
        &format!("http://{addr}/site/p0.html"),
        &CrawlSettings {
            per_host: 1,
            ..settings()
        },
        None,
    )
    .await
    .unwrap();
    let job_id = jobs::enqueue(pool.ws(app.workspace_id), source)
        .await
        .unwrap();
    let running = {
        let app_pool = pool.clone();
        tokio::spawn(async move {
            let worker = Uuid::new_v4();
            let claimed = jobs::claim(&System(app_pool.clone()), worker, Some(job_id))
                .await
                .unwrap()
                .unwrap();
            jobs::run(&app_pool, &embedder(), &local_outbound(), worker, claimed).await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(jobs::cancel(pool.ws(app.workspace_id), source)
        .await
        .unwrap());
    let end = tokio::time::timeout(Duration::from_secs(60), running)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(end.status, app::knowledge::JobStatus::Cancelled);
    assert!(end.pages_done < 30, "{end:?}");
    let pages: i64 = sqlx::query_scalar("select count(*) from page where source_id = $1")
        .bind(source)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(pages as i32, end.pages_changed, "what was stored stays");
    // A new job can be queued afterwards.
    assert_ne!(
        jobs::enqueue(pool.ws(app.workspace_id), source)
            .await
            .unwrap(),
        job_id
    );
}

/// Signs in as the demo admin; returns the session cookie header.
async fn admin_cookie(app: &TestApp) -> String {
    let token = app
        .state
        .desk
        .login(
            tandem::demo::ADMIN_EMAIL,
            crate::helpers::ADMIN_PASSWORD,
            None,
        )
        .await
        .unwrap();
    format!("{}={token}", app::desk::SESSION_COOKIE)
}

async fn upload(
    app: &TestApp,
    cookie: Option<&str>,
    name: &str,
    bytes: Vec<u8>,
) -> (StatusCode, serde_json::Value) {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
    );
    let mut request = reqwest::Client::new()
        .post(app.url("/admin/files"))
        .header("accept", "application/json")
        .multipart(form);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    (status, response.json().await.unwrap())
}

#[sqlx::test(migrations = "../migrations")]
async fn uploaded_files_become_cited_sources(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let cookie = admin_cookie(&app).await;
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("Care guide.md", b"# Care guide\n\n## Bulbs\n\nReplace the LED module every ten years.\n".to_vec()),
        ("notes.txt", b"Firmware updates install at night.\n\nThey take five minutes.".to_vec()),
        ("faq.html", b"<h1>FAQ</h1><h2 id=\"colour\">Colour</h2><p>The lamp shows sixteen million colours.</p><script>alert(1)</script>".to_vec()),
        ("warranty.pdf", tandem::ingest::document::test_pdf(&["Warranty claims need the order number.", "Water damage is not covered."])),
    ];
    for (name, bytes) in files {
        let (status, body) = upload(&app, Some(&cookie), name, bytes).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let job_id: Uuid = body["files"][0]["job_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        if !name.ends_with(".pdf") {
            // Its page is served from the text kept at indexing, not before.
            let url: String = sqlx::query_scalar(
                "select s.start_url from source s join ingest_job j using (source_id) where j.job_id = $1",
            )
            .bind(job_id)
            .fetch_one(&pool)
            .await
            .unwrap();
            assert_eq!(reqwest::get(&url).await.unwrap().status(), 503);
        }
        let end = app.run_job(job_id).await;
        assert_eq!(
            (end.status.as_str(), end.pages_changed),
            ("done", 1),
            "{name}: {end:?}"
        );
    }
    for (question, file, anchor) in [
        (
            "how often should the LED module be replaced?",
            "Care%20guide.md",
            Some("bulbs"),
        ),
        ("when do firmware updates install?", "notes.txt", None),
        (
            "how many colours can the lamp show?",
            "faq.html",
            Some("colour"),
        ),
        (
            "is water damage covered by the warranty?",
            "warranty.pdf",
            Some("page=2"),
        ),
    ] {
        let vector = embedder().embed_one(question).await.unwrap();
        let top = retrieve(
            &pool,
            app.workspace_id,
            tandem::retrieve::Query::new(question, &vector, tandem::embed::DEFAULT_MODEL),
            3,
        )
        .await
        .unwrap();
        let hit = &top[0];
        assert!(
            hit.url.contains("/kb/demo/files/") && hit.url.contains(file),
            "{question}: {:?}",
            top.iter().map(|p| &p.url).collect::<Vec<_>>()
        );
        match anchor {
            Some(a) => assert!(hit.url.ends_with(&format!("#{a}")), "{}", hit.url),
            None => assert!(!hit.url.contains('#')),
        }
        // The cited URL serves the document, as data.
        let response = reqwest::get(hit.url.split('#').next().unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", hit.url);
        // Its own policy, and the frame policy added to it (not in its place).
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.ends_with("; frame-ancestors 'self'"), "{csp}");
        if file.ends_with(".pdf") {
            assert!(csp.starts_with("sandbox"), "{csp}");
        } else {
            assert!(csp.starts_with("default-src 'none'"), "{csp}");
        }
        if file.ends_with(".pdf") {
            assert_eq!(response.headers()["content-type"], "application/pdf");
        } else {
            let body = response.text().await.unwrap();
            assert!(!body.contains("<script"), "{body}");
            if let Some(a) = anchor {
                assert!(body.contains(&format!("id=\"{a}\"")), "{body}");
            }
        }
    }
    // Uploading the same name again replaces the file and keeps its URL.
    let (_, body) = upload(
        &app,
        Some(&cookie),
        "notes.txt",
        b"Firmware updates install at noon.".to_vec(),
    )
    .await;
    let job_id: Uuid = body["files"][0]["job_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    app.run_job(job_id).await;
    let sources: i64 = sqlx::query_scalar("select count(*) from source where kind = 'file'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(sources, 4);

    // Clear refusals, and nothing stored for them.
    let (status, body) = upload(&app, Some(&cookie), "setup.exe", b"MZ".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        body["error"].as_str().unwrap().contains("Markdown"),
        "{body}"
    );
    let (status, body) = upload(
        &app,
        Some(&cookie),
        "big.txt",
        vec![b'a'; 20 * 1024 * 1024 + 100_000],
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body["error"].as_str().unwrap().contains("20 MB"), "{body}");
    let (status, _) = upload(&app, None, "notes.txt", b"x".to_vec()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = upload(
        &app,
        Some(&cookie),
        "broken.pdf",
        b"%PDF-1.4 nonsense".to_vec(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "accepted, then reported per page: {body}"
    );
    let job_id: Uuid = body["files"][0]["job_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let end = app.run_job(job_id).await;
    assert_eq!(end.status, app::knowledge::JobStatus::Failed);
    assert!(end.message.unwrap().contains("cannot read the PDF"));
    let sources: i64 = sqlx::query_scalar("select count(*) from source where kind = 'file'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(sources, 5, "refused uploads leave nothing behind");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_snippet_is_answerable_at_once_and_cited(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let engines = &app.state.engines;
    let id = tandem::ingest::snippets::save(
        engines,
        app.workspace_id,
        None,
        "Do you offer a student discount?",
        "Yes. Students get 20% off any Nimbus lamp with a valid student card.",
        None,
    )
    .await
    .unwrap();
    let mut visitor = app.visitor(None, 0).await;
    visitor.ask("is there a student discount?").await;
    let (answer, _) = visitor
        .until(|m| match m {
            ServerMsg::Event { event } => match &event.body {
                EventBody::AiAnswer {
                    text, citations, ..
                } => Some((text.clone(), citations.clone())),
                EventBody::StatusChange { .. } => panic!("handed off instead of answering"),
                _ => None,
            },
            _ => None,
        })
        .await;
    let (text, citations) = answer;
    assert!(text.contains("20% off"), "{text}");
    let url = app.url(&format!("/kb/demo/snippets/{id}"));
    assert!(citations.iter().any(|c| c.url == url), "{citations:?}");
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(page.contains("Students get 20% off"));

    // Edited: the new answer replaces the old at once; deleted: gone.
    tandem::ingest::snippets::save(
        engines,
        app.workspace_id,
        Some(id),
        "Do you offer a student discount?",
        "Students get 25% off with a valid student card.",
        None,
    )
    .await
    .unwrap();
    let content: String = sqlx::query_scalar(
        "select c.content from chunk c join page p using (page_id) where p.url = $1",
    )
    .bind(&url)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(content.contains("25%") && !content.contains("20%"));
    assert!(
        tandem::ingest::snippets::delete(&pool, app.workspace_id, id)
            .await
            .unwrap()
    );
    let left: i64 = sqlx::query_scalar("select count(*) from page where url = $1")
        .bind(&url)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert!(tandem::ingest::snippets::validate("", "x").is_err());
}

#[sqlx::test(migrations = "../migrations")]
async fn a_due_schedule_queues_one_recrawl(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let source = jobs::website_source(
        &pool,
        app.workspace_id,
        "http://127.0.0.1:9/docs/",
        &settings(),
        Some(24),
    )
    .await
    .unwrap();
    assert_eq!(
        jobs::schedule_due(&pool, &System(pool.clone()))
            .await
            .unwrap(),
        0,
        "not due yet"
    );
    sqlx::query(
        "update source set next_crawl_at = now() - interval '1 minute' where source_id = $1",
    )
    .bind(source)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        jobs::schedule_due(&pool, &System(pool.clone()))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        jobs::schedule_due(&pool, &System(pool.clone()))
            .await
            .unwrap(),
        0,
        "the next one is a day away"
    );
    let queued: i64 = sqlx::query_scalar(
        "select count(*) from ingest_job where source_id = $1 and status = 'queued'",
    )
    .bind(source)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(queued, 1);
}

/// `tandem ingest` as a user runs it, against this test's database (on the
/// blocking pool: the site it crawls is served by this test's runtime).
async fn cli(pool: &PgPool, args: &[&str]) -> std::process::Output {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let mut url = url::Url::parse(&base).unwrap();
    url.set_path(&format!(
        "/{}",
        pool.connect_options().get_database().unwrap()
    ));
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tandem"));
    command
        .arg("ingest")
        .args(args)
        .env("DATABASE_URL", url.as_str())
        .env("TANDEM_MODEL_DIR", root.join("models/e5-small-int8"))
        // The test site is on 127.0.0.1, allowed as an intranet would be.
        .env("TANDEM_OUTBOUND_ALLOW", "127.0.0.1")
        .env("RUST_LOG", "warn");
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn the_cli_ingests_reports_and_fails_when_nothing_is_indexed(pool: PgPool) {
    let (addr, _site) = spawn_site().await;
    let start = format!("http://{addr}/site/p0.html");
    let first = cli(&pool, &["--workspace", "cli-test", &start]).await;
    let out = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        out.contains(
            "done: 30 pages (30 new or changed, 0 unchanged), 30 chunks, 0 skipped, 0 errors"
        ),
        "{out}"
    );
    // Again: nothing changed, nothing redone.
    let again = cli(&pool, &["--workspace", "cli-test", &start]).await;
    let out = String::from_utf8_lossy(&again.stdout);
    assert!(
        out.contains("30 pages (0 new or changed, 30 unchanged), 0 chunks"),
        "{out}"
    );
    // A site that cannot be reached: a clear error and a failing exit code.
    let dead = cli(
        &pool,
        &["--workspace", "cli-test", "http://127.0.0.1:9/nothing/"],
    )
    .await;
    assert!(!dead.status.success());
    let err = String::from_utf8_lossy(&dead.stderr);
    assert!(err.contains("nothing could be indexed"), "{err}");
    let workspaces: i64 =
        sqlx::query_scalar("select count(*) from workspace where slug = 'cli-test'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(workspaces, 1, "created once");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_eval_site_is_indexed_whole(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/eval/squad2-site");
    let articles = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "html")
        })
        .count() as i32;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router =
        axum::Router::new().nest_service("/squad", tower_http::services::ServeDir::new(dir));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let job = app
        .ingest(&format!("http://{addr}/squad/index.html"), settings())
        .await;
    assert_eq!(
        (job.status.as_str(), job.pages_failed),
        ("done", 0),
        "{job:?}"
    );
    assert_eq!(job.pages_changed, articles, "every page of the site, once");
    let (chunks, empty, over): (i64, i64, i64) = sqlx::query_as(
        "select count(*), count(*) filter (where length(trim(content)) = 0),
                count(*) filter (where array_length(regexp_split_to_array(content, '\\s+'), 1) > 180)
         from chunk where workspace_id = $1",
    )
    .bind(app.workspace_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(chunks > articles as i64 * 5, "{chunks} chunks");
    assert_eq!((empty, over), (0, 0));
    // A question from the tune set finds its gold page.
    let question = "When were the Normans in Normandy?";
    let vector = embedder().embed_one(question).await.unwrap();
    let top = retrieve(
        &pool,
        app.workspace_id,
        tandem::retrieve::Query::new(question, &vector, tandem::embed::DEFAULT_MODEL),
        3,
    )
    .await
    .unwrap();
    assert!(
        top.iter().any(|p| p.url.contains("normans.html")),
        "{:?}",
        top.iter().map(|p| &p.url).collect::<Vec<_>>()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_hub_that_fails_for_a_while_keeps_everything_below_it(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let (addr, site) = spawn_site().await;
    let start = format!("http://{addr}/site/p0.html");
    let first = app.ingest(&start, settings()).await;
    assert_eq!((first.status.as_str(), first.pages_changed), ("done", 30));

    site.hub_down.store(true, Ordering::Relaxed);
    let second = app.ingest(&start, settings()).await;
    assert_eq!(second.status, app::knowledge::JobStatus::Done, "{second:?}");
    assert_eq!(
        (second.pages_failed, second.pages_unchanged),
        (1, 29),
        "{second:?}"
    );
    let pages: i64 = sqlx::query_scalar("select count(*) from page where workspace_id = $1")
        .bind(app.workspace_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(pages, 30, "the hub and what only it links to stay");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_304_to_a_plain_request_is_a_page_error_not_a_crash(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let (addr, _site) = spawn_site().await;
    let job = app
        .ingest(&format!("http://{addr}/site/weird304.html"), settings())
        .await;
    assert_eq!(job.status, app::knowledge::JobStatus::Failed);
    let message = job.message.unwrap();
    assert!(
        message.contains("nothing could be indexed") && message.contains("304"),
        "{message}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_job_queued_while_one_runs_waits_and_a_dead_cancelled_job_ends(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let source = jobs::website_source(
        &pool,
        app.workspace_id,
        "http://127.0.0.1:9/docs/",
        &settings(),
        None,
    )
    .await
    .unwrap();
    let first = jobs::enqueue(pool.ws(app.workspace_id), source)
        .await
        .unwrap();
    assert_eq!(
        jobs::enqueue(pool.ws(app.workspace_id), source)
            .await
            .unwrap(),
        first,
        "one queued job per source"
    );
    let worker = Uuid::new_v4();
    assert_eq!(
        jobs::claim(&System(pool.clone()), worker, None)
            .await
            .unwrap()
            .unwrap()
            .job_id,
        first
    );
    // A re-upload or new settings while it runs: a second job waits its turn.
    let second = jobs::enqueue(pool.ws(app.workspace_id), source)
        .await
        .unwrap();
    assert_ne!(second, first);
    assert!(jobs::claim(&System(pool.clone()), Uuid::new_v4(), None)
        .await
        .unwrap()
        .is_none());
    // The running job is cancelled, then its worker dies: the job ends when
    // its lease runs out, and the queued one can start.
    sqlx::query(
        "update ingest_job set cancel_requested = true, lease_until = now() - interval '1 second'
         where job_id = $1",
    )
    .bind(first)
    .execute(&pool)
    .await
    .unwrap();
    let next = jobs::claim(&System(pool.clone()), Uuid::new_v4(), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.job_id, second);
    assert_eq!(
        jobs::job(pool.ws(app.workspace_id), first)
            .await
            .unwrap()
            .status,
        app::knowledge::JobStatus::Cancelled
    );
}
