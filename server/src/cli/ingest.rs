//! `tandem ingest` (a website or files into a workspace, with progress) and
//! `tandem bench-ingest`.

use super::ask::policy;
use crate::config::{DbArgs, ModelArgs};
use crate::db;
use crate::db::Scope;
use crate::embed::{Embedder, Role};
use crate::ingest::crawl::CrawlSettings;
use crate::ingest::jobs;
use crate::outbound::Outbound;
use axum::serve::ListenerExt;
use uuid::Uuid;

use super::{open_workspace, AnyError};

pub async fn ingest(
    db: DbArgs,
    model: ModelArgs,
    outbound: Outbound,
    workspace: String,
    settings: CrawlSettings,
    public_url: String,
    source: String,
) -> Result<(), AnyError> {
    let (pool, embedder, workspace_id) = open_workspace(&db, &model, &workspace, true).await?;
    let mut job_ids = Vec::new();
    if source.starts_with("http://") || source.starts_with("https://") {
        let source_id = jobs::website_source(&pool, workspace_id, &source, &settings, None).await?;
        job_ids.push((
            source,
            jobs::enqueue(pool.ws(workspace_id), source_id).await?,
        ));
    } else {
        let path = std::path::Path::new(&source);
        let files: Vec<std::path::PathBuf> = if path.is_dir() {
            let mut files: Vec<_> = std::fs::read_dir(path)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            files
        } else if path.is_file() {
            vec![path.to_owned()]
        } else {
            return Err(format!("{source}: not a URL, a file or a folder").into());
        };
        for file in files {
            let name = file
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(&file)?;
            match jobs::add_file(&pool, &public_url, workspace_id, &name, None, bytes).await {
                Ok((_, job_id)) => job_ids.push((name, job_id)),
                Err(err) => eprintln!("  skipped {name}: {err}"),
            }
        }
    }
    let worker = Uuid::new_v4();
    let (mut indexed, mut failed) = (0, 0);
    for (label, job_id) in job_ids {
        let row = run_with_progress(
            &pool,
            workspace_id,
            &embedder,
            &outbound,
            worker,
            job_id,
            &label,
        )
        .await?;
        indexed += row.pages_changed + row.pages_unchanged;
        failed += row.pages_failed;
        let failures: Vec<(String, Option<String>)> = sqlx::query_as(
            "select url, detail from crawl_item where job_id = $1 and state = 'failed' order by url limit 20",
        )
        .bind(job_id)
        .fetch_all(&pool)
        .await?;
        for (url, detail) in failures {
            println!("    failed  {url}: {}", detail.unwrap_or_default());
        }
    }
    if indexed == 0 {
        let pages = if failed == 1 { "page" } else { "pages" };
        return Err(format!("nothing could be indexed ({failed} {pages} failed)").into());
    }
    // Chunks of an earlier model are re-embedded here too, then the
    // confidence is calibrated on the content as it now is.
    crate::ingest::reembed::run(&pool, &embedder, workspace_id).await?;
    let current = policy(&pool, workspace_id).await?;
    let (answerable, off_topic) =
        crate::policy::calibrate::calibrate(&pool, &embedder, &current, workspace_id).await?;
    let current = policy(&pool, workspace_id).await?;
    if let (Some(target), Some(calibration)) = (current.handoff_target, &current.calibration) {
        if let Some(point) = calibration.threshold_for(target) {
            println!(
                "  calibrated on {answerable} questions from the content and {off_topic} off-topic ones: \
                 at most {:.0} % handed off -> threshold {:.2}, off-topic answered {:.0} %",
                target * 100.0,
                point.threshold,
                point.unanswerable_answered * 100.0
            );
        }
    }
    Ok(())
}

