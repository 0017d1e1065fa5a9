//! Reviewing escalations and fixing gaps (admins): the server functions, and what they need from the server
//! ([`ReviewDesk`], implemented in `server/src/desk/review.rs`).

use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::desk::Admin;
use crate::error::DeskError;
use crate::types::review::{Dashboard, FixView, Retest, ReviewOverview, TopicDetail};

/// What this feature's server functions need from the server.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait ReviewDesk: Send + Sync + 'static {
    async fn review(&self, admin: &Admin, days: u32) -> Result<ReviewOverview, DeskError>;
    async fn review_topic(
        &self,
        admin: &Admin,
        key: Uuid,
        days: u32,
    ) -> Result<TopicDetail, DeskError>;
    async fn fix_with_snippet(
        &self,
        admin: &Admin,
        key: Uuid,
        days: u32,
        question: String,
        answer: String,
    ) -> Result<FixView, DeskError>;
    async fn fix_by_recrawl(
        &self,
        admin: &Admin,
        key: Uuid,
        days: u32,
        source_id: Uuid,
    ) -> Result<FixView, DeskError>;
    /// The fix's target is the new rule's name.
    async fn always_a_person(
        &self,
        admin: &Admin,
        key: Uuid,
        days: u32,
    ) -> Result<FixView, DeskError>;
    async fn retest_topic(&self, admin: &Admin, key: Uuid, days: u32) -> Result<Retest, DeskError>;
    async fn dashboard(&self, admin: &Admin, days: u32) -> Result<Dashboard, DeskError>;
}

#[server]
pub async fn load_review(days: u32) -> Result<ReviewOverview, DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn ReviewDesk>().await?;
    desk.review(&admin, days).await
}

#[server]
pub async fn load_topic(key: Uuid, days: u32) -> Result<TopicDetail, DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn ReviewDesk>().await?;
    desk.review_topic(&admin, key, days).await
}

#[server]
pub async fn write_topic_snippet(
    key: Uuid,
    days: u32,
    question: String,
    answer: String,
) -> Result<FixView, DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn ReviewDesk>().await?;
    desk.fix_with_snippet(&admin, key, days, question, answer)
        .await
}

#[server]
pub async fn recrawl_topic_source(
    key: Uuid,
    days: u32,
    source_id: Uuid,
) -> Result<FixView, DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn ReviewDesk>().await?;
    desk.fix_by_recrawl(&admin, key, days, source_id).await
}

#[server]
pub async fn mark_always_a_person(key: Uuid, days: u32) -> Result<FixView, DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn ReviewDesk>().await?;
    desk.always_a_person(&admin, key, days).await
}

#[server]
pub async fn retest_topic(key: Uuid, days: u32) -> Result<Retest, DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn ReviewDesk>().await?;
    desk.retest_topic(&admin, key, days).await
}

#[server]
pub async fn load_dashboard(days: u32) -> Result<Dashboard, DeskError> {
    let (desk, admin) = crate::desk::admin::<dyn ReviewDesk>().await?;
    desk.dashboard(&admin, days).await
}
