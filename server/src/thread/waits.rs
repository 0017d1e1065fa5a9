//! The maximum wait: an escalation nobody has replied to within the
//! workspace's `max_wait_minutes` gets a `WaitNotice` in its thread (the
//! visitor is told honestly and offered email follow-up); it stays in the
//! queue. Every instance sweeps; the row lock and `wait_notice_at` make each
//! notice happen once.

use std::time::Duration;

use app::types::{ConversationStatus, EventBody};
use sqlx::PgPool;
use uuid::Uuid;

use super::store;
use crate::db::{Scope, System};

const SWEEP_EVERY: Duration = Duration::from_secs(20);

/// Sweeps for overdue escalations on this instance, forever.
pub fn sweep(pool: PgPool, system: System) {
    tokio::spawn(async move {
        loop {
            if let Err(err) = notify_overdue(&pool, &system).await {
                tracing::warn!(error = %err, "sweep for overdue escalations failed");
            }
            tokio::time::sleep(SWEEP_EVERY).await;
        }
    });
}

/// Tells every visitor waiting longer than their workspace's maximum that
/// nobody is free yet; returns how many were told. Found across workspaces,
/// each told in its own.
pub async fn notify_overdue(pool: &PgPool, system: &System) -> Result<usize, store::StoreError> {
    let due: Vec<(Uuid, Uuid, i32)> = sqlx::query_as(
        "select c.conversation_id, c.workspace_id, coalesce(s.max_wait_minutes, 10)
           from conversation c left join inbox_settings s using (workspace_id)
          where c.status = 'waiting_human' and c.wait_notice_at is null
            and c.escalated_at < now() - make_interval(mins => coalesce(s.max_wait_minutes, 10))
            and not exists (select 1 from event e where e.conversation_id = c.conversation_id
                             and e.kind = 'human_reply' and e.created_at > c.escalated_at)
          order by c.escalated_at limit 100",
    )
    .fetch_all(system.pool())
    .await?;
    let mut told = 0;
    for (conversation_id, workspace_id, minutes) in due {
        let mut tx = pool.ws(workspace_id).begin().await?;
        let conversation = match store::lock(&mut tx, conversation_id).await {
            Ok(conversation) => conversation,
            // Deleted meanwhile: nobody to tell.
            Err(store::StoreError::NotFound) => continue,
            Err(err) => return Err(err),
        };
        let still_due: bool = sqlx::query_scalar(
            "select wait_notice_at is null from conversation where conversation_id = $1",
        )
        .bind(conversation_id)
        .fetch_one(&mut *tx)
        .await?;
        if conversation.status() != ConversationStatus::WaitingHuman || !still_due {
            continue;
        }
        store::append(
            &mut tx,
            &conversation,
            None,
            &EventBody::WaitNotice { minutes },
        )
        .await?;
        sqlx::query!(
            "update conversation set wait_notice_at = now() where conversation_id = $1",
            conversation_id,
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        told += 1;
    }
    Ok(told)
}
