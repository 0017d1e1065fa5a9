//! `tandem bench` and `tandem bench-retrieval`: answer and retrieval latency.

use crate::config::{DbArgs, ModelArgs};
use crate::embed::Role;

use super::{open_workspace, workspace_id, AnyError};

/// Questions for `tandem bench`: answerable ones and off-topic ones.
const BENCH_QUESTIONS: &[&str] = &[
    "how long do refunds take?",
    "Do you ship to the United States?",
    "how much does Nimbus Plus cost per year?",
    "can I pay with PayPal?",
    "my lamp keeps going offline",
    "how do I reset the lamp",
    "can I change my delivery address",
    "what does the warranty cover?",
    "What is the capital of Mongolia?",
    "do you sell light bulbs",
];

pub async fn bench(
    db: DbArgs,
    model: ModelArgs,
    workspace: String,
    rounds: usize,
) -> Result<(), AnyError> {
    let (pool, embedder, workspace_id) = open_workspace(&db, &model, &workspace, false).await?;
    let chunks: Vec<String> = sqlx::query_scalar(
        "select heading_path || E'\\n' || content from chunk where workspace_id = $1 order by chunk_id",
    )
    .bind(workspace_id)
    .fetch_all(&pool)
    .await?;
    if chunks.is_empty() {
        return Err(format!("workspace `{workspace}` has no chunks: crawl something first").into());
    }
    let tokens: usize = chunks.iter().map(|c| c.split_whitespace().count()).sum();
    let started = std::time::Instant::now();
    embedder.embed(chunks.clone(), Role::Passage).await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "embedding: {} chunks (~{} words each) in {:.2} s = {:.1} chunks/s",
        chunks.len(),
        tokens / chunks.len(),
        seconds,
        chunks.len() as f64 / seconds
    );

    let (mut embed_ms, mut retrieve_ms, mut compose_ms, mut total_ms) =
        (vec![], vec![], vec![], vec![]);
    for _ in 0..rounds {
        for question in BENCH_QUESTIONS {
            let t0 = std::time::Instant::now();
            let vector = embedder.embed_one(question).await?;
            let t1 = std::time::Instant::now();
            let passages = crate::retrieve::retrieve(
                &pool,
                workspace_id,
                crate::retrieve::Query::new(question, &vector, embedder.name()),
                8,
            )
            .await?;
            let t2 = std::time::Instant::now();
            let ranked =
                crate::retrieve::rescore::rescore(&embedder, question, &vector, passages).await?;
            crate::answer::extractive::compose(&crate::answer::generate::sources(&ranked));
            let t3 = std::time::Instant::now();
            embed_ms.push((t1 - t0).as_secs_f64() * 1e3);
            retrieve_ms.push((t2 - t1).as_secs_f64() * 1e3);
            compose_ms.push((t3 - t2).as_secs_f64() * 1e3);
            total_ms.push((t3 - t0).as_secs_f64() * 1e3);
        }
    }
    println!(
        "answer path over {} questions ({} rounds of {}):",
        total_ms.len(),
        rounds,
        BENCH_QUESTIONS.len()
    );
    for (name, values) in [
        ("embed question", &mut embed_ms),
        ("hybrid retrieval", &mut retrieve_ms),
        ("rescore + compose", &mut compose_ms),
        ("total", &mut total_ms),
    ] {
        values.sort_by(f64::total_cmp);
        println!(
            "  {name:<18} p50 {:>7.1} ms   p95 {:>7.1} ms   max {:>7.1} ms",
            crate::bench::percentile(values, 0.5),
            crate::bench::percentile(values, 0.95),
            values[values.len() - 1]
        );
    }
    Ok(())
}

pub async fn bench_retrieval(
    db: DbArgs,
    model: ModelArgs,
    workspace: String,
    synthetic: Option<i64>,
    questions: Option<std::path::PathBuf>,
    rounds: usize,
) -> Result<(), AnyError> {
    let (pool, embedder, mut workspace_id) = open_workspace(&db, &model, &workspace, false).await?;
    if let Some(n) = synthetic {
        let seed = workspace_id;
        workspace_id =
            self::workspace_id(&pool, &format!("{workspace}-synthetic-{n}"), true).await?;
        let started = std::time::Instant::now();
        let added = crate::bench::synthesize(&pool, seed, workspace_id, n).await?;
        if added > 0 {
            println!(
                "generated {added} chunks from `{workspace}` in {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
        // Fresh planner statistics, as autovacuum would have by now.
        sqlx::query!("analyze chunk",).execute(&pool).await?;
    }
    let questions = match questions {
        Some(path) => crate::bench::questions_from(&std::fs::read_to_string(&path)?),
        None => crate::bench::QUESTIONS.map(str::to_owned).to_vec(),
    };
    if questions.is_empty() {
        return Err("no questions".into());
    }
    let figures = crate::bench::run(&pool, &embedder, workspace_id, &questions, rounds).await?;
    crate::bench::print(&figures);
    Ok(())
}
