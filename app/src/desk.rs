//! The server side of the UI's server functions: a trait the server crate
//! implements, provided to server functions as context.

use std::sync::Arc;

use uuid::Uuid;

use crate::error::DeskError;
use crate::knowledge::{NewWebsite, Reembedding, SnippetView, SourceDetail, SourceView};
use crate::types::inbox::{
    Directory, InboxSettings, InvitationView, Invited, ListFilter, Suggestion, TeamAdmin,
    WorkspaceChoice,
};
use crate::types::policy::{Policy, Replay};
use crate::types::privacy::{Erased, PrivacyView};
use crate::types::review::{Dashboard, FixView, Retest, ReviewOverview, TopicDetail};
use crate::types::setup::{InstallState, NewAdmin, NewWorkspace};
use crate::types::widget::{Expectation, Identity, WidgetAdmin, WidgetLook};
use crate::types::{AgentProfile, ConversationSummary, ConversationView};
use crate::widget::WidgetSettings;

/// A signed-in agent, with the token of their session.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub profile: AgentProfile,
    pub workspace_id: Uuid,
}

/// What the UI's server functions need from the server's engines.
#[async_trait::async_trait]
pub trait SupportDesk: Send + Sync + 'static {
    /// Checks credentials (throttled per email and per client address);
    /// returns a new session token for the cookie.
    async fn login(
        &self,
        email: &str,
        password: &str,
        address: Option<std::net::IpAddr>,
    ) -> Result<String, DeskError>;
    async fn logout(&self, session_token: &str) -> Result<(), DeskError>;
    async fn signed_in(&self, session_token: &str) -> Result<SignedIn, DeskError>;
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
        admin: &SignedIn,
        session_token: &str,
        workspace: NewWorkspace,
    ) -> Result<(), DeskError>;
    async fn workspaces(&self, agent: &SignedIn) -> Result<Vec<WorkspaceChoice>, DeskError>;
    async fn switch_workspace(
        &self,
        session_token: &str,
        workspace_id: Uuid,
    ) -> Result<(), DeskError>;

    // The inbox.
    async fn conversations(
        &self,
        agent: &SignedIn,
        filter: ListFilter,
    ) -> Result<Vec<ConversationSummary>, DeskError>;
    async fn directory(&self, agent: &SignedIn) -> Result<Directory, DeskError>;
    async fn set_tags(
        &self,
        agent: &SignedIn,
        id: Uuid,
        tags: Vec<String>,
    ) -> Result<Vec<String>, DeskError>;
    async fn suggest_reply(&self, agent: &SignedIn, id: Uuid) -> Result<Suggestion, DeskError>;

    // The team (admins only).
    async fn team_admin(&self, admin: &SignedIn) -> Result<TeamAdmin, DeskError>;
    /// Emails the invitation when email is set up; returns the link's path
    /// for the admin to hand over when it is not.
    async fn invite(&self, admin: &SignedIn, email: &str, role: &str)
        -> Result<Invited, DeskError>;
    /// Withdraws a pending invitation (its link stops working).
    async fn revoke_invitation(
        &self,
        admin: &SignedIn,
        invitation_id: Uuid,
    ) -> Result<(), DeskError>;
    async fn save_member(
        &self,
        admin: &SignedIn,
        account_id: Uuid,
        role: &str,
        teams: Vec<String>,
        max_open: Option<i32>,
    ) -> Result<(), DeskError>;
    async fn remove_member(&self, admin: &SignedIn, account_id: Uuid) -> Result<(), DeskError>;
    async fn add_team(&self, admin: &SignedIn, name: &str) -> Result<(), DeskError>;
    async fn delete_team(&self, admin: &SignedIn, name: &str) -> Result<(), DeskError>;
    async fn save_canned(
        &self,
        admin: &SignedIn,
        id: Option<Uuid>,
        shortcut: &str,
        body: &str,
    ) -> Result<Uuid, DeskError>;
    async fn delete_canned(&self, admin: &SignedIn, id: Uuid) -> Result<(), DeskError>;
    async fn save_inbox_settings(
        &self,
        admin: &SignedIn,
        settings: InboxSettings,
    ) -> Result<(), DeskError>;
    async fn conversation(&self, agent: &SignedIn, id: Uuid)
        -> Result<ConversationView, DeskError>;
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

    // The widget's settings (admins only).
    async fn widget_admin(&self, admin: &SignedIn) -> Result<WidgetAdmin, DeskError>;
    async fn save_widget(&self, admin: &SignedIn, look: WidgetLook) -> Result<(), DeskError>;
    async fn rotate_identity_secret(&self, admin: &SignedIn) -> Result<String, DeskError>;

    // Knowledge (admins only; the server functions check the role).
    async fn sources(&self, admin: &SignedIn) -> Result<Vec<SourceView>, DeskError>;
    async fn model_move(&self, admin: &SignedIn) -> Result<Option<Reembedding>, DeskError>;
    async fn source_detail(&self, admin: &SignedIn, id: Uuid) -> Result<SourceDetail, DeskError>;
    async fn add_website(&self, admin: &SignedIn, website: NewWebsite) -> Result<Uuid, DeskError>;
    async fn recrawl(&self, admin: &SignedIn, id: Uuid) -> Result<(), DeskError>;
    async fn cancel_ingest(&self, admin: &SignedIn, id: Uuid) -> Result<(), DeskError>;
    async fn delete_source(&self, admin: &SignedIn, id: Uuid) -> Result<(), DeskError>;
    async fn snippets(&self, admin: &SignedIn) -> Result<Vec<SnippetView>, DeskError>;
    async fn save_snippet(
        &self,
        admin: &SignedIn,
        id: Option<Uuid>,
        question: String,
        answer: String,
    ) -> Result<Uuid, DeskError>;
    async fn delete_snippet(&self, admin: &SignedIn, id: Uuid) -> Result<(), DeskError>;

    // Answer and handoff policy (admins only).
    async fn policy(&self, admin: &SignedIn) -> Result<Policy, DeskError>;
    async fn save_policy(&self, admin: &SignedIn, policy: Policy) -> Result<(), DeskError>;
    async fn replay_policy(&self, admin: &SignedIn, policy: Policy) -> Result<Replay, DeskError>;

    // Learning from escalations (admins only); `days` is the window.
    async fn review(&self, admin: &SignedIn, days: u32) -> Result<ReviewOverview, DeskError>;
    async fn review_topic(
        &self,
        admin: &SignedIn,
        key: Uuid,
        days: u32,
    ) -> Result<TopicDetail, DeskError>;
    async fn fix_with_snippet(
        &self,
        admin: &SignedIn,
        key: Uuid,
        days: u32,
        question: String,
        answer: String,
    ) -> Result<FixView, DeskError>;
    async fn fix_by_recrawl(
        &self,
        admin: &SignedIn,
        key: Uuid,
        days: u32,
        source_id: Uuid,
    ) -> Result<FixView, DeskError>;
    /// The fix's target is the new rule's name.
    async fn always_a_person(
        &self,
        admin: &SignedIn,
        key: Uuid,
        days: u32,
    ) -> Result<FixView, DeskError>;
    async fn retest_topic(
        &self,
        admin: &SignedIn,
        key: Uuid,
        days: u32,
    ) -> Result<Retest, DeskError>;
    async fn dashboard(&self, admin: &SignedIn, days: u32) -> Result<Dashboard, DeskError>;

    // Privacy (admins).
    async fn privacy(&self, admin: &SignedIn) -> Result<PrivacyView, DeskError>;
    async fn save_retention(&self, admin: &SignedIn, days: Option<u32>) -> Result<(), DeskError>;
    /// Erases the visitor of this conversation and all they wrote.
    async fn erase_visitor(
        &self,
        admin: &SignedIn,
        conversation_id: Uuid,
    ) -> Result<Erased, DeskError>;

    /// Whether visitors and agents reach this instance over `https` (its
    /// session cookie is then `Secure` and `__Host-`).
    fn https(&self) -> bool {
        false
    }
}

