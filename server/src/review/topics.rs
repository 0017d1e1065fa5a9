//! The window's escalations grouped into topics, each with its count, trend,
//! reasons and what retrieval found; a topic opened with its conversations
//! and the team's replies.

use app::types::knowledge::SourceKind;
use std::collections::{HashMap, HashSet};

use app::types::review::{
    AgentReply, EscalationView, FixEffect, FixView, PassageScore, Rate, ReasonKind, TopicDetail,
    TopicSummary, RELEVANT,
};
use app::types::{Decision, EventBody, HandoffReason};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::PgPool;
use uuid::Uuid;

use super::cluster::{self, Topic, Topics};
use crate::db::{InWorkspace, Scope};
use crate::embed::{cosine, Embedder};
use crate::policy::DecideError;

/// At most this many escalations are grouped (the most recent).
pub const GROUPED: i64 = 2000;
/// Passages shown per question.
const PASSAGES: usize = 3;

/// One escalated question.
#[derive(Clone, Debug)]
pub struct Escalation {
    pub decision_id: Uuid,
    pub conversation_id: Option<Uuid>,
    pub question: String,
    pub decision: Decision,
    pub at: DateTime<Utc>,
    pub vector: Vec<f32>,
}

impl Escalation {
    fn reason(&self) -> ReasonKind {
        self.decision
            .handoff
            .as_ref()
            .map_or(ReasonKind::Unsure, ReasonKind::of)
    }
}

/// The reason in full, as an admin reads it.
pub fn detail(reason: Option<&HandoffReason>) -> String {
    match reason {
        Some(HandoffReason::Sensitive { category, .. }) => format!("sensitive: {category}"),
        Some(HandoffReason::Rule { rule, .. }) => format!("rule: {rule}"),
        Some(HandoffReason::LowConfidence {
            confidence,
            threshold,
        }) => format!(
            "unsure: confidence {:.2} < {:.2}",
            confidence.value(),
            threshold.value()
        ),
        Some(other) => other.short().to_owned(),
        None => "answered".to_owned(),
    }
}

#[derive(sqlx::FromRow)]
struct EscalationRow {
    decision_id: Uuid,
    conversation_id: Option<Uuid>,
    question: String,
    record: Json<Decision>,
    created_at: DateTime<Utc>,
    embedding: pgvector::Vector,
}

/// The workspace's escalated questions of the last `days`, oldest first
/// (embedded first if needed).
pub async fn escalations(
    pool: &PgPool,
    embedder: &Embedder,
    workspace_id: Uuid,
    days: u32,
) -> Result<Vec<Escalation>, DecideError> {
    crate::policy::replay::embed_missing(pool, embedder, workspace_id, days).await?;
    let rows = sqlx::query_as::<_, EscalationRow>(
        "select * from (
           select decision_id, conversation_id, question, record, created_at, embedding
             from decision
            where workspace_id = $1 and embedding is not null
              and created_at > now() - make_interval(days => $2)
              and not (record->>'answered')::boolean
            order by created_at desc limit $3) recent
          order by created_at",
    )
    .bind(workspace_id)
    .bind(days as i32)
    .bind(GROUPED)
    .fetch_all(pool.ws(workspace_id))
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Escalation {
            decision_id: r.decision_id,
            conversation_id: r.conversation_id,
            question: r.question,
            decision: r.record.0,
            at: r.created_at,
            vector: r.embedding.to_vec(),
        })
        .collect())
}

/// Groups escalations into topics, the largest first.
pub fn group(escalations: &[Escalation]) -> Vec<Topic> {
    let vectors: Vec<Vec<f32>> = escalations.iter().map(|e| e.vector.clone()).collect();
    let mut found = cluster::topics(&vectors, Topics::default());
    found.sort_by(|a, b| {
        b.members.len().cmp(&a.members.len()).then(
            escalations[b.typical()]
                .at
                .cmp(&escalations[a.typical()].at),
        )
    });
    found
}

