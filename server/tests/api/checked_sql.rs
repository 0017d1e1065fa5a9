//! The checked queries' data (`.sqlx/`, written by `scripts/sqlx-prepare.sh`
//! and compiled from in every build) against the migrations: each query is
//! described again by a database the migrations made, and must give the same
//! columns, types, nullability and parameters. A migration that renames a
//! column a checked query uses, or a query changed without preparing again,
//! fails here.

use sqlx::{AssertSqlSafe, Column, Executor, PgPool, SqlSafeStr};

/// The type names as the data files write them (`PgType`'s variants).
fn type_name(info: &sqlx::postgres::PgTypeInfo) -> String {
    // `PgTypeInfo(Uuid)` or `PgTypeInfo(Custom(..))`: the variant's name.
    let debug = format!("{info:?}");
    let inner = debug
        .strip_prefix("PgTypeInfo(")
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or(&debug);
    inner
        .split(['(', ' ', '{'])
        .next()
        .unwrap_or(inner)
        .to_owned()
}

fn stored_type_name(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(name) => name.clone(),
        // Custom types are objects keyed by their variant.
        serde_json::Value::Object(map) => map.keys().next().cloned().unwrap_or_default(),
        other => other.to_string(),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_checked_queries_match_the_migrations(pool: PgPool) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.sqlx");
    let mut checked = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect(".sqlx/ is committed (scripts/sqlx-prepare.sh)")
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let data: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let query = data["query"].as_str().unwrap().to_owned();
        let stored = &data["describe"];
        let described = (&pool)
            .describe(AssertSqlSafe(query.clone()).into_sql_str())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}\n{query}", path.display()));
        let columns: Vec<(String, String)> = described
            .columns()
            .iter()
            .map(|c| (c.name().to_owned(), type_name(c.type_info())))
            .collect();
        let stored_columns: Vec<(String, String)> = stored["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_owned(),
                    stored_type_name(&c["type_info"]),
                )
            })
            .collect();
        assert_eq!(columns, stored_columns, "{}\n{query}", path.display());
        let nullable: Vec<Option<bool>> =
            (0..columns.len()).map(|i| described.nullable(i)).collect();
        let stored_nullable: Vec<Option<bool>> =
            serde_json::from_value(stored["nullable"].clone()).unwrap();
        assert_eq!(nullable, stored_nullable, "{}\n{query}", path.display());
        let parameters: Vec<String> = match described.parameters() {
            Some(sqlx::Either::Left(types)) => types.iter().map(type_name).collect(),
            Some(sqlx::Either::Right(n)) => vec![String::new(); n],
            None => Vec::new(),
        };
        let stored_parameters: Vec<String> = stored["parameters"]["Left"]
            .as_array()
            .map(|types| types.iter().map(stored_type_name).collect())
            .unwrap_or_default();
        assert_eq!(parameters, stored_parameters, "{}\n{query}", path.display());
        checked += 1;
    }
    assert!(checked > 0, "no checked queries in {}", dir.display());
    println!("{checked} checked queries match the migrations");
}
