//! The privacy page's server functions (admins): retention, the audit log
//! and erasing a visitor.

use app::desk::Admin;
use app::error::DeskError;
use app::privacy::PrivacyDesk;
use app::types::privacy::{Erased, PrivacyView};
use uuid::Uuid;

use super::{actor, internal, EngineDesk};
use crate::db::Scope;

#[async_trait::async_trait]
impl PrivacyDesk for EngineDesk {
    async fn privacy(&self, admin: &Admin) -> Result<PrivacyView, DeskError> {
        let db = self.engines.pool.ws(admin.workspace_id);
        Ok(PrivacyView {
            retention_days: crate::privacy::retention(db).await.map_err(internal)?,
            audit: crate::privacy::audit_log(db, 200).await.map_err(internal)?,
        })
    }

    async fn save_retention(&self, admin: &Admin, days: Option<u32>) -> Result<(), DeskError> {
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
        admin: &Admin,
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
}