/// The normalised mean of a topic's questions: what later questions are
/// compared with.
pub fn centre(topic: &Topic, escalations: &[Escalation]) -> Vec<f32> {
    cluster::mean_direction(
        topic
            .members
            .iter()
            .map(|&m| escalations[m].vector.as_slice()),
    )
}

/// A question on one line, at most 500 characters (as a rule keeps it).
pub fn one_line(question: &str) -> String {
    question
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(500)
        .collect()
}

/// The topic's distinct questions (on one line each), most typical first.
pub fn questions(topic: &Topic, escalations: &[Escalation], at_most: usize) -> Vec<String> {
    let mut seen = HashSet::new();
    topic
        .members
        .iter()
        .map(|&m| one_line(&escalations[m].question))
        .filter(|q| !q.is_empty() && seen.insert(q.to_lowercase()))
        .take(at_most)
        .collect()
}

/// The source of each chunk still stored: (source id, kind).
async fn sources_of(
    pool: &PgPool,
    workspace_id: Uuid,
    chunks: Vec<Uuid>,
) -> Result<HashMap<Uuid, (Uuid, SourceKind)>, sqlx::Error> {
    let rows: Vec<(Uuid, Uuid, String)> = sqlx::query_as(
        "select c.chunk_id, s.source_id, s.kind from chunk c
           join page p on p.page_id = c.page_id
           join source s on s.source_id = p.source_id
          where c.workspace_id = $1 and c.chunk_id = any($2)",
    )
    .bind(workspace_id)
    .bind(&chunks)
    .fetch_all(pool.ws(workspace_id))
    .await?;
    rows.into_iter()
        .map(|(c, s, k)| {
            let kind = SourceKind::parse(&k).map_err(|e| sqlx::Error::Decode(e.into()))?;
            Ok((c, (s, kind)))
        })
        .collect()
}

fn passages(decision: &Decision, sources: &HashMap<Uuid, (Uuid, SourceKind)>) -> Vec<PassageScore> {
    decision
        .retrieved
        .iter()
        .take(PASSAGES)
        .map(|p| {
            let source = sources.get(&p.chunk_id);
            PassageScore {
                title: p.title.clone(),
                heading_path: p.heading_path.clone(),
                url: p.url.clone(),
                source_id: source.map(|s| s.0),
                source_kind: source.map(|s| s.1),
                score: p.similarity,
            }
        })
        .collect()
}

/// The best passage's cosine similarity to the question, if any passage.
fn best_similarity(decision: &Decision) -> Option<f32> {
    if decision.retrieved.is_empty() {
        return None;
    }
    decision
        .signals
        .as_ref()
        .map(|s| s.top_similarity)
        .or_else(|| decision.retrieved.first().map(|p| p.similarity))
}

/// Whether retrieval found nothing relevant for a question.
fn nothing_found(decision: &Decision) -> bool {
    best_similarity(decision).is_none_or(|b| b < RELEVANT)
}

/// Escalations per full week, oldest first; the last is the 7 days up to now.
fn trend(members: &[usize], escalations: &[Escalation], days: u32, now: DateTime<Utc>) -> Vec<u32> {
    let weeks = (days / 7).max(1) as usize;
    let mut buckets = vec![0u32; weeks];
    for &m in members {
        let age = (now - escalations[m].at).num_days().max(0) as usize / 7;
        if age < weeks {
            buckets[weeks - 1 - age] += 1;
        }
    }
    buckets
}

/// The fixes of a workspace, newest first, with their centres.
pub struct StoredFix {
    pub view: FixView,
    pub topic: String,
    pub centre: Vec<f32>,
}

#[derive(sqlx::FromRow)]
struct FixRow {
    fix_id: Uuid,
    kind: String,
    topic: String,
    centre: pgvector::Vector,
    target: String,
    by: Option<String>,
    created_at: DateTime<Utc>,
}

