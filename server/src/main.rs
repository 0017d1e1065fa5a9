//! `tandem`: the server binary and its subcommands.

use std::process::ExitCode;
use std::sync::Arc;

use app::types::Confidence;
use clap::{Parser, Subcommand};
use tandem::config::{DbArgs, ModelArgs, ServeArgs};
use tandem::embed::Embedder;
use tandem::ingest::Crawler;
use tandem::thread::hub::Hub;
use tandem::{db, demo, http, AnswerSettings, AppState, Engines};
use tracing_subscriber::EnvFilter;
use uuid::Uuid;

#[derive(Parser)]
#[command(
    name = "tandem",
    version,
    about = "AI-first customer support with a seamless human handoff"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (what `make run` starts).
    Serve(Box<ServeArgs>),
    /// Apply database migrations and exit.
    Migrate(DbArgs),
    /// Crawl a website into a workspace's knowledge (creating the workspace if needed).
    Ingest {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        model: ModelArgs,
        /// Workspace slug.
        #[arg(long)]
        workspace: String,
        /// Start URL of the site.
        url: String,
    },
    /// Measure the answer path on a trained workspace and print the figures:
    /// embedding throughput over its chunks, and question-to-answer latency.
    Bench {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, default_value = "demo")]
        workspace: String,
        /// Rounds over the question set.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// Ask a workspace's AI a question from the command line; prints the decision.
    Ask {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, default_value = "demo")]
        workspace: String,
        question: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    // PostgreSQL's NOTICEs (e.g. "relation already exists, skipping") are not news.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info"))
        .add_directive(
            "sqlx::postgres::notice=warn"
                .parse()
                .expect("static directive"),
        );
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
    let result = match Cli::parse().command {
        Command::Serve(args) => serve(*args).await,
        Command::Bench {
            db,
            model,
            workspace,
            rounds,
        } => bench(db, model, workspace, rounds).await,
        Command::Migrate(args) => migrate(args).await,
        Command::Ingest {
            db,
            model,
            workspace,
            url,
        } => ingest(db, model, workspace, url).await,
        Command::Ask {
            db,
            model,
            workspace,
            question,
        } => ask(db, model, workspace, question).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tandem: {err}");
            ExitCode::FAILURE
        }
    }
}

type AnyError = Box<dyn std::error::Error + Send + Sync>;

async fn connect(args: &DbArgs) -> Result<sqlx::PgPool, AnyError> {
    let pool = db::connect(&args.url()).await?;
    db::migrate(&pool).await?;
    Ok(pool)
}

async fn migrate(args: DbArgs) -> Result<(), AnyError> {
    connect(&args).await?;
    println!("migrations applied");
    Ok(())
}

async fn workspace_id(pool: &sqlx::PgPool, slug: &str, create: bool) -> Result<Uuid, AnyError> {
    if create {
        sqlx::query("insert into workspace (workspace_id, slug, name) values ($1, $2, $2) on conflict (slug) do nothing")
            .bind(Uuid::new_v4())
            .bind(slug)
            .execute(pool)
            .await?;
    }
    let id: Option<Uuid> = sqlx::query_scalar("select workspace_id from workspace where slug = $1")
        .bind(slug)
        .fetch_optional(pool)
        .await?;
    id.ok_or_else(|| format!("no workspace `{slug}`").into())
}

/// What the offline subcommands need: the database, the model and a workspace.
async fn open_workspace(
    db: &DbArgs,
    model: &ModelArgs,
    slug: &str,
    create: bool,
) -> Result<(sqlx::PgPool, Embedder, Uuid), AnyError> {
    let pool = connect(db).await?;
    let embedder = Embedder::load(&model.model_dir)?;
    let workspace_id = workspace_id(&pool, slug, create).await?;
    Ok((pool, embedder, workspace_id))
}

async fn ingest(
    db: DbArgs,
    model: ModelArgs,
    workspace: String,
    url: String,
) -> Result<(), AnyError> {
    let (pool, embedder, workspace_id) = open_workspace(&db, &model, &workspace, true).await?;
    let started = std::time::Instant::now();
    let report = Crawler::new(pool, embedder)
        .crawl(workspace_id, &url)
        .await?;
    println!(
        "{} pages indexed, {} unchanged, {} chunks, {} errors in {:.1} s",
        report.pages_indexed,
        report.pages_unchanged,
        report.chunks,
        report.errors.len(),
        started.elapsed().as_secs_f32()
    );
    for (url, err) in report.errors {
        println!("  {url}: {err}");
    }
    Ok(())
}

