//! The knowledge page's server functions: sources with their latest job,
//! pages with chunks, adding websites, re-crawls, cancellation, snippets.
//! Every query is scoped to the admin's workspace.

use app::desk::{Admin, SignedIn};
use app::error::DeskError;
use app::knowledge::KnowledgeDesk;
use app::knowledge::{
    ChunkView, ItemIssue, JobView, NewWebsite, PageView, SnippetView, SourceDetail, SourceView,
};
use app::knowledge::{JobStatus, SourceKind};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{internal, EngineDesk};
use crate::db::Scope;
use crate::ingest::crawl::CrawlSettings;
use crate::ingest::{jobs, snippets, IngestError};
use crate::Engines;

#[derive(sqlx::FromRow)]
struct SourceRow {
    source_id: Uuid,
    #[sqlx(try_from = "String")]
    kind: SourceKind,
    title: String,
    start_url: String,
    recrawl_hours: Option<i32>,
    pages: i64,
    chunks: i64,
    job_id: Option<Uuid>,
    status: Option<String>,
    pages_found: Option<i32>,
    pages_done: Option<i32>,
    pages_changed: Option<i32>,
    pages_unchanged: Option<i32>,
    pages_skipped: Option<i32>,
    pages_failed: Option<i32>,
    job_chunks: Option<i32>,
    message: Option<String>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

impl SourceRow {
    fn into_view(self) -> Result<SourceView, DeskError> {
        let job = match (self.job_id, self.status) {
            (Some(job_id), Some(status)) => Some(JobView {
                job_id,
                status: JobStatus::parse(&status).map_err(internal)?,
                pages_found: self.pages_found.unwrap_or(0),
                pages_done: self.pages_done.unwrap_or(0),
                pages_changed: self.pages_changed.unwrap_or(0),
                pages_unchanged: self.pages_unchanged.unwrap_or(0),
                pages_skipped: self.pages_skipped.unwrap_or(0),
                pages_failed: self.pages_failed.unwrap_or(0),
                chunks: self.job_chunks.unwrap_or(0),
                message: self.message,
                started_at: self.started_at,
                finished_at: self.finished_at,
            }),
            _ => None,
        };
        Ok(SourceView {
            source_id: self.source_id,
            kind: self.kind,
            title: self.title,
            url: self.start_url,
            recrawl_hours: self.recrawl_hours,
            pages: self.pages,
            chunks: self.chunks,
            job,
        })
    }
}

#[derive(sqlx::FromRow)]
struct PageChunkRow {
    url: String,
    title: String,
    fetched_at: DateTime<Utc>,
    heading_path: String,
    anchor: Option<String>,
    content: String,
}

const SOURCE_SELECT: &str = "select s.source_id, s.kind, s.title, s.start_url, s.recrawl_hours,
        (select count(*) from page p where p.source_id = s.source_id) as pages,
        (select count(*) from chunk c join page p using (page_id) where p.source_id = s.source_id) as chunks,
        j.job_id, j.status, j.pages_found, j.pages_done, j.pages_changed, j.pages_unchanged,
        j.pages_skipped, j.pages_failed, j.chunks as job_chunks, j.message, j.started_at, j.finished_at
     from source s
     left join lateral (select * from ingest_job j where j.source_id = s.source_id
                        order by j.created_at desc limit 1) j on true";

fn rejected(err: IngestError) -> DeskError {
    match err {
        IngestError::BadUrl(url) => DeskError::Invalid(format!(
            "“{url}” is not a web address Tandem can crawl (it needs http:// or https://)."
        )),
        IngestError::Rejected(message) => DeskError::Invalid(message),
        other => internal(other),
    }
}

async fn source(engines: &Engines, admin: &SignedIn, id: Uuid) -> Result<SourceView, DeskError> {
    let row: Option<SourceRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SOURCE_SELECT} where s.workspace_id = $1 and s.source_id = $2"
    )))
    .bind(admin.workspace_id)
    .bind(id)
    .fetch_optional(engines.pool.ws(admin.workspace_id))
    .await
    .map_err(internal)?;
    row.map(SourceRow::into_view).ok_or(DeskError::NotFound)?
}

