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
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx::postgres::notice=warn")),
        )
        .with_target(false)
        .init();
    let result = match Cli::parse().command {
        Command::Serve(args) => serve(*args).await,
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

async fn ingest(
    db: DbArgs,
    model: ModelArgs,
    workspace: String,
    url: String,
) -> Result<(), AnyError> {
    let pool = connect(&db).await?;
    let embedder = Embedder::load(&model.model_dir)?;
    let workspace_id = workspace_id(&pool, &workspace, true).await?;
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
    let pool = connect(&db).await?;
    let embedder = Embedder::load(&model.model_dir)?;
    let workspace_id = workspace_id(&pool, &workspace, false).await?;
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
