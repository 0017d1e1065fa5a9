//! Ingest jobs stored in PostgreSQL: queued, claimed with `FOR UPDATE SKIP
//! LOCKED` under a lease that the worker renews, resumed by any instance
//! once a lease expires (a crash or restart loses nothing), cancellable.
//! Website sources with a schedule are re-queued when due.

use app::knowledge::JobStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use uuid::Uuid;

use super::crawl::{self, CrawlSettings, JobContext, JobEnd};
use super::IngestError;
use crate::db::{InWorkspace, Scope, System};
use crate::embed::Embedder;
use crate::outbound::Outbound;

/// The channel that wakes workers when a job is queued.
pub const CHANNEL: &str = "tandem_jobs";
/// How long a claim lasts without renewal.
const LEASE: Duration = Duration::from_secs(30);
const HEARTBEAT: Duration = Duration::from_secs(2);

/// A job's state, as the admin UI and the CLI show it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct JobRow {
    pub job_id: Uuid,
    pub source_id: Uuid,
    #[sqlx(try_from = "String")]
    pub status: JobStatus,
    pub pages_found: i32,
    pub pages_done: i32,
    pub pages_changed: i32,
    pub pages_unchanged: i32,
    pub pages_skipped: i32,
    pub pages_failed: i32,
    pub chunks: i32,
    pub crawl_seconds: f64,
    pub embed_seconds: f64,
    pub message: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub const JOB_COLUMNS: &str = "job_id, source_id, status, pages_found, pages_done, pages_changed,
    pages_unchanged, pages_skipped, pages_failed, chunks, crawl_seconds, embed_seconds, message,
    created_at, started_at, finished_at";

pub async fn job(db: InWorkspace<'_>, job_id: Uuid) -> Result<JobRow, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {JOB_COLUMNS} from ingest_job where job_id = $1"
    )))
    .bind(job_id)
    .fetch_one(db)
    .await
}

/// Creates (or finds) the website source for `start_url` in the workspace.
pub async fn website_source(
    pool: &PgPool,
    workspace_id: Uuid,
    start_url: &str,
    settings: &CrawlSettings,
    recrawl_hours: Option<i32>,
) -> Result<Uuid, IngestError> {
    let url = url::Url::parse(start_url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| IngestError::BadUrl(start_url.to_owned()))?;
    let title = url.host_str().unwrap_or_default().to_owned() + url.path();
    let id = sqlx::query_scalar(
        "insert into source (source_id, workspace_id, kind, start_url, title, settings, recrawl_hours, next_crawl_at)
         values ($1, $2, 'website', $3, $4, $5, $6, now() + make_interval(hours => $6))
         on conflict (workspace_id, start_url) do update
            set settings = excluded.settings, recrawl_hours = excluded.recrawl_hours,
                next_crawl_at = excluded.next_crawl_at, updated_at = now()
         returning source_id",
    )
    .bind(Uuid::new_v4())
    .bind(workspace_id)
    .bind(url.as_str())
    .bind(title)
    .bind(sqlx::types::Json(settings))
    .bind(recrawl_hours)
    .fetch_one(pool.ws(workspace_id))
    .await?;
    Ok(id)
}

/// Queues a job for the source, or returns the one already queued. A job
/// queued while another runs starts when that one ends, so it sees what
/// changed meanwhile (a re-uploaded file, new settings).
pub async fn enqueue(db: InWorkspace<'_>, source_id: Uuid) -> Result<Uuid, IngestError> {
    let mut job_id = None;
    // Twice: the queued job found by the insert may start (and stop being
    // queued) before the select.
    for _ in 0..2 {
        let inserted: Option<Uuid> = sqlx::query_scalar!(
            "insert into ingest_job (job_id, workspace_id, source_id)
             select $1, workspace_id, source_id from source where source_id = $2
             on conflict (source_id) where status = 'queued' do nothing
             returning job_id",
            Uuid::new_v4(),
            source_id,
        )
        .fetch_optional(db)
        .await?;
        job_id = match inserted {
            Some(id) => Some(id),
            None => {
                sqlx::query_scalar!(
                    "select job_id from ingest_job where source_id = $1 and status = 'queued'",
                    source_id,
                )
                .fetch_optional(db)
                .await?
            }
        };
        if job_id.is_some() {
            break;
        }
    }
    let job_id = job_id.ok_or_else(|| IngestError::Rejected("no such source".into()))?;
    sqlx::query!("select pg_notify($1, $2)", CHANNEL, job_id.to_string(),)
        .execute(db)
        .await?;
    Ok(job_id)
}

