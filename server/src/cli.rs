//! The `tandem` command's subcommands (`main.rs` parses and dispatches):
//! serving (`serve`), setting a workspace up, training it from the command
//! line (`ingest`), asking and evaluating (`ask`), and the benchmarks
//! (`bench`, `ingest::bench_ingest`).

mod ask;
mod bench;
mod ingest;
mod serve;

pub use ask::{ask, eval};
pub use bench::{bench, bench_retrieval};
pub use ingest::{bench_ingest, ingest};
pub use serve::serve;

use crate::config::{DbArgs, ModelArgs};
use crate::db;
use crate::embed::Embedder;
use uuid::Uuid;

/// Any error a subcommand reports (printed, then the exit code is 1).
pub type AnyError = Box<dyn std::error::Error + Send + Sync>;

pub async fn setup(
    db: DbArgs,
    workspace: app::types::setup::NewWorkspace,
    email: String,
    name: String,
    password: Option<String>,
) -> Result<(), AnyError> {
    use crate::setup::{self, Admin, WorkspaceSpec};
    let spec = WorkspaceSpec::parse(&workspace)?;
    let owner = connect(&db).await?;
    let existing: Option<Uuid> = sqlx::query_scalar!(
        "select account_id from account where lower(email) = lower($1)",
        email.trim(),
    )
    .fetch_optional(&owner)
    .await?;
    let generated = password.is_none() && existing.is_none();
    let admin = app::types::setup::NewAdmin {
        name,
        email: email.trim().to_owned(),
        password: password.unwrap_or_else(|| crate::auth::new_token()[..20].to_owned()),
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

pub async fn connect(args: &DbArgs) -> Result<sqlx::PgPool, AnyError> {
    let pool = db::connect(&args.url()).await?;
    db::migrate(&pool).await?;
    Ok(pool)
}

pub async fn migrate(args: DbArgs) -> Result<(), AnyError> {
    connect(&args).await?;
    println!("migrations applied");
    Ok(())
}

pub async fn workspace_id(pool: &sqlx::PgPool, slug: &str, create: bool) -> Result<Uuid, AnyError> {
    if create {
        sqlx::query!(
            "insert into workspace (workspace_id, slug, name) values ($1, $2, $2) on conflict (slug) do nothing",
            Uuid::new_v4(),
            slug,
        )
            .execute(pool)
            .await?;
    }
    let id = crate::db::workspace_by_slug(pool, slug).await?;
    id.ok_or_else(|| format!("no workspace `{slug}`").into())
}

/// What the offline subcommands need: the database, the model and a workspace.
pub async fn open_workspace(
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
