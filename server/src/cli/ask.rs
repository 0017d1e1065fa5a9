//! `tandem policy`, `tandem ask` and `tandem eval`: the answer engine and
//! the handoff policy from the command line.

use crate::config::{DbArgs, ModelArgs};
use crate::outbound::Outbound;
use app::types::Confidence;
use uuid::Uuid;

use super::{open_workspace, AnyError};

/// The workspace's policy, as the server would apply it.
pub async fn policy(
    pool: &sqlx::PgPool,
    workspace_id: Uuid,
) -> Result<app::types::policy::Policy, AnyError> {
    // The same default the server applies (TANDEM_CONFIDENCE_THRESHOLD).
    let default = std::env::var("TANDEM_CONFIDENCE_THRESHOLD")
        .ok()
        .and_then(|v| v.parse::<f32>().ok())
        .unwrap_or(crate::policy::confidence::DEFAULT_THRESHOLD);
    let default = Confidence::new(default)?;
    Ok(crate::policy::settings::load(pool, workspace_id, default).await?)
}

pub async fn ask(
    db: DbArgs,
    model: ModelArgs,
    outbound: Outbound,
    workspace: String,
    question: String,
) -> Result<(), AnyError> {
    let (pool, embedder, workspace_id) = open_workspace(&db, &model, &workspace, false).await?;
    let policy = policy(&pool, workspace_id).await?;
    let generator =
        crate::answer::generator(&policy.generator, &outbound, std::time::Duration::ZERO);
    let (out, _pieces) = tokio::sync::mpsc::unbounded_channel();
    let message = crate::policy::Message {
        workspace_id,
        text: question,
        at: Some(chrono::Utc::now()),
        ..Default::default()
    };
    let response = crate::answer::respond(
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
pub async fn eval(
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
    let cases = crate::eval::parse(&text).map_err(|e| format!("{}: {e}", file.display()))?;
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
        crate::answer::generator(&policy.generator, &outbound, std::time::Duration::ZERO);
    let bar = indicatif::ProgressBar::new(cases.len() as u64);
    if json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let (report, outcomes) = crate::eval::run(
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
