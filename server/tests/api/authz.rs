//! The authorization matrix: every server function, HTTP route and socket
//! message, called by someone who must not reach workspace A's data (nobody,
//! an admin of workspace B holding A's ids, a visitor of another
//! conversation), finds none of it and changes none of it.
//!
//! A's data carries a canary string (and A's identity secret); a leak is a
//! response or socket message that contains either, or any change to A's
//! rows. Every cell is recorded; the test prints the matrix's size and its
//! leaks, and fails on any.

use std::time::Duration;

use app::types::{ClientMsg, ServerMsg};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::desks::*;
use crate::helpers::{form, server_functions, Client, TestApp};

const CANARY: &str = "CANARY-7f3a";

/// A fingerprint of workspace A's rows that no caller here may change.
async fn fingerprint(pool: &PgPool, workspace: Uuid, conversation: Uuid) -> Vec<(String, String)> {
    let parts = [
        ("conversation", "select conversation_id, status, assignee_id, tags, team, priority, last_seq, visitor_seq, follow_up_email from conversation where conversation_id = $2"),
        ("event", "select e.* from event e where e.conversation_id = $2"),
        ("answer_feedback", "select f.* from answer_feedback f where f.conversation_id = $2"),
        ("snippet", "select snippet_id, question, answer from snippet where workspace_id = $1"),
        ("source", "select source_id, kind, title from source where workspace_id = $1"),
        ("canned_reply", "select canned_id, shortcut, body from canned_reply where workspace_id = $1"),
        ("team", "select team_id, name from team where workspace_id = $1"),
        ("team_member", "select m.* from team_member m join team t using (team_id) where t.workspace_id = $1"),
        ("membership", "select account_id, role, max_open from membership where workspace_id = $1"),
        ("handoff_rule", "select * from handoff_rule where workspace_id = $1"),
        ("sensitive_category", "select * from sensitive_category where workspace_id = $1"),
        ("answer_settings", "select * from answer_settings where workspace_id = $1"),
        ("widget_settings", "select identity_secret, brand_color, allowed_origins from widget_settings where workspace_id = $1"),
        ("inbox_settings", "select * from inbox_settings where workspace_id = $1"),
        ("review_fix", "select fix_id from review_fix where workspace_id = $1"),
        ("ingest_job", "select job_id, status from ingest_job where workspace_id = $1"),
        ("invitation", "select email from invitation where workspace_id = $1"),
        ("privacy_settings", "select retention_days from privacy_settings where workspace_id = $1"),
        ("visitor", "select v.visitor_id, v.email from visitor v join conversation c using (visitor_id) where c.conversation_id = $2"),
    ];
    let mut out = Vec::new();
    for (name, select) in parts {
        let sql = format!(
            "select coalesce(md5(string_agg(t::text, '|' order by t::text)), '') from ({select}) t"
        );
        let hash: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(workspace)
            .bind(conversation)
            .fetch_one(pool)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        out.push((name.to_owned(), hash));
    }
    out
}

/// The record of every call: what was tried, and the leaks found.
#[derive(Default)]
struct Matrix {
    calls: usize,
    leaks: Vec<String>,
    secrets: Vec<String>,
}

impl Matrix {
    fn check(&mut self, cell: &str, seen: &str) {
        self.calls += 1;
        if let Some(secret) = self.secrets.iter().find(|s| seen.contains(s.as_str())) {
            self.leaks
                .push(format!("{cell}: shows {secret}: {}", clip(seen)));
        }
    }

    fn refused(&mut self, cell: &str, refused: bool, seen: &str) {
        self.check(cell, seen);
        if !refused {
            self.leaks
                .push(format!("{cell}: not refused: {}", clip(seen)));
        }
    }
}

fn clip(s: &str) -> String {
    s.chars().take(300).collect()
}

/// Everything a socket sends within `wait`, as text.
async fn drain(client: &mut Client, wait: Duration) -> String {
    let mut seen = String::new();
    while let Some(msg) = client.quiet_for(wait).await {
        seen.push_str(&serde_json::to_string(&msg).unwrap());
    }
    seen
}

