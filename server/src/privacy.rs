//! Privacy: conversations deleted after the workspace's retention (a sweep,
//! on by default), one visitor's data exported as JSON or erased, and the
//! audit log of each (the log keeps no personal data: a visitor is named by
//! id, and the log outlives them).

use std::time::Duration;

use app::types::privacy::{AuditEntry, Erased, DEFAULT_RETENTION_DAYS};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::db::{InWorkspace, Scope, System};

/// How often each instance applies retention (deleting is idempotent).
const SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// Conversations deleted per statement, so a large backlog holds no long lock.
const BATCH: i64 = 500;

/// Who did something, as the audit log keeps it.
#[derive(Clone, Debug)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub name: String,
}

impl Actor {
    pub fn retention() -> Self {
        Self {
            id: None,
            name: "retention".into(),
        }
    }
}

pub async fn audit(
    conn: &mut PgConnection,
    workspace_id: Uuid,
    actor: &Actor,
    action: &str,
    subject: &str,
    detail: Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into audit_log (audit_id, workspace_id, actor_id, actor_name, action, subject, detail)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::new_v4())
    .bind(workspace_id)
    .bind(actor.id)
    .bind(&actor.name)
    .bind(action)
    .bind(subject)
    .bind(Json(detail))
    .execute(conn)
    .await?;
    Ok(())
}

/// The newest entries of the workspace's audit log.
pub async fn audit_log(db: InWorkspace<'_>, limit: i64) -> Result<Vec<AuditEntry>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        at: DateTime<Utc>,
        actor_name: String,
        action: String,
        subject: String,
        detail: Json<Value>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "select at, actor_name, action, subject, detail from audit_log
          order by at desc limit $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AuditEntry {
            at: r.at,
            actor: r.actor_name,
            detail: describe(&r.detail.0),
            action: r.action,
            subject: r.subject,
        })
        .collect())
}

/// A detail object as "3 conversations, 12 messages".
fn describe(detail: &Value) -> String {
    let Some(fields) = detail.as_object() else {
        return String::new();
    };
    fields
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{}: {s}", k.replace('_', " ")),
            Value::Null => format!("{}: none", k.replace('_', " ")),
            // "1 conversation", "3 conversations".
            v if v.as_u64() == Some(1) => {
                format!("1 {}", k.trim_end_matches('s').replace('_', " "))
            }
            v => format!("{v} {}", k.replace('_', " ")),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Days conversations are kept after their last activity; `None`: until
/// deleted by hand.
pub async fn retention(db: InWorkspace<'_>) -> Result<Option<u32>, sqlx::Error> {
    let mut tx = db.begin().await?;
    retention_in(&mut tx, db.workspace_id()).await
}

pub async fn save_retention(
    db: InWorkspace<'_>,
    actor: &Actor,
    days: Option<u32>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    let before = retention_in(&mut tx, db.workspace_id()).await?;
    sqlx::query!(
        "insert into privacy_settings (workspace_id, retention_days) values ($1, $2)
         on conflict (workspace_id) do update
           set retention_days = excluded.retention_days, updated_at = now()",
        db.workspace_id(),
        days.map(|d| d as i32),
    )
    .execute(&mut *tx)
    .await?;
    if before != days {
        let days_text =
            |d: Option<u32>| d.map_or("kept until deleted".to_owned(), |d| format!("{d} days"));
        audit(
            &mut tx,
            db.workspace_id(),
            actor,
            "retention_changed",
            "conversations",
            json!({ "from": days_text(before), "to": days_text(days) }),
        )
        .await?;
    }
    tx.commit().await
}

async fn retention_in(
    conn: &mut PgConnection,
    workspace_id: Uuid,
) -> Result<Option<u32>, sqlx::Error> {
    let row: Option<(Option<i32>,)> =
        sqlx::query_as("select retention_days from privacy_settings where workspace_id = $1")
            .bind(workspace_id)
            .fetch_optional(conn)
            .await?;
    Ok(match row {
        None => Some(DEFAULT_RETENTION_DAYS),
        Some((days,)) => days.map(|d| d as u32),
    })
}

/// The visitor of a conversation, if it is the workspace's.
async fn visitor_of(
    conn: &mut PgConnection,
    conversation_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "select visitor_id from conversation where conversation_id = $1",
        conversation_id,
    )
    .fetch_optional(conn)
    .await
}

