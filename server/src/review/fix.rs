//! Fixes made from a topic (recorded with the topic's centre and questions),
//! and the re-test: the topic's questions through the answer engine again.

use app::types::policy::{Condition, Policy, Rule, RuleAction};
use app::types::review::{FixView, Retest, RetestRow, Verdict};
use app::types::Decision;
use sqlx::PgPool;
use uuid::Uuid;

use super::cluster::Topic;
use super::topics::{self, Escalation};
use crate::answer::{self, generate::Generator};
use crate::db::Scope;
use crate::embed::Embedder;
use crate::policy::{DecideError, Message};

/// Questions a re-test runs, and an "always a person" rule keeps.
pub const QUESTIONS: usize = 20;

/// Records a fix made from `topic`.
pub async fn record(
    pool: &PgPool,
    workspace_id: Uuid,
    kind: &str,
    topic: &Topic,
    escalations: &[Escalation],
    target: &str,
    by: Uuid,
) -> Result<FixView, sqlx::Error> {
    let id = Uuid::new_v4();
    let (at, name): (chrono::DateTime<chrono::Utc>, Option<String>) = sqlx::query_as(
        "with fix as (
           insert into review_fix (fix_id, workspace_id, kind, topic, centre, questions, target, created_by)
           values ($1, $2, $3, $4, $5, $6, $7, $8) returning created_at)
         select fix.created_at, (select name from account where account_id = $8) from fix",
    )
    .bind(id)
    .bind(workspace_id)
    .bind(kind)
    .bind(&escalations[topic.typical()].question)
    .bind(pgvector::Vector::from(topics::centre(topic, escalations)))
    .bind(topics::questions(topic, escalations, QUESTIONS))
    .bind(target)
    .bind(by)
    .fetch_one(pool.ws(workspace_id))
    .await?;
    Ok(FixView {
        fix_id: id,
        kind: kind.to_owned(),
        target: target.to_owned(),
        by: name,
        at,
    })
}

/// The name of a topic's "always a person" rule.
pub fn rule_name(topic_name: &str) -> String {
    let short: String = topic_name.chars().take(60).collect();
    if short.len() < topic_name.len() {
        format!("Always a person: {short}…")
    } else {
        format!("Always a person: {short}")
    }
}

/// `policy` with a rule that hands `questions`' meaning to a person (the
/// rule replaced if the topic already has one).
pub fn with_rule(mut policy: Policy, name: &str, questions: Vec<String>) -> Policy {
    policy.rules.retain(|r| r.name != name);
    policy.rules.push(Rule {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        enabled: true,
        conditions: vec![Condition::Like { questions }],
        action: RuleAction::HandOff,
    });
    policy
}

fn before(decision: &Decision) -> Verdict {
    Verdict {
        answered: decision.answered,
        reason: decision.handoff.as_ref().map(|h| topics::detail(Some(h))),
        confidence: decision.confidence.value(),
        citations: Vec::new(),
    }
}

/// Runs each of the topic's questions (distinct, most typical first) through
/// the answer engine under the workspace's current knowledge and policy;
/// nothing is stored or sent to anyone.
pub async fn retest(
    pool: &PgPool,
    embedder: &Embedder,
    policy: &Policy,
    generator: &dyn Generator,
    workspace_id: Uuid,
    topic: &Topic,
    escalations: &[Escalation],
) -> Result<Retest, DecideError> {
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::new();
    for &m in &topic.members {
        let e = &escalations[m];
        if !seen.insert(e.question.trim().to_lowercase()) {
            continue;
        }
        if rows.len() == QUESTIONS {
            break;
        }
        let signals = e.decision.signals.as_deref();
        let message = Message {
            workspace_id,
            text: e.question.clone(),
            page_url: signals.and_then(|s| s.page_url.clone()),
            attributes: signals.map(|s| s.attributes.clone()).unwrap_or_default(),
            unhelpful_in_a_row: 0,
            at: Some(chrono::Utc::now()),
            history: Vec::new(),
            parts: Vec::new(),
        };
        let (out, _pieces) = tokio::sync::mpsc::unbounded_channel();
        let response = answer::respond(pool, embedder, policy, generator, &message, &out).await?;
        let after = Verdict {
            answered: response.decision.answered,
            reason: response
                .decision
                .handoff
                .as_ref()
                .map(|h| topics::detail(Some(h))),
            confidence: response.decision.confidence.value(),
            citations: response
                .answer
                .map(|a| a.citations.into_iter().map(|c| c.title).collect())
                .unwrap_or_default(),
        };
        rows.push(RetestRow {
            question: e.question.clone(),
            before: before(&e.decision),
            after,
        });
    }
    Ok(Retest {
        answered_before: rows.iter().filter(|r| r.before.answered).count() as u32,
        answered_after: rows.iter().filter(|r| r.after.answered).count() as u32,
        rows,
    })
}
