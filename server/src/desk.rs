//! The UI's server functions, implemented over the engines.

mod inbox;
mod knowledge;
mod policy;
mod review;

use app::desk::{SignedIn, SupportDesk};
use app::error::DeskError;
use app::types::inbox::{
    Directory, InboxSettings, InvitationView, Invited, ListFilter, Suggestion, TeamAdmin,
    WorkspaceChoice,
};
use app::types::policy::{Policy, Replay};
use app::types::privacy::{Erased, PrivacyView};
use app::types::review::{Dashboard, FixView, Retest, ReviewOverview, TopicDetail};
use app::types::setup::{InstallState, NewAdmin, NewWorkspace};
use app::types::widget::{Expectation, Identity, WidgetAdmin, WidgetLook};
use app::types::{
    AgentProfile, ConversationDetails, ConversationStatus, ConversationSummary, ConversationView,
    HandoffReason, Queue, QueueCounts,
};
use app::widget::WidgetSettings;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::db::Scope;
use crate::thread::store;
use crate::{auth, widget, Engines};

/// Why a chat frame or socket is refused on a site not on the list.
pub const NOT_ALLOWED_HERE: &str = "This chat is not enabled on this website.";
/// Why a visitor whose identity does not check out is refused.
pub const IDENTITY_REFUSED: &str =
    "This chat could not verify who you are. Please reload the page or sign in again.";

/// A new password: 10 to 200 characters.
fn check_new_password(password: &str) -> Result<(), DeskError> {
    let n = password.chars().count();
    if !(10..=200).contains(&n) {
        return Err(DeskError::Invalid(
            "A password is 10 to 200 characters.".into(),
        ));
    }
    Ok(())
}

pub struct EngineDesk {
    pub engines: Engines,
}

fn setup_error(err: crate::setup::SetupError) -> DeskError {
    match err {
        crate::setup::SetupError::Database(err) => internal(err),
        other => DeskError::Invalid(other.to_string()),
    }
}