/// The desk as server functions find it in their context.
#[derive(Clone)]
pub struct Desk(pub Arc<dyn SupportDesk>);

/// The name of the session cookie over plain HTTP.
pub const SESSION_COOKIE: &str = "tandem_session";
/// Its name behind TLS: a `__Host-` cookie is `Secure`, for this host alone
/// and the path `/`; no page on plain HTTP can set one.
pub const SECURE_SESSION_COOKIE: &str = "__Host-tandem_session";

/// The session cookie's name for an instance reached over `https`, or not.
pub fn session_cookie_name(https: bool) -> &'static str {
    if https {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// The session token of a request: the one cookie of the session's name.
/// Two of that name are refused, since which one is the person's cannot be
/// known: cookies are not kept apart by port, so a page on another port of
/// this host can add its own (an attacker's session, to sign the browser
/// into the attacker's account).
pub fn session_from(headers: &axum::http::HeaderMap, https: bool) -> Option<String> {
    let mut found = cookie_values(headers, session_cookie_name(https));
    match (found.next(), found.next()) {
        (Some(token), None) if !token.is_empty() => Some(token),
        _ => None,
    }
}

fn desk() -> Result<Arc<dyn SupportDesk>, DeskError> {
    leptos::prelude::use_context::<Desk>()
        .map(|d| d.0)
        .ok_or_else(|| {
            tracing::error!("SupportDesk missing from server function context");
            DeskError::Internal
        })
}

/// The session token from the request's cookie, if any.
pub async fn session_token() -> Option<String> {
    let headers: axum::http::HeaderMap = leptos_axum::extract().await.ok()?;
    session_from(&headers, desk().ok()?.https())
}

/// Every value of the cookies named `name`, in the order sent.
fn cookie_values<'h>(
    headers: &'h axum::http::HeaderMap,
    name: &'h str,
) -> impl Iterator<Item = String> + 'h {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(move |(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The desk and the signed-in agent, or `NotSignedIn`.
pub async fn agent() -> Result<(Arc<dyn SupportDesk>, SignedIn), DeskError> {
    let desk = desk()?;
    let token = session_token().await.ok_or(DeskError::NotSignedIn)?;
    let agent = desk.signed_in(&token).await?;
    Ok((desk, agent))
}

/// The desk and the signed-in agent, who must be an admin of the workspace.
pub async fn admin() -> Result<(Arc<dyn SupportDesk>, SignedIn), DeskError> {
    let (desk, agent) = agent().await?;
    if agent.profile.role != "admin" {
        return Err(DeskError::Forbidden);
    }
    Ok((desk, agent))
}

pub fn desk_only() -> Result<Arc<dyn SupportDesk>, DeskError> {
    desk()
}
