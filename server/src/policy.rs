//! The handoff policy: for every visitor message, whether the AI answers or a
//! person takes over, and why. [`decide`] gathers the signals (a request for a
//! person, a sensitive topic, retrieval and its re-scoring, the calibrated
//! confidence, the visitor's context); [`outcome`] turns signals and a
//! workspace's [`Policy`] into the decision. `outcome` is pure, so a replay
//! of past decisions under another threshold or rule set is exact.

pub mod calibrate;
pub mod confidence;
pub mod defaults;
pub mod detect;
pub mod hours;
pub mod intent;
pub mod replay;
pub mod settings;

use app::types::policy::{Condition, Policy, Priority, RuleAction, SensitiveMatch, Signals};
use app::types::{Confidence, Decision, HandoffReason, RequestChannel, RetrievedPassage};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::embed::{cosine, EmbedError, Embedder, Role};
use crate::lang::Language;
use crate::retrieve;
use crate::retrieve::rescore::{self, Ranked};
use detect::Phrases;

/// A message "means the same as" a rule's question when their similarity
/// (multilingual-e5-small, whose cosines crowd into 0.7–0.95) reaches this:
/// paraphrases and translations of one question, not neighbours in topic.
pub const LIKE_MATCH: f32 = 0.87;

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
    /// The visitor's earlier messages in this conversation, oldest first
    /// (the few before this one): a follow-up is read with them.
    pub history: Vec<String>,
    /// Every message of a burst decided on as one (its text holds the last
    /// few): each is also checked on its own for a request for a person or
    /// a sensitive topic, which a merged text can hide.
    pub parts: Vec<String>,
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
    /// The message's embedding (stored with the decision for the review):
    /// of the question as read with the turns before it, for a follow-up.
    pub vector: Vec<f32>,
    /// The question decided on: the message, or for a follow-up the earlier
    /// messages it leans on and then it, one per line.
    pub question: String,
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

/// The words of the admin's own phrases for a request for a person, if
/// `text` contains one.
pub fn human_request_by_phrase(policy: &Policy, text: &str) -> Option<String> {
    Phrases::compile(&policy.human_request.phrases)
        .ok()
        .and_then(|p| p.find(text))
}

/// Whether a message asks for a person: the admin's phrases first, then by
/// meaning (the whole message, and each of its sentences: a request often
/// ends a long message about something else). Returns what asked.
pub async fn human_request(
    embedder: &Embedder,
    intents: &intent::Intents,
    policy: &Policy,
    text: &str,
    vector: &[f32],
) -> Result<Option<String>, EmbedError> {
    if let Some(found) = human_request_by_phrase(policy, text) {
        return Ok(Some(found));
    }
    let mut best = (intents.human_request(vector), text.trim().to_owned());
    let pieces = intent::pieces(text);
    if !pieces.is_empty() {
        let vectors = embedder.embed_cached(&pieces, Role::Query).await?;
        for (piece, v) in pieces.into_iter().zip(vectors) {
            let p = intents.human_request(&v);
            if p > best.0 {
                best = (p, piece);
            }
        }
    }
    Ok((best.0 >= intent::HUMAN_REQUEST).then_some(best.1))
}

/// The sensitive category of `text`: by the admin's phrases first, then by
/// meaning (the classifier fitted on the categories' examples), if that
/// category is enabled. A match by meaning names the category's example
/// nearest to the message, for the agent to see why.
pub async fn sensitive(
    embedder: &Embedder,
    intents: &intent::Intents,
    policy: &Policy,
    text: &str,
    vector: &[f32],
) -> Result<Option<SensitiveMatch>, EmbedError> {
    if let Some(found) = sensitive_by_phrase(policy, text) {
        return Ok(Some(found));
    }
    let Some(topic) = intents.sensitive(vector) else {
        return Ok(None);
    };
    let Some(category) = policy
        .categories
        .iter()
        .find(|c| c.enabled && c.name == topic.category)
    else {
        return Ok(None);
    };
    let mut examples = intent::builtin_examples(&category.name).to_vec();
    examples.extend(category.examples.iter().cloned());
    let vectors = embedder.embed_cached(&examples, Role::Query).await?;
    let matched = examples
        .into_iter()
        .zip(vectors)
        .map(|(e, v)| (cosine(vector, &v), e))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, e)| e)
        .unwrap_or_default();
    Ok(Some(SensitiveMatch {
        category: topic.category,
        matched,
        score: topic.score.min(0.999),
    }))
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
    let vectors = embedder.embed_cached(&questions, Role::Query).await?;
    Ok(questions
        .into_iter()
        .zip(vectors)
        .filter(|(_, v)| cosine(vector, v) >= LIKE_MATCH)
        .map(|(q, _)| q)
        .collect())
}

