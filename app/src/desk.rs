//! What every server function shares: who is signed in ([`SignedIn`], and
//! [`Admin`], which only a signed-in admin can be), the session cookie, and
//! how a server function finds what it needs from the server.
//!
//! Each feature declares, next to its server functions (`<feature>/api.rs`),
//! a trait of what those functions need from the server's engines; the
//! server crate implements it, the function's body, in
//! `server/src/desk/<feature>.rs`, and provides it as context. A server
//! function is thus one hop from its body.

use std::ops::Deref;
use std::sync::Arc;

use uuid::Uuid;

use crate::error::DeskError;
use crate::types::AgentProfile;

/// A signed-in agent (or admin) and the workspace their session looks at.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub profile: AgentProfile,
    pub workspace_id: Uuid,
}

/// A signed-in admin of the workspace: made only by [`Admin::check`], so a
/// function that takes one cannot be reached by an agent.
#[derive(Clone, Debug)]
pub struct Admin(SignedIn);

impl Admin {
    /// The signed-in person, if they are an admin of their workspace.
    pub fn check(agent: SignedIn) -> Result<Self, DeskError> {
        if agent.profile.role.is_admin() {
            Ok(Self(agent))
        } else {
            Err(DeskError::Forbidden)
        }
    }
}

impl Deref for Admin {
    type Target = SignedIn;

    fn deref(&self) -> &SignedIn {
        &self.0
    }
}

/// Sessions, which every feature's server functions need.
#[async_trait::async_trait]
pub trait Sessions: Send + Sync + 'static {
    /// Who a session token belongs to, or `NotSignedIn`.
    async fn signed_in(&self, session_token: &str) -> Result<SignedIn, DeskError>;

    /// Whether visitors and agents reach this instance over `https` (its
    /// session cookie is then `Secure` and `__Host-`).
    fn https(&self) -> bool;
}

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

/// The session token from the request's cookie, if any.
pub async fn session_token() -> Option<String> {
    // Contexts are read before the first `.await`: after it, the task may be
    // polled where the request's reactive owner is not current.
    let https = desk::<dyn Sessions>().ok()?.https();
    let headers: axum::http::HeaderMap = leptos_axum::extract().await.ok()?;
    session_from(&headers, https)
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

/// What the server provides for `D` (a feature's trait, as `dyn Trait`).
pub fn desk<D: ?Sized + Send + Sync + 'static>() -> Result<Arc<D>, DeskError> {
    leptos::prelude::use_context::<Arc<D>>().ok_or_else(|| {
        tracing::error!(
            desk = std::any::type_name::<D>(),
            "missing from server function context"
        );
        DeskError::Internal
    })
}

/// The feature's desk and the signed-in agent, or `NotSignedIn`.
pub async fn agent<D: ?Sized + Send + Sync + 'static>() -> Result<(Arc<D>, SignedIn), DeskError> {
    // Both desks before the first `.await` (see `session_token`).
    let (desk, sessions) = (desk::<D>()?, desk::<dyn Sessions>()?);
    let token = session_token().await.ok_or(DeskError::NotSignedIn)?;
    let agent = sessions.signed_in(&token).await?;
    Ok((desk, agent))
}

/// The feature's desk and the signed-in admin, or `NotSignedIn` / `Forbidden`.
pub async fn admin<D: ?Sized + Send + Sync + 'static>() -> Result<(Arc<D>, Admin), DeskError> {
    let (desk, agent) = agent::<D>().await?;
    Ok((desk, Admin::check(agent)?))
}
