//! Where the crawler and the model endpoint may connect: an admin types
//! the addresses, so without a guard they reach this machine and its
//! network. With the default settings only public addresses are reached
//! (checked after DNS and on every redirect); the server's administrator
//! allows more with `TANDEM_OUTBOUND_ALLOW`; errors never say what is
//! behind an address.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::Uri;
use axum::response::{Html, IntoResponse, Redirect, Response};
use sqlx::PgPool;
use tandem::answer::generate::{GenerateError, Generator};
use tandem::answer::openai::OpenAi;
use tandem::ingest::crawl::CrawlSettings;
use tandem::ingest::jobs::{self, JobRow};
use tandem::outbound::Outbound;
use tokio::io::AsyncWriteExt;

use crate::generator::{answer, FakeModel};
use crate::helpers::desks::*;
use crate::helpers::{local_outbound, Options, TestApp};

const NOT_ALLOWED: &str = "address not allowed (private or local network)";

/// A fixture's pages and the paths requested so far.
type Recorded = (Arc<HashMap<String, String>>, Arc<Mutex<Vec<String>>>);

/// A site on 127.0.0.1 that records every request; `pages` maps a path to
/// a page, or to `-> URL` for a redirect, or to a robots.txt / sitemap body.
struct Fixture {
    hits: Arc<Mutex<Vec<String>>>,
}

impl Fixture {
    async fn bind() -> (tokio::net::TcpListener, SocketAddr) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        (listener, addr)
    }

    fn serve(listener: tokio::net::TcpListener, pages: HashMap<String, String>) -> Self {
        let hits = Arc::new(Mutex::new(Vec::new()));
        let state = (Arc::new(pages), hits.clone());
        let router = axum::Router::new().fallback(
            |State((pages, hits)): State<Recorded>, uri: Uri| async move {
                hits.lock().unwrap().push(uri.path().to_owned());
                let response: Response = match pages.get(uri.path()) {
                    Some(body) if body.starts_with("-> ") => {
                        Redirect::temporary(&body[3..]).into_response()
                    }
                    Some(body) if uri.path().ends_with(".txt") || uri.path().ends_with(".xml") => {
                        body.clone().into_response()
                    }
                    Some(body) => Html(body.clone()).into_response(),
                    None => axum::http::StatusCode::NOT_FOUND.into_response(),
                };
                response
            },
        );
        tokio::spawn(async move {
            axum::serve(listener, router.with_state(state))
                .await
                .unwrap()
        });
        Self { hits }
    }

    fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }
}

fn page(title: &str, body: &str) -> String {
    format!("<!doctype html><html><head><title>{title}</title></head><body><main><h1>{title}</h1>{body}</main></body></html>")
}

fn secret_site() -> HashMap<String, String> {
    HashMap::from([
        (
            "/secret.html".to_owned(),
            page("Secret", "<p>The database password is hunter2.</p>"),
        ),
        (
            "/robots.txt".to_owned(),
            "User-agent: *\nAllow: /\n".to_owned(),
        ),
    ])
}

async fn chunks(app: &TestApp) -> String {
    let all: Vec<String> = sqlx::query_scalar("select content from chunk where workspace_id = $1")
        .bind(app.workspace_id)
        .fetch_all(&app.state.engines.system.0)
        .await
        .unwrap();
    all.join("\n")
}

/// The detail of each item of a job: URL → detail.
async fn details(app: &TestApp, job: &JobRow) -> HashMap<String, String> {
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("select url, detail from crawl_item where job_id = $1")
            .bind(job.job_id)
            .fetch_all(&app.state.engines.system.0)
            .await
            .unwrap();
    rows.into_iter()
        .map(|(url, detail)| (url, detail.unwrap_or_default()))
        .collect()
}

fn no_network_detail(text: &str) {
    for leak in [
        "os error",
        "refused",
        "Connection",
        "dns error",
        "tcp connect",
    ] {
        assert!(!text.contains(leak), "“{leak}” in {text}");
    }
}

