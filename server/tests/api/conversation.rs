//! Conversations, not single questions: a follow-up set over the demo site
//! (`eval/conversations-demo.jsonl`, each turn with its expected outcome),
//! run through the real visitor socket; and the unsure mode's offer.

use std::time::{Duration, Instant};

use app::types::policy::Unsure;
use app::types::ServerMsg;
use sqlx::PgPool;
use tandem::eval::chat::{self, Outcome, Tally};
use tandem::policy::settings;

use crate::helpers::TestApp;

/// What the AI did with the visitor's last message, and how long the first
/// word of its draft took from then.
async fn outcome(visitor: &mut crate::helpers::Client) -> (Outcome, Option<Duration>) {
    let sent = Instant::now();
    let mut first_word = None;
    loop {
        match visitor.next().await {
            ServerMsg::AiToken { .. } if first_word.is_none() => first_word = Some(sent.elapsed()),
            ServerMsg::Event { event } => {
                if let Some(outcome) = Outcome::of(&event.body) {
                    return (outcome, first_word);
                }
            }
            _ => {}
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn follow_ups_are_answered_with_the_turns_before_them(pool: PgPool) {
    let app = TestApp::spawn_trained(pool).await;
    let set = chat::parse(include_str!("../../../eval/conversations-demo.jsonl"))
        .expect("the conversation set");
    let mut tally = Tally::default();
    let mut first_words = Vec::new();
    for conversation in &set {
        let mut visitor = app.visitor(None, 0).await;
        for (i, turn) in conversation.turns.iter().enumerate() {
            visitor.ask(&turn.text).await;
            let (got, first_word) = outcome(&mut visitor).await;
            first_words.extend(first_word);
            if !tally.record(conversation, i, &got) {
                // The rest of this conversation is the team's.
                break;
            }
        }
    }
    first_words.sort();
    let p = |q: f64| first_words[((first_words.len() - 1) as f64 * q).round() as usize];
    println!(
        "follow-up set: {}; send → first word p50 {:?}, p95 {:?} (debug build, not typing)",
        tally.summary(),
        p(0.5),
        p(0.95)
    );
    for miss in &tally.misses {
        println!("  miss: {miss}");
    }
    assert!(
        tally.follow_ups_right * 10 >= tally.follow_ups * 8,
        "follow-ups as expected: {} of {}: {:#?}",
        tally.follow_ups_right,
        tally.follow_ups,
        tally.misses
    );
    assert!(tally.right * 10 >= tally.turns * 8, "{:#?}", tally.misses);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_unsure_ai_says_so_and_offers_the_team_when_the_workspace_chose_it(pool: PgPool) {
    let app = TestApp::spawn_trained(pool).await;
    let engines = &app.state.engines;
    let mut policy = settings::load(
        &engines.pool,
        app.workspace_id,
        engines.settings.confidence_threshold,
    )
    .await
    .unwrap();
    policy.unsure = Unsure::Offer;
    settings::save(&engines.pool, app.workspace_id, &policy)
        .await
        .unwrap();

    let mut visitor = app.visitor(None, 0).await;
    visitor.ask("What is the capital of Mongolia?").await;
    let (first, _) = outcome(&mut visitor).await;
    assert!(
        matches!(first, Outcome::Offered),
        "one miss is met with the offer"
    );
    let status: String = sqlx::query_scalar("select status from conversation")
        .fetch_one(&engines.system.0)
        .await
        .unwrap();
    assert_eq!(status, "ai", "the conversation stays with the AI");

    // The visitor asks another way and is answered.
    visitor.ask("what is the return window?").await;
    let (second, _) = outcome(&mut visitor).await;
    assert!(matches!(second, Outcome::Answered(_)));

    // A miss, then another miss in a row: the second hands off.
    visitor.ask("Who won the football world cup in 1954?").await;
    assert!(matches!(outcome(&mut visitor).await.0, Outcome::Offered));
    visitor.ask("What is the boiling point of mercury?").await;
    assert!(matches!(outcome(&mut visitor).await.0, Outcome::HandedOff));
    let kinds: Vec<String> = sqlx::query_scalar("select kind from event order by seq")
        .fetch_all(&engines.system.0)
        .await
        .unwrap();
    assert_eq!(kinds.iter().filter(|k| *k == "ai_unsure").count(), 2);

    // The dashboard counts the offers, not as handoffs of their own.
    let facts = tandem::review::metrics::facts(
        &engines.pool,
        app.workspace_id,
        chrono::Utc::now() - chrono::Duration::days(1),
    )
    .await
    .unwrap();
    assert_eq!(facts[0].unsure_offers, 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_sensitive_message_in_a_burst_is_not_hidden_by_the_rest(pool: PgPool) {
    let app = TestApp::spawn_trained(pool).await;
    let mut visitor = app.visitor(None, 0).await;
    // Sent together: one turn decides on both.
    visitor
        .ask("Someone hacked my account and stole my card")
        .await;
    visitor.ask("how long do refunds take?").await;
    let (got, _) = outcome(&mut visitor).await;
    assert!(
        matches!(got, Outcome::HandedOff),
        "the hacked account goes to a person"
    );
    let reason: Option<String> = sqlx::query_scalar(
        "select payload->'reason'->>'trigger' from event where kind = 'status_change' order by seq limit 1",
    )
    .fetch_one(&app.state.engines.system.0)
    .await
    .unwrap();
    assert_eq!(reason.as_deref(), Some("sensitive"));
}
