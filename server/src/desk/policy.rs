//! The policy page's server functions: the workspace's policy (without its
//! model key), saving it, and replaying it over past decisions.

use app::desk::Admin;
use app::error::DeskError;
use app::policy::PolicyDesk;
use app::types::policy::{GeneratorSettings, Policy, Replay};

use super::{internal, EngineDesk};
use crate::policy::{replay, settings};

#[async_trait::async_trait]
impl PolicyDesk for EngineDesk {
    async fn policy(&self, admin: &Admin) -> Result<Policy, DeskError> {
        let engines = &self.engines;
        Ok(settings::redacted(
            super::saved_policy(engines, admin).await?,
        ))
    }

    async fn save_policy(&self, admin: &Admin, policy: Policy) -> Result<(), DeskError> {
        let engines = &self.engines;
        // A model endpoint this instance may not reach is refused now, not at
        // the first answer (names are checked again when they are resolved).
        if let GeneratorSettings::OpenAi { base_url, .. } = &policy.generator {
            let refused = url::Url::parse(base_url)
                .ok()
                .is_some_and(|url| engines.outbound.check(&url).is_err());
            if refused {
                return Err(DeskError::Invalid(format!(
                    "The model endpoint's {}.",
                    crate::outbound::NOT_ALLOWED
                )));
            }
        }
        settings::save(&engines.pool, admin.workspace_id, &policy)
            .await
            .map_err(|e| match e {
                settings::SaveError::Invalid(message) => DeskError::Invalid(message),
                settings::SaveError::Db(e) => internal(e),
            })?;
        tracing::info!(workspace.id = %admin.workspace_id, agent.id = %admin.profile.account_id, "policy saved");
        Ok(())
    }

    async fn replay_policy(&self, admin: &Admin, policy: Policy) -> Result<Replay, DeskError> {
        let engines = &self.engines;
        settings::validate(&policy).map_err(DeskError::Invalid)?;
        let current = super::saved_policy(engines, admin).await?;
        replay::replay(
            &engines.pool,
            &engines.embedder,
            admin.workspace_id,
            &current,
            &policy,
        )
        .await
        .map_err(internal)
    }
}
