//! Appending to and reading a conversation's event log. Every append runs in
//! the caller's transaction: the sequence number comes from the locked
//! conversation row (no gaps, no duplicates) and the wake-up is sent on commit.

use app::types::{ConversationStatus, EventBody, ThreadEvent, Typist};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::hub::{self, Change};
use crate::db::{InWorkspace, Scope};

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

/// The event a client id was already stored with in this conversation.
pub async fn existing(
    conn: &mut PgConnection,
    conversation_id: Uuid,
    client_id: Uuid,
) -> Result<Option<ThreadEvent>, sqlx::Error> {
    Ok(sqlx::query_as::<_, EventRow>(
        "select conversation_id, seq, payload, created_at from event
         where conversation_id = $1 and client_id = $2",
    )
    .bind(conversation_id)
    .bind(client_id)
    .fetch_optional(conn)
    .await?
    .map(EventRow::into_event))
}

/// Appends an event to a conversation the transaction has locked.
pub async fn append(
    conn: &mut PgConnection,
    conversation: &Locked,
    client_id: Option<Uuid>,
    body: &EventBody,
) -> Result<Appended, StoreError> {
    if let Some(client_id) = client_id {
        if let Some(event) = existing(conn, conversation.conversation_id, client_id).await? {
            return if &event.body == body {
                Ok(Appended::Existing(event))
            } else {
                Err(StoreError::IdReused)
            };
        }
    }
    let from_visitor = matches!(body, EventBody::VisitorMessage { .. });
    let seq: i64 = sqlx::query_scalar!(
        "update conversation set last_seq = last_seq + 1, updated_at = now(),
            visitor_seq = case when $2 then last_seq + 1 else visitor_seq end
         where conversation_id = $1 returning last_seq",
        conversation.conversation_id,
        from_visitor,
    )
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
        Change::Stored,
        conversation.workspace_id,
        conversation.conversation_id,
    )
    .await?;
    Ok(Appended::New(row.into_event()))
}

/// Wakes every instance's hub when the transaction commits (ids only).
pub async fn notify(
    conn: &mut PgConnection,
    change: Change,
    workspace_id: Uuid,
    conversation_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "select pg_notify($1, $2)",
        hub::CHANNEL,
        hub::payload(change, workspace_id, conversation_id),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Events after `after`, in order, at most `limit`.
pub async fn events_after(
    db: InWorkspace<'_>,
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
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(EventRow::into_event).collect())
}

/// The AI's draft of a conversation, if it is writing one.
pub async fn draft(
    db: InWorkspace<'_>,
    conversation_id: Uuid,
) -> Result<Option<(Uuid, String)>, sqlx::Error> {
    sqlx::query_as("select turn_id, text from ai_draft where conversation_id = $1")
        .bind(conversation_id)
        .fetch_optional(db)
        .await
}

/// A party to a conversation, as typing and read positions record it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Party {
    Visitor,
    Agent { account_id: Uuid, name: String },
}

impl Party {
    /// The key stored in `typing.party` and `seen.party`.
    fn key(&self) -> String {
        match self {
            Self::Visitor => "visitor".to_owned(),
            Self::Agent { account_id, .. } => account_id.to_string(),
        }
    }

    fn name(&self) -> Option<&str> {
        match self {
            Self::Visitor => None,
            Self::Agent { name, .. } => Some(name),
        }
    }

    /// Whether a typist is this party.
    pub fn is(&self, typist: &Typist) -> bool {
        match (self, typist) {
            (Self::Visitor, Typist::Visitor) => true,
            (
                Self::Agent { account_id, .. },
                Typist::Agent {
                    account_id: other, ..
                },
            ) => account_id == other,
            _ => false,
        }
    }
}

