//! Types that cross the wire between the server, the widget and the inbox.

pub mod inbox;
pub mod knowledge;
pub mod policy;
pub mod privacy;
pub mod review;
pub mod setup;
pub mod text;
pub mod widget;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The longest message a visitor or an agent may send, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// What a `Debug` print shows in place of a secret (a key, a hash).
pub const REDACTED: &str = "[redacted]";

/// The text of a message: trimmed, not empty, at most [`MAX_MESSAGE_CHARS`],
/// without NUL characters (which PostgreSQL's text and jsonb refuse).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MessageBody(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MessageBodyError {
    #[error("the message is empty")]
    Empty,
    #[error("the message is too long ({0} characters; the limit is {MAX_MESSAGE_CHARS})")]
    TooLong(usize),
}

impl MessageBody {
    pub fn parse(text: &str) -> Result<Self, MessageBodyError> {
        let text = text.replace('\0', "");
        let text = text.trim();
        let chars = text.chars().count();
        if chars == 0 {
            Err(MessageBodyError::Empty)
        } else if chars > MAX_MESSAGE_CHARS {
            Err(MessageBodyError::TooLong(chars))
        } else {
            Ok(Self(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for MessageBody {
    type Error = MessageBodyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<MessageBody> for String {
    fn from(value: MessageBody) -> Self {
        value.0
    }
}

/// How sure the answer engine is that an answer is right, in `0.0..=1.0`.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f32", into = "f32")]
pub struct Confidence(f32);

impl Confidence {
    pub fn new(value: f32) -> Result<Self, String> {
        if (0.0..=1.0).contains(&value) {
            Ok(Self(value))
        } else {
            Err(format!("confidence {value} is outside 0..=1"))
        }
    }

    /// Clamps any finite number into range; NaN becomes 0.
    pub fn clamped(value: f32) -> Self {
        if value.is_nan() {
            Self(0.0)
        } else {
            Self(value.clamp(0.0, 1.0))
        }
    }

    pub fn value(self) -> f32 {
        self.0
    }
}

impl TryFrom<f32> for Confidence {
    type Error = String;
    fn try_from(value: f32) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Confidence> for f32 {
    fn from(value: Confidence) -> Self {
        value.0
    }
}

/// Where a conversation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    /// The AI is handling it.
    Ai,
    /// Handed off; waiting for a person to claim it.
    WaitingHuman,
    /// A person has claimed it.
    Open,
    Resolved,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ai => "ai",
            Self::WaitingHuman => "waiting_human",
            Self::Open => "open",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "ai" => Self::Ai,
            "waiting_human" => Self::WaitingHuman,
            "open" => Self::Open,
            "resolved" => Self::Resolved,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Ai => "AI handling",
            Self::WaitingHuman => "Waiting for a person",
            Self::Open => "With an agent",
            Self::Resolved => "Resolved",
        }
    }
}

/// How the visitor asked for a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestChannel {
    /// The always-visible "Talk to the team" control.
    Button,
    /// Words in a message.
    Message,
}

/// Why the AI handed a conversation to the team.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "trigger", rename_all = "snake_case")]
pub enum HandoffReason {
    HumanRequested {
        via: RequestChannel,
        /// The words that matched, for a message.
        matched: Option<String>,
    },
    Sensitive {
        category: String,
        matched: String,
    },
    LowConfidence {
        confidence: Confidence,
        threshold: Confidence,
    },
    /// An admin rule said a person should take it.
    Rule {
        rule: String,
        /// The team the rule routes to, if any.
        #[serde(default)]
        team: Option<String>,
    },
    /// The generator wrote a reply that cites none of the passages it was given.
    NotGrounded,
    /// The generator failed (timed out, or its service erred).
    GeneratorFailed {
        error: String,
    },
    /// The visitor wrote again after the conversation was resolved.
    Reopened,
}

impl HandoffReason {
    /// A one-line explanation for agents.
    pub fn describe(&self) -> String {
        match self {
            Self::HumanRequested {
                via: RequestChannel::Button,
                ..
            } => "Visitor pressed \u{201c}Talk to the team\u{201d}".to_owned(),
            Self::HumanRequested { matched, .. } => format!(
                "Visitor asked for a person{}",
                matched
                    .as_ref()
                    .map(|m| format!(" (\u{201c}{m}\u{201d})"))
                    .unwrap_or_default()
            ),
            Self::Sensitive { category, matched } => {
                format!(
                    "Sensitive topic: {} (\u{201c}{matched}\u{201d})",
                    category.replace('_', " ")
                )
            }
            Self::LowConfidence {
                confidence,
                threshold,
            } => format!(
                "AI unsure: confidence {:.2} below threshold {:.2}",
                confidence.value(),
                threshold.value()
            ),
            Self::Rule { rule, team } => match team {
                Some(team) => format!("Rule \u{201c}{rule}\u{201d}: to team {team}"),
                None => format!("Rule \u{201c}{rule}\u{201d}"),
            },
            Self::NotGrounded => {
                "AI unsure: its reply cited none of the sources it was given".to_owned()
            }
            Self::GeneratorFailed { error } => format!("AI could not answer: {error}"),
            Self::Reopened => "The visitor wrote again after it was resolved".to_owned(),
        }
    }

    /// Its kind's label (see [`ReasonKind`]).
    pub fn short(&self) -> &'static str {
        ReasonKind::of(self).label()
    }
}

/// Why a conversation went to the team, as people read it: the one label of
/// each kind of [`HandoffReason`] (the inbox's badge and filter, the
/// review's reasons, the dashboard, the policy replay).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    /// Not confident enough, or its reply cited nothing.
    Unsure,
    /// The visitor asked for a person.
    AskedForPerson,
    /// A sensitive topic.
    Sensitive,
    /// An admin rule.
    Rule,
    /// The generator failed.
    Failed,
    /// The visitor wrote again after the conversation was resolved.
    Reopened,
}

impl ReasonKind {
    /// In the order filters offer them.
    pub const ALL: [ReasonKind; 6] = [
        Self::AskedForPerson,
        Self::Sensitive,
        Self::Unsure,
        Self::Rule,
        Self::Failed,
        Self::Reopened,
    ];

