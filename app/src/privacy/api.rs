//! Retention, the audit log and erasing a visitor (admins): the server functions, and what they need from the server
//! ([`PrivacyDesk`], implemented in `server/src/desk/privacy.rs`).

use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::desk::Admin;
use crate::error::DeskError;
use crate::types::privacy::{Erased, PrivacyView};

/// What this feature's server functions need from the server.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait PrivacyDesk: Send + Sync + 'static {
    async fn privacy(&self, admin: &Admin) -> Result<PrivacyView, DeskError>;
    async fn save_retention(&self, admin: &Admin, days: Option<u32>) -> Result<(), DeskError>;
    /// Erases the visitor of this conversation and all they wrote.
    async fn erase_visitor(
        &self,
        admin: &Admin,
        conversation_id: Uuid,
    ) -> Result<Erased, DeskError>;
}

#[server]
pub async fn load_privacy() -> Result<PrivacyView, DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn PrivacyDesk>().await?;
    desk.privacy(&admin).await
}

#[server]
pub async fn save_retention(days: Option<u32>) -> Result<(), DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn PrivacyDesk>().await?;
    desk.save_retention(&admin, days).await
}

#[server]
pub async fn erase_visitor(id: Uuid) -> Result<Erased, DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn PrivacyDesk>().await?;
    desk.erase_visitor(&admin, id).await
}
