//! The handoff policy as admins edit it and as decisions record it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Confidence;

/// Everything the policy weighed for one visitor message. Stored with the
/// decision, so a replay with another threshold or rule set is exact.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    /// The words that asked for a person, if any.
    pub human_request: Option<String>,
    /// The sensitive category detected, if any, and what signalled it.
    pub sensitive: Option<SensitiveMatch>,
    /// Cosine similarity of the best passage to the question.
    pub top_similarity: f32,
    /// The best sentence's score (similarity plus word overlap).
    pub sentence_score: f32,
    /// Share of the question's content words found in the best passage.
    pub coverage: f32,
    /// The same share within that passage's best sentence and its neighbours.
    #[serde(default)]
    pub sentence_coverage: f32,
    /// The calibrated confidence from the numbers above.
    pub confidence: f32,
    /// "Title › Heading" of the best passage: the detected topic.
    pub topic: Option<String>,
    /// The page the visitor was on.
    pub page_url: Option<String>,
    /// Unhelpful AI answers in a row before this message.
    pub unhelpful_in_a_row: u32,
    /// Whether the message came outside the workspace's support hours.
    pub outside_hours: bool,
    /// The visitor's attributes (from the site's identify call).
    #[serde(default)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// The questions of the policy's "means the same as" conditions that
    /// this message is close to in meaning.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub like: Vec<String>,
    /// The language the message is written in (`de`, `ja`, …), when it can
    /// be told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The message and the best passage are in different languages: word
    /// overlap says nothing, and the confidence weighs meaning alone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cross_lingual: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SensitiveMatch {
    pub category: String,
    /// The phrase that matched, or the example the message was closest to.
    pub matched: String,
    /// 1.0 for a phrase; the similarity to the closest example otherwise.
    pub score: f32,
}

/// A workspace's answer and handoff settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Answers below this confidence go to a person.
    pub threshold: Confidence,
    pub categories: Vec<SensitiveCategory>,
    pub rules: Vec<Rule>,
    pub generator: GeneratorSettings,
    pub support_hours: Option<SupportHours>,
    /// While the visitor waits for a person, the AI keeps answering from the
    /// content (labelled as AI) until someone claims the conversation.
    #[serde(default = "yes")]
    pub answer_while_waiting: bool,
    /// The admin's own examples and phrases of requests for a person, on top
    /// of the built-in ones.
    #[serde(default)]
    pub human_request: HumanRequestSettings,
    /// The admin's target in words: hand off at most this share (0..=1) of
    /// the questions the content answers. While set, `threshold` follows the
    /// workspace's calibration; `None` when the admin set the threshold.
    #[serde(default)]
    pub handoff_target: Option<f32>,
    /// What Tandem measured on the workspace's own content (read-only: set
    /// after each ingest, ignored when a policy is saved).
    #[serde(default)]
    pub calibration: Option<Calibration>,
    /// What happens when the AI is unsure (and nothing else hands off).
    #[serde(default)]
    pub unsure: Unsure,
}

/// The workspace's choice for a question the AI is unsure of.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unsure {
    /// Hand the conversation to the team at once.
    #[default]
    HandOff,
    /// Say so and offer the team; the conversation stays with the AI, so the
    /// visitor may rephrase (a request for the team hands off as ever).
    Offer,
}

impl Unsure {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HandOff => "hand_off",
            Self::Offer => "offer",
        }
    }

    pub fn parse(s: &str) -> Self {
        if s == "offer" {
            Self::Offer
        } else {
            Self::HandOff
        }
    }
}

/// The trade between answering and handing off, measured on questions made
/// from a workspace's own content (answerable) and off-topic ones (not).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// By threshold, ascending.
    pub curve: Vec<TradePoint>,
    pub answerable: u32,
    pub unanswerable: u32,
    /// When it was measured (RFC 3339).
    pub computed_at: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TradePoint {
    pub threshold: f32,
    /// Share of the answerable questions handed off at this threshold.
    pub answerable_handoff: f32,
    /// Share of the off-topic questions answered at this threshold.
    pub unanswerable_answered: f32,
}

/// How much lower a real visitor's answerable question scores than a probe
/// made from the passage's own words, at the same share handed off: the
/// curve is measured on probes, and real questions are harder. Measured on
/// the Wikipedia tune set (`tune.jsonl`): 0.51 hands off 15 % of its real
/// answerable questions, 0.69 hands off 15 % of the probes made from its
/// pages.
pub const PROBE_OFFSET: f32 = -0.18;

impl Calibration {
    /// The threshold for a target: the highest that hands off at most
    /// `target` of the probes, lowered by [`PROBE_OFFSET`] for real
    /// questions. The point keeps the probes' rates.
    pub fn threshold_for(&self, target: f32) -> Option<TradePoint> {
        self.curve
            .iter()
            .filter(|p| p.answerable_handoff <= target + 1e-6)
            .max_by(|a, b| a.threshold.total_cmp(&b.threshold))
            .map(|p| TradePoint {
                threshold: (p.threshold + PROBE_OFFSET).clamp(0.05, 0.95),
                ..*p
            })
    }