/// Who is typing in a conversation now, in a stable order, each with the
/// seconds until their typing lapses unless repeated.
pub async fn typists(
    db: InWorkspace<'_>,
    conversation_id: Uuid,
) -> Result<Vec<(Typist, f64)>, sqlx::Error> {
    let rows: Vec<(String, Option<String>, f64)> = sqlx::query_as(
        "select party, name, extract(epoch from until - now())::float8 from typing
         where conversation_id = $1 and until > now() order by party",
    )
    .bind(conversation_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(party, name, left)| {
            let typist = match party.as_str() {
                "visitor" => Typist::Visitor,
                id => Typist::Agent {
                    account_id: Uuid::parse_str(id).ok()?,
                    name: name.unwrap_or_default(),
                },
            };
            Some((typist, left))
        })
        .collect())
}

/// Records that `party` started or stopped typing, and wakes the
/// conversation's sockets when that changed anything. A repeated "typing"
/// only extends it; it lapses on its own after `TYPING_LAPSE_SECS`.
pub async fn set_typing(
    pool: &PgPool,
    workspace_id: Uuid,
    conversation_id: Uuid,
    party: &Party,
    typing: bool,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.ws(workspace_id).begin().await?;
    let changed = if typing {
        let was_typing: bool = sqlx::query_scalar(
            "with before as (
               select until > now() as live from typing where conversation_id = $1 and party = $2
             ), upsert as (
               insert into typing (conversation_id, party, name, until)
               values ($1, $2, $3, now() + make_interval(secs => $4))
               on conflict (conversation_id, party) do update
                 set name = excluded.name, until = excluded.until
             )
             select coalesce((select live from before), false)",
        )
        .bind(conversation_id)
        .bind(party.key())
        .bind(party.name())
        .bind(app::types::TYPING_LAPSE_SECS as f64)
        .fetch_one(&mut *tx)
        .await?;
        !was_typing
    } else {
        // Only a live typing state ending is news; a lapsed one was already
        // gone for every reader.
        let was_live: Option<bool> = sqlx::query_scalar(
            "delete from typing where conversation_id = $1 and party = $2 returning until > now()",
        )
        .bind(conversation_id)
        .bind(party.key())
        .fetch_optional(&mut *tx)
        .await?;
        was_live == Some(true)
    };
    if changed {
        notify(&mut tx, Change::Typing, workspace_id, conversation_id).await?;
    }
    tx.commit().await
}

/// Moves a party's read position forward to `seq` (at most the conversation's
/// last event); never back, so a late, older acknowledgement changes nothing.
/// Returns the position.
pub async fn mark_seen(
    pool: &PgPool,
    workspace_id: Uuid,
    conversation_id: Uuid,
    party: &Party,
    seq: i64,
) -> Result<i64, sqlx::Error> {
    let mut tx = pool.ws(workspace_id).begin().await?;
    let (position, moved): (i64, bool) = sqlx::query_as(
        "with before as (
           select seq from seen where conversation_id = $1 and party = $2
         ), upsert as (
           insert into seen (conversation_id, party, seq)
           values ($1, $2, greatest(0, least($3, (select last_seq from conversation where conversation_id = $1))))
           on conflict (conversation_id, party) do update set seq = greatest(seen.seq, excluded.seq)
           returning seq
         )
         select u.seq, u.seq > coalesce((select seq from before), 0) from upsert u",
    )
    .bind(conversation_id)
    .bind(party.key())
    .bind(seq)
    .fetch_one(&mut *tx)
    .await?;
    if moved {
        notify(&mut tx, Change::Seen, workspace_id, conversation_id).await?;
    }
    tx.commit().await?;
    Ok(position)
}

/// How far a party has read a conversation (0: nothing).
pub async fn seen(
    db: InWorkspace<'_>,
    conversation_id: Uuid,
    party: &Party,
) -> Result<i64, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        "select seq from seen where conversation_id = $1 and party = $2",
        conversation_id,
        party.key(),
    )
    .fetch_optional(db)
    .await?
    .unwrap_or(0))
}