    pub fn of(reason: &HandoffReason) -> Self {
        match reason {
            HandoffReason::LowConfidence { .. } | HandoffReason::NotGrounded => Self::Unsure,
            HandoffReason::HumanRequested { .. } => Self::AskedForPerson,
            HandoffReason::Sensitive { .. } => Self::Sensitive,
            HandoffReason::Rule { .. } => Self::Rule,
            HandoffReason::GeneratorFailed { .. } => Self::Failed,
            HandoffReason::Reopened => Self::Reopened,
        }
    }

    /// The kind a label names (a list filter's value).
    pub fn from_label(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.label() == label)
    }

    /// The stored triggers (`HandoffReason`'s serde tag) of this kind.
    pub fn triggers(self) -> &'static [&'static str] {
        match self {
            Self::Unsure => &["low_confidence", "not_grounded"],
            Self::AskedForPerson => &["human_requested"],
            Self::Sensitive => &["sensitive"],
            Self::Rule => &["rule"],
            Self::Failed => &["generator_failed"],
            Self::Reopened => &["reopened"],
        }
    }

    /// The kind of a stored trigger; an unknown one counts as unsure.
    pub fn of_trigger(trigger: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|k| k.triggers().contains(&trigger))
            .unwrap_or(Self::Unsure)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Unsure => "AI unsure",
            Self::AskedForPerson => "asked for a person",
            Self::Sensitive => "sensitive",
            Self::Rule => "rule",
            Self::Failed => "AI failed",
            Self::Reopened => "reopened",
        }
    }
}

/// A source the AI cited: `[n]` in the answer text refers to `number`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Citation {
    pub number: u32,
    pub title: String,
    /// "Refunds › Refund timing".
    pub heading_path: String,
    /// Link to the page and section.
    pub url: String,
    /// The passage the cited sentences came from.
    pub passage: String,
}

/// A passage retrieval found, with its scores, for the decision record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetrievedPassage {
    pub chunk_id: Uuid,
    pub title: String,
    pub heading_path: String,
    pub url: String,
    /// Reciprocal-rank-fused score.
    pub fused_score: f32,
    /// Cosine similarity between question and passage embeddings.
    pub similarity: f32,
}

/// What the answer engine decided for one visitor message, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub answered: bool,
    pub confidence: Confidence,
    pub handoff: Option<HandoffReason>,
    pub retrieved: Vec<RetrievedPassage>,
    /// The threshold the confidence was compared with.
    #[serde(default)]
    pub threshold: Option<Confidence>,
    /// Every signal the policy weighed (kept for replay).
    #[serde(default)]
    pub signals: Option<Box<policy::Signals>>,
    /// The admin rules whose conditions held, in order.
    #[serde(default)]
    pub rules: Vec<String>,
}

