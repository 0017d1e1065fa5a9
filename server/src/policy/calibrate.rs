//! Confidence calibrated on each workspace's own content.
//!
//! The confidence model's weights were fitted once, on public sets; where its
//! scores fall for *this* content (prose or reference pages, one language or
//! several) differs from site to site. So after each ingest Tandem asks the
//! content its own questions and measures:
//! - **answerable probes**: questions made from its passages (a sentence's
//!   key words, as a visitor types a search), which the passage answers;
//! - **off-topic probes**: questions no support content answers (weather,
//!   recipes, sport), in several languages.
//!
//! Each probe goes through the same decision as a visitor's message, and the
//! curve "at threshold t, this share of answerable probes is handed off and
//! this share of off-topic ones is answered" is kept. The admin's target in
//! words ("hand off at most N % of the questions the content answers") picks
//! the threshold on it, lowered by how much harder real questions are than
//! probes (`PROBE_OFFSET`, measured on the Wikipedia tune set), and the
//! policy page shows the trade.
//!
//! What it cannot know: probes are easier than real questions in one way
//! (their words come from the passage) and harder in another (no grammar);
//! off-topic probes are far from the content, while real unanswerable
//! questions are often close to it ("does it support X?" where X is absent).
//! The curve places the threshold for this content; it does not promise
//! the same rates on real traffic.

use std::time::Duration;

use app::types::policy::{Policy, TradePoint};
use sqlx::types::Json;
use sqlx::PgPool;
use uuid::Uuid;

use super::{decide, DecideError, Message};
use crate::db::{Scope, System};
use crate::embed::Embedder;
use crate::retrieve::rescore;

/// Passages questions are made from, at most.
const SAMPLED: i64 = 48;
/// Key words in a question made from a sentence.
const KEY_WORDS: usize = 6;

/// Questions no support content answers, in several languages.
pub const OFF_TOPIC: &[&str] = &[
    "What's the weather going to be like tomorrow?",
    "Can you recommend a good pizza place nearby?",
    "Who won the football world cup in 2018?",
    "How do I bake sourdough bread at home?",
    "What is the capital of Australia?",
    "Tell me a joke about cats",
    "How many calories are in a banana?",
    "What's a good name for a golden retriever puppy?",
    "How do I get rid of hiccups?",
    "What time is sunset in Lisbon today?",
    "Which planet has the most moons?",
    "Can you help me with my chemistry homework on covalent bonds?",
    "What are the lyrics of Bohemian Rhapsody?",
    "How do I change a flat tyre on a bicycle?",
    "What is the best way to learn to play the guitar?",
    "Book me a table for two at an Italian restaurant tonight",
    "Wie wird das Wetter am Wochenende in Berlin?",
    "Kannst du mir ein Rezept für Apfelstrudel geben?",
    "Wer hat die Fußball-Europameisterschaft gewonnen?",
    "Quel temps fera-t-il demain à Paris ?",
    "Peux-tu me donner une recette de crêpes ?",
    "¿Quién ganó el último mundial de fútbol?",
    "¿Cómo se hace una buena paella valenciana?",
    "Qual é a melhor praia do Brasil para surfar?",
    "Come si prepara la pasta alla carbonara?",
    "Wat is de hoofdstad van Canada?",
    "明日の東京の天気はどうですか？",
    "おすすめのラーメン屋を教えてください",
    "今天北京天气怎么样？",
    "推荐一部好看的电影吧",
    "서울에서 맛있는 김치찌개 집 추천해 주세요",
    "Jaka będzie jutro pogoda w Krakowie?",
    "İstanbul'da gezilecek en güzel yerler neresi?",
    "Какая завтра погода в Москве?",
    "ما هي عاصمة أستراليا؟",
    "What's the meaning of life?",
    "Do you like pineapple on pizza?",
    "How tall is Mount Everest?",
    "Translate 'good morning' into Swahili",
    "Write me a poem about the sea",
];

/// A question made from one of the content's sentences: its longest
/// sentence's key words (every other word of four letters or more), as a
/// visitor types a search. Scripts without spaces keep the sentence's middle.
pub fn probe_from(content: &str) -> Option<String> {
    let sentence = rescore::sentences(content)
        .into_iter()
        .max_by_key(|s| s.chars().count())?;
    let words: Vec<&str> = sentence
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| w.chars().count() >= 4 && w.chars().all(|c| c.is_alphanumeric() || c == '-'))
        .collect();
    if words.len() >= 4 {
        let key: Vec<&str> = words
            .iter()
            .skip(1)
            .step_by(2)
            .take(KEY_WORDS)
            .copied()
            .collect();
        return Some(key.join(" "));
    }
    let chars: Vec<char> = sentence.chars().collect();
    if chars.len() >= 8 && sentence.split_whitespace().count() <= 2 {
        let from = chars.len() / 5;
        let to = chars.len() - chars.len() / 5;
        return Some(chars[from..to].iter().collect());
    }
    None
}

/// The trade at every threshold from 0.00 to 1.00, in steps of 0.01.
pub fn curve(answerable: &[f32], unanswerable: &[f32]) -> Vec<TradePoint> {
    let share = |hits: usize, n: usize| if n == 0 { 0.0 } else { hits as f32 / n as f32 };
    (0..=100)
        .map(|i| {
            let threshold = i as f32 / 100.0;
            TradePoint {
                threshold,
                answerable_handoff: share(
                    answerable.iter().filter(|c| **c < threshold).count(),
                    answerable.len(),
                ),
                unanswerable_answered: share(
                    unanswerable.iter().filter(|c| **c >= threshold).count(),
                    unanswerable.len(),
                ),
            }
        })
        .collect()
}