    /// The trade at a given threshold (the nearest measured point below it,
    /// on the probes' scale).
    pub fn at(&self, threshold: f32) -> Option<TradePoint> {
        let on_probes = threshold - PROBE_OFFSET;
        self.curve
            .iter()
            .filter(|p| p.threshold <= on_probes + 1e-6)
            .max_by(|a, b| a.threshold.total_cmp(&b.threshold))
            .map(|p| TradePoint { threshold, ..*p })
    }
}

/// How a workspace recognises a request for a person beyond the built-in
/// examples: messages of its own visitors (any language) that ask for one,
/// matched by meaning, and phrases that always count.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HumanRequestSettings {
    #[serde(default)]
    pub examples: Vec<String>,
    /// Case-insensitive substrings, or `/regex/`.
    #[serde(default)]
    pub phrases: Vec<String>,
}

fn yes() -> bool {
    true
}

/// A sensitive topic the team wants a person to handle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SensitiveCategory {
    /// snake_case, e.g. `billing_dispute`.
    pub name: String,
    pub enabled: bool,
    /// Phrases (case-insensitive substrings, or `/regex/`) that signal it.
    pub phrases: Vec<String>,
    /// Example messages; a message close enough in meaning to one signals it.
    pub examples: Vec<String>,
}

/// An admin rule: when every condition holds, take the action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub id: Uuid,
    pub name: String,
    pub enabled: bool,
    pub conditions: Vec<Condition>,
    pub action: RuleAction,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "when", rename_all = "snake_case")]
pub enum Condition {
    /// The message contains this phrase (case-insensitive), or matches `/regex/`.
    Phrase { pattern: String },
    /// A sensitive category was detected (`any` for any of them).
    Category { name: String },
    /// The detected topic (best passage's title and headings) contains this.
    Topic { contains: String },
    /// The visitor's page URL contains this.
    PageUrl { contains: String },
    /// A visitor attribute equals this value (as text).
    Attribute { key: String, equals: String },
    /// At least this many unhelpful AI answers in a row.
    UnhelpfulInARow { at_least: u32 },
    /// The message arrived outside support hours.
    OutsideSupportHours,
    /// The message means the same as one of these questions (by embedding
    /// similarity): a topic of escalations marked "always a person".
    Like { questions: Vec<String> },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "then", rename_all = "snake_case")]
pub enum RuleAction {
    HandOff,
    HandOffToTeam {
        team: String,
    },
    Tag {
        tag: String,
    },
    Priority {
        level: Priority,
    },
    /// Answer even if a sensitive topic or low confidence would hand off (a
    /// visitor's own request for a person still wins).
    AnswerWithoutHandoff,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }
}

/// Which generator writes the workspace's answers.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GeneratorSettings {
    /// Offline extractive answers from the passages (no key needed).
    Builtin,
    /// Any OpenAI-compatible chat-completions endpoint.
    OpenAi {
        /// e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1`.
        base_url: String,
        model: String,
        /// Empty for servers that need none. Never sent back to the browser.
        #[serde(default)]
        api_key: String,
    },
}

/// Without the key: a `Debug` print never shows it.
impl std::fmt::Debug for GeneratorSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Builtin => f.write_str("Builtin"),
            Self::OpenAi {
                base_url, model, ..
            } => f
                .debug_struct("OpenAi")
                .field("base_url", base_url)
                .field("model", model)
                .field("api_key", &super::REDACTED)
                .finish(),
        }
    }
}

/// When the team answers: a time zone and opening hours per weekday.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupportHours {
    /// IANA name, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// Monday first; each day's opening and closing time as "HH:MM", or none.
    pub days: [Option<(String, String)>; 7],
    /// Days the team is closed all day (in the schedule's time zone).
    #[serde(default)]
    pub holidays: Vec<chrono::NaiveDate>,
}

/// One past decision as a replayed policy would have made it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplayRow {
    pub conversation_id: Option<Uuid>,
    pub question: String,
    pub at: chrono::DateTime<chrono::Utc>,
    /// What happened: `None` = answered, else the reason's short label.
    pub before: Option<String>,
    pub after: Option<String>,
    pub confidence: f32,
}

/// The outcome of replaying a candidate policy over past decisions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Replay {
    pub decisions: usize,
    pub handed_off_before: usize,
    pub handed_off_after: usize,
    /// Only the decisions whose outcome changes.
    pub changed: Vec<ReplayRow>,
}

/// Whether a phrase line is a `/regex/` pattern rather than plain words.
pub fn is_pattern(phrase: &str) -> bool {
    let p = phrase.trim();
    p.len() >= 2 && p.starts_with('/') && p.ends_with('/')
}

