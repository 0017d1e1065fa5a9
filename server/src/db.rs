//! The connection pools, migrations and workspace isolation.
//!
//! Every table that holds a workspace's data has PostgreSQL row-level
//! security, forced, with one policy: a row is visible and writable only
//! while the transaction's `app.workspace_id` is its workspace (see
//! `migrations/20261203000001_isolation.sql`). Tandem serves as a role that
//! does not own the tables ([`APP_ROLE`]), so the policies hold for every
//! statement it runs; a statement with no workspace set sees nothing.
//!
//! - [`Scope::ws`] gives a workspace's view of a pool, [`InWorkspace`]: run a
//!   statement on it and it runs in its own transaction with the workspace
//!   set; [`InWorkspace::begin`] opens a longer transaction with it set.
//! - [`System`] is the owner's pool, for the few statements that must cross
//!   workspaces by design: the background sweeps finding due work in every
//!   workspace, the readiness probe, and an account's own memberships. Each
//!   use is named where it happens.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt, TryStreamExt};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgQueryResult, PgRow};
use sqlx::{Either, Executor, PgPool, Postgres, Transaction};
use uuid::Uuid;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// The role Tandem serves as: it may read and write the tables (under their
/// row-level security) but owns none of them. Created by the isolation
/// migration when missing.
pub const APP_ROLE: &str = "tandem_app";

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid database URL: {0}")]
    Url(sqlx::Error),
    #[error(
        "cannot reach PostgreSQL ({0}). Start the private cluster with `make db` \
         (or `make run`), or set DATABASE_URL"
    )]
    Connect(sqlx::Error),
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "Tandem serves as the role `{APP_ROLE}`, which must not be a superuser, bypass \
         row-level security or own the tables; `{0}` does. Set TANDEM_APP_DATABASE_URL \
         to a URL for `{APP_ROLE}`"
    )]
    Privileged(String),
}

pub async fn connect(url: &str) -> Result<PgPool, DbError> {
    let options: PgConnectOptions = url.parse().map_err(DbError::Url)?;
    connect_with(options).await
}

pub async fn connect_with(options: PgConnectOptions) -> Result<PgPool, DbError> {
    PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(DbError::Connect)
}

pub async fn migrate(pool: &PgPool) -> Result<(), DbError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// The serving pool: the owner's URL with the user changed to [`APP_ROLE`]
/// (`app_url` instead when given), checked to be neither a superuser, nor
/// exempt from row-level security, nor the tables' owner.
pub async fn connect_app(owner: &PgPool, app_url: Option<&str>) -> Result<PgPool, DbError> {
    let options = match app_url {
        Some(url) if !url.is_empty() => url.parse().map_err(DbError::Url)?,
        _ => owner.connect_options().as_ref().clone().username(APP_ROLE),
    };
    let pool = connect_with(options).await?;
    let (user, privileged): (String, bool) = sqlx::query_as(
        "select current_user::text, r.rolsuper or r.rolbypassrls or exists (
             select 1 from pg_class c
             where c.relowner = r.oid and c.relname = 'conversation')
         from pg_roles r where r.rolname = current_user",
    )
    .fetch_one(&pool)
    .await
    .map_err(DbError::Connect)?;
    if privileged {
        return Err(DbError::Privileged(user));
    }
    Ok(pool)
}

/// A pool that crosses workspaces (the owner's): only for the statements
/// the module docs list. A newtype so that each use is deliberate.
#[derive(Clone, Debug)]
pub struct System(pub PgPool);

impl System {
    pub fn pool(&self) -> &PgPool {
        &self.0
    }
}

/// A workspace's view of a pool.
pub trait Scope {
    fn ws(&self, workspace_id: Uuid) -> InWorkspace<'_>;
}

impl Scope for PgPool {
    fn ws(&self, workspace_id: Uuid) -> InWorkspace<'_> {
        InWorkspace {
            pool: self,
            workspace_id,
        }
    }
}

/// Sets the transaction's workspace (until it ends).
pub async fn set_workspace(
    conn: &mut sqlx::PgConnection,
    workspace_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query("select set_config('app.workspace_id', $1::text, true)")
        .bind(workspace_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A pool seen from one workspace. As an executor each statement runs in a
/// transaction of its own with the workspace set; its rows are read in full
/// before the transaction commits.
#[derive(Clone, Copy, Debug)]
pub struct InWorkspace<'p> {
    pool: &'p PgPool,
    workspace_id: Uuid,
}

impl<'p> InWorkspace<'p> {
    pub fn workspace_id(&self) -> Uuid {
        self.workspace_id
    }

    pub fn pool(&self) -> &'p PgPool {
        self.pool
    }

    /// A transaction with the workspace set.
    pub async fn begin(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        set_workspace(&mut tx, self.workspace_id).await?;
        Ok(tx)
    }
}

impl<'p> Executor<'p> for InWorkspace<'p> {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + sqlx::Execute<'q, Postgres>,
    {
        async move {
            let mut tx = self.begin().await?;
            let steps: Vec<_> = tx.fetch_many(query).try_collect().await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(futures::stream::iter(steps.into_iter().map(Ok)))
        }
        .into_stream()
        .try_flatten()
        .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + sqlx::Execute<'q, Postgres>,
    {
        async move {
            let mut tx = self.begin().await?;
            let row = tx.fetch_optional(query).await?;
            tx.commit().await?;
            Ok(row)
        }
        .boxed()
    }

    fn prepare_with<'e>(
        self,
        sql: sqlx::SqlStr,
        parameters: &'e [sqlx::postgres::PgTypeInfo],
    ) -> BoxFuture<'e, Result<sqlx::postgres::PgStatement, sqlx::Error>>
    where
        'p: 'e,
    {
        self.pool.prepare_with(sql, parameters)
    }

    fn describe<'e>(
        self,
        sql: sqlx::SqlStr,
    ) -> BoxFuture<'e, Result<sqlx::Describe<Postgres>, sqlx::Error>>
    where
        'p: 'e,
    {
        self.pool.describe(sql)
    }
}

/// The workspace a slug names (the `workspace` table is global: a slug is
/// public through the widget). The one lookup by slug.
pub async fn workspace_by_slug<'e>(
    db: impl sqlx::PgExecutor<'e>,
    slug: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!("select workspace_id from workspace where slug = $1", slug)
        .fetch_optional(db)
        .await
}