/// The confidence the policy gives each question, as for a visitor.
async fn confidences(
    pool: &PgPool,
    embedder: &Embedder,
    policy: &Policy,
    workspace_id: Uuid,
    questions: &[String],
) -> Result<Vec<f32>, DecideError> {
    let mut out = Vec::with_capacity(questions.len());
    for text in questions {
        let message = Message {
            workspace_id,
            text: text.clone(),
            ..Message::default()
        };
        let decided = decide(pool, embedder, policy, &message).await?;
        out.push(decided.decision.confidence.value());
    }
    Ok(out)
}

/// Measures the workspace's curve and keeps it. Returns the numbers of
/// answerable and off-topic probes (no curve is kept without passages).
pub async fn calibrate(
    pool: &PgPool,
    embedder: &Embedder,
    policy: &Policy,
    workspace_id: Uuid,
) -> Result<(usize, usize), DecideError> {
    // Spread over the content: ordered by a hash of the id, not by page.
    let contents: Vec<String> = sqlx::query_scalar!(
        "select content from chunk where workspace_id = $1
          order by md5(chunk_id::text) limit $2",
        workspace_id,
        SAMPLED,
    )
    .fetch_all(pool.ws(workspace_id))
    .await?;
    let answerable: Vec<String> = contents.iter().filter_map(|c| probe_from(c)).collect();
    if answerable.is_empty() {
        return Ok((0, 0));
    }
    let off_topic: Vec<String> = OFF_TOPIC.iter().map(|q| (*q).to_owned()).collect();
    let yes = confidences(pool, embedder, policy, workspace_id, &answerable).await?;
    let no = confidences(pool, embedder, policy, workspace_id, &off_topic).await?;
    sqlx::query(
        "insert into calibration (workspace_id, curve, answerable, unanswerable, computed_at)
         values ($1, $2, $3, $4, now())
         on conflict (workspace_id) do update set curve = $2, answerable = $3,
             unanswerable = $4, computed_at = now()",
    )
    .bind(workspace_id)
    .bind(Json(curve(&yes, &no)))
    .bind(yes.len() as i32)
    .bind(no.len() as i32)
    .execute(pool.ws(workspace_id))
    .await?;
    tracing::info!(workspace.id = %workspace_id, answerable = yes.len(), "confidence calibrated");
    Ok((yes.len(), no.len()))
}

/// Workspaces whose content changed since their calibration (or that have
/// none) and are not moving to another embedding model (found across
/// workspaces by the owner's pool).
pub async fn due(system: &System, model: &str) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "select w.workspace_id from workspace w
          where exists (select 1 from page p where p.workspace_id = w.workspace_id)
            and not exists (select 1 from chunk c
                             where c.workspace_id = w.workspace_id and c.embedded_with <> $1)
            and coalesce((select computed_at from calibration c where c.workspace_id = w.workspace_id),
                         '-infinity') < (select max(fetched_at) from page p where p.workspace_id = w.workspace_id)
            and not exists (select 1 from ingest_job j where j.workspace_id = w.workspace_id
                             and j.status in ('queued', 'running'))",
        model,
    )
    .fetch_all(system.pool())
    .await
}

/// The background job of every instance: calibrates the workspaces whose
/// content changed, once their ingest jobs are over.
pub fn spawn(
    pool: PgPool,
    system: System,
    embedder: Embedder,
    default_threshold: app::types::Confidence,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match due(&system, embedder.name()).await {
                Ok(workspaces) => {
                    for workspace_id in workspaces {
                        let run = async {
                            let policy =
                                super::settings::load(&pool, workspace_id, default_threshold)
                                    .await?;
                            calibrate(&pool, &embedder, &policy, workspace_id).await
                        };
                        if let Err(err) = run.await {
                            tracing::warn!(workspace.id = %workspace_id, error = %err, "calibration failed; retried later");
                        }
                    }
                }
                Err(err) => tracing::warn!(error = %err, "finding workspaces to calibrate failed"),
            }
            tokio::time::sleep(Duration::from_secs(20)).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_are_a_sentences_key_words() {
        assert_eq!(
            probe_from("Returns. Items can be returned within thirty days of delivery for a full refund of the price.").unwrap(),
            "returned thirty delivery refund"
        );
        assert!(probe_from("Hi.").is_none());
    }

    #[test]
    fn the_curve_trades_handoffs_for_answers() {
        let c = curve(&[0.2, 0.5, 0.8, 0.9], &[0.1, 0.3]);
        let at = |t: f32| {
            c.iter()
                .find(|p| (p.threshold - t).abs() < 1e-6)
                .copied()
                .unwrap()
        };
        assert_eq!(at(0.0).answerable_handoff, 0.0);
        assert_eq!(at(0.0).unanswerable_answered, 1.0);
        assert_eq!(at(0.4).answerable_handoff, 0.25);
        assert_eq!(at(0.4).unanswerable_answered, 0.0);
        let calibration = app::types::policy::Calibration {
            curve: c,
            ..Default::default()
        };
        let chosen = calibration.threshold_for(0.25).unwrap();
        let expected = 0.5 + app::types::policy::PROBE_OFFSET;
        assert!((chosen.threshold - expected).abs() < 1e-6, "{chosen:?}");
        assert_eq!(chosen.answerable_handoff, 0.25, "the probes' rate");
        assert_eq!(calibration.at(expected).unwrap().answerable_handoff, 0.25);
    }
}
