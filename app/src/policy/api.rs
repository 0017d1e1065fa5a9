//! The handoff policy (admins): the server functions, and what they need from the server
//! ([`PolicyDesk`], implemented in `server/src/desk/policy.rs`).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::desk::Admin;
use crate::error::DeskError;
use crate::types::policy::{Policy, Replay};

/// What this feature's server functions need from the server.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait PolicyDesk: Send + Sync + 'static {
    async fn policy(&self, admin: &Admin) -> Result<Policy, DeskError>;
    async fn save_policy(&self, admin: &Admin, policy: Policy) -> Result<(), DeskError>;
    async fn replay_policy(&self, admin: &Admin, policy: Policy) -> Result<Replay, DeskError>;
}

/// The workspace's policy (the model API key is never sent back).
#[server]
pub async fn get_policy() -> Result<Policy, DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn PolicyDesk>().await?;
    desk.policy(&admin).await
}

/// Saves the whole policy; an empty API key keeps the stored one. JSON, not
/// the default URL encoding: that drops empty lists and cannot carry the
/// tagged condition and action enums.
#[server(input = Json)]
pub async fn save_policy(policy: Policy) -> Result<(), DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn PolicyDesk>().await?;
    desk.save_policy(&admin, policy).await
}

/// What the workspace's recent decisions would have been under `policy`.
#[server(input = Json)]
pub async fn replay_policy(policy: Policy) -> Result<Replay, DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn PolicyDesk>().await?;
    desk.replay_policy(&admin, policy).await
}
