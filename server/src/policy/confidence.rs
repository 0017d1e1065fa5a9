//! The answer's confidence: logistic models of the retrieval and support
//! signals, fitted on the tune sets (answerable = 1, unanswerable = 0) with
//! `scripts/fit_confidence.py` over `tandem eval --dump` of `tune.jsonl`
//! (Wikipedia), `xling-tune.jsonl` (the same pages asked in 11 languages) and
//! `sqlite-tune.jsonl` (a technical manual), each file weighing the same.
//!
//! Two models. When the question and the best passage are in the same
//! language, word overlap counts. Across languages it means nothing, and
//! similarities run lower (a translation is less close than a paraphrase):
//! the cross-lingual model weighs meaning alone, on scores shifted by the gap
//! measured between English and cross-lingual answerable questions of the
//! tune sets (there are no cross-lingual unanswerable ones to fit on).
//!
//! On the tune sets, off-topic questions are told apart well; questions
//! written against the same page that it does not answer (SQuAD 2.0's, the
//! SQLite set's adversarial ones) barely: retrieval signals cannot tell
//! "about this page" from "answered by this page". Where the scores fall
//! differs from site to site, so each workspace's threshold is calibrated
//! on its own content (`calibrate`).

use app::types::policy::Signals;

/// The threshold of a workspace with neither an admin's threshold nor a
/// calibration yet (kept with the settings the server starts with).
pub use crate::config::DEFAULT_THRESHOLD;

/// Same language: weights of (top passage similarity, best sentence score,
/// coverage, sentence coverage) and the bias.
const SAME: [f32; 4] = [3.067, 2.941, 1.769, -0.249];
const SAME_BIAS: f32 = -6.151;

/// Across languages: weights of (top passage similarity, best sentence
/// score), the bias, and the shift added to each score first.
const CROSS: [f32; 2] = [2.35, 5.518];
const CROSS_BIAS: f32 = -7.173;
const CROSS_SHIFT: [f32; 2] = [0.047, 0.163];

/// The probability-like confidence in `0..=1` that the content answers.
pub fn estimate(signals: &Signals) -> f32 {
    if signals.topic.is_none() {
        return 0.0;
    }
    let z = if signals.cross_lingual {
        CROSS[0] * (signals.top_similarity + CROSS_SHIFT[0])
            + CROSS[1] * (signals.sentence_score + CROSS_SHIFT[1])
            + CROSS_BIAS
    } else {
        SAME[0] * signals.top_similarity
            + SAME[1] * signals.sentence_score
            + SAME[2] * signals.coverage
            + SAME[3] * signals.sentence_coverage
            + SAME_BIAS
    };
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stronger_support_means_more_confidence() {
        let weak = Signals {
            topic: Some("t".into()),
            top_similarity: 0.75,
            sentence_score: 0.75,
            coverage: 0.2,
            ..Signals::default()
        };
        let strong = Signals {
            top_similarity: 0.9,
            sentence_score: 1.0,
            coverage: 1.0,
            sentence_coverage: 1.0,
            ..weak.clone()
        };
        assert!(estimate(&weak) < estimate(&strong));
        assert!((0.0..=1.0).contains(&estimate(&weak)));
        assert_eq!(estimate(&Signals::default()), 0.0, "nothing retrieved");
    }

    #[test]
    fn across_languages_word_overlap_does_not_count() {
        let asked_in_german = Signals {
            topic: Some("t".into()),
            top_similarity: 0.82,
            sentence_score: 0.84,
            cross_lingual: true,
            ..Signals::default()
        };
        let with_overlap = Signals {
            coverage: 1.0,
            ..asked_in_german.clone()
        };
        assert_eq!(estimate(&asked_in_german), estimate(&with_overlap));
        assert!(
            estimate(&asked_in_german) > 0.5,
            "{}",
            estimate(&asked_in_german)
        );
    }
}
