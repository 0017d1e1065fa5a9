//! Rate limits: messages per visitor and per client address, new visitors
//! per address; each refusal is clear and loses nothing stored.

use app::types::{ClientMsg, ServerMsg};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{Client, Options, TestApp};

async fn stored(pool: &PgPool, conversation: Uuid) -> i64 {
    sqlx::query_scalar(
        "select count(*) from event where conversation_id = $1 and kind = 'visitor_message'",
    )
    .bind(conversation)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Sends a message; `Ok(seq)` when stored, `Err(why)` when refused.
async fn send(client: &mut Client, text: &str) -> Result<Option<i64>, String> {
    client
        .act(ClientMsg::Send {
            client_id: Uuid::new_v4(),
            text: text.into(),
        })
        .await
}

#[sqlx::test(migrations = "../migrations")]
async fn a_visitor_sending_too_fast_is_told_to_wait_and_nothing_is_stored_twice(pool: PgPool) {
    // 10 a minute: a burst of 5, then one every 6 s.
    let app = TestApp::spawn_with(
        pool.clone(),
        Options {
            limits: (10, 0, 0),
            ..Default::default()
        },
    )
    .await;
    let mut visitor = app.visitor(None, 0).await;
    for i in 0..5 {
        send(&mut visitor, &format!("message {i}")).await.unwrap();
    }
    let refused = send(&mut visitor, "one too many").await.unwrap_err();
    assert_eq!(refused, tandem::limits::TOO_FAST);
    assert_eq!(stored(&pool, visitor.conversation_id).await, 5);
    // Another visitor on the same address is not slowed by this one.
    let mut other = app.visitor(None, 0).await;
    send(&mut other, "hello").await.unwrap();
    // Six seconds later one more goes through.
    tokio::time::sleep(std::time::Duration::from_millis(6100)).await;
    send(&mut visitor, "one too many").await.unwrap();
    assert_eq!(stored(&pool, visitor.conversation_id).await, 6);
}

#[sqlx::test(migrations = "../migrations")]
async fn one_address_is_limited_in_messages_and_in_new_visitors(pool: PgPool) {
    // 6 messages a minute per address (a burst of 3); 4 new visitors (2).
    let app = TestApp::spawn_with(
        pool.clone(),
        Options {
            limits: (0, 6, 4),
            ..Default::default()
        },
    )
    .await;
    let mut first = app.visitor(None, 0).await;
    let mut second = app.visitor(None, 0).await;
    send(&mut first, "one").await.unwrap();
    send(&mut first, "two").await.unwrap();
    send(&mut second, "three").await.unwrap();
    assert_eq!(
        send(&mut second, "four").await.unwrap_err(),
        tandem::limits::TOO_FAST
    );

    // A third new visitor from this address is refused, clearly, and told
    // not to retry at once; a returning one (their token) is not new.
    let (socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws/visitor?workspace=demo", app.addr))
            .await
            .unwrap();
    let mut third = Client {
        socket,
        token: None,
        conversation_id: Uuid::nil(),
    };
    match third.next().await {
        ServerMsg::Error { message, .. } => assert_eq!(message, tandem::limits::TOO_MANY_VISITORS),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(third.closed_within(std::time::Duration::from_secs(2)).await);
    let back = app.visitor(first.token.as_deref(), 0).await;
    assert_eq!(back.conversation_id, first.conversation_id);
    let visitors: i64 = sqlx::query_scalar("select count(*) from visitor")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(visitors, 2);
}
