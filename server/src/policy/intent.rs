//! Intent by meaning, in any language: whether a visitor asks for a person,
//! and which sensitive topic a message is about, recognised from examples
//! rather than phrase lists.
//!
//! The examples are sentences: built-in ones in many languages
//! (`examples/human.json`, `examples/sensitive.json`), plus a workspace
//! admin's own for each category and for requests for a person. A small
//! softmax regression is fitted on their vectors (the multilingual model
//! puts a German and a Japanese request for a person near each other), with
//! hard negatives as their own class: questions *about* agents, a "talk to a
//! human" button, human-readable logs, refund policies, privacy settings.
//! A fitted classifier is kept per example set, so a policy's classifiers are
//! fitted once and reused. Admin phrases stay as an explicit override,
//! matched before any of this (see `policy::sensitive_by_phrase`).

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock};

use app::types::policy::Policy;
use ndarray::Array2;

use crate::embed::{cosine, EmbedError, Embedder, Role, DIMENSIONS};

/// A message asks for a person when the classifier gives it at least this
/// probability (chosen on `intents-tune.jsonl`).
pub const HUMAN_REQUEST: f32 = 0.7;
/// A message is on a sensitive topic when the classifier gives "ordinary"
/// at most `1 - SENSITIVE` (chosen on `intents-tune.jsonl`).
pub const SENSITIVE: f32 = 0.7;
/// The class of ordinary messages among the sensitive categories.
const ORDINARY: &str = "ordinary";
/// Each admin example counts as this many built-in ones: a workspace's own
/// examples say more about its visitors than the generic ones.
const ADMIN_WEIGHT: f32 = 3.0;

#[derive(serde::Deserialize)]
struct HumanExamples {
    request: Vec<String>,
    not_request: Vec<String>,
}

static HUMAN: LazyLock<HumanExamples> = LazyLock::new(|| {
    serde_json::from_str(include_str!("examples/human.json")).expect("valid built-in examples")
});

/// Messages that lean on the conversation before them ("and the shipping
/// cost?", "how much is it?") and ones that stand alone.
#[derive(serde::Deserialize)]
struct FollowUpExamples {
    follow_up: Vec<String>,
    standalone: Vec<String>,
}

static FOLLOW_UP: LazyLock<FollowUpExamples> = LazyLock::new(|| {
    serde_json::from_str(include_str!("examples/follow_up.json")).expect("valid built-in examples")
});

/// A message is read with the turns before it when its chance of leaning
/// on them reaches this.
pub const FOLLOW_UP_AT: f32 = 0.5;

static SENSITIVE_EXAMPLES: LazyLock<BTreeMap<String, Vec<String>>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("examples/sensitive.json")).expect("valid built-in examples")
});

/// The built-in examples of a sensitive category (empty for one an admin
/// made up: it has only the admin's).
pub fn builtin_examples(category: &str) -> &'static [String] {
    SENSITIVE_EXAMPLES
        .get(category)
        .map_or(&[], |v| v.as_slice())
}

/// The built-in examples of requests for a person.
pub fn builtin_human_requests() -> &'static [String] {
    &HUMAN.request
}

/// A softmax regression over sentence vectors (centred on the examples'
/// mean: the model's vectors all lean one way, and that says nothing).
#[derive(Clone, Debug)]
pub struct Classifier {
    pub classes: Vec<String>,
    mean: Vec<f32>,
    /// One row per class: a weight per dimension, then the bias.
    weights: Vec<Vec<f32>>,
}

/// One labelled example for fitting: its class, vector and weight.
struct Sample<'a> {
    class: usize,
    vector: &'a [f32],
    weight: f32,
}

const EPOCHS: usize = 600;
const L2: f32 = 1e-4;
const STEP: f32 = 0.01;

