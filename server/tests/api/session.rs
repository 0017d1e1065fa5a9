//! The session and the HTTP edges as an attacker meets them: a second
//! session cookie planted from another port, a forged sign-in, a link from
//! another site, cached inboxes, refusals as statuses that say nothing of
//! the code, and passwords guessed through a session left open.

use app::error::DeskError;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::desks::*;
use crate::helpers::{form, server_functions, Options, TestApp, ADMIN_PASSWORD};

fn call(app: &TestApp, path: &str) -> reqwest::RequestBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
}

/// A sign-in, forwarded by a proxy when `forwarded` is given.
async fn sign_in(
    app: &TestApp,
    email: &str,
    password: &str,
    forwarded: Option<&str>,
) -> reqwest::Response {
    let mut request = call(app, &path_of("login"));
    if let Some(forwarded) = forwarded {
        request = request.header("x-forwarded-for", forwarded);
    }
    request
        .body(form(&[
            ("email", email.into()),
            ("password", password.into()),
        ]))
        .send()
        .await
        .unwrap()
}

fn path_of(name: &str) -> String {
    server_functions()
        .into_iter()
        .find(|(n, _)| n == name)
        .expect(name)
        .1
}

#[sqlx::test(migrations = "../migrations")]
async fn a_second_session_cookie_signs_nobody_in(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.session().await;
    // The attacker's own valid session, planted from another port.
    let (_, eve) = app
        .other_workspace("evil", "eve@evil.example", "admin")
        .await;
    let me = |cookie: String| {
        let request = call(&app, &path_of("me")).header("cookie", cookie);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status, body) = me(format!("tandem_session={admin}")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Nimbus"), "{body}");
    for cookie in [
        format!("tandem_session={eve}; tandem_session={admin}"),
        format!("tandem_session={admin}; tandem_session={eve}"),
    ] {
        let (status, body) = me(cookie).await;
        assert_eq!(status, 401, "{body}");
        assert!(!body.contains("evil"), "{body}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn sign_in_from_another_sites_page_is_refused_and_the_cookie_is_strict(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let body = form(&[
        ("email", tandem::demo::ADMIN_EMAIL.into()),
        ("password", ADMIN_PASSWORD.into()),
    ]);
    // Login forgery: a page on another port signs the browser in.
    let forged = call(&app, &path_of("login"))
        .header("origin", "http://127.0.0.1:1")
        .header("sec-fetch-site", "same-site")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    assert!(forged.headers().get("set-cookie").is_none());
    // The login page itself.
    let own = call(&app, &path_of("login"))
        .header("origin", app.url(""))
        .header("sec-fetch-site", "same-origin")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let cookie = own.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("tandem_session="), "{cookie}");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert_eq!(own.headers()["cache-control"], "no-store");
}

