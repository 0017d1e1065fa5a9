//! Hybrid retrieval: pgvector cosine search (HNSW) and PostgreSQL full-text
//! search, both filtered by workspace inside the search, fused by reciprocal rank.

use sqlx::PgPool;
use uuid::Uuid;

use crate::db::Scope;
use crate::lang::Language;

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
    /// The text-search configuration of the passage's page: its language.
    pub ts_config: String,
}

/// The question and its vector, from the model named `model`: only chunks
/// embedded by that model are compared with it (during a workspace's move to
/// another model, the others are found by the other searches).
#[derive(Clone, Copy, Debug)]
pub struct Query<'a> {
    pub text: &'a str,
    pub vector: &'a [f32],
    pub model: &'a str,
    /// The English companion model's vector of an English question: searched
    /// too, and fused with the rest.
    pub english: Option<&'a [f32]>,
}

impl<'a> Query<'a> {
    /// A question searched with the model `model` alone (no English search).
    pub fn new(text: &'a str, vector: &'a [f32], model: &'a str) -> Self {
        Self {
            text,
            vector,
            model,
            english: None,
        }
    }
}

/// The text-search configuration for a question: its language's when it can
/// be told, else English. Pages are stemmed in their own language, so a
/// German question meets German pages on their stems.
fn ts_config(question: &str) -> &'static str {
    Language::detect(question).map_or("english", Language::ts_config)
}

pub async fn retrieve(
    pool: &PgPool,
    workspace_id: Uuid,
    query: Query<'_>,
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
    let sql = if query.english.is_some() {
        HYBRID_WITH_ENGLISH
    } else {
        HYBRID
    };
    let passages = sqlx::query_as::<_, Passage>(sql)
        .bind(workspace_id)
        .bind(pgvector::Vector::from(query.vector.to_vec()))
        .bind(query.text)
        .bind(CANDIDATES)
        .bind(RRF_K)
        .bind(limit)
        .bind(query.model)
        .bind(ts_config(query.text))
        .bind(query.english.map(|v| pgvector::Vector::from(v.to_vec())))
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(passages)
}

/// The multilingual search and the full-text search, fused.
const HYBRID: &str = "with semantic as (
            select chunk_id, row_number() over (order by embedding <=> $2) as rank
            from chunk where workspace_id = $1 and embedded_with = $7
            order by embedding <=> $2 limit $4
         ),
         keyword as (
            select chunk_id, row_number() over (order by ts_rank_cd(search, query) desc) as rank
            from chunk, to_tsquery($8::regconfig, replace(plainto_tsquery($8::regconfig, $3)::text, '&', '|')) query
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
                (1 - (c.embedding <=> $2))::float8 as similarity, c.ts_config::text as ts_config
         from fused f join chunk c using (chunk_id) join page p using (page_id)
         where $9::vector is null
         order by f.fused_score desc, similarity desc
         limit $6";

/// The same with the English companion model's search as a third list.
const HYBRID_WITH_ENGLISH: &str = "with semantic as (
            select chunk_id, row_number() over (order by embedding <=> $2) as rank
            from chunk where workspace_id = $1 and embedded_with = $7
            order by embedding <=> $2 limit $4
         ),
         english as (
            select chunk_id, row_number() over (order by embedding_en <=> $9) as rank
            from chunk where workspace_id = $1 and embedding_en is not null
            order by embedding_en <=> $9 limit $4
         ),
         keyword as (
            select chunk_id, row_number() over (order by ts_rank_cd(search, query) desc) as rank
            from chunk, to_tsquery($8::regconfig, replace(plainto_tsquery($8::regconfig, $3)::text, '&', '|')) query
            where workspace_id = $1 and search @@ query
            order by ts_rank_cd(search, query) desc limit $4
         ),
         fused as (
            select chunk_id,
                   coalesce(1.0 / ($5 + semantic.rank), 0.0) + coalesce(1.0 / ($5 + english.rank), 0.0)
                   + coalesce(1.0 / ($5 + keyword.rank), 0.0) as fused_score
            from semantic full outer join english using (chunk_id) full outer join keyword using (chunk_id)
         )
         select c.chunk_id, p.title, c.heading_path,
                p.url || coalesce('#' || c.anchor, '') as url,
                c.content, f.fused_score::float8 as fused_score,
                (1 - (c.embedding <=> $2))::float8 as similarity, c.ts_config::text as ts_config
         from fused f join chunk c using (chunk_id) join page p using (page_id)
         order by f.fused_score desc, similarity desc
         limit $6";
