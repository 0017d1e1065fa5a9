//! Workspaces are isolated in the database itself: row-level security on
//! every tenant table, forced, and a serving role bound by it.

use sqlx::PgPool;
use tandem::db::Scope;
use tandem::ingest::crawl::CrawlSettings;
use tandem::ingest::jobs;
use uuid::Uuid;

use crate::helpers::*;

/// Until the visitor's message is stored.
fn stored(msg: &app::types::ServerMsg) -> Option<()> {
    matches!(msg, app::types::ServerMsg::Ack { seq: Some(_), .. }).then_some(())
}

/// A visitor who asked for a person, once the AI's turn has handed off.
async fn escalated(app: &TestApp, pool: &PgPool) -> Uuid {
    let mut visitor = app.visitor(None, 0).await;
    visitor.ask("I want to talk to a person").await;
    let _ = visitor.until(stored).await;
    for _ in 0..200 {
        let handed: bool = sqlx::query_scalar(
            "select status = 'waiting_human' and ai_handled_seq = visitor_seq
               from conversation where conversation_id = $1",
        )
        .bind(visitor.conversation_id)
        .fetch_one(pool)
        .await
        .unwrap();
        if handed {
            return visitor.conversation_id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the AI did not hand off");
}

/// Tables with no workspace of their own (see the isolation migration).
const GLOBAL: [&str; 6] = [
    "_sqlx_migrations",
    "account",
    "install_setup",
    "login_failure",
    "session",
    "workspace",
];

async fn tables(pool: &PgPool) -> Vec<(String, bool, bool)> {
    sqlx::query_as(
        "select c.relname::text, c.relrowsecurity, c.relforcerowsecurity
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public' and c.relkind = 'r' order by 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn every_tenant_table_has_forced_row_level_security_and_the_server_is_bound_by_it(
    pool: PgPool,
) {
    let app = TestApp::spawn(pool.clone()).await;
    let tables = tables(&pool).await;
    let mut protected = 0;
    for (table, enabled, forced) in &tables {
        if GLOBAL.contains(&table.as_str()) {
            assert!(!enabled, "{table} is global");
            continue;
        }
        assert!(
            *enabled && *forced,
            "{table}: row-level security not forced"
        );
        protected += 1;
    }
    println!(
        "row-level security: {protected} tables forced, {} global",
        tables.len() - protected
    );
    assert!(protected >= 29, "{tables:?}");

    // The serving pool's role: not a superuser, not exempt, owns nothing.
    let serving = &app.state.engines.pool;
    let (user, superuser, bypass, owns): (String, bool, bool, i64) = sqlx::query_as(
        "select current_user::text, r.rolsuper, r.rolbypassrls,
                (select count(*) from pg_class c where c.relowner = r.oid)
           from pg_roles r where r.rolname = current_user",
    )
    .fetch_one(serving)
    .await
    .unwrap();
    assert_eq!(user, tandem::db::APP_ROLE);
    assert!(
        !superuser && !bypass,
        "{user} must be bound by the policies"
    );
    assert_eq!(owns, 0, "{user} owns no table");
    // Nor may it read the migrations' bookkeeping.
    assert!(sqlx::query("select 1 from _sqlx_migrations")
        .execute(serving)
        .await
        .is_err());
    // A privileged URL is refused for serving.
    let err = tandem::db::connect_app(&pool, Some(&pool_url(&pool)))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("must not be a superuser"), "{err}");
}

fn pool_url(pool: &PgPool) -> String {
    let options = pool.connect_options();
    let host = options.get_socket().map_or_else(
        || options.get_host().to_owned(),
        |s| s.display().to_string(),
    );
    format!(
        "postgres:///{}?host={host}&user={}",
        options.get_database().unwrap_or_default(),
        options.get_username()
    )
}

#[sqlx::test(migrations = "../migrations")]
async fn with_no_workspace_set_nothing_is_visible_or_writable(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    escalated(&app, &pool).await;
    let serving = &app.state.engines.pool;

    let mut checked = 0;
    for (table, _, _) in tables(&pool).await {
        if GLOBAL.contains(&table.as_str()) {
            continue;
        }
        let count = format!("select count(*) from {table}");
        let owner: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count.clone()))
            .fetch_one(&pool)
            .await
            .unwrap();
        let unscoped: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count.clone()))
            .fetch_one(serving)
            .await
            .unwrap();
        let scoped: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count))
            .fetch_one(serving.ws(app.workspace_id))
            .await
            .unwrap();
        assert_eq!(unscoped, 0, "{table}: {owner} rows, seen with no workspace");
        assert_eq!(scoped, owner, "{table}: the workspace sees its own rows");
        if owner > 0 {
            checked += 1;
        }
    }
    println!("no workspace set: 0 rows visible in each of {checked} tables that hold rows");
    assert!(checked >= 12, "the demo workspace fills most tables");

    // Writing without a workspace is refused, or touches nothing.
    let insert = sqlx::query(
        "insert into snippet (snippet_id, workspace_id, question, answer)
         select gen_random_uuid(), workspace_id, 'q', 'a' from source limit 1",
    )
    .execute(serving)
    .await
    .unwrap();
    assert_eq!(insert.rows_affected(), 0, "no source is visible to copy");
    let forged = sqlx::query(
        "insert into visitor (visitor_id, workspace_id, token_hash) values ($1, $2, $3)",
    )
    .bind(Uuid::new_v4())
    .bind(app.workspace_id)
    .bind(vec![1u8; 32])
    .execute(serving)
    .await
    .unwrap_err();
    assert!(
        forged.to_string().contains("row-level security"),
        "{forged}"
    );
    for statement in [
        "update conversation set status = 'resolved'",
        "delete from chunk",
        "delete from event",
    ] {
        let done = sqlx::query(statement).execute(serving).await.unwrap();
        assert_eq!(done.rows_affected(), 0, "{statement}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn another_workspace_sees_and_writes_none_of_this_ones_rows(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let id = escalated(&app, &pool).await;
    let (other, _) = app
        .other_workspace("other", "eve@other.example", "admin")
        .await;
    let serving = &app.state.engines.pool;
    let theirs = serving.ws(other);

    for table in [
        "conversation",
        "event",
        "visitor",
        "chunk",
        "page",
        "source",
        "decision",
    ] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
                .fetch_one(theirs)
                .await
                .unwrap();
        assert_eq!(n, 0, "{table} seen from another workspace");
    }
    // Even with the ids in hand: nothing to read, change or delete.
    let read: Option<String> =
        sqlx::query_scalar("select status from conversation where conversation_id = $1")
            .bind(id)
            .fetch_optional(theirs)
            .await
            .unwrap();
    assert_eq!(read, None);
    let changed =
        sqlx::query("update conversation set status = 'resolved' where conversation_id = $1")
            .bind(id)
            .execute(theirs)
            .await
            .unwrap();
    assert_eq!(changed.rows_affected(), 0);
    let events = sqlx::query("delete from event where conversation_id = $1")
        .bind(id)
        .execute(theirs)
        .await
        .unwrap();
    assert_eq!(events.rows_affected(), 0);
    // Nor can it write into this workspace, or under a parent of this one.
    let into_theirs =
        sqlx::query("insert into team (team_id, workspace_id, name) values ($1, $2, 'Intruders')")
            .bind(Uuid::new_v4())
            .bind(app.workspace_id)
            .execute(theirs)
            .await
            .unwrap_err();
    assert!(
        into_theirs.to_string().contains("row-level security"),
        "{into_theirs}"
    );
    let under_parent = sqlx::query(
        "insert into event (conversation_id, seq, kind, payload) values ($1, 999, 'visitor_message', '{}')",
    )
    .bind(id)
    .execute(theirs)
    .await
    .unwrap_err();
    assert!(
        under_parent.to_string().contains("row-level security"),
        "{under_parent}"
    );
    let status: String =
        sqlx::query_scalar("select status from conversation where conversation_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_ne!(status, "resolved");
}

#[sqlx::test(migrations = "../migrations")]
async fn retrieval_finds_its_own_workspace_passages_when_another_has_the_same(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    // A second workspace trained on the very same pages: every passage of
    // the first has an equally near twin in the second.
    let (other, _) = app
        .other_workspace("twin", "eve@twin.example", "admin")
        .await;
    let serving = &app.state.engines.pool;
    let source = jobs::website_source(
        serving,
        other,
        &app.url("/demo/index.html"),
        &CrawlSettings::default(),
        None,
    )
    .await
    .unwrap();
    let job = jobs::enqueue(serving.ws(other), source).await.unwrap();
    let worker = Uuid::new_v4();
    let claimed = jobs::claim(&app.state.engines.system, worker, Some(job))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        jobs::run(
            serving,
            &embedder(),
            &app.state.engines.outbound,
            worker,
            claimed
        )
        .await
        .status,
        app::knowledge::JobStatus::Done
    );
    let question = "How do I reset my password?";
    let vector = embedder().embed_one(question).await.unwrap();
    for (workspace, name) in [(app.workspace_id, "demo"), (other, "twin")] {
        let passages = tandem::retrieve::retrieve(
            serving,
            workspace,
            tandem::retrieve::Query::new(question, &vector, tandem::embed::DEFAULT_MODEL),
            8,
        )
        .await
        .unwrap();
        assert_eq!(passages.len(), 8, "{name}: k passages");
        let ids: Vec<Uuid> = passages.iter().map(|p| p.chunk_id).collect();
        let own: i64 = sqlx::query_scalar(
            "select count(*) from chunk where chunk_id = any($1) and workspace_id = $2",
        )
        .bind(&ids)
        .bind(workspace)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(own, 8, "{name}: every passage is the workspace's own");
    }
}
