//! Who has a conversation: assignment by an agent, automatic round-robin
//! assignment of escalations, and the workspace's inbox settings these read.

use app::types::inbox::InboxSettings;
use app::types::{ConversationStatus, EventBody, HandoffReason};
use sqlx::types::Json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::actions::{set_status, ActionError, Agent};
use super::store::{self, Locked, StoreError};

/// The workspace's inbox settings (the defaults until an admin saves some).
pub async fn settings(
    conn: &mut PgConnection,
    workspace_id: Uuid,
) -> Result<InboxSettings, sqlx::Error> {
    let row: Option<(bool, bool, i32, i32)> = sqlx::query_as(
        "select reopen_to_ai, auto_assign, max_wait_minutes, remind_after_minutes
           from inbox_settings where workspace_id = $1",
    )
    .bind(workspace_id)
    .fetch_optional(conn)
    .await?;
    Ok(row
        .map(
            |(reopen_to_ai, auto_assign, max_wait_minutes, remind_after_minutes)| InboxSettings {
                reopen_to_ai,
                auto_assign,
                max_wait_minutes,
                remind_after_minutes,
            },
        )
        .unwrap_or_default())
}

pub async fn save_settings(
    conn: &mut PgConnection,
    workspace_id: Uuid,
    settings: &InboxSettings,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into inbox_settings (workspace_id, reopen_to_ai, auto_assign, max_wait_minutes,
                                     remind_after_minutes)
         values ($1, $2, $3, $4, $5)
         on conflict (workspace_id) do update set reopen_to_ai = excluded.reopen_to_ai,
            auto_assign = excluded.auto_assign, max_wait_minutes = excluded.max_wait_minutes,
            remind_after_minutes = excluded.remind_after_minutes, updated_at = now()",
        workspace_id,
        settings.reopen_to_ai,
        settings.auto_assign,
        settings.max_wait_minutes,
        settings.remind_after_minutes,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn reopen_to_ai(
    conn: &mut PgConnection,
    workspace_id: Uuid,
) -> Result<bool, sqlx::Error> {
    Ok(settings(conn, workspace_id).await?.reopen_to_ai)
}

pub async fn name_of(conn: &mut PgConnection, account_id: Uuid) -> Result<String, sqlx::Error> {
    Ok(
        sqlx::query_scalar!("select name from account where account_id = $1", account_id,)
            .fetch_optional(conn)
            .await?
            .unwrap_or_else(|| "Another agent".to_owned()),
    )
}

/// Gives a conversation to an agent of its workspace and/or one of its
/// teams (both `None`: to nobody). A conversation the AI has goes to the
/// team (waiting); one an agent had and nobody has now goes back to
/// waiting. Returns the `Assigned` event's seq, or `None` when nothing
/// changed.
pub async fn assign(
    conn: &mut PgConnection,
    conversation: &Locked,
    by: &Agent,
    client_id: Uuid,
    to: Option<Uuid>,
    team: Option<String>,
) -> Result<Option<i64>, ActionError> {
    if conversation.status() == ConversationStatus::Resolved {
        return Err(ActionError::Refused(
            "Reopen the conversation before assigning it.".into(),
        ));
    }
    let agent_name = match to {
        Some(account_id) => Some(
            sqlx::query_scalar::<_, String>(
                "select a.name from membership m join account a using (account_id)
                  where m.workspace_id = $1 and m.account_id = $2",
            )
            .bind(conversation.workspace_id)
            .bind(account_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| ActionError::Refused("No such agent in this workspace.".into()))?,
        ),
        None => None,
    };
    let team = match team.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) {
        Some(team) => Some(
            sqlx::query_scalar::<_, String>(
                "select name from team where workspace_id = $1 and lower(name) = lower($2)",
            )
            .bind(conversation.workspace_id)
            .bind(&team)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| {
                ActionError::Refused(format!("There is no team \u{201c}{team}\u{201d}."))
            })?,
        ),
        None => None,
    };
    let current: (Option<Uuid>, Option<String>) =
        sqlx::query_as("select assignee_id, team from conversation where conversation_id = $1")
            .bind(conversation.conversation_id)
            .fetch_one(&mut *conn)
            .await?;
    if current == (to, team.clone()) && conversation.status() != ConversationStatus::Ai {
        return Ok(None);
    }
    let status = match (conversation.status(), to) {
        // Given to somebody: the AI stops; an open conversation stays open
        // (with its new agent), anything else waits for them to reply.
        (ConversationStatus::Open, Some(_)) => ConversationStatus::Open,
        _ => ConversationStatus::WaitingHuman,
    };
    if conversation.status() == ConversationStatus::Ai {
        sqlx::query!(
            "update conversation set escalated_at = now(), wait_notice_at = null where conversation_id = $1",
            conversation.conversation_id,
        )
            .execute(&mut *conn)
            .await?;
    }
    set_status(conn, conversation.conversation_id, status, to).await?;
    sqlx::query("update conversation set team = $2 where conversation_id = $1")
        .bind(conversation.conversation_id)
        .bind(&team)
        .execute(&mut *conn)
        .await?;
    let body = EventBody::Assigned {
        by: by.name.clone(),
        agent: agent_name,
        team,
    };
    let seq = store::append(conn, conversation, Some(client_id), &body)
        .await?
        .event()
        .seq;
    // A change of status is in the thread too (every screen shows it).
    if status != conversation.status() {
        let changed = EventBody::StatusChange {
            status,
            reason: None,
            agent_name: Some(by.name.clone()),
            decision: None,
        };
        store::append(conn, conversation, None, &changed).await?;
    }
    Ok(Some(seq))
}

