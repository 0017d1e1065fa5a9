//! Answer snippets: question/answer pairs written by admins, embedded and
//! indexed at once as pages of the workspace's `snippets` source, so the AI
//! cites them like any page (`{public}/kb/{workspace}/snippets/{id}`).

use sqlx::PgPool;
use uuid::Uuid;

use super::extract::{ExtractedPage, Section};
use super::{store_pages, IngestError, PreparedPage};
use crate::db::Scope;
use crate::Engines;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SnippetRow {
    pub snippet_id: Uuid,
    pub question: String,
    pub answer: String,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

pub fn validate(question: &str, answer: &str) -> Result<(String, String), IngestError> {
    let question = question.trim();
    let answer = answer.trim();
    if question.is_empty() || answer.is_empty() {
        return Err(IngestError::Rejected(
            "a snippet needs a question and an answer".into(),
        ));
    }
    if question.chars().count() > 500 {
        return Err(IngestError::Rejected(
            "the question is longer than 500 characters".into(),
        ));
    }
    if answer.chars().count() > 10_000 {
        return Err(IngestError::Rejected(
            "the answer is longer than 10,000 characters".into(),
        ));
    }
    Ok((question.to_owned(), answer.to_owned()))
}

/// Creates or updates a snippet and indexes it before returning.
pub async fn save(
    engines: &Engines,
    workspace_id: Uuid,
    snippet_id: Option<Uuid>,
    question: &str,
    answer: &str,
    author: Option<Uuid>,
) -> Result<Uuid, IngestError> {
    let (question, answer) = validate(question, answer)?;
    let (pool, embedder, public_url) = (&engines.pool, &engines.embedder, &engines.public_url);
    let slug: String = sqlx::query_scalar!(
        "select slug from workspace where workspace_id = $1",
        workspace_id,
    )
    .fetch_one(pool.ws(workspace_id))
    .await?;
    let base = format!("{}/kb/{slug}/snippets", public_url.trim_end_matches('/'));
    let source_id: Uuid = sqlx::query_scalar!(
        "insert into source (source_id, workspace_id, kind, start_url, title)
         values ($1, $2, 'snippets', $3, 'Answer snippets')
         on conflict (workspace_id, start_url) do update set updated_at = now()
         returning source_id",
        Uuid::new_v4(),
        workspace_id,
        &base,
    )
    .fetch_one(pool.ws(workspace_id))
    .await?;
    let id = match snippet_id {
        Some(id) => {
            let updated = sqlx::query!(
                "update snippet set question = $3, answer = $4, updated_at = now()
                 where snippet_id = $1 and workspace_id = $2",
                id,
                workspace_id,
                &question,
                &answer,
            )
            .execute(pool.ws(workspace_id))
            .await?
            .rows_affected();
            if updated == 0 {
                return Err(IngestError::Rejected("no such snippet".into()));
            }
            id
        }
        None => {
            let id = Uuid::new_v4();
            sqlx::query!(
                "insert into snippet (snippet_id, workspace_id, question, answer, created_by)
                 values ($1, $2, $3, $4, $5)",
                id,
                workspace_id,
                &question,
                &answer,
                author,
            )
            .execute(pool.ws(workspace_id))
            .await?;
            id
        }
    };
    let page = ExtractedPage {
        title: question.clone(),
        sections: vec![Section {
            headings: vec![question.clone()],
            anchor: None,
            text: answer
                .split("\n\n")
                .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join("\n"),
        }],
        links: vec![],
        canonical: None,
    };
    let prepared = PreparedPage::new(format!("{base}/{id}"), &page);
    store_pages(pool, embedder, workspace_id, source_id, &[prepared]).await?;
    Ok(id)
}

pub async fn delete(
    pool: &PgPool,
    workspace_id: Uuid,
    snippet_id: Uuid,
) -> Result<bool, IngestError> {
    let mut tx = pool.ws(workspace_id).begin().await?;
    let deleted = sqlx::query!(
        "delete from snippet where snippet_id = $1 and workspace_id = $2",
        snippet_id,
        workspace_id,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query!(
        "delete from page p using source s
         where p.source_id = s.source_id and s.workspace_id = $1 and s.kind = 'snippets'
           and p.url = s.start_url || '/' || $2",
        workspace_id,
        snippet_id.to_string(),
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(deleted > 0)
}

pub async fn list(pool: &PgPool, workspace_id: Uuid) -> Result<Vec<SnippetRow>, sqlx::Error> {
    sqlx::query_as(
        "select snippet_id, question, answer, updated_at from snippet
         where workspace_id = $1 order by created_at desc",
    )
    .bind(workspace_id)
    .fetch_all(pool.ws(workspace_id))
    .await
}