/// A message of a burst is judged on its own for a sensitive topic from
/// this many words.
const PART_WORDS: usize = 5;

/// What a message asks for by itself, whatever it is read with.
struct Asked {
    human_request: Option<String>,
    sensitive: Option<SensitiveMatch>,
    like: Vec<String>,
}

/// Gathers every signal for `message` and decides under `policy`. A
/// follow-up ("and the shipping cost?", "how much is it?") is decided on
/// twice: alone, and read with the visitor's messages before it (searched
/// as one question; its sentences scored against both); the reading that
/// lets the AI answer wins, the more confident one if both do. Requests for a person and sensitive topics are
/// always the message's own.
#[tracing::instrument(skip_all, fields(workspace.id = %message.workspace_id))]
pub async fn decide(
    pool: &PgPool,
    embedder: &Embedder,
    policy: &Policy,
    message: &Message,
) -> Result<Decided, DecideError> {
    let text = message.text.as_str();
    let vector = embedder.embed_one(text).await?;
    let intents = intent::Intents::of(embedder, policy).await?;
    let mut asked = Asked {
        human_request: human_request(embedder, &intents, policy, text, &vector).await?,
        sensitive: sensitive(embedder, &intents, policy, text, &vector).await?,
        like: like(embedder, policy, &vector).await?,
    };
    let parts: Vec<String> = message
        .parts
        .iter()
        .filter(|p| p.trim() != text.trim())
        .cloned()
        .collect();
    if !parts.is_empty() && (asked.human_request.is_none() || asked.sensitive.is_none()) {
        let vectors = embedder.embed_cached(&parts, Role::Query).await?;
        for (part, v) in parts.iter().zip(&vectors) {
            if asked.human_request.is_none() {
                asked.human_request = human_request(embedder, &intents, policy, part, v).await?;
            }
            // A fragment ("but I changed my mind", "one more thing") says
            // too little alone: only a whole thought, plainly on a
            // sensitive topic, counts by itself.
            if asked.sensitive.is_none() && part.split_whitespace().count() >= PART_WORDS {
                asked.sensitive = sensitive(embedder, &intents, policy, part, v)
                    .await?
                    .filter(|s| s.score >= intent::SENSITIVE);
            }
        }
    }
    let context = match message.history.is_empty() {
        true => None,
        false => leaned_on(embedder, &intents, &message.history, &vector).await?,
    };
    let Some(earlier) = context else {
        return decide_on(
            pool,
            embedder,
            policy,
            message,
            &asked,
            text,
            vector.clone(),
            &vector,
        )
        .await;
    };
    let question = format!("{earlier}\n{text}");
    let read_with = embedder.embed_one(&question).await?;
    // Sentences are scored against the follow-up and its context at once:
    // the fact asked now, about what was asked before.
    let both = blend(&read_with, &vector);
    let within = decide_on(
        pool, embedder, policy, message, &asked, &question, read_with, &both,
    )
    .await?;
    let alone = decide_on(
        pool,
        embedder,
        policy,
        message,
        &asked,
        text,
        vector.clone(),
        &vector,
    )
    .await?;
    // Read with the conversation when that answers, and about as surely as
    // the message alone — the more the message leans on what came before,
    // the more the conversation's reading is preferred (a question that
    // stands alone but looks a little like a follow-up keeps its answer).
    let (w, a) = (&within.decision, &alone.decision);
    let lean = (intents.follow_up(&vector) - intent::FOLLOW_UP_AT).max(0.0) * LEAN_WEIGHT;
    Ok(
        if w.answered && (!a.answered || w.confidence.value() + lean >= a.confidence.value()) {
            within
        } else {
            alone
        },
    )
}