impl Classifier {
    /// Fits the classes to the samples: full-batch Adam on the weighted
    /// cross-entropy with an L2 penalty, classes balanced by their total
    /// weight. Deterministic.
    fn fit(classes: Vec<String>, samples: &[Sample<'_>]) -> Self {
        let k = classes.len();
        let d = DIMENSIONS;
        let mut mean = vec![0f32; d];
        for s in samples {
            mean.iter_mut().zip(s.vector).for_each(|(m, x)| *m += x);
        }
        let n = samples.len().max(1) as f32;
        mean.iter_mut().for_each(|m| *m /= n);
        let mut class_weight = vec![0f32; k];
        for s in samples {
            class_weight[s.class] += s.weight;
        }
        let total: f32 = class_weight.iter().sum();
        let balance: Vec<f32> = class_weight
            .iter()
            .map(|w| {
                if *w > 0.0 {
                    total / (k as f32 * w)
                } else {
                    0.0
                }
            })
            .collect();
        // Matrices, so the two products of each epoch run in an optimised
        // kernel (`ndarray` on `matrixmultiply`, optimised in dev builds too).
        let rows = samples.len();
        let mut x = Array2::<f32>::ones((rows, d + 1));
        let mut target = Array2::<f32>::zeros((rows, k));
        let mut row_weight = Array2::<f32>::zeros((rows, 1));
        for (i, s) in samples.iter().enumerate() {
            for (j, (v, m)) in s.vector.iter().zip(&mean).enumerate() {
                x[[i, j]] = v - m;
            }
            target[[i, s.class]] = 1.0;
            row_weight[[i, 0]] = s.weight * balance[s.class] / n;
        }
        // No penalty on the bias column.
        let mut penalty = Array2::<f32>::from_elem((k, d + 1), L2);
        penalty.column_mut(d).fill(0.0);
        let mut w = Array2::<f32>::zeros((k, d + 1));
        let (mut m1, mut m2) = (w.clone(), w.clone());
        let (b1, b2) = (0.9f32, 0.999f32);
        for t in 1..=EPOCHS {
            let mut p = x.dot(&w.t());
            for mut row in p.rows_mut() {
                let max = row.fold(f32::MIN, |a, &b| a.max(b));
                row.mapv_inplace(|z| (z - max).exp());
                let sum = row.sum();
                row /= sum;
            }
            let err = (&p - &target) * &row_weight;
            let grad = err.t().dot(&x) + &penalty * &w;
            m1 = m1 * b1 + &grad * (1.0 - b1);
            m2 = m2 * b2 + &grad * &grad * (1.0 - b2);
            let (c1, c2) = (1.0 - b1.powi(t as i32), 1.0 - b2.powi(t as i32));
            w = w - (&m1 / c1) / ((&m2 / c2).mapv(f32::sqrt) + 1e-8) * STEP;
        }
        let w: Vec<Vec<f32>> = w.rows().into_iter().map(|r| r.to_vec()).collect();
        Self {
            classes,
            mean,
            weights: w,
        }
    }

    /// Each class's probability for a vector.
    pub fn probabilities(&self, vector: &[f32]) -> Vec<f32> {
        let x: Vec<f32> = vector.iter().zip(&self.mean).map(|(x, m)| x - m).collect();
        let mut p = vec![0f32; self.classes.len()];
        softmax_into(&self.weights, &x, &mut p);
        p
    }
}

fn softmax_into(weights: &[Vec<f32>], x: &[f32], out: &mut [f32]) {
    let d = x.len();
    for (o, w) in out.iter_mut().zip(weights) {
        *o = w[..d].iter().zip(x).map(|(w, x)| w * x).sum::<f32>() + w[d];
    }
    let max = out.iter().copied().fold(f32::MIN, f32::max);
    out.iter_mut().for_each(|o| *o = (*o - max).exp());
    let sum: f32 = out.iter().sum();
    out.iter_mut().for_each(|o| *o /= sum);
}

/// The example sets a policy's classifiers are fitted on.
#[derive(Clone, Debug, Hash)]
struct ExampleSet {
    /// (class, examples, admin's?) in class order.
    classes: Vec<(String, Vec<String>, Vec<String>)>,
}

impl ExampleSet {
    fn fingerprint(&self, model: &str) -> u64 {
        let mut h = DefaultHasher::new();
        model.hash(&mut h);
        self.hash(&mut h);
        h.finish()
    }
}

/// Requests for a person against everything else: the hard negatives, and
/// every built-in sensitive or ordinary example (a visitor on a sensitive
/// topic gets a person too, but for that reason, which tells the agent more).
fn human_set(policy: &Policy) -> ExampleSet {
    let mut not_request = HUMAN.not_request.clone();
    not_request.extend(SENSITIVE_EXAMPLES.values().flatten().cloned());
    ExampleSet {
        classes: vec![
            ("not_request".into(), not_request, Vec::new()),
            (
                "request".into(),
                HUMAN.request.clone(),
                policy.human_request.examples.clone(),
            ),
        ],
    }
}

/// Follow-ups against messages that stand alone: the built-in standalone
/// questions, and every other built-in question and request (whole
/// questions all).
fn follow_up_set() -> ExampleSet {
    let mut standalone = FOLLOW_UP.standalone.clone();
    standalone.extend(HUMAN.not_request.iter().cloned());
    standalone.extend(
        SENSITIVE_EXAMPLES
            .get(ORDINARY)
            .into_iter()
            .flatten()
            .cloned(),
    );
    ExampleSet {
        classes: vec![
            ("standalone".into(), standalone, Vec::new()),
            ("follow_up".into(), FOLLOW_UP.follow_up.clone(), Vec::new()),
        ],
    }
}

/// Every category of the policy (enabled or not: a disabled category's
/// messages are still told apart from ordinary ones, then not flagged),
/// with the built-in examples of those Tandem knows, and "ordinary".
fn sensitive_set(policy: &Policy) -> ExampleSet {
    let mut classes = vec![(
        ORDINARY.to_owned(),
        SENSITIVE_EXAMPLES
            .get(ORDINARY)
            .cloned()
            .unwrap_or_default(),
        Vec::new(),
    )];
    for category in &policy.categories {
        let mut builtin = builtin_examples(&category.name).to_vec();
        // The starter examples a category is created with count like the
        // built-in ones; only the admin's additions weigh more.
        let (starters, own): (Vec<String>, Vec<String>) = category
            .examples
            .iter()
            .filter(|e| !builtin.contains(e))
            .cloned()
            .partition(|e| super::defaults::is_default_example(&category.name, e));
        builtin.extend(starters);
        if builtin.is_empty() && own.is_empty() {
            continue;
        }
        classes.push((category.name.clone(), builtin, own));
    }
    ExampleSet { classes }
}

/// Fits (or takes from the embedder's memory) the classifier of a set.
async fn classifier(embedder: &Embedder, set: &ExampleSet) -> Result<Arc<Classifier>, EmbedError> {
    let key = set.fingerprint(embedder.name());
    if let Some(found) = embedder.fitted(key) {
        return Ok(found);
    }
    let mut texts: Vec<String> = Vec::new();
    for (_, builtin, own) in &set.classes {
        texts.extend(builtin.iter().cloned());
        texts.extend(own.iter().cloned());
    }
    let vectors = embedder.embed_cached(&texts, Role::Query).await?;
    let mut labels = Vec::with_capacity(texts.len());
    for (class, (_, builtin, own)) in set.classes.iter().enumerate() {
        labels.extend((0..builtin.len()).map(|_| (class, 1.0)));
        labels.extend((0..own.len()).map(|_| (class, ADMIN_WEIGHT)));
    }
    let names: Vec<String> = set.classes.iter().map(|(n, _, _)| n.clone()).collect();
    let fitted = tokio::task::spawn_blocking(move || {
        let samples: Vec<Sample<'_>> = labels
            .iter()
            .zip(&vectors)
            .map(|(&(class, weight), vector)| Sample {
                class,
                vector,
                weight,
            })
            .collect();
        Classifier::fit(names, &samples)
    })
    .await
    .map_err(|e| EmbedError::Inference(e.to_string()))?;
    Ok(embedder.remember_fitted(key, fitted))
}

/// Embeds the built-in examples and fits the classifiers a new workspace
/// uses (its default categories), so the first visitor does not wait for it.
pub async fn warm_up(embedder: &Embedder) -> Result<(), EmbedError> {
    let policy = Policy {
        threshold: app::types::Confidence::clamped(super::confidence::DEFAULT_THRESHOLD),
        categories: super::defaults::categories(),
        rules: Vec::new(),
        generator: app::types::policy::GeneratorSettings::Builtin,
        support_hours: None,
        answer_while_waiting: true,
        human_request: Default::default(),
        handoff_target: None,
        calibration: None,
        unsure: Default::default(),
    };
    Intents::of(embedder, &policy).await.map(|_| ())
}

/// The sentences of a message worth judging on their own besides the whole:
/// a request for a person is often the last sentence of a long message about
/// something else ("…the export times out. Could someone look at it?").
pub fn pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    for (at, c) in text.char_indices() {
        if matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | '\n') {
            let end = at + c.len_utf8();
            let piece = text[start..end].trim();
            if piece.chars().filter(|c| c.is_alphanumeric()).count() > 1 {
                out.push(piece.to_owned());
            }
            start = end;
        }
    }
    let rest = text[start..].trim();
    if rest.chars().filter(|c| c.is_alphanumeric()).count() > 1 {
        out.push(rest.to_owned());
    }
    if out.len() < 2 {
        return Vec::new();
    }
    out.truncate(8);
    out
}