/// Everything stored about the visitor of a conversation (all their
/// conversations), as JSON; `None` when the conversation is not the
/// workspace's. Recorded in the audit log.
pub async fn export_visitor(
    db: InWorkspace<'_>,
    actor: &Actor,
    conversation_id: Uuid,
) -> Result<Option<Value>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let Some(visitor_id) = visitor_of(&mut tx, conversation_id).await? else {
        return Ok(None);
    };
    #[derive(sqlx::FromRow)]
    struct VisitorRow {
        created_at: DateTime<Utc>,
        external_id: Option<String>,
        name: Option<String>,
        email: Option<String>,
        verified: bool,
        attributes: Json<Value>,
    }
    let visitor: VisitorRow = sqlx::query_as(
        "select created_at, external_id, name, email, verified, attributes from visitor where visitor_id = $1",
    )
    .bind(visitor_id)
    .fetch_one(&mut *tx)
    .await?;
    #[derive(sqlx::FromRow)]
    struct ConversationRow {
        conversation_id: Uuid,
        created_at: DateTime<Utc>,
        status: String,
        page_url: Option<String>,
        language: Option<String>,
        follow_up_email: Option<String>,
        tags: Vec<String>,
    }
    let conversations: Vec<ConversationRow> = sqlx::query_as(
        "select conversation_id, created_at, status, page_url, language, follow_up_email, tags
           from conversation where visitor_id = $1 order by created_at",
    )
    .bind(visitor_id)
    .fetch_all(&mut *tx)
    .await?;
    let mut exported = Vec::new();
    let mut messages = 0;
    for c in &conversations {
        let events: Vec<(i64, DateTime<Utc>, String, Json<Value>)> = sqlx::query_as(
            "select seq, created_at, kind, payload from event where conversation_id = $1 order by seq",
        )
        .bind(c.conversation_id)
        .fetch_all(&mut *tx)
        .await?;
        messages += events.len();
        let ratings: Vec<(i64, bool, DateTime<Utc>)> = sqlx::query_as(
            "select seq, helpful, created_at from answer_feedback where conversation_id = $1 order by seq",
        )
        .bind(c.conversation_id)
        .fetch_all(&mut *tx)
        .await?;
        let emails: Vec<(String, String, Option<DateTime<Utc>>)> = sqlx::query_as(
            "select kind, to_address, sent_at from email_outbox
              where conversation_id = $1 and kind = 'follow_up' order by created_at",
        )
        .bind(c.conversation_id)
        .fetch_all(&mut *tx)
        .await?;
        exported.push(json!({
            "conversation_id": c.conversation_id,
            "started_at": c.created_at,
            "status": c.status,
            "page_url": c.page_url,
            "language": c.language,
            "follow_up_email": c.follow_up_email,
            "tags": c.tags,
            "events": events.into_iter().map(|(seq, at, kind, Json(payload))| json!({
                "seq": seq, "at": at, "kind": kind, "content": payload,
            })).collect::<Vec<_>>(),
            "ratings": ratings.into_iter().map(|(seq, helpful, at)| json!({
                "answer_seq": seq, "helpful": helpful, "at": at,
            })).collect::<Vec<_>>(),
            "emails_sent": emails.into_iter().map(|(kind, to, sent_at)| json!({
                "kind": kind, "to": to, "sent_at": sent_at,
            })).collect::<Vec<_>>(),
        }));
    }
    let export = json!({
        "exported_at": Utc::now(),
        "visitor": {
            "visitor_id": visitor_id,
            "first_seen": visitor.created_at,
            "user_id_on_your_site": visitor.external_id,
            "name": visitor.name,
            "email": visitor.email,
            "verified_by_your_site": visitor.verified,
            "attributes": visitor.attributes.0,
        },
        "conversations": exported,
    });
    audit(
        &mut tx,
        db.workspace_id(),
        actor,
        "visitor_exported",
        &format!("visitor {visitor_id}"),
        json!({ "conversations": conversations.len(), "events": messages }),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(export))
}

/// Erases the visitor of a conversation: the visitor, all their
/// conversations with every event, AI decision, rating, email and link
/// (foreign keys cascade), and their questions where a review fix kept
/// copies. `None` when the conversation is not the workspace's.
pub async fn erase_visitor(
    db: InWorkspace<'_>,
    actor: &Actor,
    conversation_id: Uuid,
) -> Result<Option<Erased>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let Some(visitor_id) = visitor_of(&mut tx, conversation_id).await? else {
        return Ok(None);
    };
    sqlx::query("select 1 from visitor where visitor_id = $1 for update")
        .bind(visitor_id)
        .execute(&mut *tx)
        .await?;
    let (conversations, messages): (i64, i64) = sqlx::query_as(
        "select count(distinct c.conversation_id),
                count(e.seq) filter (where e.kind = 'visitor_message')
           from conversation c left join event e using (conversation_id)
          where c.visitor_id = $1",
    )
    .bind(visitor_id)
    .fetch_one(&mut *tx)
    .await?;
    // What they wrote, wherever a copy was made of it.
    let texts: Vec<String> = sqlx::query_scalar(
        "select e.payload->>'text' from event e join conversation c using (conversation_id)
          where c.visitor_id = $1 and e.kind = 'visitor_message' and e.payload ? 'text'
         union
         select d.question from decision d join conversation c using (conversation_id)
          where c.visitor_id = $1",
    )
    .bind(visitor_id)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query!("delete from visitor where visitor_id = $1", visitor_id,)
        .execute(&mut *tx)
        .await?;
    scrub_fixes(&mut tx, &texts).await?;
    let erased = Erased {
        conversations: conversations as u32,
        messages: messages as u32,
    };
    audit(
        &mut tx,
        db.workspace_id(),
        actor,
        "visitor_erased",
        &format!("visitor {visitor_id}"),
        json!({ "conversations": erased.conversations, "messages": erased.messages }),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(erased))
}

