//! The review and dashboard pages' server functions (admins only): topics
//! of escalations, a topic opened, fixes made from it, its re-test, and the
//! dashboard.

use app::desk::{Admin, SignedIn};
use app::error::DeskError;
use app::knowledge::KnowledgeDesk;
use app::policy::PolicyDesk;
use app::review::ReviewDesk;
use app::types::review::{window, Dashboard, FixView, Retest, ReviewOverview, TopicDetail};
use uuid::Uuid;

use super::{internal, EngineDesk};
use crate::db::Scope;
use crate::review::cluster::Topic;
use crate::review::topics::{self, Escalation};
use crate::review::{dashboard, fix};
use crate::Engines;

/// The escalations grouped into topics, off the async runtime (a few
/// hundred milliseconds for the most the review groups).
async fn grouped(escalations: Vec<Escalation>) -> Result<(Vec<Escalation>, Vec<Topic>), DeskError> {
    tokio::task::spawn_blocking(move || {
        let topics = topics::group(&escalations);
        (escalations, topics)
    })
    .await
    .map_err(internal)
}

/// The window's escalations, their topics, and the index of the one holding `key`.
async fn topic_of(
    engines: &Engines,
    admin: &SignedIn,
    key: Uuid,
    days: u32,
) -> Result<(Vec<Escalation>, Vec<Topic>, usize), DeskError> {
    let escalations = topics::escalations(
        &engines.pool,
        &engines.embedder,
        admin.workspace_id,
        window(days),
    )
    .await
    .map_err(internal)?;
    let (escalations, grouped) = grouped(escalations).await?;
    let index = topics::find(&grouped, &escalations, key).ok_or_else(|| {
        DeskError::Invalid("That topic has no escalations in this period any more.".into())
    })?;
    Ok((escalations, grouped, index))
}

#[async_trait::async_trait]
impl ReviewDesk for EngineDesk {
    async fn review(&self, admin: &Admin, days: u32) -> Result<ReviewOverview, DeskError> {
        let engines = &self.engines;
        let days = window(days);
        let escalations =
            topics::escalations(&engines.pool, &engines.embedder, admin.workspace_id, days)
                .await
                .map_err(internal)?;
        let (escalations, grouped) = grouped(escalations).await?;
        let topics = topics::overview(
            &engines.pool,
            admin.workspace_id,
            &escalations,
            &grouped,
            days,
        )
        .await
        .map_err(internal)?;
        Ok(ReviewOverview {
            days,
            escalations: escalations.len() as u32,
            topics,
        })
    }

    async fn review_topic(
        &self,
        admin: &Admin,
        key: Uuid,
        days: u32,
    ) -> Result<TopicDetail, DeskError> {
        let engines = &self.engines;
        let (escalations, grouped, index) = topic_of(engines, admin, key, days).await?;
        topics::detail_of(
            &engines.pool,
            admin.workspace_id,
            &grouped,
            index,
            &escalations,
            window(days),
        )
        .await
        .map_err(internal)
    }

    /// Writes an answer snippet for the topic and records the fix.
    async fn fix_with_snippet(
        &self,
        admin: &Admin,
        key: Uuid,
        days: u32,
        question: String,
        answer: String,
    ) -> Result<FixView, DeskError> {
        let engines = &self.engines;
        let (escalations, grouped, index) = topic_of(engines, admin, key, days).await?;
        let topic = &grouped[index];
        let id = self
            .save_snippet(admin, None, question.clone(), answer)
            .await?;
        let fix = fix::record(
            &engines.pool,
            admin.workspace_id,
            "snippet",
            topic,
            &escalations,
            question.trim(),
            admin.profile.account_id,
        )
        .await
        .map_err(internal)?;
        tracing::info!(workspace.id = %admin.workspace_id, snippet.id = %id, "snippet written from a topic");
        Ok(fix)
    }

    /// Re-crawls a source a topic's passages came from and records the fix.
    async fn fix_by_recrawl(
        &self,
        admin: &Admin,
        key: Uuid,
        days: u32,
        source_id: Uuid,
    ) -> Result<FixView, DeskError> {
        let engines = &self.engines;
        let (escalations, grouped, index) = topic_of(engines, admin, key, days).await?;
        let topic = &grouped[index];
        let title: Option<String> = sqlx::query_scalar!(
            "select title from source where source_id = $1 and workspace_id = $2",
            source_id,
            admin.workspace_id,
        )
        .fetch_optional(engines.pool.ws(admin.workspace_id))
        .await
        .map_err(internal)?;
        let title = title.ok_or(DeskError::NotFound)?;
        self.recrawl(admin, source_id).await?;
        fix::record(
            &engines.pool,
            admin.workspace_id,
            "recrawl",
            topic,
            &escalations,
            &title,
            admin.profile.account_id,
        )
        .await
        .map_err(internal)
    }

    /// Marks the topic "always a person": an admin rule that hands questions
    /// meaning the same as the topic's to the team (its name is the fix's target).
    async fn always_a_person(
        &self,
        admin: &Admin,
        key: Uuid,
        days: u32,
    ) -> Result<FixView, DeskError> {
        let engines = &self.engines;
        let (escalations, grouped, index) = topic_of(engines, admin, key, days).await?;
        let topic = &grouped[index];
        let name = fix::rule_name(&topics::one_line(&escalations[topic.typical()].question));
        let current = super::saved_policy(engines, admin).await?;
        let questions = topics::questions(topic, &escalations, fix::QUESTIONS);
        let policy = fix::with_rule(current, &name, questions);
        self.save_policy(admin, policy).await?;
        fix::record(
            &engines.pool,
            admin.workspace_id,
            "rule",
            topic,
            &escalations,
            &name,
            admin.profile.account_id,
        )
        .await
        .map_err(internal)
    }

    async fn retest_topic(&self, admin: &Admin, key: Uuid, days: u32) -> Result<Retest, DeskError> {
        let engines = &self.engines;
        let (escalations, grouped, index) = topic_of(engines, admin, key, days).await?;
        let topic = &grouped[index];
        let policy = super::saved_policy(engines, admin).await?;
        let generator = crate::answer::generator(
            &policy.generator,
            &engines.outbound,
            std::time::Duration::ZERO,
        );
        // One of the instance's AI turn slots: a re-test is up to 20 answers.
        let _slot = engines.turn_slots.acquire().await.map_err(internal)?;
        fix::retest(
            &engines.pool,
            &engines.embedder,
            &policy,
            generator.as_ref(),
            admin.workspace_id,
            topic,
            &escalations,
        )
        .await
        .map_err(internal)
    }

    async fn dashboard(&self, admin: &Admin, days: u32) -> Result<Dashboard, DeskError> {
        let engines = &self.engines;
        // Questions since the last review are compared with fixed topics too.
        crate::policy::replay::embed_missing(
            &engines.pool,
            &engines.embedder,
            admin.workspace_id,
            window(days),
        )
        .await
        .map_err(internal)?;
        dashboard::dashboard(
            &engines.pool,
            admin.workspace_id,
            window(days),
            chrono::Utc::now(),
        )
        .await
        .map_err(internal)
    }
}
