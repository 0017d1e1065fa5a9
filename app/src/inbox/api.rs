//! The agents' inbox: lists, a conversation, tags and suggested replies: the server functions, and what they need from the server
//! ([`InboxDesk`], implemented in `server/src/desk/inbox.rs`).

use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::desk::SignedIn;
use crate::error::DeskError;
use crate::types::inbox::{Directory, ListFilter, Suggestion};
use crate::types::{ConversationSummary, ConversationView};

/// What this feature's server functions need from the server.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait InboxDesk: Send + Sync + 'static {
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
    async fn conversation(&self, agent: &SignedIn, id: Uuid)
        -> Result<ConversationView, DeskError>;
}

#[server]
pub async fn list_conversations(filter: ListFilter) -> Result<Vec<ConversationSummary>, DeskError> {
    let (desk, agent) = crate::desk::agent::<dyn InboxDesk>().await?;
    desk.conversations(&agent, filter).await
}

#[server]
pub async fn get_directory() -> Result<Directory, DeskError> {
    let (desk, agent) = crate::desk::agent::<dyn InboxDesk>().await?;
    desk.directory(&agent).await
}

#[server]
pub async fn set_tags(id: Uuid, tags: Vec<String>) -> Result<Vec<String>, DeskError> {
    let (desk, agent) = crate::desk::agent::<dyn InboxDesk>().await?;
    desk.set_tags(&agent, id, tags).await
}

#[server]
pub async fn suggest_reply(id: Uuid) -> Result<Suggestion, DeskError> {
    let (desk, agent) = crate::desk::agent::<dyn InboxDesk>().await?;
    desk.suggest_reply(&agent, id).await
}

#[server]
pub async fn get_conversation(id: Uuid) -> Result<ConversationView, DeskError> {
    let (desk, agent) = crate::desk::agent::<dyn InboxDesk>().await?;
    desk.conversation(&agent, id).await
}
