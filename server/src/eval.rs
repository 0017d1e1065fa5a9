//! `tandem eval`: the policy and the answer engine over an evaluation set
//! (the JSON-lines format of `shared/eval/README.md`), with the figures the
//! answer-engine issue asks for.

pub mod chat;

use std::collections::BTreeMap;
use std::time::Instant;

use app::types::policy::Policy;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::answer::{self, generate::Generator, Response};
use crate::embed::Embedder;
use crate::policy::{DecideError, Message};

/// One line of an evaluation file.
#[derive(Clone, Debug, Deserialize)]
pub struct Case {
    pub id: String,
    pub kind: Kind,
    pub question: String,
    #[serde(default)]
    pub gold_pages: Vec<String>,
    #[serde(default)]
    pub answer_facts: Vec<String>,
    #[serde(default)]
    pub category: Option<String>,
    /// The language the question is written in (`en` when not given).
    #[serde(default = "english")]
    pub lang: String,
}

fn english() -> String {
    "en".to_owned()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Answerable,
    Unanswerable,
    HumanRequest,
    NotHumanRequest,
    Sensitive,
    NotSensitive,
}

/// Reads a JSON-lines file; the error names the bad line.
pub fn parse(text: &str) -> Result<Vec<Case>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Answerable {
    pub n: usize,
    pub recall_at_5: f64,
    pub answered_rate: f64,
    /// Over answered questions.
    pub fact_rate: f64,
    pub handoff_rate: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Handoffs {
    pub n: usize,
    pub handoff_rate: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Detection {
    pub n: usize,
    pub detection_rate: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FalseDetection {
    pub n: usize,
    pub false_rate: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
}

/// The figures, keyed as `--json` prints them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Report {
    pub answerable: Answerable,
    pub unanswerable: Handoffs,
    pub human_request: Detection,
    pub not_human_request: FalseDetection,
    pub sensitive: Detection,
    pub not_sensitive: FalseDetection,
    pub latency_ms: Latency,
    /// Per category: detection (any category) and the share flagged with
    /// the right category (text output only).
    #[serde(skip)]
    pub sensitive_by_category: BTreeMap<String, (Detection, f64)>,
    /// How many answers the latency figures cover.
    #[serde(skip)]
    pub latency_n: usize,
    /// The same figures for each language's cases alone (empty within a
    /// language's own report).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_lang: BTreeMap<String, Report>,
}

/// What one case produced, for `--dump` (fitting the confidence model).
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub id: String,
    pub kind: Kind,
    pub answered: bool,
    pub reason: Option<String>,
    pub recall_hit: bool,
    pub fact_hit: bool,
    pub signals: Option<app::types::policy::Signals>,
    pub first_token_ms: Option<f64>,
}

/// Whether `url`'s path ends with one of the gold page names.
fn is_gold(url: &str, gold: &[String]) -> bool {
    let path = url.split(['#', '?']).next().unwrap_or(url);
    gold.iter()
        .any(|g| path == g || path.ends_with(&format!("/{g}")))
}

fn rate(hits: usize, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        hits as f64 / n as f64
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Runs one case through the engine, timing the first answer piece.
async fn run_case(
    pool: &PgPool,
    embedder: &Embedder,
    policy: &Policy,
    generator: &dyn Generator,
    workspace_id: Uuid,
    case: &Case,
) -> Result<(Response, Option<f64>), DecideError> {
    let (out, mut pieces) = tokio::sync::mpsc::unbounded_channel::<String>();
    let started = Instant::now();
    let first = tokio::spawn(async move {
        pieces
            .recv()
            .await
            .map(|_| started.elapsed().as_secs_f64() * 1e3)
    });
    let message = Message {
        workspace_id,
        text: case.question.trim().to_owned(),
        ..Message::default()
    };
    let response = answer::respond(pool, embedder, policy, generator, &message, &out).await;
    drop(out);
    let first = first.await.ok().flatten();
    Ok((response?, first))
}

/// Runs every case in order (one at a time, so latencies are honest).
pub async fn run(
    pool: &PgPool,
    embedder: &Embedder,
    policy: &Policy,
    generator: &dyn Generator,
    workspace_id: Uuid,
    cases: &[Case],
    mut progress: impl FnMut(usize),
) -> Result<(Report, Vec<Outcome>), DecideError> {
    let mut outcomes = Vec::with_capacity(cases.len());
    for (i, case) in cases.iter().enumerate() {
        let (response, first) =
            run_case(pool, embedder, policy, generator, workspace_id, case).await?;
        let decision = &response.decision;
        let recall_hit = response
            .ranked
            .iter()
            .take(5)
            .any(|r| is_gold(&r.passage.url, &case.gold_pages));
        let fact_hit = response.answer.as_ref().is_some_and(|a| {
            let mut evidence = a.text.to_lowercase();
            for c in &a.citations {
                evidence.push('\n');
                evidence.push_str(&c.passage.to_lowercase());
            }
            case.answer_facts
                .iter()
                .any(|f| evidence.contains(&f.to_lowercase()))
        });
        outcomes.push(Outcome {
            id: case.id.clone(),
            kind: case.kind,
            answered: decision.answered,
            reason: decision.handoff.as_ref().map(|h| h.short().to_owned()),
            recall_hit,
            fact_hit,
            signals: decision.signals.as_deref().cloned(),
            first_token_ms: first.filter(|_| decision.answered),
        });
        progress(i + 1);
    }
    Ok((summarise(cases, &outcomes), outcomes))
}

/// The figures over the outcomes (`cases` and `outcomes` in the same order),
/// overall and per language when there are several.
pub fn summarise(cases: &[Case], outcomes: &[Outcome]) -> Report {
    let mut report = summarise_one(cases, outcomes);
    let languages: std::collections::BTreeSet<&str> =
        cases.iter().map(|c| c.lang.as_str()).collect();
    if languages.len() > 1 {
        for lang in languages {
            let (cases, outcomes): (Vec<Case>, Vec<Outcome>) = cases
                .iter()
                .zip(outcomes)
                .filter(|(c, _)| c.lang == lang)
                .map(|(c, o)| (c.clone(), o.clone()))
                .unzip();
            report
                .by_lang
                .insert(lang.to_owned(), summarise_one(&cases, &outcomes));
        }
    }
    report
}

fn summarise_one(cases: &[Case], outcomes: &[Outcome]) -> Report {
    let of = |kind: Kind| -> Vec<(&Case, &Outcome)> {
        cases
            .iter()
            .zip(outcomes)
            .filter(|(c, _)| c.kind == kind)
            .collect()
    };
    let mut report = Report::default();

    let answerable = of(Kind::Answerable);
    let answered: Vec<_> = answerable.iter().filter(|(_, o)| o.answered).collect();
    report.answerable = Answerable {
        n: answerable.len(),
        recall_at_5: rate(
            answerable.iter().filter(|(_, o)| o.recall_hit).count(),
            answerable.len(),
        ),
        answered_rate: rate(answered.len(), answerable.len()),
        fact_rate: rate(
            answered.iter().filter(|(_, o)| o.fact_hit).count(),
            answered.len(),
        ),
        handoff_rate: rate(answerable.len() - answered.len(), answerable.len()),
    };
    let unanswerable = of(Kind::Unanswerable);
    report.unanswerable = Handoffs {
        n: unanswerable.len(),
        handoff_rate: rate(
            unanswerable.iter().filter(|(_, o)| !o.answered).count(),
            unanswerable.len(),
        ),
    };
    let human = |o: &Outcome| {
        o.signals
            .as_ref()
            .is_some_and(|s| s.human_request.is_some())
    };
    let sensitive = |o: &Outcome| o.signals.as_ref().is_some_and(|s| s.sensitive.is_some());
    let asked = of(Kind::HumanRequest);
    report.human_request = Detection {
        n: asked.len(),
        detection_rate: rate(asked.iter().filter(|(_, o)| human(o)).count(), asked.len()),
    };
    let not_asked = of(Kind::NotHumanRequest);
    report.not_human_request = FalseDetection {
        n: not_asked.len(),
        false_rate: rate(
            not_asked.iter().filter(|(_, o)| human(o)).count(),
            not_asked.len(),
        ),
    };
    let flagged = of(Kind::Sensitive);
    report.sensitive = Detection {
        n: flagged.len(),
        detection_rate: rate(
            flagged.iter().filter(|(_, o)| sensitive(o)).count(),
            flagged.len(),
        ),
    };
    for (case, outcome) in &flagged {
        let category = case.category.clone().unwrap_or_else(|| "unknown".into());
        let right = outcome
            .signals
            .as_ref()
            .and_then(|s| s.sensitive.as_ref())
            .is_some_and(|s| s.category == category);
        let (detection, right_rate) = report.sensitive_by_category.entry(category).or_default();
        // Accumulate hits, divide below.
        detection.n += 1;
        detection.detection_rate += f64::from(u8::from(sensitive(outcome)));
        *right_rate += f64::from(u8::from(right));
    }
    for (d, right) in report.sensitive_by_category.values_mut() {
        d.detection_rate /= d.n as f64;
        *right /= d.n as f64;
    }
    let ordinary = of(Kind::NotSensitive);
    report.not_sensitive = FalseDetection {
        n: ordinary.len(),
        false_rate: rate(
            ordinary.iter().filter(|(_, o)| sensitive(o)).count(),
            ordinary.len(),
        ),
    };
    let mut latencies: Vec<f64> = outcomes.iter().filter_map(|o| o.first_token_ms).collect();
    latencies.sort_by(f64::total_cmp);
    report.latency_ms = Latency {
        p50: percentile(&latencies, 0.5),
        p95: percentile(&latencies, 0.95),
    };
    report.latency_n = latencies.len();
    report
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let a = &self.answerable;
        writeln!(
            f,
            "answerable         n {:>4}  recall@5 {:.3}  answered {:.3}  fact rate {:.3}  handoff {:.3}",
            a.n, a.recall_at_5, a.answered_rate, a.fact_rate, a.handoff_rate
        )?;
        writeln!(
            f,
            "unanswerable       n {:>4}  handoff {:.3}",
            self.unanswerable.n, self.unanswerable.handoff_rate
        )?;
        writeln!(
            f,
            "human_request      n {:>4}  detection {:.3}",
            self.human_request.n, self.human_request.detection_rate
        )?;
        writeln!(
            f,
            "not_human_request  n {:>4}  false detection {:.3}",
            self.not_human_request.n, self.not_human_request.false_rate
        )?;
        writeln!(
            f,
            "sensitive          n {:>4}  detection {:.3}",
            self.sensitive.n, self.sensitive.detection_rate
        )?;
        for (category, (d, right)) in &self.sensitive_by_category {
            writeln!(
                f,
                "  {category:<17} n {:>4}  detection {:.3}  (right category {right:.3})",
                d.n, d.detection_rate
            )?;
        }
        writeln!(
            f,
            "not_sensitive      n {:>4}  false rate {:.3}",
            self.not_sensitive.n, self.not_sensitive.false_rate
        )?;
        write!(
            f,
            "latency to first answer token over {} answers: p50 {:.1} ms  p95 {:.1} ms",
            self.latency_n, self.latency_ms.p50, self.latency_ms.p95
        )?;
        if !self.by_lang.is_empty() {
            write!(f, "\nby language:")?;
            for (lang, r) in &self.by_lang {
                write!(f, "\n  {lang:<3}")?;
                let a = &r.answerable;
                if a.n > 0 {
                    write!(
                        f,
                        "  answerable n {} recall@5 {:.3} fact {:.3} handoff {:.3}",
                        a.n, a.recall_at_5, a.fact_rate, a.handoff_rate
                    )?;
                }
                if r.unanswerable.n > 0 {
                    write!(
                        f,
                        "  unanswerable handoff {:.3}",
                        r.unanswerable.handoff_rate
                    )?;
                }
                if r.human_request.n > 0 {
                    write!(f, "  human {:.3}", r.human_request.detection_rate)?;
                }
                if r.not_human_request.n > 0 {
                    write!(f, "  not-human false {:.3}", r.not_human_request.false_rate)?;
                }
                if r.sensitive.n > 0 {
                    write!(f, "  sensitive {:.3}", r.sensitive.detection_rate)?;
                }
                if r.not_sensitive.n > 0 {
                    write!(f, "  not-sensitive false {:.3}", r.not_sensitive.false_rate)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_eval_format() {
        let cases = parse(concat!(
            r#"{"id": "a", "kind": "answerable", "lang": "en", "question": "q?", "gold_pages": ["normans.html"], "answer_facts": ["10th"]}"#,
            "\n\n",
            r#"{"id": "s", "kind": "sensitive", "lang": "en", "category": "legal", "question": "q"}"#
        ))
        .unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[1].kind, Kind::Sensitive);
        assert!(parse("{\"id\": 1}").unwrap_err().starts_with("line 1"));
    }

    #[test]
    fn gold_pages_match_the_url_path() {
        let gold = vec!["normans.html".to_owned()];
        assert!(is_gold(
            "http://127.0.0.1:9/squad/normans.html#conquest",
            &gold
        ));
        assert!(!is_gold("http://127.0.0.1:9/squad/normans.html.bak", &gold));
        assert!(!is_gold("http://127.0.0.1:9/squad/x-normans.html", &gold));
    }

    #[test]
    fn json_keys_are_the_ones_asked_for() {
        let json = serde_json::to_value(Report::default()).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort_unstable();
        let mut expected = [
            "answerable",
            "unanswerable",
            "human_request",
            "not_human_request",
            "sensitive",
            "not_sensitive",
            "latency_ms",
        ];
        expected.sort_unstable();
        assert_eq!(keys, expected);
        assert!(json["answerable"].get("recall_at_5").is_some());
        assert!(json["latency_ms"].get("p95").is_some());
    }
}
