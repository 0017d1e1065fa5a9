//! The answer's confidence: a logistic model of the retrieval and support
//! signals, fitted on the tune set (answerable = 1, unanswerable = 0) with
//! `scripts/fit_confidence.py` over `tandem eval --dump`. On the tune set
//! the questions the content cannot answer split in two: off-topic ones
//! (CLINC150) are told apart almost perfectly (AUC 0.99), SQuAD 2.0's
//! adversarial ones, written against the same article, barely (AUC 0.62):
//! telling those apart needs a reading model, not retrieval signals.

use app::types::policy::Signals;

/// The threshold of a workspace whose admin has not set one (chosen on the
/// tune set: the most unanswerable questions handed off while at most a fifth
/// of answerable ones are).
pub const DEFAULT_THRESHOLD: f32 = 0.39;

/// Weights of (top passage similarity, best sentence score, coverage,
/// sentence coverage) and the bias, as fitted on the tune set.
const WEIGHTS: [f32; 4] = [0.501, 2.22, 1.475, 0.42];
const BIAS: f32 = -3.199;

/// The probability-like confidence in `0..=1` that the content answers.
pub fn estimate(signals: &Signals) -> f32 {
    if signals.topic.is_none() {
        return 0.0;
    }
    let z = WEIGHTS[0] * signals.top_similarity
        + WEIGHTS[1] * signals.sentence_score
        + WEIGHTS[2] * signals.coverage
        + WEIGHTS[3] * signals.sentence_coverage
        + BIAS;
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stronger_support_means_more_confidence() {
        let weak = Signals {
            topic: Some("t".into()),
            top_similarity: 0.2,
            sentence_score: 0.2,
            coverage: 0.2,
            ..Signals::default()
        };
        let strong = Signals {
            top_similarity: 0.7,
            sentence_score: 0.8,
            coverage: 1.0,
            sentence_coverage: 1.0,
            ..weak.clone()
        };
        assert!(estimate(&weak) < estimate(&strong));
        assert!((0.0..=1.0).contains(&estimate(&weak)));
        assert_eq!(estimate(&Signals::default()), 0.0, "nothing retrieved");
    }
}
