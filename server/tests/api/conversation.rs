//! Conversations, not single questions: a follow-up set over the demo site
//! (`eval/conversations-demo.jsonl`, each turn with its expected outcome),
//! run through the real visitor socket; and the unsure mode's offer.

use std::time::{Duration, Instant};

use app::types::policy::Unsure;
use app::types::{ConversationStatus, EventBody, ServerMsg};
use sqlx::PgPool;
use tandem::policy::settings;

use crate::helpers::TestApp;

#[derive(serde::Deserialize)]
struct Conversation {
    id: String,
    turns: Vec<Turn>,
}

#[derive(serde::Deserialize)]
struct Turn {
    text: String,
    /// "answer" or "handoff".
    expect: String,
    /// Words the answer must contain.
    fact: Option<String>,
}

/// What the AI did with one visitor message, and how long the first word
/// of its draft took from the send.
enum Outcome {
    Answered(String),
    HandedOff,
    Offered,
}

async fn outcome(visitor: &mut crate::helpers::Client) -> (Outcome, Option<Duration>) {
    let sent = Instant::now();
    let mut first_word = None;
    loop {
        match visitor.next().await {
            ServerMsg::AiToken { .. } if first_word.is_none() => first_word = Some(sent.elapsed()),
            ServerMsg::Event { event } => match event.body {
                EventBody::AiAnswer { text, .. } => return (Outcome::Answered(text), first_word),
                EventBody::AiUnsure { .. } => return (Outcome::Offered, first_word),
                EventBody::StatusChange {
                    status: ConversationStatus::WaitingHuman,
                    ..
                } => return (Outcome::HandedOff, first_word),
                _ => {}
            },
            _ => {}
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn follow_ups_are_answered_with_the_turns_before_them(pool: PgPool) {
    let app = TestApp::spawn_trained(pool).await;
    let set = include_str!("../../../eval/conversations-demo.jsonl");
    let (mut turns, mut right, mut follow_ups, mut follow_ups_right) = (0, 0, 0, 0);
    let mut misses = Vec::new();
    let mut first_words = Vec::new();
    for line in set.lines().filter(|l| !l.trim().is_empty()) {
        let conversation: Conversation = serde_json::from_str(line).expect("a conversation");
        let mut visitor = app.visitor(None, 0).await;
        for (i, turn) in conversation.turns.iter().enumerate() {
            visitor.ask(&turn.text).await;
            let (got, first_word) = outcome(&mut visitor).await;
            first_words.extend(first_word);
            let ok = match (&got, turn.expect.as_str()) {
                (Outcome::Answered(text), "answer") => turn
                    .fact
                    .as_ref()
                    .is_none_or(|f| text.to_lowercase().contains(&f.to_lowercase())),
                (Outcome::HandedOff, "handoff") => true,
                _ => false,
            };
            turns += 1;
            right += usize::from(ok);
            if i > 0 {
                follow_ups += 1;
                follow_ups_right += usize::from(ok);
            }
            if !ok {
                let said = match &got {
                    Outcome::Answered(text) => format!("answered: {text}"),
                    Outcome::HandedOff => "handed off".into(),
                    Outcome::Offered => "offered the team".into(),
                };
                misses.push(format!(
                    "{} turn {}: {:?} → {said}",
                    conversation.id,
                    i + 1,
                    turn.text
                ));
            }
            if matches!(got, Outcome::HandedOff) {
                // The rest of this conversation is the team's.
                break;
            }
        }
    }
    first_words.sort();
    let p = |q: f64| first_words[((first_words.len() - 1) as f64 * q).round() as usize];
    println!(
        "follow-up set: {right} of {turns} turns as expected; follow-ups {follow_ups_right} of {follow_ups}; \
         send → first word p50 {:?}, p95 {:?} (debug build, not typing)",
        p(0.5),
        p(0.95)
    );
    for miss in &misses {
        println!("  miss: {miss}");
    }
    assert!(
        follow_ups_right * 10 >= follow_ups * 8,
        "follow-ups as expected: {follow_ups_right} of {follow_ups}: {misses:#?}"
    );
    assert!(right * 10 >= turns * 8, "{misses:#?}");
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
