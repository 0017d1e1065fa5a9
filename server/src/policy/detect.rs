//! Detection of what the policy reacts to in a message: a request for a
//! person (any wording, five languages) and admin-defined phrases.

use std::sync::LazyLock;

use regex::Regex;

/// Verbs of reaching someone (with the usual typos).
const CONTACT: &str = r"((talk\w*|takl\w*|tlak\w*|speak(s|ing|ign|in)?|speek\w*|spaek\w*|spek\w*|chat\w*|contact\w*|reach|call\w*|connect (me|us)|get in touch|get hold of|transfer me|put me through|escalate))";
/// Who the visitor wants to reach.
const SOMEONE: &str = r"((agents?|agnets?|agen\w*|human( being)?s?|person|persn|pesron|people|someone|somebody|som[eo]n\w*|anyone|anybody|operators?|representatives?|reps?|(an?|the|live|human|real) assistants?|staff|(support|service) team|live support|cust\w*mer\s+(service|support|assistance|care|serv\w*|sup+\w*|ass\w*|sev\w*|sp\w*)|custome\s+\w+|(real|live|actual) (one|person|human)))";

/// Phrasings of "I want a person", in English, German, French, Spanish and
/// Japanese. English ones are built from [`CONTACT`] and [`SOMEONE`].
static HUMAN_REQUEST: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        format!(r"\b{CONTACT}\b[^.?!]{{0,40}}?\b{SOMEONE}\b"),
        r"\b(real|live|actual)\s+(person|human|agent|people)\b".to_owned(),
        r"\b(human|person|agent|operator)\s*,?\s*(please|pls|now)\b".to_owned(),
        r"\bi\s+(want|need|would like|'d like)\b[^.?!]{0,15}\b(a |an )?(person|human|agent|representative|operator)\b".to_owned(),
        // "What hours can I call customer service", "a phone number for support".
        r"\b(what|which)\s+(hours|time)\b[^.?!]{0,40}\bcustomer\s+\w+".to_owned(),
        r"\bcustomer\s+(service|support|assistance|care|serv\w*|sup+\w*|ass\w*|sev\w*)\b[^.?!]{0,30}\b(available|hours|open|phone|number)\b".to_owned(),
        format!(r"\b(phone|free)\s+(number|no)\b[^.?!]{{0,30}}\b{SOMEONE}\b"),
        // Just "agent" or "a real person".
        format!(r"^\s*{SOMEONE}\s*[.!?]?\s*$"),
        r"\b(mit\s+)?(einem|einer)\s+(menschen|mitarbeiter|mitarbeiterin|berater|beraterin|person)\s+(sprechen|reden)\b".to_owned(),
        r"\b(echten|realen)\s+(menschen|person|mitarbeiter)\b".to_owned(),
        r"\b(kundendienst|kundenservice|support)\s+(sprechen|erreichen|kontaktieren|anrufen)\b".to_owned(),
        r"\bparler\s+(à|a|avec)\s+(un|une|quelqu'un|quelqu’un|le service client)\b".to_owned(),
        r"\b(un|une)\s+(humain|conseiller|conseillère|personne réelle|vraie personne|agent humain)\b".to_owned(),
        r"\bhablar\s+con\s+(una persona|un humano|un agente|alguien|un asesor|atención al cliente)\b".to_owned(),
        r"\b(persona real|agente humano)\b".to_owned(),
        r"(人と話|担当者|オペレーター|人間と|スタッフと話|サポートに連絡)".to_owned(),
    ]
    .iter()
    .map(|p| Regex::new(&format!("(?i){p}")).expect("static pattern"))
    .collect()
});

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
                        .size_limit(1 << 20)
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

/// The words that ask for a person, if the message does.
pub fn human_request(text: &str) -> Option<String> {
    HUMAN_REQUEST
        .iter()
        .find_map(|re| re.find(text).map(|m| m.as_str().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_requests_for_a_person() {
        for text in [
            "I want to talk to a person",
            "can I speak with someone from support?",
            "real human please",
            "Connect me to an agent",
            "Ich möchte mit einem Menschen sprechen",
            "Je veux parler à un conseiller",
            "Quiero hablar con una persona",
            "担当者と話したいです",
            "how can i speak with customer assistance",
            "what hours can I call customer service?",
            "contact agent",
        ] {
            assert!(human_request(text).is_some(), "missed: {text}");
        }
    }

    #[test]
    fn ignores_ordinary_questions() {
        for text in [
            "how do I add a human user role",
            "how long do refunds take?",
            "Can the lamp talk to Alexa?",
            "what does the team plan cost",
            "How do I assign a conversation to an agent?",
            "I lost my phone and I'm worried someone will use it",
            "How do I connect the lamp to Google Assistant?",
            "How long does it take for someone to reply?",
            "How do I transfer a conversation to another agent?",
            "Does the speaker work for people with hearing aids?",
        ] {
            assert!(human_request(text).is_none(), "false positive: {text}");
        }
    }

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

    #[test]
    fn default_phrases_compile_and_flag_their_topics() {
        let categories = super::super::defaults::categories();
        let find = |text: &str| {
            categories.iter().find_map(|c| {
                Phrases::compile(&c.phrases)
                    .unwrap()
                    .find(text)
                    .map(|_| c.name.clone())
            })
        };
        assert_eq!(
            find("I was charged twice this month").unwrap(),
            "billing_dispute"
        );
        assert_eq!(find("my account got hacked").unwrap(), "account_access");
        assert_eq!(find("Mein Konto wurde gehackt").unwrap(), "account_access");
        assert_eq!(find("On m'a débité deux fois").unwrap(), "billing_dispute");
        assert_eq!(find("Quiero borrar mis datos").unwrap(), "privacy_request");
        assert_eq!(find("二重請求されました").unwrap(), "billing_dispute");
        assert!(find("how do I reset my password?").is_none());
        assert!(find("how long do refunds take?").is_none());
    }
}
