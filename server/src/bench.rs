//! `tandem bench-retrieval`: the hybrid retrieval measured side by side with
//! the plain vector search on the same table, over the same questions, in
//! one run. On a workspace as it is, or on a generated corpus of N chunks
//! (`--synthetic N`) grown from a workspace's own chunks: each a real chunk
//! with a share of its words swapped for words drawn from the corpus (so word
//! frequencies stay realistic) and its vectors moved by noise.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;
use uuid::Uuid;

use crate::db::Scope;
use crate::embed::{Embedder, Role};
use crate::lang::Language;
use crate::retrieve::{self, Query};

/// Twenty questions the way visitors of a shop, a SaaS and a software
/// project write them (the demo's site among them); `--questions` gives
/// others.
pub const QUESTIONS: [&str; 20] = [
    "what is the return window?",
    "do I get the shipping cost back if I return something",
    "how long does express delivery take",
    "can I change my delivery address after ordering",
    "how much does Nimbus Plus cost per year?",
    "my lamp keeps going offline, what can I do",
    "how do I reset the lamp to factory settings",
    "what does the warranty cover?",
    "can I pay with PayPal?",
    "Do you ship to the United States?",
    "how do I cancel my subscription",
    "I forgot my password and the reset email never arrives",
    "is there an API rate limit",
    "how do I export my data as CSV",
    "can I add more users to my plan",
    "database is locked error when two processes write",
    "how do I create an index on several columns",
    "what is the maximum size of a database file",
    "does it support full text search",
    "how do I back up a database while it is in use",
];

/// What one run measured, in milliseconds.
#[derive(Debug)]
pub struct Figures {
    pub chunks: i64,
    pub questions: usize,
    pub hybrid: Vec<f64>,
    pub plain: Vec<f64>,
}

impl Figures {
    pub fn hybrid_p(&self, p: f64) -> f64 {
        percentile(&self.hybrid, p)
    }

    pub fn plain_p(&self, p: f64) -> f64 {
        percentile(&self.plain, p)
    }
}

/// The `p` quantile of `values` (nearest rank; 0 for none).
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
        .get(((sorted.len().max(1) - 1) as f64 * p).round() as usize)
        .copied()
        .unwrap_or(0.0)
}

pub type BenchError = Box<dyn std::error::Error + Send + Sync>;

async fn chunks_in(pool: &PgPool, workspace_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from chunk where workspace_id = $1")
        .bind(workspace_id)
        .fetch_one(pool.ws(workspace_id))
        .await
}

/// Times `rounds` rounds over `questions` (after one round to warm up),
/// the two searches alternating which goes first.
pub async fn run(
    pool: &PgPool,
    embedder: &Embedder,
    workspace_id: Uuid,
    questions: &[String],
    rounds: usize,
) -> Result<Figures, BenchError> {
    let chunks = chunks_in(pool, workspace_id).await?;
    let vectors = embedder
        .embed(questions.to_vec(), Role::Query)
        .await
        .map_err(|e| e.to_string())?;
    let mut english = Vec::with_capacity(questions.len());
    for question in questions {
        let wanted = Language::detect(question).is_none_or(|l| l == Language::ENGLISH);
        english.push(match embedder.english() {
            Some(model) if wanted => Some(model.embed_one(question).await?),
            _ => None,
        });
    }
    let (mut hybrid, mut plain) = (vec![], vec![]);
    for round in 0..=rounds {
        for (i, question) in questions.iter().enumerate() {
            let query = Query {
                text: question,
                vector: &vectors[i],
                model: embedder.name(),
                english: english[i].as_deref(),
            };
            let time_hybrid = async || -> Result<f64, sqlx::Error> {
                let t = Instant::now();
                retrieve::retrieve(pool, workspace_id, query, 8).await?;
                Ok(t.elapsed().as_secs_f64() * 1e3)
            };
            let time_plain = async || -> Result<f64, sqlx::Error> {
                let t = Instant::now();
                retrieve::nearest(pool, workspace_id, &vectors[i], embedder.name(), 10).await?;
                Ok(t.elapsed().as_secs_f64() * 1e3)
            };
            let (h, p) = if (round + i) % 2 == 0 {
                let h = time_hybrid().await?;
                (h, time_plain().await?)
            } else {
                let p = time_plain().await?;
                (time_hybrid().await?, p)
            };
            if round > 0 {
                hybrid.push(h);
                plain.push(p);
            }
        }
    }
    Ok(Figures {
        chunks,
        questions: questions.len(),
        hybrid,
        plain,
    })
}

/// The questions of a file: one per line, plain or JSON lines with a
/// `question` field (the evaluation sets).
pub fn questions_from(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v.get("question")?.as_str().map(str::to_owned))
                .unwrap_or_else(|| line.to_owned())
        })
        .collect()
}

#[derive(sqlx::FromRow)]
struct Seed {
    heading_path: String,
    content: String,
    embedding: pgvector::Vector,
    embedding_en: Option<pgvector::Vector>,
    embedded_with: String,
    ts_config: String,
}

