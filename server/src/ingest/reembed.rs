//! Moving workspaces to the current embedding model, in the background.
//!
//! A workspace whose chunks were embedded by an earlier model (their
//! `embedded_with` names it) is re-embedded batch by batch into
//! `chunk.embedding_next`; when every chunk has its new vector, one
//! transaction swaps them all in. Until then retrieval keeps finding every
//! chunk: the earlier model is the English companion model, so its vectors
//! are first copied to `embedding_en`, which English questions search, and
//! the full-text search covers the rest. Nothing is lost and nothing is down:
//! a crash mid-way leaves the batches already written, and the next run goes
//! on from there. Past decisions' question vectors and review fixes' topic
//! centres are recomputed at the swap. Chunks stored while the English model
//! was missing get their English vectors here too.

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use crate::db::{Scope, System};
use crate::embed::{EmbedError, Embedder, Role};

/// Chunks embedded per transaction.
const BATCH: i64 = 32;

#[derive(Debug, thiserror::Error)]
pub enum ReembedError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Embed(#[from] EmbedError),
}

/// How far a workspace's move to the current model is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Chunks with a vector of the current model (in place or waiting).
    pub done: i64,
    pub total: i64,
}

impl Progress {
    /// Whether the workspace still has chunks of an older model.
    pub fn moving(&self) -> bool {
        self.done < self.total
    }
}

/// The workspace's progress towards the model `current`.
pub async fn progress(
    pool: &PgPool,
    workspace_id: Uuid,
    current: &str,
) -> Result<Progress, sqlx::Error> {
    let (done, total): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where embedded_with = $2 or embedding_next is not null),
                count(*)
           from chunk where workspace_id = $1",
    )
    .bind(workspace_id)
    .bind(current)
    .fetch_one(pool.ws(workspace_id))
    .await?;
    Ok(Progress { done, total })
}

/// Workspaces with chunks of another model than `current`, or without an
/// English vector while the English model is loaded (found across
/// workspaces by the owner's pool; each is then moved in its own scope).
pub async fn pending(system: &System, embedder: &Embedder) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "select distinct workspace_id from chunk
          where embedded_with <> $1 or ($2 and embedding_en is null)
          order by workspace_id",
        embedder.name(),
        embedder.english().is_some(),
    )
    .fetch_all(system.pool())
    .await
}

/// The English vectors a workspace lacks: copied from chunks whose vector
/// is still the English model's, then embedded a batch at a time. Returns how
/// many it set (0: none left).
async fn step_english(
    pool: &PgPool,
    embedder: &Embedder,
    workspace_id: Uuid,
) -> Result<usize, ReembedError> {
    let Some(english) = embedder.english() else {
        return Ok(0);
    };
    let copied = sqlx::query!(
        "update chunk set embedding_en = embedding
          where workspace_id = $1 and embedded_with = $2 and embedding_en is null",
        workspace_id,
        english.name(),
    )
    .execute(pool.ws(workspace_id))
    .await?
    .rows_affected();
    if copied > 0 {
        return Ok(copied as usize);
    }
    let mut tx = pool.ws(workspace_id).begin().await?;
    let rows: Vec<(Uuid, String, String)> = sqlx::query_as(
        "select chunk_id, heading_path, content from chunk
          where workspace_id = $1 and embedding_en is null
          order by chunk_id limit $2
          for update skip locked",
    )
    .bind(workspace_id)
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    embed_batch(tx, english, rows, Column::English).await
}

/// Embeds one batch of the workspace's chunks that still lack a vector of
/// the current model. Returns how many it embedded (0: none left).
pub async fn step(
    pool: &PgPool,
    embedder: &Embedder,
    workspace_id: Uuid,
) -> Result<usize, ReembedError> {
    // English vectors first: English questions then find every chunk while
    // the rest is re-embedded.
    let english = step_english(pool, embedder, workspace_id).await?;
    if english > 0 {
        return Ok(english);
    }
    let mut tx = pool.ws(workspace_id).begin().await?;
    // Locked rows are another instance's batch: skipped, not waited for.
    let rows: Vec<(Uuid, String, String)> = sqlx::query_as(
        "select chunk_id, heading_path, content from chunk
          where workspace_id = $1 and embedded_with <> $2 and embedding_next is null
          order by chunk_id limit $3
          for update skip locked",
    )
    .bind(workspace_id)
    .bind(embedder.name())
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    embed_batch(tx, embedder, rows, Column::Next).await
}

/// Where a batch's vectors are written.
#[derive(Clone, Copy)]
enum Column {
    /// `embedding_next`: the current model's, until the swap.
    Next,
    /// `embedding_en`: the English companion model's.
    English,
}

