//! Learning from escalations: grouping escalated questions into topics on a
//! fixed set (the eval set's sensitive questions and requests for a person,
//! embedded by the real model); a gap found, fixed from its topic and
//! re-tested; the dashboard's definitions and the CSV export.

use std::collections::HashMap;

use app::error::DeskError;
use app::types::policy::Condition;
use app::types::review::{Outcome, Rate, ReasonKind};
use app::types::{ClientMsg, ConversationStatus, EventBody, ServerMsg, ThreadEvent};
use sqlx::PgPool;
use tandem::review::cluster::{topics, Topics};
use uuid::Uuid;

use crate::helpers::desks::*;
use crate::helpers::{embedder, Client, TestApp};

/// Up to `per_kind` questions of each label, in file order.
fn fixed_set(per_kind: usize) -> Vec<(String, String)> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/eval/tune.jsonl");
    let text = std::fs::read_to_string(&path).expect("the eval set (../shared/eval)");
    let mut taken: HashMap<String, usize> = HashMap::new();
    let mut set = Vec::new();
    for line in text.lines() {
        let item: serde_json::Value = serde_json::from_str(line).unwrap();
        let label = match (item["kind"].as_str(), item["category"].as_str()) {
            (Some("sensitive"), Some(category)) => category.to_owned(),
            (Some("human_request"), _) => "human_request".to_owned(),
            _ => continue,
        };
        let n = taken.entry(label.clone()).or_default();
        if *n < per_kind {
            *n += 1;
            set.push((label, item["question"].as_str().unwrap().to_owned()));
        }
    }
    set
}

#[tokio::test]
async fn escalated_questions_group_by_what_they_are_about() {
    let set = fixed_set(30);
    let embeddings = embedder()
        .embed(
            set.iter().map(|(_, q)| q.clone()).collect(),
            tandem::embed::Role::Query,
        )
        .await
        .unwrap();
    let found = topics(&embeddings, Topics::default());
    // Purity: each topic counts for its most common label.
    let mut pure = 0;
    for topic in &found {
        let mut labels: HashMap<&str, usize> = HashMap::new();
        for &m in &topic.members {
            *labels.entry(set[m].0.as_str()).or_default() += 1;
        }
        pure += labels.values().max().copied().unwrap_or(0);
        let largest = topic.members.len() > 4;
        if largest {
            println!(
                "topic of {} (cohesion {:.2}): {:?} — {:?}",
                topic.members.len(),
                topic.cohesion,
                set[topic.typical()].1,
                labels
            );
        }
    }
    let purity = pure as f32 / set.len() as f32;
    let in_large: usize = found
        .iter()
        .filter(|t| t.members.len() >= 3)
        .map(|t| t.members.len())
        .sum();
    println!(
        "{} questions, {} topics, purity {purity:.2}, {in_large} in topics of 3 or more",
        set.len(),
        found.len()
    );
    assert_eq!(set.len(), 30 * 4);
    assert!(purity >= 0.8, "purity {purity:.2}");
    assert!(
        in_large as f32 >= 0.6 * set.len() as f32,
        "only {in_large} grouped"
    );
}

/// Asks `text` and returns what came back: the AI's answer or the handoff.
async fn answer_to(visitor: &mut Client, text: &str) -> ThreadEvent {
    let id = visitor.ask(text).await;
    visitor
        .until(|m| {
            matches!(m, ServerMsg::Ack { client_id, seq: Some(_) } if *client_id == id)
                .then_some(())
        })
        .await;
    visitor
        .until(|m| match m {
            ServerMsg::Event { event }
                if !matches!(event.body, EventBody::VisitorMessage { .. }) =>
            {
                Some(event.clone())
            }
            _ => None,
        })
        .await
        .0
}

async fn ask(app: &TestApp, text: &str) -> (Client, ThreadEvent) {
    let mut visitor = app.visitor(None, 0).await;
    let event = answer_to(&mut visitor, text).await;
    (visitor, event)
}

fn is_handoff(event: &ThreadEvent) -> bool {
    matches!(
        event.body,
        EventBody::StatusChange {
            status: ConversationStatus::WaitingHuman,
            ..
        }
    )
}