fn strict() -> Options {
    Options {
        outbound_allow: Vec::new(),
        ..Options::default()
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn with_the_default_settings_a_local_address_is_refused_before_any_request(pool: PgPool) {
    let app = TestApp::spawn_with(pool, strict()).await;
    let (listener, addr) = Fixture::bind().await;
    let site = Fixture::serve(listener, secret_site());

    // A literal loopback address, and a name that resolves to one.
    for url in [
        format!("http://127.0.0.1:{}/secret.html", addr.port()),
        format!("http://localhost:{}/secret.html", addr.port()),
        format!("http://[::ffff:127.0.0.1]:{}/secret.html", addr.port()),
    ] {
        let job = app.ingest(&url, CrawlSettings::default()).await;
        assert_eq!(
            job.status,
            app::knowledge::JobStatus::Failed,
            "{url}: {job:?}"
        );
        let message = job.message.clone().unwrap_or_default();
        assert!(
            message.contains("nothing could be indexed") && message.contains(NOT_ALLOWED),
            "{url}: {message}"
        );
        no_network_detail(&message);
    }
    assert_eq!(site.hits(), Vec::<String>::new(), "nothing was requested");
    assert!(!chunks(&app).await.contains("hunter2"));

    // A closed port and an open one look the same: nothing is tried.
    let closed = {
        let (listener, addr) = Fixture::bind().await;
        drop(listener);
        addr
    };
    let mut seen = Vec::new();
    for addr in [closed, addr] {
        let url = format!("http://127.0.0.1:{}/x.html", addr.port());
        let job = app.ingest(&url, CrawlSettings::default()).await;
        seen.push(details(&app, &job).await.remove(&url).unwrap());
    }
    assert_eq!(seen[0], seen[1]);
    assert!(seen[0].contains(NOT_ALLOWED), "{seen:?}");

    // This instance's own address is open for the demo site only.
    let demo = app
        .ingest(&app.url("/demo/index.html"), CrawlSettings::default())
        .await;
    assert_eq!(
        (demo.status.as_str(), demo.pages_failed),
        ("done", 0),
        "{demo:?}"
    );
    let inside = app
        .ingest(&app.url("/healthz"), CrawlSettings::default())
        .await;
    assert_eq!(
        inside.status,
        app::knowledge::JobStatus::Failed,
        "{inside:?}"
    );
    assert!(inside.message.unwrap().contains(NOT_ALLOWED));
}

#[sqlx::test(migrations = "../migrations")]
async fn an_allowed_site_is_crawled_but_its_redirects_and_sitemaps_stay_on_it(pool: PgPool) {
    let (a_listener, a) = Fixture::bind().await;
    let (b_listener, b) = Fixture::bind().await;
    let (c_listener, c) = Fixture::bind().await;
    // A and C are allowed (as an administrator allows intranet hosts); B,
    // on the same machine, is not.
    let app = TestApp::spawn_with(
        pool,
        Options {
            outbound_allow: vec![
                format!("127.0.0.1:{}", a.port()),
                format!("127.0.0.1:{}", c.port()),
            ],
            ..Options::default()
        },
    )
    .await;
    let site = Fixture::serve(
        a_listener,
        HashMap::from([
            (
                "/robots.txt".to_owned(),
                format!(
                    "User-agent: *\nAllow: /\nSitemap: http://127.0.0.1:{}/sitemap.xml\nSitemap: http://127.0.0.1:{}/sitemap.xml\n",
                    c.port(),
                    b.port()
                ),
            ),
            (
                "/docs/index.html".to_owned(),
                page(
                    "Lumen help",
                    r#"<p>Every Lumen lamp ships within three working days.</p>
                    <a href="go.html">Go</a> <a href="away.html">Away</a>"#,
                ),
            ),
            (
                "/docs/go.html".to_owned(),
                format!("-> http://127.0.0.1:{}/docs/secret.html", b.port()),
            ),
            (
                "/docs/away.html".to_owned(),
                format!("-> http://localhost:{}/docs/secret.html", b.port()),
            ),
        ]),
    );
    let sitemap = format!(
        r#"<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://127.0.0.1:{}/docs/secret.html</loc></url></urlset>"#,
        b.port()
    );
    let private = Fixture::serve(
        b_listener,
        HashMap::from([
            (
                "/docs/secret.html".to_owned(),
                page("Secret", "<p>The database password is hunter2.</p>"),
            ),
            ("/sitemap.xml".to_owned(), sitemap.clone()),
        ]),
    );
    let other = Fixture::serve(
        c_listener,
        HashMap::from([("/sitemap.xml".to_owned(), sitemap)]),
    );
    let start = format!("http://127.0.0.1:{}/docs/index.html", a.port());
    let settings = CrawlSettings {
        // B's folder counts as the site: only the address guard stops it.
        extra_prefixes: vec![
            format!("http://127.0.0.1:{}/docs/", b.port()),
            format!("http://localhost:{}/docs/", b.port()),
        ],
        timeout_secs: 2,
        ..CrawlSettings::default()
    };
    let job = app.ingest(&start, settings).await;
    assert_eq!(job.status, app::knowledge::JobStatus::Done, "{job:?}");
    let all = chunks(&app).await;
    assert!(all.contains("ships within three working days"), "{all}");
    assert!(!all.contains("hunter2"), "{all}");
    let details = details(&app, &job).await;
    for redirect in ["go.html", "away.html"] {
        let url = format!("http://127.0.0.1:{}/docs/{redirect}", a.port());
        let detail = &details[&url];
        assert!(detail.contains(NOT_ALLOWED), "{redirect}: {detail}");
        no_network_detail(detail);
    }
    assert_eq!(private.hits(), Vec::<String>::new(), "B was never reached");
    assert_eq!(
        other.hits(),
        Vec::<String>::new(),
        "a sitemap on another site is not fetched"
    );
    assert!(site.hits().contains(&"/robots.txt".to_owned()));
}

/// A port that speaks something else than HTTP (like an SSH or database
/// server would).
async fn not_http() -> SocketAddr {
    let (listener, addr) = Fixture::bind().await;
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let _ = socket.write_all(b"SSH-2.0-OpenSSH_9.2p1\r\n").await;
        }
    });
    addr
}

