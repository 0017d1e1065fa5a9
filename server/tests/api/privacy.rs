//! GDPR: one visitor's data exported whole and erased everywhere, retention
//! on by default, a source erased with its chunks and embeddings, and the
//! audit log of each.

use app::types::privacy::Erased;
use app::types::ClientMsg;
use sqlx::PgPool;
use tandem::db::System;
use uuid::Uuid;

use crate::helpers::desks::*;
use crate::helpers::{Client, TestApp};

const QUESTION: &str = "My parcel for Ada Lovelace never arrived, what now?";

/// A visitor who asked and left an email, once the AI has handed off.
async fn asked(app: &TestApp, pool: &PgPool, text: &str, email: &str) -> Client {
    let mut visitor = app.visitor(None, 0).await;
    visitor.ask(text).await;
    visitor
        .act(ClientMsg::LeaveEmail {
            client_id: Uuid::new_v4(),
            email: email.into(),
        })
        .await
        .expect("email left");
    for _ in 0..200 {
        let done: bool = sqlx::query_scalar(
            "select ai_handled_seq > 0 and exists (select 1 from decision d where d.conversation_id = c.conversation_id)
               from conversation c where conversation_id = $1",
        )
        .bind(visitor.conversation_id)
        .fetch_one(pool)
        .await
        .unwrap();
        if done {
            return visitor;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the AI did not deal with the question");
}

async fn count(pool: &PgPool, sql: &str, id: Uuid) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_visitors_data_is_exported_whole_and_erased_everywhere(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let desk = &app.state.desk;
    let admin = app.admin().await;
    let ada = asked(&app, &pool, QUESTION, "ada@example.com").await;
    let id = ada.conversation_id;
    let other = asked(&app, &pool, "Do you ship to Norway?", "bob@example.com").await;
    // A review fix kept copies of escalated questions, hers among them.
    sqlx::query(
        "insert into review_fix (fix_id, workspace_id, kind, topic, centre, questions, target)
         values ($1, $2, 'snippet', $3, array_fill(0.1::real, array[384])::vector, $4, 'Lost parcels')",
    )
    .bind(Uuid::new_v4())
    .bind(app.workspace_id)
    .bind(QUESTION)
    .bind(vec![QUESTION.to_owned(), "Do you ship to Norway?".to_owned()])
    .execute(&pool)
    .await
    .unwrap();

    // The export: over HTTP, admins only.
    let client = reqwest::Client::new();
    let export = |session: Option<String>| {
        let mut request = client.get(app.url(&format!("/admin/export/visitor/{id}")));
        if let Some(session) = session {
            request = request.header("cookie", format!("tandem_session={session}"));
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    assert_eq!(export(None).await.0, 401);
    let (_, agent_session) = app.teammate("Sam", "agent").await;
    assert_eq!(export(Some(agent_session)).await.0, 403);
    let (status, body) = export(Some(app.session().await)).await;
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["conversations"].as_array().unwrap().len(), 1);
    let events = json["conversations"][0]["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "visitor_message" && e["content"]["text"] == QUESTION),
        "{body}"
    );
    assert_eq!(
        json["conversations"][0]["follow_up_email"],
        "ada@example.com"
    );
    assert!(!body.contains("bob@example.com"), "only her data");

    // The erasure.
    let others_events = count(
        &pool,
        "select count(*) from event where conversation_id = $1",
        other.conversation_id,
    )
    .await;
    assert!(others_events >= 2);
    let erased = desk.erase_visitor(&admin, id).await.unwrap();
    assert_eq!(
        erased,
        Erased {
            conversations: 1,
            messages: 1
        }
    );
    for (what, sql) in [
        (
            "conversation",
            "select count(*) from conversation where conversation_id = $1",
        ),
        (
            "events",
            "select count(*) from event where conversation_id = $1",
        ),
        (
            "decisions",
            "select count(*) from decision where conversation_id = $1",
        ),
        (
            "emails",
            "select count(*) from email_outbox where conversation_id = $1",
        ),
        (
            "drafts",
            "select count(*) from ai_draft where conversation_id = $1",
        ),
    ] {
        assert_eq!(count(&pool, sql, id).await, 0, "{what} left");
    }
    let left: i64 = sqlx::query_scalar(
        "select count(*) from visitor where email = 'ada@example.com'
            or visitor_id in (select visitor_id from conversation where follow_up_email = 'ada@example.com')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(left, 0, "the visitor is gone");
    let copies: i64 = sqlx::query_scalar("select count(*) from decision where question = $1")
        .bind(QUESTION)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(copies, 0);
    let (topic, questions): (String, Vec<String>) =
        sqlx::query_as("select topic, questions from review_fix")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(topic, "(erased)");
    assert_eq!(questions, vec!["Do you ship to Norway?".to_owned()]);
    // The other visitor is untouched.
    assert_eq!(
        count(
            &pool,
            "select count(*) from event where conversation_id = $1",
            other.conversation_id
        )
        .await,
        others_events
    );
    // Erased twice: nothing there.
    assert_eq!(
        desk.erase_visitor(&admin, id).await.unwrap_err(),
        app::error::DeskError::NotFound
    );
    // Her browser's token now starts afresh.
    let back = app.visitor(ada.token.as_deref(), 0).await;
    assert_ne!(back.conversation_id, id);
    assert!(
        back.token.as_deref() != ada.token.as_deref(),
        "a new visitor, a new token"
    );

    // The audit log: who did what, with no personal data in it.
    let log = desk.privacy(&admin).await.unwrap().audit;
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["visitor_erased", "visitor_exported"]);
    assert_eq!(log[0].detail, "1 conversation, 1 message");
    assert!(log[0].actor.contains("admin@"), "{:?}", log[0]);
    let text = serde_json::to_string(&log).unwrap();
    for personal in [QUESTION, "ada@example.com", "Ada"] {
        assert!(!text.contains(personal), "the log keeps {personal}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn retention_is_on_by_default_and_deletes_what_is_past_it(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let desk = &app.state.desk;
    let admin = app.admin().await;
    let system = System(pool.clone());
    let serving = &app.state.engines.pool;
    let age = |id: Uuid, days: i32| {
        let pool = pool.clone();
        async move {
            sqlx::query(
                "update conversation set updated_at = now() - make_interval(days => $2) where conversation_id = $1;",
            )
            .bind(id)
            .bind(days)
            .execute(&pool)
            .await
            .unwrap();
            sqlx::query(
                "update visitor set created_at = now() - make_interval(days => $2), connected_until = null
                  where visitor_id = (select visitor_id from conversation where conversation_id = $1)",
            )
            .bind(id)
            .bind(days)
            .execute(&pool)
            .await
            .unwrap();
        }
    };
    assert_eq!(
        desk.privacy(&admin).await.unwrap().retention_days,
        Some(365)
    );
    let old = asked(
        &app,
        &pool,
        "Where is my order from last year?",
        "old@example.com",
    )
    .await;
    let recent = asked(&app, &pool, "Where is my order?", "new@example.com").await;
    drop(old.socket);
    age(old.conversation_id, 400).await;
    let done = tandem::privacy::apply_retention(serving, &system)
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(
        (done[0].1.conversations, done[0].1.visitors),
        (1, 1),
        "the year-old conversation and its visitor"
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from conversation where conversation_id = $1",
            old.conversation_id
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from conversation where conversation_id = $1",
            recent.conversation_id
        )
        .await,
        1
    );
    assert!(tandem::privacy::apply_retention(serving, &system)
        .await
        .unwrap()
        .is_empty());

    // A shorter retention, then none.
    assert!(matches!(
        desk.save_retention(&admin, Some(3)).await.unwrap_err(),
        app::error::DeskError::Invalid(_)
    ));
    desk.save_retention(&admin, Some(30)).await.unwrap();
    age(recent.conversation_id, 40).await;
    drop(recent.socket);
    let done = tandem::privacy::apply_retention(serving, &system)
        .await
        .unwrap();
    assert_eq!(done[0].1.conversations, 1);
    desk.save_retention(&admin, None).await.unwrap();
    let kept = asked(&app, &pool, "Anyone there?", "kept@example.com").await;
    age(kept.conversation_id, 4000).await;
    assert!(tandem::privacy::apply_retention(serving, &system)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        count(
            &pool,
            "select count(*) from conversation where conversation_id = $1",
            kept.conversation_id
        )
        .await,
        1
    );
    let log = desk.privacy(&admin).await.unwrap().audit;
    let summary: Vec<(String, String)> = log
        .iter()
        .map(|e| (e.action.clone(), e.detail.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "retention_changed".into(),
                "from: 30 days, to: kept until deleted".into()
            ),
            (
                "retention_deleted".into(),
                "1 conversation, 1 visitor".into()
            ),
            (
                "retention_changed".into(),
                "from: 365 days, to: 30 days".into()
            ),
            (
                "retention_deleted".into(),
                "1 conversation, 1 visitor".into()
            ),
        ]
    );
    assert_eq!(log[1].actor, "retention");
}

#[sqlx::test(migrations = "../migrations")]
async fn erasing_a_source_takes_its_chunks_and_embeddings(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let desk = &app.state.desk;
    let admin = app.admin().await;
    let source = desk.sources(&admin).await.unwrap()[0].clone();
    let chunks: Vec<Uuid> = sqlx::query_scalar(
        "select c.chunk_id from chunk c join page p using (page_id) where p.source_id = $1",
    )
    .bind(source.source_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(!chunks.is_empty());
    let question = "How do I reset my password?";
    let vector = crate::helpers::embedder()
        .embed_one(question)
        .await
        .unwrap();
    let serving = &app.state.engines.pool;
    let before = tandem::retrieve::retrieve(
        serving,
        app.workspace_id,
        tandem::retrieve::Query::new(question, &vector, tandem::embed::DEFAULT_MODEL),
        8,
    )
    .await
    .unwrap();
    assert!(!before.is_empty());

    desk.delete_source(&admin, source.source_id).await.unwrap();
    let left: i64 = sqlx::query_scalar("select count(*) from chunk where chunk_id = any($1)")
        .bind(&chunks)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "chunks and their embeddings are gone");
    assert_eq!(
        count(
            &pool,
            "select count(*) from page where source_id = $1",
            source.source_id
        )
        .await,
        0
    );
    let after = tandem::retrieve::retrieve(
        serving,
        app.workspace_id,
        tandem::retrieve::Query::new(question, &vector, tandem::embed::DEFAULT_MODEL),
        8,
    )
    .await
    .unwrap();
    assert!(after.is_empty(), "{after:?}");
    let log = desk.privacy(&admin).await.unwrap().audit;
    assert_eq!(log[0].action, "source_erased");
    assert_eq!(log[0].subject, source.title);
    assert_eq!(
        log[0].detail,
        format!("{} chunks, {} pages", chunks.len(), source.pages)
    );
}