impl HandoffReason {
    /// The reason as a visitor may see it: its kind, none of the workspace's
    /// internals (rule names, matched words, scores, service errors).
    pub fn for_visitor(&self) -> Self {
        match self {
            Self::HumanRequested { via, .. } => Self::HumanRequested {
                via: *via,
                matched: None,
            },
            Self::Sensitive { .. } => Self::Sensitive {
                category: String::new(),
                matched: String::new(),
            },
            Self::LowConfidence { .. } => Self::LowConfidence {
                confidence: Confidence::clamped(0.0),
                threshold: Confidence::clamped(0.0),
            },
            Self::Rule { .. } => Self::Rule {
                rule: String::new(),
                team: None,
            },
            Self::NotGrounded => Self::NotGrounded,
            Self::GeneratorFailed { .. } => Self::GeneratorFailed {
                error: String::new(),
            },
            Self::Reopened => Self::Reopened,
        }
    }
}

impl Decision {
    /// A decision with nothing in it but whether the AI answered.
    pub fn hidden(answered: bool) -> Self {
        Self {
            answered,
            confidence: Confidence::clamped(0.0),
            handoff: None,
            retrieved: Vec::new(),
            threshold: None,
            signals: None,
            rules: Vec::new(),
        }
    }
}

impl ThreadEvent {
    /// The event as a visitor's widget receives it: decision records and
    /// handoff details stay with the team, and private notes are not sent.
    pub fn for_visitor(mut self) -> Option<Self> {
        match &mut self.body {
            EventBody::AiAnswer { decision, .. } => *decision = Decision::hidden(true),
            EventBody::AiUnsure { decision } => *decision = Decision::hidden(false),
            EventBody::StatusChange {
                reason, decision, ..
            } => {
                *decision = None;
                *reason = reason.as_ref().map(HandoffReason::for_visitor);
            }
            EventBody::Note { .. } | EventBody::Assigned { .. } => return None,
            EventBody::VisitorMessage { .. }
            | EventBody::HumanReply { .. }
            | EventBody::EmailLeft { .. }
            | EventBody::WaitNotice { .. } => {}
        }
        Some(self)
    }
}

/// One stored event of a conversation's log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventBody {
    VisitorMessage {
        text: String,
    },
    AiAnswer {
        text: String,
        citations: Vec<Citation>,
        decision: Decision,
    },
    HumanReply {
        text: String,
        agent_name: String,
    },
    /// A private note between agents; never sent to the visitor.
    Note {
        text: String,
        agent_name: String,
    },
    StatusChange {
        status: ConversationStatus,
        reason: Option<HandoffReason>,
        /// The agent who made the change, if a person did.
        agent_name: Option<String>,
        /// The answer engine's decision, when it handed off.
        decision: Option<Decision>,
    },
    /// The visitor left an email address for the team to follow up.
    EmailLeft {
        email: String,
    },
    /// An agent gave the conversation to an agent or a team, or took it from
    /// whoever had it (both `None`). Team only.
    Assigned {
        by: String,
        agent: Option<String>,
        team: Option<String>,
    },
    /// Nobody took the conversation within the workspace's maximum wait: the
    /// visitor was told so and offered email follow-up.
    WaitNotice {
        minutes: i32,
    },
    /// The AI was unsure and, as the workspace chose, said so and offered
    /// the team instead of handing off; the conversation stays with the AI.
    AiUnsure {
        decision: Decision,
    },
}

impl EventBody {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::VisitorMessage { .. } => "visitor_message",
            Self::AiAnswer { .. } => "ai_answer",
            Self::HumanReply { .. } => "human_reply",
            Self::Note { .. } => "note",
            Self::StatusChange { .. } => "status_change",
            Self::EmailLeft { .. } => "email_left",
            Self::Assigned { .. } => "assigned",
            Self::WaitNotice { .. } => "wait_notice",
            Self::AiUnsure { .. } => "ai_unsure",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThreadEvent {
    pub conversation_id: Uuid,
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub body: EventBody,
}

/// A row of the inbox's conversation list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub conversation_id: Uuid,
    pub status: ConversationStatus,
    pub handoff_reason: Option<HandoffReason>,
    pub last_message: String,
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Who the visitor is, when known: the name or email their site vouched
    /// for, or the email they left.
    #[serde(default)]
    pub visitor: Option<String>,
    /// Whether the visitor's site vouched for them (a signed identity).
    #[serde(default)]
    pub verified: bool,
    /// The team it is routed to, by a rule or an agent.
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Whether the visitor wrote after the signed-in agent last looked.
    #[serde(default)]
    pub unread: bool,
}

