//! The widget's edges: the launcher's config and the chat frame only for
//! allowed sites, signed identities (and forged ones refused everywhere),
//! thumbs on answers, an email left for follow-up, and what a waiting
//! visitor is told.

use std::time::Duration;

use app::types::widget::{Expectation, Language, Position, WidgetLook};
use app::types::{ClientMsg, EventBody, ServerMsg, CLOSE_REFUSED};
use futures::StreamExt;
use sqlx::PgPool;
use tandem::widget;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::helpers::{Client, TestApp};

const SHOP: &str = "http://shop.example:8080";

fn look(origins: &[&str]) -> WidgetLook {
    WidgetLook {
        brand_color: "#1d4ed8".into(),
        position: Position::Left,
        greeting: String::new(),
        launcher_text: String::new(),
        language: None,
        allowed_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
    }
}

async fn allow_only(app: &TestApp, origins: &[&str]) {
    widget::save(&app.state.engines.pool, app.workspace_id, look(origins))
        .await
        .unwrap();
}

/// How a socket attempt ended: served (the welcome's conversation and
/// token), or refused (the error it was told and the close code).
enum Attempt {
    Served(Box<Client>),
    Refused(String, u16),
}

async fn attempt(app: &TestApp, query: &str, origin: Option<&str>) -> Attempt {
    attempt_at(app, &format!("workspace=demo&after=0{query}"), origin).await
}

async fn attempt_at(app: &TestApp, query: &str, origin: Option<&str>) -> Attempt {
    let url = format!("ws://{}/ws/visitor?{query}", app.addr);
    let mut request = url.into_client_request().unwrap();
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the handshake succeeds");
    let mut told = String::new();
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("the server says something")
            .expect("the socket stays open until closed")
            .expect("a frame");
        match frame {
            Message::Text(text) => {
                match serde_json::from_str::<ServerMsg>(text.as_str()).unwrap() {
                    ServerMsg::Welcome {
                        conversation_id,
                        visitor_token,
                    } => {
                        return Attempt::Served(Box::new(Client {
                            socket,
                            token: visitor_token,
                            conversation_id,
                        }))
                    }
                    ServerMsg::Error { message, .. } => told = message,
                    other => panic!("unexpected {other:?}"),
                }
            }
            Message::Close(frame) => {
                return Attempt::Refused(told, frame.map_or(0, |f| f.code.into()))
            }
            _ => {}
        }
    }
}

fn served(attempt: Attempt) -> Client {
    match attempt {
        Attempt::Served(client) => *client,
        Attempt::Refused(why, code) => panic!("refused ({code}): {why}"),
    }
}

