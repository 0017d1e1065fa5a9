//! The inbox's server functions beyond the thread itself: filtered lists
//! and search, the directory (members with presence, teams, canned replies,
//! tags), tags on a conversation, a suggested reply from the answer engine,
//! and the admin's team page (invitations, roles, teams, caps, canned
//! replies, inbox settings).

use app::desk::SignedIn;
use app::error::DeskError;
use app::types::inbox::{
    valid_shortcut, CannedReply, Directory, InboxSettings, Invitation, Invited, ListFilter, Member,
    Suggestion, TeamAdmin,
};
use app::types::{ConversationSummary, EventBody};
use uuid::Uuid;

use super::{internal, queue_sql, SummaryRow, SUMMARY_SELECT};
use crate::answer::{self, generate};
use crate::db::Scope;
use crate::policy::{self, settings, Message};
use crate::thread::hub::Change;
use crate::thread::{assign, store};
use crate::{auth, presence, Engines};

/// The handoff triggers behind a reason's short name (see `HandoffReason::short`).
fn triggers(reason: &str) -> Option<&'static [&'static str]> {
    Some(match reason {
        "asked for a person" => &["human_requested"],
        "sensitive" => &["sensitive"],
        "AI unsure" => &["low_confidence", "not_grounded"],
        "rule" => &["rule"],
        "AI failed" => &["generator_failed"],
        "reopened" => &["reopened"],
        _ => return None,
    })
}

/// `%` and `_` taken literally in an `ilike` pattern.
fn like_pattern(words: &str) -> String {
    let escaped = words
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

pub async fn conversations(
    engines: &Engines,
    agent: &SignedIn,
    filter: ListFilter,
) -> Result<Vec<ConversationSummary>, DeskError> {
    let (condition, order) = queue_sql(filter.queue);
    let reasons: Option<Vec<String>> = match filter.reason.as_deref() {
        Some(reason) => Some(
            triggers(reason)
                .ok_or_else(|| {
                    DeskError::Invalid(format!("Unknown reason \u{201c}{reason}\u{201d}."))
                })?
                .iter()
                .map(|t| (*t).to_owned())
                .collect(),
        ),
        None => None,
    };
    let search = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.chars().count() > 200 {
                Err(DeskError::Invalid(
                    "Search for at most 200 characters.".into(),
                ))
            } else {
                Ok(like_pattern(s))
            }
        })
        .transpose()?;
    let sql = format!(
        "{SUMMARY_SELECT} where c.workspace_id = $1 and c.last_seq > 0 and {condition}
           and ($3::text[] is null or c.handoff_reason->>'trigger' = any($3))
           and ($4::text is null or $4 = any(c.tags))
           and ($5::text is null or lower(c.team) = lower($5))
           and ($6::text is null
                or v.name ilike $6 or v.email ilike $6 or c.follow_up_email ilike $6 or v.external_id ilike $6
                or exists (select 1 from event e where e.conversation_id = c.conversation_id
                            and e.kind in ('visitor_message', 'ai_answer', 'human_reply', 'note')
                            and e.payload->>'text' ilike $6))
         order by {order}, c.conversation_id limit 200"
    );
    let rows = sqlx::query_as::<_, SummaryRow>(sqlx::AssertSqlSafe(sql))
        .bind(agent.workspace_id)
        .bind(agent.profile.account_id)
        .bind(reasons)
        .bind(
            filter
                .tag
                .as_deref()
                .map(|t| t.trim().to_lowercase())
                .filter(|t| !t.is_empty()),
        )
        .bind(
            filter
                .team
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty()),
        )
        .bind(search)
        .fetch_all(engines.pool.ws(agent.workspace_id))
        .await
        .map_err(internal)?;
    Ok(rows.into_iter().map(SummaryRow::into_summary).collect())
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    account_id: Uuid,
    name: String,
    email: String,
    role: String,
    /// Seconds since their inbox was last heard from.
    seen_secs: Option<f64>,
    away: bool,
    teams: Vec<String>,
    assigned: i64,
    max_open: Option<i32>,
}