/// Removes these texts from the questions review fixes kept (and a topic
/// named by one of them is renamed).
async fn scrub_fixes(conn: &mut PgConnection, texts: &[String]) -> Result<(), sqlx::Error> {
    if texts.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "update review_fix set
            questions = array(select q from unnest(questions) q where q <> all($1)),
            topic = case when topic = any($1) then '(erased)' else topic end
          where questions && $1 or topic = any($1)",
        texts,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// What one workspace's retention deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deleted {
    pub conversations: u64,
    pub visitors: u64,
}

/// Deletes what is past its workspace's retention, in every workspace
/// (found across them; each deleted in its own), and records it.
pub async fn apply_retention(
    pool: &PgPool,
    system: &System,
) -> Result<Vec<(Uuid, Deleted)>, sqlx::Error> {
    let due: Vec<(Uuid, i32)> = sqlx::query_as(
        "select w.workspace_id, coalesce(p.retention_days, $1) from workspace w
           left join privacy_settings p using (workspace_id)
          where p.workspace_id is null or p.retention_days is not null",
    )
    .bind(DEFAULT_RETENTION_DAYS as i32)
    .fetch_all(system.pool())
    .await?;
    let mut out = Vec::new();
    for (workspace_id, days) in due {
        let deleted = retain(pool.ws(workspace_id), days).await?;
        if deleted != Deleted::default() {
            out.push((workspace_id, deleted));
        }
    }
    Ok(out)
}

async fn retain(db: InWorkspace<'_>, days: i32) -> Result<Deleted, sqlx::Error> {
    let mut deleted = Deleted::default();
    loop {
        let mut tx = db.begin().await?;
        let n = sqlx::query!(
            "delete from conversation where conversation_id in (
               select conversation_id from conversation
                where workspace_id = $1 and updated_at < now() - make_interval(days => $2)
                limit $3)",
            db.workspace_id(),
            days,
            BATCH,
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        deleted.conversations += n;
        tx.commit().await?;
        if n < BATCH as u64 {
            break;
        }
    }
    let mut tx = db.begin().await?;
    // Visitors left with nothing, not here now.
    deleted.visitors = sqlx::query!(
        "delete from visitor v where workspace_id = $1
            and created_at < now() - make_interval(days => $2)
            and (connected_until is null or connected_until < now())
            and not exists (select 1 from conversation c where c.visitor_id = v.visitor_id)",
        db.workspace_id(),
        days,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    // Decisions of no conversation (`tandem ask`, evaluations) age the same.
    sqlx::query!(
        "delete from decision where workspace_id = $1 and conversation_id is null
            and created_at < now() - make_interval(days => $2)",
        db.workspace_id(),
        days,
    )
    .execute(&mut *tx)
    .await?;
    if deleted != Deleted::default() {
        // Questions review fixes kept whose escalations are gone.
        sqlx::query!(
            "update review_fix r set
                questions = array(select q from unnest(r.questions) q
                                   where exists (select 1 from decision d where d.question = q))
              where exists (select 1 from unnest(r.questions) q
                             where not exists (select 1 from decision d where d.question = q))",
        )
        .execute(&mut *tx)
        .await?;
        audit(
            &mut tx,
            db.workspace_id(),
            &Actor::retention(),
            "retention_deleted",
            &format!("last active over {days} days ago"),
            json!({ "conversations": deleted.conversations, "visitors": deleted.visitors }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(deleted)
}

/// Applies retention on this instance every hour, forever (first a minute
/// after start).
pub fn sweep(pool: PgPool, system: System) {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        loop {
            match apply_retention(&pool, &system).await {
                Ok(done) => {
                    for (workspace_id, d) in done {
                        tracing::info!(workspace.id = %workspace_id, conversations = d.conversations, visitors = d.visitors, "retention deleted");
                    }
                }
                Err(err) => tracing::warn!(error = %err, "applying retention failed"),
            }
            tokio::time::sleep(SWEEP_EVERY).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_read_as_words() {
        assert_eq!(
            describe(&json!({ "conversations": 3, "messages": 12 })),
            "3 conversations, 12 messages"
        );
        assert_eq!(
            describe(&json!({ "conversations": 1, "visitors": 1 })),
            "1 conversation, 1 visitor"
        );
        assert_eq!(
            describe(&json!({ "from": "365 days", "to": "30 days" })),
            "from: 365 days, to: 30 days"
        );
    }
}
