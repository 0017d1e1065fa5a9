//! The handoff policy: for every visitor message, whether the AI answers or a
//! person takes over, and why. [`decide`] gathers the signals (a request for a
//! person, a sensitive topic, retrieval and its re-scoring, the calibrated
//! confidence, the visitor's context); [`outcome`] turns signals and a
//! workspace's [`Policy`] into the decision. `outcome` is pure, so a replay
//! of past decisions under another threshold or rule set is exact.

pub mod confidence;
pub mod defaults;
pub mod detect;
pub mod hours;
pub mod replay;
pub mod settings;

use app::types::policy::{Condition, Policy, Priority, RuleAction, SensitiveMatch, Signals};
use app::types::{Confidence, Decision, HandoffReason, RequestChannel, RetrievedPassage};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::answer::rescore::{self, Ranked};
use crate::embed::{cosine, EmbedError, Embedder};
use crate::retrieve;
use detect::Phrases;

/// A message is on a sensitive topic when its similarity to one of the
/// category's examples reaches this (chosen on the tune set) and it is
/// closer to that example than to every ordinary question in
/// [`defaults::ORDINARY`].
pub const EXAMPLE_MATCH: f32 = 0.62;

/// A message "means the same as" a rule's question when their similarity
/// reaches this (as close as a sensitive example must be).
pub const LIKE_MATCH: f32 = EXAMPLE_MATCH;

#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Embed(#[from] EmbedError),
}

/// A visitor message and its context.
#[derive(Clone, Debug, Default)]
pub struct Message {
    pub workspace_id: Uuid,
    pub text: String,
    pub page_url: Option<String>,
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub unhelpful_in_a_row: u32,
    pub at: Option<DateTime<Utc>>,
}

/// What the rules ask for besides answering or handing off.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Effects {
    pub tags: Vec<String>,
    pub priority: Option<Priority>,
    /// The team of the first "hand off to team" rule that held.
    pub team: Option<String>,
}

/// The decision and what it was made from.
#[derive(Clone, Debug)]
pub struct Decided {
    pub decision: Decision,
    /// The re-scored passages, best first: what a generator is given.
    pub ranked: Vec<Ranked>,
    pub effects: Effects,
    /// The message's embedding (stored with the decision for the review).
    pub vector: Vec<f32>,
}

/// The policy's verdict on a set of signals.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub handoff: Option<HandoffReason>,
    /// Names of the rules whose conditions held.
    pub rules: Vec<String>,
    pub effects: Effects,
}

/// The first enabled category one of whose phrases `text` contains.
pub fn sensitive_by_phrase(policy: &Policy, text: &str) -> Option<SensitiveMatch> {
    policy
        .categories
        .iter()
        .filter(|c| c.enabled)
        .find_map(|c| {
            // Phrases were validated when saved; a bad one is skipped, not fatal.
            Phrases::compile(&c.phrases)
                .ok()
                .and_then(|p| p.find(text))
                .map(|matched| SensitiveMatch {
                    category: c.name.clone(),
                    matched,
                    score: 1.0,
                })
        })
}

/// The sensitive category of `text`, by phrase first, then by meaning:
/// the nearest example, if close enough and nearer than any ordinary question.
pub async fn sensitive(
    embedder: &Embedder,
    policy: &Policy,
    text: &str,
    vector: &[f32],
) -> Result<Option<SensitiveMatch>, EmbedError> {
    if let Some(found) = sensitive_by_phrase(policy, text) {
        return Ok(Some(found));
    }
    let enabled: Vec<_> = policy.categories.iter().filter(|c| c.enabled).collect();
    let ordinary: Vec<String> = defaults::ORDINARY.iter().map(|e| (*e).to_owned()).collect();
    let nearest_ordinary = embedder
        .embed_cached(&ordinary)
        .await?
        .iter()
        .map(|v| cosine(vector, v))
        .fold(f32::MIN, f32::max);
    let mut best: Option<SensitiveMatch> = None;
    for category in &enabled {
        let vectors = embedder.embed_cached(&category.examples).await?;
        for (example, v) in category.examples.iter().zip(vectors) {
            let score = cosine(vector, &v);
            if score >= EXAMPLE_MATCH
                && score > nearest_ordinary
                && best.as_ref().is_none_or(|b| score > b.score)
            {
                best = Some(SensitiveMatch {
                    category: category.name.clone(),
                    matched: example.clone(),
                    score,
                });
            }
        }
    }
    Ok(best)
}