async fn members(engines: &Engines, workspace_id: Uuid) -> Result<Vec<Member>, sqlx::Error> {
    let rows: Vec<MemberRow> = sqlx::query_as(
        "select a.account_id, a.name, a.email, m.role,
                extract(epoch from now() - m.last_seen_at)::float8 as seen_secs, m.away,
                array(select t.name from team_member tm join team t using (team_id)
                       where tm.account_id = a.account_id and t.workspace_id = $1 order by t.name) as teams,
                (select count(*) from conversation c where c.workspace_id = $1
                   and c.assignee_id = a.account_id and c.status in ('waiting_human', 'open')) as assigned,
                m.max_open
           from membership m join account a using (account_id)
          where m.workspace_id = $1 order by a.name, a.account_id",
    )
    .bind(workspace_id)
    .fetch_all(engines.pool.ws(workspace_id))
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Member {
            account_id: r.account_id,
            name: r.name,
            email: r.email,
            role: r.role,
            presence: presence::of(r.seen_secs, r.away),
            teams: r.teams,
            assigned: r.assigned,
            max_open: r.max_open,
        })
        .collect())
}

pub async fn directory(engines: &Engines, agent: &SignedIn) -> Result<Directory, DeskError> {
    let pool = &engines.pool;
    let workspace_id = agent.workspace_id;
    let members = members(engines, workspace_id).await.map_err(internal)?;
    let teams: Vec<String> =
        sqlx::query_scalar("select name from team where workspace_id = $1 order by lower(name)")
            .bind(workspace_id)
            .fetch_all(pool.ws(agent.workspace_id))
            .await
            .map_err(internal)?;
    let canned: Vec<(Uuid, String, String)> = sqlx::query_as(
        "select canned_id, shortcut, body from canned_reply where workspace_id = $1 order by shortcut",
    )
    .bind(workspace_id)
    .fetch_all(pool.ws(agent.workspace_id))
    .await
    .map_err(internal)?;
    let tags: Vec<String> = sqlx::query_scalar(
        "select tag from conversation, unnest(tags) tag where workspace_id = $1
          group by tag order by count(*) desc, tag limit 50",
    )
    .bind(workspace_id)
    .fetch_all(pool.ws(agent.workspace_id))
    .await
    .map_err(internal)?;
    Ok(Directory {
        members,
        teams,
        canned: canned
            .into_iter()
            .map(|(canned_id, shortcut, body)| CannedReply {
                canned_id,
                shortcut,
                body,
            })
            .collect(),
        tags,
    })
}

/// A tag: trimmed, lower case, 1–40 characters, no commas.
fn clean_tag(tag: &str) -> Result<String, DeskError> {
    match app::types::text::plain_name(tag, 40) {
        Some(tag) if !tag.contains(',') => Ok(tag.to_lowercase()),
        _ => Err(DeskError::Invalid(
            "A tag is 1 to 40 characters, without commas or control characters.".into(),
        )),
    }
}

pub async fn set_tags(
    engines: &Engines,
    agent: &SignedIn,
    conversation_id: Uuid,
    tags: Vec<String>,
) -> Result<Vec<String>, DeskError> {
    if tags.len() > 20 {
        return Err(DeskError::Invalid("At most 20 tags.".into()));
    }
    let mut clean = tags
        .iter()
        .map(|t| clean_tag(t))
        .collect::<Result<Vec<_>, _>>()?;
    clean.sort();
    clean.dedup();
    let mut tx = crate::desk::begin(engines, agent).await?;
    let updated = sqlx::query(
        "update conversation set tags = $3, updated_at = now()
          where conversation_id = $1 and workspace_id = $2",
    )
    .bind(conversation_id)
    .bind(agent.workspace_id)
    .bind(&clean)
    .execute(&mut *tx)
    .await
    .map_err(internal)?;
    if updated.rows_affected() == 0 {
        return Err(DeskError::NotFound);
    }
    // The lists show tags: their rows are read again.
    store::notify(&mut tx, Change::Stored, agent.workspace_id, conversation_id)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(clean)
}

/// The visitor's messages since the team or the AI last replied (at most
/// the last five), as one question.
/// The visitor's messages before `events[..end]`'s last reply, the last three
/// (what a follow-up leans on).
fn earlier_questions(events: &[app::types::ThreadEvent], end: usize) -> Vec<String> {
    let mut earlier: Vec<String> = events[..end]
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::VisitorMessage { text } => Some(text.clone()),
            _ => None,
        })
        .collect();
    earlier.drain(..earlier.len().saturating_sub(3));
    earlier
}

/// Where the events after the last answer (a person's or the AI's) start.
fn since_last_reply(events: &[app::types::ThreadEvent]) -> usize {
    events
        .iter()
        .rposition(|e| {
            matches!(
                e.body,
                EventBody::HumanReply { .. } | EventBody::AiAnswer { .. }
            )
        })
        .map_or(0, |i| i + 1)
}

