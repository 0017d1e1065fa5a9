//! Appending to and reading a conversation's event log. Every append runs in
//! the caller's transaction: the sequence number comes from the locked
//! conversation row (no gaps, no duplicates) and the wake-up is sent on commit.

use app::types::{ConversationStatus, EventBody, HandoffReason, ThreadEvent};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub const CHANNEL: &str = "tandem_thread";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a different message was already sent with this id")]
    IdReused,
    #[error("conversation not found")]
    NotFound,
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

#[derive(sqlx::FromRow)]
struct EventRow {
    conversation_id: Uuid,
    seq: i64,
    payload: Json<EventBody>,
    created_at: DateTime<Utc>,
}

impl EventRow {
    fn into_event(self) -> ThreadEvent {
        ThreadEvent {
            conversation_id: self.conversation_id,
            seq: self.seq,
            at: self.created_at,
            body: self.payload.0,
        }
    }
}

/// A conversation row locked for the rest of the transaction.
#[derive(Debug, sqlx::FromRow)]
pub struct Locked {
    pub conversation_id: Uuid,
    pub workspace_id: Uuid,
    pub status: String,
    pub assignee_id: Option<Uuid>,
}

impl Locked {
    pub fn status(&self) -> ConversationStatus {
        ConversationStatus::parse(&self.status).unwrap_or(ConversationStatus::Ai)
    }
}

pub async fn lock(conn: &mut PgConnection, conversation_id: Uuid) -> Result<Locked, StoreError> {
    sqlx::query_as::<_, Locked>(
        "select conversation_id, workspace_id, status, assignee_id from conversation
         where conversation_id = $1 for update",
    )
    .bind(conversation_id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)
}

/// The outcome of an append: a new event, or the one an earlier send with
/// the same client id stored.
#[derive(Debug)]
pub enum Appended {
    New(ThreadEvent),
    Existing(ThreadEvent),
}

impl Appended {
    pub fn event(&self) -> &ThreadEvent {
        match self {
            Self::New(e) | Self::Existing(e) => e,
        }
    }
}

/// Appends an event to a conversation the transaction has locked.
pub async fn append(
    conn: &mut PgConnection,
    conversation: &Locked,
    client_id: Option<Uuid>,
    body: &EventBody,
) -> Result<Appended, StoreError> {
    if let Some(client_id) = client_id {
        let existing = sqlx::query_as::<_, EventRow>(
            "select conversation_id, seq, payload, created_at from event
             where conversation_id = $1 and client_id = $2",
        )
        .bind(conversation.conversation_id)
        .bind(client_id)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(row) = existing {
            let event = row.into_event();
            return if &event.body == body {
                Ok(Appended::Existing(event))
            } else {
                Err(StoreError::IdReused)
            };
        }
    }
    let seq: i64 = sqlx::query_scalar(
        "update conversation set last_seq = last_seq + 1, updated_at = now()
         where conversation_id = $1 returning last_seq",
    )
    .bind(conversation.conversation_id)
    .fetch_one(&mut *conn)
    .await?;
    let row = sqlx::query_as::<_, EventRow>(
        "insert into event (conversation_id, seq, client_id, kind, payload)
         values ($1, $2, $3, $4, $5)
         returning conversation_id, seq, payload, created_at",
    )
    .bind(conversation.conversation_id)
    .bind(seq)
    .bind(client_id)
    .bind(body.kind())
    .bind(Json(body))
    .fetch_one(&mut *conn)
    .await?;
    notify(
        conn,
        conversation.workspace_id,
        conversation.conversation_id,
    )
    .await?;
    Ok(Appended::New(row.into_event()))
}

/// Wakes every instance's hub when the transaction commits (ids only).
pub async fn notify(
    conn: &mut PgConnection,
    workspace_id: Uuid,
    conversation_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(format!("{workspace_id}:{conversation_id}"))
        .execute(conn)
        .await?;
    Ok(())
}

/// Hands a conversation to the team, unless a person already has it.
/// Returns whether it changed.
pub async fn escalate(
    conn: &mut PgConnection,
    conversation: &Locked,
    client_id: Option<Uuid>,
    reason: HandoffReason,
    decision: Option<app::types::Decision>,
) -> Result<bool, StoreError> {
    if matches!(
        conversation.status(),
        ConversationStatus::WaitingHuman | ConversationStatus::Open
    ) {
        return Ok(false);
    }
    sqlx::query(
        "update conversation set status = 'waiting_human', handoff_reason = $2, escalated_at = now()
         where conversation_id = $1",
    )
    .bind(conversation.conversation_id)
    .bind(Json(&reason))
    .execute(&mut *conn)
    .await?;
    let body = EventBody::StatusChange {
        status: ConversationStatus::WaitingHuman,
        reason: Some(reason),
        agent_name: None,
        decision,
    };
    append(conn, conversation, client_id, &body).await?;
    Ok(true)
}

/// Events after `after`, in order, at most `limit`.
pub async fn events_after(
    pool: &PgPool,
    conversation_id: Uuid,
    after: i64,
    limit: i64,
) -> Result<Vec<ThreadEvent>, sqlx::Error> {
    let rows = sqlx::query_as::<_, EventRow>(
        "select conversation_id, seq, payload, created_at from event
         where conversation_id = $1 and seq > $2 order by seq limit $3",
    )
    .bind(conversation_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(EventRow::into_event).collect())
}
