//! Replay: the workspace's past decisions under a candidate policy, from the
//! signals stored with each, so an admin sees what a new threshold or rule
//! set would change before saving it.

use app::types::policy::{Policy, Replay, ReplayRow, SensitiveMatch, Signals};
use app::types::{Decision, HandoffReason};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::PgPool;
use uuid::Uuid;

use super::detect::Phrases;
use super::intent::Intents;
use crate::db::{InWorkspace, Scope};
use crate::embed::{cosine, EmbedError, Embedder, Role};

/// How many of the most recent decisions a replay covers.
pub const REPLAYED: i64 = 2000;
/// How many changed rows are listed.
const LISTED: usize = 200;

#[derive(sqlx::FromRow)]
struct DecisionRow {
    conversation_id: Option<Uuid>,
    question: String,
    record: Json<Decision>,
    created_at: DateTime<Utc>,
    embedding: Option<pgvector::Vector>,
}

/// The questions of a policy's "means the same as" conditions, embedded.
async fn like_questions(
    embedder: &Embedder,
    policy: &Policy,
) -> Result<Vec<(String, std::sync::Arc<[f32]>)>, EmbedError> {
    let questions = super::like_questions(policy);
    let vectors = embedder.embed_cached(&questions, Role::Query).await?;
    Ok(questions.into_iter().zip(vectors).collect())
}

/// Which of `questions` a past message (its embedding) means the same as.
fn like(questions: &[(String, std::sync::Arc<[f32]>)], vector: &[f32]) -> Vec<String> {
    questions
        .iter()
        .filter(|(_, v)| cosine(vector, v) >= super::LIKE_MATCH)
        .map(|(q, _)| q.clone())
        .collect()
}

/// The label of an outcome: `None` when the AI answered.
fn label(handoff: Option<&HandoffReason>) -> Option<String> {
    handoff.map(|h| match h {
        HandoffReason::Sensitive { category, .. } => format!("sensitive: {category}"),
        HandoffReason::Rule { rule, .. } => format!("rule: {rule}"),
        other => other.short().to_owned(),
    })
}

/// The signals of a past message as `policy` would see them: phrases are
/// matched again with its categories and the schedule is checked against its
/// support hours. With the message's stored embedding, requests for a person
/// and sensitive topics are recognised again by meaning with the policy's
/// examples (so an added example shows its effect); without one, a match by
/// meaning is kept if its category still exists.
fn signals_under(
    signals: &Signals,
    policy: &Policy,
    question: &str,
    at: DateTime<Utc>,
    meaning: Option<(&Intents, &[f32])>,
) -> Signals {
    let mut signals = signals.clone();
    let by_phrase = super::sensitive_by_phrase(policy, question);
    let stored = signals.sensitive.take();
    let by_meaning = match meaning {
        Some((intents, vector)) => intents.sensitive(vector).map(|t| SensitiveMatch {
            category: t.category,
            matched: stored
                .as_ref()
                .map(|s| s.matched.clone())
                .unwrap_or_default(),
            score: t.score.min(0.999),
        }),
        None => stored.filter(|s| s.score < 1.0),
    }
    .filter(|s| {
        policy
            .categories
            .iter()
            .any(|c| c.enabled && c.name == s.category)
    });
    signals.sensitive = by_phrase.or(by_meaning);
    if let Some((intents, vector)) = meaning {
        // A request found in one sentence of a longer message (no stored
        // vector of its own) stays one.
        let in_a_sentence = signals.human_request.as_ref().is_some_and(|m| {
            m.trim() != question.trim()
                && Phrases::compile(&policy.human_request.phrases)
                    .ok()
                    .and_then(|p| p.find(m))
                    .is_none()
        });
        signals.human_request = super::human_request_by_phrase(policy, question)
            .or_else(|| {
                (intents.human_request(vector) >= super::intent::HUMAN_REQUEST)
                    .then(|| question.trim().to_owned())
            })
            .or_else(|| {
                in_a_sentence
                    .then(|| signals.human_request.clone())
                    .flatten()
            });
    }
    signals.outside_hours = policy
        .support_hours
        .as_ref()
        .is_some_and(|hours| super::hours::outside(hours, at));
    signals
}