/// The fitted classifiers of one policy, and the admin's own examples: a
/// message as close to one of those as a paraphrase counts whatever the
/// classifier says (an admin who adds an example sees it work).
#[derive(Clone, Debug)]
pub struct Intents {
    human: Arc<Classifier>,
    sensitive: Arc<Classifier>,
    follow_up: Arc<Classifier>,
    own_human: Vec<Arc<[f32]>>,
    /// (category, example, vector) of enabled categories.
    own_sensitive: Vec<(String, String, Arc<[f32]>)>,
}

/// What the sensitive classifier says of a message.
#[derive(Clone, Debug, PartialEq)]
pub struct Topic {
    pub category: String,
    /// The category's probability.
    pub score: f32,
}

impl Intents {
    pub async fn of(embedder: &Embedder, policy: &Policy) -> Result<Self, EmbedError> {
        let own_human = embedder
            .embed_cached(&policy.human_request.examples, Role::Query)
            .await?;
        let mut own_sensitive = Vec::new();
        for category in policy.categories.iter().filter(|c| c.enabled) {
            let own: Vec<String> = category
                .examples
                .iter()
                .filter(|e| !super::defaults::is_default_example(&category.name, e))
                .cloned()
                .collect();
            let vectors = embedder.embed_cached(&own, Role::Query).await?;
            own_sensitive.extend(
                own.into_iter()
                    .zip(vectors)
                    .map(|(e, v)| (category.name.clone(), e, v)),
            );
        }
        Ok(Self {
            human: classifier(embedder, &human_set(policy)).await?,
            sensitive: classifier(embedder, &sensitive_set(policy)).await?,
            follow_up: classifier(embedder, &follow_up_set()).await?,
            own_human,
            own_sensitive,
        })
    }

