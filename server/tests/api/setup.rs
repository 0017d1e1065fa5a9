//! A self-hoster's first hour: the setup link printed at start creates the
//! first workspace and its admin (once), the workspace is trained on its
//! own site and answers its own visitors, and an admin adds another.

use app::types::EventBody;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::desks::*;
use crate::helpers::{form, server_functions, TestApp};

/// A `complete_setup` form body.
pub fn setup_form(code: &str, email: &str) -> String {
    setup_form_for(code, email, "Lumen Lamps", "")
}

fn setup_form_for(code: &str, email: &str, name: &str, site: &str) -> String {
    form(&[
        ("code", code.into()),
        ("workspace[name]", name.into()),
        ("workspace[site_url]", site.into()),
        ("workspace[language]", "de".into()),
        ("workspace[time_zone]", "Europe/Berlin".into()),
        ("workspace[days]", "mon-fri".into()),
        ("workspace[opens]", "08:00".into()),
        ("workspace[closes]", "18:00".into()),
        ("admin[name]", "Lea Lumen".into()),
        ("admin[email]", email.into()),
        ("admin[password]", "a-long-password-1".into()),
    ])
}

/// The session token a response set, if any.
fn session_cookie(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            let (name, rest) = c.split_once('=')?;
            name.ends_with("tandem_session")
                .then(|| rest.split(';').next().unwrap_or_default().to_owned())
        })
        .filter(|token| !token.is_empty())
}

