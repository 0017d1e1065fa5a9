//! A workspace's policy in the database: loaded for every decision, saved by
//! admins as a whole (validated first, in one transaction).

use app::types::policy::{
    Calibration, GeneratorSettings, HumanRequestSettings, Policy, Rule, SensitiveCategory,
    SupportHours, TradePoint, Unsure,
};
use app::types::Confidence;
use sqlx::types::Json;
use sqlx::PgPool;
use uuid::Uuid;

use super::{defaults, detect::Phrases, hours};
use crate::db::Scope;

#[derive(sqlx::FromRow)]
struct SettingsRow {
    confidence_threshold: Option<f32>,
    generator: Json<GeneratorSettings>,
    support_hours: Option<Json<SupportHours>>,
    answer_while_waiting: bool,
    human_request: Json<HumanRequestSettings>,
    handoff_target: Option<f32>,
    unsure: String,
    curve: Option<Json<Vec<TradePoint>>>,
    answerable: Option<i32>,
    unanswerable: Option<i32>,
    computed_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(sqlx::FromRow)]
struct CategoryRow {
    name: String,
    enabled: bool,
    phrases: Vec<String>,
    examples: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct RuleRow {
    rule_id: Uuid,
    name: String,
    enabled: bool,
    conditions: Json<Vec<app::types::policy::Condition>>,
    action: Json<app::types::policy::RuleAction>,
}

/// Stores categories in the order given.
async fn insert_categories(
    conn: &mut sqlx::PgConnection,
    workspace_id: Uuid,
    categories: &[SensitiveCategory],
) -> Result<(), sqlx::Error> {
    for (position, c) in categories.iter().enumerate() {
        sqlx::query!(
            "insert into sensitive_category (workspace_id, name, enabled, phrases, examples, position)
             values ($1, $2, $3, $4, $5, $6)",
            workspace_id,
            &c.name,
            c.enabled,
            &c.phrases,
            &c.examples,
            position as i32,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Creates the workspace's settings with the default categories, once.
async fn seed(pool: &PgPool, workspace_id: Uuid) -> Result<(), sqlx::Error> {
    let mut tx = pool.ws(workspace_id).begin().await?;
    let created = sqlx::query!(
        "insert into answer_settings (workspace_id) values ($1) on conflict do nothing",
        workspace_id,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if created == 1 {
        insert_categories(&mut tx, workspace_id, &defaults::categories()).await?;
    }
    tx.commit().await
}

/// The workspace's policy; `default_threshold` applies until an admin sets one.
pub async fn load(
    pool: &PgPool,
    workspace_id: Uuid,
    default_threshold: Confidence,
) -> Result<Policy, sqlx::Error> {
    let row = match sqlx::query_as::<_, SettingsRow>(
        "select s.confidence_threshold, s.generator, s.support_hours, s.answer_while_waiting,
                s.human_request, s.handoff_target, s.unsure, c.curve, c.answerable, c.unanswerable, c.computed_at
         from answer_settings s left join calibration c using (workspace_id)
         where s.workspace_id = $1",
    )
    .bind(workspace_id)
    .fetch_optional(pool.ws(workspace_id))
    .await?
    {
        Some(row) => row,
        None => {
            seed(pool, workspace_id).await?;
            return Box::pin(load(pool, workspace_id, default_threshold)).await;
        }
    };
    let categories = sqlx::query_as::<_, CategoryRow>(
        "select name, enabled, phrases, examples from sensitive_category
         where workspace_id = $1 order by position, name",
    )
    .bind(workspace_id)
    .fetch_all(pool.ws(workspace_id))
    .await?
    .into_iter()
    .map(|c| SensitiveCategory {
        name: c.name,
        enabled: c.enabled,
        phrases: c.phrases,
        examples: c.examples,
    })
    .collect();
    let rules = sqlx::query_as::<_, RuleRow>(
        "select rule_id, name, enabled, conditions, action from handoff_rule
         where workspace_id = $1 order by position",
    )
    .bind(workspace_id)
    .fetch_all(pool.ws(workspace_id))
    .await?
    .into_iter()
    .map(|r| Rule {
        id: r.rule_id,
        name: r.name,
        enabled: r.enabled,
        conditions: r.conditions.0,
        action: r.action.0,
    })
    .collect();
    let calibration = match (row.curve, row.computed_at) {
        (Some(curve), Some(at)) => Some(Calibration {
            curve: curve.0,
            answerable: row.answerable.unwrap_or(0).max(0) as u32,
            unanswerable: row.unanswerable.unwrap_or(0).max(0) as u32,
            computed_at: at.to_rfc3339(),
        }),
        _ => None,
    };
    // The admin's own threshold; else the one the target asks for on this
    // workspace's calibration; else the instance's default.
    let calibrated = row
        .handoff_target
        .zip(calibration.as_ref())
        .and_then(|(target, c)| c.threshold_for(target))
        .map(|p| Confidence::clamped(p.threshold));
    Ok(Policy {
        threshold: row
            .confidence_threshold
            .map(Confidence::clamped)
            .or(calibrated)
            .unwrap_or(default_threshold),
        handoff_target: row.handoff_target,
        calibration,
        categories,
        rules,
        generator: row.generator.0,
        support_hours: row.support_hours.map(|h| h.0),
        answer_while_waiting: row.answer_while_waiting,
        human_request: row.human_request.0,
        unsure: Unsure::parse(&row.unsure),
    })
}

/// Sensitive categories a workspace may have.
const MAX_CATEGORIES: usize = 30;
/// Phrases per category (and for requests for a person), and their length.
const MAX_PHRASES: usize = 100;
const MAX_PHRASE_CHARS: usize = 200;

/// What is wrong with a policy an admin wants to save, if anything.
pub fn validate(policy: &Policy) -> Result<(), String> {
    let mut names = std::collections::HashSet::new();
    for c in &policy.categories {
        let valid = c.name.len() <= 63
            && c.name.starts_with(|ch: char| ch.is_ascii_lowercase())
            && c.name
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
        if !valid {
            return Err(format!(
                "category names are lowercase words joined by _, not \u{201c}{}\u{201d}",
                c.name
            ));
        }
        if !names.insert(&c.name) {
            return Err(format!("two categories are named {}", c.name));
        }
        Phrases::compile(&c.phrases).map_err(|e| format!("{}: {e}", c.name))?;
    }
    if let Some(target) = policy.handoff_target {
        if !(0.0..=0.5).contains(&target) {
            return Err("hand off between 0 and 50 % of the questions the content answers".into());
        }
    }
    // Phrases are compiled for every message: their number and size are
    // bounded, like the examples'.
    if policy.categories.len() > MAX_CATEGORIES {
        return Err(format!("at most {MAX_CATEGORIES} sensitive categories"));
    }
    let phrase_lists = policy
        .categories
        .iter()
        .map(|c| (c.name.as_str(), &c.phrases))
        .chain([("requests for a person", &policy.human_request.phrases)]);
    for (name, phrases) in phrase_lists {
        if phrases.len() > MAX_PHRASES
            || phrases.iter().any(|p| p.chars().count() > MAX_PHRASE_CHARS)
        {
            return Err(format!(
                "{name}: at most {MAX_PHRASES} phrases of {MAX_PHRASE_CHARS} characters"
            ));
        }
    }
    Phrases::compile(&policy.human_request.phrases)
        .map_err(|e| format!("requests for a person: {e}"))?;
    let examples = &policy.human_request.examples;
    if examples.len() > 200 || examples.iter().any(|e| e.chars().count() > 500) {
        return Err("requests for a person: at most 200 examples of 500 characters".into());
    }
    for c in &policy.categories {
        if c.examples.len() > 200 || c.examples.iter().any(|e| e.chars().count() > 500) {
            return Err(format!(
                "{}: at most 200 examples of 500 characters",
                c.name
            ));
        }
    }
    for r in &policy.rules {
        if r.name.trim().is_empty() {
            return Err("every rule needs a name".into());
        }
        if r.conditions.is_empty() {
            return Err(format!("rule \u{201c}{}\u{201d} has no condition", r.name));
        }
        for c in &r.conditions {
            match c {
                app::types::policy::Condition::Phrase { pattern } => {
                    Phrases::compile(std::slice::from_ref(pattern))
                        .map_err(|e| format!("rule \u{201c}{}\u{201d}: {e}", r.name))?;
                }
                app::types::policy::Condition::Like { questions } => {
                    if questions.is_empty() || questions.iter().any(|q| q.trim().is_empty()) {
                        return Err(format!(
                            "rule \u{201c}{}\u{201d}: give at least one question, none of them empty",
                            r.name
                        ));
                    }
                    if questions.len() > 50 || questions.iter().any(|q| q.chars().count() > 500) {
                        return Err(format!(
                            "rule \u{201c}{}\u{201d}: at most 50 questions of 500 characters",
                            r.name
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    if let GeneratorSettings::OpenAi {
        base_url, model, ..
    } = &policy.generator
    {
        let url = url::Url::parse(base_url)
            .map_err(|_| format!("\u{201c}{base_url}\u{201d} is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("the model endpoint must be an http(s) URL".into());
        }
        if model.trim().is_empty() {
            return Err("name the model to use".into());
        }
    }
    if let Some(h) = &policy.support_hours {
        hours::validate(h)?;
    }
    Ok(())
}

/// The policy as the browser may see it: the API key is never sent back.
pub fn redacted(mut policy: Policy) -> Policy {
    if let GeneratorSettings::OpenAi { api_key, .. } = &mut policy.generator {
        if !api_key.is_empty() {
            *api_key = String::new();
        }
    }
    policy
}

/// Replaces the workspace's policy. An OpenAI-compatible generator saved
/// with an empty key keeps the key already stored, but only for the same
/// endpoint: a key is never sent to an address it was not entered for.
/// Rule ids are the server's: each save gives fresh ones.
pub async fn save(pool: &PgPool, workspace_id: Uuid, policy: &Policy) -> Result<(), SaveError> {
    validate(policy).map_err(SaveError::Invalid)?;
    let mut policy = policy.clone();
    for rule in &mut policy.rules {
        rule.id = Uuid::new_v4();
    }
    if let GeneratorSettings::OpenAi {
        api_key, base_url, ..
    } = &mut policy.generator
    {
        if api_key.is_empty() {
            let stored: Option<Json<GeneratorSettings>> =
                sqlx::query_scalar("select generator from answer_settings where workspace_id = $1")
                    .bind(workspace_id)
                    .fetch_optional(pool.ws(workspace_id))
                    .await?;
            if let Some(Json(GeneratorSettings::OpenAi {
                api_key: old,
                base_url: old_url,
                ..
            })) = stored
            {
                if old_url.trim_end_matches('/') == base_url.trim_end_matches('/') {
                    *api_key = old;
                }
            }
        }
    }
    let mut tx = pool.ws(workspace_id).begin().await?;
    sqlx::query(
        "insert into answer_settings (workspace_id, confidence_threshold, generator, support_hours,
             answer_while_waiting, human_request, handoff_target, unsure, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, now())
         on conflict (workspace_id) do update set confidence_threshold = $2, generator = $3,
             support_hours = $4, answer_while_waiting = $5, human_request = $6,
             handoff_target = $7, unsure = $8, updated_at = now()",
    )
    .bind(workspace_id)
    // With a target the threshold follows the calibration: none is kept.
    .bind(
        policy
            .handoff_target
            .is_none()
            .then_some(policy.threshold.value()),
    )
    .bind(Json(&policy.generator))
    .bind(policy.support_hours.as_ref().map(Json))
    .bind(policy.answer_while_waiting)
    .bind(Json(&policy.human_request))
    .bind(policy.handoff_target)
    .bind(policy.unsure.as_str())
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "delete from sensitive_category where workspace_id = $1",
        workspace_id,
    )
    .execute(&mut *tx)
    .await?;
    insert_categories(&mut tx, workspace_id, &policy.categories).await?;
    sqlx::query!(
        "delete from handoff_rule where workspace_id = $1",
        workspace_id,
    )
    .execute(&mut *tx)
    .await?;
    for (position, r) in policy.rules.iter().enumerate() {
        sqlx::query(
            "insert into handoff_rule (rule_id, workspace_id, position, name, enabled, conditions, action)
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(r.id)
        .bind(workspace_id)
        .bind(position as i32)
        .bind(r.name.trim())
        .bind(r.enabled)
        .bind(Json(&r.conditions))
        .bind(Json(&r.action))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Why settings (the policy, the widget's) were not saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}