/// How much a follow-up's reading with the conversation is preferred, per
/// unit of its follow-up probability above [`intent::FOLLOW_UP_AT`]: a
/// message that plainly leans on the turns before it ("how much does that
/// cost?", p ≈ 0.99) keeps the conversation's reading unless the message
/// alone is 0.25 more confident.
const LEAN_WEIGHT: f32 = 0.5;

/// The earlier messages a follow-up leans on, one per line: the last one,
/// and before it as long as each leans on its own predecessor (at most
/// three); `None` when `vector`'s message stands alone.
async fn leaned_on(
    embedder: &Embedder,
    intents: &intent::Intents,
    history: &[String],
    vector: &[f32],
) -> Result<Option<String>, EmbedError> {
    if intents.follow_up(vector) < intent::FOLLOW_UP_AT {
        return Ok(None);
    }
    let recent: Vec<String> = history.iter().rev().take(3).cloned().collect();
    let vectors = embedder.embed_cached(&recent, Role::Query).await?;
    let mut taken = Vec::new();
    for (earlier, v) in recent.iter().zip(&vectors) {
        taken.push(earlier.trim());
        if intents.follow_up(v) < intent::FOLLOW_UP_AT {
            break;
        }
    }
    taken.reverse();
    Ok(Some(taken.join("\n")).filter(|t| !t.is_empty()))
}

/// The normalised sum of two unit vectors: between them.
fn blend(a: &[f32], b: &[f32]) -> Vec<f32> {
    let sum: Vec<f32> = a.iter().zip(b).map(|(x, y)| x + y).collect();
    let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
    sum.into_iter().map(|x| x / norm).collect()
}

/// Decides on `question` (the message, or the message read with the turns
/// before it): searched with `vector`, its passages re-scored against
/// `rescore_vector`.
#[allow(clippy::too_many_arguments)]
async fn decide_on(
    pool: &PgPool,
    embedder: &Embedder,
    policy: &Policy,
    message: &Message,
    asked: &Asked,
    question: &str,
    vector: Vec<f32>,
    rescore_vector: &[f32],
) -> Result<Decided, DecideError> {
    let text = question;
    // An English question (or one too short to tell) is searched with the
    // English companion model too.
    let language = Language::detect(text);
    let english = match embedder.english() {
        Some(english) if language.is_none_or(|l| l == Language::ENGLISH) => {
            Some(english.embed_one(text).await?)
        }
        _ => None,
    };
    let query = retrieve::Query {
        text,
        vector: &vector,
        model: embedder.name(),
        english: english.as_deref(),
    };
    let passages =
        retrieve::retrieve(pool, message.workspace_id, query, rescore::RESCORED as i64).await?;
    let ranked = rescore::rescore(embedder, text, rescore_vector, passages).await?;
    let top = ranked.first();
    let mut signals = Signals {
        human_request: asked.human_request.clone(),
        sensitive: asked.sensitive.clone(),
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
        like: asked.like.clone(),
        language: None,
        cross_lingual: false,
    };
    signals.language = language.map(|l| l.code().to_owned());
    // The passage's language: its page's (detected on the whole page),
    // else its own text's.
    signals.cross_lingual = match (language, top) {
        (Some(asked), Some(r)) if r.passage.ts_config != "simple" => {
            asked.ts_config() != r.passage.ts_config
        }
        (Some(asked), Some(r)) => {
            Language::of_page(&r.passage.content).is_some_and(|written| written != asked)
        }
        _ => false,
    };
    signals.confidence = confidence::estimate(&signals);
    let verdict = outcome(&signals, policy, &message.text);
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
        question: question.to_owned(),
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
