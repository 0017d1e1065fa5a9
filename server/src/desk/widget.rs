//! The chat widget's server functions: its settings for a site and a
//! visitor, what a waiting visitor is told, and the admin's widget page.

use app::desk::Admin;
use app::error::DeskError;
use app::types::widget::{Expectation, Identity, WidgetAdmin, WidgetLook};
use app::widget::{WidgetDesk, WidgetSettings};

use super::{internal, EngineDesk};
use crate::widget::{self, IDENTITY_REFUSED, NOT_ALLOWED_HERE};

#[async_trait::async_trait]
impl WidgetDesk for EngineDesk {
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
        let id = crate::db::workspace_by_slug(pool, workspace_slug)
            .await
            .map_err(internal)?;
        let id = id.ok_or_else(|| DeskError::Invalid("Unknown workspace.".into()))?;
        widget::expectation(pool, id).await.map_err(internal)
    }

    async fn widget_admin(&self, admin: &Admin) -> Result<WidgetAdmin, DeskError> {
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

    async fn save_widget(&self, admin: &Admin, look: WidgetLook) -> Result<(), DeskError> {
        match widget::save(&self.engines.pool, admin.workspace_id, look).await {
            Ok(()) => {
                tracing::info!(workspace.id = %admin.workspace_id, agent.id = %admin.profile.account_id, "widget settings saved");
                Ok(())
            }
            Err(widget::SaveError::Invalid(why)) => Err(DeskError::Invalid(why)),
            Err(widget::SaveError::Db(err)) => Err(internal(err)),
        }
    }

    async fn rotate_identity_secret(&self, admin: &Admin) -> Result<String, DeskError> {
        let secret = widget::rotate_secret(&self.engines.pool, admin.workspace_id)
            .await
            .map_err(internal)?;
        tracing::info!(workspace.id = %admin.workspace_id, agent.id = %admin.profile.account_id, "identity secret rotated");
        Ok(secret)
    }
}