/// Logs an internal error once, here at the edge, and hides it from the user.
pub(crate) fn internal(err: impl std::fmt::Display) -> DeskError {
    tracing::error!(error = %err, "server function failed");
    DeskError::Internal
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
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
    fn into_summary(self) -> ConversationSummary {
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

const SUMMARY_SELECT: &str = "select c.conversation_id, c.status, c.handoff_reason, c.escalated_at, c.updated_at,
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

/// A conversation of the agent's workspace: its list row and its whole log.
pub async fn thread_of(
    pool: &sqlx::PgPool,
    agent: &SignedIn,
    id: Uuid,
) -> Result<(ConversationSummary, Vec<app::types::ThreadEvent>), DeskError> {
    let summary = summary(pool, agent.workspace_id, agent.profile.account_id, id)
        .await
        .map_err(internal)?
        .ok_or(DeskError::NotFound)?;
    let events = store::events_after(pool.ws(agent.workspace_id), id, 0, 10_000)
        .await
        .map_err(internal)?;
    Ok((summary, events))
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
fn queue_sql(queue: Queue) -> (&'static str, &'static str) {
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

#[async_trait::async_trait]
impl SupportDesk for EngineDesk {
    async fn login(
        &self,
        email: &str,
        password: &str,
        address: Option<std::net::IpAddr>,
    ) -> Result<String, DeskError> {
        let pool = &self.engines.pool;
        if !auth::attempt(pool, email, address)
            .await
            .map_err(internal)?
        {
            // No address or email in the log (they are personal data): the event.
            tracing::warn!("sign-in throttled");
            return Err(DeskError::TooManyAttempts);
        }
        match auth::check_credentials(pool, email, password)
            .await
            .map_err(internal)?
        {
            Some(account_id) => {
                auth::succeeded(pool, email, address)
                    .await
                    .map_err(internal)?;
                auth::create_session(pool, account_id)
                    .await
                    .map_err(internal)
            }
            None => Err(DeskError::BadCredentials),
        }
    }

    async fn logout(&self, session_token: &str) -> Result<(), DeskError> {
        let pool = &self.engines.pool;
        if let Some(agent) = auth::session_agent(&self.engines.system, session_token)
            .await
            .map_err(internal)?
        {
            crate::presence::signed_out(&self.engines.system, agent.account_id)
                .await
                .map_err(internal)?;
        }
        auth::end_session(pool, session_token)
            .await
            .map_err(internal)
    }

    async fn change_password(
        &self,
        agent: &SignedIn,
        session_token: &str,
        current: &str,
        new: &str,
        address: Option<std::net::IpAddr>,
    ) -> Result<(), DeskError> {
        check_new_password(new)?;
        // As throttled as a sign-in: a session left open is not a way to
        // guess the password.
        let pool = &self.engines.pool;
        if !auth::attempt(pool, &agent.profile.email, address)
            .await
            .map_err(internal)?
        {
            return Err(DeskError::TooManyAttempts);
        }
        if auth::change_password(
            &self.engines.pool,
            agent.profile.account_id,
            session_token,
            current,
            new,
        )
        .await
        .map_err(internal)?
        {
            auth::succeeded(pool, &agent.profile.email, address)
                .await
                .map_err(internal)?;
            tracing::info!(agent.id = %agent.profile.account_id, "password changed");
            Ok(())
        } else {
            Err(DeskError::Invalid(
                "Your current password is not right.".into(),
            ))
        }
    }

    async fn invitation(&self, token: &str) -> Result<InvitationView, DeskError> {
        let invitation = auth::invitation(&self.engines.system, token)
            .await
            .map_err(internal)?
            .ok_or_else(|| DeskError::Invalid(auth::AcceptError::Invalid.to_string()))?;
        Ok(InvitationView {
            email: invitation.email,
            workspace_name: invitation.workspace_name,
            role: invitation.role,
        })
    }

    async fn accept_invitation(
        &self,
        token: &str,
        name: &str,
        password: &str,
    ) -> Result<String, DeskError> {
        let name = app::types::text::plain_name(name, 80).ok_or_else(|| {
            DeskError::Invalid(
                "Your name is 1 to 80 characters, without control characters.".into(),
            )
        })?;
        check_new_password(password)?;
        let pool = &self.engines.pool;
        // The password of an existing account is checked here too: as
        // throttled as a sign-in.
        let email = auth::invitation(&self.engines.system, token)
            .await
            .map_err(internal)?
            .map(|invitation| invitation.email)
            .ok_or_else(|| DeskError::Invalid(auth::AcceptError::Invalid.to_string()))?;
        if !auth::attempt(pool, &email, None).await.map_err(internal)? {
            return Err(DeskError::TooManyAttempts);
        }
        let (account_id, workspace_id) =
            auth::accept_invitation(pool, &self.engines.system, token, name, password)
                .await
                .map_err(|err| match err {
                    auth::AcceptError::Db(err) => internal(err),
                    other => DeskError::Invalid(other.to_string()),
                })?;
        auth::succeeded(pool, &email, None)
            .await
            .map_err(internal)?;
        tracing::info!(agent.id = %account_id, workspace.id = %workspace_id, "invitation accepted");
        auth::create_session_in(pool, account_id, Some(workspace_id))
            .await
            .map_err(internal)
    }

    async fn install_state(&self, code: Option<&str>) -> Result<InstallState, DeskError> {
        let owner = self.engines.system.pool();
        let setup_pending = crate::setup::pending(owner).await.map_err(internal)?;
        let code_valid = match code {
            Some(code) if setup_pending => crate::setup::code_is_valid(owner, code)
                .await
                .map_err(internal)?,
            _ => false,
        };
        Ok(InstallState {
            setup_pending,
            code_valid,
            demo: self.engines.demo,
        })
    }

    async fn complete_setup(
        &self,
        code: &str,
        workspace: NewWorkspace,
        admin: NewAdmin,
    ) -> Result<String, DeskError> {
        // Every problem of the page at once: the workspace's, then yours.
        let admin_problems = crate::setup::Admin::New(&admin).problems();
        let spec = match crate::setup::WorkspaceSpec::parse(&workspace) {
            Ok(spec) if admin_problems.is_empty() => spec,
            Ok(_) => return Err(DeskError::Invalid(admin_problems.join("\n"))),
            Err(crate::setup::SetupError::Invalid(text)) => {
                let all: Vec<&str> = std::iter::once(text.as_str())
                    .chain(admin_problems.iter().copied())
                    .collect();
                return Err(DeskError::Invalid(all.join("\n")));
            }
            Err(err) => return Err(setup_error(err)),
        };
        let created = crate::setup::create(
            self.engines.system.pool(),
            &spec,
            crate::setup::Admin::New(&admin),
            Some(code),
        )
        .await
        .map_err(setup_error)?;
        auth::create_session_in(
            &self.engines.pool,
            created.account_id,
            Some(created.workspace_id),
        )
        .await
        .map_err(internal)
    }

    async fn create_workspace(
        &self,
        admin: &SignedIn,
        session_token: &str,
        workspace: NewWorkspace,
    ) -> Result<(), DeskError> {
        let spec = crate::setup::WorkspaceSpec::parse(&workspace).map_err(setup_error)?;
        // A few a day (each is a crawl): counted in `create`.
        let created = crate::setup::create(
            self.engines.system.pool(),
            &spec,
            crate::setup::Admin::Creator(admin.profile.account_id),
            None,
        )
        .await
        .map_err(setup_error)?;
        auth::switch_workspace(&self.engines.pool, session_token, created.workspace_id)
            .await
            .map_err(internal)?;
        Ok(())
    }

    async fn workspaces(&self, agent: &SignedIn) -> Result<Vec<WorkspaceChoice>, DeskError> {
        // The account's own memberships, in every workspace.
        let rows: Vec<(Uuid, String, String, String)> = sqlx::query_as(
            "select w.workspace_id, w.name, w.slug, m.role from membership m join workspace w using (workspace_id)
              where m.account_id = $1 order by m.created_at",
        )
        .bind(agent.profile.account_id)
        .fetch_all(self.engines.system.pool())
        .await
        .map_err(internal)?;
        Ok(rows
            .into_iter()
            .map(|(workspace_id, name, slug, role)| WorkspaceChoice {
                current: workspace_id == agent.workspace_id,
                workspace_id,
                name,
                slug,
                role,
            })
            .collect())
    }

    async fn switch_workspace(
        &self,
        session_token: &str,
        workspace_id: Uuid,
    ) -> Result<(), DeskError> {
        if auth::switch_workspace(&self.engines.pool, session_token, workspace_id)
            .await
            .map_err(internal)?
        {
            Ok(())
        } else {
            Err(DeskError::NotFound)
        }
    }

    async fn signed_in(&self, session_token: &str) -> Result<SignedIn, DeskError> {
        let agent = auth::session_agent(&self.engines.system, session_token)
            .await
            .map_err(internal)?
            .ok_or(DeskError::NotSignedIn)?;
        Ok(SignedIn {
            workspace_id: agent.workspace_id,
            profile: AgentProfile {
                account_id: agent.account_id,
                name: agent.name,
                email: agent.email,
                workspace_slug: agent.workspace_slug,
                workspace_name: agent.workspace_name,
                role: agent.role,
                away: agent.away,
            },
        })
    }

    async fn conversations(
        &self,
        agent: &SignedIn,
        filter: ListFilter,
    ) -> Result<Vec<ConversationSummary>, DeskError> {
        inbox::conversations(&self.engines, agent, filter).await
    }

    async fn directory(&self, agent: &SignedIn) -> Result<Directory, DeskError> {
        inbox::directory(&self.engines, agent).await
    }

    async fn set_tags(
        &self,
        agent: &SignedIn,
        id: Uuid,
        tags: Vec<String>,
    ) -> Result<Vec<String>, DeskError> {
        inbox::set_tags(&self.engines, agent, id, tags).await
    }

    async fn suggest_reply(&self, agent: &SignedIn, id: Uuid) -> Result<Suggestion, DeskError> {
        inbox::suggest_reply(&self.engines, agent, id).await
    }

    async fn team_admin(&self, admin: &SignedIn) -> Result<TeamAdmin, DeskError> {
        inbox::team_admin(&self.engines, admin).await
    }

    async fn invite(
        &self,
        admin: &SignedIn,
        email: &str,
        role: &str,
    ) -> Result<Invited, DeskError> {
        inbox::invite(&self.engines, admin, email, role).await
    }

    async fn revoke_invitation(
        &self,
        admin: &SignedIn,
        invitation_id: Uuid,
    ) -> Result<(), DeskError> {
        inbox::revoke_invitation(&self.engines, admin, invitation_id).await
    }

    async fn save_member(
        &self,
        admin: &SignedIn,
        account_id: Uuid,
        role: &str,
        teams: Vec<String>,
        max_open: Option<i32>,
    ) -> Result<(), DeskError> {
        inbox::save_member(&self.engines, admin, account_id, role, teams, max_open).await
    }

    async fn remove_member(&self, admin: &SignedIn, account_id: Uuid) -> Result<(), DeskError> {
        inbox::remove_member(&self.engines, admin, account_id).await
    }

    async fn add_team(&self, admin: &SignedIn, name: &str) -> Result<(), DeskError> {
        inbox::add_team(&self.engines, admin, name).await
    }

    async fn delete_team(&self, admin: &SignedIn, name: &str) -> Result<(), DeskError> {
        inbox::delete_team(&self.engines, admin, name).await
    }

    async fn save_canned(
        &self,
        admin: &SignedIn,
        id: Option<Uuid>,
        shortcut: &str,
        body: &str,
    ) -> Result<Uuid, DeskError> {
        inbox::save_canned(&self.engines, admin, id, shortcut, body).await
    }

    async fn delete_canned(&self, admin: &SignedIn, id: Uuid) -> Result<(), DeskError> {
        inbox::delete_canned(&self.engines, admin, id).await
    }

    async fn save_inbox_settings(
        &self,
        admin: &SignedIn,
        settings: InboxSettings,
    ) -> Result<(), DeskError> {
        inbox::save_settings(&self.engines, admin, settings).await
    }

    async fn conversation(
        &self,
        agent: &SignedIn,
        id: Uuid,
    ) -> Result<ConversationView, DeskError> {
        let (summary, events) = thread_of(&self.engines.pool, agent, id).await?;
        let db = self.engines.pool.ws(agent.workspace_id);
        // What the AI detected on the latest message it weighed.
        let (page_url, language, email, priority, written): (Option<String>, Option<String>, Option<String>, String, Option<String>) =
            sqlx::query_as(
                "select c.page_url, c.language, coalesce(c.follow_up_email, v.email), c.priority,
                        (select d.record->'signals'->>'language' from decision d
                          where d.conversation_id = c.conversation_id
                            and d.record->'signals'->>'language' is not null
                          order by d.created_at desc limit 1)
                   from conversation c join visitor v using (visitor_id) where c.conversation_id = $1",
            )
            .bind(id)
            .fetch_one(db)
            .await
            .map_err(internal)?;
        // The visitor's own words tell best: their latest message long
        // enough to tell, else what the AI detected, else the widget's.
        let own = events.iter().rev().find_map(|e| match &e.body {
            app::types::EventBody::VisitorMessage { text } => crate::lang::Language::detect(text),
            _ => None,
        });
        let details = ConversationDetails {
            page_url,
            language: own
                .map(|l| l.code())
                .or(written.as_deref())
                .and_then(crate::lang::name_of_code)
                .map(|name| format!("writes in {name}"))
                .or_else(|| {
                    language
                        .as_deref()
                        .and_then(app::types::widget::Language::parse)
                        .map(|l| l.name().to_owned())
                }),
            email,
            priority,
        };
        Ok(ConversationView {
            summary,
            events,
            details,
        })
    }

    async fn widget_settings(
        &self,
        workspace_slug: &str,
        host: Option<String>,
        tandem_host: Option<String>,
        identity: Option<Identity>,
        accept_language: Option<String>,
    ) -> Result<WidgetSettings, DeskError> {
        let row = widget::by_slug(&self.engines.pool, workspace_slug)
            .await
            .map_err(internal)?
            .ok_or_else(|| {
                DeskError::Invalid("This chat is not set up (unknown workspace).".into())
            })?;
        if !row.allows_page(host.as_deref(), tandem_host.as_deref()) {
            return Err(DeskError::Invalid(NOT_ALLOWED_HERE.into()));
        }
        if let Some(identity) = &identity {
            if let Err(err) = widget::verify(&row.identity_secret, identity) {
                tracing::warn!(error = %err, workspace = workspace_slug, "widget: identity refused");
                return Err(DeskError::Invalid(IDENTITY_REFUSED.into()));
            }
        }
        let language = row.language(accept_language.as_deref());
        Ok(WidgetSettings {
            workspace_slug: workspace_slug.to_owned(),
            greeting: row.greeting(language),
            workspace_name: row.workspace_name.clone(),
            brand_color: row.brand_color.clone(),
            language,
        })
    }

    async fn expectation(&self, workspace_slug: &str) -> Result<Expectation, DeskError> {
        let pool = &self.engines.pool;
        let id: Option<Uuid> =
            sqlx::query_scalar("select workspace_id from workspace where slug = $1")
                .bind(workspace_slug)
                .fetch_optional(pool)
                .await
                .map_err(internal)?;
        let id = id.ok_or_else(|| DeskError::Invalid("Unknown workspace.".into()))?;
        widget::expectation(pool, id).await.map_err(internal)
    }

    async fn widget_admin(&self, admin: &SignedIn) -> Result<WidgetAdmin, DeskError> {
        let row = widget::settings(&self.engines.pool, admin.workspace_id)
            .await
            .map_err(internal)?;
        Ok(WidgetAdmin {
            look: row.look(),
            workspace_slug: admin.profile.workspace_slug.clone(),
            workspace_name: admin.profile.workspace_name.clone(),
            identity_secret: row.identity_secret,
        })
    }

    async fn save_widget(&self, admin: &SignedIn, look: WidgetLook) -> Result<(), DeskError> {
        match widget::save(&self.engines.pool, admin.workspace_id, look).await {
            Ok(()) => {
                tracing::info!(workspace.id = %admin.workspace_id, agent.id = %admin.profile.account_id, "widget settings saved");
                Ok(())
            }
            Err(widget::SaveError::Invalid(why)) => Err(DeskError::Invalid(why)),
            Err(widget::SaveError::Db(err)) => Err(internal(err)),
        }
    }

    async fn rotate_identity_secret(&self, admin: &SignedIn) -> Result<String, DeskError> {
        let secret = widget::rotate_secret(&self.engines.pool, admin.workspace_id)
            .await
            .map_err(internal)?;
        tracing::info!(workspace.id = %admin.workspace_id, agent.id = %admin.profile.account_id, "identity secret rotated");
        Ok(secret)
    }

    async fn sources(
        &self,
        admin: &SignedIn,
    ) -> Result<Vec<app::knowledge::SourceView>, DeskError> {
        knowledge::sources(&self.engines, admin).await
    }

    async fn model_move(
        &self,
        admin: &SignedIn,
    ) -> Result<Option<app::knowledge::Reembedding>, DeskError> {
        knowledge::model_move(&self.engines, admin).await
    }

    async fn source_detail(
        &self,
        admin: &SignedIn,
        id: Uuid,
    ) -> Result<app::knowledge::SourceDetail, DeskError> {
        knowledge::source_detail(&self.engines, admin, id).await
    }

    async fn add_website(
        &self,
        admin: &SignedIn,
        website: app::knowledge::NewWebsite,
    ) -> Result<Uuid, DeskError> {
        knowledge::add_website(&self.engines, admin, website).await
    }

    async fn recrawl(&self, admin: &SignedIn, id: Uuid) -> Result<(), DeskError> {
        knowledge::recrawl(&self.engines, admin, id).await
    }

    async fn cancel_ingest(&self, admin: &SignedIn, id: Uuid) -> Result<(), DeskError> {
        knowledge::cancel(&self.engines, admin, id).await
    }

    async fn delete_source(&self, admin: &SignedIn, id: Uuid) -> Result<(), DeskError> {
        knowledge::delete_source(&self.engines, admin, id).await
    }

    async fn snippets(
        &self,
        admin: &SignedIn,
    ) -> Result<Vec<app::knowledge::SnippetView>, DeskError> {
        knowledge::snippet_list(&self.engines, admin).await
    }

    async fn save_snippet(
        &self,
        admin: &SignedIn,
        id: Option<Uuid>,
        question: String,
        answer: String,
    ) -> Result<Uuid, DeskError> {
        knowledge::save_snippet(&self.engines, admin, id, question, answer).await
    }

    async fn delete_snippet(&self, admin: &SignedIn, id: Uuid) -> Result<(), DeskError> {
        knowledge::delete_snippet(&self.engines, admin, id).await
    }

    async fn policy(&self, admin: &SignedIn) -> Result<Policy, DeskError> {
        policy::get(&self.engines, admin).await
    }

    async fn save_policy(&self, admin: &SignedIn, new: Policy) -> Result<(), DeskError> {
        policy::save(&self.engines, admin, new).await
    }

    async fn replay_policy(
        &self,
        admin: &SignedIn,
        candidate: Policy,
    ) -> Result<Replay, DeskError> {
        policy::replay(&self.engines, admin, candidate).await
    }

    async fn review(&self, admin: &SignedIn, days: u32) -> Result<ReviewOverview, DeskError> {
        review::overview(&self.engines, admin, days).await
    }

    async fn review_topic(
        &self,
        admin: &SignedIn,
        key: Uuid,
        days: u32,
    ) -> Result<TopicDetail, DeskError> {
        review::topic(&self.engines, admin, key, days).await
    }

    async fn fix_with_snippet(
        &self,
        admin: &SignedIn,
        key: Uuid,
        days: u32,
        question: String,
        answer: String,
    ) -> Result<FixView, DeskError> {
        review::fix_with_snippet(&self.engines, admin, key, days, question, answer).await
    }

    async fn fix_by_recrawl(
        &self,
        admin: &SignedIn,
        key: Uuid,
        days: u32,
        source_id: Uuid,
    ) -> Result<FixView, DeskError> {
        review::fix_by_recrawl(&self.engines, admin, key, days, source_id).await
    }

    async fn always_a_person(
        &self,
        admin: &SignedIn,
        key: Uuid,
        days: u32,
    ) -> Result<FixView, DeskError> {
        review::always_a_person(&self.engines, admin, key, days).await
    }

    async fn retest_topic(
        &self,
        admin: &SignedIn,
        key: Uuid,
        days: u32,
    ) -> Result<Retest, DeskError> {
        review::retest(&self.engines, admin, key, days).await
    }

    async fn dashboard(&self, admin: &SignedIn, days: u32) -> Result<Dashboard, DeskError> {
        review::dashboard(&self.engines, admin, days).await
    }

    async fn privacy(&self, admin: &SignedIn) -> Result<PrivacyView, DeskError> {
        let db = self.engines.pool.ws(admin.workspace_id);
        Ok(PrivacyView {
            retention_days: crate::privacy::retention(db).await.map_err(internal)?,
            audit: crate::privacy::audit_log(db, 200).await.map_err(internal)?,
        })
    }

    async fn save_retention(&self, admin: &SignedIn, days: Option<u32>) -> Result<(), DeskError> {
        app::types::privacy::check_retention(days).map_err(DeskError::Invalid)?;
        crate::privacy::save_retention(
            self.engines.pool.ws(admin.workspace_id),
            &actor(admin),
            days,
        )
        .await
        .map_err(internal)
    }

    async fn erase_visitor(
        &self,
        admin: &SignedIn,
        conversation_id: Uuid,
    ) -> Result<Erased, DeskError> {
        let erased = crate::privacy::erase_visitor(
            self.engines.pool.ws(admin.workspace_id),
            &actor(admin),
            conversation_id,
        )
        .await
        .map_err(internal)?
        .ok_or(DeskError::NotFound)?;
        tracing::info!(workspace.id = %admin.workspace_id, agent.id = %admin.profile.account_id, conversations = erased.conversations, "visitor erased");
        Ok(erased)
    }

    fn https(&self) -> bool {
        self.engines.https()
    }
}

/// A transaction in the signed-in agent's workspace.
pub(crate) async fn begin(
    engines: &Engines,
    agent: &SignedIn,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, DeskError> {
    engines
        .pool
        .ws(agent.workspace_id)
        .begin()
        .await
        .map_err(internal)
}

/// An admin as the audit log names them.
pub(crate) fn actor(admin: &SignedIn) -> crate::privacy::Actor {
    crate::privacy::Actor {
        id: Some(admin.profile.account_id),
        name: format!("{} <{}>", admin.profile.name, admin.profile.email),
    }
}