/// One conversation as an agent sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversationView {
    pub summary: ConversationSummary,
    pub events: Vec<ThreadEvent>,
    #[serde(default)]
    pub details: ConversationDetails,
}

/// What the summary packet at the top of a conversation shows besides the
/// thread: where the visitor is and how to reach them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConversationDetails {
    /// The page the widget was on, last.
    pub page_url: Option<String>,
    /// The chat's language (its name).
    pub language: Option<String>,
    /// The email the visitor left, or their site gave.
    pub email: Option<String>,
    pub priority: String,
}

/// A member's role in a workspace (stored as `admin` or `agent`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sets the workspace up (training, widget, policy, team) and answers.
    Admin,
    /// Answers conversations.
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Agent => "agent",
        }
    }

    pub fn is_admin(self) -> bool {
        self == Self::Admin
    }

    /// "an admin", "an agent".
    pub fn with_article(self) -> &'static str {
        match self {
            Self::Admin => "an admin",
            Self::Agent => "an agent",
        }
    }

    /// A role as a form or the database writes it.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "admin" => Ok(Self::Admin),
            "agent" => Ok(Self::Agent),
            _ => Err("A role is admin or agent.".to_owned()),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Role {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

/// The signed-in agent, as the UI sees it (never any secret).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentProfile {
    pub account_id: Uuid,
    pub name: String,
    pub email: String,
    pub workspace_slug: String,
    pub workspace_name: String,
    pub role: Role,
    /// Set away (by them, or by their idle inbox).
    #[serde(default)]
    pub away: bool,
}

/// Who is typing in a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "party", rename_all = "snake_case")]
pub enum Typist {
    Visitor,
    Agent { account_id: Uuid, name: String },
}

/// Messages a client (widget or inbox) sends over its socket. Every message
/// that stores something carries a `client_id`, so a client may resend it
/// after a reconnect: the same id with the same content is acknowledged with
/// the event first stored; the same id with other content is refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// A visitor's message, or an agent's reply (which claims the conversation).
    Send {
        client_id: Uuid,
        text: String,
    },
    /// A private note (agents only).
    Note {
        client_id: Uuid,
        text: String,
    },
    /// The visitor's "Talk to the team" control.
    TalkToTeam {
        client_id: Uuid,
    },
    /// An agent takes the conversation: the AI stops answering it.
    Claim {
        client_id: Uuid,
    },
    Resolve {
        client_id: Uuid,
    },
    /// An agent reopens a resolved conversation (and has it).
    Reopen {
        client_id: Uuid,
    },
    /// An agent takes a conversation another agent has: the only way to
    /// reply into it (the collision guard).
    TakeOver {
        client_id: Uuid,
    },
    /// Gives the conversation to an agent and/or a team; both `None`
    /// unassigns it (it goes back to waiting for whoever takes it).
    Assign {
        client_id: Uuid,
        agent: Option<Uuid>,
        team: Option<String>,
    },
    /// Hands the conversation back to the AI.
    HandBack {
        client_id: Uuid,
    },
    /// The agent's presence (inbox list socket): away or back.
    Presence {
        away: bool,
    },
    /// Typing started or stopped. Clients repeat `true` every few seconds
    /// while typing goes on; it lapses on its own after [`TYPING_LAPSE_SECS`].
    Typing {
        typing: bool,
    },
    /// The client has shown every event up to `seq` (read receipts). Only
    /// ever moves forward: an older `seq` arriving late changes nothing.
    Seen {
        seq: i64,
    },
    /// The visitor's thumbs up or down on an AI answer (its seq); a second
    /// rating replaces the first.
    Rate {
        seq: i64,
        helpful: bool,
    },
    /// The visitor's email, for the team to follow up when they are gone.
    LeaveEmail {
        client_id: Uuid,
        email: String,
    },
    Ping,
}

