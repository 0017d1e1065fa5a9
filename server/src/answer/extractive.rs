//! The built-in answer: the sentences of the given passages that best answer
//! the question, each carrying its `[n]` citation. It never writes a word that
//! is not in a passage.

use super::generate::Source;
use super::rescore::Scored;

/// Passages whose sentences may be used.
const PASSAGES: usize = 4;
/// Sentences in an answer, at most.
const MAX_SENTENCES: usize = 3;
/// How far below the best sentence another may score and still be used.
const MARGIN: f32 = 0.08;

/// Places the citation marker before the sentence's final punctuation.
fn cite(sentence: &str, number: u32) -> String {
    match sentence.char_indices().last() {
        Some((at, c)) if matches!(c, '.' | '!' | '?') => {
            format!("{} [{number}]{c}", &sentence[..at])
        }
        _ => format!("{sentence} [{number}]"),
    }
}

/// The text without its `[n]` citation markers.
pub fn strip_citations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" [") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        match after.find(']') {
            Some(end) if end > 0 && after[..end].bytes().all(|b| b.is_ascii_digit()) => {
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(" [");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Composes the answer from the best-scored sentences; empty when the
/// sources have no sentences.
pub fn compose(sources: &[Source<'_>]) -> String {
    let sources = &sources[..sources.len().min(PASSAGES)];
    let candidates: Vec<(u32, &Scored)> = sources
        .iter()
        .flat_map(|s| {
            s.ranked
                .sentences
                .iter()
                .map(move |sentence| (s.number, sentence))
        })
        .collect();
    let best = candidates
        .iter()
        .map(|(_, s)| s.score)
        .fold(f32::MIN, f32::max);
    let mut chosen: Vec<(u32, &Scored)> = candidates
        .into_iter()
        .filter(|(_, s)| s.score >= best - MARGIN)
        .collect();
    chosen.sort_by(|a, b| b.1.score.total_cmp(&a.1.score));
    chosen.truncate(MAX_SENTENCES);
    chosen.sort_by_key(|(number, s)| (*number, s.position));
    chosen
        .iter()
        .map(|(number, s)| cite(&s.text, *number))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::generate::sources;
    use crate::answer::rescore::Ranked;
    use crate::retrieve::Passage;

    fn ranked(url: &str, sentences: &[(&str, f32)]) -> Ranked {
        Ranked {
            passage: Passage {
                chunk_id: uuid::Uuid::new_v4(),
                title: "T".into(),
                heading_path: "T".into(),
                url: url.into(),
                content: String::new(),
                fused_score: 0.0,
                similarity: 0.5,
                ts_config: "english".into(),
            },
            score: 0.5,
            sentences: sentences
                .iter()
                .enumerate()
                .map(|(position, (text, score))| Scored {
                    text: (*text).into(),
                    position,
                    score: *score,
                })
                .collect(),
            coverage: 1.0,
            sentence_coverage: 1.0,
        }
    }

    #[test]
    fn citation_goes_before_the_full_stop() {
        assert_eq!(cite("It takes 5 days.", 2), "It takes 5 days [2].");
        assert_eq!(cite("No stop", 1), "No stop [1]");
    }

    #[test]
    fn picks_the_best_sentences_in_reading_order() {
        let given = [
            ranked(
                "a",
                &[("Refunds take 5 days.", 0.8), ("Off topic here.", 0.2)],
            ),
            ranked(
                "b",
                &[("Banks add 3 days.", 0.75), ("Also off topic.", 0.1)],
            ),
        ];
        let text = compose(&sources(&given));
        assert_eq!(text, "Refunds take 5 days [1]. Banks add 3 days [2].");
    }

    #[test]
    fn nothing_to_say_is_empty() {
        assert_eq!(compose(&sources(&[ranked("a", &[])])), "");
    }
}
