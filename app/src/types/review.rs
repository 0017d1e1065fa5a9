//! Learning from escalations: topics of escalated questions, fixes made from
//! them, re-tests, and the dashboard's measures.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use super::ReasonKind;

/// A passage retrieved for a question, with its score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PassageScore {
    pub title: String,
    pub heading_path: String,
    pub url: String,
    /// The source it belongs to (gone if the source was deleted since).
    pub source_id: Option<Uuid>,
    /// The source's kind ("website", "file", "snippets").
    pub source_kind: Option<super::knowledge::SourceKind>,
    /// The re-scored similarity to the question.
    pub score: f32,
}

/// When the best passage's cosine similarity to a question is below this,
/// the review says "nothing relevant found" (multilingual-e5-small: a
/// question and a passage that answers it score about 0.85 and up; one on
/// another topic of the same site about 0.8).
pub const RELEVANT: f32 = 0.85;

/// A fix made from a topic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FixView {
    pub fix_id: Uuid,
    /// "snippet", "recrawl" or "rule".
    pub kind: String,
    /// What was made, as the admin reads it.
    pub target: String,
    pub by: Option<String>,
    pub at: DateTime<Utc>,
}

impl FixView {
    pub fn describe(&self) -> String {
        match self.kind.as_str() {
            "snippet" => format!("Snippet \u{201c}{}\u{201d} written", self.target),
            "recrawl" => format!("{} re-crawled", self.target),
            "rule" => format!("Rule \u{201c}{}\u{201d} added", self.target),
            other => other.to_owned(),
        }
    }
}

/// `count` out of `total` (handed off of the questions near a topic, AI-resolved
/// of the conversations, …).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    pub count: u32,
    pub total: u32,
}

impl Rate {
    pub fn percent(self) -> Option<f32> {
        (self.total > 0).then(|| 100.0 * self.count as f32 / self.total as f32)
    }

    /// "40 %", or "—" with nothing to count.
    pub fn share(self) -> String {
        self.percent()
            .map_or_else(|| "—".to_owned(), |p| format!("{p:.0} %"))
    }

    pub fn describe(self) -> String {
        match self.percent() {
            Some(p) => format!("{p:.0} % of {}", self.total),
            None => "no questions yet".to_owned(),
        }
    }
}

/// A topic's handoff rate before and after its last fix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FixEffect {
    pub fix: FixView,
    pub topic: String,
    /// Questions near the topic in the 30 days before the fix.
    pub before: Rate,
    /// Questions near the topic since the fix.
    pub after: Rate,
}

/// One topic of escalated questions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopicSummary {
    /// The decision of its most typical question: how the topic is opened.
    pub key: Uuid,
    /// Its most typical question.
    pub name: String,
    pub escalations: u32,
    pub conversations: u32,
    /// Escalations per week, oldest first, the last being this week.
    pub trend: Vec<u32>,
    /// How many of its escalations had each reason, most first.
    pub reasons: Vec<(ReasonKind, u32)>,
    /// What retrieval found for its most typical question, best first.
    pub passages: Vec<PassageScore>,
    /// The best passage's similarity was under [`RELEVANT`] (or there was none).
    pub nothing_found: bool,
    /// The best passage's cosine similarity to the question.
    pub best_similarity: Option<f32>,
    pub last_fix: Option<FixEffect>,
}

/// The review page: the window's escalations grouped into topics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewOverview {
    pub days: u32,
    pub escalations: u32,
    pub topics: Vec<TopicSummary>,
}

/// One escalated question of a topic, and how the team answered it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EscalationView {
    pub decision_id: Uuid,
    pub conversation_id: Option<Uuid>,
    pub question: String,
    pub at: DateTime<Utc>,
    pub reason: ReasonKind,
    /// The reason in full ("sensitive: billing_dispute", "rule: VIP").
    pub detail: String,
    pub confidence: f32,
    pub passages: Vec<PassageScore>,
    pub nothing_found: bool,
    pub best_similarity: Option<f32>,
    /// The team's replies after it, in order.
    pub replies: Vec<AgentReply>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentReply {
    pub agent: Option<String>,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// A topic opened: its escalations and the fixes made from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopicDetail {
    pub summary: TopicSummary,
    pub escalations: Vec<EscalationView>,
    pub fixes: Vec<FixView>,
}

/// What the answer engine did with a question.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub answered: bool,
    /// Why it was handed off.
    pub reason: Option<String>,
    pub confidence: f32,
    /// Titles of the passages cited (answered) or the best retrieved.
    pub citations: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetestRow {
    pub question: String,
    pub before: Verdict,
    pub after: Verdict,
}

/// A topic's questions run through the answer engine again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Retest {
    pub rows: Vec<RetestRow>,
    pub answered_before: u32,
    pub answered_after: u32,
}

/// What a conversation came to, under the dashboard's definitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The AI answered, nobody was needed, the visitor did not come back
    /// within 7 days and rated no answer down.
    AiResolved,
    /// Like `AiResolved` so far, but its 7 days have not passed.
    AiSoFar,
    /// The AI answered and nobody was needed, but the visitor rated an
    /// answer down or came back (reopened).
    AiUnresolved,
    /// Handed to the team at some point.
    HandedOff,
    /// No AI answer and no handoff (nothing asked, or still in progress).
    NoAnswer,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Self::AiResolved => "AI-resolved",
            Self::AiSoFar => "AI so far (under 7 days)",
            Self::AiUnresolved => "AI not resolved",
            Self::HandedOff => "handed off",
            Self::NoAnswer => "no answer",
        }
    }
}

/// A chart, drawn by the server as SVG.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    pub title: String,
    /// The figures in words (also the chart's accessible description).
    pub caption: String,
    pub svg: String,
}

/// The dashboard: the window's figures and charts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub days: u32,
    pub conversations: u32,
    /// AI-resolved among conversations whose 7 days have passed.
    pub ai_resolved: Rate,
    /// The same, counting the last 7 days' conversations as they stand.
    pub ai_resolved_so_far: Rate,
    pub handed_off: Rate,
    /// Median and 90th percentile seconds from handoff to a person's reply.
    pub first_reply_median_secs: Option<f64>,
    pub first_reply_p90_secs: Option<f64>,
    pub thumbs_up: u32,
    pub thumbs_down: u32,
    pub charts: Vec<Chart>,
    pub fixes: Vec<FixEffect>,
}

/// The review window an admin may choose, in days.
pub const WINDOWS: [u32; 3] = [7, 30, 90];

/// `days` if it is one of [`WINDOWS`], else 30.
pub fn window(days: u32) -> u32 {
    if WINDOWS.contains(&days) {
        days
    } else {
        30
    }
}

/// A duration for people: "45 s", "12 min", "3.5 h".
pub fn duration(secs: f64) -> String {
    if secs < 90.0 {
        format!("{secs:.0} s")
    } else if secs < 5400.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}