/// The questions of `policy`'s "means the same as" conditions (enabled rules).
pub fn like_questions(policy: &Policy) -> Vec<String> {
    policy
        .rules
        .iter()
        .filter(|r| r.enabled)
        .flat_map(|r| &r.conditions)
        .filter_map(|c| match c {
            Condition::Like { questions } => Some(questions),
            _ => None,
        })
        .flatten()
        .cloned()
        .collect()
}

/// The questions of `policy`'s "means the same as" conditions that `vector`
/// is close to.
pub async fn like(
    embedder: &Embedder,
    policy: &Policy,
    vector: &[f32],
) -> Result<Vec<String>, EmbedError> {
    let questions = like_questions(policy);
    if questions.is_empty() {
        return Ok(Vec::new());
    }
    let vectors = embedder.embed_cached(&questions).await?;
    Ok(questions
        .into_iter()
        .zip(vectors)
        .filter(|(_, v)| cosine(vector, v) >= LIKE_MATCH)
        .map(|(q, _)| q)
        .collect())
}

/// Gathers every signal for `message` and decides under `policy`.
#[tracing::instrument(skip_all, fields(workspace.id = %message.workspace_id))]
pub async fn decide(
    pool: &PgPool,
    embedder: &Embedder,
    policy: &Policy,
    message: &Message,
) -> Result<Decided, DecideError> {
    let text = message.text.as_str();
    let vector = embedder.embed_one(text).await?;
    let passages = retrieve::retrieve(
        pool,
        message.workspace_id,
        text,
        &vector,
        rescore::RESCORED as i64,
    )
    .await?;
    let ranked = rescore::rescore(embedder, text, &vector, passages).await?;
    let top = ranked.first();
    let mut signals = Signals {
        human_request: detect::human_request(text),
        sensitive: sensitive(embedder, policy, text, &vector).await?,
        top_similarity: top.map_or(0.0, |r| r.passage.similarity as f32),
        sentence_score: top.map_or(0.0, |_| {
            ranked.iter().map(Ranked::best_sentence).fold(0.0, f32::max)
        }),
        coverage: top.map_or(0.0, |r| r.coverage),
        sentence_coverage: top.map_or(0.0, |r| r.sentence_coverage),
        confidence: 0.0,
        topic: top.map(|r| format!("{} › {}", r.passage.title, r.passage.heading_path)),
        page_url: message.page_url.clone(),
        unhelpful_in_a_row: message.unhelpful_in_a_row,
        outside_hours: match (&policy.support_hours, message.at) {
            (Some(hours), Some(at)) => hours::outside(hours, at),
            _ => false,
        },
        attributes: message.attributes.clone(),
        like: like(embedder, policy, &vector).await?,
    };
    signals.confidence = confidence::estimate(&signals);
    let verdict = outcome(&signals, policy, text);
    let confidence = Confidence::clamped(signals.confidence);
    let retrieved = ranked
        .iter()
        .map(|r| RetrievedPassage {
            chunk_id: r.passage.chunk_id,
            title: r.passage.title.clone(),
            heading_path: r.passage.heading_path.clone(),
            url: r.passage.url.clone(),
            fused_score: r.passage.fused_score as f32,
            similarity: r.score,
        })
        .collect();
    let decision = Decision {
        answered: verdict.handoff.is_none(),
        confidence,
        handoff: verdict.handoff,
        retrieved,
        threshold: Some(policy.threshold),
        signals: Some(Box::new(signals)),
        rules: verdict.rules,
    };
    tracing::debug!(
        confidence = confidence.value(),
        answered = decision.answered,
        "policy decided"
    );
    Ok(Decided {
        decision,
        ranked,
        effects: verdict.effects,
        vector,
    })
}

