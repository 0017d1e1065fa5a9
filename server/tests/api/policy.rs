//! The handoff policy in live conversations: admin rules, per-workspace
//! settings, decision records, replay, the OpenAI-compatible generator in a
//! real turn, and `tandem eval`'s figures.

use app::types::policy::{Condition, GeneratorSettings, Policy, Rule, RuleAction};
use app::types::{Confidence, ConversationStatus, EventBody, HandoffReason, ServerMsg};
use sqlx::PgPool;
use tandem::db::Scope;
use tandem::policy::{replay, settings};
use uuid::Uuid;

use crate::generator::{answer, FakeModel};
use crate::helpers::TestApp;

fn stored(msg: &ServerMsg) -> Option<EventBody> {
    match msg {
        ServerMsg::Event { event } => Some(event.body.clone()),
        _ => None,
    }
}

async fn policy(app: &TestApp) -> Policy {
    settings::load(
        &app.state.engines.pool,
        app.workspace_id,
        app.state.engines.settings.confidence_threshold,
    )
    .await
    .unwrap()
}

fn rule(name: &str, conditions: Vec<Condition>, action: RuleAction) -> Rule {
    Rule {
        id: Uuid::new_v4(),
        name: name.into(),
        enabled: true,
        conditions,
        action,
    }
}

/// The stored event with this seq, as the team sees it.
async fn team_view(app: &TestApp, conversation: Uuid, seq: i64) -> EventBody {
    tandem::thread::store::events_after(
        app.state.engines.pool.ws(app.workspace_id),
        conversation,
        seq - 1,
        1,
    )
    .await
    .unwrap()
    .remove(0)
    .body
}

/// Asks one question as a new visitor; returns the conversation and the
/// stored event that dealt with it (an answer or a handoff), as the team
/// sees it.
async fn ask(app: &TestApp, question: &str) -> (Uuid, EventBody) {
    let mut visitor = app.visitor(None, 0).await;
    visitor.ask(question).await;
    let _question = visitor.until(stored).await;
    let (seq, _) = visitor
        .until(|m| match m {
            ServerMsg::Event { event } => Some(event.seq),
            _ => None,
        })
        .await;
    let conversation = visitor.conversation_id;
    (conversation, team_view(app, conversation, seq).await)
}