/// Embeds a batch of locked chunks (id, heading path, content) with `model`,
/// writes the vectors to `column` and commits. Returns how many (0: none).
async fn embed_batch(
    mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
    model: &Embedder,
    rows: Vec<(Uuid, String, String)>,
    column: Column,
) -> Result<usize, ReembedError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let texts = rows
        .iter()
        .map(|(_, heading, content)| format!("{heading}\n{content}"))
        .collect();
    let vectors: Vec<pgvector::Vector> = model
        .embed(texts, Role::Passage)
        .await?
        .into_iter()
        .map(pgvector::Vector::from)
        .collect();
    let ids: Vec<Uuid> = rows.iter().map(|(id, _, _)| *id).collect();
    let update = match column {
        Column::Next => {
            "update chunk c set embedding_next = v.embedding
               from unnest($1::uuid[], $2::vector[]) as v(chunk_id, embedding)
              where c.chunk_id = v.chunk_id"
        }
        Column::English => {
            "update chunk c set embedding_en = v.embedding
               from unnest($1::uuid[], $2::vector[]) as v(chunk_id, embedding)
              where c.chunk_id = v.chunk_id"
        }
    };
    sqlx::query(update)
        .bind(&ids)
        .bind(&vectors)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows.len())
}

/// Swaps the new vectors in when every chunk of the workspace has one, and
/// recomputes what depended on the old model. Returns whether it swapped
/// (not when there was nothing of an older model).
pub async fn finish(
    pool: &PgPool,
    embedder: &Embedder,
    workspace_id: Uuid,
) -> Result<bool, ReembedError> {
    let current = embedder.name();
    let mut tx = pool.ws(workspace_id).begin().await?;
    // Taken under a lock on the workspace's chunks of the old model, so a
    // concurrent batch cannot slip between the check and the swap.
    let waiting: Vec<(Uuid, bool)> = sqlx::query_as(
        "select chunk_id, embedding_next is not null from chunk
          where workspace_id = $1 and embedded_with <> $2 for update",
    )
    .bind(workspace_id)
    .bind(current)
    .fetch_all(&mut *tx)
    .await?;
    if waiting.is_empty() || waiting.iter().any(|(_, ready)| !ready) {
        return Ok(false);
    }
    sqlx::query!(
        "update chunk set embedding = embedding_next, embedding_next = null, embedded_with = $2
          where workspace_id = $1 and embedded_with <> $2",
        workspace_id,
        current,
    )
    .execute(&mut *tx)
    .await?;
    // The confidence is calibrated again on the new vectors.
    sqlx::query!(
        "delete from calibration where workspace_id = $1",
        workspace_id,
    )
    .execute(&mut *tx)
    .await?;
    // The review embeds decisions without a vector when it needs them.
    sqlx::query!(
        "update decision set embedding = null, embedded_with = $2
          where workspace_id = $1 and embedded_with <> $2",
        workspace_id,
        current,
    )
    .execute(&mut *tx)
    .await?;
    let fixes: Vec<(Uuid, Vec<String>)> = sqlx::query_as(
        "select fix_id, questions from review_fix where workspace_id = $1 and embedded_with <> $2",
    )
    .bind(workspace_id)
    .bind(current)
    .fetch_all(&mut *tx)
    .await?;
    for (fix_id, questions) in fixes {
        let vectors = embedder.embed(questions, Role::Query).await?;
        let centre = mean_direction(&vectors);
        sqlx::query("update review_fix set centre = $2, embedded_with = $3 where fix_id = $1")
            .bind(fix_id)
            .bind(pgvector::Vector::from(centre))
            .bind(current)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    tracing::info!(workspace.id = %workspace_id, model = current, "workspace moved to the current embedding model");
    Ok(true)
}

/// The normalised mean of unit vectors (a topic's centre, as the review
/// computes it).
fn mean_direction(vectors: &[Vec<f32>]) -> Vec<f32> {
    let mut sum = vec![0f32; crate::embed::DIMENSIONS];
    for v in vectors {
        sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
    }
    let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    sum.iter_mut().for_each(|x| *x /= norm);
    sum
}

/// Moves one workspace to the current model, to the end.
pub async fn run(
    pool: &PgPool,
    embedder: &Embedder,
    workspace_id: Uuid,
) -> Result<(), ReembedError> {
    while step(pool, embedder, workspace_id).await? > 0 {}
    finish(pool, embedder, workspace_id).await?;
    Ok(())
}

/// The background job of every instance: finds workspaces still on an older
/// model and moves them, a batch at a time.
pub fn spawn(pool: PgPool, system: System, embedder: Embedder) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match pending(&system, &embedder).await {
                Ok(workspaces) => {
                    for workspace_id in workspaces {
                        if let Err(err) = run(&pool, &embedder, workspace_id).await {
                            tracing::warn!(workspace.id = %workspace_id, error = %err, "re-embedding failed; retried later");
                        }
                    }
                }
                Err(err) => tracing::warn!(error = %err, "finding workspaces to re-embed failed"),
            }
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    })
}