fn open_question(events: &[app::types::ThreadEvent]) -> Option<String> {
    let since_reply = since_last_reply(events);
    let mut asked: Vec<&str> = events[since_reply..]
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::VisitorMessage { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    if asked.is_empty() {
        // Everything was answered: suggest for the latest question anyway.
        asked.extend(events.iter().rev().find_map(|e| match &e.body {
            EventBody::VisitorMessage { text } => Some(text.as_str()),
            _ => None,
        }));
    }
    let from = asked.len().saturating_sub(5);
    (!asked.is_empty()).then(|| asked[from..].join("\n"))
}

pub async fn suggest_reply(
    engines: &Engines,
    agent: &SignedIn,
    conversation_id: Uuid,
) -> Result<Suggestion, DeskError> {
    let pool = &engines.pool;
    let (_, events) = super::thread_of(pool, agent, conversation_id).await?;
    let question = open_question(&events)
        .ok_or_else(|| DeskError::Invalid("The visitor has not asked anything yet.".into()))?;
    let policy = settings::load(
        pool,
        agent.workspace_id,
        engines.settings.confidence_threshold,
    )
    .await
    .map_err(internal)?;
    let since_reply = since_last_reply(&events);
    let message = Message {
        workspace_id: agent.workspace_id,
        text: question.clone(),
        page_url: None,
        attributes: Default::default(),
        unhelpful_in_a_row: 0,
        at: Some(chrono::Utc::now()),
        history: earlier_questions(&events, since_reply),
        parts: Vec::new(),
    };
    let decided = policy::decide(pool, &engines.embedder, &policy, &message)
        .await
        .map_err(internal)?;
    // A suggestion is written whatever the handoff policy decided (a person
    // asked for, a sensitive topic): the agent reads it before sending.
    let given = &decided.ranked[..decided.ranked.len().min(answer::GIVEN)];
    if given.is_empty() {
        return Err(DeskError::Invalid(
            "Nothing in the knowledge matches this conversation; write the reply yourself.".into(),
        ));
    }
    let sources = generate::sources(given);
    let generator = answer::generator(
        &policy.generator,
        &engines.outbound,
        std::time::Duration::ZERO,
    );
    let (out, _pieces) = tokio::sync::mpsc::unbounded_channel();
    let text = generator
        .generate(&question, &sources, &out)
        .await
        .map_err(|err| {
            tracing::warn!(error = %err, detail = err.detail(), "a suggestion failed");
            DeskError::Invalid(format!("The AI could not write a suggestion: {err}"))
        })?;
    let grounded = generate::ground(&text, &sources).ok_or_else(|| {
        DeskError::Invalid(
            "The AI's suggestion cited none of the knowledge; write the reply yourself.".into(),
        )
    })?;
    Ok(Suggestion {
        text: grounded.text,
        citations: grounded.citations,
        confidence: decided.decision.confidence.value(),
        question,
    })
}

pub async fn team_admin(engines: &Engines, admin: &SignedIn) -> Result<TeamAdmin, DeskError> {
    let directory = directory(engines, admin).await?;
    let invitations: Vec<(Uuid, String, String, chrono::DateTime<chrono::Utc>, bool)> =
        sqlx::query_as(
            "select invitation_id, email, role, expires_at, emailed from invitation
              where workspace_id = $1 and accepted_at is null and revoked_at is null
                and expires_at > now()
              order by created_at desc",
        )
        .bind(admin.workspace_id)
        .fetch_all(engines.pool.ws(admin.workspace_id))
        .await
        .map_err(internal)?;
    let mut tx = crate::desk::begin(engines, admin).await?;
    let settings = assign::settings(&mut tx, admin.workspace_id)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(TeamAdmin {
        directory,
        invitations: invitations
            .into_iter()
            .map(
                |(invitation_id, email, role, expires_at, emailed)| Invitation {
                    invitation_id,
                    email,
                    role,
                    expires_at,
                    emailed,
                },
            )
            .collect(),
        settings,
        email_invitations: engines.mail.enabled(),
    })
}

fn check_role(role: &str) -> Result<(), DeskError> {
    if role == "admin" || role == "agent" {
        Ok(())
    } else {
        Err(DeskError::Invalid("A role is admin or agent.".into()))
    }
}

/// Invitations a workspace, and an admin across their workspaces, may make
/// a day (each may be an email to anyone); revoked ones count.
const INVITATIONS_PER_DAY: i64 = 100;

/// Invites someone to the workspace: by email when email is set up (the
/// link is then theirs alone: the admin cannot accept it for an address
/// they do not own, nor learn whether it has an account), else the link's
/// path for the admin to hand over.
pub async fn invite(
    engines: &Engines,
    admin: &SignedIn,
    email: &str,
    role: &str,
) -> Result<Invited, DeskError> {
    check_role(role)?;
    let email = crate::thread::actions::email_address(email)
        .ok_or_else(|| DeskError::Invalid("That does not look like an email address.".into()))?;
    // The checks and the insert under the workspace's and the admin's
    // locks: parallel requests count one by one.
    let mut tx = engines
        .pool
        .ws(admin.workspace_id)
        .begin()
        .await
        .map_err(internal)?;
    sqlx::query(
        "select pg_advisory_xact_lock(hashtext('invite:' || $1::text)),
                pg_advisory_xact_lock(hashtext('inviter:' || $2::text))",
    )
    .bind(admin.workspace_id)
    .bind(admin.profile.account_id)
    .execute(&mut *tx)
    .await
    .map_err(internal)?;
    let (member, pending, today): (bool, bool, i64) = sqlx::query_as(
        "select exists(select 1 from membership m join account a using (account_id)
                        where m.workspace_id = $1 and lower(a.email) = lower($2)),
                exists(select 1 from invitation
                        where workspace_id = $1 and lower(email) = lower($2) and accepted_at is null
                          and revoked_at is null and expires_at > now()),
                (select count(*) from invitation
                  where workspace_id = $1 and created_at > now() - interval '1 day')",
    )
    .bind(admin.workspace_id)
    .bind(&email)
    .fetch_one(&mut *tx)
    .await
    .map_err(internal)?;
    if member {
        return Err(DeskError::Invalid(format!(
            "{email} is already on the team."
        )));
    }
    if pending {
        return Err(DeskError::Invalid(format!(
            "An invitation to {email} is pending already; revoke it to make a new one."
        )));
    }
    // The admin's own across every workspace (a new workspace is no new
    // allowance).
    let theirs: i64 = sqlx::query_scalar(
        "select count(*) from invitation where invited_by = $1 and created_at > now() - interval '1 day'",
    )
    .bind(admin.profile.account_id)
    .fetch_one(engines.system.pool())
    .await
    .map_err(internal)?;
    if today.max(theirs) >= INVITATIONS_PER_DAY {
        return Err(DeskError::Invalid(format!(
            "This workspace made {INVITATIONS_PER_DAY} invitations today; try again tomorrow."
        )));
    }
    let emailed = engines.mail.enabled();
    let (invitation_id, token) = auth::invite(
        &mut tx,
        admin.workspace_id,
        &email,
        role,
        admin.profile.account_id,
        emailed,
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    tracing::info!(workspace.id = %admin.workspace_id, agent.id = %admin.profile.account_id, emailed, "invitation created");
    if !emailed {
        return Ok(Invited::Link(format!("/invite/{token}")));
    }
    let link = format!(
        "{}/invite/{token}",
        engines.public_url.trim_end_matches('/')
    );
    let (subject, body) = crate::mail::invitation(
        &admin.profile.name,
        &admin.profile.workspace_name,
        role,
        &link,
    );
    match engines.mail.send_now(&email, &subject, body).await {
        Ok(()) => Ok(Invited::Emailed(email)),
        Err(err) => {
            tracing::warn!(workspace.id = %admin.workspace_id, error = %err, "invitation email not sent");
            auth::revoke_invitation(&engines.pool, admin.workspace_id, invitation_id)
                .await
                .map_err(internal)?;
            Err(DeskError::Invalid(format!(
                "The email to {email} could not be sent, so there is no invitation. \
                 Check the mail relay (TANDEM_SMTP_URL) and try again."
            )))
        }
    }
}

/// Withdraws a pending invitation of the admin's workspace.
pub async fn revoke_invitation(
    engines: &Engines,
    admin: &SignedIn,
    invitation_id: Uuid,
) -> Result<(), DeskError> {
    if !auth::revoke_invitation(&engines.pool, admin.workspace_id, invitation_id)
        .await
        .map_err(internal)?
    {
        return Err(DeskError::NotFound);
    }
    tracing::info!(workspace.id = %admin.workspace_id, agent.id = %admin.profile.account_id, "invitation revoked");
    Ok(())
}

pub async fn save_member(
    engines: &Engines,
    admin: &SignedIn,
    account_id: Uuid,
    role: &str,
    teams: Vec<String>,
    max_open: Option<i32>,
) -> Result<(), DeskError> {
    check_role(role)?;
    if max_open.is_some_and(|m| !(1..=500).contains(&m)) {
        return Err(DeskError::Invalid("A cap is between 1 and 500.".into()));
    }
    let mut teams: Vec<String> = teams.iter().map(|t| t.trim().to_lowercase()).collect();
    teams.sort();
    teams.dedup();
    let mut tx = crate::desk::begin(engines, admin).await?;
    if role != "admin" {
        // The admins are locked while counted: two admins demoting each
        // other at once cannot leave none.
        let admins_left: i64 = sqlx::query_scalar(
            "select count(*) from (select 1 from membership
                where workspace_id = $1 and role = 'admin' and account_id <> $2 for update) admins",
        )
        .bind(admin.workspace_id)
        .bind(account_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(internal)?;
        if admins_left == 0 {
            return Err(DeskError::Invalid(
                "A workspace keeps at least one admin.".into(),
            ));
        }
    }
    let updated = sqlx::query(
        "update membership set role = $3, max_open = $4 where workspace_id = $1 and account_id = $2",
    )
    .bind(admin.workspace_id)
    .bind(account_id)
    .bind(role)
    .bind(max_open)
    .execute(&mut *tx)
    .await
    .map_err(internal)?;
    if updated.rows_affected() == 0 {
        return Err(DeskError::NotFound);
    }
    sqlx::query(
        "delete from team_member where account_id = $2
           and team_id in (select team_id from team where workspace_id = $1)",
    )
    .bind(admin.workspace_id)
    .bind(account_id)
    .execute(&mut *tx)
    .await
    .map_err(internal)?;
    let joined = sqlx::query(
        "insert into team_member (team_id, account_id)
         select team_id, $2 from team where workspace_id = $1 and lower(name) = any($3)",
    )
    .bind(admin.workspace_id)
    .bind(account_id)
    .bind(&teams)
    .execute(&mut *tx)
    .await
    .map_err(internal)?;
    if joined.rows_affected() as usize != teams.len() {
        return Err(DeskError::Invalid(
            "One of those teams does not exist.".into(),
        ));
    }
    tx.commit().await.map_err(internal)
}

pub async fn remove_member(
    engines: &Engines,
    admin: &SignedIn,
    account_id: Uuid,
) -> Result<(), DeskError> {
    if account_id == admin.profile.account_id {
        return Err(DeskError::Invalid("You cannot remove yourself.".into()));
    }
    let mut tx = crate::desk::begin(engines, admin).await?;
    let removed = sqlx::query("delete from membership where workspace_id = $1 and account_id = $2")
        .bind(admin.workspace_id)
        .bind(account_id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    if removed.rows_affected() == 0 {
        return Err(DeskError::NotFound);
    }
    // Their conversations go back to the queue (resolved ones keep nobody).
    let returned: Vec<Uuid> = sqlx::query_scalar(
        "update conversation set assignee_id = null,
            status = case when status = 'open' then 'waiting_human' else status end
          where workspace_id = $1 and assignee_id = $2
          returning conversation_id",
    )
    .bind(admin.workspace_id)
    .bind(account_id)
    .fetch_all(&mut *tx)
    .await
    .map_err(internal)?;
    for conversation_id in &returned {
        store::notify(
            &mut tx,
            Change::Stored,
            admin.workspace_id,
            *conversation_id,
        )
        .await
        .map_err(internal)?;
    }
    // Out of this workspace's teams, and off its conversations' viewers.
    for leave in [
        "delete from team_member where account_id = $2
           and team_id in (select team_id from team where workspace_id = $1)",
        "delete from viewer where account_id = $2
           and conversation_id in (select conversation_id from conversation where workspace_id = $1)",
    ] {
        sqlx::query(leave)
            .bind(admin.workspace_id)
            .bind(account_id)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
    }
    // Every session of theirs ends, whichever workspace it looked at: their
    // sockets here close on their next heartbeat, and they sign in again.
    sqlx::query("delete from session where account_id = $1")
        .bind(account_id)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    tracing::info!(workspace.id = %admin.workspace_id, agent.id = %admin.profile.account_id, removed = %account_id, "member removed");
    Ok(())
}

pub async fn add_team(engines: &Engines, admin: &SignedIn, name: &str) -> Result<(), DeskError> {
    let name = app::types::text::plain_name(name, 60).ok_or_else(|| {
        DeskError::Invalid(
            "A team's name is 1 to 60 characters, without control characters.".into(),
        )
    })?;
    let added = sqlx::query(
        "insert into team (team_id, workspace_id, name) values ($1, $2, $3) on conflict do nothing",
    )
    .bind(Uuid::new_v4())
    .bind(admin.workspace_id)
    .bind(name)
    .execute(engines.pool.ws(admin.workspace_id))
    .await
    .map_err(internal)?;
    if added.rows_affected() == 0 {
        return Err(DeskError::Invalid(format!(
            "There is already a team \u{201c}{name}\u{201d}."
        )));
    }
    Ok(())
}

pub async fn delete_team(engines: &Engines, admin: &SignedIn, name: &str) -> Result<(), DeskError> {
    sqlx::query("delete from team where workspace_id = $1 and lower(name) = lower($2)")
        .bind(admin.workspace_id)
        .bind(name.trim())
        .execute(engines.pool.ws(admin.workspace_id))
        .await
        .map_err(internal)?;
    Ok(())
}

pub async fn save_canned(
    engines: &Engines,
    admin: &SignedIn,
    id: Option<Uuid>,
    shortcut: &str,
    body: &str,
) -> Result<Uuid, DeskError> {
    let shortcut = shortcut.trim().trim_start_matches('/').to_lowercase();
    if !valid_shortcut(&shortcut) {
        return Err(DeskError::Invalid(
            "A shortcut is lower-case letters, digits and dashes (at most 40).".into(),
        ));
    }
    let body =
        app::types::MessageBody::parse(body).map_err(|e| DeskError::Invalid(e.to_string()))?;
    // An id is an edit of this workspace's own reply (another's, or none,
    // is missing alike); no id, a new one.
    let (id, sql) = match id {
        Some(id) => (
            id,
            "update canned_reply set shortcut = $3, body = $4, updated_at = now()
              where canned_id = $1 and workspace_id = $2",
        ),
        None => (
            Uuid::new_v4(),
            "insert into canned_reply (canned_id, workspace_id, shortcut, body) values ($1, $2, $3, $4)",
        ),
    };
    let saved = sqlx::query(sql)
        .bind(id)
        .bind(admin.workspace_id)
        .bind(&shortcut)
        .bind(body.as_str())
        .execute(engines.pool.ws(admin.workspace_id))
        .await;
    match saved {
        Ok(done) if done.rows_affected() == 1 => Ok(id),
        Ok(_) => Err(DeskError::NotFound),
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Err(DeskError::Invalid(
            format!("There is already a canned reply /{shortcut}."),
        )),
        Err(err) => Err(internal(err)),
    }
}

pub async fn delete_canned(engines: &Engines, admin: &SignedIn, id: Uuid) -> Result<(), DeskError> {
    sqlx::query("delete from canned_reply where canned_id = $1 and workspace_id = $2")
        .bind(id)
        .bind(admin.workspace_id)
        .execute(engines.pool.ws(admin.workspace_id))
        .await
        .map_err(internal)?;
    Ok(())
}

pub async fn save_settings(
    engines: &Engines,
    admin: &SignedIn,
    settings: InboxSettings,
) -> Result<(), DeskError> {
    if !(1..=1440).contains(&settings.max_wait_minutes) {
        return Err(DeskError::Invalid(
            "The maximum wait is between 1 and 1440 minutes.".into(),
        ));
    }
    if !(1..=1440).contains(&settings.remind_after_minutes) {
        return Err(DeskError::Invalid(
            "Reminders come after 1 to 1440 minutes.".into(),
        ));
    }
    let mut tx = crate::desk::begin(engines, admin).await?;
    assign::save_settings(&mut tx, admin.workspace_id, &settings)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_filter_names_triggers() {
        for reason in app::types::inbox::REASONS {
            assert!(triggers(reason).is_some(), "{reason}");
        }
        assert!(triggers("nope").is_none());
    }

    #[test]
    fn search_words_are_taken_literally() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn tags_are_plain() {
        assert_eq!(clean_tag("  Billing ").unwrap(), "billing");
        assert!(clean_tag("").is_err());
        assert!(clean_tag("a,b").is_err());
    }
}