/// Assigns a conversation that was just escalated to the next available
/// agent, when the workspace asks for it: online and not away, in the
/// conversation's team (if it names one that exists), under their cap;
/// the one assigned longest ago first. Returns whom, if anyone.
pub async fn auto_assign(
    conn: &mut PgConnection,
    conversation: &Locked,
) -> Result<Option<String>, sqlx::Error> {
    if !settings(conn, conversation.workspace_id).await?.auto_assign {
        return Ok(None);
    }
    // Someone has it already (a conversation reopened by its visitor keeps
    // whoever had it).
    let held: Option<Uuid> = sqlx::query_scalar!(
        "select assignee_id from conversation where conversation_id = $1",
        conversation.conversation_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    if held.is_some() {
        return Ok(None);
    }
    // One assignment at a time per workspace: each agent's turn is read and
    // taken in order (never skipping one whose row is busy).
    sqlx::query("select pg_advisory_xact_lock(hashtext('assign:' || $1::text))")
        .bind(conversation.workspace_id)
        .execute(&mut *conn)
        .await?;
    let next: Option<(Uuid, String)> = sqlx::query_as(
        "with c as (select team from conversation where conversation_id = $2),
              t as (select team_id from team, c
                     where team.workspace_id = $1 and lower(team.name) = lower(c.team))
         select m.account_id, a.name
           from membership m join account a using (account_id)
          where m.workspace_id = $1 and not m.away
            and m.last_seen_at > now() - make_interval(secs => $3)
            and (not exists (select 1 from t)
                 or exists (select 1 from team_member tm join t using (team_id)
                             where tm.account_id = m.account_id))
            and (m.max_open is null or m.max_open > (
                 select count(*) from conversation o
                  where o.workspace_id = $1 and o.assignee_id = m.account_id
                    and o.status in ('waiting_human', 'open')))
          order by m.last_assigned_at nulls first, m.created_at
          limit 1",
    )
    .bind(conversation.workspace_id)
    .bind(conversation.conversation_id)
    .bind(crate::thread::presence::ONLINE_SECS)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((account_id, name)) = next else {
        return Ok(None);
    };
    sqlx::query!(
        "update membership set last_assigned_at = now() where account_id = $1 and workspace_id = $2",
        account_id,
        conversation.workspace_id,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update conversation set assignee_id = $2 where conversation_id = $1",
        conversation.conversation_id,
        account_id,
    )
    .execute(&mut *conn)
    .await?;
    let team: Option<String> = sqlx::query_scalar!(
        "select team from conversation where conversation_id = $1",
        conversation.conversation_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    let body = EventBody::Assigned {
        by: "Automatic assignment".into(),
        agent: Some(name.clone()),
        team,
    };
    store::append(conn, conversation, None, &body)
        .await
        .map_err(|err| match err {
            store::StoreError::Db(err) => err,
            other => sqlx::Error::Protocol(other.to_string()),
        })?;
    Ok(Some(name))
}

/// Hands a conversation to the team, unless it is already waiting for or
/// with a person. Returns the status change's seq when it stored one.
pub async fn escalate(
    conn: &mut PgConnection,
    conversation: &Locked,
    client_id: Option<Uuid>,
    reason: HandoffReason,
    decision: Option<app::types::Decision>,
) -> Result<Option<i64>, StoreError> {
    if matches!(
        conversation.status(),
        ConversationStatus::WaitingHuman | ConversationStatus::Open
    ) {
        return Ok(None);
    }
    sqlx::query(
        "update conversation set status = 'waiting_human', handoff_reason = $2, escalated_at = now(),
            wait_notice_at = null
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
    let appended = store::append(conn, conversation, client_id, &body).await?;
    auto_assign(conn, conversation).await?;
    Ok(Some(appended.event().seq))
}