impl ClientMsg {
    /// The id of a message that stores something (and is acknowledged).
    pub fn client_id(&self) -> Option<Uuid> {
        match self {
            Self::Send { client_id, .. }
            | Self::Note { client_id, .. }
            | Self::TalkToTeam { client_id }
            | Self::Claim { client_id }
            | Self::Resolve { client_id }
            | Self::Reopen { client_id }
            | Self::TakeOver { client_id }
            | Self::Assign { client_id, .. }
            | Self::HandBack { client_id }
            | Self::LeaveEmail { client_id, .. } => Some(*client_id),
            Self::Typing { .. }
            | Self::Seen { .. }
            | Self::Rate { .. }
            | Self::Presence { .. }
            | Self::Ping => None,
        }
    }
}

/// How long a `Typing { typing: true }` lasts unless repeated.
pub const TYPING_LAPSE_SECS: i64 = 6;

/// Messages the server sends over a socket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// First message on a visitor socket: who the visitor is now. `visitor_token`
    /// is set when the server created a new visitor, for the client to keep.
    Welcome {
        conversation_id: Uuid,
        visitor_token: Option<String>,
    },
    /// A stored event; clients apply events in `seq` order and ignore any they have.
    Event {
        event: ThreadEvent,
    },
    /// A client message was dealt with: stored as event `seq` (now or, for a
    /// resend, before), or `None` when it changed nothing (a claim of a
    /// conversation the agent already has).
    Ack {
        client_id: Uuid,
        seq: Option<i64>,
    },
    /// The AI's answer being written, not stored: `delta` goes at byte
    /// `offset` of the turn's draft. Offset 0 starts (or restarts, after a
    /// reconnect) the draft; a piece whose offset is not the draft's length
    /// is one the client already has. The finished answer arrives as an `Event`.
    AiToken {
        conversation_id: Uuid,
        turn_id: Uuid,
        offset: usize,
        delta: String,
    },
    /// The AI stopped writing without answering (a person took over, or the
    /// visitor wrote again): the client drops the draft.
    DraftDropped {
        conversation_id: Uuid,
        turn_id: Uuid,
    },
    /// Who is typing in the conversation now (the client's own typing excluded).
    Typing {
        conversation_id: Uuid,
        typists: Vec<Typist>,
    },
    /// The other agents who have the conversation open now (team sockets).
    Viewers {
        conversation_id: Uuid,
        agents: Vec<Typist>,
    },
    /// The visitor has seen the conversation up to `seq` (team sockets).
    VisitorSeen {
        conversation_id: Uuid,
        seq: i64,
    },
    /// An inbox list row changed (or appeared).
    ConversationChanged {
        summary: ConversationSummary,
    },
    /// The inbox's queue counts.
    Counts {
        counts: QueueCounts,
    },
    /// Changes may have been missed (the server lost its database for a
    /// moment): the client fetches its lists again.
    Refresh,
    /// The visitor's rating of an AI answer (sent on connect for each, and
    /// after each `Rate`).
    Rated {
        seq: i64,
        helpful: bool,
    },
    /// A request from this client was refused; nothing else is affected.
    /// `client_id` names the refused message when it had one.
    Error {
        message: String,
        #[serde(default)]
        client_id: Option<Uuid>,
    },
    Pong,
}

/// The close code of a socket the server will never serve (a site not
/// allowed to embed the widget, a forged identity): clients do not reconnect.
pub const CLOSE_REFUSED: u16 = 4403;

/// The inbox's queues.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Queue {
    /// Handed off and waiting for a person, oldest first.
    #[default]
    Waiting,
    /// Assigned to the agent looking (claimed, or given to them).
    Mine,
    /// Everything with the team: waiting or claimed.
    Open,
    /// Handled by the AI alone.
    Ai,
    Resolved,
}

impl Queue {
    pub const ALL: [Queue; 5] = [
        Queue::Waiting,
        Queue::Mine,
        Queue::Open,
        Queue::Ai,
        Queue::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Mine => "mine",
            Self::Open => "open",
            Self::Ai => "ai",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Waiting => "Waiting",
            Self::Mine => "Mine",
            Self::Open => "All open",
            Self::Ai => "AI",
            Self::Resolved => "Resolved",
        }
    }

    /// Whether a conversation belongs in this queue.
    pub fn holds(self, summary: &ConversationSummary, me: Uuid) -> bool {
        match self {
            Self::Waiting => summary.status == ConversationStatus::WaitingHuman,
            Self::Mine => {
                matches!(
                    summary.status,
                    ConversationStatus::WaitingHuman | ConversationStatus::Open
                ) && summary.assignee_id == Some(me)
            }
            Self::Open => matches!(
                summary.status,
                ConversationStatus::WaitingHuman | ConversationStatus::Open
            ),
            Self::Ai => summary.status == ConversationStatus::Ai,
            Self::Resolved => summary.status == ConversationStatus::Resolved,
        }
    }
}

