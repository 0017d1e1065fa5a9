//! `tandem`: the server binary. It parses the command line and dispatches
//! to [`tandem::cli`], where each subcommand lives.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tandem::cli::{ask, bench, bench_ingest, bench_retrieval, eval, ingest, migrate, serve, setup};
use tandem::config::{DbArgs, ModelArgs, OutboundArgs, ServeArgs};
use tandem::ingest::crawl::CrawlSettings;
use tracing_subscriber::EnvFilter;

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