/// Asks the source's active job to stop; a queued job stops at once.
/// Returns whether there was one.
pub async fn cancel(db: InWorkspace<'_>, source_id: Uuid) -> Result<bool, sqlx::Error> {
    let rows = sqlx::query!(
        "update ingest_job set
            cancel_requested = true,
            status = case when status = 'queued' then 'cancelled' else status end,
            finished_at = case when status = 'queued' then now() else finished_at end,
            message = case when status = 'queued' then 'cancelled before it started' else message end
         where source_id = $1 and status in ('queued', 'running')",
        source_id,
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(rows > 0)
}

/// A claimed job.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Claimed {
    pub job_id: Uuid,
    pub workspace_id: Uuid,
    pub source_id: Uuid,
}

/// Claims the oldest runnable job (queued, or running under an expired
/// lease), or exactly `only` when given; in any workspace.
pub async fn claim(
    system: &System,
    worker: Uuid,
    only: Option<Uuid>,
) -> Result<Option<Claimed>, sqlx::Error> {
    // A job cancelled while its worker died ends here.
    sqlx::query!(
        "update ingest_job set status = 'cancelled', finished_at = now(), message = 'cancelled',
                lease_owner = null, lease_until = null
         where status = 'running' and cancel_requested and lease_until < now()",
    )
    .execute(system.pool())
    .await?;
    sqlx::query_as(
        "update ingest_job set status = 'running', lease_owner = $1,
                lease_until = now() + make_interval(secs => $3),
                started_at = coalesce(started_at, now())
         where job_id = (
            select job_id from ingest_job j
            where (status = 'queued' or (status = 'running' and lease_until < now()))
              and not cancel_requested
              and ($2::uuid is null or job_id = $2)
              -- A queued job waits while another job of its source runs.
              and not (status = 'queued' and exists (
                  select 1 from ingest_job r where r.source_id = j.source_id and r.status = 'running'))
            order by created_at
            for update skip locked
            limit 1)
         returning job_id, workspace_id, source_id",
    )
    .bind(worker)
    .bind(only)
    .bind(LEASE.as_secs_f64())
    .fetch_optional(system.pool())
    .await
}