/// Waits until the visitor's chat shows the conversation resolved.
async fn until_resolved(visitor: &mut Client) {
    visitor
        .until(|m| match m {
            ServerMsg::Event { event }
                if matches!(
                    event.body,
                    EventBody::StatusChange {
                        status: ConversationStatus::Resolved,
                        ..
                    }
                ) =>
            {
                Some(())
            }
            _ => None,
        })
        .await;
}

const REPLY: &str = "Yes: students get 20% off any Nimbus lamp with a valid student card. \
Show it at checkout or email it to us.";

#[sqlx::test(migrations = "../migrations")]
async fn a_gap_is_fixed_from_its_topic_and_the_retest_shows_it(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let desk = &app.state.desk;
    let admin = app.admin().await;
    // Two visitors ask what the site does not say; someone asks for a person.
    let (first, asked) = ask(&app, "Do you offer a student discount?").await;
    assert!(is_handoff(&asked), "{asked:?}");
    let (_, asked) = ask(&app, "Is there a discount for students?").await;
    assert!(is_handoff(&asked), "{asked:?}");
    let (_, asked) = ask(&app, "I want to talk to a human please").await;
    assert!(is_handoff(&asked), "{asked:?}");
    // The team answers the first.
    let session = app.session().await;
    let mut alex = app.agent_socket(&session, first.conversation_id, 0).await;
    alex.act(ClientMsg::Claim {
        client_id: Uuid::new_v4(),
    })
    .await
    .unwrap();
    alex.reply(REPLY).await;

    // Review: the two questions are one topic, unsure, with nothing relevant.
    let overview = desk.review(&admin, 30).await.unwrap();
    assert_eq!(overview.escalations, 3, "{overview:?}");
    assert_eq!(overview.topics.len(), 2, "{overview:?}");
    let topic = overview
        .topics
        .iter()
        .find(|t| t.escalations == 2)
        .expect("the student topic");
    assert!(topic.name.to_lowercase().contains("student"), "{topic:?}");
    assert_eq!(topic.reasons, vec![(ReasonKind::Unsure, 2)]);
    assert_eq!(topic.conversations, 2);
    assert_eq!(topic.trend.iter().sum::<u32>(), 2);
    assert_eq!(topic.trend.last(), Some(&2), "this week's");
    assert!(
        !topic.passages.is_empty(),
        "its passages and scores are shown"
    );
    let person = overview.topics.iter().find(|t| t.escalations == 1).unwrap();
    assert_eq!(person.reasons, vec![(ReasonKind::AskedForPerson, 1)]);

    // The topic opened: its conversations and the team's answer.
    let detail = desk.review_topic(&admin, topic.key, 30).await.unwrap();
    assert_eq!(detail.escalations.len(), 2);
    let answered = detail
        .escalations
        .iter()
        .find(|e| e.conversation_id == Some(first.conversation_id))
        .unwrap();
    assert_eq!(answered.replies.len(), 1);
    assert_eq!(answered.replies[0].text, REPLY);
    assert_eq!(
        answered.replies[0].agent.as_deref(),
        Some(admin.profile.name.as_str())
    );

    // Re-test before any fix: still handed off.
    let before = desk.retest_topic(&admin, topic.key, 30).await.unwrap();
    assert_eq!(before.rows.len(), 2);
    assert_eq!(before.answered_after, 0, "{before:?}");

    // The fix: a snippet from the agent's reply. Re-test: both answered, citing it.
    desk.fix_with_snippet(
        &admin,
        topic.key,
        30,
        "Do you offer a student discount?".into(),
        REPLY.into(),
    )
    .await
    .unwrap();
    let after = desk.retest_topic(&admin, topic.key, 30).await.unwrap();
    println!(
        "re-test: answered {} of {} before, {} after",
        after.answered_before,
        after.rows.len(),
        after.answered_after
    );
    assert_eq!(after.answered_after, 2, "{after:?}");
    for row in &after.rows {
        assert!(
            row.before.reason.as_deref().unwrap().starts_with("unsure"),
            "{row:?}"
        );
        assert!(row.after.confidence > row.before.confidence, "{row:?}");
        assert!(
            row.after
                .citations
                .iter()
                .any(|c| c.contains("student discount")),
            "{row:?}"
        );
    }
    // A re-test stores nothing and sends nothing.
    let decisions: i64 = sqlx::query_scalar("select count(*) from decision")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(decisions, 3);

    // A website behind the passages can be re-crawled from the topic; snippets cannot.
    let website = topic
        .passages
        .iter()
        .find(|p| p.source_kind == Some(app::knowledge::SourceKind::Website))
        .and_then(|p| p.source_id)
        .expect("the demo site's passages");
    let recrawled = desk
        .fix_by_recrawl(&admin, topic.key, 30, website)
        .await
        .unwrap();
    assert_eq!(recrawled.kind, "recrawl");
    let queued: i64 = sqlx::query_scalar(
        "select count(*) from ingest_job where source_id = $1 and status = 'queued'",
    )
    .bind(website)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(queued, 1);
    let snippets: Uuid = sqlx::query_scalar("select source_id from source where kind = 'snippets'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(matches!(
        desk.fix_by_recrawl(&admin, topic.key, 30, snippets).await,
        Err(DeskError::Invalid(_))
    ));

    // The fixes are on the topic; a visitor asking now is answered, and counts after them.
    let (_, now) = ask(&app, "do students get a discount?").await;
    assert!(matches!(now.body, EventBody::AiAnswer { .. }), "{now:?}");
    let detail = desk.review_topic(&admin, topic.key, 30).await.unwrap();
    let kinds: Vec<&str> = detail.fixes.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(kinds, ["recrawl", "snippet"], "newest first");
    let effect = detail.summary.last_fix.expect("the topic's last fix");
    assert_eq!(effect.before, Rate { count: 2, total: 2 });
    assert_eq!(effect.after, Rate { count: 0, total: 1 });

    // "Always a person": an admin rule on the topic's questions; the re-test hands off by it.
    let rule = desk
        .always_a_person(&admin, topic.key, 30)
        .await
        .unwrap()
        .target;
    let policy = desk.policy(&admin).await.unwrap();
    let saved = policy
        .rules
        .iter()
        .find(|r| r.name == rule)
        .expect("the rule");
    let Condition::Like { questions } = &saved.conditions[0] else {
        panic!("{saved:?}");
    };
    assert_eq!(questions.len(), 2, "{questions:?}");
    let ruled = desk.retest_topic(&admin, topic.key, 30).await.unwrap();
    assert_eq!(ruled.answered_after, 0, "{ruled:?}");
    for row in &ruled.rows {
        assert_eq!(
            row.after.reason.as_deref(),
            Some(format!("rule: {rule}").as_str())
        );
    }
    // Replaying the policy without the rule shows which past questions it catches.
    let mut without = policy.clone();
    without.rules.retain(|r| r.name != rule);
    let replayed = desk.replay_policy(&admin, without).await.unwrap();
    let caught: Vec<_> = replayed
        .changed
        .iter()
        .filter(|r| r.before.as_deref() == Some(format!("rule: {rule}").as_str()))
        .collect();
    assert_eq!(caught.len(), 3, "{replayed:?}");
    // An unrelated question is still answered.
    let (_, refunds) = ask(&app, "How long do refunds take?").await;
    assert!(
        matches!(refunds.body, EventBody::AiAnswer { .. }),
        "{refunds:?}"
    );
    assert_eq!(
        desk.review_topic(&admin, topic.key, 30)
            .await
            .unwrap()
            .fixes
            .len(),
        3
    );
}

