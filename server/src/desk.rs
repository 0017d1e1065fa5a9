//! The server side of the UI's server functions: [`EngineDesk`] implements
//! each feature's trait (declared next to its server functions in
//! `app/src/<feature>/api.rs`), one file per feature here, and [`provide`]
//! gives them to the server functions as context.

mod auth;
mod inbox;
mod knowledge;
mod policy;
mod privacy;
mod review;
mod team;
mod widget;

use std::sync::Arc;

use app::desk::{Sessions, SignedIn};
use app::error::DeskError;
use app::types::AgentProfile;
use leptos::prelude::provide_context;

use crate::db::Scope;
use crate::Engines;

/// The server's engines, as every feature's server functions use them.
pub struct EngineDesk {
    pub engines: Engines,
}

/// Gives a request's server functions the desk of each feature.
pub fn provide(desk: &Arc<EngineDesk>) {
    provide_context::<Arc<dyn Sessions>>(desk.clone());
    provide_context::<Arc<dyn app::auth::AuthDesk>>(desk.clone());
    provide_context::<Arc<dyn app::inbox::InboxDesk>>(desk.clone());
    provide_context::<Arc<dyn app::team::TeamDesk>>(desk.clone());
    provide_context::<Arc<dyn app::widget::WidgetDesk>>(desk.clone());
    provide_context::<Arc<dyn app::knowledge::KnowledgeDesk>>(desk.clone());
    provide_context::<Arc<dyn app::policy::PolicyDesk>>(desk.clone());
    provide_context::<Arc<dyn app::review::ReviewDesk>>(desk.clone());
    provide_context::<Arc<dyn app::privacy::PrivacyDesk>>(desk.clone());
}

/// Logs an internal error once, here at the edge, and hides it from the user.
pub(crate) fn internal(err: impl std::fmt::Display) -> DeskError {
    tracing::error!(error = %err, "server function failed");
    DeskError::Internal
}

#[async_trait::async_trait]
impl Sessions for EngineDesk {
    async fn signed_in(&self, session_token: &str) -> Result<SignedIn, DeskError> {
        let agent = crate::auth::session_agent(&self.engines.system, session_token)
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

    fn https(&self) -> bool {
        self.engines.https()
    }
}

/// The workspace's saved policy, key included (server side only).
pub(crate) async fn saved_policy(
    engines: &Engines,
    agent: &SignedIn,
) -> Result<app::types::policy::Policy, DeskError> {
    crate::policy::settings::load(
        &engines.pool,
        agent.workspace_id,
        engines.settings.confidence_threshold,
    )
    .await
    .map_err(internal)
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
