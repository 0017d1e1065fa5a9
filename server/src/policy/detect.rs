//! Admin-defined phrases: case-insensitive words or `/regex/` patterns that
//! signal a sensitive category or a request for a person whatever the
//! classifiers say (see `intent` for recognition by meaning).

use regex::Regex;

/// A category's phrases, compiled: `/regex/` as a case-insensitive regex,
/// anything else as a case-insensitive substring.
pub struct Phrases(Vec<Phrase>);

enum Phrase {
    Words(String),
    Pattern(Regex),
}

impl Phrases {
    /// Compiles the phrases; a pattern that does not compile is reported.
    pub fn compile(phrases: &[String]) -> Result<Self, String> {
        phrases
            .iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                let p = p.trim();
                match p.strip_prefix('/').and_then(|p| p.strip_suffix('/')) {
                    Some(pattern) if !pattern.is_empty() => regex::RegexBuilder::new(pattern)
                        .case_insensitive(true)
                        .size_limit(1 << 16)
                        .build()
                        .map(Phrase::Pattern)
                        .map_err(|e| format!("the pattern /{pattern}/ is not valid: {e}")),
                    _ => Ok(Phrase::Words(p.to_lowercase())),
                }
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// The first matching words in `text`.
    pub fn find(&self, text: &str) -> Option<String> {
        let lower = text.to_lowercase();
        self.0.iter().find_map(|phrase| match phrase {
            Phrase::Words(words) => lower
                .find(words.as_str())
                .map(|at| lower[at..at + words.len()].to_owned()),
            Phrase::Pattern(re) => re.find(text).map(|m| m.as_str().to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_match_words_and_patterns() {
        let phrases = Phrases::compile(&[
            "Doppelt abgebucht".to_owned(),
            r"/\bcharged (twice|double)\b/".to_owned(),
        ])
        .unwrap();
        assert_eq!(
            phrases.find("Mir wurde DOPPELT abgebucht!").unwrap(),
            "doppelt abgebucht"
        );
        assert_eq!(
            phrases.find("I was Charged twice").unwrap(),
            "Charged twice"
        );
        assert!(phrases.find("how do refunds work").is_none());
        assert!(Phrases::compile(&["/(unclosed/".to_owned()]).is_err());
    }
}
