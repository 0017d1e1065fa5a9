//! Hybrid retrieval: pgvector cosine search (HNSW) and PostgreSQL full-text
//! search, both filtered by workspace inside the search, fused by reciprocal rank.
//!
//! The full-text search looks for the question's rarer words only: the
//! `lexeme` table counts the chunks holding each word, and words are taken
//! rarest first while the chunks they match fit [`KEYWORD_BUDGET`]. Common
//! words would match (and have every match ranked) a share of the whole
//! corpus, and say little a semantic search does not; so the search costs
//! about the same at 10k chunks as at 100k (`tandem bench-retrieval`).

pub mod rescore;

use sqlx::PgPool;
use uuid::Uuid;

use crate::lang::Language;

/// How many candidates each search contributes before fusion.
const CANDIDATES: i64 = 20;
/// The usual reciprocal-rank-fusion constant.
const RRF_K: f64 = 60.0;
/// At most this many chunks are ranked by the full-text search: the
/// question's words are taken rarest first while their chunks fit.
pub const KEYWORD_BUDGET: i64 = 300;

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

/// A transaction for a search in the workspace: the workspace and the
/// vector index's settings, set in one round trip.
async fn begin_search(
    pool: &PgPool,
    workspace_id: Uuid,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // The index is scanned on until enough rows pass the workspace filter;
    // each search is planned for its own values (a generic plan cannot use
    // the vector index for a parameter, and once chosen it sticks).
    sqlx::query(
        "select set_config('app.workspace_id', $1::text, true),
                set_config('hnsw.iterative_scan', 'relaxed_order', true),
                set_config('plan_cache_mode', 'force_custom_plan', true)",
    )
    .bind(workspace_id)
    .execute(&mut *tx)
    .await?;
    Ok(tx)
}

/// The plain vector search: the `limit` chunks nearest the model's vector,
/// with the same columns [`retrieve`] returns. What the hybrid search is
/// measured against (`tandem bench-retrieval`).
pub async fn nearest(
    pool: &PgPool,
    workspace_id: Uuid,
    vector: &[f32],
    model: &str,
    limit: i64,
) -> Result<Vec<Passage>, sqlx::Error> {
    let mut tx = begin_search(pool, workspace_id).await?;
    let passages = sqlx::query_as::<_, Passage>(
        "select c.chunk_id, p.title, c.heading_path,
                p.url || coalesce('#' || c.anchor, '') as url,
                c.content, 0.0::float8 as fused_score,
                (1 - (c.embedding <=> $2))::float8 as similarity, c.ts_config::text as ts_config
         from chunk c join page p using (page_id)
         where c.workspace_id = $1 and c.embedded_with = $3
         order by c.embedding <=> $2 limit $4",
    )
    .bind(workspace_id)
    .bind(pgvector::Vector::from(vector.to_vec()))
    .bind(model)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(passages)
}

/// The searches (the English one only for an English question) and their
/// reciprocal-rank fusion, in one statement. (Run at once on two
/// connections instead, they were no faster on two cores.)
pub async fn retrieve(
    pool: &PgPool,
    workspace_id: Uuid,
    query: Query<'_>,
    limit: i64,
) -> Result<Vec<Passage>, sqlx::Error> {
    let mut tx = begin_search(pool, workspace_id).await?;
    let passages = sqlx::query_as::<_, Passage>(HYBRID)
        .bind(workspace_id)
        .bind(pgvector::Vector::from(query.vector.to_vec()))
        .bind(query.text)
        .bind(CANDIDATES)
        .bind(query.model)
        .bind(ts_config(query.text))
        .bind(query.english.map(|v| pgvector::Vector::from(v.to_vec())))
        .bind(KEYWORD_BUDGET)
        .bind(RRF_K)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(passages)
}

/// The multilingual model's nearest chunks, the English companion's (when
/// $7 is given), and the full-text search on the question's rarer words
/// (module docs), fused; only the best are joined to their text. $1
/// workspace, $2 vector, $3 text, $4 candidates per search, $5 model, $6
/// text-search configuration, $7 English vector, $8 keyword budget, $9
/// fusion constant, $10 passages wanted.
const HYBRID: &str = "with semantic as (
        select chunk_id, row_number() over (order by embedding <=> $2) as rank
        from chunk where workspace_id = $1 and embedded_with = $5
        order by embedding <=> $2 limit $4
     ),
     english as (
        select chunk_id, row_number() over (order by embedding_en <=> $7) as rank
        from chunk where $7::vector is not null and workspace_id = $1 and embedding_en is not null
        order by embedding_en <=> $7 limit $4
     ),
     terms as (
        select l.lexeme, l.chunks
        from unnest(tsvector_to_array(to_tsvector($6::regconfig, $3))) t(lexeme)
          join lexeme l on l.workspace_id = $1 and l.lexeme = t.lexeme and l.chunks > 0
     ),
     rare as (
        select string_agg(quote_literal(lexeme), ' | ')::tsquery as query
        from (select lexeme, sum(chunks) over (order by chunks, lexeme) as running from terms) t
        where running <= $8
     ),
     keyword as (
        select chunk_id, row_number() over (order by ts_rank_cd(search, query) desc) as rank
        from chunk, rare
        where workspace_id = $1 and search @@ query
        order by ts_rank_cd(search, query) desc limit $4
     ),
     fused as (
        select chunk_id, sum(1.0 / ($9 + rank))::float8 as fused_score
        from (select * from semantic union all select * from english union all select * from keyword) r
        group by chunk_id
        -- Room for ties, which the closer passage breaks.
        order by fused_score desc limit $10 * 2
     )
     select c.chunk_id, p.title, c.heading_path,
            p.url || coalesce('#' || c.anchor, '') as url,
            c.content, f.fused_score,
            (1 - (c.embedding <=> $2))::float8 as similarity, c.ts_config::text as ts_config
     from fused f join chunk c using (chunk_id) join page p using (page_id)
     order by f.fused_score desc, similarity desc
     limit $10";
