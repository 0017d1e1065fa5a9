//! What visitors and agents do to a conversation, each in one transaction on
//! the locked conversation row: the socket handlers and the server functions
//! both come here. Every action carries the client's id for it, so a resend
//! after a reconnect stores nothing twice.

use app::types::{ConversationStatus, EventBody, HandoffReason, MessageBody, RequestChannel};
use uuid::Uuid;

use super::assign;
use super::store::{self, Appended, Locked, StoreError};
use crate::db::InWorkspace;

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The client's request cannot be done; the message says why.
    #[error("{0}")]
    Refused(String),
    #[error("conversation not found")]
    NotFound,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<StoreError> for ActionError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::IdReused => Self::Refused(err.to_string()),
            StoreError::NotFound => Self::NotFound,
            StoreError::Db(err) => Self::Db(err),
        }
    }
}

/// What an action did: the event it stored (or had stored, for a resend),
/// or nothing when there was nothing to change.
#[derive(Debug)]
pub struct Done {
    pub seq: Option<i64>,
    /// Whether the AI has a visitor message to deal with.
    pub ai_has_work: bool,
}

/// The agent acting, as the session says.
#[derive(Clone, Debug)]
pub struct Agent {
    pub account_id: Uuid,
    pub name: String,
    pub workspace_id: Uuid,
}

/// An agent's action on a conversation.
#[derive(Clone, Debug)]
pub enum AgentAction {
    Reply(MessageBody),
    Note(MessageBody),
    /// Takes a conversation nobody else has.
    Claim,
    /// Takes a conversation even from another agent.
    TakeOver,
    Resolve,
    Reopen,
    /// Gives it to an agent and/or a team (both `None`: to nobody).
    Assign {
        agent: Option<Uuid>,
        team: Option<String>,
    },
    /// Gives it back to the AI.
    HandBack,
}

fn seq_of(appended: Appended) -> Option<i64> {
    Some(appended.event().seq)
}

/// A visitor's message. A message to a resolved conversation reopens it.
pub async fn visitor_message(
    db: InWorkspace<'_>,
    conversation_id: Uuid,
    client_id: Uuid,
    text: MessageBody,
) -> Result<Done, ActionError> {
    let mut tx = db.begin().await?;
    let conversation = store::lock(&mut tx, conversation_id).await?;
    let body = EventBody::VisitorMessage { text: text.into() };
    // A resend of a message already stored: acknowledge it as it was.
    if let Some(event) = store::existing(&mut tx, conversation_id, client_id).await? {
        return if event.body == body {
            Ok(Done {
                seq: Some(event.seq),
                ai_has_work: true,
            })
        } else {
            Err(StoreError::IdReused.into())
        };
    }
    let stored = store::append(&mut tx, &conversation, Some(client_id), &body).await?;
    // A resolved conversation written to again goes back to the queue with
    // its history (or to the AI, if the workspace says so); the message
    // comes first, so the AI (when it has it) answers it.
    if conversation.status() == ConversationStatus::Resolved {
        if super::assign::reopen_to_ai(&mut tx, conversation.workspace_id).await? {
            set_status(&mut tx, conversation_id, ConversationStatus::Ai, None).await?;
            let reopened = EventBody::StatusChange {
                status: ConversationStatus::Ai,
                reason: None,
                agent_name: None,
                decision: None,
            };
            store::append(&mut tx, &conversation, None, &reopened).await?;
        } else {
            assign::escalate(&mut tx, &conversation, None, HandoffReason::Reopened, None).await?;
        }
    }
    tx.commit().await?;
    Ok(Done {
        seq: seq_of(stored),
        ai_has_work: true,
    })
}

/// The visitor's "Talk to the team".
pub async fn talk_to_team(
    db: InWorkspace<'_>,
    conversation_id: Uuid,
    client_id: Uuid,
) -> Result<Done, ActionError> {
    let mut tx = db.begin().await?;
    let conversation = store::lock(&mut tx, conversation_id).await?;
    let reason = HandoffReason::HumanRequested {
        via: RequestChannel::Button,
        matched: None,
    };
    if let Some(event) = store::existing(&mut tx, conversation_id, client_id).await? {
        return match event.body {
            EventBody::StatusChange { .. } => Ok(Done {
                seq: Some(event.seq),
                ai_has_work: false,
            }),
            _ => Err(StoreError::IdReused.into()),
        };
    }
    let seq = assign::escalate(&mut tx, &conversation, Some(client_id), reason, None).await?;
    tx.commit().await?;
    Ok(Done {
        seq,
        ai_has_work: false,
    })
}

