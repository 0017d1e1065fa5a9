//! The inbox's own types: list filters, the team (members, teams,
//! invitations, presence), canned replies, the workspace's inbox settings,
//! and a suggested reply.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Citation, ConversationSummary, Queue, Role};

/// What narrows a queue: a handoff reason (its short name), a tag, a team,
/// and words to search for in the conversation's messages, notes and the
/// visitor's name or email.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ListFilter {
    pub queue: Queue,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub search: Option<String>,
}

impl ListFilter {
    pub fn is_narrowed(&self) -> bool {
        self.reason.is_some() || self.tag.is_some() || self.team.is_some() || self.search.is_some()
    }

    /// Whether a row that changed live belongs in the filtered list, as far
    /// as the row shows (the search looks at its last message and visitor;
    /// the server also searches the whole thread when the list is fetched).
    pub fn admits(&self, row: &ConversationSummary) -> bool {
        self.admits_ignoring_search(row) && self.search_admits(row)
    }

    /// The reason, tag and team filters alone (a row that matched the search
    /// when fetched keeps matching it: the server searched its whole thread).
    pub fn admits_ignoring_search(&self, row: &ConversationSummary) -> bool {
        let reason = self
            .reason
            .as_deref()
            .is_none_or(|r| row.handoff_reason.as_ref().is_some_and(|h| h.short() == r));
        let tag = self
            .tag
            .as_deref()
            .is_none_or(|t| row.tags.iter().any(|x| x == t));
        let team = self.team.as_deref().is_none_or(|t| {
            row.team
                .as_deref()
                .is_some_and(|x| x.eq_ignore_ascii_case(t))
        });
        reason && tag && team
    }

    fn search_admits(&self, row: &ConversationSummary) -> bool {
        self.search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .is_none_or(|s| {
                let s = s.to_lowercase();
                row.last_message.to_lowercase().contains(&s)
                    || row
                        .visitor
                        .as_deref()
                        .is_some_and(|v| v.to_lowercase().contains(&s))
            })
    }
}

/// An agent's presence, as teammates and the widget see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// An inbox of theirs is open and they are not away.
    Online,
    /// Their inbox is open but they stepped away (or went idle).
    Away,
    Offline,
}

impl Presence {
    pub fn label(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Away => "away",
            Self::Offline => "offline",
        }
    }
}

/// A member of the workspace, as the inbox (assign menu) and the team page
/// show them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub account_id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub presence: Presence,
    pub teams: Vec<String>,
    /// How many conversations are with the team and assigned to them.
    pub assigned: i64,
    /// The cap automatic assignment respects (none: no cap).
    pub max_open: Option<i32>,
}

/// The people of the inbox: members, teams, canned replies (everyone sees
/// these; admins change them).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Directory {
    pub members: Vec<Member>,
    pub teams: Vec<String>,
    pub canned: Vec<CannedReply>,
    /// Tags in use in the workspace, most used first.
    pub tags: Vec<String>,
}

/// A canned reply: `/shortcut` in the composer inserts `body`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CannedReply {
    pub canned_id: Uuid,
    pub shortcut: String,
    pub body: String,
}

/// Whether a shortcut is lower-case letters, digits and dashes (1–40).
pub fn valid_shortcut(shortcut: &str) -> bool {
    let mut chars = shortcut.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && shortcut.len() <= 40
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The `/shortcut` being typed at the end of the composer's text, if one is:
/// where its `/` is, and what follows it (a `/` inside a word, as in a URL,
/// is not one).
pub fn canned_token(text: &str) -> Option<(usize, &str)> {
    let start = text.rfind('/')?;
    let typed = &text[start + 1..];
    let at_word_start = text[..start]
        .chars()
        .next_back()
        .is_none_or(char::is_whitespace);
    (at_word_start && !typed.contains(char::is_whitespace)).then_some((start, typed))
}

/// The canned replies whose shortcut starts with the `/shortcut` being typed
/// (none when none is).
pub fn canned_matches<'a>(text: &str, canned: &'a [CannedReply]) -> Vec<&'a CannedReply> {
    let Some((_, typed)) = canned_token(text) else {
        return Vec::new();
    };
    let typed = typed.to_lowercase();
    canned
        .iter()
        .filter(|c| c.shortcut.starts_with(&typed))
        .collect()
}