/// Moves a conversation and its events `by` into the past.
async fn backdate(pool: &PgPool, conversation: Uuid, by: &str) {
    for sql in [
        "update conversation set created_at = created_at - $2::interval where conversation_id = $1",
        "update event set created_at = created_at - $2::interval where conversation_id = $1",
        "update decision set created_at = created_at - $2::interval where conversation_id = $1",
    ] {
        sqlx::query(sql)
            .bind(conversation)
            .bind(by)
            .execute(pool)
            .await
            .unwrap();
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_dashboard_counts_outcomes_by_their_definitions(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let desk = &app.state.desk;
    let admin = app.admin().await;
    let refunds = "How long do refunds take?";

    // A: answered, 8 days ago: AI-resolved.
    let (a, answer) = ask(&app, refunds).await;
    assert!(
        matches!(answer.body, EventBody::AiAnswer { .. }),
        "{answer:?}"
    );
    backdate(&pool, a.conversation_id, "8 days").await;
    // B: answered, and the visitor came back 3 hours later: not resolved.
    let (mut b, answer) = ask(&app, refunds).await;
    assert!(matches!(answer.body, EventBody::AiAnswer { .. }));
    backdate(&pool, b.conversation_id, "3 hours").await;
    let again = answer_to(&mut b, "And how do I reset my password?").await;
    assert!(
        matches!(again.body, EventBody::AiAnswer { .. }),
        "{again:?}"
    );
    backdate(&pool, b.conversation_id, "8 days").await;
    // C: answered but rated down: not resolved.
    let (mut c, answer) = ask(&app, refunds).await;
    c.send(&ClientMsg::Rate {
        seq: answer.seq,
        helpful: false,
    })
    .await;
    // The rating is stored (it has no acknowledgement of its own).
    for _ in 0..100 {
        let rated: i64 = sqlx::query_scalar(
            "select count(*) from answer_feedback where conversation_id = $1 and not helpful",
        )
        .bind(c.conversation_id)
        .fetch_one(&pool)
        .await
        .unwrap();
        if rated == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    backdate(&pool, c.conversation_id, "8 days").await;
    // D: asked for a person, answered, resolved, then reopened by the visitor.
    let mut d = app.visitor(None, 0).await;
    d.act(ClientMsg::TalkToTeam {
        client_id: Uuid::new_v4(),
    })
    .await
    .unwrap();
    let session = app.session().await;
    let mut alex = app.agent_socket(&session, d.conversation_id, 0).await;
    alex.reply("Hello, how can I help?").await;
    alex.act(ClientMsg::Resolve {
        client_id: Uuid::new_v4(),
    })
    .await
    .unwrap();
    until_resolved(&mut d).await;
    let reopened = answer_to(&mut d, "Actually one more thing").await;
    assert!(is_handoff(&reopened), "{reopened:?}");
    // E: answered today: AI so far, not counted in the settled rate.
    let (e, answer) = ask(&app, refunds).await;
    assert!(matches!(answer.body, EventBody::AiAnswer { .. }));
    // F: opened the chat and never wrote: not a conversation at all.
    let f = app.visitor(None, 0).await;
    // G: opened the chat 8 days ago but asked only today: started today.
    let mut g = app.visitor(None, 0).await;
    backdate(&pool, g.conversation_id, "8 days").await;
    let answer = answer_to(&mut g, refunds).await;
    assert!(
        matches!(answer.body, EventBody::AiAnswer { .. }),
        "{answer:?}"
    );
    // H: with reopened conversations going back to the AI, one an agent
    // resolved without a word, which the visitor writes to again: reopened.
    let mut settings = desk.team_admin(&admin).await.unwrap().settings;
    settings.reopen_to_ai = true;
    desk.save_inbox_settings(&admin, settings).await.unwrap();
    let (mut h, answer) = ask(&app, refunds).await;
    assert!(matches!(answer.body, EventBody::AiAnswer { .. }));
    let mut sam_h = app.agent_socket(&session, h.conversation_id, 0).await;
    sam_h
        .act(ClientMsg::Resolve {
            client_id: Uuid::new_v4(),
        })
        .await
        .unwrap();
    until_resolved(&mut h).await;
    let back = answer_to(&mut h, refunds).await;
    assert!(
        matches!(
            &back.body,
            EventBody::StatusChange {
                status: ConversationStatus::Ai,
                ..
            }
        ),
        "{back:?}"
    );
    let (again, _) = h
        .until(|m| match m {
            ServerMsg::Event { event }
                if matches!(
                    event.body,
                    EventBody::AiAnswer { .. } | EventBody::StatusChange { .. }
                ) =>
            {
                Some(event.clone())
            }
            _ => None,
        })
        .await;
    assert!(
        matches!(again.body, EventBody::AiAnswer { .. }),
        "{again:?}"
    );
    backdate(&pool, h.conversation_id, "8 days").await;

    let facts = tandem::review::metrics::facts(
        &pool,
        app.workspace_id,
        chrono::Utc::now() - chrono::Duration::days(30),
    )
    .await
    .unwrap();
    let now = chrono::Utc::now();
    let outcome = |id: Uuid| {
        tandem::review::metrics::outcome(
            facts.iter().find(|f| f.conversation_id == id).unwrap(),
            now,
        )
    };
    assert_eq!(outcome(a.conversation_id), Outcome::AiResolved);
    assert_eq!(outcome(b.conversation_id), Outcome::AiUnresolved);
    assert_eq!(outcome(c.conversation_id), Outcome::AiUnresolved);
    assert_eq!(outcome(d.conversation_id), Outcome::HandedOff);
    assert_eq!(outcome(e.conversation_id), Outcome::AiSoFar);
    assert_eq!(outcome(g.conversation_id), Outcome::AiSoFar);
    assert_eq!(outcome(h.conversation_id), Outcome::AiUnresolved);
    assert!(facts.iter().all(|x| x.conversation_id != f.conversation_id));
    let d_facts = facts
        .iter()
        .find(|f| f.conversation_id == d.conversation_id)
        .unwrap();
    assert!(d_facts.reopened, "{d_facts:?}");
    assert_eq!(d_facts.first_reason.as_deref(), Some("human_requested"));
    assert!(d_facts.first_reply_secs().is_some());

    let dash = desk.dashboard(&admin, 30).await.unwrap();
    assert_eq!(dash.conversations, 7, "A to H but F");
    assert_eq!(
        dash.ai_resolved,
        Rate { count: 1, total: 4 },
        "A of A, B, C, H"
    );
    assert_eq!(
        dash.ai_resolved_so_far,
        Rate { count: 3, total: 7 },
        "A, E and G"
    );
    assert_eq!(dash.handed_off, Rate { count: 1, total: 7 });
    assert_eq!((dash.thumbs_up, dash.thumbs_down), (0, 1));
    assert!(dash.first_reply_median_secs.is_some());
    assert_eq!(dash.charts.len(), 5);
    for chart in &dash.charts {
        assert!(
            chart.svg.starts_with("<svg") && chart.svg.ends_with("</svg>"),
            "{}",
            chart.title
        );
    }
    let by_reason = &dash.charts[1];
    assert!(
        by_reason.svg.contains("asked for a person"),
        "{}",
        by_reason.svg
    );
    assert!(
        dash.charts[0].caption.contains("1 AI-resolved"),
        "{}",
        dash.charts[0].caption
    );

    // The CSV export: admins only, one line per conversation with its outcome.
    let client = reqwest::Client::new();
    let get = |cookie: Option<String>| {
        let mut request = client.get(app.url("/admin/export/conversations.csv?days=30"));
        if let Some(cookie) = cookie {
            request = request.header("cookie", format!("tandem_session={cookie}"));
        }
        request.send()
    };
    assert_eq!(get(None).await.unwrap().status(), 401);
    let (_, sam) = app
        .account(
            app.workspace_id,
            "sam@nimbus.example",
            "Sam",
            "agent-password-1",
            "agent",
        )
        .await;
    assert_eq!(get(Some(sam)).await.unwrap().status(), 403);
    let response = get(Some(session)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 8, "{csv}");
    assert!(lines[0].starts_with("conversation_id,started_at,status,outcome"));
    let line_of = |id: Uuid| {
        *lines
            .iter()
            .find(|l| l.starts_with(&id.to_string()))
            .unwrap()
    };
    assert!(
        line_of(a.conversation_id).contains(",ai_resolved,"),
        "{csv}"
    );
    assert!(
        line_of(b.conversation_id).contains(",ai_unresolved,"),
        "{csv}"
    );
    let d_line = line_of(d.conversation_id);
    assert!(
        d_line.contains(",handed_off,") && d_line.contains(",human_requested,"),
        "{d_line}"
    );
}