pub async fn fixes(pool: &PgPool, workspace_id: Uuid) -> Result<Vec<StoredFix>, sqlx::Error> {
    let rows = sqlx::query_as::<_, FixRow>(
        "select f.fix_id, f.kind, f.topic, f.centre, f.target, a.name as by, f.created_at
           from review_fix f left join account a on a.account_id = f.created_by
          where f.workspace_id = $1 order by f.created_at desc limit 500",
    )
    .bind(workspace_id)
    .fetch_all(pool.ws(workspace_id))
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| StoredFix {
            view: FixView {
                fix_id: r.fix_id,
                kind: r.kind,
                target: r.target,
                by: r.by,
                at: r.created_at,
            },
            topic: r.topic,
            centre: r.centre.to_vec(),
        })
        .collect())
}

/// Each fix's topic: the one whose centre is nearest the centre the fix was
/// made for, if close enough (so a fix belongs to one topic at most).
pub fn fix_topics(centres: &[Vec<f32>], fixes: &[StoredFix]) -> Vec<Option<usize>> {
    fixes
        .iter()
        .map(|f| {
            centres
                .iter()
                .enumerate()
                .map(|(i, c)| (i, cosine(&f.centre, c)))
                .filter(|(_, s)| *s >= Topics::default().min_similarity)
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(i, _)| i)
        })
        .collect()
}

/// The fixes of topic `index`, newest first.
fn fixes_of<'a>(
    fixes: &'a [StoredFix],
    assigned: &[Option<usize>],
    index: usize,
) -> Vec<&'a StoredFix> {
    fixes
        .iter()
        .zip(assigned)
        .filter(|(_, a)| **a == Some(index))
        .map(|(f, _)| f)
        .collect()
}

/// How often questions near `centre` were handed off before a fix (the 30
/// days before it) and since.
pub async fn effect(
    pool: &PgPool,
    workspace_id: Uuid,
    fix: &StoredFix,
) -> Result<FixEffect, sqlx::Error> {
    let (before_off, before, after_off, after): (i64, i64, i64, i64) = sqlx::query_as(
        "select count(*) filter (where created_at < $3 and not (record->>'answered')::boolean),
                count(*) filter (where created_at < $3),
                count(*) filter (where created_at >= $3 and not (record->>'answered')::boolean),
                count(*) filter (where created_at >= $3)
           from decision
          where workspace_id = $1 and embedding is not null
            and created_at > $3 - interval '30 days'
            and 1 - (embedding <=> $2) >= $4",
    )
    .bind(workspace_id)
    .bind(pgvector::Vector::from(fix.centre.clone()))
    .bind(fix.view.at)
    .bind(Topics::default().min_similarity as f64)
    .fetch_one(pool.ws(workspace_id))
    .await?;
    Ok(FixEffect {
        fix: fix.view.clone(),
        topic: fix.topic.clone(),
        before: Rate {
            count: before_off as u32,
            total: before as u32,
        },
        after: Rate {
            count: after_off as u32,
            total: after as u32,
        },
    })
}

/// The summary of one topic.
pub async fn summary(
    pool: &PgPool,
    workspace_id: Uuid,
    topic: &Topic,
    escalations: &[Escalation],
    days: u32,
    fixes: &[&StoredFix],
    sources: &HashMap<Uuid, (Uuid, SourceKind)>,
) -> Result<TopicSummary, sqlx::Error> {
    let typical = &escalations[topic.typical()];
    let mut reasons: HashMap<ReasonKind, u32> = HashMap::new();
    for &m in &topic.members {
        *reasons.entry(escalations[m].reason()).or_default() += 1;
    }
    let mut reasons: Vec<(ReasonKind, u32)> = reasons.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let conversations: HashSet<Uuid> = topic
        .members
        .iter()
        .filter_map(|&m| escalations[m].conversation_id)
        .collect();
    let last_fix = match fixes.first() {
        Some(fix) => Some(effect(pool, workspace_id, fix).await?),
        None => None,
    };
    Ok(TopicSummary {
        key: typical.decision_id,
        name: typical.question.clone(),
        escalations: topic.members.len() as u32,
        conversations: conversations.len() as u32,
        trend: trend(&topic.members, escalations, days, Utc::now()),
        reasons,
        passages: passages(&typical.decision, sources),
        nothing_found: nothing_found(&typical.decision),
        best_similarity: best_similarity(&typical.decision),
        last_fix,
    })
}

