//! Hybrid retrieval: pgvector cosine search (HNSW) and PostgreSQL full-text
//! search, both filtered by workspace inside the search, fused by reciprocal rank.

use sqlx::PgPool;
use uuid::Uuid;

use crate::db::Scope;

/// How many candidates each search contributes before fusion.
const CANDIDATES: i64 = 20;
/// The usual reciprocal-rank-fusion constant.
const RRF_K: f64 = 60.0;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Passage {
    pub chunk_id: Uuid,
    pub title: String,
    pub heading_path: String,
    /// The page URL with the section's anchor.
    pub url: String,
    pub content: String,
    pub fused_score: f64,
    /// Cosine similarity between the question and the passage.
    pub similarity: f64,
}

pub async fn retrieve(
    pool: &PgPool,
    workspace_id: Uuid,
    question: &str,
    question_vector: &[f32],
    limit: i64,
) -> Result<Vec<Passage>, sqlx::Error> {
    let mut tx = pool.ws(workspace_id).begin().await?;
    // Keep scanning the index until enough rows pass the workspace filter.
    sqlx::query("set local hnsw.iterative_scan = relaxed_order")
        .execute(&mut *tx)
        .await?;
    sqlx::query("set local hnsw.ef_search = 100")
        .execute(&mut *tx)
        .await?;
    let passages = sqlx::query_as::<_, Passage>(
        "with semantic as (
            select chunk_id, row_number() over (order by embedding <=> $2) as rank
            from chunk where workspace_id = $1
            order by embedding <=> $2 limit $4
         ),
         keyword as (
            select chunk_id, row_number() over (order by ts_rank_cd(search, query) desc) as rank
            from chunk, to_tsquery('english', replace(plainto_tsquery('english', $3)::text, '&', '|')) query
            where workspace_id = $1 and search @@ query
            order by ts_rank_cd(search, query) desc limit $4
         ),
         fused as (
            select chunk_id,
                   coalesce(1.0 / ($5 + semantic.rank), 0.0) + coalesce(1.0 / ($5 + keyword.rank), 0.0) as fused_score
            from semantic full outer join keyword using (chunk_id)
         )
         select c.chunk_id, p.title, c.heading_path,
                p.url || coalesce('#' || c.anchor, '') as url,
                c.content, f.fused_score::float8 as fused_score,
                (1 - (c.embedding <=> $2))::float8 as similarity
         from fused f join chunk c using (chunk_id) join page p using (page_id)
         order by f.fused_score desc, similarity desc
         limit $6",
    )
    .bind(workspace_id)
    .bind(pgvector::Vector::from(question_vector.to_vec()))
    .bind(question)
    .bind(CANDIDATES)
    .bind(RRF_K)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(passages)
}
