//! Answer engine v2: the multilingual model, intent by meaning in any
//! language, each page's own stemming, answers that say which language they
//! quote, confidence calibrated on the workspace's content, and the move of
//! an existing workspace to the new model without downtime.

use app::types::policy::Policy;
use app::types::HandoffReason;
use sqlx::PgPool;
use tandem::db::Scope;
use tandem::embed::{Embedder, DEFAULT_MODEL, LEGACY_MODEL};
use tandem::ingest::reembed;
use tandem::policy::{calibrate, decide, replay, settings, Decided, Message};

use crate::helpers::{embedder, TestApp};

async fn policy(app: &TestApp) -> Policy {
    settings::load(
        &app.state.engines.pool,
        app.workspace_id,
        app.state.engines.settings.confidence_threshold,
    )
    .await
    .unwrap()
}

async fn decided(app: &TestApp, embedder: &Embedder, policy: &Policy, text: &str) -> Decided {
    let message = Message {
        workspace_id: app.workspace_id,
        text: text.to_owned(),
        ..Message::default()
    };
    decide(&app.state.engines.pool, embedder, policy, &message)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn requests_for_a_person_are_recognised_in_any_language_and_questions_about_agents_are_not(
    pool: PgPool,
) {
    let app = TestApp::spawn_trained(pool).await;
    let p = policy(&app).await;
    let e = &app.state.engines.embedder;
    for text in [
        "I want to talk to a person",
        "real human please",
        "Ich möchte bitte mit einem Mitarbeiter sprechen",
        "Je voudrais parler à quelqu'un de votre équipe",
        "¿Puedo hablar con una persona de verdad?",
        "Posso falar com um atendente humano?",
        "担当者と話したいです",
        "我要找人工客服",
        "상담원 연결해 주세요",
        "Chcę porozmawiać z konsultantem",
        "The lamp keeps disconnecting from the app every evening. Could someone from your team have a look?",
    ] {
        let signals = decided(&app, e, &p, text).await.decision.signals.unwrap();
        assert!(signals.human_request.is_some(), "missed: {text}");
    }
    for text in [
        "How do I add another agent to my team account?",
        "Is the export file human-readable?",
        "Can I rename the Talk to a person button?",
        "Wie ändere ich die Farbe der Lampe?",
        "Combien coûte la livraison express ?",
        "ランプの保証期間はどれくらいですか？",
    ] {
        let signals = decided(&app, e, &p, text).await.decision.signals.unwrap();
        assert!(
            signals.human_request.is_none(),
            "not a request for a person: {text}"
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn sensitive_topics_are_recognised_by_meaning_in_any_language(pool: PgPool) {
    let app = TestApp::spawn_trained(pool).await;
    let p = policy(&app).await;
    let e = &app.state.engines.embedder;
    for (text, category) in [
        (
            "You charged my card twice for the same lamp",
            "billing_dispute",
        ),
        (
            "Sie haben mir zweimal dasselbe abgebucht",
            "billing_dispute",
        ),
        (
            "Je n'arrive plus à accéder à mon compte, il est bloqué",
            "account_access",
        ),
        (
            "Alguien entró en mi cuenta sin permiso",
            "security_incident",
        ),
        ("Mijn advocaat neemt contact met u op", "legal"),
        ("個人データをすべて削除してください", "privacy_request"),
        ("I don't see the point of going on anymore", "wellbeing"),
    ] {
        let signals = decided(&app, e, &p, text).await.decision.signals.unwrap();
        let found = signals
            .sensitive
            .unwrap_or_else(|| panic!("missed: {text}"));
        assert_eq!(found.category, category, "{text}");
        assert!(!found.matched.is_empty(), "names the nearest example");
    }
    for text in [
        "How long do refunds take?",
        "Where can I read your privacy policy?",
        "This new app update is killing me, where is the timer?",
        "Wie setze ich mein Passwort zurück?",
    ] {
        let signals = decided(&app, e, &p, text).await.decision.signals.unwrap();
        assert!(signals.sensitive.is_none(), "ordinary: {text}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn an_admins_own_example_teaches_a_wording_and_replay_shows_it_before_saving(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let current = policy(&app).await;
    let e = &app.state.engines.embedder;
    // Visitors of this team write "Houston, we have a problem" when they
    // want the team.
    let wording = "Houston, we have a problem";
    let before = decided(&app, e, &current, wording).await;
    assert!(before
        .decision
        .signals
        .as_ref()
        .unwrap()
        .human_request
        .is_none());
    // The decision is on record, as a live turn would leave it.
    let mut tx = pool.ws(app.workspace_id).begin().await.unwrap();
    tandem::policy::replay::record(
        &mut tx,
        app.workspace_id,
        None,
        wording,
        &before.decision,
        None,
        Some(&before.vector),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut candidate = current.clone();
    candidate.human_request.examples = vec!["Houston, we have a problem!".into()];
    let replayed = replay::replay(&pool, e, app.workspace_id, &current, &candidate)
        .await
        .unwrap();
    assert_eq!(replayed.changed.len(), 1, "{replayed:?}");
    assert_eq!(replayed.changed[0].question, wording);
    assert_ne!(
        replayed.changed[0].before.as_deref(),
        Some("asked for a person")
    );
    assert_eq!(
        replayed.changed[0].after.as_deref(),
        Some("asked for a person")
    );

    settings::save(&app.state.engines.pool, app.workspace_id, &candidate)
        .await
        .unwrap();
    let saved = policy(&app).await;
    let after = decided(&app, e, &saved, wording).await;
    assert!(matches!(
        after.decision.handoff,
        Some(HandoffReason::HumanRequested { .. })
    ));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_question_in_another_language_finds_the_passage_and_the_quote_says_its_language(
    pool: PgPool,
) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let p = policy(&app).await;
    let generator = tandem::answer::generator(
        &p.generator,
        &app.state.engines.outbound,
        std::time::Duration::ZERO,
    );
    let (out, _pieces) = tokio::sync::mpsc::unbounded_channel();
    let message = Message {
        workspace_id: app.workspace_id,
        text: "Wie lange dauert es, bis ich mein Geld zurückbekomme?".into(),
        ..Message::default()
    };
    let response = tandem::answer::respond(
        &pool,
        &app.state.engines.embedder,
        &p,
        generator.as_ref(),
        &message,
        &out,
    )
    .await
    .unwrap();
    assert!(
        response.ranked[0]
            .passage
            .url
            .ends_with("refunds.html#refund-timing")
            || response
                .ranked
                .iter()
                .take(3)
                .any(|r| r.passage.url.contains("refunds.html")),
        "{:?}",
        response
            .ranked
            .iter()
            .map(|r| &r.passage.url)
            .collect::<Vec<_>>()
    );
    let signals = response.decision.signals.as_ref().unwrap();
    assert_eq!(signals.language.as_deref(), Some("de"));
    assert!(
        response.decision.answered,
        "{:?} {signals:?}",
        response.decision.handoff
    );
    let answer = response.answer.unwrap();
    assert!(
        answer
            .text
            .starts_with("Aus unserer Dokumentation (auf Englisch):"),
        "{}",
        answer.text
    );
    assert!(answer.text.contains("5 business days"), "{}", answer.text);
    assert!(!answer.citations.is_empty());
}

#[sqlx::test(migrations = "../migrations")]
async fn a_german_page_is_stemmed_as_german(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let text = "# Rückgabe\n\nSie können Lampen innerhalb von dreißig Tagen zurückgeben. \
                Die Rückerstattungen erfolgen auf das ursprüngliche Zahlungsmittel, \
                sobald wir die zurückgeschickten Lampen geprüft haben.\n";
    let (_, job_id) = tandem::ingest::jobs::add_file(
        &app.state.engines.pool,
        "http://127.0.0.1:3000",
        app.workspace_id,
        "rueckgabe.md",
        None,
        text.as_bytes().to_vec(),
    )
    .await
    .unwrap();
    app.run_job(job_id).await;
    let configs: Vec<String> = sqlx::query_scalar("select ts_config::text from chunk")
        .fetch_all(app.state.engines.pool.ws(app.workspace_id))
        .await
        .unwrap();
    assert_eq!(configs, vec!["german".to_owned()]);
    // "Rückerstattung" (singular) meets "Rückerstattungen" on its German stem.
    let stemmed: bool = sqlx::query_scalar(
        "select exists(select 1 from chunk where search @@ plainto_tsquery('german', 'Rückerstattung'))",
    )
    .fetch_one(app.state.engines.pool.ws(app.workspace_id))
    .await
    .unwrap();
    assert!(stemmed);
}

#[sqlx::test(migrations = "../migrations")]
async fn calibration_on_the_workspaces_content_sets_the_threshold_for_the_admins_target(
    pool: PgPool,
) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let before = policy(&app).await;
    assert_eq!(
        before.handoff_target,
        Some(0.15),
        "new workspaces have a target"
    );
    assert!(before.calibration.is_none());
    let (answerable, off_topic) = calibrate::calibrate(
        &pool,
        &app.state.engines.embedder,
        &before,
        app.workspace_id,
    )
    .await
    .unwrap();
    assert!(answerable >= 10, "{answerable}");
    assert_eq!(off_topic, calibrate::OFF_TOPIC.len());
    let after = policy(&app).await;
    let calibration = after.calibration.clone().unwrap();
    let point = calibration.threshold_for(0.15).unwrap();
    assert!(point.answerable_handoff <= 0.15);
    assert_eq!(after.threshold.value(), point.threshold);
    // Off-topic questions are mostly told apart on this content.
    assert!(point.unanswerable_answered < 0.5, "{point:?}");
    // An admin's own threshold replaces the target.
    let mut own = after.clone();
    own.handoff_target = None;
    own.threshold = app::types::Confidence::new(0.9).unwrap();
    settings::save(&pool, app.workspace_id, &own).await.unwrap();
    let saved = policy(&app).await;
    assert_eq!(saved.threshold.value(), 0.9);
    assert_eq!(saved.handoff_target, None);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_existing_workspace_moves_to_the_new_model_without_losing_retrieval(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let both = embedder();
    let english = both
        .english()
        .expect("the tests load the English model")
        .clone();
    assert_eq!(english.name(), LEGACY_MODEL);
    assert_eq!(both.name(), DEFAULT_MODEL);
    // An earlier version trained the workspace with the English-only model:
    // its vectors in `embedding`, none in `embedding_en`.
    let source = tandem::ingest::jobs::website_source(
        &pool,
        app.workspace_id,
        &app.url("/demo/index.html"),
        &Default::default(),
        None,
    )
    .await
    .unwrap();
    let job = tandem::ingest::jobs::enqueue(pool.ws(app.workspace_id), source)
        .await
        .unwrap();
    let worker = uuid::Uuid::new_v4();
    let claimed = tandem::ingest::jobs::claim(&app.state.engines.system, worker, Some(job))
        .await
        .unwrap()
        .unwrap();
    let row = tandem::ingest::jobs::run(
        &pool,
        &english,
        &app.state.engines.outbound,
        worker,
        claimed,
    )
    .await;
    assert_eq!(row.status, app::knowledge::JobStatus::Done, "{row:?}");
    let models: Vec<String> = sqlx::query_scalar("select distinct embedded_with from chunk")
        .fetch_all(pool.ws(app.workspace_id))
        .await
        .unwrap();
    assert_eq!(models, vec![LEGACY_MODEL.to_owned()]);
    assert!(reembed::pending(&app.state.engines.system, &both)
        .await
        .unwrap()
        .contains(&app.workspace_id));
    let p = policy(&app).await;
    let question = "How long do refunds take?";
    let finds_refunds = |d: &Decided| {
        d.ranked
            .iter()
            .take(3)
            .any(|r| r.passage.url.contains("refunds.html"))
    };

    // The first step gives English questions every chunk back (the old
    // vectors are the English model's); then the re-embedding goes on.
    let copied = reembed::step(&pool, &both, app.workspace_id).await.unwrap();
    assert!(copied > 0);
    assert!(finds_refunds(&decided(&app, &both, &p, question).await));
    let first = reembed::step(&pool, &both, app.workspace_id).await.unwrap();
    assert!(first > 0);
    let progress = reembed::progress(&pool, app.workspace_id, both.name())
        .await
        .unwrap();
    assert!(
        progress.moving() && progress.done == first as i64,
        "{progress:?}"
    );
    assert!(
        !reembed::finish(&pool, &both, app.workspace_id)
            .await
            .unwrap(),
        "not complete yet"
    );
    assert!(finds_refunds(&decided(&app, &both, &p, question).await));

    // A crash here loses nothing: the next run goes on from the batches done.
    reembed::run(&pool, &both, app.workspace_id).await.unwrap();
    let progress = reembed::progress(&pool, app.workspace_id, both.name())
        .await
        .unwrap();
    assert!(!progress.moving(), "{progress:?}");
    let models: Vec<String> = sqlx::query_scalar("select distinct embedded_with from chunk")
        .fetch_all(pool.ws(app.workspace_id))
        .await
        .unwrap();
    assert_eq!(models, vec![DEFAULT_MODEL.to_owned()]);
    let left: i64 = sqlx::query_scalar(
        "select count(*) from chunk where embedding_next is not null or embedding_en is null",
    )
    .fetch_one(pool.ws(app.workspace_id))
    .await
    .unwrap();
    assert_eq!(left, 0);
    assert!(!reembed::pending(&app.state.engines.system, &both)
        .await
        .unwrap()
        .contains(&app.workspace_id));
    assert!(finds_refunds(&decided(&app, &both, &p, question).await));
    // Now searched with the multilingual model: a German question finds it.
    assert!(finds_refunds(
        &decided(&app, &both, &p, "Wie lange dauert eine Rückerstattung?").await
    ));
}
