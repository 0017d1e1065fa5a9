//! The team page: members, invitations, teams, canned replies and inbox settings (admins): the server functions, and what they need from the server
//! ([`TeamDesk`], implemented in `server/src/desk/team.rs`).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::desk::Admin;
use crate::error::DeskError;
use crate::types::inbox::{InboxSettings, Invited, TeamAdmin};

/// What this feature's server functions need from the server.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait TeamDesk: Send + Sync + 'static {
    async fn team_admin(&self, admin: &Admin) -> Result<TeamAdmin, DeskError>;
    /// Emails the invitation when email is set up; returns the link's path
    /// for the admin to hand over when it is not.
    async fn invite(&self, admin: &Admin, email: &str, role: &str) -> Result<Invited, DeskError>;
    /// Withdraws a pending invitation (its link stops working).
    async fn revoke_invitation(&self, admin: &Admin, invitation_id: Uuid) -> Result<(), DeskError>;
    async fn save_member(
        &self,
        admin: &Admin,
        account_id: Uuid,
        role: &str,
        teams: Vec<String>,
        max_open: Option<i32>,
    ) -> Result<(), DeskError>;
    async fn remove_member(&self, admin: &Admin, account_id: Uuid) -> Result<(), DeskError>;
    async fn add_team(&self, admin: &Admin, name: &str) -> Result<(), DeskError>;
    async fn delete_team(&self, admin: &Admin, name: &str) -> Result<(), DeskError>;
    async fn save_canned(
        &self,
        admin: &Admin,
        id: Option<Uuid>,
        shortcut: &str,
        body: &str,
    ) -> Result<Uuid, DeskError>;
    async fn delete_canned(&self, admin: &Admin, id: Uuid) -> Result<(), DeskError>;
    async fn save_inbox_settings(
        &self,
        admin: &Admin,
        settings: InboxSettings,
    ) -> Result<(), DeskError>;
}

#[server]
pub async fn get_team_admin() -> Result<TeamAdmin, DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn TeamDesk>().await?;
    desk.team_admin(&admin).await
}

#[server]
pub async fn invite_member(email: String, role: String) -> Result<Invited, DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn TeamDesk>().await?;
    desk.invite(&admin, &email, &role).await
}

#[server]
pub async fn revoke_invitation(invitation_id: Uuid) -> Result<(), DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn TeamDesk>().await?;
    desk.revoke_invitation(&admin, invitation_id).await
}

/// JSON: an empty team list must arrive as one.
#[server(input = Json)]
pub async fn save_member(
    account_id: Uuid,
    role: String,
    teams: Vec<String>,
    max_open: Option<i32>,
) -> Result<(), DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn TeamDesk>().await?;
    desk.save_member(&admin, account_id, &role, teams, max_open)
        .await
}

#[server]
pub async fn remove_member(account_id: Uuid) -> Result<(), DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn TeamDesk>().await?;
    desk.remove_member(&admin, account_id).await
}

#[server]
pub async fn add_team(name: String) -> Result<(), DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn TeamDesk>().await?;
    desk.add_team(&admin, &name).await
}

#[server]
pub async fn delete_team(name: String) -> Result<(), DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn TeamDesk>().await?;
    desk.delete_team(&admin, &name).await
}

#[server]
pub async fn save_canned(
    id: Option<Uuid>,
    shortcut: String,
    body: String,
) -> Result<Uuid, DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn TeamDesk>().await?;
    desk.save_canned(&admin, id, &shortcut, &body).await
}

#[server]
pub async fn delete_canned(id: Uuid) -> Result<(), DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn TeamDesk>().await?;
    desk.delete_canned(&admin, id).await
}

#[server(input = Json)]
pub async fn save_inbox_settings(settings: InboxSettings) -> Result<(), DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn TeamDesk>().await?;
    desk.save_inbox_settings(&admin, settings).await
}
