//! The chat widget: its settings for a site and a visitor, and its admin page: the server functions, and what they need from the server
//! ([`WidgetDesk`], implemented in `server/src/desk/widget.rs`).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use super::WidgetSettings;
#[cfg(feature = "ssr")]
use crate::desk::Admin;
use crate::error::DeskError;
#[cfg(feature = "ssr")]
use crate::types::widget::Identity;
use crate::types::widget::{Expectation, WidgetAdmin, WidgetLook};

/// What this feature's server functions need from the server.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait WidgetDesk: Send + Sync + 'static {
    /// The chat frame's settings, if `host` may embed it and `identity`
    /// (if any) is signed with the workspace's secret. `tandem_host` is the
    /// request's `Host` (Tandem's own pages may always embed it).
    async fn widget_settings(
        &self,
        workspace_slug: &str,
        host: Option<String>,
        tandem_host: Option<String>,
        identity: Option<Identity>,
        accept_language: Option<String>,
    ) -> Result<WidgetSettings, DeskError>;
    /// What a visitor waiting for a person is told.
    async fn expectation(&self, workspace_slug: &str) -> Result<Expectation, DeskError>;
    async fn widget_admin(&self, admin: &Admin) -> Result<WidgetAdmin, DeskError>;
    async fn save_widget(&self, admin: &Admin, look: WidgetLook) -> Result<(), DeskError>;
    async fn rotate_identity_secret(&self, admin: &Admin) -> Result<String, DeskError>;
}

/// The chat's settings, once the embedding site and the visitor's identity
/// (if any) check out; else why the chat cannot open.
#[server]
pub async fn fetch_widget_settings(
    workspace: String,
    host: Option<String>,
    user_id: Option<String>,
    user_hash: Option<String>,
    name: Option<String>,
    email: Option<String>,
) -> Result<WidgetSettings, DeskError> {
    // The desk before the first `.await` (see `crate::desk::session_token`).
    let desk = crate::desk::desk::<dyn WidgetDesk>()?;
    let headers: axum::http::HeaderMap = leptos_axum::extract().await.unwrap_or_default();
    let header = |name: axum::http::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let accept_language = header(axum::http::header::ACCEPT_LANGUAGE);
    let tandem_host = header(axum::http::header::HOST);
    let identity = user_id.map(|user_id| Identity {
        user_id,
        user_hash: user_hash.unwrap_or_default(),
        // As signed (with the id) or not at all: the signature says.
        name: name.filter(|n| !n.is_empty()),
        email: email.filter(|e| !e.is_empty()),
    });
    desk.widget_settings(&workspace, host, tandem_host, identity, accept_language)
        .await
}

/// What a visitor waiting for a person is told now.
#[server]
pub async fn fetch_expectation(workspace: String) -> Result<Expectation, DeskError> {
    crate::desk::desk::<dyn WidgetDesk>()?
        .expectation(&workspace)
        .await
}

#[server]
pub async fn get_widget_admin() -> Result<WidgetAdmin, DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn WidgetDesk>().await?;
    desk.widget_admin(&admin).await
}

/// JSON: the default URL encoding drops an empty origin list.
#[server(input = Json)]
pub async fn save_widget(look: WidgetLook) -> Result<(), DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn WidgetDesk>().await?;
    desk.save_widget(&admin, look).await
}

#[server]
pub async fn rotate_identity_secret() -> Result<String, DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn WidgetDesk>().await?;
    desk.rotate_identity_secret(&admin).await
}