fn number(field: &str, value: &str, default: u32, max: u32) -> Result<u32, DeskError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(default);
    }
    value
        .parse::<u32>()
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| DeskError::Invalid(format!("{field} must be a whole number up to {max}.")))
}

#[async_trait::async_trait]
impl KnowledgeDesk for EngineDesk {
    async fn sources(&self, admin: &Admin) -> Result<Vec<SourceView>, DeskError> {
        let engines = &self.engines;
        let rows: Vec<SourceRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SOURCE_SELECT} where s.workspace_id = $1 order by s.kind = 'snippets', s.created_at"
        )))
        .bind(admin.workspace_id)
        .fetch_all(engines.pool.ws(admin.workspace_id))
        .await
        .map_err(internal)?;
        rows.into_iter().map(SourceRow::into_view).collect()
    }

    /// The workspace's move to the current embedding model, while it lasts.
    async fn model_move(
        &self,
        admin: &Admin,
    ) -> Result<Option<app::knowledge::Reembedding>, DeskError> {
        let engines = &self.engines;
        let model = engines.embedder.name();
        let progress = crate::ingest::reembed::progress(&engines.pool, admin.workspace_id, model)
            .await
            .map_err(internal)?;
        Ok(progress.moving().then(|| app::knowledge::Reembedding {
            model: model.to_owned(),
            done: progress.done,
            total: progress.total,
        }))
    }

    async fn source_detail(&self, admin: &Admin, id: Uuid) -> Result<SourceDetail, DeskError> {
        let engines = &self.engines;
        let source = source(engines, admin, id).await?;
        let issues: Vec<(String, String, Option<String>)> = match &source.job {
            Some(job) => sqlx::query_as(
                "select url, state, detail from crawl_item
                 where job_id = $1 and state in ('failed', 'skipped', 'duplicate')
                 order by state = 'failed' desc, url limit 500",
            )
            .bind(job.job_id)
            .fetch_all(engines.pool.ws(admin.workspace_id))
            .await
            .map_err(internal)?,
            None => Vec::new(),
        };
        let rows: Vec<PageChunkRow> = sqlx::query_as(
            "select p.url, p.title, p.fetched_at, c.heading_path, c.anchor, c.content
             from page p join chunk c using (page_id)
             where p.source_id = $1 and p.workspace_id = $2
             order by p.url, c.ordinal limit 5000",
        )
        .bind(id)
        .bind(admin.workspace_id)
        .fetch_all(engines.pool.ws(admin.workspace_id))
        .await
        .map_err(internal)?;
        let mut pages: Vec<PageView> = Vec::new();
        for PageChunkRow {
            url,
            title,
            fetched_at,
            heading_path,
            anchor,
            content,
        } in rows
        {
            if pages.last().is_none_or(|p| p.url != url) {
                pages.push(PageView {
                    url,
                    title,
                    fetched_at,
                    chunks: Vec::new(),
                });
            }
            if let Some(page) = pages.last_mut() {
                page.chunks.push(ChunkView {
                    heading_path,
                    anchor,
                    content,
                });
            }
        }
        Ok(SourceDetail {
            source,
            issues: issues
                .into_iter()
                .map(|(url, state, detail)| ItemIssue {
                    url,
                    state,
                    detail: detail.unwrap_or_default(),
                })
                .collect(),
            pages,
        })
    }

    async fn add_website(&self, admin: &Admin, website: NewWebsite) -> Result<Uuid, DeskError> {
        let engines = &self.engines;
        let defaults = CrawlSettings::default();
        let extra_prefixes: Vec<String> = website
            .extra_prefixes
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        for prefix in &extra_prefixes {
            if !url::Url::parse(prefix).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
                return Err(DeskError::Invalid(format!(
                    "“{prefix}” is not a web address (it needs http:// or https://)."
                )));
            }
        }
        let settings = CrawlSettings {
            extra_prefixes,
            max_pages: number("Max pages", &website.max_pages, defaults.max_pages, 50_000)?.max(1),
            max_depth: number("Max depth", &website.max_depth, defaults.max_depth, 50)?,
            ..defaults
        };
        let recrawl_hours = match website.recrawl_hours.trim() {
            "" => None,
            hours => Some(number("Re-crawl interval", hours, 24, 24 * 365)?.max(1) as i32),
        };
        let source_id = jobs::website_source(
            &engines.pool,
            admin.workspace_id,
            &website.url,
            &settings,
            recrawl_hours,
        )
        .await
        .map_err(rejected)?;
        jobs::enqueue(engines.pool.ws(admin.workspace_id), source_id)
            .await
            .map_err(rejected)?;
        Ok(source_id)
    }

    async fn recrawl(&self, admin: &Admin, id: Uuid) -> Result<(), DeskError> {
        let engines = &self.engines;
        let source = source(engines, admin, id).await?;
        if source.kind == SourceKind::Snippets {
            return Err(DeskError::Invalid(
                "Snippets are indexed as you save them.".into(),
            ));
        }
        jobs::enqueue(engines.pool.ws(admin.workspace_id), id)
            .await
            .map_err(rejected)?;
        Ok(())
    }

    async fn cancel_ingest(&self, admin: &Admin, id: Uuid) -> Result<(), DeskError> {
        let engines = &self.engines;
        source(engines, admin, id).await?;
        if !jobs::cancel(engines.pool.ws(admin.workspace_id), id)
            .await
            .map_err(internal)?
        {
            return Err(DeskError::Invalid(
                "Nothing is running for that source.".into(),
            ));
        }
        Ok(())
    }

    async fn delete_source(&self, admin: &Admin, id: Uuid) -> Result<(), DeskError> {
        let engines = &self.engines;
        let source = source(engines, admin, id).await?;
        if source.kind == SourceKind::Snippets {
            return Err(DeskError::Invalid("Delete snippets one by one.".into()));
        }
        // Its pages, chunks (with their embeddings), file and jobs go with it
        // (foreign keys cascade); a running job notices its lease is gone and
        // stops. Recorded in the audit log.
        let mut tx = crate::desk::begin(engines, admin).await?;
        let (pages, chunks): (i64, i64) = sqlx::query_as(
            "select (select count(*) from page where source_id = $1),
                    (select count(*) from chunk c join page p using (page_id) where p.source_id = $1)",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(internal)?;
        sqlx::query!(
            "delete from source where source_id = $1 and workspace_id = $2",
            id,
            admin.workspace_id,
        )
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        crate::privacy::audit(
            &mut tx,
            admin.workspace_id,
            &crate::desk::actor(admin),
            "source_erased",
            &source.title,
            serde_json::json!({ "pages": pages, "chunks": chunks }),
        )
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        Ok(())
    }

    async fn snippets(&self, admin: &Admin) -> Result<Vec<SnippetView>, DeskError> {
        let engines = &self.engines;
        let rows = snippets::list(&engines.pool, admin.workspace_id)
            .await
            .map_err(internal)?;
        let base = format!(
            "{}/kb/{}/snippets",
            engines.public_url, admin.profile.workspace_slug
        );
        Ok(rows
            .into_iter()
            .map(|r| SnippetView {
                url: format!("{base}/{}", r.snippet_id),
                snippet_id: r.snippet_id,
                question: r.question,
                answer: r.answer,
                updated_at: r.updated_at,
            })
            .collect())
    }

    async fn save_snippet(
        &self,
        admin: &Admin,
        id: Option<Uuid>,
        question: String,
        answer: String,
    ) -> Result<Uuid, DeskError> {
        let engines = &self.engines;
        snippets::save(
            engines,
            admin.workspace_id,
            id,
            &question,
            &answer,
            Some(admin.profile.account_id),
        )
        .await
        .map_err(rejected)
    }

    async fn delete_snippet(&self, admin: &Admin, id: Uuid) -> Result<(), DeskError> {
        let engines = &self.engines;
        if !snippets::delete(&engines.pool, admin.workspace_id, id)
            .await
            .map_err(rejected)?
        {
            return Err(DeskError::NotFound);
        }
        Ok(())
    }
}
