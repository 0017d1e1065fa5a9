//! Multi-turn conversation sets (JSON lines: `id`, `turns` of `text`,
//! `expect` "answer" or "handoff", optional `fact` the answer must contain)
//! and their tally, for `tandem-chat` and the API tests that run them
//! through the visitor socket.

use app::types::{ConversationStatus, EventBody};

#[derive(Debug, serde::Deserialize)]
pub struct Conversation {
    pub id: String,
    pub turns: Vec<Turn>,
}

#[derive(Debug, serde::Deserialize)]
pub struct Turn {
    pub text: String,
    /// "answer" or "handoff".
    pub expect: String,
    /// Words the answer must contain.
    pub fact: Option<String>,
}

/// What the AI did with one visitor message.
#[derive(Debug)]
pub enum Outcome {
    Answered(String),
    HandedOff,
    Offered,
}

impl Outcome {
    /// The outcome an event of the thread is, if it is one.
    pub fn of(body: &EventBody) -> Option<Self> {
        match body {
            EventBody::AiAnswer { text, .. } => Some(Self::Answered(text.clone())),
            EventBody::AiUnsure { .. } => Some(Self::Offered),
            EventBody::StatusChange {
                status: ConversationStatus::WaitingHuman,
                ..
            } => Some(Self::HandedOff),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Answered(text) => format!("answered: {}", text.replace('\n', " ")),
            Self::HandedOff => "handed off".into(),
            Self::Offered => "said it was unsure".into(),
        }
    }
}

/// Parses a set (blank lines skipped).
pub fn parse(text: &str) -> Result<Vec<Conversation>, serde_json::Error> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect()
}

/// Turns as expected, overall and among follow-ups, and each miss.
#[derive(Debug, Default)]
pub struct Tally {
    pub turns: usize,
    pub right: usize,
    pub follow_ups: usize,
    pub follow_ups_right: usize,
    pub misses: Vec<String>,
}

impl Tally {
    /// Records the outcome of turn `i` of `conversation`; false when the
    /// conversation ends there (it went to the team).
    pub fn record(&mut self, conversation: &Conversation, i: usize, got: &Outcome) -> bool {
        let turn = &conversation.turns[i];
        let ok = match (got, turn.expect.as_str()) {
            (Outcome::Answered(text), "answer") => turn
                .fact
                .as_ref()
                .is_none_or(|f| text.to_lowercase().contains(&f.to_lowercase())),
            (Outcome::HandedOff, "handoff") => true,
            _ => false,
        };
        self.turns += 1;
        self.right += usize::from(ok);
        if i > 0 {
            self.follow_ups += 1;
            self.follow_ups_right += usize::from(ok);
        }
        if !ok {
            self.misses.push(format!(
                "{} turn {}: {:?} → {}",
                conversation.id,
                i + 1,
                turn.text,
                got.describe()
            ));
        }
        !matches!(got, Outcome::HandedOff)
    }

    pub fn summary(&self) -> String {
        format!(
            "{} of {} turns as expected; follow-ups {} of {}",
            self.right, self.turns, self.follow_ups_right, self.follow_ups
        )
    }
}