/// Runs a claimed job to its end, renewing the lease and watching for
/// cancellation meanwhile, and records how it ended. Its requests are held
/// to `outbound`.
pub async fn run(
    pool: &PgPool,
    embedder: &Embedder,
    outbound: &Outbound,
    worker: Uuid,
    job: Claimed,
) -> JobRow {
    let db = pool.ws(job.workspace_id);
    let cancelled = Arc::new(AtomicBool::new(false));
    // Aborted when `run` ends or is dropped (a dropped run must not keep
    // its lease alive).
    let _heartbeat = AbortOnDrop({
        let pool = pool.clone();
        let cancelled = cancelled.clone();
        tokio::spawn(async move {
            loop {
                let renewed: Result<Option<bool>, _> = sqlx::query_scalar!(
                    "update ingest_job set lease_until = now() + make_interval(secs => $3)
                     where job_id = $1 and lease_owner = $2 returning cancel_requested",
                    job.job_id,
                    worker,
                    LEASE.as_secs_f64(),
                )
                .fetch_optional(pool.ws(job.workspace_id))
                .await;
                match renewed {
                    Ok(Some(true)) | Ok(None) => cancelled.store(true, Ordering::Relaxed),
                    Ok(Some(false)) => {}
                    Err(err) => {
                        tracing::warn!(error = %err, "could not renew an ingest job's lease")
                    }
                }
                tokio::time::sleep(HEARTBEAT).await;
            }
        })
    });
    let ctx = JobContext {
        pool: pool.clone(),
        embedder: embedder.clone(),
        job_id: job.job_id,
        workspace_id: job.workspace_id,
        source_id: job.source_id,
        cancelled,
        outbound: outbound.clone(),
    };
    let span = tracing::info_span!("ingest_job", job.id = %job.job_id, source.id = %job.source_id);
    // Its own task: a panic fails this job, not the worker that runs it.
    let mut task = AbortOnDrop(tokio::spawn(tracing::Instrument::instrument(
        async move { crawl::run(&ctx).await },
        span,
    )));
    let result = match (&mut task.0).await {
        Ok(result) => result,
        Err(err) => Err(IngestError::Rejected(format!(
            "the job stopped unexpectedly ({err}); see the server log"
        ))),
    };
    drop(_heartbeat);
    let (status, message) = match &result {
        Ok(JobEnd::Done) => (JobStatus::Done, None),
        Ok(JobEnd::Cancelled) => (JobStatus::Cancelled, Some("cancelled".to_owned())),
        Err(err) => {
            tracing::warn!(job.id = %job.job_id, error = %err, "ingest job failed");
            (JobStatus::Failed, Some(err.to_string()))
        }
    };
    let _ = sqlx::query!(
        "update ingest_job set status = $3, message = coalesce($4, message), finished_at = now(),
                lease_owner = null, lease_until = null
         where job_id = $1 and lease_owner = $2",
        job.job_id,
        worker,
        status.as_str(),
        message,
    )
    .execute(db)
    .await;
    if status == JobStatus::Done {
        let _ = sqlx::query!(
            "update source set next_crawl_at = now() + make_interval(hours => recrawl_hours), updated_at = now()
             where source_id = $1 and recrawl_hours is not null",
            job.source_id,
        )
        .execute(db)
        .await;
    }
    match self::job(db, job.job_id).await {
        Ok(row) => row,
        Err(err) => {
            tracing::error!(error = %err, "could not read back an ingest job");
            JobRow {
                job_id: job.job_id,
                source_id: job.source_id,
                status,
                pages_found: 0,
                pages_done: 0,
                pages_changed: 0,
                pages_unchanged: 0,
                pages_skipped: 0,
                pages_failed: 0,
                chunks: 0,
                crawl_seconds: 0.0,
                embed_seconds: 0.0,
                message: Some(err.to_string()),
                created_at: chrono::Utc::now(),
                started_at: None,
                finished_at: None,
            }
        }
    }
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Queues re-crawls of scheduled website sources that are due, in every
/// workspace.
pub async fn schedule_due(pool: &PgPool, system: &System) -> Result<u64, sqlx::Error> {
    let due: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "update source set next_crawl_at = now() + make_interval(hours => recrawl_hours)
         where kind = 'website' and recrawl_hours is not null and next_crawl_at <= now()
         returning workspace_id, source_id",
    )
    .fetch_all(system.pool())
    .await?;
    for (workspace_id, source_id) in &due {
        if let Err(err) = enqueue(pool.ws(*workspace_id), *source_id).await {
            tracing::warn!(%source_id, error = %err, "could not queue a scheduled re-crawl");
        }
    }
    Ok(due.len() as u64)
}

/// This instance's worker: one job at a time (embedding uses the CPU),
/// woken by NOTIFY, polling as a fallback, checking the schedule.
pub fn spawn_worker(
    pool: PgPool,
    system: System,
    embedder: Embedder,
    outbound: Outbound,
) -> tokio::task::JoinHandle<()> {
    let worker = Uuid::new_v4();
    tokio::spawn(async move {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(mut l) => match l.listen(CHANNEL).await {
                Ok(()) => Some(l),
                Err(err) => {
                    tracing::warn!(error = %err, "ingest worker polls: LISTEN failed");
                    None
                }
            },
            Err(err) => {
                tracing::warn!(error = %err, "ingest worker polls: LISTEN failed");
                None
            }
        };
        let mut last_schedule = std::time::Instant::now() - Duration::from_secs(3600);
        loop {
            if last_schedule.elapsed() >= Duration::from_secs(60) {
                last_schedule = std::time::Instant::now();
                if let Err(err) = schedule_due(&pool, &system).await {
                    tracing::warn!(error = %err, "checking re-crawl schedules failed");
                }
            }
            match claim(&system, worker, None).await {
                Ok(Some(job)) => {
                    let row = run(&pool, &embedder, &outbound, worker, job).await;
                    tracing::info!(
                        job.id = %row.job_id, status = %row.status, pages = row.pages_done,
                        changed = row.pages_changed, chunks = row.chunks, "ingest job ended"
                    );
                    continue;
                }
                Ok(None) => {}
                Err(err) => tracing::warn!(error = %err, "claiming an ingest job failed"),
            }
            // Wait for a NOTIFY, or poll: expired leases and schedules need no wake-up.
            let wait = Duration::from_secs(5);
            match listener.as_mut() {
                Some(l) => {
                    let _ = tokio::time::timeout(wait, l.recv()).await;
                }
                None => tokio::time::sleep(wait).await,
            }
        }
    })
}