/// Every chunk the escalations' passages name (to find their sources).
fn chunks(escalations: &[Escalation], members: &[usize]) -> Vec<Uuid> {
    members
        .iter()
        .flat_map(|&m| escalations[m].decision.retrieved.iter().take(PASSAGES))
        .map(|p| p.chunk_id)
        .collect()
}

/// At most this many topics are summarised on the review page.
pub const LISTED: usize = 100;

/// The review page's topics.
pub async fn overview(
    pool: &PgPool,
    workspace_id: Uuid,
    escalations: &[Escalation],
    topics: &[Topic],
    days: u32,
) -> Result<Vec<TopicSummary>, sqlx::Error> {
    let listed = &topics[..topics.len().min(LISTED)];
    let typical: Vec<usize> = listed.iter().map(Topic::typical).collect();
    let sources = sources_of(pool, workspace_id, chunks(escalations, &typical)).await?;
    let fixes = fixes(pool, workspace_id).await?;
    let centres: Vec<Vec<f32>> = topics.iter().map(|t| centre(t, escalations)).collect();
    let assigned = fix_topics(&centres, &fixes);
    let mut summaries = Vec::with_capacity(listed.len());
    for (i, topic) in listed.iter().enumerate() {
        let own = fixes_of(&fixes, &assigned, i);
        summaries
            .push(summary(pool, workspace_id, topic, escalations, days, &own, &sources).await?);
    }
    Ok(summaries)
}

/// The index of the topic holding the escalation `key`, if it is in the window.
pub fn find(topics: &[Topic], escalations: &[Escalation], key: Uuid) -> Option<usize> {
    let index = escalations.iter().position(|e| e.decision_id == key)?;
    topics.iter().position(|t| t.members.contains(&index))
}

/// The team's replies in each conversation, in order.
async fn replies(
    db: InWorkspace<'_>,
    conversations: Vec<Uuid>,
) -> Result<HashMap<Uuid, Vec<AgentReply>>, sqlx::Error> {
    let rows: Vec<(Uuid, Json<EventBody>, DateTime<Utc>)> = sqlx::query_as(
        "select conversation_id, payload, created_at from event
          where conversation_id = any($1) and kind = 'human_reply'
          order by conversation_id, seq",
    )
    .bind(&conversations)
    .fetch_all(db)
    .await?;
    let mut by: HashMap<Uuid, Vec<AgentReply>> = HashMap::new();
    for (conversation, Json(body), at) in rows {
        if let EventBody::HumanReply { text, agent_name } = body {
            by.entry(conversation).or_default().push(AgentReply {
                agent: Some(agent_name),
                text,
                at,
            });
        }
    }
    Ok(by)
}

/// Replies shown per escalation.
const REPLIES: usize = 3;
/// Escalations shown in a topic.
const SHOWN: usize = 200;