/// The composer's text with the `/shortcut` being typed replaced by a
/// canned reply's body (appended when none is being typed).
pub fn insert_canned(text: &str, body: &str) -> String {
    match canned_token(text) {
        Some((start, _)) => format!("{}{body}", &text[..start]),
        None => format!("{text}{body}"),
    }
}

/// The composer's text with a `/` to start choosing a canned reply.
pub fn start_canned(text: &str) -> String {
    if text.is_empty() || text.ends_with(char::is_whitespace) {
        format!("{text}/")
    } else {
        format!("{text} /")
    }
}

/// The workspace's inbox settings (admins change them on `/admin/team`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxSettings {
    /// A resolved conversation the visitor writes to again goes back to the
    /// AI instead of the queue.
    pub reopen_to_ai: bool,
    /// Escalations are assigned round-robin among available agents of their
    /// team (anyone, without a team), each up to their cap.
    pub auto_assign: bool,
    /// Minutes a visitor waits before being told nobody is free yet and
    /// offered email follow-up.
    pub max_wait_minutes: i32,
    /// Minutes a visitor's message may wait for its assignee before they
    /// are emailed a reminder.
    pub remind_after_minutes: i32,
}

impl Default for InboxSettings {
    fn default() -> Self {
        Self {
            reopen_to_ai: false,
            auto_assign: false,
            max_wait_minutes: 10,
            remind_after_minutes: 15,
        }
    }
}

/// A pending invitation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    pub invitation_id: Uuid,
    pub email: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
    /// Sent by email (else its link was shown to the admin who made it).
    pub emailed: bool,
}

/// What creating an invitation did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Invited {
    /// Emailed to this address: the link is the invitee's alone.
    Emailed(String),
    /// Email is not set up: the admin hands over this link's path
    /// (`/invite/TOKEN`).
    Link(String),
}

/// What an admin sees of the team on `/admin/team`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TeamAdmin {
    pub directory: Directory,
    pub invitations: Vec<Invitation>,
    pub settings: InboxSettings,
    /// Invitations go by email (TANDEM_SMTP_URL is set).
    #[serde(default)]
    pub email_invitations: bool,
}

/// What an invitation link shows before it is accepted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvitationView {
    pub email: String,
    pub workspace_name: String,
    pub role: Role,
}

/// A reply the answer engine suggests for an agent to edit: written from the
/// workspace's knowledge for the visitor's latest messages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    pub text: String,
    pub citations: Vec<Citation>,
    pub confidence: f32,
    /// What the engine answered (the visitor's latest messages).
    pub question: String,
}

/// The text an agent starts from when they take a suggestion: the `[n]`
/// markers become links to the cited pages, listed under the text.
pub fn reply_from_suggestion(suggestion: &Suggestion) -> String {
    let mut text = suggestion.text.clone();
    for citation in &suggestion.citations {
        text = text.replace(&format!(" [{}]", citation.number), "");
        text = text.replace(&format!("[{}]", citation.number), "");
    }
    let sources: Vec<String> = suggestion
        .citations
        .iter()
        .map(|c| {
            let label = if c.heading_path.is_empty() {
                c.title.replace(['[', ']'], "")
            } else {
                c.heading_path.replace(['[', ']'], "")
            };
            format!("- [{label}]({})", c.url)
        })
        .collect();
    if sources.is_empty() {
        text
    } else {
        format!(
            "{}\n\nMore in our help centre:\n{}",
            text.trim_end(),
            sources.join("\n")
        )
    }
}