async fn ask(
    db: DbArgs,
    model: ModelArgs,
    workspace: String,
    question: String,
) -> Result<(), AnyError> {
    let (pool, embedder, workspace_id) = open_workspace(&db, &model, &workspace, false).await?;
    if let Some(matched) = tandem::handoff::human_request(&question) {
        println!("handoff: asked for a person (\u{201c}{matched}\u{201d})");
        return Ok(());
    }
    if let Some((category, matched)) = tandem::handoff::sensitive_topic(&question) {
        println!("handoff: sensitive topic {category} (\u{201c}{matched}\u{201d})");
        return Ok(());
    }
    let vector = embedder.embed_one(&question).await?;
    let passages = tandem::retrieve::retrieve(&pool, workspace_id, &question, &vector, 8).await?;
    for p in &passages {
        println!(
            "  {:.4} sim {:.3}  {}  ({})",
            p.fused_score, p.similarity, p.heading_path, p.url
        );
    }
    match tandem::answer::compose(&embedder, &question, &vector, &passages).await? {
        Some(draft) => {
            println!(
                "confidence {:.2} (best sentence {:.3}, top passage {:.3})\n{}",
                draft.confidence.value(),
                draft.sentence_score,
                draft.top_similarity,
                draft.text
            );
            for c in draft.citations {
                println!("  [{}] {} <{}>", c.number, c.heading_path, c.url);
            }
        }
        None => println!("no answer: nothing relevant found"),
    }
    Ok(())
}

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

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn bench(
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
    embedder.embed(chunks.clone()).await?;
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
            let passages =
                tandem::retrieve::retrieve(&pool, workspace_id, question, &vector, 8).await?;
            let t2 = std::time::Instant::now();
            tandem::answer::compose(&embedder, question, &vector, &passages).await?;
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
        ("extractive answer", &mut compose_ms),
        ("total", &mut total_ms),
    ] {
        values.sort_by(f64::total_cmp);
        println!(
            "  {name:<18} p50 {:>7.1} ms   p95 {:>7.1} ms   max {:>7.1} ms",
            percentile(values, 0.5),
            percentile(values, 0.95),
            values[values.len() - 1]
        );
    }
    Ok(())
}

async fn serve(args: ServeArgs) -> Result<(), AnyError> {
    let pool = connect(&args.db).await?;
    let embedder = Embedder::load(&args.model.model_dir)?;
    let engines = Engines {
        pool: pool.clone(),
        embedder: embedder.clone(),
        hub: Hub::new(),
        settings: Arc::new(AnswerSettings {
            confidence_threshold: Confidence::new(args.confidence_threshold)
                .map_err(|e| format!("TANDEM_CONFIDENCE_THRESHOLD: {e}"))?,
        }),
        turn_slots: Arc::new(tokio::sync::Semaphore::new(tandem::CONCURRENT_TURNS)),
    };
    let state = AppState::new(engines, tandem::leptos_options(&args.site_root, args.addr));
    if !std::path::Path::new(&args.site_root)
        .join("pkg/tandem_bg.wasm")
        .exists()
    {
        tracing::warn!(site_root = %args.site_root, "the UI is not built: run `make run` (or scripts/build.sh)");
    }
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {} ({e}); set TANDEM_ADDR to another address",
                args.addr
            )
        })?;
    let public = args.public_url();

    let mut login = None;
    if args.demo {
        let demo = demo::ensure(&pool, &args.db.data_dir, args.demo_admin_password.clone()).await?;
        login = Some(demo.admin_password.clone());
        if demo.needs_crawl {
            let crawler = Crawler::new(pool.clone(), embedder);
            let start = format!("{public}/demo/index.html");
            tandem::ingest::mark_pending(&pool, demo.workspace_id, &start).await?;
            tokio::spawn(async move {
                tracing::info!(%start, "training the demo workspace's AI by crawling the demo site");
                match crawler.crawl(demo.workspace_id, &start).await {
                    Ok(report) => tracing::info!(
                        pages = report.pages_indexed,
                        chunks = report.chunks,
                        "demo site indexed"
                    ),
                    Err(err) => tracing::error!(error = %err, "crawling the demo site failed"),
                }
            });
        }
    }

    println!();
    println!("  Tandem is running at {public}");
    println!("  Demo help centre with the chat widget:  {public}/demo/");
    println!("  Agent inbox:                            {public}/inbox");
    if let Some(password) = login {
        println!(
            "  Sign in as {} with password {}",
            demo::ADMIN_EMAIL,
            password
                .as_deref()
                .unwrap_or("(set by TANDEM_DEMO_ADMIN_PASSWORD)")
        );
    }
    println!();

    axum::serve(listener, http::router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