/// A `/regex/` phrase read out as the words it matches, for people who do
/// not read regular expressions: `/\b(lawyer|attorney)s?\b/` is "lawyer,
/// lawyers, attorney, attorneys". At most `shown` forms are listed, then how
/// many more; `None` when the pattern uses more than words, alternatives,
/// optional parts and word boundaries (it is then shown as it is, under
/// Advanced).
pub fn pattern_in_words(phrase: &str, shown: usize) -> Option<String> {
    let body = phrase.trim().strip_prefix('/')?.strip_suffix('/')?;
    let chars: Vec<char> = body.chars().collect();
    let mut at = 0;
    let forms = expand_alternatives(&chars, &mut at)?;
    if at != chars.len() {
        return None;
    }
    let mut seen = Vec::<String>::new();
    for form in forms {
        let form = form.split_whitespace().collect::<Vec<_>>().join(" ");
        if !form.is_empty() && !seen.contains(&form) {
            seen.push(form);
        }
    }
    if seen.is_empty() {
        return None;
    }
    let more = seen.len().saturating_sub(shown);
    let mut words = seen.into_iter().take(shown).collect::<Vec<_>>().join(", ");
    if more > 0 {
        words.push_str(&format!(" and {more} more"));
    }
    Some(words)
}

/// More forms than this is not a list anyone reads.
const MAX_FORMS: usize = 512;

/// `a|b|c` up to a closing `)` or the end.
fn expand_alternatives(chars: &[char], at: &mut usize) -> Option<Vec<String>> {
    let mut forms = expand_sequence(chars, at)?;
    while chars.get(*at) == Some(&'|') {
        *at += 1;
        forms.extend(expand_sequence(chars, at)?);
        if forms.len() > MAX_FORMS {
            return None;
        }
    }
    Some(forms)
}

fn expand_sequence(chars: &[char], at: &mut usize) -> Option<Vec<String>> {
    let mut forms = vec![String::new()];
    while let Some(&c) = chars.get(*at) {
        if c == '|' || c == ')' {
            break;
        }
        *at += 1;
        let mut atom: Vec<String> = match c {
            '(' => {
                // A non-capturing group reads the same.
                if chars.get(*at..*at + 2) == Some(&['?', ':']) {
                    *at += 2;
                }
                let inner = expand_alternatives(chars, at)?;
                if chars.get(*at) != Some(&')') {
                    return None;
                }
                *at += 1;
                inner
            }
            '\\' => {
                let escaped = *chars.get(*at)?;
                *at += 1;
                match escaped {
                    // A word boundary, or a space: read as the words around it.
                    'b' => vec![String::new()],
                    's' => vec![" ".to_owned()],
                    c if c.is_alphanumeric() => return None,
                    c => vec![c.to_string()],
                }
            }
            '[' => {
                // A handful of plain characters: each is a form.
                let mut options = Vec::new();
                loop {
                    let c = *chars.get(*at)?;
                    *at += 1;
                    match c {
                        ']' => break,
                        '\\' | '^' => return None,
                        '-' if !options.is_empty() && chars.get(*at) != Some(&']') => return None,
                        c => options.push(c.to_string()),
                    }
                }
                options
            }
            '^' | '$' => vec![String::new()],
            '.' | '*' | '+' | '?' | '{' | '}' | ']' => return None,
            c => vec![c.to_string()],
        };
        match chars.get(*at) {
            Some('?') => {
                *at += 1;
                atom.insert(0, String::new());
            }
            // One or more spaces reads as a space.
            Some('+') if atom.iter().all(|a| a == " ") => *at += 1,
            Some('*' | '+' | '{') => return None,
            _ => {}
        }
        let mut next = Vec::with_capacity(forms.len() * atom.len());
        for form in &forms {
            for piece in &atom {
                next.push(format!("{form}{piece}"));
            }
        }
        if next.len() > MAX_FORMS {
            return None;
        }
        forms = next;
    }
    Some(forms)
}

#[cfg(test)]
mod pattern_tests {
    use super::*;

    #[test]
    fn patterns_read_as_the_words_they_match() {
        assert_eq!(
            pattern_in_words(r"/\b(lawyer|attorney)s?\b/", 8).as_deref(),
            Some("lawyer, lawyers, attorney, attorneys")
        );
        assert_eq!(
            pattern_in_words(r"/\bcharged (twice|double)\b/", 8).as_deref(),
            Some("charged twice, charged double")
        );
        assert_eq!(
            pattern_in_words(r"/\b(charged|billed) (me )?(twice|double)\b/", 3).as_deref(),
            Some("charged twice, charged double, charged me twice and 5 more")
        );
        assert_eq!(
            pattern_in_words(r"/self[- ]harm/", 8).as_deref(),
            Some("self-harm, self harm")
        );
        assert_eq!(
            pattern_in_words(r"/\bcoupons?\b/", 8).as_deref(),
            Some("coupon, coupons")
        );
        // More than words: left to Advanced.
        assert_eq!(pattern_in_words(r"/order \d+/", 8), None);
        assert_eq!(pattern_in_words(r"/refund.*late/", 8), None);
        assert_eq!(pattern_in_words("plain words", 8), None);
        assert!(is_pattern("/x/") && !is_pattern("x") && !is_pattern("/"));
    }
}