/// Stores an uploaded file as a source (replacing an earlier upload of the
/// same name, whose URL stays) and queues its indexing. The file's stable
/// URL, cited by answers, is `{public}/kb/{workspace}/files/{source}/{name}`.
pub async fn add_file(
    pool: &PgPool,
    public_url: &str,
    workspace_id: Uuid,
    filename: &str,
    content_type: Option<&str>,
    bytes: Vec<u8>,
) -> Result<(Uuid, Uuid), IngestError> {
    use super::document::{DocumentError, Format, MAX_FILE_BYTES};
    let filename = safe_filename(filename);
    if bytes.len() > MAX_FILE_BYTES {
        return Err(IngestError::Rejected(
            DocumentError::TooLarge(filename).to_string(),
        ));
    }
    let format = Format::detect(&filename, content_type).ok_or_else(|| {
        IngestError::Rejected(DocumentError::Unsupported(filename.clone()).to_string())
    })?;
    if bytes.is_empty() {
        return Err(IngestError::Rejected(
            DocumentError::Empty(filename).to_string(),
        ));
    }
    let mut tx = pool.ws(workspace_id).begin().await?;
    let slug: String = sqlx::query_scalar!(
        "select slug from workspace where workspace_id = $1",
        workspace_id,
    )
    .fetch_one(&mut *tx)
    .await?;
    let existing: Option<Uuid> = sqlx::query_scalar!(
        "select s.source_id from source s join file_blob f using (source_id)
         where s.workspace_id = $1 and f.filename = $2",
        workspace_id,
        &filename,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let source_id = match existing {
        Some(id) => id,
        None => {
            let id = Uuid::new_v4();
            let url = format!(
                "{}/kb/{slug}/files/{id}/{}",
                public_url.trim_end_matches('/'),
                url_escape(&filename)
            );
            sqlx::query!(
                "insert into source (source_id, workspace_id, kind, start_url, title)
                 values ($1, $2, 'file', $3, $4)",
                id,
                workspace_id,
                url,
                &filename,
            )
            .execute(&mut *tx)
            .await?;
            id
        }
    };
    sqlx::query!(
        "insert into file_blob (source_id, workspace_id, filename, content_type, bytes)
         values ($1, $2, $3, $4, $5)
         on conflict (source_id) do update set content_type = excluded.content_type,
            bytes = excluded.bytes, created_at = now()",
        source_id,
        workspace_id,
        &filename,
        format.content_type(),
        &bytes,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let job_id = enqueue(pool.ws(workspace_id), source_id).await?;
    Ok((source_id, job_id))
}

/// The last path segment of an uploaded name, without control characters.
fn safe_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = app::types::text::without_hidden(base)
        .chars()
        .take(200)
        .collect();
    let clean = clean.trim().trim_start_matches('.').to_owned();
    if clean.is_empty() {
        "upload".into()
    } else {
        clean
    }
}

fn url_escape(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploaded_names_are_tamed() {
        assert_eq!(safe_filename("../../etc/passwd"), "passwd");
        assert_eq!(safe_filename("C:\\docs\\Guide v2.pdf"), "Guide v2.pdf");
        assert_eq!(safe_filename(".."), "upload");
        assert_eq!(
            safe_filename("invoice\u{202E}txt.exe.pdf"),
            "invoicetxt.exe.pdf"
        );
        assert_eq!(url_escape("Guide v2.pdf"), "Guide%20v2.pdf");
    }
}