/// Checks an email address the way a form would: one `@`, a dotted domain,
/// no spaces or angle brackets, at most 254 characters. Returns it trimmed.
pub fn email_address(text: &str) -> Option<String> {
    let email = text.trim();
    let (local, domain) = email.split_once('@')?;
    let plain = |s: &str| {
        !s.is_empty()
            && !s.chars().any(|c| {
                c.is_whitespace()
                    || app::types::text::hidden_or_reordering(c)
                    || matches!(c, '<' | '>' | '@' | ',' | ';' | '"')
            })
    };
    (email.len() <= 254
        && plain(local)
        && plain(domain)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.'))
    .then(|| email.to_owned())
}

/// The visitor's email for follow-up: stored in the thread (the team sees it
/// there) and on the conversation and the visitor.
pub async fn leave_email(
    db: InWorkspace<'_>,
    conversation_id: Uuid,
    client_id: Uuid,
    email: &str,
) -> Result<Done, ActionError> {
    let email = email_address(email)
        .ok_or_else(|| ActionError::Refused("That does not look like an email address.".into()))?;
    let mut tx = db.begin().await?;
    let conversation = store::lock(&mut tx, conversation_id).await?;
    let body = EventBody::EmailLeft {
        email: email.clone(),
    };
    let stored = store::append(&mut tx, &conversation, Some(client_id), &body).await?;
    sqlx::query!(
        "update conversation set follow_up_email = $2 where conversation_id = $1",
        conversation_id,
        &email,
    )
    .execute(&mut *tx)
    .await?;
    // A signed-in user's email is the one their site gave.
    sqlx::query!(
        "update visitor set email = $2
          where visitor_id = (select visitor_id from conversation where conversation_id = $1)
            and not verified",
        conversation_id,
        &email,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Done {
        seq: seq_of(stored),
        ai_has_work: false,
    })
}

/// The visitor's thumbs up or down on one of the conversation's AI answers;
/// false when `seq` is not an AI answer of this conversation.
pub async fn rate_answer(
    db: InWorkspace<'_>,
    conversation_id: Uuid,
    seq: i64,
    helpful: bool,
) -> Result<bool, sqlx::Error> {
    let rated = sqlx::query!(
        "insert into answer_feedback (conversation_id, seq, helpful)
         select $1, $2, $3 where exists (
             select 1 from event where conversation_id = $1 and seq = $2 and kind = 'ai_answer')
         on conflict (conversation_id, seq) do update set helpful = excluded.helpful, created_at = now()",
        conversation_id,
        seq,
        helpful,
    )
    .execute(db)
    .await?;
    Ok(rated.rows_affected() == 1)
}

/// The visitor's ratings in a conversation, for a client that connects.
pub async fn ratings(
    db: InWorkspace<'_>,
    conversation_id: Uuid,
) -> Result<Vec<(i64, bool)>, sqlx::Error> {
    sqlx::query_as(
        "select seq, helpful from answer_feedback where conversation_id = $1 order by seq",
    )
    .bind(conversation_id)
    .fetch_all(db)
    .await
}

pub(super) async fn set_status(
    conn: &mut sqlx::PgConnection,
    conversation_id: Uuid,
    status: ConversationStatus,
    assignee: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    // A person who claims or resolves a conversation has dealt with what the
    // visitor wrote so far: the AI never answers it later.
    sqlx::query!(
        "update conversation set status = $2, assignee_id = $3,
            ai_handled_seq = case when $2 in ('open', 'resolved')
                                  then greatest(ai_handled_seq, visitor_seq) else ai_handled_seq end
         where conversation_id = $1",
        conversation_id,
        status.as_str(),
        assignee,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Makes the conversation the agent's (status open), recording the change.
async fn take(
    conn: &mut sqlx::PgConnection,
    conversation: &Locked,
    agent: &Agent,
    client_id: Option<Uuid>,
) -> Result<Option<i64>, ActionError> {
    if conversation.status() == ConversationStatus::Open
        && conversation.assignee_id == Some(agent.account_id)
    {
        return Ok(None);
    }
    set_status(
        conn,
        conversation.conversation_id,
        ConversationStatus::Open,
        Some(agent.account_id),
    )
    .await?;
    let claimed = EventBody::StatusChange {
        status: ConversationStatus::Open,
        reason: None,
        agent_name: Some(agent.name.clone()),
        decision: None,
    };
    Ok(seq_of(
        store::append(conn, conversation, client_id, &claimed).await?,
    ))
}

/// An agent's action, checked against the agent's workspace.
pub async fn agent_action(
    db: InWorkspace<'_>,
    agent: &Agent,
    conversation_id: Uuid,
    client_id: Uuid,
    action: AgentAction,
) -> Result<Done, ActionError> {
    let mut tx = db.begin().await?;
    let conversation = match store::lock(&mut tx, conversation_id).await {
        Ok(c) if c.workspace_id == agent.workspace_id => c,
        Ok(_) | Err(StoreError::NotFound) => return Err(ActionError::NotFound),
        Err(err) => return Err(err.into()),
    };
    if let Some(event) = store::existing(&mut tx, conversation_id, client_id).await? {
        let same = match (&action, &event.body) {
            (AgentAction::Reply(t), EventBody::HumanReply { text, .. })
            | (AgentAction::Note(t), EventBody::Note { text, .. }) => t.as_str() == text,
            (
                AgentAction::Claim
                | AgentAction::TakeOver
                | AgentAction::Resolve
                | AgentAction::Reopen
                | AgentAction::HandBack,
                EventBody::StatusChange { .. },
            )
            | (AgentAction::Assign { .. }, EventBody::Assigned { .. }) => true,
            _ => false,
        };
        return if same {
            Ok(Done {
                seq: Some(event.seq),
                ai_has_work: false,
            })
        } else {
            Err(StoreError::IdReused.into())
        };
    }
    // The collision guard: a conversation another agent has is theirs to
    // answer until someone takes it over explicitly.
    let holder = match conversation.assignee_id {
        Some(other)
            if other != agent.account_id
                && matches!(
                    conversation.status(),
                    ConversationStatus::WaitingHuman | ConversationStatus::Open
                ) =>
        {
            Some(super::assign::name_of(&mut tx, other).await?)
        }
        _ => None,
    };
    let seq = match action {
        AgentAction::Reply(_) | AgentAction::Claim if holder.is_some() => {
            return Err(ActionError::Refused(format!(
                "{} has this conversation. Take it over to reply.",
                holder.unwrap_or_default()
            )));
        }
        // The AI's conversations are read-only until someone takes them.
        AgentAction::Reply(_) if conversation.status() == ConversationStatus::Ai => {
            return Err(ActionError::Refused(
                "The AI is handling this conversation. Take it over to reply.".into(),
            ));
        }
        AgentAction::Reply(text) => {
            let body = EventBody::HumanReply {
                text: text.into(),
                agent_name: agent.name.clone(),
            };
            // Replying claims the conversation: the AI stops answering it.
            take(&mut tx, &conversation, agent, None).await?;
            seq_of(store::append(&mut tx, &conversation, Some(client_id), &body).await?)
        }
        AgentAction::Note(text) => {
            let body = EventBody::Note {
                text: text.into(),
                agent_name: agent.name.clone(),
            };
            seq_of(store::append(&mut tx, &conversation, Some(client_id), &body).await?)
        }
        AgentAction::Claim | AgentAction::TakeOver => {
            take(&mut tx, &conversation, agent, Some(client_id)).await?
        }
        AgentAction::Resolve => {
            if conversation.status() == ConversationStatus::Resolved {
                None
            } else {
                set_status(
                    &mut tx,
                    conversation_id,
                    ConversationStatus::Resolved,
                    conversation.assignee_id,
                )
                .await?;
                let body = EventBody::StatusChange {
                    status: ConversationStatus::Resolved,
                    reason: None,
                    agent_name: Some(agent.name.clone()),
                    decision: None,
                };
                seq_of(store::append(&mut tx, &conversation, Some(client_id), &body).await?)
            }
        }
        AgentAction::Reopen => {
            if conversation.status() != ConversationStatus::Resolved {
                return Err(ActionError::Refused(
                    "Only a resolved conversation can be reopened.".into(),
                ));
            }
            take(&mut tx, &conversation, agent, Some(client_id)).await?
        }
        AgentAction::HandBack => {
            if conversation.status() == ConversationStatus::Ai {
                None
            } else {
                set_status(&mut tx, conversation_id, ConversationStatus::Ai, None).await?;
                // What the visitor wrote while with the team was the team's to
                // answer: the AI takes up from their next message.
                sqlx::query!(
                    "update conversation set ai_handled_seq = greatest(ai_handled_seq, visitor_seq)
                      where conversation_id = $1",
                    conversation_id,
                )
                .execute(&mut *tx)
                .await?;
                let body = EventBody::StatusChange {
                    status: ConversationStatus::Ai,
                    reason: None,
                    agent_name: Some(agent.name.clone()),
                    decision: None,
                };
                seq_of(store::append(&mut tx, &conversation, Some(client_id), &body).await?)
            }
        }
        AgentAction::Assign { agent: to, team } => {
            super::assign::assign(&mut tx, &conversation, agent, client_id, to, team).await?
        }
    };
    tx.commit().await?;
    Ok(Done {
        seq,
        ai_has_work: false,
    })
}

#[cfg(test)]
mod tests {
    use super::email_address;

    #[test]
    fn email_addresses_are_checked_like_a_form_would() {
        assert_eq!(
            email_address("  ada@example.com ").as_deref(),
            Some("ada@example.com")
        );
        assert!(email_address("ada.lovelace+tandem@mail.example.co.uk").is_some());
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "ada @example.com",
            "<script>@example.com",
            "ada@example.com.",
        ] {
            assert_eq!(email_address(bad), None, "{bad}");
        }
        assert_eq!(
            email_address(&format!("{}@example.com", "a".repeat(250))),
            None
        );
    }
}