#[sqlx::test(migrations = "../migrations")]
async fn crawl_errors_do_not_tell_a_closed_port_from_an_open_one(pool: PgPool) {
    // Allowed, so the requests are made: what comes back must not map ports.
    let app = TestApp::spawn(pool.clone()).await;
    let closed = {
        let (listener, addr) = Fixture::bind().await;
        drop(listener);
        addr
    };
    let open = not_http().await;
    let mut seen = Vec::new();
    for addr in [closed, open] {
        let url = format!("http://127.0.0.1:{}/docs/", addr.port());
        let source = jobs::website_source(
            &pool,
            app.workspace_id,
            &url,
            &CrawlSettings {
                timeout_secs: 2,
                ..CrawlSettings::default()
            },
            Some(24),
        )
        .await
        .unwrap();
        let job = jobs::enqueue(tandem::db::Scope::ws(&pool, app.workspace_id), source)
            .await
            .unwrap();
        let job = app.run_job(job).await;
        assert_eq!(job.status, app::knowledge::JobStatus::Failed);
        let message = job.message.clone().unwrap();
        no_network_detail(&message);
        // A site never reached is not re-crawled every day in silence.
        assert!(message.contains("re-crawls are paused"), "{message}");
        let next: Option<chrono::DateTime<chrono::Utc>> =
            sqlx::query_scalar("select next_crawl_at from source where source_id = $1")
                .bind(source)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(next, None);
        seen.push(details(&app, &job).await.remove(&url).unwrap());
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0], "the site could not be reached");
}

#[tokio::test]
async fn a_model_endpoint_on_a_local_address_is_refused_unless_allowed() {
    let fake = FakeModel::spawn(answer(&["Refunds take 5 days [1]."])).await;
    let given = crate::generator::passages();
    let sources = tandem::answer::generate::sources(&given);
    let (out, _pieces) = tokio::sync::mpsc::unbounded_channel();
    let local = fake.base_url.replace("127.0.0.1", "localhost");
    for base in [&fake.base_url, &local] {
        let model = OpenAi::new(base, "m", "sk-test", &Outbound::public_only());
        let result = model
            .generate("How long do refunds take?", &sources, &out)
            .await;
        match result {
            Err(err @ GenerateError::NotAllowed) => {
                assert!(err.to_string().contains(NOT_ALLOWED), "{err}")
            }
            other => panic!("{base}: expected a refusal, got {other:?}"),
        }
    }
    assert!(fake.bodies().is_empty(), "nothing reached the model");
    // Allowed by the server's administrator: it answers.
    let model = OpenAi::new(&fake.base_url, "m", "sk-test", &local_outbound());
    let text = model
        .generate("How long do refunds take?", &sources, &out)
        .await
        .unwrap();
    assert!(text.contains("5 days"));
    // A closed port: the agent's words say nothing of the network.
    let closed = {
        let (listener, addr) = Fixture::bind().await;
        drop(listener);
        addr
    };
    let model = OpenAi::new(
        format!("http://127.0.0.1:{}/v1", closed.port()),
        "m",
        "",
        &local_outbound(),
    );
    let err = model
        .generate("How long do refunds take?", &sources, &out)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "the model endpoint could not be reached");
}

#[sqlx::test(migrations = "../migrations")]
async fn an_admin_cannot_save_a_model_endpoint_on_a_local_address(pool: PgPool) {
    let app = TestApp::spawn_with(pool, strict()).await;
    let desk = &app.state.desk;
    let admin = app.admin().await;
    let mut policy = desk.policy(&admin).await.unwrap();
    for base_url in [
        "http://127.0.0.1:11434/v1",
        "http://169.254.169.254/latest",
        "http://metadata.google.internal/v1",
        "http://[::1]:8080/v1",
    ] {
        policy.generator = app::types::policy::GeneratorSettings::OpenAi {
            base_url: base_url.into(),
            model: "m".into(),
            api_key: "sk-test".into(),
        };
        let err = desk
            .save_policy(&admin, policy.clone())
            .await
            .expect_err(base_url);
        assert!(err.to_string().contains(NOT_ALLOWED), "{base_url}: {err}");
    }
    policy.generator = app::types::policy::GeneratorSettings::OpenAi {
        base_url: "https://api.openai.com/v1".into(),
        model: "m".into(),
        api_key: "sk-test".into(),
    };
    desk.save_policy(&admin, policy).await.unwrap();
}
