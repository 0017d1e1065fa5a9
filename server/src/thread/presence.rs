//! Agents' presence (online, away, offline) and who has a conversation open
//! (the collision guard's "also viewing").
//!
//! Online: an inbox socket of theirs was heard within [`ONLINE_SECS`] and
//! they are not away. Away: set by the agent, or by their inbox after a
//! while idle. Offline: no inbox open, or signed out.

use app::types::inbox::Presence;
use app::types::Typist;
use sqlx::PgPool;
use uuid::Uuid;

use crate::db::{InWorkspace, Scope, System};
use crate::thread::hub::Change;
use crate::thread::store;

/// An agent whose inbox showed signs of life this recently counts as online.
pub const ONLINE_SECS: f64 = 60.0;

/// How long a viewer stays listed unless their socket renews it (every
/// heartbeat).
const VIEWER_LAPSE_SECS: f64 = 45.0;

/// Records that an agent's inbox is open (on connect and every heartbeat).
pub async fn agent_seen(
    pool: &PgPool,
    account_id: Uuid,
    workspace_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update membership set last_seen_at = now() where account_id = $1 and workspace_id = $2",
        account_id,
        workspace_id,
    )
    .execute(pool.ws(workspace_id))
    .await?;
    Ok(())
}

/// The agent stepped away (or came back).
pub async fn set_away(
    pool: &PgPool,
    account_id: Uuid,
    workspace_id: Uuid,
    away: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update membership set away = $3, last_seen_at = now() where account_id = $1 and workspace_id = $2",
        account_id,
        workspace_id,
        away,
    )
    .execute(pool.ws(workspace_id))
    .await?;
    Ok(())
}

/// The agent signed out: offline everywhere at once (in each workspace of
/// the account, so across workspaces).
pub async fn signed_out(system: &System, account_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update membership set last_seen_at = null, away = false where account_id = $1",
        account_id,
    )
    .execute(system.pool())
    .await?;
    sqlx::query!("delete from viewer where account_id = $1", account_id,)
        .execute(system.pool())
        .await?;
    Ok(())
}

pub fn of(last_seen_secs: Option<f64>, away: bool) -> Presence {
    match last_seen_secs {
        Some(secs) if secs <= ONLINE_SECS => {
            if away {
                Presence::Away
            } else {
                Presence::Online
            }
        }
        _ => Presence::Offline,
    }
}

/// The agent has the conversation open (on connect and every heartbeat);
/// wakes the conversation's sockets when they were not listed.
pub async fn viewing(
    pool: &PgPool,
    workspace_id: Uuid,
    conversation_id: Uuid,
    account_id: Uuid,
    name: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.ws(workspace_id).begin().await?;
    let was: Option<bool> = sqlx::query_scalar(
        "select until > now() from viewer where conversation_id = $1 and account_id = $2",
    )
    .bind(conversation_id)
    .bind(account_id)
    .fetch_optional(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into viewer (conversation_id, account_id, name, until)
         values ($1, $2, $3, now() + make_interval(secs => $4))
         on conflict (conversation_id, account_id) do update set name = excluded.name, until = excluded.until",
        conversation_id,
        account_id,
        name,
        VIEWER_LAPSE_SECS,
    )
    .execute(&mut *tx)
    .await?;
    if was != Some(true) {
        store::notify(&mut tx, Change::Viewers, workspace_id, conversation_id).await?;
    }
    tx.commit().await
}

/// The agent closed the conversation.
pub async fn left(
    pool: &PgPool,
    workspace_id: Uuid,
    conversation_id: Uuid,
    account_id: Uuid,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.ws(workspace_id).begin().await?;
    let gone = sqlx::query!(
        "delete from viewer where conversation_id = $1 and account_id = $2",
        conversation_id,
        account_id,
    )
    .execute(&mut *tx)
    .await?;
    if gone.rows_affected() > 0 {
        store::notify(&mut tx, Change::Viewers, workspace_id, conversation_id).await?;
    }
    tx.commit().await
}

/// The agents who have the conversation open now, by name.
pub async fn viewers(
    db: InWorkspace<'_>,
    conversation_id: Uuid,
) -> Result<Vec<Typist>, sqlx::Error> {
    let rows: Vec<(Uuid, String)> = sqlx::query_as(
        "select account_id, name from viewer where conversation_id = $1 and until > now()
          order by name, account_id",
    )
    .bind(conversation_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(account_id, name)| Typist::Agent { account_id, name })
        .collect())
}