fn refused(attempt: Attempt) -> String {
    match attempt {
        Attempt::Refused(why, code) => {
            assert_eq!(code, CLOSE_REFUSED, "{why}");
            why
        }
        Attempt::Served(client) => panic!("served {}", client.conversation_id),
    }
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn the_launcher_gets_its_look_in_the_visitors_language_on_allowed_sites_only(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let http = reqwest::Client::new();
    let config = |origin: &'static str, language: &'static str| {
        http.get(app.url("/widget/config?workspace=demo"))
            .header("origin", origin)
            .header("accept-language", language)
            .send()
    };
    // Any site while the workspace has no list.
    let open = config("https://anywhere.example", "de-CH,de;q=0.9")
        .await
        .unwrap();
    assert_eq!(open.status(), 200);
    assert_eq!(
        open.headers()["access-control-allow-origin"],
        "https://anywhere.example"
    );
    let body: serde_json::Value = open.json().await.unwrap();
    assert_eq!(body["launcher_text"], "Chatte mit uns");
    assert_eq!(body["language"], "de");

    allow_only(&app, &[SHOP]).await;
    let shop = config(SHOP, "ja").await.unwrap();
    assert_eq!(shop.status(), 200);
    let body: serde_json::Value = shop.json().await.unwrap();
    assert_eq!(
        (body["brand_color"].as_str(), body["position"].as_str()),
        (Some("#1d4ed8"), Some("left"))
    );
    assert_eq!(body["launcher_text"], Language::Ja.texts().launcher);

    let elsewhere = config("https://evil.example", "en").await.unwrap();
    assert_eq!(elsewhere.status(), 403);
    let body: serde_json::Value = elsewhere.json().await.unwrap();
    assert_eq!(body["error"], tandem::widget::NOT_ALLOWED_HERE);

    let unknown = http
        .get(app.url("/widget/config?workspace=nobody"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_chat_frame_may_be_framed_only_by_allowed_sites(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let get = |path: String| async move { reqwest::get(path).await.unwrap() };
    // Each page has its own policy; who may frame it is its frame-ancestors.
    let policy = |r: &reqwest::Response| {
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let csp = |r: &reqwest::Response| {
        policy(r)
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("frame-ancestors"))
            .unwrap_or_default()
            .to_owned()
    };

    let frame = get(app.url("/widget?workspace=demo")).await;
    assert_eq!(csp(&frame), "frame-ancestors *");
    // Scripts: this origin's, and the inline ones with this response's nonce.
    assert!(
        policy(&frame).starts_with("default-src 'self'; script-src 'self' 'nonce-"),
        "{}",
        policy(&frame)
    );
    let html = frame.text().await.unwrap();
    assert!(
        html.contains("/pkg/widget"),
        "the frame hydrates with its own bundle"
    );
    assert!(!html.contains("/pkg/tandem.js"));

    allow_only(&app, &[SHOP]).await;
    let frame = get(app.url(&format!("/widget?workspace=demo&host={}", encode(SHOP)))).await;
    assert_eq!(csp(&frame), format!("frame-ancestors 'self' {SHOP}"));
    assert!(frame
        .text()
        .await
        .unwrap()
        .contains(r#"id="tandem-message""#));

    // A frame that says it is on another site explains, and shows no chat.
    let elsewhere = get(app.url(&format!(
        "/widget?workspace=demo&host={}",
        encode("https://evil.example")
    )))
    .await
    .text()
    .await
    .unwrap();
    assert!(elsewhere.contains(tandem::widget::NOT_ALLOWED_HERE));
    assert!(!elsewhere.contains(r#"id="tandem-message""#));

    // Two workspaces named: one workspace's chat must not come with another's
    // policy (an open workspace's `*` for a closed one's chat).
    let twice = get(app.url("/widget?workspace=nobody&workspace=demo")).await;
    assert_eq!(csp(&twice), "frame-ancestors 'self'");
    assert!(!twice
        .text()
        .await
        .unwrap()
        .contains(r#"id="tandem-message""#));

    // The inbox cannot be framed by anyone else.
    let inbox = get(app.url("/login")).await;
    assert_eq!(csp(&inbox), "frame-ancestors 'self'");
}

#[sqlx::test(migrations = "../migrations")]
async fn sockets_from_sites_not_allowed_are_refused_for_good(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    allow_only(&app, &[SHOP]).await;
    let host = format!("&host={}", encode(SHOP));
    let own = format!("http://{}", app.addr);

    let visitors = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from visitor")
            .fetch_one(&app.state.engines.pool)
            .await
            .unwrap()
    };
    // The chat frame (Tandem's own origin) on the shop's page.
    served(attempt(&app, &host, Some(&own)).await);
    let before = visitors().await;
    // A page elsewhere opening the socket itself.
    let why = refused(attempt(&app, &host, Some("https://evil.example")).await);
    assert_eq!(why, tandem::widget::NOT_ALLOWED_HERE);
    // A frame on a page elsewhere (or one that does not say where it is).
    refused(
        attempt(
            &app,
            &format!("&host={}", encode("https://evil.example")),
            Some(&own),
        )
        .await,
    );
    refused(attempt(&app, "", Some(&own)).await);
    // A workspace that does not exist: refused for good too.
    let why = refused(attempt_at(&app, "workspace=nobody&after=0", None).await);
    assert!(why.contains("unknown workspace"), "{why}");
    assert_eq!(
        visitors().await,
        before,
        "nothing is stored for the refused"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_signed_identity_follows_the_user_and_a_forged_one_is_refused_everywhere(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let secret = widget::settings(&pool, app.workspace_id)
        .await
        .unwrap()
        .identity_secret;
    // Signed over the id, the email and the name, so all three count.
    let signed = |user: &str| {
        format!(
            "&user_id={}&user_hash={}&name=Ada%20Lovelace&email=ada%40example.com",
            encode(user),
            widget::sign(&secret, &format!("{user}\nada@example.com\nAda Lovelace"))
        )
    };

    // An anonymous visitor who then signs in on the site keeps the conversation.
    let mut anonymous = served(attempt(&app, "", None).await);
    anonymous.ask("Do you ship to Canada?").await;
    anonymous.next_event().await;
    let token = anonymous.token.clone().expect("a new visitor gets a token");
    let mut signed_in =
        served(attempt(&app, &format!("&token={token}{}", signed("user-42")), None).await);
    assert_eq!(signed_in.conversation_id, anonymous.conversation_id);
    assert_eq!(signed_in.token, None, "a signed-in user needs no token");
    let first = signed_in.next_event().await;
    assert!(matches!(first.body, EventBody::VisitorMessage { .. }));

    // Another device: the signature alone finds the same conversation.
    let elsewhere = served(attempt(&app, &signed("user-42"), None).await);
    assert_eq!(elsewhere.conversation_id, anonymous.conversation_id);
    let (verified, name, email): (bool, Option<String>, Option<String>) =
        sqlx::query_as("select verified, name, email from visitor where external_id = 'user-42'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (verified, name.as_deref(), email.as_deref()),
        (true, Some("Ada Lovelace"), Some("ada@example.com"))
    );
    // Signed over the id alone, a name and email the page adds are not
    // taken (nor shown as verified): the stored ones stay.
    let claimed = format!(
        "&user_id=user-42&user_hash={}&name=The%20CEO&email=ceo%40evil.example",
        widget::sign(&secret, "user-42")
    );
    served(attempt(&app, &claimed, None).await);
    let (name, email): (Option<String>, Option<String>) =
        sqlx::query_as("select name, email from visitor where external_id = 'user-42'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (name.as_deref(), email.as_deref()),
        (Some("Ada Lovelace"), Some("ada@example.com"))
    );

    // Forged: another user's signature, a made-up one, none at all.
    let forged = format!(
        "&user_id=user-43&user_hash={}",
        widget::sign(&secret, "user-42")
    );
    let why = refused(attempt(&app, &forged, None).await);
    assert_eq!(why, tandem::widget::IDENTITY_REFUSED);
    refused(
        attempt(
            &app,
            &format!("&user_id=user-42&user_hash={}", "0".repeat(64)),
            None,
        )
        .await,
    );
    refused(attempt(&app, "&user_id=user-42", None).await);
    // A signed-in user's kept token is no way in without the signature.
    let fresh = served(attempt(&app, &format!("&token={token}"), None).await);
    assert_ne!(fresh.conversation_id, anonymous.conversation_id);

    // The chat frame refuses the same forged identity.
    let frame = reqwest::get(app.url(&format!("/widget?workspace=demo{forged}")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(frame.contains(tandem::widget::IDENTITY_REFUSED));
    assert!(!frame.contains(r#"id="tandem-message""#));
    let frame = reqwest::get(app.url(&format!("/widget?workspace=demo{}", signed("user-42"))))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(frame.contains(r#"id="tandem-message""#));
}

#[sqlx::test(migrations = "../migrations")]
async fn thumbs_are_kept_replaced_and_sent_again_on_reconnect(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let mut visitor = app.visitor(None, 0).await;
    visitor.ask("How long do refunds take?").await;
    let answer = loop {
        let event = visitor.next_event().await;
        if matches!(event.body, EventBody::AiAnswer { .. }) {
            break event.seq;
        }
    };
    for helpful in [false, true] {
        visitor
            .send(&ClientMsg::Rate {
                seq: answer,
                helpful,
            })
            .await;
        let (rated, _) = visitor
            .until(|m| match m {
                ServerMsg::Rated { seq, helpful } => Some((*seq, *helpful)),
                _ => None,
            })
            .await;
        assert_eq!(rated, (answer, helpful));
    }
    let stored: Vec<(i64, bool)> = sqlx::query_as("select seq, helpful from answer_feedback")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(
        stored,
        vec![(answer, true)],
        "the second rating replaced the first"
    );

    // The visitor's own message is not an answer to rate.
    visitor
        .send(&ClientMsg::Rate {
            seq: 1,
            helpful: true,
        })
        .await;
    assert!(visitor.next_error().await.contains("Only answers"));

    // A reconnecting widget shows the thumb pressed.
    let token = visitor.token.clone().unwrap();
    let mut again = app.visitor(Some(&token), answer).await;
    let (rated, _) = again
        .until(|m| match m {
            ServerMsg::Rated { seq, helpful } => Some((*seq, *helpful)),
            _ => None,
        })
        .await;
    assert_eq!(rated, (answer, true));
}

#[sqlx::test(migrations = "../migrations")]
async fn an_email_left_for_follow_up_reaches_the_team_and_a_bad_one_is_refused(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let mut visitor = app.visitor(None, 0).await;
    visitor
        .act(ClientMsg::TalkToTeam {
            client_id: Uuid::new_v4(),
        })
        .await
        .unwrap();
    let refused = visitor
        .act(ClientMsg::LeaveEmail {
            client_id: Uuid::new_v4(),
            email: "<script>@x".into(),
        })
        .await;
    assert!(refused.unwrap_err().contains("email address"));
    let client_id = Uuid::new_v4();
    let leave = ClientMsg::LeaveEmail {
        client_id,
        email: " ada@example.com ".into(),
    };
    let seq = visitor.act(leave.clone()).await.unwrap().unwrap();
    // A resend after a reconnect stores nothing twice.
    assert_eq!(visitor.act(leave).await.unwrap(), Some(seq));

    let session = app.session().await;
    let mut agent = app.agent_socket(&session, visitor.conversation_id, 0).await;
    let event = loop {
        let event = agent.next_event().await;
        if event.seq == seq {
            break event;
        }
    };
    assert_eq!(
        event.body,
        EventBody::EmailLeft {
            email: "ada@example.com".into()
        }
    );
    let kept: Option<String> =
        sqlx::query_scalar("select follow_up_email from conversation where conversation_id = $1")
            .bind(visitor.conversation_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(kept.as_deref(), Some("ada@example.com"));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_waiting_visitor_is_told_what_the_team_and_its_history_say(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let expect = || widget::expectation(&pool, app.workspace_id);
    // Nobody's inbox is open.
    assert_eq!(expect().await.unwrap(), Expectation::TeamAway);

    // An agent opens the inbox: online, but no history to estimate from.
    let session = app.session().await;
    let _lists = app.inbox_socket(&session, None).await;
    assert_eq!(
        expect().await.unwrap(),
        Expectation::ReplyIn { minutes: None }
    );

    // Three recent handoffs answered after 2, 4 and 9 minutes: a median of 4;
    // with this visitor and two more waiting for one agent, 4 × 2/1 = 8 minutes.
    let escalated = chrono::Utc::now() - chrono::Duration::hours(1);
    for (minutes, status) in [(2, "resolved"), (4, "waiting_human"), (9, "waiting_human")] {
        let visitor = Uuid::new_v4();
        let conversation = Uuid::new_v4();
        sqlx::query(
            "insert into visitor (visitor_id, workspace_id, token_hash) values ($1, $2, $3)",
        )
        .bind(visitor)
        .bind(app.workspace_id)
        .bind(visitor.as_bytes().to_vec())
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "insert into conversation (conversation_id, workspace_id, visitor_id, status, escalated_at, last_seq)
             values ($1, $2, $3, $4, $5, 1)",
        )
        .bind(conversation)
        .bind(app.workspace_id)
        .bind(visitor)
        .bind(status)
        .bind(escalated)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "insert into event (conversation_id, seq, kind, payload, created_at)
             values ($1, 1, 'human_reply', '{\"kind\":\"human_reply\",\"text\":\"hi\",\"agent_name\":\"A\"}',
                     $2 + make_interval(mins => $3))",
        )
        .bind(conversation)
        .bind(escalated)
        .bind(minutes)
        .execute(&pool)
        .await
        .unwrap();
    }
    let mut me = app.visitor(None, 0).await;
    me.act(ClientMsg::TalkToTeam {
        client_id: Uuid::new_v4(),
    })
    .await
    .unwrap();
    assert_eq!(
        expect().await.unwrap(),
        Expectation::ReplyIn { minutes: Some(8) }
    );
}
