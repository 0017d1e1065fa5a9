//! Re-scores the top retrieved passages against the question, sentence by
//! sentence: a passage is as good as its best sentence and its own similarity.

use crate::embed::{cosine, EmbedError, Embedder, Role};
use crate::retrieve::Passage;

/// How many fused candidates are re-scored.
pub const RESCORED: usize = 8;
/// Weight of word overlap in a sentence's score.
const OVERLAP_WEIGHT: f32 = 0.15;

/// A sentence of a passage with its score against the question.
#[derive(Clone, Debug)]
pub struct Scored {
    pub text: String,
    /// Its place in the passage.
    pub position: usize,
    /// Cosine to the question plus a share of word overlap.
    pub score: f32,
}

/// A passage after re-scoring.
#[derive(Clone, Debug)]
pub struct Ranked {
    pub passage: Passage,
    /// The passage's score after re-scoring (higher is better).
    pub score: f32,
    pub sentences: Vec<Scored>,
    /// Share of the question's content words the passage contains.
    pub coverage: f32,
    /// The same share within the best sentence and its neighbours.
    pub sentence_coverage: f32,
}

impl Ranked {
    pub fn best_sentence(&self) -> f32 {
        self.sentences.iter().map(|s| s.score).fold(0.0, f32::max)
    }
}

const STOPWORDS: &[&str] = &[
    "the", "and", "for", "are", "how", "what", "when", "where", "which", "who", "whom", "why",
    "does", "did", "can", "you", "your", "with", "that", "this", "from", "have", "has", "had",
    "will", "long", "much", "many", "take", "there", "about", "into", "they", "them", "would",
    "could", "should", "our", "out", "was", "were", "been", "being", "its", "his", "her", "their",
    "than", "then", "some", "any", "one", "also", "not", "but", "name", "type", "kind", "year",
    "called", "used", "use", "get", "way",
];

/// The question's content words, by their first five letters.
pub fn content_words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() > 2 && !STOPWORDS.contains(&w.as_str()))
        .map(|w| w.chars().take(5).collect())
        .collect();
    words.dedup();
    words
}

/// Share of `question` words (stems) present in `text`.
pub fn overlap(question: &[String], text: &str) -> f32 {
    if question.is_empty() {
        return 0.0;
    }
    let words = content_words(text);
    question.iter().filter(|q| words.contains(q)).count() as f32 / question.len() as f32
}

/// Splits a passage into sentences; list items and table rows count as one.
pub fn sentences(passage: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in passage.lines() {
        let line = line
            .trim()
            .trim_start_matches("• ")
            .trim_start_matches("| ")
            .replace(" | ", " — ");
        let mut start = 0;
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        for (i, &(at, c)) in chars.iter().enumerate() {
            let next_is_space_upper = chars.get(i + 1).is_some_and(|&(_, n)| n == ' ')
                && chars
                    .get(i + 2)
                    .is_some_and(|&(_, n)| n.is_uppercase() || n.is_ascii_digit());
            if matches!(c, '.' | '?' | '!') && next_is_space_upper {
                out.push(line[start..=at].trim().to_owned());
                start = at + 1;
            }
        }
        let rest = line[start..].trim();
        if !rest.is_empty() {
            out.push(rest.to_owned());
        }
    }
    out.retain(|s| s.split_whitespace().count() >= 3);
    out
}

/// Re-scores the first [`RESCORED`] passages and returns them best first.
pub async fn rescore(
    embedder: &Embedder,
    question: &str,
    question_vector: &[f32],
    mut passages: Vec<Passage>,
) -> Result<Vec<Ranked>, EmbedError> {
    passages.truncate(RESCORED);
    let split: Vec<Vec<String>> = passages.iter().map(|p| sentences(&p.content)).collect();
    let texts: Vec<String> = passages
        .iter()
        .zip(&split)
        .flat_map(|(p, sentences)| {
            sentences
                .iter()
                .map(move |s| format!("{}\n{s}", p.heading_path))
        })
        .collect();
    let mut vectors = embedder
        .embed_cached(&texts, Role::Passage)
        .await?
        .into_iter();
    let words = content_words(question);
    let mut ranked: Vec<Ranked> = passages
        .into_iter()
        .zip(split)
        .map(|(passage, sentences)| {
            let sentences: Vec<Scored> = sentences
                .into_iter()
                .enumerate()
                .map(|(position, text)| {
                    let vector = vectors.next().expect("one vector per sentence");
                    let score =
                        cosine(question_vector, &vector) + OVERLAP_WEIGHT * overlap(&words, &text);
                    Scored {
                        text,
                        position,
                        score,
                    }
                })
                .collect();
            let coverage = overlap(
                &words,
                &format!(
                    "{} {} {}",
                    passage.title, passage.heading_path, passage.content
                ),
            );
            let sentence_coverage = sentences
                .iter()
                .max_by(|a, b| a.score.total_cmp(&b.score))
                .map_or(0.0, |best| {
                    let around = sentences
                        .iter()
                        .filter(|s| s.position.abs_diff(best.position) <= 1)
                        .map(|s| s.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" ");
                    overlap(&words, &format!("{} {around}", passage.heading_path))
                });
            let mut ranked = Ranked {
                passage,
                score: 0.0,
                sentences,
                coverage,
                sentence_coverage,
            };
            ranked.score = 0.5 * ranked.best_sentence() + 0.5 * ranked.passage.similarity as f32;
            ranked
        })
        .collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(ranked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sentences_and_lists() {
        let s = sentences("Refunds are issued within 5 days. Your bank may take 3 to 5 more days.\n• Keep the phone within 3 metres.\n| Free | 0 euros | Control");
        assert_eq!(
            s,
            vec![
                "Refunds are issued within 5 days.",
                "Your bank may take 3 to 5 more days.",
                "Keep the phone within 3 metres.",
                "Free — 0 euros — Control",
            ]
        );
    }

    #[test]
    fn keeps_abbreviations_and_decimals_whole() {
        let s = sentences("Shipping costs 4.95 euros, e.g. for small orders.");
        assert_eq!(s, vec!["Shipping costs 4.95 euros, e.g. for small orders."]);
    }

    #[test]
    fn overlap_counts_stems() {
        let q = content_words("How long do refunds take?");
        assert_eq!(q, vec!["refun"]);
        assert_eq!(overlap(&q, "Refunding is quick"), 1.0);
        assert_eq!(overlap(&q, "Shipping is quick"), 0.0);
    }
}