#[sqlx::test(migrations = "../migrations")]
async fn the_setup_link_creates_the_first_workspace_once(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let data = std::env::temp_dir().join(format!("tandem-setup-{}", Uuid::new_v4()));
    // Only the demo has an admin: the install awaits its first run.
    let link = tandem::setup::prepare(&pool, &data, &app.url(""))
        .await
        .unwrap()
        .expect("a setup link");
    assert_eq!(
        std::fs::read_to_string(data.join("setup-url")).unwrap(),
        link
    );
    let code = link.split_once("?code=").unwrap().1.to_owned();
    // The serving role cannot read it: no request can learn it.
    let read = sqlx::query_scalar::<_, String>("select code from install_setup")
        .fetch_optional(&app.state.engines.pool)
        .await;
    assert!(read.unwrap_err().to_string().contains("permission denied"));
    // Every instance prints the same code.
    let again = tandem::setup::prepare(&pool, &data, &app.url(""))
        .await
        .unwrap();
    assert_eq!(again.as_deref(), Some(link.as_str()));

    let functions = server_functions();
    let state = |code: &str| {
        let body = form(&[("code", code.into())]);
        let (app, functions) = (&app, &functions);
        async move {
            let (status, body) = app
                .call_server_fn(functions, "get_install_state", &body, false, None)
                .await;
            assert_eq!(status, 200, "{body}");
            serde_json::from_str::<app::types::setup::InstallState>(&body).unwrap()
        }
    };
    assert!(state("wrong").await.setup_pending);
    assert!(!state("wrong").await.code_valid);
    assert!(state(&code).await.code_valid);

    // A form with several mistakes names every one of them at once.
    let (status, body) = app
        .call_server_fn(
            &functions,
            "complete_setup",
            &setup_form_for(&code, "not-an-email", " ", "ftp://lumen.example"),
            false,
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    for problem in ["business name", "web address", "email address like"] {
        assert!(body.contains(problem), "{problem}: {body}");
    }

    // A wrong code creates nothing.
    let (status, body) = app
        .call_server_fn(
            &functions,
            "complete_setup",
            &setup_form("wrong", "lea@lumen.example"),
            false,
            None,
        )
        .await;
    assert_ne!(status, 200);
    assert!(body.contains("not valid"), "{body}");
    let workspaces: i64 = sqlx::query_scalar("select count(*) from workspace")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(workspaces, 1);

    // The right code: the workspace with its site, language and hours, and
    // its admin signed in.
    let site = app.url("/demo/index.html");
    let path = &functions
        .iter()
        .find(|(n, _)| n == "complete_setup")
        .unwrap()
        .1;
    let response = reqwest::Client::new()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(setup_form_for(
            &code,
            "lea@lumen.example",
            "Lumen Lamps",
            &site,
        ))
        .send()
        .await
        .unwrap();
    let session = session_cookie(response.headers()).expect("signed in");
    assert!(response.status().is_success() || response.status().is_redirection());
    let me = app.state.desk.signed_in(&session).await.unwrap();
    assert_eq!(me.profile.workspace_name, "Lumen Lamps");
    assert_eq!(me.profile.workspace_slug, "lumen-lamps");
    assert_eq!(me.profile.role, app::types::Role::Admin);
    let (language, zone): (String, String) = sqlx::query_as(
        "select w.language, a.support_hours->>'time_zone'
           from widget_settings w join answer_settings a using (workspace_id)
          where workspace_id = $1",
    )
    .bind(me.workspace_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((language.as_str(), zone.as_str()), ("de", "Europe/Berlin"));

    // The code is spent: the install is set up, for every instance.
    assert!(!state(&code).await.setup_pending);
    let (status, body) = app
        .call_server_fn(
            &functions,
            "complete_setup",
            &setup_form(&code, "mallory@evil.example"),
            false,
            None,
        )
        .await;
    assert_ne!(status, 200);
    assert!(body.contains("not valid"), "{body}");
    assert!(tandem::setup::prepare(&pool, &data, &app.url(""))
        .await
        .unwrap()
        .is_none());
    assert!(!data.join("setup-url").exists());

    // Its website's first crawl was queued: trained, it answers its own
    // visitors from its own pages.
    let job: Uuid = sqlx::query_scalar(
        "select j.job_id from ingest_job j join source s using (source_id) where s.workspace_id = $1",
    )
    .bind(me.workspace_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let done = app.run_job(job).await;
    assert_eq!(done.status, app::knowledge::JobStatus::Done, "{done:?}");
    let mut visitor = app.visitor_of("lumen-lamps", None, 0).await;
    visitor.ask("How long do refunds take?").await;
    let (citations, _) = visitor
        .until(|m| match m {
            app::types::ServerMsg::Event { event } => match &event.body {
                EventBody::AiAnswer { citations, .. } => Some(citations.clone()),
                _ => None,
            },
            _ => None,
        })
        .await;
    assert!(
        citations.iter().any(|c| c.url.contains("/demo/")),
        "{citations:?}"
    );
    // The conversation is the new workspace's.
    let owner: Uuid =
        sqlx::query_scalar("select workspace_id from conversation where conversation_id = $1")
            .bind(visitor.conversation_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(owner, me.workspace_id);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_admin_adds_a_workspace_and_an_agent_may_not(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let functions = server_functions();
    let admin = app.session().await;
    let body = form(&[
        ("workspace[name]", "Nimbus Outdoor".into()),
        ("workspace[days]", "always".into()),
    ]);
    let (status, text) = app
        .call_server_fn(&functions, "create_workspace", &body, false, Some(&admin))
        .await;
    assert!(status < 400, "{status} {text}");
    let me = app.state.desk.signed_in(&admin).await.unwrap();
    assert_eq!(me.profile.workspace_name, "Nimbus Outdoor");
    assert_eq!(me.profile.role, app::types::Role::Admin);
    let hours: Option<serde_json::Value> =
        sqlx::query_scalar("select support_hours from answer_settings where workspace_id = $1")
            .bind(me.workspace_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(hours, None, "around the clock");
    // Both workspaces are the admin's.
    let choices = app.state.desk.workspaces(&me).await.unwrap();
    assert_eq!(choices.len(), 2);
    // The same name again gets its own slug.
    let (status, _) = app
        .call_server_fn(&functions, "create_workspace", &body, false, Some(&admin))
        .await;
    assert!(status < 400);
    let me = app.state.desk.signed_in(&admin).await.unwrap();
    assert_eq!(me.profile.workspace_slug, "nimbus-outdoor-2");

    // An agent cannot; nobody cannot; a bad name is a clear error.
    let (_, agent) = app.teammate("Sam", "agent").await;
    let (_, text) = app
        .call_server_fn(&functions, "create_workspace", &body, false, Some(&agent))
        .await;
    assert!(text.contains("Forbidden"), "{text}");
    let blank = form(&[("workspace[name]", "  ".into())]);
    let (_, text) = app
        .call_server_fn(&functions, "create_workspace", &blank, false, Some(&admin))
        .await;
    assert!(text.contains("1 to 80 characters"), "{text}");
}

#[sqlx::test(migrations = "../migrations")]
async fn tandem_setup_creates_a_workspace_on_a_headless_server(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let spec = tandem::setup::WorkspaceSpec::parse(&app::types::setup::NewWorkspace {
        name: "Headless Ltd".into(),
        time_zone: "UTC".into(),
        ..Default::default()
    })
    .unwrap();
    let admin = app::types::setup::NewAdmin {
        name: "Hal".into(),
        email: "hal@headless.example".into(),
        password: "a-long-password-2".into(),
    };
    let created = tandem::setup::create(&pool, &spec, tandem::setup::Admin::New(&admin), None)
        .await
        .unwrap();
    assert_eq!(created.slug, "headless-ltd");
    assert!(created.source_id.is_none());
    let session = app
        .state
        .desk
        .login("hal@headless.example", "a-long-password-2", None)
        .await
        .unwrap();
    let me = app.state.desk.signed_in(&session).await.unwrap();
    assert_eq!(me.workspace_id, created.workspace_id);
    // An existing email is refused for a new account (and said so, to the
    // holder of the server or the setup code only).
    let again = tandem::setup::create(&pool, &spec, tandem::setup::Admin::New(&admin), None).await;
    assert!(again
        .unwrap_err()
        .to_string()
        .contains("An account with this email exists"));
}
