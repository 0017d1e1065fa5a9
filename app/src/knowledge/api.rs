//! What the AI knows: websites, files and snippets (admins): the server functions, and what they need from the server
//! ([`KnowledgeDesk`], implemented in `server/src/desk/knowledge.rs`).

use leptos::prelude::*;
use uuid::Uuid;

use super::{NewWebsite, Reembedding, SnippetView, SourceDetail, SourceView};
#[cfg(feature = "ssr")]
use crate::desk::Admin;
use crate::error::DeskError;

/// What this feature's server functions need from the server.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait KnowledgeDesk: Send + Sync + 'static {
    async fn sources(&self, admin: &Admin) -> Result<Vec<SourceView>, DeskError>;
    async fn model_move(&self, admin: &Admin) -> Result<Option<Reembedding>, DeskError>;
    async fn source_detail(&self, admin: &Admin, id: Uuid) -> Result<SourceDetail, DeskError>;
    async fn add_website(&self, admin: &Admin, website: NewWebsite) -> Result<Uuid, DeskError>;
    async fn recrawl(&self, admin: &Admin, id: Uuid) -> Result<(), DeskError>;
    async fn cancel_ingest(&self, admin: &Admin, id: Uuid) -> Result<(), DeskError>;
    async fn delete_source(&self, admin: &Admin, id: Uuid) -> Result<(), DeskError>;
    async fn snippets(&self, admin: &Admin) -> Result<Vec<SnippetView>, DeskError>;
    async fn save_snippet(
        &self,
        admin: &Admin,
        id: Option<Uuid>,
        question: String,
        answer: String,
    ) -> Result<Uuid, DeskError>;
    async fn delete_snippet(&self, admin: &Admin, id: Uuid) -> Result<(), DeskError>;
}

/// `None` unless the workspace's passages are being re-embedded.
#[server]
pub async fn model_move() -> Result<Option<Reembedding>, DeskError> {
    let (desk, agent) = crate::desk::admin::<dyn KnowledgeDesk>().await?;
    desk.model_move(&agent).await
}

#[server]
pub async fn list_sources() -> Result<Vec<SourceView>, DeskError> {
    let (desk, agent) = crate::desk::admin::<dyn KnowledgeDesk>().await?;
    desk.sources(&agent).await
}

#[server]
pub async fn get_source(id: Uuid) -> Result<SourceDetail, DeskError> {
    let (desk, agent) = crate::desk::admin::<dyn KnowledgeDesk>().await?;
    desk.source_detail(&agent, id).await
}

#[server]
pub async fn add_website(website: NewWebsite) -> Result<Uuid, DeskError> {
    let (desk, agent) = crate::desk::admin::<dyn KnowledgeDesk>().await?;
    desk.add_website(&agent, website).await
}

#[server]
pub async fn recrawl_source(id: Uuid) -> Result<(), DeskError> {
    let (desk, agent) = crate::desk::admin::<dyn KnowledgeDesk>().await?;
    desk.recrawl(&agent, id).await
}

#[server]
pub async fn cancel_source(id: Uuid) -> Result<(), DeskError> {
    let (desk, agent) = crate::desk::admin::<dyn KnowledgeDesk>().await?;
    desk.cancel_ingest(&agent, id).await
}

#[server]
pub async fn delete_source(id: Uuid) -> Result<(), DeskError> {
    let (desk, agent) = crate::desk::admin::<dyn KnowledgeDesk>().await?;
    desk.delete_source(&agent, id).await
}

#[server]
pub async fn list_snippets() -> Result<Vec<SnippetView>, DeskError> {
    let (desk, agent) = crate::desk::admin::<dyn KnowledgeDesk>().await?;
    desk.snippets(&agent).await
}

#[server]
pub async fn save_snippet(question: String, answer: String) -> Result<Uuid, DeskError> {
    let (desk, agent) = crate::desk::admin::<dyn KnowledgeDesk>().await?;
    desk.save_snippet(&agent, None, question, answer).await
}

#[server]
pub async fn delete_snippet(id: Uuid) -> Result<(), DeskError> {
    let (desk, agent) = crate::desk::admin::<dyn KnowledgeDesk>().await?;
    desk.delete_snippet(&agent, id).await
}