/// How many conversations each queue holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueCounts {
    pub waiting_human: i64,
    /// With the team and assigned to the agent the counts are for.
    pub mine: i64,
    pub open: i64,
    pub ai: i64,
    pub resolved: i64,
}

impl QueueCounts {
    pub fn of(&self, queue: Queue) -> i64 {
        match queue {
            Queue::Waiting => self.waiting_human,
            Queue::Mine => self.mine,
            Queue::Open => self.open,
            Queue::Ai => self.ai,
            Queue::Resolved => self.resolved,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_body_is_trimmed_and_bounded() {
        assert_eq!(MessageBody::parse("  hi  ").unwrap().as_str(), "hi");
        assert_eq!(
            MessageBody::parse("refund \0time").unwrap().as_str(),
            "refund time"
        );
        assert_eq!(MessageBody::parse("\0"), Err(MessageBodyError::Empty));
        assert_eq!(MessageBody::parse("   "), Err(MessageBodyError::Empty));
        let long = "x".repeat(MAX_MESSAGE_CHARS + 1);
        assert_eq!(
            MessageBody::parse(&long),
            Err(MessageBodyError::TooLong(MAX_MESSAGE_CHARS + 1))
        );
        assert!(MessageBody::parse(&"é".repeat(MAX_MESSAGE_CHARS)).is_ok());
    }

    #[test]
    fn message_body_rejects_invalid_json() {
        assert!(serde_json::from_str::<MessageBody>("\"\"").is_err());
        assert!(serde_json::from_str::<MessageBody>("\"ok\"").is_ok());
    }

    #[test]
    fn confidence_is_in_range() {
        assert!(Confidence::new(1.5).is_err());
        assert!(Confidence::new(-0.1).is_err());
        assert_eq!(Confidence::clamped(f32::NAN).value(), 0.0);
        assert_eq!(Confidence::clamped(2.0).value(), 1.0);
        assert!(serde_json::from_str::<Confidence>("1.2").is_err());
    }

    #[test]
    fn events_round_trip_through_json() {
        let event = EventBody::StatusChange {
            status: ConversationStatus::WaitingHuman,
            reason: Some(HandoffReason::HumanRequested {
                via: RequestChannel::Button,
                matched: None,
            }),
            agent_name: None,
            decision: None,
        };
        let json = serde_json::to_string(&event).unwrap();
        assert!(json.contains("\"kind\":\"status_change\""));
        assert_eq!(serde_json::from_str::<EventBody>(&json).unwrap(), event);
    }

    #[test]
    fn client_messages_are_tagged() {
        let msg: ClientMsg = serde_json::from_str(
            r#"{"type":"send","client_id":"7f8a3c5e-1111-4e2a-9a3b-0123456789ab","text":"hi"}"#,
        )
        .unwrap();
        assert!(matches!(msg, ClientMsg::Send { .. }));
        assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"nope"}"#).is_err());
    }

    /// The fuzzing corpus of socket frames (`fuzz/corpus/client_msg`, grown
    /// by `make fuzz`) replayed on every test run: each frame decodes or is
    /// refused, and what decodes encodes back to itself.
    #[test]
    fn the_fuzz_corpus_of_frames_decodes_or_is_refused() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/client_msg");
        let (mut decoded, mut replayed) = (0, 0);
        for entry in std::fs::read_dir(dir).expect("the kept corpus") {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            replayed += 1;
            let Ok(msg) = serde_json::from_slice::<ClientMsg>(&bytes) else {
                continue;
            };
            decoded += 1;
            if let ClientMsg::Send { text, .. } | ClientMsg::Note { text, .. } = &msg {
                if let Ok(body) = MessageBody::parse(text) {
                    assert!(body.as_str().chars().count() <= MAX_MESSAGE_CHARS);
                }
            }
            let again: ClientMsg =
                serde_json::from_str(&serde_json::to_string(&msg).unwrap()).unwrap();
            assert_eq!(again, msg);
        }
        assert!(replayed >= 10 && decoded >= 10, "{replayed} {decoded}");
    }
}