    /// The probability that a message (its query vector) asks for a person:
    /// 1 when it means the same as one of the admin's examples.
    pub fn human_request(&self, vector: &[f32]) -> f32 {
        if self
            .own_human
            .iter()
            .any(|e| cosine(vector, e) >= super::LIKE_MATCH)
        {
            return 1.0;
        }
        self.human.probabilities(vector)[1]
    }

    /// The probability that a message leans on the turns before it.
    pub fn follow_up(&self, vector: &[f32]) -> f32 {
        self.follow_up.probabilities(vector)[1]
    }

    /// The admin's own example of an enabled category that a message means
    /// the same as, if any: (category, example, similarity).
    pub fn own_sensitive(&self, vector: &[f32]) -> Option<(String, String, f32)> {
        self.own_sensitive
            .iter()
            .map(|(c, e, v)| (c, e, cosine(vector, v)))
            .filter(|(_, _, s)| *s >= super::LIKE_MATCH)
            .max_by(|a, b| a.2.total_cmp(&b.2))
            .map(|(c, e, s)| (c.clone(), e.clone(), s))
    }

    /// The sensitive category a message is most likely about, when its
    /// chance of being ordinary is low enough; `None` for ordinary ones.
    pub fn sensitive(&self, vector: &[f32]) -> Option<Topic> {
        if let Some((category, _, score)) = self.own_sensitive(vector) {
            return Some(Topic { category, score });
        }
        let p = self.sensitive.probabilities(vector);
        if p[0] > 1.0 - SENSITIVE {
            return None;
        }
        p.iter()
            .enumerate()
            .skip(1)
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, score)| Topic {
                category: self.sensitive.classes[i].clone(),
                score: *score,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let mut x = vec![0f32; DIMENSIONS];
        x[..v.len()].copy_from_slice(v);
        let n = x.iter().map(|a| a * a).sum::<f32>().sqrt();
        x.iter().map(|a| a / n).collect()
    }

    #[test]
    fn long_messages_are_judged_sentence_by_sentence_too() {
        assert_eq!(
            pieces("The export times out at 90%. Could someone from your team look at it?"),
            vec![
                "The export times out at 90%.",
                "Could someone from your team look at it?"
            ]
        );
        assert!(pieces("agent").is_empty());
        assert!(pieces("How do I export? ").is_empty());
        assert_eq!(pieces("转人工！快点").len(), 2);
    }

    #[test]
    fn fits_separable_classes() {
        let a = [unit(&[1.0, 0.1]), unit(&[0.9, 0.0]), unit(&[1.0, -0.1])];
        let b = [unit(&[0.1, 1.0]), unit(&[0.0, 0.9]), unit(&[-0.1, 1.0])];
        let samples: Vec<Sample<'_>> = a
            .iter()
            .map(|v| Sample {
                class: 0,
                vector: v,
                weight: 1.0,
            })
            .chain(b.iter().map(|v| Sample {
                class: 1,
                vector: v,
                weight: 1.0,
            }))
            .collect();
        let c = Classifier::fit(vec!["a".into(), "b".into()], &samples);
        assert!(c.probabilities(&unit(&[1.0, 0.05]))[0] > 0.9);
        assert!(c.probabilities(&unit(&[0.05, 1.0]))[1] > 0.9);
    }

    #[test]
    fn built_in_examples_parse_and_cover_every_default_category() {
        assert!(HUMAN.request.len() >= 100 && HUMAN.not_request.len() >= 100);
        for category in super::super::defaults::categories() {
            assert!(
                builtin_examples(&category.name).len() >= 20,
                "{} has few examples",
                category.name
            );
        }
        assert!(SENSITIVE_EXAMPLES[ORDINARY].len() >= 100);
    }
}