/// Runs one job here (or watches the server that took it first) with a
/// progress bar, then prints its summary line.
pub async fn run_with_progress(
    pool: &sqlx::PgPool,
    workspace_id: Uuid,
    embedder: &Embedder,
    outbound: &Outbound,
    worker: Uuid,
    job_id: Uuid,
    label: &str,
) -> Result<jobs::JobRow, AnyError> {
    // A running server's worker may take the job first: then we watch it.
    // The command line works as the tables' owner (migrating first).
    let claimed = jobs::claim(&db::System(pool.clone()), worker, Some(job_id)).await?;
    let bar = indicatif::ProgressBar::new(1);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {msg:<40} [{bar:30}] {pos}/{len} pages  {elapsed}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.set_message(label.chars().take(40).collect::<String>());
    let watch = {
        let (pool, bar) = (pool.clone(), bar.clone());
        tokio::spawn(async move {
            loop {
                if let Ok(row) = jobs::job(pool.ws(workspace_id), job_id).await {
                    bar.set_length(row.pages_found.max(1) as u64);
                    bar.set_position(row.pages_done as u64);
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        })
    };
    let started = std::time::Instant::now();
    let row = match claimed {
        Some(claimed) => jobs::run(pool, embedder, outbound, worker, claimed).await,
        None => loop {
            let row = jobs::job(pool.ws(workspace_id), job_id).await?;
            if !row.status.active() {
                break row;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        },
    };
    watch.abort();
    bar.set_length(row.pages_found.max(1) as u64);
    bar.set_position(row.pages_done as u64);
    bar.finish();
    println!(
        "  {}: {} pages ({} new or changed, {} unchanged), {} chunks, {} skipped, {} errors in {:.1} s{}",
        row.status,
        row.pages_changed + row.pages_unchanged,
        row.pages_changed,
        row.pages_unchanged,
        row.chunks,
        row.pages_skipped,
        row.pages_failed,
        started.elapsed().as_secs_f64(),
        row.message.as_deref().map(|m| format!(" — {m}")).unwrap_or_default()
    );
    Ok(row)
}

/// Peak resident memory of this process, from /proc.
pub fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub async fn bench_ingest(
    db: DbArgs,
    model: ModelArgs,
    workspace: String,
    site: std::path::PathBuf,
    start: String,
) -> Result<(), AnyError> {
    if !site.join(&start).is_file() {
        return Err(format!("{}: no such page", site.join(&start).display()).into());
    }
    let (pool, embedder, workspace_id) = open_workspace(&db, &model, &workspace, true).await?;
    // A fresh start: the workspace's earlier sources go.
    sqlx::query!("delete from source where workspace_id = $1", workspace_id,)
        .execute(&pool)
        .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().fallback_service(tower_http::services::ServeDir::new(&site));
    tokio::spawn(async move {
        // Like any production web server: no Nagle delay on small responses.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let _ = axum::serve(listener, app).await;
    });
    let url = format!("http://{addr}/{start}");
    // The bench's own local server, and nothing else of this machine.
    let outbound = Outbound::allowing([addr.to_string()])?;
    println!("ingesting {url} (served from {})", site.display());
    let settings = CrawlSettings::default();
    let source_id = jobs::website_source(&pool, workspace_id, &url, &settings, None).await?;
    let worker = Uuid::new_v4();
    let mut rows = Vec::new();
    for label in ["first crawl", "unchanged re-crawl"] {
        let job_id = jobs::enqueue(pool.ws(workspace_id), source_id).await?;
        let started = std::time::Instant::now();
        let row = run_with_progress(
            &pool,
            workspace_id,
            &embedder,
            &outbound,
            worker,
            job_id,
            label,
        )
        .await?;
        rows.push((row, started.elapsed().as_secs_f64()));
    }
    let (first, first_s) = &rows[0];
    let (second, second_s) = &rows[1];
    let words: Vec<i64> = sqlx::query_scalar(
        "select array_length(regexp_split_to_array(heading_path || ' ' || content, '\\s+'), 1)::bigint
         from chunk where workspace_id = $1",
    )
    .bind(workspace_id)
    .fetch_all(&pool)
    .await?;
    let tokens = {
        let sample: Vec<String> = sqlx::query_scalar(
            "select heading_path || E'\\n' || content from chunk where workspace_id = $1 order by chunk_id limit 500",
        )
        .bind(workspace_id)
        .fetch_all(&pool)
        .await?;
        embedder.count_tokens(&sample).unwrap_or(0) as f64 / sample.len().max(1) as f64
    };
    println!();
    println!(
        "ingestion bench ({} pages, {} chunks)",
        first.pages_changed, first.chunks
    );
    println!(
        "  crawl + clean + chunk  {:>8.1} pages/s   ({} pages in {:.1} s)",
        first.pages_done as f64 / first.crawl_seconds.max(1e-9),
        first.pages_done,
        first.crawl_seconds
    );
    println!(
        "  embedding              {:>8.1} chunks/s  ({} chunks of ~{:.0} tokens, ~{} words, in {:.1} s)",
        first.chunks as f64 / first.embed_seconds.max(1e-9),
        first.chunks,
        tokens,
        words.iter().sum::<i64>() / words.len().max(1) as i64,
        first.embed_seconds
    );
    println!("  first crawl, total     {first_s:>8.1} s");
    println!(
        "  unchanged re-crawl     {second_s:>8.1} s   ({:.0}x faster; {} unchanged, {} changed)",
        first_s / second_s.max(1e-9),
        second.pages_unchanged,
        second.pages_changed
    );
    if let Some(mb) = peak_memory_mb() {
        println!("  peak memory            {mb:>8.0} MB");
    }

    // The parts on their own: cleaning + chunking from disk on one thread
    // (no HTTP, no database), and embedding at the model's full 256 tokens.
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&site)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "html"))
        .collect();
    files.sort();
    let started = std::time::Instant::now();
    let mut chunked = 0;
    for file in &files {
        let html = std::fs::read_to_string(file)?;
        let page = crate::ingest::extract::extract(&html);
        chunked += crate::ingest::PreparedPage::new(file.display().to_string(), &page)
            .chunks
            .len();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "  clean + chunk alone    {:>8.1} pages/s   ({} pages, {chunked} chunks, one thread, from disk)",
        files.len() as f64 / seconds,
        files.len()
    );
    let texts: Vec<String> = sqlx::query_scalar!(
        "select content from chunk where workspace_id = $1 order by chunk_id",
        workspace_id,
    )
    .fetch_all(&pool)
    .await?;
    let mut long = Vec::new();
    let mut current = String::new();
    for text in texts {
        current.push_str(&text);
        current.push('\n');
        if current.len() >= 2500 {
            long.push(std::mem::take(&mut current));
            if long.len() == 400 {
                break;
            }
        }
    }
    let tokens = embedder.count_tokens(&long)? as f64 / long.len().max(1) as f64;
    let started = std::time::Instant::now();
    embedder.embed(long.clone(), Role::Passage).await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "  embedding, full chunks {:>8.1} chunks/s  ({} chunks of {tokens:.0} tokens in {seconds:.1} s)",
        long.len() as f64 / seconds,
        long.len()
    );
    Ok(())
}