/// A topic opened: its escalations (newest first) with the team's replies
/// after each, and the fixes made from it.
pub async fn detail_of(
    pool: &PgPool,
    workspace_id: Uuid,
    topics: &[Topic],
    index: usize,
    escalations: &[Escalation],
    days: u32,
) -> Result<TopicDetail, sqlx::Error> {
    let topic = &topics[index];
    let sources = sources_of(pool, workspace_id, chunks(escalations, &topic.members)).await?;
    let fixes = fixes(pool, workspace_id).await?;
    let centres: Vec<Vec<f32>> = topics.iter().map(|t| centre(t, escalations)).collect();
    let own = fixes_of(&fixes, &fix_topics(&centres, &fixes), index);
    let summary = summary(pool, workspace_id, topic, escalations, days, &own, &sources).await?;
    let mut members = topic.members.clone();
    members.sort_by(|a, b| escalations[*b].at.cmp(&escalations[*a].at));
    members.truncate(SHOWN);
    let conversations: Vec<Uuid> = members
        .iter()
        .filter_map(|&m| escalations[m].conversation_id)
        .collect();
    let replies = replies(pool.ws(workspace_id), conversations).await?;
    let views = members
        .iter()
        .map(|&m| {
            let e = &escalations[m];
            EscalationView {
                decision_id: e.decision_id,
                conversation_id: e.conversation_id,
                question: e.question.clone(),
                at: e.at,
                reason: e.reason(),
                detail: detail(e.decision.handoff.as_ref()),
                confidence: e.decision.confidence.value(),
                passages: passages(&e.decision, &sources),
                nothing_found: nothing_found(&e.decision),
                best_similarity: best_similarity(&e.decision),
                replies: e
                    .conversation_id
                    .and_then(|c| replies.get(&c))
                    .map(|all| {
                        all.iter()
                            .filter(|r| r.at >= e.at)
                            .take(REPLIES)
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    Ok(TopicDetail {
        summary,
        escalations: views,
        fixes: own.iter().map(|f| f.view.clone()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use app::types::Confidence;

    use super::*;

    fn escalation(vector: Vec<f32>, days_ago: i64, now: DateTime<Utc>) -> Escalation {
        Escalation {
            decision_id: Uuid::new_v4(),
            conversation_id: None,
            question: "q".into(),
            decision: Decision {
                answered: false,
                confidence: Confidence::clamped(0.1),
                handoff: None,
                retrieved: Vec::new(),
                threshold: None,
                signals: None,
                rules: Vec::new(),
            },
            at: now - chrono::Duration::days(days_ago),
            vector,
        }
    }

    #[test]
    fn the_trend_counts_full_weeks_up_to_now() {
        let now = Utc::now();
        let e: Vec<Escalation> = [0, 6, 7, 20, 27, 28, 29]
            .into_iter()
            .map(|d| escalation(vec![1.0, 0.0], d, now))
            .collect();
        let members: Vec<usize> = (0..e.len()).collect();
        // 30 days: four full weeks; days 28 and 29 fall outside them.
        assert_eq!(trend(&members, &e, 30, now), vec![1, 1, 1, 2]);
        assert_eq!(trend(&members, &e, 7, now), vec![2]);
    }

    #[test]
    fn a_fix_belongs_to_the_nearest_topic_only_and_a_key_finds_its_topic() {
        let now = Utc::now();
        let e = vec![
            escalation(vec![1.0, 0.0], 1, now),
            escalation(vec![0.9, 0.43], 1, now),
            escalation(vec![0.0, 1.0], 1, now),
        ];
        let topics = group(&e);
        assert_eq!(topics.len(), 2, "{topics:?}");
        let fix = |centre: Vec<f32>| StoredFix {
            view: FixView {
                fix_id: Uuid::new_v4(),
                kind: "snippet".into(),
                target: "t".into(),
                by: None,
                at: now,
            },
            topic: "t".into(),
            centre,
        };
        let centres: Vec<Vec<f32>> = topics.iter().map(|t| centre(t, &e)).collect();
        let first = find(&topics, &e, e[0].decision_id).unwrap();
        let other = find(&topics, &e, e[2].decision_id).unwrap();
        assert_ne!(first, other);
        assert_eq!(find(&topics, &e, e[1].decision_id), Some(first));
        assert_eq!(find(&topics, &e, Uuid::new_v4()), None);
        // Close to both centres (cosine ≥ 0.55 with each): the nearer wins.
        let fixes = vec![fix(vec![0.8, 0.6]), fix(vec![-1.0, 0.0])];
        let assigned = fix_topics(&centres, &fixes);
        assert_eq!(assigned, vec![Some(first), None]);
    }
}