/// Replays `candidate` against what `current` (the saved policy) decides on
/// the same messages, so only the edit's effect shows. A "means the same as"
/// condition is matched again on each message's stored embedding.
pub async fn replay(
    pool: &PgPool,
    embedder: &Embedder,
    workspace_id: Uuid,
    current: &Policy,
    candidate: &Policy,
) -> Result<Replay, super::DecideError> {
    let like_now = like_questions(embedder, current).await?;
    let like_then = like_questions(embedder, candidate).await?;
    let intents_now = Intents::of(embedder, current).await?;
    let intents_then = Intents::of(embedder, candidate).await?;
    let examples_changed = current.human_request != candidate.human_request
        || current
            .categories
            .iter()
            .map(|c| (&c.name, &c.examples))
            .ne(candidate.categories.iter().map(|c| (&c.name, &c.examples)));
    if !like_now.is_empty() || !like_then.is_empty() || examples_changed {
        embed_missing(pool, embedder, workspace_id, 90).await?;
    }
    let rows = sqlx::query_as::<_, DecisionRow>(
        "select conversation_id, question, record, created_at, embedding from decision
         where workspace_id = $1 order by created_at desc limit $2",
    )
    .bind(workspace_id)
    .bind(REPLAYED)
    .fetch_all(pool.ws(workspace_id))
    .await?;
    let mut replay = Replay {
        decisions: 0,
        handed_off_before: 0,
        handed_off_after: 0,
        changed: Vec::new(),
    };
    for row in rows {
        let decision = row.record.0;
        let Some(signals) = &decision.signals else {
            continue;
        };
        // A generator's failure after the policy let it answer would recur.
        let after_generation = matches!(
            decision.handoff,
            Some(HandoffReason::NotGrounded | HandoffReason::GeneratorFailed { .. })
        );
        let under =
            |policy: &Policy, questions: &[(String, std::sync::Arc<[f32]>)], intents: &Intents| {
                let meaning = row
                    .embedding
                    .as_ref()
                    .filter(|_| examples_changed)
                    .map(|v| (intents, v.as_slice()));
                let mut signals =
                    signals_under(signals, policy, &row.question, row.created_at, meaning);
                if let Some(vector) = &row.embedding {
                    signals.like = like(questions, vector.as_slice());
                }
                match (
                    super::outcome(&signals, policy, &row.question).handoff,
                    after_generation,
                ) {
                    (None, true) => label(decision.handoff.as_ref()),
                    (handoff, _) => label(handoff.as_ref()),
                }
            };
        let before = under(current, &like_now, &intents_now);
        let after = under(candidate, &like_then, &intents_then);
        replay.decisions += 1;
        replay.handed_off_before += usize::from(before.is_some());
        replay.handed_off_after += usize::from(after.is_some());
        if before != after && replay.changed.len() < LISTED {
            replay.changed.push(ReplayRow {
                conversation_id: row.conversation_id,
                question: row.question,
                at: row.created_at,
                before,
                after,
                confidence: signals.confidence,
            });
        }
    }
    Ok(replay)
}

/// Stores a decision for the record and for later replays.
/// Where a decision was made: a conversation's AI turn, and the visitor
/// messages it dealt with (seqs after `from`, up to `upto`).
#[derive(Clone, Copy, Debug)]
pub struct Turn {
    pub conversation_id: Uuid,
    pub from: i64,
    pub upto: i64,
}

pub async fn record(
    conn: &mut sqlx::PgConnection,
    workspace_id: Uuid,
    turn: Option<Turn>,
    question: &str,
    decision: &Decision,
    answer_seq: Option<i64>,
    embedding: Option<&[f32]>,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query(
        "insert into decision (decision_id, workspace_id, conversation_id, question, record, answer_seq,
                               handled_from, handled_upto, embedding)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(workspace_id)
    .bind(turn.map(|t| t.conversation_id))
    .bind(question)
    .bind(Json(decision))
    .bind(answer_seq)
    .bind(turn.map(|t| t.from))
    .bind(turn.map(|t| t.upto))
    .bind(embedding.map(|v| pgvector::Vector::from(v.to_vec())))
    .execute(conn)
    .await?;
    Ok(id)
}

/// Unhelpful AI turns in a row at the end of the conversation: answers the
/// visitor rated down, and messages the AI could not answer.
pub async fn unhelpful_in_a_row(
    db: InWorkspace<'_>,
    conversation_id: Uuid,
) -> Result<u32, sqlx::Error> {
    let rows: Vec<(Json<Decision>, Option<bool>)> = sqlx::query_as(
        "select d.record, f.helpful from decision d
         left join answer_feedback f on f.conversation_id = d.conversation_id and f.seq = d.answer_seq
         where d.conversation_id = $1 order by d.created_at desc limit 20",
    )
    .bind(conversation_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .iter()
        .take_while(|(Json(d), helpful)| match &d.handoff {
            None => *helpful == Some(false),
            Some(h) => matches!(
                h,
                HandoffReason::LowConfidence { .. }
                    | HandoffReason::NotGrounded
                    | HandoffReason::GeneratorFailed { .. }
            ),
        })
        .count() as u32)
}

/// At most this many decisions are embedded per call (the rest next time).
const EMBEDDED_PER_CALL: i64 = 5000;

/// Embeds the workspace's decisions of the last `days` that have no
/// embedding yet (questions are compared by meaning).
pub async fn embed_missing(
    pool: &PgPool,
    embedder: &Embedder,
    workspace_id: Uuid,
    days: u32,
) -> Result<(), super::DecideError> {
    let missing: Vec<(Uuid, String)> = sqlx::query_as(
        "select decision_id, question from decision
          where workspace_id = $1 and embedding is null
            and created_at > now() - make_interval(days => $2)
          order by created_at desc limit $3",
    )
    .bind(workspace_id)
    .bind(days as i32)
    .bind(EMBEDDED_PER_CALL)
    .fetch_all(pool.ws(workspace_id))
    .await?;
    for batch in missing.chunks(64) {
        let vectors = embedder
            .embed(batch.iter().map(|(_, q)| q.clone()).collect(), Role::Query)
            .await?;
        let ids: Vec<Uuid> = batch.iter().map(|(id, _)| *id).collect();
        let vectors: Vec<pgvector::Vector> =
            vectors.into_iter().map(pgvector::Vector::from).collect();
        sqlx::query(
            "update decision d set embedding = v.embedding, embedded_with = $3
               from unnest($1::uuid[], $2::vector[]) as v(decision_id, embedding)
              where d.decision_id = v.decision_id",
        )
        .bind(&ids)
        .bind(&vectors)
        .bind(embedder.name())
        .execute(pool.ws(workspace_id))
        .await?;
    }
    Ok(())
}
