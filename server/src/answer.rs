//! The answer engine: from a visitor message to either a grounded, cited
//! answer or a handoff with its reason. [`respond`] is the one path every
//! caller takes (the live AI turn, `tandem ask`, `tandem eval`): the policy
//! decides on the signals, the workspace's generator writes from the
//! re-scored passages, and the answer's citations are checked.

pub mod extractive;
pub mod generate;
pub mod guard;
pub mod mask;
pub mod openai;

use std::time::Duration;

use app::types::policy::{GeneratorSettings, Policy};
use app::types::{Decision, HandoffReason};
use sqlx::PgPool;

use crate::embed::Embedder;
use crate::policy::{self, DecideError, Effects, Message};
use crate::retrieve::rescore::Ranked;
use generate::{Builtin, Generator, Grounded, Sink};

/// How many re-scored passages a generator is given.
pub const GIVEN: usize = 5;

/// The generator a workspace's settings ask for; a model endpoint is
/// reached only where `outbound` allows. `pace` spaces the built-in
/// generator's pieces like typing (zero for evaluation).
pub fn generator(
    settings: &GeneratorSettings,
    outbound: &crate::outbound::Outbound,
    pace: Duration,
) -> Box<dyn Generator> {
    match settings {
        GeneratorSettings::Builtin => Box::new(Builtin { pace }),
        GeneratorSettings::OpenAi {
            base_url,
            model,
            api_key,
        } => Box::new(openai::OpenAi::new(base_url, model, api_key, outbound)),
    }
}

/// What the engine did with a message.
#[derive(Clone, Debug)]
pub struct Response {
    /// The decision, updated after generation (a reply that was not grounded
    /// or a generator that failed turns into a handoff).
    pub decision: Decision,
    /// The answer, when the AI answered.
    pub answer: Option<Grounded>,
    pub ranked: Vec<Ranked>,
    pub effects: Effects,
    /// The decided message's embedding.
    pub vector: Vec<f32>,
    /// The question decided on (a follow-up with the turns it leans on).
    pub question: String,
}

/// Decides on `message` and, when the policy lets the AI answer, writes the
/// answer with `generator`, streaming its pieces to `out`.
pub async fn respond(
    pool: &PgPool,
    embedder: &Embedder,
    policy: &Policy,
    generator: &dyn Generator,
    message: &Message,
    out: &Sink,
) -> Result<Response, DecideError> {
    let decided = policy::decide(pool, embedder, policy, message).await?;
    Ok(write(decided, generator, out).await)
}

/// Whether a decision hands off only because the AI is unsure (or not at
/// all): another wording of the question might do better.
fn by_confidence_only(decided: &policy::Decided) -> bool {
    matches!(
        decided.decision.handoff,
        None | Some(HandoffReason::LowConfidence { .. })
    )
}

/// Decides on a burst of visitor messages as one question. The whole burst
/// counts (a request for a person, a sensitive topic, a rule anywhere in it);
/// when nothing but confidence is at stake, its last message alone is tried
/// too, and the more confident of the two is answered (a greeting and
/// context around a question dilute retrieval). Then answers as [`respond`].
pub async fn respond_to_burst(
    pool: &PgPool,
    embedder: &Embedder,
    policy: &Policy,
    generator: &dyn Generator,
    burst: &Message,
    last: &Message,
    out: &Sink,
) -> Result<Response, DecideError> {
    let whole = policy::decide(pool, embedder, policy, burst).await?;
    if burst.text == last.text || !by_confidence_only(&whole) {
        return Ok(write(whole, generator, out).await);
    }
    let alone = policy::decide(pool, embedder, policy, last).await?;
    if by_confidence_only(&alone) && alone.decision.confidence > whole.decision.confidence {
        Ok(write(alone, generator, out).await)
    } else {
        Ok(write(whole, generator, out).await)
    }
}

/// The answer without links outside its sources, claims of actions or the
/// model's own instructions (see [`guard`]).
fn clean(text: &str, given: &[Ranked], generator: &dyn Generator) -> String {
    let allowed = guard::Allowed::of(given.iter().map(|r| r.passage.url.as_str()))
        .with_passages(given.iter().map(|r| r.passage.content.as_str()));
    let (cleaned, removed) = guard::clean(text, &allowed, &generator.instructions());
    if removed.any() {
        tracing::warn!(
            generator = generator.name(),
            links = removed.links,
            contacts = removed.contacts,
            claims = removed.claims,
            instructions = removed.instructions,
            injected = removed.injected,
            "the answer said what it may not; removed"
        );
    }
    cleaned
}

/// Writes the answer a decision allows (checking its citations), or keeps
/// the handoff.
async fn write(decided: policy::Decided, generator: &dyn Generator, out: &Sink) -> Response {
    let mut decision = decided.decision;
    let mut answer = None;
    if decision.answered {
        let given = &decided.ranked[..decided.ranked.len().min(GIVEN)];
        let sources = generate::sources(given);
        let written = generator.generate(&decided.question, &sources, out).await;
        let handoff = match written {
            // What the answer may not say goes before its citations are
            // checked (a claim or a foreign link is never shown).
            Ok(text) => match generate::ground(&clean(&text, given, generator), &sources) {
                Some(grounded) => {
                    answer = Some(grounded);
                    None
                }
                None => Some(HandoffReason::NotGrounded),
            },
            Err(err) => {
                tracing::warn!(
                    generator = generator.name(),
                    error = %err,
                    detail = err.detail(),
                    "generator failed"
                );
                Some(HandoffReason::GeneratorFailed {
                    error: err.to_string(),
                })
            }
        };
        if let Some(reason) = handoff {
            decision.answered = false;
            decision.handoff = Some(reason);
        }
    }
    Response {
        decision,
        answer,
        ranked: decided.ranked,
        effects: decided.effects,
        vector: decided.vector,
        question: decided.question,
    }
}