/// One of each socket message, aimed at what it could touch.
fn every_message(seq: i64, agent: Uuid) -> Vec<ClientMsg> {
    let id = Uuid::new_v4;
    vec![
        ClientMsg::Send {
            client_id: id(),
            text: "hello".into(),
        },
        ClientMsg::Note {
            client_id: id(),
            text: "note".into(),
        },
        ClientMsg::TalkToTeam { client_id: id() },
        ClientMsg::Claim { client_id: id() },
        ClientMsg::Resolve { client_id: id() },
        ClientMsg::Reopen { client_id: id() },
        ClientMsg::TakeOver { client_id: id() },
        ClientMsg::Assign {
            client_id: id(),
            agent: Some(agent),
            team: Some(format!("{CANARY}-team")),
        },
        ClientMsg::HandBack { client_id: id() },
        ClientMsg::Presence { away: true },
        ClientMsg::Typing { typing: true },
        ClientMsg::Seen { seq },
        ClientMsg::Rate {
            seq,
            helpful: false,
        },
        ClientMsg::LeaveEmail {
            client_id: id(),
            email: "eve@other.example".into(),
        },
        ClientMsg::Ping,
    ]
}

#[sqlx::test(migrations = "../migrations")]
async fn nobody_outside_a_workspace_reaches_its_data_through_any_door(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let desk = &app.state.desk;
    let admin = app.admin().await;

    // Workspace A (the demo), its data marked with the canary.
    let (sam, _) = app
        .account(
            app.workspace_id,
            "sam@nimbus.example",
            &format!("Sam {CANARY}"),
            crate::helpers::TEAMMATE_PASSWORD,
            "agent",
        )
        .await;
    desk.add_team(&admin, &format!("{CANARY}-team"))
        .await
        .unwrap();
    let canned = desk
        .save_canned(&admin, None, "canary", &format!("{CANARY} canned"))
        .await
        .unwrap();
    let snippet = desk
        .save_snippet(
            &admin,
            None,
            format!("{CANARY} question?"),
            format!("{CANARY} answer."),
        )
        .await
        .unwrap();
    let source = desk.sources(&admin).await.unwrap()[0].source_id;
    desk.invite(&admin, "canary-invitee@nimbus.example", "agent")
        .await
        .unwrap();
    let invitation: Uuid = sqlx::query_scalar(
        "select invitation_id from invitation where email = 'canary-invitee@nimbus.example'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let mut visitor = app.visitor(None, 0).await;
    visitor
        .ask(&format!("{CANARY} I want to talk to a person"))
        .await;
    let conversation = visitor.conversation_id;
    let handed = |m: &ServerMsg| match m {
        ServerMsg::Event { event }
            if matches!(event.body, app::types::EventBody::StatusChange { .. }) =>
        {
            Some(event.seq)
        }
        _ => None,
    };
    let (seq, _) = visitor.until(handed).await;
    let key = loop {
        let review = desk.review(&admin, 30).await.unwrap();
        if let Some(topic) = review.topics.first() {
            break topic.key;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let secret = desk.widget_admin(&admin).await.unwrap().identity_secret;
    let before = fingerprint(&pool, app.workspace_id, conversation).await;

    // Workspace B: an admin holding every one of A's ids.
    let (other, eve) = app
        .other_workspace("other", "eve@other.example", "admin")
        .await;
    let mut m = Matrix {
        secrets: vec![CANARY.to_owned(), secret.clone()],
        ..Default::default()
    };

    // 1. Every server function, as nobody and as B's admin with A's ids.
    let a = |s: Uuid| s.to_string();
    let policy = serde_json::to_string(&desk.policy(&admin).await.unwrap()).unwrap();
    let look = serde_json::to_string(&desk.widget_admin(&admin).await.unwrap().look).unwrap();
    let table: Vec<(&str, String, bool)> = vec![
        ("login", form(&[("email", "sam@nimbus.example".into()), ("password", "wrong".into())]), false),
        ("logout", String::new(), false),
        ("me", String::new(), false),
        ("change_password", form(&[("current", "a".into()), ("new", "b".into())]), false),
        ("my_workspaces", String::new(), false),
        ("switch_workspace", form(&[("workspace_id", a(app.workspace_id))]), false),
        ("get_invitation", form(&[("token", "nope".into())]), false),
        ("accept_invitation", form(&[("token", "nope".into()), ("name", "X".into()), ("password", "long-enough-1".into())]), false),
        ("list_conversations", form(&[("filter[queue]", "waiting".into())]), false),
        ("get_conversation", form(&[("id", a(conversation))]), false),
        ("get_directory", String::new(), false),
        ("set_tags", form(&[("id", a(conversation)), ("tags[0]", "x".into())]), false),
        ("suggest_reply", form(&[("id", a(conversation))]), false),
        ("get_team_admin", String::new(), false),
        ("invite_member", form(&[("email", "sam@nimbus.example".into()), ("role", "admin".into())]), false),
        ("revoke_invitation", form(&[("invitation_id", a(invitation))]), false),
        ("save_member", format!(r#"{{"account_id":"{sam}","role":"admin","teams":["{CANARY}-team"],"max_open":1}}"#), true),
        ("remove_member", form(&[("account_id", a(sam))]), false),
        ("add_team", form(&[("name", format!("{CANARY}-team"))]), false),
        ("delete_team", form(&[("name", format!("{CANARY}-team"))]), false),
        ("save_canned", form(&[("id", a(canned)), ("shortcut", "canary".into()), ("body", "changed".into())]), false),
        ("delete_canned", form(&[("id", a(canned))]), false),
        ("save_inbox_settings", r#"{"settings":{"reopen_to_ai":true,"auto_assign":true,"max_wait_minutes":5,"remind_after_minutes":5}}"#.into(), true),
        ("list_sources", String::new(), false),
        ("model_move", String::new(), false),
        ("get_source", form(&[("id", a(source))]), false),
        ("add_website", form(&[("website[url]", "https://example.com".into()), ("website[extra_prefixes]", String::new()), ("website[max_pages]", String::new()), ("website[max_depth]", String::new()), ("website[recrawl_hours]", String::new())]), false),
        ("recrawl_source", form(&[("id", a(source))]), false),
        ("cancel_source", form(&[("id", a(source))]), false),
        ("delete_source", form(&[("id", a(source))]), false),
        ("list_snippets", String::new(), false),
        ("save_snippet", form(&[("id", a(snippet)), ("question", "changed?".into()), ("answer", "changed".into())]), false),
        ("delete_snippet", form(&[("id", a(snippet))]), false),
        ("get_policy", String::new(), false),
        ("save_policy", format!(r#"{{"policy":{policy}}}"#), true),
        ("replay_policy", format!(r#"{{"policy":{policy}}}"#), true),
        ("get_widget_admin", String::new(), false),
        ("save_widget", format!(r#"{{"look":{look}}}"#), true),
        ("rotate_identity_secret", String::new(), false),
        ("load_review", form(&[("days", "30".into())]), false),
        ("load_topic", form(&[("key", a(key)), ("days", "30".into())]), false),
        ("write_topic_snippet", form(&[("key", a(key)), ("days", "30".into()), ("question", "q?".into()), ("answer", "a".into())]), false),
        ("recrawl_topic_source", form(&[("key", a(key)), ("days", "30".into()), ("source_id", a(source))]), false),
        ("mark_always_a_person", form(&[("key", a(key)), ("days", "30".into())]), false),
        ("retest_topic", form(&[("key", a(key)), ("days", "30".into())]), false),
        ("load_dashboard", form(&[("days", "30".into())]), false),
        ("load_privacy", String::new(), false),
        ("save_retention", form(&[("days", "30".into())]), false),
        ("erase_visitor", form(&[("id", a(conversation))]), false),
        ("fetch_widget_settings", form(&[("workspace", "other".into())]), false),
        ("fetch_expectation", form(&[("workspace", "other".into())]), false),
        ("get_install_state", form(&[("code", "nope".into())]), false),
        ("complete_setup", crate::setup::setup_form("nope", "sam@nimbus.example"), false),
        ("create_workspace", form(&[("workspace[name]", "Eve's own business".into())]), false),
    ];
    let registered = server_functions();
    for (name, _) in &registered {
        assert!(
            table.iter().any(|(n, ..)| n == name),
            "server function {name} is missing from the matrix"
        );
    }
    // The control: A's own admin sees the canary (or the secret) in what
    // the outsiders called, so its absence there means something.
    let own = app.session().await;
    for (name, secret) in [
        ("get_conversation", CANARY),
        ("list_conversations", CANARY),
        ("get_directory", CANARY),
        ("get_team_admin", CANARY),
        ("list_snippets", CANARY),
        ("load_review", CANARY),
        ("load_topic", CANARY),
        ("get_widget_admin", secret.as_str()),
    ] {
        let (_, body, json) = table.iter().find(|(n, ..)| *n == name).unwrap();
        let seen = app
            .call_server_fn(&registered, name, body, *json, Some(&own))
            .await
            .1;
        assert!(
            seen.contains(secret),
            "control: {name} as A's admin: {}",
            clip(&seen)
        );
    }
    let mut functions = 0;
    for (name, body, json) in &table {
        if *name == "logout" {
            continue; // would end Eve's session; called last below
        }
        functions += 1;
        let anonymous = app
            .call_server_fn(&registered, name, body, *json, None)
            .await
            .1;
        m.check(&format!("fn {name} as nobody"), &anonymous);
        let as_eve = app
            .call_server_fn(&registered, name, body, *json, Some(&eve))
            .await
            .1;
        m.check(&format!("fn {name} as B's admin with A's ids"), &as_eve);
    }
    functions += 1;
    m.check(
        "fn logout as nobody",
        &app.call_server_fn(&registered, "logout", "", false, None)
            .await
            .1,
    );
    // Eve's session never looks at A (it looks at B, or at the workspace
    // she created for herself).
    let me = desk.signed_in(&eve).await.unwrap();
    assert_ne!(
        me.workspace_id, app.workspace_id,
        "switching into A was refused"
    );
    let _ = other;

    // 2. Every HTTP route that names a workspace or an id.
    let pages = [
        "/".to_owned(),
        "/inbox".into(),
        format!("/inbox/{conversation}"),
        "/account".into(),
        "/admin/team".into(),
        "/admin/knowledge".into(),
        format!("/admin/knowledge/{source}"),
        "/admin/policy".into(),
        "/admin/review".into(),
        format!("/admin/review/{key}"),
        "/admin/dashboard".into(),
        "/admin/widget".into(),
        "/admin/export/conversations.csv?days=30".into(),
        format!("/admin/export/visitor/{conversation}"),
        "/admin/privacy".into(),
        "/widget/config?workspace=other".into(),
        "/widget?workspace=other".into(),
        format!("/kb/other/snippets/{snippet}"),
        format!("/kb/other/files/{source}/x.pdf"),
        "/readyz".into(),
    ];
    let mut routes = 0;
    for path in &pages {
        routes += 1;
        let (_, body) = app.get(path, None).await;
        m.check(&format!("GET {path} as nobody"), &body);
        let (_, body) = app.get(path, Some(&eve)).await;
        m.check(&format!("GET {path} as B's admin"), &body);
    }
    for path in [
        format!("/kb/other/snippets/{snippet}"),
        format!("/kb/other/files/{source}/x.pdf"),
    ] {
        let (status, body) = app.get(&path, Some(&eve)).await;
        m.refused(
            &format!("GET {path} (A's id under B's name)"),
            status == 404,
            &body,
        );
    }
    let (status, body) = app
        .get("/admin/export/conversations.csv?days=30", None)
        .await;
    m.refused("GET the CSV export as nobody", status == 401, &body);
    let (status, body) = app
        .get(&format!("/admin/export/visitor/{conversation}"), Some(&eve))
        .await;
    m.refused("GET A's visitor export as B's admin", status == 404, &body);
    let (status, body) = app
        .get(&format!("/admin/export/visitor/{conversation}"), None)
        .await;
    m.refused("GET A's visitor export as nobody", status == 401, &body);
    // A's own public documents stay public (they are cited to visitors).
    let (status, body) = app.get(&format!("/kb/demo/snippets/{snippet}"), None).await;
    assert!(
        status == 200 && body.contains(CANARY),
        "A's snippet page: {status}"
    );

    // 3. The inbox socket: A's conversation refused to nobody and to Eve.
    for (who, cookie) in [("nobody", None), ("B's admin", Some(eve.clone()))] {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://{}/ws/inbox?conversation={conversation}", app.addr)
            .into_client_request()
            .unwrap();
        if let Some(cookie) = cookie {
            request.headers_mut().insert(
                "cookie",
                format!("tandem_session={cookie}").parse().unwrap(),
            );
        }
        let refused = tokio_tungstenite::connect_async(request).await.is_err();
        m.refused(
            &format!("/ws/inbox on A's conversation as {who}"),
            refused,
            "",
        );
    }

    // 4. Every socket message: from Eve's list socket, from a visitor of
    // another conversation of A, and from a visitor of B holding the first
    // visitor's token.
    let mut messages = 0;
    let mut eves_lists = app.inbox_socket(&eve, None).await;
    let _ = drain(&mut eves_lists, Duration::from_millis(300)).await;
    let mut stranger = app.visitor(None, 0).await;
    assert_ne!(stranger.conversation_id, conversation);
    let _ = drain(&mut stranger, Duration::from_millis(300)).await;
    let token = visitor.token.clone().unwrap();
    let (socket, _) = tokio_tungstenite::connect_async(format!(
        "ws://{}/ws/visitor?workspace=other&token={token}",
        app.addr
    ))
    .await
    .unwrap();
    let mut borrowed = Client {
        socket,
        token: None,
        conversation_id: Uuid::nil(),
    };
    let welcome = drain(&mut borrowed, Duration::from_millis(300)).await;
    m.check("/ws/visitor of B with A's visitor token", &welcome);
    assert!(
        !welcome.contains(&conversation.to_string()),
        "a new visitor of B"
    );
    for (who, client) in [
        ("B's admin's list socket", &mut eves_lists),
        ("a visitor of another conversation", &mut stranger),
        ("a visitor of B with A's token", &mut borrowed),
    ] {
        for msg in every_message(seq, sam) {
            messages += 1;
            client.send(&msg).await;
            let seen = drain(client, Duration::from_millis(150)).await;
            m.check(&format!("{who}: {msg:?}"), &seen);
        }
    }
    // The first visitor heard nothing of any of it.
    let heard = drain(&mut visitor, Duration::from_millis(500)).await;
    m.check("A's visitor's own socket afterwards", &heard);
    for needle in ["hello", "eve@other.example", "note"] {
        if heard.contains(needle) {
            m.leaks
                .push(format!("A's visitor heard {needle}: {}", clip(&heard)));
        }
    }

    // Nothing of A changed.
    let after = fingerprint(&pool, app.workspace_id, conversation).await;
    for ((table, was), (_, is)) in before.iter().zip(&after) {
        m.calls += 1;
        if was != is {
            m.leaks.push(format!("{table} of A changed"));
        }
    }
    println!(
        "authorization matrix: {functions} server functions × 2 callers, {routes} routes × 2 callers \
         (+5 refusals), 2 socket handshakes, {messages} socket messages from 3 outsiders, \
         {} tables compared: {} checks, {} leaks",
        after.len(),
        m.calls,
        m.leaks.len()
    );
    assert!(m.leaks.is_empty(), "leaks:\n{}", m.leaks.join("\n"));
}

/// A page on another origin (another port of the same host: its requests
/// carry the admin's cookie) cannot change anything through a server
/// function, in any body encoding; the same request from the server's own
/// pages goes through.
#[sqlx::test(migrations = "../migrations")]
async fn a_page_on_another_origin_cannot_save_with_the_admins_cookie(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let session = app.session().await;
    let functions = server_functions();
    let path = &functions
        .iter()
        .find(|(n, _)| n == "save_policy")
        .expect("save_policy")
        .1;
    let engines = &app.state.engines;
    let mut policy = tandem::policy::settings::load(
        &engines.pool,
        app.workspace_id,
        engines.settings.confidence_threshold,
    )
    .await
    .unwrap();
    policy.unsure = app::types::policy::Unsure::Offer;
    let body = serde_json::json!({ "policy": policy }).to_string();
    let unsure = || async {
        sqlx::query_scalar::<_, Option<String>>("select unsure from answer_settings")
            .fetch_optional(&engines.system.0)
            .await
            .unwrap()
            .flatten()
    };
    let before = unsure().await;
    let attempt = |origin: &'static str, site: &'static str, content_type: &'static str| {
        reqwest::Client::new()
            .post(app.url(path))
            .header("cookie", format!("tandem_session={session}"))
            .header("origin", origin)
            .header("sec-fetch-site", site)
            .header("content-type", content_type)
            .body(body.clone())
            .send()
    };
    for (origin, site, content_type) in [
        ("http://127.0.0.1:8081", "same-site", "text/plain"),
        ("http://127.0.0.1:8081", "same-site", "application/json"),
        ("https://evil.example", "cross-site", "application/json"),
    ] {
        let response = attempt(origin, site, content_type).await.unwrap();
        assert_eq!(response.status().as_u16(), 403, "{origin} {content_type}");
        assert_eq!(unsure().await, before, "nothing changed: {origin}");
    }
    // From the server's own page it is saved.
    let own = app.url("").trim_end_matches('/').to_owned();
    let own: &'static str = Box::leak(own.into_boxed_str());
    let response = attempt(own, "same-origin", "application/json")
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        200,
        "{}",
        response.text().await.unwrap()
    );
    assert_eq!(unsure().await.as_deref(), Some("offer"));
}
