//! The inbox's lists as SQL: a conversation's row as an agent sees it, the
//! queues' counts and conditions. Shared by the inbox's server functions
//! and its socket.

use app::types::{ConversationStatus, ConversationSummary, HandoffReason, Queue, QueueCounts};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::db::Scope;

#[derive(sqlx::FromRow)]
pub(crate) struct SummaryRow {
    conversation_id: Uuid,
    status: String,
    handoff_reason: Option<Json<HandoffReason>>,
    last_message: Option<String>,
    assignee_id: Option<Uuid>,
    assignee_name: Option<String>,
    escalated_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    visitor: Option<String>,
    verified: bool,
    team: Option<String>,
    tags: Vec<String>,
    unread: bool,
}

impl SummaryRow {
    pub(crate) fn into_summary(self) -> ConversationSummary {
        ConversationSummary {
            conversation_id: self.conversation_id,
            status: ConversationStatus::parse(&self.status).unwrap_or(ConversationStatus::Ai),
            handoff_reason: self.handoff_reason.map(|j| j.0),
            last_message: self.last_message.unwrap_or_default(),
            assignee_id: self.assignee_id,
            assignee_name: self.assignee_name,
            escalated_at: self.escalated_at,
            updated_at: self.updated_at,
            visitor: self.visitor,
            verified: self.verified,
            team: self.team,
            tags: self.tags,
            unread: self.unread,
        }
    }
}

pub(crate) const SUMMARY_SELECT: &str = "select c.conversation_id, c.status, c.handoff_reason, c.escalated_at, c.updated_at,
        c.assignee_id, a.name as assignee_name,
        case when v.verified
             then concat_ws(' · ', coalesce(v.name, v.email), 'id ' || v.external_id)
             else coalesce(v.name, v.email, c.follow_up_email,
                           'Visitor ' || left(replace(v.visitor_id::text, '-', ''), 6)) end as visitor,
        v.verified, c.team, c.tags,
        c.visitor_seq > coalesce((select s.seq from seen s
            where s.conversation_id = c.conversation_id and s.party = $2::text), 0) as unread,
        coalesce(
          (select e.payload->>'text' from event e
            where e.conversation_id = c.conversation_id and e.kind = 'visitor_message'
            order by e.seq desc limit 1),
          (select coalesce(e.payload->>'text', '') from event e
            where e.conversation_id = c.conversation_id and e.kind in ('ai_answer', 'human_reply')
            order by e.seq desc limit 1)) as last_message
     from conversation c left join account a on a.account_id = c.assignee_id
     join visitor v on v.visitor_id = c.visitor_id";

/// One row of the inbox's lists as `account_id` sees it, if the
/// conversation is the workspace's and has anything in it.
pub async fn summary(
    pool: &sqlx::PgPool,
    workspace_id: Uuid,
    account_id: Uuid,
    id: Uuid,
) -> Result<Option<ConversationSummary>, sqlx::Error> {
    let sql = format!(
        "{SUMMARY_SELECT} where c.workspace_id = $1 and c.conversation_id = $3 and c.last_seq > 0"
    );
    Ok(sqlx::query_as::<_, SummaryRow>(sqlx::AssertSqlSafe(sql))
        .bind(workspace_id)
        .bind(account_id)
        .bind(id)
        .fetch_optional(pool.ws(workspace_id))
        .await?
        .map(SummaryRow::into_summary))
}

/// How many conversations each queue of the workspace holds, for one agent.
pub async fn queue_counts(
    pool: &sqlx::PgPool,
    workspace_id: Uuid,
    account_id: Uuid,
) -> Result<QueueCounts, sqlx::Error> {
    let (waiting_human, mine, open, ai, resolved) = sqlx::query_as(
        "select count(*) filter (where status = 'waiting_human'),
                count(*) filter (where status in ('waiting_human', 'open') and assignee_id = $2),
                count(*) filter (where status in ('waiting_human', 'open')),
                count(*) filter (where status = 'ai'),
                count(*) filter (where status = 'resolved')
         from conversation where workspace_id = $1 and last_seq > 0",
    )
    .bind(workspace_id)
    .bind(account_id)
    .fetch_one(pool.ws(workspace_id))
    .await?;
    Ok(QueueCounts {
        waiting_human,
        mine,
        open,
        ai,
        resolved,
    })
}

/// A queue's conditions and order, as SQL over `conversation c` (`$2`: the agent).
pub(crate) fn queue_sql(queue: Queue) -> (&'static str, &'static str) {
    match queue {
        Queue::Waiting => ("c.status = 'waiting_human'", "c.escalated_at asc"),
        Queue::Mine => (
            "c.status in ('waiting_human', 'open') and c.assignee_id = $2",
            "c.updated_at desc",
        ),
        Queue::Open => (
            "c.status in ('waiting_human', 'open')",
            "(c.status = 'waiting_human') desc, c.escalated_at asc",
        ),
        Queue::Ai => ("c.status = 'ai'", "c.updated_at desc"),
        Queue::Resolved => ("c.status = 'resolved'", "c.updated_at desc"),
    }
}
