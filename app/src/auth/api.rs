//! Signing in and out, one's own account, invitations and the install's first run: the server functions, and what they need from the server
//! ([`AuthDesk`], implemented in `server/src/desk/auth.rs`).

use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use super::{client_address, set_session_cookie};
#[cfg(feature = "ssr")]
use crate::desk::{Admin, SignedIn};
use crate::error::DeskError;
use crate::types::inbox::{InvitationView, WorkspaceChoice};
use crate::types::setup::{InstallState, NewAdmin, NewWorkspace};
use crate::types::AgentProfile;

/// What this feature's server functions need from the server.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait AuthDesk: Send + Sync + 'static {
    /// Checks credentials (throttled per email and per client address);
    /// returns a new session token for the cookie.
    async fn login(
        &self,
        email: &str,
        password: &str,
        address: Option<std::net::IpAddr>,
    ) -> Result<String, DeskError>;
    async fn logout(&self, session_token: &str) -> Result<(), DeskError>;
    /// Ends the account's other sessions.
    async fn change_password(
        &self,
        agent: &SignedIn,
        session_token: &str,
        current: &str,
        new: &str,
        address: Option<std::net::IpAddr>,
    ) -> Result<(), DeskError>;
    async fn invitation(&self, token: &str) -> Result<InvitationView, DeskError>;
    /// Creates the account (or adds the existing one); returns a session token.
    async fn accept_invitation(
        &self,
        token: &str,
        name: &str,
        password: &str,
    ) -> Result<String, DeskError>;
    async fn workspaces(&self, agent: &SignedIn) -> Result<Vec<WorkspaceChoice>, DeskError>;
    async fn switch_workspace(
        &self,
        session_token: &str,
        workspace_id: Uuid,
    ) -> Result<(), DeskError>;
    /// Whether the install still needs its first workspace, and whether
    /// `code` is its setup code.
    async fn install_state(&self, code: Option<&str>) -> Result<InstallState, DeskError>;
    /// The first run: the workspace and its admin (with the setup code);
    /// returns a session token for the new admin.
    async fn complete_setup(
        &self,
        code: &str,
        workspace: NewWorkspace,
        admin: NewAdmin,
    ) -> Result<String, DeskError>;
    /// Another workspace with `admin` as its admin; the session then looks at it.
    async fn create_workspace(
        &self,
        admin: &Admin,
        session_token: &str,
        workspace: NewWorkspace,
    ) -> Result<(), DeskError>;
}

#[server]
pub async fn login(email: String, password: String) -> Result<(), DeskError> {
    let desk = crate::desk::desk::<dyn AuthDesk>()?;
    let token = desk
        .login(email.trim(), &password, client_address().await)
        .await?;
    set_session_cookie(&token)?;
    leptos_axum::redirect("/inbox");
    Ok(())
}

#[server]
pub async fn logout() -> Result<(), DeskError> {
    use axum::http::{header, HeaderValue};

    // Contexts before the first `.await` (see `crate::desk::session_token`).
    let desk = crate::desk::desk::<dyn AuthDesk>()?;
    let response = expect_context::<leptos_axum::ResponseOptions>();
    let https = crate::desk::desk::<dyn crate::desk::Sessions>()?.https();
    if let Some(token) = crate::desk::session_token().await {
        desk.logout(&token).await?;
    }
    let cookie = format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        crate::desk::session_cookie_name(https),
        if https { "; Secure" } else { "" }
    );
    response.append_header(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|_| DeskError::Internal)?,
    );
    leptos_axum::redirect("/login");
    Ok(())
}

#[server]
pub async fn me() -> Result<AgentProfile, DeskError> {
    let (_, agent) = crate::desk::agent::<dyn AuthDesk>().await?;
    Ok(agent.profile)
}

#[server]
pub async fn change_password(current: String, new: String) -> Result<(), DeskError> {
    let (desk, agent) = crate::desk::agent::<dyn AuthDesk>().await?;
    let token = crate::desk::session_token()
        .await
        .ok_or(DeskError::NotSignedIn)?;
    let address = crate::auth::client_address().await;
    desk.change_password(&agent, &token, &current, &new, address)
        .await
}

#[server]
pub async fn my_workspaces() -> Result<Vec<WorkspaceChoice>, DeskError> {
    let (desk, agent) = crate::desk::agent::<dyn AuthDesk>().await?;
    desk.workspaces(&agent).await
}

#[server]
pub async fn switch_workspace(workspace_id: Uuid) -> Result<(), DeskError> {
    let (desk, _) = crate::desk::agent::<dyn AuthDesk>().await?;
    let token = crate::desk::session_token()
        .await
        .ok_or(DeskError::NotSignedIn)?;
    desk.switch_workspace(&token, workspace_id).await?;
    leptos_axum::redirect("/inbox");
    Ok(())
}

#[server]
pub async fn get_invitation(token: String) -> Result<InvitationView, DeskError> {
    crate::desk::desk::<dyn AuthDesk>()?
        .invitation(&token)
        .await
}

#[server]
pub async fn accept_invitation(
    token: String,
    name: String,
    password: String,
) -> Result<(), DeskError> {
    let session = crate::desk::desk::<dyn AuthDesk>()?
        .accept_invitation(&token, &name, &password)
        .await?;
    crate::auth::set_session_cookie(&session)?;
    leptos_axum::redirect("/inbox");
    Ok(())
}

#[server]
pub async fn get_install_state(code: Option<String>) -> Result<InstallState, DeskError> {
    crate::desk::desk::<dyn AuthDesk>()?
        .install_state(code.as_deref())
        .await
}

/// Creates the first workspace and its admin, signs them in and opens the
/// getting-started page.
#[server]
pub async fn complete_setup(
    code: String,
    workspace: NewWorkspace,
    admin: NewAdmin,
) -> Result<(), DeskError> {
    let desk = crate::desk::desk::<dyn AuthDesk>()?;
    let token = desk.complete_setup(&code, workspace, admin).await?;
    crate::auth::set_session_cookie(&token)?;
    leptos_axum::redirect("/admin/start");
    Ok(())
}

/// Another workspace, administered by the signed-in admin, who then looks at it.
#[server]
pub async fn create_workspace(workspace: NewWorkspace) -> Result<(), DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn AuthDesk>().await?;
    let token = crate::desk::session_token()
        .await
        .ok_or(DeskError::NotSignedIn)?;
    desk.create_workspace(&admin, &token, workspace).await?;
    leptos_axum::redirect("/admin/start");
    Ok(())
}