/// A workspace the signed-in account belongs to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceChoice {
    pub workspace_id: Uuid,
    pub name: String,
    /// Its short name (in its chat snippet): two workspaces of one name
    /// differ by it.
    #[serde(default)]
    pub slug: String,
    pub role: Role,
    pub current: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canned(shortcut: &str) -> CannedReply {
        CannedReply {
            canned_id: Uuid::nil(),
            shortcut: shortcut.into(),
            body: format!("body of {shortcut}"),
        }
    }

    #[test]
    fn canned_replies_match_the_shortcut_being_typed() {
        let all = [canned("refund"), canned("refund-late"), canned("hello")];
        let names = |text: &str| {
            canned_matches(text, &all)
                .into_iter()
                .map(|c| c.shortcut.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(names("/ref"), ["refund", "refund-late"]);
        assert_eq!(names("/"), ["refund", "refund-late", "hello"]);
        assert_eq!(names("/HEL"), ["hello"]);
        assert!(names("/refund now").is_empty());
        assert!(names("refund").is_empty());
        // At the end of a draft too; not inside a word or a URL.
        assert_eq!(names("Hi Ada,\n\n/hel"), ["hello"]);
        assert!(names("see https://example.com/ref").is_empty());
        assert_eq!(insert_canned("Hi Ada, /hel", "Hello!"), "Hi Ada, Hello!");
        assert_eq!(insert_canned("Hi", " there"), "Hi there");
        assert_eq!(start_canned(""), "/");
        assert_eq!(start_canned("Hi Ada,"), "Hi Ada, /");
        assert_eq!(start_canned("Hi Ada,\n"), "Hi Ada,\n/");
    }

    #[test]
    fn a_suggestion_becomes_a_reply_with_linked_sources() {
        let suggestion = Suggestion {
            text: "Refunds take 5 days [1]. Ask within 30 days [2].".into(),
            citations: vec![
                Citation {
                    number: 1,
                    title: "Refunds".into(),
                    heading_path: "Refunds › Timing".into(),
                    url: "https://example.com/refunds#timing".into(),
                    passage: String::new(),
                },
                Citation {
                    number: 2,
                    title: "Policy [v2]".into(),
                    heading_path: String::new(),
                    url: "https://example.com/policy".into(),
                    passage: String::new(),
                },
            ],
            confidence: 0.8,
            question: "refund?".into(),
        };
        assert_eq!(
            reply_from_suggestion(&suggestion),
            "Refunds take 5 days. Ask within 30 days.\n\nMore in our help centre:\n\
             - [Refunds › Timing](https://example.com/refunds#timing)\n\
             - [Policy v2](https://example.com/policy)"
        );
    }

    #[test]
    fn live_rows_are_filtered_like_the_list() {
        let row = ConversationSummary {
            conversation_id: Uuid::nil(),
            status: super::super::ConversationStatus::WaitingHuman,
            handoff_reason: Some(super::super::HandoffReason::Reopened),
            last_message: "My invoice is wrong".into(),
            assignee_id: None,
            assignee_name: None,
            escalated_at: None,
            updated_at: chrono::Utc::now(),
            visitor: Some("Ada".into()),
            verified: false,
            team: Some("Billing".into()),
            tags: vec!["vip".into()],
            unread: true,
        };
        let filter = |f: ListFilter| f.admits(&row);
        assert!(filter(ListFilter::default()));
        assert!(filter(ListFilter {
            reason: Some("reopened".into()),
            ..Default::default()
        }));
        assert!(!filter(ListFilter {
            reason: Some("sensitive".into()),
            ..Default::default()
        }));
        assert!(filter(ListFilter {
            team: Some("billing".into()),
            tag: Some("vip".into()),
            ..Default::default()
        }));
        assert!(!filter(ListFilter {
            tag: Some("other".into()),
            ..Default::default()
        }));
        assert!(filter(ListFilter {
            search: Some("INVOICE".into()),
            ..Default::default()
        }));
        assert!(filter(ListFilter {
            search: Some("ada".into()),
            ..Default::default()
        }));
        assert!(!filter(ListFilter {
            search: Some("refund".into()),
            ..Default::default()
        }));
    }

    #[test]
    fn shortcuts_are_plain() {
        assert!(valid_shortcut("refund-late"));
        assert!(valid_shortcut("a1"));
        assert!(!valid_shortcut(""));
        assert!(!valid_shortcut("-x"));
        assert!(!valid_shortcut("Refund"));
        assert!(!valid_shortcut("with space"));
        assert!(!valid_shortcut(&"a".repeat(41)));
    }
}
