//! Generators write the answer from the passages the policy let through. The
//! built-in one picks sentences; the OpenAI-compatible one asks a model. Both
//! stream, and both are held to the same check: an answer must cite the
//! passages it was given, or it is not an answer.

use std::sync::LazyLock;

use app::types::Citation;
use regex::Regex;
use tokio::sync::mpsc;

use super::extractive;
use crate::lang::Language;
use crate::retrieve::rescore::Ranked;

/// One passage handed to a generator; the answer cites it as `[number]`.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    pub number: u32,
    pub ranked: &'a Ranked,
}

/// Numbers the passages 1, 2, … in the order given.
pub fn sources(ranked: &[Ranked]) -> Vec<Source<'_>> {
    ranked
        .iter()
        .enumerate()
        .map(|(i, ranked)| Source {
            number: i as u32 + 1,
            ranked,
        })
        .collect()
}

/// Why a generator wrote nothing. What it shows (to agents, in handoff
/// reasons) is neutral; the detail a variant carries, which may name
/// addresses or quote the service, is for the log ([`Self::detail`]).
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("the model endpoint did not answer in time")]
    Timeout,
    #[error("the model endpoint could not be reached")]
    Unreachable(String),
    #[error("the model endpoint's {}", crate::outbound::NOT_ALLOWED)]
    NotAllowed,
    #[error("the model endpoint answered with an error")]
    Service(String),
    #[error("the model endpoint broke off its reply")]
    Interrupted(String),
    #[error(transparent)]
    Embed(#[from] crate::embed::EmbedError),
}

impl GenerateError {
    /// What the log says besides the message.
    pub fn detail(&self) -> &str {
        match self {
            Self::Unreachable(d) | Self::Service(d) | Self::Interrupted(d) => d,
            Self::Timeout | Self::NotAllowed | Self::Embed(_) => "",
        }
    }
}

/// Where a generator sends its text as it writes it. Dropping the receiver
/// (the turn was cut short) makes sends fail, which generators may ignore.
pub type Sink = mpsc::UnboundedSender<String>;

#[async_trait::async_trait]
pub trait Generator: Send + Sync {
    /// Writes an answer to `question` from `sources`, sending each piece to
    /// `out` as it is written, and returns the whole text. `[n]` cites source n.
    /// The empty string means "I cannot answer from these sources".
    async fn generate(
        &self,
        question: &str,
        sources: &[Source<'_>],
        out: &Sink,
    ) -> Result<String, GenerateError>;

    /// A short name for logs and decision records.
    fn name(&self) -> &'static str;

    /// The lines of its instructions an answer must not repeat.
    fn instructions(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The offline, extractive generator: never writes a word that is not in a
/// passage. `pace` spaces its pieces like typing.
pub struct Builtin {
    pub pace: std::time::Duration,
}

#[async_trait::async_trait]
impl Generator for Builtin {
    async fn generate(
        &self,
        question: &str,
        sources: &[Source<'_>],
        out: &Sink,
    ) -> Result<String, GenerateError> {
        let quoted = extractive::compose(sources);
        // A quote in another language than the question's says so, in the
        // visitor's language (the built-in generator cannot translate).
        let text = match language_note(question, &quoted) {
            Some(note) if !quoted.is_empty() => format!("{note} {quoted}"),
            _ => quoted,
        };
        // Stream it in pieces of two words, as a model would.
        let mut words = text.split_inclusive(' ').peekable();
        while words.peek().is_some() {
            let piece: String = words.by_ref().take(2).collect();
            let _ = out.send(piece);
            if !self.pace.is_zero() && words.peek().is_some() {
                tokio::time::sleep(self.pace).await;
            }
        }
        Ok(text)
    }

    fn name(&self) -> &'static str {
        "builtin"
    }
}

/// "From our documentation, in English:" in the visitor's language, when the
/// question's language is known and the quote's is another.
fn language_note(question: &str, quoted: &str) -> Option<String> {
    let visitor = Language::detect(question)?;
    let cited = super::extractive::strip_citations(quoted);
    let docs = Language::of_page(&cited)?;
    (visitor != docs).then(|| crate::lang::quoted_from_docs(visitor, docs))
}

/// An answer that passed the grounding check.
#[derive(Clone, Debug, PartialEq)]
pub struct Grounded {
    /// The text with citations of passages that were not given removed.
    pub text: String,
    pub citations: Vec<Citation>,
    /// How many `[n]` markers named a passage that was not given.
    pub invalid_citations: usize,
}

static MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\s?\[(\d{1,3})\]").expect("static pattern"));

/// Checks the answer's citations against the passages actually given.
/// Returns `None` when it cites none of them (or is empty): not grounded.
pub fn ground(text: &str, sources: &[Source<'_>]) -> Option<Grounded> {
    let mut cited: Vec<u32> = Vec::new();
    let mut invalid = 0;
    let cleaned = MARKER.replace_all(text.trim(), |caps: &regex::Captures| {
        let number: u32 = caps[1].parse().unwrap_or(0);
        if sources.iter().any(|s| s.number == number) {
            if !cited.contains(&number) {
                cited.push(number);
            }
            caps[0].to_owned()
        } else {
            invalid += 1;
            String::new()
        }
    });
    if cited.is_empty() {
        return None;
    }
    cited.sort_unstable();
    let citations = cited
        .iter()
        .filter_map(|n| sources.iter().find(|s| s.number == *n))
        .map(|s| {
            let p = &s.ranked.passage;
            Citation {
                number: s.number,
                title: p.title.clone(),
                heading_path: p.heading_path.clone(),
                url: p.url.clone(),
                passage: p.content.clone(),
            }
        })
        .collect();
    Some(Grounded {
        text: cleaned.into_owned(),
        citations,
        invalid_citations: invalid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retrieve::Passage;

    fn ranked(url: &str) -> Ranked {
        Ranked {
            passage: Passage {
                chunk_id: uuid::Uuid::new_v4(),
                title: "Refunds".into(),
                heading_path: "Refunds › Timing".into(),
                url: url.into(),
                content: "Refunds take 5 days.".into(),
                fused_score: 0.03,
                similarity: 0.7,
                ts_config: "english".into(),
            },
            score: 0.8,
            sentences: vec![],
            coverage: 1.0,
            sentence_coverage: 1.0,
        }
    }

    #[test]
    fn keeps_given_citations_and_drops_invented_ones() {
        let given = [ranked("https://a/1"), ranked("https://a/2")];
        let sources = sources(&given);
        let g = ground("Refunds take 5 days [2]. Ask us [7].", &sources).unwrap();
        assert_eq!(g.text, "Refunds take 5 days [2]. Ask us.");
        assert_eq!(g.invalid_citations, 1);
        assert_eq!(g.citations.len(), 1);
        assert_eq!(g.citations[0].number, 2);
        assert_eq!(g.citations[0].url, "https://a/2");
    }

    #[test]
    fn a_reply_without_valid_citations_is_not_grounded() {
        let given = [ranked("https://a/1")];
        let sources = sources(&given);
        assert!(ground("Refunds take 5 days.", &sources).is_none());
        assert!(ground("Refunds take 5 days [3].", &sources).is_none());
        assert!(ground("", &sources).is_none());
    }
}
