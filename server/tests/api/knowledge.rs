//! Crawling the demo site and retrieving from it.

use sqlx::PgPool;
use tandem::retrieve::retrieve;

use crate::helpers::{embedder, TestApp};

#[sqlx::test(migrations = "../migrations")]
async fn crawling_indexes_every_demo_page_once(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let pages: i64 = sqlx::query_scalar("select count(*) from page where workspace_id = $1")
        .bind(app.workspace_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        pages,
        tandem::demo::SITE
            .iter()
            .filter(|(f, _)| f.ends_with(".html"))
            .count() as i64
    );
    // Every section under a heading with an id keeps it for `page#section` links.
    let (chunks, without_anchor): (i64, i64) = sqlx::query_as(
        "select count(*), count(*) filter (where anchor is null and heading_path like '%›%')
         from chunk where workspace_id = $1",
    )
    .bind(app.workspace_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(chunks >= 40, "only {chunks} chunks");
    assert_eq!(without_anchor, 0, "sections carry their anchors");
    // Navigation and footers are not content.
    let chrome: i64 =
        sqlx::query_scalar("select count(*) from chunk where content like '%fictional company%'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(chrome, 0);

    // A second crawl finds nothing changed and stores nothing twice.
    let job = app
        .ingest(&app.url("/demo/index.html"), Default::default())
        .await;
    assert_eq!(job.pages_changed, 0, "{job:?}");
    assert_eq!(job.pages_unchanged as i64, pages);
    let again: i64 = sqlx::query_scalar("select count(*) from chunk")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(again, chunks);
}

#[sqlx::test(migrations = "../migrations")]
async fn hybrid_retrieval_finds_the_right_section(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    for (question, expected) in [
        ("how long do refunds take?", "refunds.html#refund-timing"),
        (
            "Do you ship to the United States?",
            "shipping.html#countries-we-ship-to",
        ),
        ("my lamp won't connect to wifi", "troubleshooting-wifi.html"),
        ("how much is Nimbus Plus per year", "pricing.html"),
    ] {
        let vector = embedder().embed_one(question).await.unwrap();
        let passages = retrieve(
            &pool,
            app.workspace_id,
            tandem::retrieve::Query::new(question, &vector, tandem::embed::DEFAULT_MODEL),
            5,
        )
        .await
        .unwrap();
        assert!(
            passages.iter().take(2).any(|p| p.url.contains(expected)),
            "{question}: got {:?}",
            passages.iter().map(|p| &p.url).collect::<Vec<_>>()
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn retrieval_never_crosses_workspaces(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let other = uuid::Uuid::new_v4();
    sqlx::query("insert into workspace (workspace_id, slug, name) values ($1, 'other', 'Other')")
        .bind(other)
        .execute(&pool)
        .await
        .unwrap();
    let question = "how long do refunds take?";
    let vector = embedder().embed_one(question).await.unwrap();
    assert!(retrieve(
        &pool,
        other,
        tandem::retrieve::Query::new(question, &vector, tandem::embed::DEFAULT_MODEL),
        5
    )
    .await
    .unwrap()
    .is_empty());
    assert!(!retrieve(
        &pool,
        app.workspace_id,
        tandem::retrieve::Query::new(question, &vector, tandem::embed::DEFAULT_MODEL),
        5
    )
    .await
    .unwrap()
    .is_empty());
}

#[sqlx::test(migrations = "../migrations")]
async fn health_check_answers_once_the_database_does(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let response = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(response.status(), 200);
    let demo = reqwest::get(app.url("/demo/")).await.unwrap();
    assert_eq!(demo.status(), 200);
    assert!(demo.text().await.unwrap().contains("/widget.js"));
    let script = reqwest::get(app.url("/widget.js")).await.unwrap();
    assert!(script.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
}

#[tokio::test]
async fn embeddings_are_normalised_meaningful_and_independent_of_their_batch() {
    let embedder = embedder();
    let texts: Vec<String> = vec![
        "How long do refunds take?".into(),
        "Refunds reach your card within five business days.".into(),
        "The lamp shows sixteen million colours. ".repeat(80),
        "Pair the lamp by holding the button for ten seconds.".into(),
    ];
    let batch = embedder
        .embed(texts.clone(), tandem::embed::Role::Passage)
        .await
        .unwrap();
    assert_eq!(batch.len(), texts.len());
    for (text, vector) in texts.iter().zip(&batch) {
        assert_eq!(vector.len(), tandem::embed::DIMENSIONS);
        let norm: f32 = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{norm}");
        let alone = embedder
            .embed(vec![text.clone()], tandem::embed::Role::Passage)
            .await
            .unwrap()
            .remove(0);
        assert!(
            tandem::embed::cosine(&alone, vector) > 0.9999,
            "the same text embeds the same, alone or in a batch"
        );
    }
    let sim = |a: usize, b: usize| tandem::embed::cosine(&batch[a], &batch[b]);
    // A question and the passage that answers it, against unrelated text
    // (multilingual-e5-small's cosines crowd into 0.7-0.95).
    let question = embedder.embed_one(&texts[0]).await.unwrap();
    let to = |b: usize| tandem::embed::cosine(&question, &batch[b]);
    assert!(to(1) > to(2) + 0.05, "{} vs {}", to(1), to(2));
    assert!(to(1) > to(3));
    assert!(sim(1, 3) < 0.95);
    // Long texts are truncated at the model's limit, not refused.
    assert_eq!(embedder.count_tokens(&texts[2..3]).unwrap(), 512);
}
