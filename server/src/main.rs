//! `tandem`: the server binary and its subcommands.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use app::types::Confidence;
use axum::serve::ListenerExt;
use clap::{Parser, Subcommand};
use tandem::config::{DbArgs, ModelArgs, OutboundArgs, ServeArgs};
use tandem::db::Scope;
use tandem::embed::{Embedder, Role};
use tandem::http::LiveSettings;
use tandem::ingest::crawl::CrawlSettings;
use tandem::ingest::jobs;
use tandem::outbound::Outbound;
use tandem::thread::hub::Hub;
use tandem::turn::Turns;
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
    /// Train a workspace's AI on a website (start URL or sitemap) or on files
    /// (a file or a folder of .md/.html/.txt/.pdf), creating the workspace if
    /// needed. Run again on the same source, only what changed is redone.
    Ingest {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        outbound: OutboundArgs,
        /// Workspace slug.
        #[arg(long)]
        workspace: String,
        /// Pages to crawl at most.
        #[arg(long, default_value_t = 5000)]
        max_pages: u32,
        /// Link depth to follow from the start URL.
        #[arg(long, default_value_t = 10)]
        max_depth: u32,
        /// Requests at once per host.
        #[arg(long, default_value_t = 4)]
        per_host: u32,
        /// Further URL prefixes that belong to the site (repeatable).
        #[arg(long = "also")]
        extra_prefixes: Vec<String>,
        /// The server's public URL, used in the stable URLs of uploaded files.
        #[arg(
            long,
            env = "TANDEM_PUBLIC_URL",
            default_value = "http://127.0.0.1:3000"
        )]
        public_url: String,
        /// A start URL, a sitemap URL (ending in .xml), a file or a folder.
        source: String,
    },
    /// Measure ingestion on a documentation site served from a local folder
    /// (`make bench` uses Debian's PostgreSQL 15 manual): pages/s for
    /// crawl+clean+chunk, chunks/s for embedding, total time, peak memory,
    /// and an unchanged re-crawl.
    BenchIngest {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, default_value = "bench-docs")]
        workspace: String,
        /// The folder to serve, and the page to start from within it.
        #[arg(long)]
        site: std::path::PathBuf,
        #[arg(long, default_value = "index.html")]
        start: String,
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
    /// Measure the hybrid retrieval side by side with the plain pgvector
    /// top-10 on the same table: on a workspace, or on a corpus of N chunks
    /// generated from it (`--synthetic N`, made once into `W-synthetic-N`).
    /// The last line: `hybrid p95 X ms, pgvector p95 Y ms, ratio R`.
    BenchRetrieval {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, default_value = "demo")]
        workspace: String,
        /// Generate a corpus of this many chunks from the workspace's own.
        #[arg(long)]
        synthetic: Option<i64>,
        /// Questions, one per line or JSON lines with `question` (default:
        /// twenty built-in support questions).
        #[arg(long)]
        questions: Option<std::path::PathBuf>,
        /// Timed rounds over the questions (after one to warm up).
        #[arg(long, default_value_t = 10)]
        rounds: usize,
    },
    /// Run the policy and the answer engine over an evaluation set (JSON
    /// lines: id, kind, question, gold_pages, answer_facts, category) and print
    /// the figures per kind.
    Eval {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        outbound: OutboundArgs,
        #[arg(long)]
        workspace: String,
        /// The evaluation file.
        #[arg(long)]
        file: std::path::PathBuf,
        /// Print one JSON object with the figures instead of text.
        #[arg(long)]
        json: bool,
        /// Also write each case's outcome and signals to this JSON-lines file.
        #[arg(long)]
        dump: Option<std::path::PathBuf>,
        /// Threshold to evaluate with instead of the workspace's.
        #[arg(long)]
        threshold: Option<f32>,
    },
    /// Create a workspace and its admin without a browser (a headless
    /// server's first run, or one more business later): the admin account
    /// is created, or an existing one (same email) becomes its admin too.
    /// The new account's password is read from TANDEM_SETUP_PASSWORD, or
    /// generated and printed once.
    Setup {
        #[command(flatten)]
        db: DbArgs,
        /// The business's name.
        #[arg(long)]
        name: String,
        /// The website to train the AI on (start page or sitemap).
        #[arg(long)]
        site: Option<String>,
        /// The widget's language: auto, en, de, fr, es or ja.
        #[arg(long, default_value = "auto")]
        language: String,
        /// The support hours' IANA time zone.
        #[arg(long, default_value = "UTC")]
        time_zone: String,
        /// mon-fri, mon-sat, every-day, or always (no support hours).
        #[arg(long, default_value = "mon-fri")]
        days: String,
        /// Support hours, HH:MM-HH:MM.
        #[arg(long, default_value = "09:00-17:00")]
        hours: String,
        /// The admin's email.
        #[arg(long)]
        admin_email: String,
        /// The admin's name (for a new account).
        #[arg(long, default_value = "Admin")]
        admin_name: String,
        /// The new account's password (else generated and printed).
        #[arg(long, env = "TANDEM_SETUP_PASSWORD", hide_env_values = true)]
        admin_password: Option<String>,
    },
    /// Ask a workspace's AI a question from the command line; prints the decision.
    Ask {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        outbound: OutboundArgs,
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
        Command::BenchRetrieval {
            db,
            model,
            workspace,
            synthetic,
            questions,
            rounds,
        } => bench_retrieval(db, model, workspace, synthetic, questions, rounds).await,
        Command::Migrate(args) => migrate(args).await,
        Command::Setup {
            db,
            name,
            site,
            language,
            time_zone,
            days,
            hours,
            admin_email,
            admin_name,
            admin_password,
        } => {
            let (opens, closes) = hours.split_once('-').unwrap_or((&hours, ""));
            let workspace = app::types::setup::NewWorkspace {
                name,
                site_url: site.unwrap_or_default(),
                language,
                time_zone,
                days,
                opens: opens.trim().to_owned(),
                closes: closes.trim().to_owned(),
            };
            setup(db, workspace, admin_email, admin_name, admin_password).await
        }
        Command::Ingest {
            db,
            model,
            outbound,
            workspace,
            max_pages,
            max_depth,
            per_host,
            extra_prefixes,
            public_url,
            source,
        } => {
            let settings = CrawlSettings {
                extra_prefixes,
                max_pages,
                max_depth,
                per_host,
                ..CrawlSettings::default()
            };
            match outbound.policy() {
                Ok(outbound) => {
                    ingest(db, model, outbound, workspace, settings, public_url, source).await
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::BenchIngest {
            db,
            model,
            workspace,
            site,
            start,
        } => bench_ingest(db, model, workspace, site, start).await,
        Command::Ask {
            db,
            model,
            outbound,
            workspace,
            question,
        } => match outbound.policy() {
            Ok(outbound) => ask(db, model, outbound, workspace, question).await,
            Err(e) => Err(e.into()),
        },
        Command::Eval {
            db,
            model,
            outbound,
            workspace,
            file,
            json,
            dump,
            threshold,
        } => match outbound.policy() {
            Ok(outbound) => eval(db, model, outbound, workspace, file, json, dump, threshold).await,
            Err(e) => Err(e.into()),
        },
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

async fn setup(
    db: DbArgs,
    workspace: app::types::setup::NewWorkspace,
    email: String,
    name: String,
    password: Option<String>,
) -> Result<(), AnyError> {
    use tandem::setup::{self, Admin, WorkspaceSpec};
    let spec = WorkspaceSpec::parse(&workspace)?;
    let owner = connect(&db).await?;
    let existing: Option<Uuid> =
        sqlx::query_scalar("select account_id from account where lower(email) = lower($1)")
            .bind(email.trim())
            .fetch_optional(&owner)
            .await?;
    let generated = password.is_none() && existing.is_none();
    let admin = app::types::setup::NewAdmin {
        name,
        email: email.trim().to_owned(),
        password: password.unwrap_or_else(|| tandem::auth::new_token()[..20].to_owned()),
    };
    let created = match existing {
        Some(account_id) => setup::create(&owner, &spec, Admin::Existing(account_id), None).await?,
        None => setup::create(&owner, &spec, Admin::New(&admin), None).await?,
    };
    // The first run is done once an admin exists.
    setup::prepare(&owner, &db.data_dir, "").await?;
    println!("Created the workspace “{}” ({}).", spec.name, created.slug);
    match existing {
        Some(_) => println!("{} administers it too.", admin.email),
        None if generated => println!(
            "Sign in as {} with the password {} (change it on the account page).",
            admin.email, admin.password
        ),
        None => println!("Sign in as {} with the password you set.", admin.email),
    }
    if created.source_id.is_some() {
        println!(
            "The website is crawled by the running server (its knowledge page shows the progress)."
        );
    }
    println!("The widget: <script src=\"https://YOUR-TANDEM/widget.js\" data-workspace=\"{}\" async></script>", created.slug);
    Ok(())
}

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
    let embedder = model.load()?;
    let workspace_id = workspace_id(&pool, slug, create).await?;
    Ok((pool, embedder, workspace_id))
}

async fn ingest(
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
    tandem::ingest::reembed::run(&pool, &embedder, workspace_id).await?;
    let current = policy(&pool, workspace_id).await?;
    let (answerable, off_topic) =
        tandem::policy::calibrate::calibrate(&pool, &embedder, &current, workspace_id).await?;
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
async fn run_with_progress(
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
            if !matches!(row.status.as_str(), "queued" | "running") {
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
fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

async fn bench_ingest(
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
    sqlx::query("delete from source where workspace_id = $1")
        .bind(workspace_id)
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
        let page = tandem::ingest::extract::extract(&html);
        chunked += tandem::ingest::PreparedPage::new(file.display().to_string(), &page)
            .chunks
            .len();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "  clean + chunk alone    {:>8.1} pages/s   ({} pages, {chunked} chunks, one thread, from disk)",
        files.len() as f64 / seconds,
        files.len()
    );
    let texts: Vec<String> =
        sqlx::query_scalar("select content from chunk where workspace_id = $1 order by chunk_id")
            .bind(workspace_id)
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

/// The workspace's policy, as the server would apply it.
async fn policy(
    pool: &sqlx::PgPool,
    workspace_id: Uuid,
) -> Result<app::types::policy::Policy, AnyError> {
    // The same default the server applies (TANDEM_CONFIDENCE_THRESHOLD).
    let default = std::env::var("TANDEM_CONFIDENCE_THRESHOLD")
        .ok()
        .and_then(|v| v.parse::<f32>().ok())
        .unwrap_or(tandem::policy::confidence::DEFAULT_THRESHOLD);
    let default = Confidence::new(default)?;
    Ok(tandem::policy::settings::load(pool, workspace_id, default).await?)
}

async fn ask(
    db: DbArgs,
    model: ModelArgs,
    outbound: Outbound,
    workspace: String,
    question: String,
) -> Result<(), AnyError> {
    let (pool, embedder, workspace_id) = open_workspace(&db, &model, &workspace, false).await?;
    let policy = policy(&pool, workspace_id).await?;
    let generator =
        tandem::answer::generator(&policy.generator, &outbound, std::time::Duration::ZERO);
    let (out, _pieces) = tokio::sync::mpsc::unbounded_channel();
    let message = tandem::policy::Message {
        workspace_id,
        text: question,
        at: Some(chrono::Utc::now()),
        ..Default::default()
    };
    let response = tandem::answer::respond(
        &pool,
        &embedder,
        &policy,
        generator.as_ref(),
        &message,
        &out,
    )
    .await?;
    let d = &response.decision;
    for r in &response.ranked {
        println!(
            "  {:.3} (sim {:.3}, fused {:.4})  {}  <{}>",
            r.score,
            r.passage.similarity,
            r.passage.fused_score,
            r.passage.heading_path,
            r.passage.url
        );
    }
    if let Some(s) = &d.signals {
        println!(
            "confidence {:.2} (threshold {:.2}; top passage {:.3}, best sentence {:.3}, coverage {:.2})",
            s.confidence,
            policy.threshold.value(),
            s.top_similarity,
            s.sentence_score,
            s.coverage
        );
    }
    if !d.rules.is_empty() {
        println!("rules: {}", d.rules.join(", "));
    }
    match (&response.answer, &d.handoff) {
        (Some(answer), _) => {
            println!("{}", answer.text);
            for c in &answer.citations {
                println!("  [{}] {} <{}>", c.number, c.heading_path, c.url);
            }
        }
        (None, Some(reason)) => println!("handoff: {}", reason.describe()),
        (None, None) => println!("no answer"),
    }
    Ok(())
}

#[expect(clippy::too_many_arguments, reason = "one per command-line option")]
async fn eval(
    db: DbArgs,
    model: ModelArgs,
    outbound: Outbound,
    workspace: String,
    file: std::path::PathBuf,
    json: bool,
    dump: Option<std::path::PathBuf>,
    threshold: Option<f32>,
) -> Result<(), AnyError> {
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let cases = tandem::eval::parse(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    let (pool, embedder, workspace_id) = open_workspace(&db, &model, &workspace, false).await?;
    let chunks: i64 = sqlx::query_scalar("select count(*) from chunk where workspace_id = $1")
        .bind(workspace_id)
        .fetch_one(&pool)
        .await?;
    if chunks == 0 {
        return Err(
            format!("workspace `{workspace}` has no content: ingest its site first").into(),
        );
    }
    let mut policy = policy(&pool, workspace_id).await?;
    if let Some(t) = threshold {
        policy.threshold = Confidence::new(t)?;
    }
    let generator =
        tandem::answer::generator(&policy.generator, &outbound, std::time::Duration::ZERO);
    let bar = indicatif::ProgressBar::new(cases.len() as u64);
    if json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let (report, outcomes) = tandem::eval::run(
        &pool,
        &embedder,
        &policy,
        generator.as_ref(),
        workspace_id,
        &cases,
        |done| bar.set_position(done as u64),
    )
    .await?;
    bar.finish_and_clear();
    if let Some(path) = dump {
        let lines: Vec<String> = outcomes
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()?;
        std::fs::write(&path, lines.join("\n") + "\n")?;
    }
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} on workspace `{workspace}` ({} cases, threshold {:.2}, generator {}):",
            file.display(),
            cases.len(),
            policy.threshold.value(),
            generator.name()
        );
        println!("{report}");
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
            let passages = tandem::retrieve::retrieve(
                &pool,
                workspace_id,
                tandem::retrieve::Query::new(question, &vector, embedder.name()),
                8,
            )
            .await?;
            let t2 = std::time::Instant::now();
            let ranked =
                tandem::retrieve::rescore::rescore(&embedder, question, &vector, passages).await?;
            tandem::answer::extractive::compose(&tandem::answer::generate::sources(&ranked));
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
            tandem::bench::percentile(values, 0.5),
            tandem::bench::percentile(values, 0.95),
            values[values.len() - 1]
        );
    }
    Ok(())
}

async fn bench_retrieval(
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
        let added = tandem::bench::synthesize(&pool, seed, workspace_id, n).await?;
        if added > 0 {
            println!(
                "generated {added} chunks from `{workspace}` in {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
        // Fresh planner statistics, as autovacuum would have by now.
        sqlx::query("analyze chunk").execute(&pool).await?;
    }
    let questions = match questions {
        Some(path) => tandem::bench::questions_from(&std::fs::read_to_string(&path)?),
        None => tandem::bench::QUESTIONS.map(str::to_owned).to_vec(),
    };
    if questions.is_empty() {
        return Err("no questions".into());
    }
    let figures = tandem::bench::run(&pool, &embedder, workspace_id, &questions, rounds).await?;
    tandem::bench::print(&figures);
    Ok(())
}

async fn serve(args: ServeArgs) -> Result<(), AnyError> {
    // Migrated as the tables' owner; served as a role under their row-level
    // security (the owner's pool stays for the sweeps across workspaces).
    let owner = connect(&args.db).await?;
    let pool = db::connect_app(&owner, args.db.app_database_url.as_deref()).await?;
    let system = db::System(owner.clone());
    let embedder = args.model.load()?;
    let mut outbound = args.outbound.policy()?;
    if args.demo {
        outbound = outbound.with_own_site(&args.public_url(), demo::CRAWLED_PATHS);
    }
    let engines =
        Engines {
            pool: pool.clone(),
            system: system.clone(),
            public_url: args.public_url().into(),
            embedder: embedder.clone(),
            hub: Hub::new(),
            settings: Arc::new(AnswerSettings {
                confidence_threshold: Confidence::new(args.confidence_threshold)
                    .map_err(|e| format!("TANDEM_CONFIDENCE_THRESHOLD: {e}"))?,
            }),
            turn_slots: Arc::new(tokio::sync::Semaphore::new(tandem::CONCURRENT_TURNS)),
            turns: Arc::new(Turns::new(Duration::from_millis(args.ai_quiet_ms))),
            live: LiveSettings {
                heartbeat: Duration::from_secs(args.heartbeat_secs.max(1)),
            },
            mail: tandem::mail::Mail::new(
                args.smtp_url.as_deref(),
                &args.mail_from,
                Duration::from_secs(args.follow_up_delay_secs),
            )?,
            limits: Arc::new(tandem::limits::Limits::new(
                args.limit_visitor_messages,
                args.limit_address_messages,
                args.limit_new_visitors,
            )),
            demo: args.demo,
            outbound: outbound.clone(),
            client_ip_header: match args.client_ip_header.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(name) => Some(axum::http::HeaderName::try_from(name).map_err(|_| {
                    format!("TANDEM_CLIENT_IP_HEADER: {name:?} is not a header name")
                })?),
            },
        };
    // Every socket is a file descriptor: allow as many as the system does.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open files limit"),
        Err(err) => tracing::warn!(error = %err, "could not raise the open files limit"),
    }
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
        let demo =
            demo::ensure(&owner, &args.db.data_dir, args.demo_admin_password.clone()).await?;
        login = Some(demo.admin_password.clone());
        if demo.needs_crawl {
            let start = format!("{public}/demo/index.html");
            tracing::info!(%start, "training the demo workspace's AI by crawling the demo site");
            let source_id = jobs::website_source(
                &pool,
                demo.workspace_id,
                &start,
                &CrawlSettings::default(),
                None,
            )
            .await?;
            jobs::enqueue(pool.ws(demo.workspace_id), source_id).await?;
        }
    }
    tandem::ingest::reembed::spawn(pool.clone(), system.clone(), embedder.clone());
    tandem::policy::calibrate::spawn(
        pool.clone(),
        system.clone(),
        embedder.clone(),
        state.engines.settings.confidence_threshold,
    );
    // The intent classifiers a new workspace uses, fitted before the first
    // visitor (and before the demo crawl competes for the cores): ~10 s.
    tracing::info!("fitting the intent classifiers on the built-in examples");
    if let Err(err) = tandem::policy::intent::warm_up(&embedder).await {
        tracing::warn!(error = %err, "fitting the intent classifiers failed");
    }
    jobs::spawn_worker(pool.clone(), system.clone(), embedder, outbound);

    println!();
    println!("  Tandem is running at {public}");
    if args.demo {
        println!("  Demo help centre with the chat widget:  {public}/demo/");
    }
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
    match tandem::setup::prepare(&owner, &args.db.data_dir, &public).await {
        Ok(Some(link)) => {
            println!("  Set up your own workspace (the link is kept in");
            println!("  {}):", args.db.data_dir.join("setup-url").display());
            println!("    {link}");
        }
        Ok(None) => {}
        Err(err) => tracing::warn!(error = %err, "could not prepare the first-run setup"),
    }
    println!();

    // Small writes (socket frames, streamed tokens) go out at once.
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::warn!(error = %err, "could not set TCP_NODELAY");
        }
    });
    // Connection addresses: sign-in throttling counts failures per address.
    axum::serve(
        listener,
        http::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