#[sqlx::test(migrations = "../migrations")]
async fn behind_tls_the_session_is_a_secure_host_cookie(pool: PgPool) {
    let app = TestApp::spawn_with(
        pool,
        Options {
            public_url: Some("https://support.example".into()),
            ..Options::default()
        },
    )
    .await;
    let response = sign_in(&app, tandem::demo::ADMIN_EMAIL, ADMIN_PASSWORD, None).await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("__Host-tandem_session="), "{cookie}");
    assert!(cookie.contains("; Secure"), "{cookie}");
    let token = cookie
        .split_once('=')
        .unwrap()
        .1
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    // Only the secure name is read: a plain cookie tossed in is not a session.
    for (cookie, expected) in [
        (format!("__Host-tandem_session={token}"), 200),
        (format!("tandem_session={token}"), 401),
    ] {
        let status = call(&app, &path_of("me"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, expected);
    }
    // Writes come from the public URL's origin only, not from whatever
    // name the request's Host carries (a rebound name).
    for (origin, host, expected) in [
        ("https://support.example", app.addr.to_string(), 200),
        ("http://rebound.example", "rebound.example".to_owned(), 403),
    ] {
        let status = call(&app, &path_of("me"))
            .header("cookie", format!("__Host-tandem_session={token}"))
            .header("origin", origin)
            .header("host", host)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, expected, "{origin}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn signed_in_pages_are_private_and_a_link_from_elsewhere_reloads(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let session = app.session().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = |path: &str, site: &'static str, cookie: Option<String>| {
        let mut request = client
            .get(app.url(path))
            .header("sec-fetch-site", site)
            .header("sec-fetch-mode", "navigate");
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    // A link in an email: the strict cookie is not sent; one reload brings it.
    let linked = page("/inbox", "cross-site", None).await.unwrap();
    assert_eq!(linked.status().as_u16(), 200);
    assert_eq!(linked.headers()["cache-control"], "no-store");
    let text = linked.text().await.unwrap();
    assert!(text.contains("http-equiv=\"refresh\""), "{text}");
    // From this origin (the reload), the page itself.
    let own = page(
        "/inbox",
        "same-origin",
        Some(format!("tandem_session={session}")),
    )
    .await
    .unwrap();
    assert_eq!(own.headers()["cache-control"], "no-store");
    assert_eq!(own.headers()["referrer-policy"], "same-origin");
    assert!(!own.text().await.unwrap().contains("http-equiv=\"refresh\""));
    // Public pages are not reloaded, and say no more than the origin.
    let demo = page("/demo/", "cross-site", None).await.unwrap();
    assert_eq!(demo.status().as_u16(), 200);
    assert_eq!(demo.headers()["referrer-policy"], "same-origin");
    assert!(!demo
        .text()
        .await
        .unwrap()
        .contains("http-equiv=\"refresh\""));
}

#[sqlx::test(migrations = "../migrations")]
async fn refusals_have_their_status_and_another_workspaces_id_is_just_missing(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let functions = server_functions();
    let admin = app.session().await;
    let (_, agent) = app.teammate("Sam", "agent").await;
    let source = app.state.desk.sources(&app.admin().await).await.unwrap()[0].source_id;
    let (_, eve) = app
        .other_workspace("other", "eve@other.example", "admin")
        .await;
    let get_source = |id: Uuid| form(&[("id", id.to_string())]);
    for (name, body, session, status) in [
        ("me", String::new(), None, 401),
        ("list_sources", String::new(), Some(agent.as_str()), 403),
        (
            "get_source",
            get_source(Uuid::new_v4()),
            Some(admin.as_str()),
            404,
        ),
        (
            "get_source",
            "id=not-a-uuid".to_owned(),
            Some(admin.as_str()),
            400,
        ),
        ("get_source", String::new(), Some(admin.as_str()), 400),
        (
            "save_canned",
            form(&[("shortcut", "x".into())]),
            Some(admin.as_str()),
            400,
        ),
    ] {
        let (got, text) = app
            .call_server_fn(&functions, name, &body, false, session)
            .await;
        assert_eq!(got, status, "{name} {body}: {text}");
        for internal in ["app::", "serde", "missing field", "Args", "Deserialization"] {
            assert!(!text.contains(internal), "{name}: {text}");
        }
    }
    // Another workspace's id and an id that exists nowhere look the same.
    let (theirs_status, theirs) = app
        .call_server_fn(
            &functions,
            "get_source",
            &get_source(source),
            false,
            Some(&eve),
        )
        .await;
    let (missing_status, missing) = app
        .call_server_fn(
            &functions,
            "get_source",
            &get_source(Uuid::new_v4()),
            false,
            Some(&eve),
        )
        .await;
    assert_eq!((theirs_status, &theirs), (missing_status, &missing));
    assert_eq!(theirs_status, 404);
    let error: DeskError = serde_json::from_str(&theirs).unwrap();
    assert_eq!(error, DeskError::NotFound);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_session_left_open_is_not_a_way_to_guess_the_password(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let desk = &app.state.desk;
    let admin = app.admin().await;
    let token = app.session().await;
    let here: std::net::IpAddr = "203.0.113.9".parse().unwrap();
    for _ in 0..tandem::auth::FAILURES_PER_EMAIL {
        assert!(matches!(
            desk.change_password(&admin, &token, "guess-0000", "new-password-1", Some(here))
                .await,
            Err(DeskError::Invalid(_))
        ));
    }
    // Even the right one waits now.
    assert_eq!(
        desk.change_password(&admin, &token, ADMIN_PASSWORD, "new-password-1", Some(here))
            .await
            .unwrap_err(),
        DeskError::TooManyAttempts
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_nul_character_is_a_clear_error_everywhere(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let functions = server_functions();
    let admin = app.session().await;
    for (name, body, json) in [
        ("save_snippet", "question=a%00b&answer=c".to_owned(), false),
        ("add_team", "name=x%00".to_owned(), false),
        ("save_widget", r##"{"look":{"brand_color":"#123456","position":"right","greeting":"hi\u0000","launcher_text":"","language":null,"allowed_origins":[]}}"##.to_owned(), true),
    ] {
        let (status, text) = app
            .call_server_fn(&functions, name, &body, json, Some(&admin))
            .await;
        assert_eq!(status, 400, "{name}: {text}");
        assert!(text.contains("NUL"), "{name}: {text}");
    }
    // In an address too (a workspace's name, an id): not a database error.
    for path in [
        "/kb/%00/snippets/00000000-0000-0000-0000-000000000000",
        "/widget/config?workspace=%00",
        "/ws/visitor?workspace=demo%00",
    ] {
        let response = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(response.status().as_u16(), 400, "{path}");
        assert!(response.text().await.unwrap().contains("NUL"), "{path}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn behind_a_proxy_each_client_has_its_own_address(pool: PgPool) {
    let app = TestApp::spawn_with(
        pool.clone(),
        Options {
            client_ip_header: Some(axum::http::HeaderName::from_static("x-forwarded-for")),
            ..Options::default()
        },
    )
    .await;
    // A guesser behind the proxy (the right-most entry is the proxy's own
    // word; what the client wrote before it is not trusted).
    for i in 0..tandem::auth::FAILURES_PER_ADDRESS {
        let guesser = format!("guess{i}@x.example");
        let guess = sign_in(&app, &guesser, "wrong", Some("192.0.2.1, 203.0.113.9")).await;
        assert_eq!(guess.status().as_u16(), 401);
    }
    let admin = tandem::demo::ADMIN_EMAIL;
    let guesser = sign_in(
        &app,
        admin,
        ADMIN_PASSWORD,
        Some("198.51.100.7, 203.0.113.9"),
    )
    .await;
    assert_eq!(guesser.status().as_u16(), 429);
    // Everyone else behind the same proxy signs in.
    let owner = sign_in(&app, admin, ADMIN_PASSWORD, Some("198.51.100.7")).await;
    assert!(
        owner.headers().get("set-cookie").is_some(),
        "{:?}",
        owner.status()
    );

    // Without the setting the header is nobody's word: the socket's
    // address counts, whatever a client writes.
    let plain = TestApp::spawn(pool).await;
    for i in 0..tandem::auth::FAILURES_PER_ADDRESS {
        sign_in(&plain, &format!("guess{i}@x.example"), "wrong", None).await;
    }
    let spoofed = sign_in(&plain, admin, ADMIN_PASSWORD, Some("198.51.100.99")).await;
    assert_eq!(spoofed.status().as_u16(), 429);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_malformed_id_in_an_address_is_just_missing(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.session().await;
    for (path, session, status) in [
        ("/kb/demo/snippets/%zz", None, 404),
        ("/kb/demo/snippets/not-an-id", None, 404),
        ("/kb/demo/files/xyz/a.pdf", None, 404),
        // The session first: nobody learns even that the id is malformed.
        ("/admin/export/visitor/xyz", None, 401),
        ("/admin/export/visitor/xyz", Some(admin.as_str()), 404),
        // Query strings too.
        ("/admin/export/conversations.csv?days=xyz", None, 401),
        (
            "/admin/export/conversations.csv?days=xyz",
            Some(admin.as_str()),
            400,
        ),
        ("/widget/config", None, 400),
    ] {
        let (got, text) = app.get(path, session).await;
        assert_eq!(got, status, "{path}: {text}");
        for decoder in ["parse", "UUID", "Invalid URL", "deserialize", "xyz", "zz"] {
            assert!(!text.contains(decoder), "{path}: {text}");
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn readiness_tells_nothing_of_any_workspaces_jobs(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let (other, _) = app.other_workspace("busy", "b@busy.example", "admin").await;
    let source = tandem::ingest::jobs::website_source(
        &app.state.engines.pool,
        other,
        "https://busy.example/",
        &tandem::ingest::crawl::CrawlSettings::default(),
        None,
    )
    .await
    .unwrap();
    tandem::ingest::jobs::enqueue(
        tandem::db::Scope::ws(&app.state.engines.pool, other),
        source,
    )
    .await
    .unwrap();
    let response = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    // The probes carry what every response does.
    for probe in ["/healthz", "/readyz"] {
        let headers = reqwest::get(app.url(probe))
            .await
            .unwrap()
            .headers()
            .clone();
        assert_eq!(headers["referrer-policy"], "same-origin", "{probe}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{probe}");
    }
    assert_eq!(response.text().await.unwrap(), "ready");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_chat_limited_to_its_sites_does_not_open_as_a_page_of_its_own(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let admin = app.admin().await;
    let desk = &app.state.desk;
    let mut look = desk.widget_admin(&admin).await.unwrap().look;
    look.allowed_origins = vec!["https://shop.example".into()];
    desk.save_widget(&admin, look).await.unwrap();
    let open = |dest: &'static str| {
        reqwest::Client::new()
            .get(app.url("/widget?workspace=demo&host=https%3A%2F%2Fshop.example"))
            .header("sec-fetch-dest", dest)
            .send()
    };
    assert_eq!(open("document").await.unwrap().status().as_u16(), 403);
    assert_eq!(open("iframe").await.unwrap().status().as_u16(), 200);
}