#[sqlx::test(migrations = "../migrations")]
async fn an_admin_rule_routes_tags_and_prioritises(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let mut p = policy(&app).await;
    p.rules = vec![
        rule(
            "Shipping questions go to logistics",
            vec![Condition::Phrase {
                pattern: r"/\bship(ping)?\b/".into(),
            }],
            RuleAction::HandOffToTeam {
                team: "logistics".into(),
            },
        ),
        rule(
            "Tag shipping",
            vec![Condition::Topic {
                contains: "shipping".into(),
            }],
            RuleAction::Tag {
                tag: "shipping".into(),
            },
        ),
        rule(
            "Urgent when shipping",
            vec![Condition::Phrase {
                pattern: "ship".into(),
            }],
            RuleAction::Priority {
                level: app::types::policy::Priority::High,
            },
        ),
    ];
    settings::save(&pool, app.workspace_id, &p).await.unwrap();

    let (conversation, outcome) = ask(&app, "Do you ship to the United States?").await;
    let EventBody::StatusChange {
        status: ConversationStatus::WaitingHuman,
        reason: Some(reason),
        decision: Some(decision),
        ..
    } = outcome
    else {
        panic!("expected a handoff, got {outcome:?}");
    };
    assert_eq!(
        reason,
        HandoffReason::Rule {
            rule: "Shipping questions go to logistics".into(),
            team: Some("logistics".into())
        }
    );
    // The record says why: the rules that held, the scores, the passages.
    assert_eq!(decision.rules.len(), 3, "{:?}", decision.rules);
    assert!(!decision.retrieved.is_empty());
    assert!(decision.signals.as_ref().unwrap().confidence > 0.0);
    let (team, priority, tags): (Option<String>, String, Vec<String>) =
        sqlx::query_as("select team, priority, tags from conversation where conversation_id = $1")
            .bind(conversation)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(team.as_deref(), Some("logistics"));
    assert_eq!(priority, "high");
    assert_eq!(tags, vec!["shipping".to_owned()]);
    let recorded: i64 = sqlx::query_scalar(
        "select count(*) from decision where conversation_id = $1 and record->'handoff'->>'trigger' = 'rule'",
    )
    .bind(conversation)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(recorded, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_sensitive_topic_hands_off_unless_the_admin_disables_it(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    // Close in topic, but ordinary: answered from the help centre.
    let (_, outcome) = ask(&app, "how do I reset my password?").await;
    assert!(matches!(outcome, EventBody::AiAnswer { .. }), "{outcome:?}");
    let (_, outcome) = ask(&app, "I was charged twice for my lamp").await;
    assert!(
        matches!(&outcome, EventBody::StatusChange { reason: Some(HandoffReason::Sensitive { category, .. }), .. } if category == "billing_dispute"),
        "{outcome:?}"
    );

    let mut p = policy(&app).await;
    for c in &mut p.categories {
        c.enabled = c.name != "billing_dispute";
    }
    settings::save(&pool, app.workspace_id, &p).await.unwrap();
    let (_, outcome) = ask(&app, "I was charged twice for my lamp").await;
    assert!(
        !matches!(
            &outcome,
            EventBody::StatusChange {
                reason: Some(HandoffReason::Sensitive { .. }),
                ..
            }
        ),
        "{outcome:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn replay_shows_what_another_threshold_would_change(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    for question in [
        "how long do refunds take?",
        "can I pay with PayPal?",
        "What is the capital of Mongolia?",
        "I was charged twice for my lamp",
    ] {
        ask(&app, question).await;
    }
    let current = policy(&app).await;
    let same = replay::replay(
        &pool,
        &app.state.engines.embedder,
        app.workspace_id,
        &current,
        &current,
    )
    .await
    .unwrap();
    assert_eq!(same.decisions, 4);
    assert_eq!(
        same.handed_off_before, 2,
        "the off-topic question and the billing dispute"
    );
    assert!(same.changed.is_empty(), "{:?}", same.changed);

    let strict = Policy {
        threshold: Confidence::new(0.99).unwrap(),
        ..current.clone()
    };
    let replayed = replay::replay(
        &pool,
        &app.state.engines.embedder,
        app.workspace_id,
        &current,
        &strict,
    )
    .await
    .unwrap();
    assert_eq!(replayed.handed_off_after, 4);
    assert_eq!(replayed.changed.len(), 2);
    assert!(replayed
        .changed
        .iter()
        .all(|r| r.before.is_none() && r.after.as_deref() == Some("AI unsure")));

    // A rule replays too, and nothing was saved by replaying.
    let with_rule = Policy {
        rules: vec![rule(
            "PayPal to billing",
            vec![Condition::Phrase {
                pattern: "paypal".into(),
            }],
            RuleAction::HandOff,
        )],
        ..current.clone()
    };
    let replayed = replay::replay(
        &pool,
        &app.state.engines.embedder,
        app.workspace_id,
        &current,
        &with_rule,
    )
    .await
    .unwrap();
    assert_eq!(replayed.changed.len(), 1);
    assert_eq!(
        replayed.changed[0].after.as_deref(),
        Some("rule: PayPal to billing")
    );

    // So does a category switched off.
    let mut lenient = current.clone();
    for c in &mut lenient.categories {
        c.enabled = c.name != "billing_dispute";
    }
    let replayed = replay::replay(
        &pool,
        &app.state.engines.embedder,
        app.workspace_id,
        &current,
        &lenient,
    )
    .await
    .unwrap();
    assert_eq!(replayed.changed.len(), 1, "{:?}", replayed.changed);
    assert_eq!(
        replayed.changed[0].before.as_deref(),
        Some("sensitive: billing_dispute")
    );
    assert_eq!(policy(&app).await, current);
}

#[sqlx::test(migrations = "../migrations")]
async fn unhelpful_answers_in_a_row_trigger_a_rule(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let mut p = policy(&app).await;
    p.rules = vec![rule(
        "An unhelpful answer",
        vec![Condition::UnhelpfulInARow { at_least: 1 }],
        RuleAction::HandOff,
    )];
    settings::save(&pool, app.workspace_id, &p).await.unwrap();
    let mut visitor = app.visitor(None, 0).await;
    visitor.ask("how long do refunds take?").await;
    let _ = visitor.until(stored).await;
    let (answer, _) = visitor.until(stored).await;
    assert!(matches!(answer, EventBody::AiAnswer { .. }), "{answer:?}");
    // The visitor rates the answer down.
    let seq: i64 = sqlx::query_scalar(
        "select max(seq) from event where conversation_id = $1 and kind = 'ai_answer'",
    )
    .bind(visitor.conversation_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into answer_feedback (conversation_id, seq, helpful) values ($1, $2, false)",
    )
    .bind(visitor.conversation_id)
    .bind(seq)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        replay::unhelpful_in_a_row(pool.ws(app.workspace_id), visitor.conversation_id)
            .await
            .unwrap(),
        1
    );
    visitor.ask("can I pay with PayPal?").await;
    let _ = visitor.until(stored).await;
    let (seq, _) = visitor
        .until(|m| match m {
            ServerMsg::Event { event } => Some(event.seq),
            _ => None,
        })
        .await;
    let handoff = team_view(&app, visitor.conversation_id, seq).await;
    assert!(
        matches!(&handoff, EventBody::StatusChange { reason: Some(HandoffReason::Rule { rule, .. }), .. } if rule == "An unhelpful answer"),
        "{handoff:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn an_invalid_policy_is_refused_with_the_reason(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let mut p = policy(&app).await;
    p.categories[0].phrases.push("/(unclosed/".into());
    let err = settings::save(&pool, app.workspace_id, &p)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not valid"), "{err}");

    let mut p = policy(&app).await;
    p.generator = GeneratorSettings::OpenAi {
        base_url: "ftp://example.com".into(),
        model: "m".into(),
        api_key: String::new(),
    };
    let err = settings::save(&pool, app.workspace_id, &p)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("http"), "{err}");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_openai_generator_answers_live_and_its_key_stays_on_the_server(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let model = FakeModel::spawn(answer(&[
        "Refunds reach you within ",
        "5 business days [1].",
    ]))
    .await;
    let mut p = policy(&app).await;
    p.generator = GeneratorSettings::OpenAi {
        base_url: model.base_url.clone(),
        model: "m".into(),
        api_key: "sk-secret".into(),
    };
    settings::save(&pool, app.workspace_id, &p).await.unwrap();
    // The browser never gets the key back; saving without it keeps it.
    let redacted = settings::redacted(policy(&app).await);
    assert!(
        matches!(&redacted.generator, GeneratorSettings::OpenAi { api_key, .. } if api_key.is_empty())
    );
    settings::save(&pool, app.workspace_id, &redacted)
        .await
        .unwrap();
    assert!(
        matches!(policy(&app).await.generator, GeneratorSettings::OpenAi { api_key, .. } if api_key == "sk-secret")
    );
    // Another endpoint never gets the stored key.
    let elsewhere = Policy {
        generator: GeneratorSettings::OpenAi {
            base_url: "https://elsewhere.example/v1".into(),
            model: "m".into(),
            api_key: String::new(),
        },
        ..redacted.clone()
    };
    settings::save(&pool, app.workspace_id, &elsewhere)
        .await
        .unwrap();
    assert!(
        matches!(policy(&app).await.generator, GeneratorSettings::OpenAi { api_key, .. } if api_key.is_empty())
    );
    settings::save(&pool, app.workspace_id, &p).await.unwrap();

    let mut visitor = app.visitor(None, 0).await;
    visitor.ask("how long do refunds take?").await;
    let _ = visitor.until(stored).await;
    let (answer, seen) = visitor.until(stored).await;
    let EventBody::AiAnswer {
        text, citations, ..
    } = answer
    else {
        panic!("expected an answer, got {answer:?}");
    };
    assert_eq!(text, "Refunds reach you within 5 business days [1].");
    assert_eq!(citations.len(), 1);
    let streamed: String = seen
        .iter()
        .filter_map(|m| match m {
            ServerMsg::AiToken { delta, .. } => Some(delta.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(streamed, text, "the pieces streamed are the answer stored");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_model_reply_citing_nothing_given_is_not_an_answer(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let model = FakeModel::spawn(answer(&["Refunds take a year [9]."])).await;
    let mut p = policy(&app).await;
    p.generator = GeneratorSettings::OpenAi {
        base_url: model.base_url.clone(),
        model: "m".into(),
        api_key: String::new(),
    };
    settings::save(&pool, app.workspace_id, &p).await.unwrap();
    let (_, outcome) = ask(&app, "how long do refunds take?").await;
    assert!(
        matches!(
            &outcome,
            EventBody::StatusChange {
                reason: Some(HandoffReason::NotGrounded),
                ..
            }
        ),
        "{outcome:?}"
    );
    let answers: i64 = sqlx::query_scalar("select count(*) from event where kind = 'ai_answer'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(answers, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn eval_prints_the_figures_per_kind(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let cases = tandem::eval::parse(concat!(
        r#"{"id": "a1", "kind": "answerable", "question": "How long do refunds take?", "gold_pages": ["refunds.html"], "answer_facts": ["5 business days"]}"#,
        "\n",
        r#"{"id": "u1", "kind": "unanswerable", "question": "What is the capital of Mongolia?"}"#,
        "\n",
        r#"{"id": "h1", "kind": "human_request", "question": "I want to speak to a real person"}"#,
        "\n",
        r#"{"id": "n1", "kind": "not_human_request", "question": "how do I add a human user role"}"#,
        "\n",
        r#"{"id": "s1", "kind": "sensitive", "category": "billing_dispute", "question": "There is a payment on my card I did not make"}"#,
        "\n",
        r#"{"id": "o1", "kind": "not_sensitive", "question": "Do you ship to Canada?"}"#,
    ))
    .unwrap();
    let p = policy(&app).await;
    let generator = tandem::answer::generator(
        &p.generator,
        &app.state.engines.outbound,
        std::time::Duration::ZERO,
    );
    let (report, outcomes) = tandem::eval::run(
        &pool,
        &app.state.engines.embedder,
        &p,
        generator.as_ref(),
        app.workspace_id,
        &cases,
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(outcomes.len(), 6);
    assert_eq!(report.answerable.n, 1);
    assert_eq!(report.answerable.recall_at_5, 1.0);
    assert_eq!(report.answerable.answered_rate, 1.0);
    assert_eq!(report.answerable.fact_rate, 1.0);
    assert_eq!(report.unanswerable.handoff_rate, 1.0);
    assert_eq!(report.human_request.detection_rate, 1.0);
    assert_eq!(report.not_human_request.false_rate, 0.0);
    assert_eq!(report.sensitive.detection_rate, 1.0);
    assert_eq!(report.not_sensitive.false_rate, 0.0);
    assert!(report.latency_ms.p50 > 0.0);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["answerable"]["n"], 1);
}