/// Grows workspace `target` to `n` chunks generated from `seed`'s (kept
/// when it has them already: the corpus is made once). Returns how many
/// chunks were added.
pub async fn synthesize(
    pool: &PgPool,
    seed_workspace: Uuid,
    target: Uuid,
    n: i64,
) -> Result<i64, BenchError> {
    let have = chunks_in(pool, target).await?;
    if have >= n {
        return Ok(0);
    }
    let seeds: Vec<Seed> = sqlx::query_as(
        "select heading_path, content, embedding, embedding_en, embedded_with, ts_config::text
         from chunk where workspace_id = $1 order by chunk_id",
    )
    .bind(seed_workspace)
    .fetch_all(pool.ws(seed_workspace))
    .await?;
    if seeds.is_empty() {
        return Err("the seed workspace has no chunks: crawl something first".into());
    }
    // Drawing a word at random from the running text draws it by frequency.
    let words: Vec<&str> = seeds
        .iter()
        .flat_map(|s| s.content.split_whitespace())
        .collect();
    let mut rng = StdRng::seed_from_u64(have as u64 ^ 0x7a4d);
    let source_id = Uuid::new_v4();
    sqlx::query!(
        "insert into source (source_id, workspace_id, kind, start_url, title)
         values ($1, $2, 'website', $3, 'Generated corpus')",
        source_id,
        target,
        format!("https://synthetic.invalid/{source_id}/"),
    )
    .execute(pool.ws(target))
    .await?;
    const PER_PAGE: i64 = 20;
    const BATCH: i64 = 500;
    let mut made = have;
    while made < n {
        let count = BATCH.min(n - made);
        let mut tx = pool.ws(target).begin().await?;
        let mut pages = vec![];
        let (mut ids, mut page_ids, mut ordinals, mut headings, mut contents) =
            (vec![], vec![], vec![], vec![], vec![]);
        let (mut vectors, mut english, mut models, mut configs) = (vec![], vec![], vec![], vec![]);
        for k in 0..count {
            let i = made + k;
            if i % PER_PAGE == 0 || pages.is_empty() {
                pages.push(Uuid::new_v4());
            }
            let seed = &seeds[rng.random_range(0..seeds.len())];
            let text: Vec<&str> = seed
                .content
                .split_whitespace()
                .map(|w| {
                    if rng.random_bool(0.3) {
                        words[rng.random_range(0..words.len())]
                    } else {
                        w
                    }
                })
                .collect();
            ids.push(Uuid::new_v4());
            page_ids.push(*pages.last().expect("pushed above"));
            ordinals.push((i % PER_PAGE) as i32);
            headings.push(seed.heading_path.clone());
            contents.push(text.join(" "));
            vectors.push(pgvector::Vector::from(moved(
                &mut rng,
                seed.embedding.as_slice(),
            )));
            english.push(
                seed.embedding_en
                    .as_ref()
                    .map(|v| pgvector::Vector::from(moved(&mut rng, v.as_slice()))),
            );
            models.push(seed.embedded_with.clone());
            configs.push(seed.ts_config.clone());
        }
        for page_id in &pages {
            sqlx::query!(
                "insert into page (page_id, source_id, workspace_id, url, title, content_hash)
                 values ($1, $2, $3, $4, $5, $6)",
                page_id,
                source_id,
                target,
                format!("https://synthetic.invalid/{source_id}/{page_id}"),
                format!("Generated page {page_id}"),
                page_id.as_bytes().to_vec(),
            )
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "insert into chunk (chunk_id, page_id, workspace_id, ordinal, heading_path, content,
                                embedding, embedded_with, ts_config, embedding_en)
             select id, page, $3, ordinal, heading, content, embedding, model, config::regconfig, english
             from unnest($1::uuid[], $2::uuid[], $4::int[], $5::text[], $6::text[], $7::vector[],
                         $8::text[], $9::text[], $10::vector[])
                  as t(id, page, ordinal, heading, content, embedding, model, config, english)",
        )
        .bind(&ids)
        .bind(&page_ids)
        .bind(target)
        .bind(&ordinals)
        .bind(&headings)
        .bind(&contents)
        .bind(&vectors)
        .bind(&models)
        .bind(&configs)
        .bind(&english)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        made += count;
        if made % 10_000 < BATCH {
            eprintln!("generated {made} of {n} chunks");
        }
    }
    Ok(made - have)
}

/// A unit vector near `v`: cosine about 0.8 to it for 384 dimensions.
fn moved(rng: &mut StdRng, v: &[f32]) -> Vec<f32> {
    let scale = 0.75 / (v.len() as f32).sqrt();
    let mut out: Vec<f32> = v
        .iter()
        .map(|x| {
            // A sum of uniforms is close enough to a normal draw here.
            let noise: f32 = (0..4).map(|_| rng.random::<f32>() - 0.5).sum::<f32>() * 1.73;
            x + noise * scale
        })
        .collect();
    let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
    out.iter_mut().for_each(|x| *x /= norm);
    out
}

/// Prints the figures; the last line is the one the issue asks for.
pub fn print(figures: &Figures) {
    println!(
        "retrieval over {} chunks, {} questions, {} timings each (warm):",
        figures.chunks,
        figures.questions,
        figures.hybrid.len()
    );
    for (name, values) in [
        ("hybrid (vector + full text, fused)", &figures.hybrid),
        ("plain pgvector top-10", &figures.plain),
    ] {
        println!(
            "  {name:<36} p50 {:>7.2} ms   p95 {:>7.2} ms   max {:>7.2} ms",
            percentile(values, 0.5),
            percentile(values, 0.95),
            percentile(values, 1.0)
        );
    }
    let (h, p) = (figures.hybrid_p(0.95), figures.plain_p(0.95));
    println!(
        "hybrid p95 {h:.2} ms, pgvector p95 {p:.2} ms, ratio {:.2}",
        h / p.max(1e-9)
    );
}
