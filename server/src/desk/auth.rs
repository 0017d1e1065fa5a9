//! Signing in and out, one's own account, invitations and the install's
//! first run: the server side of `app::auth`'s server functions.

use app::auth::AuthDesk;
use app::desk::{Admin, SignedIn};
use app::error::DeskError;
use app::types::inbox::{InvitationView, WorkspaceChoice};
use app::types::setup::{InstallState, NewAdmin, NewWorkspace};
use app::types::Role;
use uuid::Uuid;

use super::{internal, EngineDesk};
use crate::auth;

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

fn setup_error(err: crate::setup::SetupError) -> DeskError {
    match err {
        crate::setup::SetupError::Database(err) => internal(err),
        other => DeskError::Invalid(other.to_string()),
    }
}

#[async_trait::async_trait]
impl AuthDesk for EngineDesk {
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
            crate::thread::presence::signed_out(&self.engines.system, agent.account_id)
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
        rows.into_iter()
            .map(|(workspace_id, name, slug, role)| {
                Ok(WorkspaceChoice {
                    current: workspace_id == agent.workspace_id,
                    workspace_id,
                    name,
                    slug,
                    role: Role::parse(&role).map_err(internal)?,
                })
            })
            .collect()
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
        admin: &Admin,
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
}