fn holds(condition: &Condition, signals: &Signals, text: &str) -> bool {
    let contains = |haystack: Option<&str>, needle: &str| {
        haystack.is_some_and(|h| h.to_lowercase().contains(&needle.to_lowercase()))
    };
    match condition {
        Condition::Phrase { pattern } => {
            Phrases::compile(std::slice::from_ref(pattern)).is_ok_and(|p| p.find(text).is_some())
        }
        Condition::Category { name } => signals
            .sensitive
            .as_ref()
            .is_some_and(|s| name == "any" || &s.category == name),
        Condition::Topic { contains: needle } => contains(signals.topic.as_deref(), needle),
        Condition::PageUrl { contains: needle } => contains(signals.page_url.as_deref(), needle),
        Condition::Attribute { key, equals } => {
            signals.attributes.get(key).is_some_and(|v| match v {
                serde_json::Value::String(s) => s == equals,
                other => &other.to_string() == equals,
            })
        }
        Condition::UnhelpfulInARow { at_least } => signals.unhelpful_in_a_row >= *at_least,
        Condition::OutsideSupportHours => signals.outside_hours,
        Condition::Like { questions } => questions.iter().any(|q| signals.like.contains(q)),
    }
}

/// The policy's verdict. Order: the visitor's own request for a person; admin
/// rules that hand off; a sensitive topic; low confidence. A rule that says
/// "answer without hand-off" overrides the last two, never the visitor.
pub fn outcome(signals: &Signals, policy: &Policy, text: &str) -> Outcome {
    let mut rules = Vec::new();
    let mut effects = Effects::default();
    let mut rule_handoff = None;
    let mut answer_anyway = false;
    for rule in policy.rules.iter().filter(|r| r.enabled) {
        if rule.conditions.is_empty() || !rule.conditions.iter().all(|c| holds(c, signals, text)) {
            continue;
        }
        rules.push(rule.name.clone());
        match &rule.action {
            RuleAction::HandOff => {
                rule_handoff.get_or_insert(HandoffReason::Rule {
                    rule: rule.name.clone(),
                    team: None,
                });
            }
            RuleAction::HandOffToTeam { team } => {
                rule_handoff.get_or_insert(HandoffReason::Rule {
                    rule: rule.name.clone(),
                    team: Some(team.clone()),
                });
                effects.team.get_or_insert_with(|| team.clone());
            }
            RuleAction::Tag { tag } => {
                if !effects.tags.contains(tag) {
                    effects.tags.push(tag.clone());
                }
            }
            RuleAction::Priority { level } => {
                effects.priority = Some(match effects.priority {
                    Some(p) if (p as u8) > (*level as u8) => p,
                    _ => *level,
                });
            }
            RuleAction::AnswerWithoutHandoff => answer_anyway = true,
        }
    }
    let sensitive = signals
        .sensitive
        .as_ref()
        .filter(|s| {
            policy
                .categories
                .iter()
                .any(|c| c.enabled && c.name == s.category)
        })
        .map(|s| HandoffReason::Sensitive {
            category: s.category.clone(),
            matched: s.matched.clone(),
        });
    let confidence = Confidence::clamped(signals.confidence);
    let unsure = (confidence < policy.threshold).then_some(HandoffReason::LowConfidence {
        confidence,
        threshold: policy.threshold,
    });
    let handoff = signals
        .human_request
        .as_ref()
        .map(|matched| HandoffReason::HumanRequested {
            via: RequestChannel::Message,
            matched: Some(matched.clone()),
        })
        .or(rule_handoff)
        .or(if answer_anyway {
            None
        } else {
            sensitive.or(unsure)
        });
    Outcome {
        handoff,
        rules,
        effects,
    }
}

#[cfg(test)]
mod tests;
