//! The stable URLs answers cite for knowledge Tandem holds itself (uploaded
//! files and answer snippets), and the admin's file upload.

use axum::extract::rejection::PathRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;
use uuid::Uuid;

use crate::db::Scope;
use crate::ingest::extract::Section;
use crate::ingest::{jobs, IngestError};
use crate::{auth, Engines};

/// Cited content is shown as data: no scripts, no plugins, no framing tricks.
const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'";

use crate::html::escape;

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>body{{font:16px/1.6 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#0f172a}}\
         h1{{font-size:1.6rem}}h2{{font-size:1.2rem;margin-top:2rem}}p{{margin:.4rem 0}}\
         :target{{background:#fef3c7}}</style></head><body>{body}</body></html>",
        escape(title)
    );
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_CSP),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        html,
    )
        .into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such document").into_response()
}

/// An uploaded file: PDFs as they are (viewers follow `#page=N`), other
/// formats as the cleaned text kept when they were indexed, with an anchor
/// per section.
pub async fn file(
    State(engines): State<Engines>,
    path: Result<Path<(String, Uuid, String)>, PathRejection>,
) -> Response {
    // A malformed id is as missing as an unknown one (no decoder's text).
    let Ok(Path((workspace, source_id, _name))) = path else {
        return not_found();
    };
    #[derive(sqlx::FromRow)]
    struct FileRow {
        filename: String,
        pdf: Option<Vec<u8>>,
        sections: Option<sqlx::types::Json<Vec<Section>>>,
    }
    let workspace_id = match crate::db::workspace_by_slug(&engines.pool, &workspace).await {
        Ok(Some(id)) => id,
        Ok(None) => return not_found(),
        Err(err) => {
            tracing::error!(error = %err, "reading a file failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let row: Option<FileRow> = match sqlx::query_as(
        "select f.filename,
                case when f.content_type = 'application/pdf' then f.bytes end as pdf, f.sections
         from file_blob f where f.source_id = $1",
    )
    .bind(source_id)
    .fetch_optional(engines.pool.ws(workspace_id))
    .await
    {
        Ok(row) => row,
        Err(err) => {
            tracing::error!(error = %err, "reading a file failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let Some(row) = row else {
        return not_found();
    };
    if let Some(bytes) = row.pdf {
        let disposition = format!(
            "inline; filename=\"{}\"",
            row.filename.replace(['"', '\\'], "_")
        );
        return (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/pdf"),
                ),
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static("sandbox"),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_str(&disposition)
                        .unwrap_or(HeaderValue::from_static("inline")),
                ),
            ],
            bytes,
        )
            .into_response();
    }
    let Some(sections) = row.sections else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, HeaderValue::from_static("10"))],
            "this document is still being indexed",
        )
            .into_response();
    };
    let title = sections
        .0
        .first()
        .and_then(|s| s.headings.first().cloned())
        .unwrap_or_else(|| row.filename.clone());
    let mut body = format!("<h1>{}</h1>", escape(&title));
    for section in sections.0.iter() {
        if let Some(heading) = section.headings.last().filter(|h| **h != title) {
            match &section.anchor {
                Some(anchor) => body.push_str(&format!(
                    "<h2 id=\"{}\">{}</h2>",
                    escape(anchor),
                    escape(heading)
                )),
                None => body.push_str(&format!("<h2>{}</h2>", escape(heading))),
            }
        }
        for line in section.text.lines() {
            body.push_str(&format!("<p>{}</p>", escape(line)));
        }
    }
    page(&title, &body)
}

/// An answer snippet, as the page its citations link to.
pub async fn snippet(
    State(engines): State<Engines>,
    path: Result<Path<(String, Uuid)>, PathRejection>,
) -> Response {
    let Ok(Path((workspace, id))) = path else {
        return not_found();
    };
    let workspace_id = match crate::db::workspace_by_slug(&engines.pool, &workspace).await {
        Ok(Some(id)) => id,
        Ok(None) => return not_found(),
        Err(err) => {
            tracing::error!(error = %err, "reading a snippet failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let row: Option<(String, String, String)> = match sqlx::query_as(
        "select s.question, s.answer, w.name from snippet s join workspace w using (workspace_id)
         where s.snippet_id = $1",
    )
    .bind(id)
    .fetch_optional(engines.pool.ws(workspace_id))
    .await
    {
        Ok(row) => row,
        Err(err) => {
            tracing::error!(error = %err, "reading a snippet failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let Some((question, answer, workspace_name)) = row else {
        return not_found();
    };
    let mut body = format!(
        "<p style=\"color:#64748b\">{} · answer</p><h1>{}</h1>",
        escape(&workspace_name),
        escape(&question)
    );
    for paragraph in answer.split("\n\n") {
        body.push_str(&format!("<p>{}</p>", escape(paragraph.trim())));
    }
    page(&question, &body)
}

/// `POST /admin/files` (multipart, one or more `file` fields), for admins.
/// Answers JSON when asked (`Accept: application/json`), else redirects
/// back to the knowledge page with a notice or an error.
pub async fn upload(
    State(engines): State<Engines>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Response {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let reply = |status: StatusCode, message: String, files: serde_json::Value| {
        if wants_json {
            let key = if status.is_success() {
                "notice"
            } else {
                "error"
            };
            (status, axum::Json(json!({ key: message, "files": files }))).into_response()
        } else {
            let key = if status.is_success() {
                "notice"
            } else {
                "error"
            };
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair(key, &message)
                .finish();
            Redirect::to(&format!("/admin/knowledge?{query}")).into_response()
        }
    };
    // Same-origin only (the session cookie is also SameSite=Lax).
    if let (Some(origin), Some(host)) = (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        if url::Url::parse(origin)
            .ok()
            .and_then(|u| u.host_str().map(|h| (h.to_owned(), u.port())))
            .is_none_or(|(h, port)| {
                let origin_host = port.map(|p| format!("{h}:{p}")).unwrap_or(h);
                origin_host != host
            })
        {
            return reply(
                StatusCode::FORBIDDEN,
                "cross-site upload refused".into(),
                json!([]),
            );
        }
    }
    let token = app::desk::session_from(&headers, engines.https());
    let agent = match token {
        Some(token) => auth::session_agent(&engines.system, &token)
            .await
            .ok()
            .flatten(),
        None => None,
    };
    let Some(agent) = agent else {
        return reply(StatusCode::UNAUTHORIZED, "sign in first".into(), json!([]));
    };
    if !agent.role.is_admin() {
        return reply(
            StatusCode::FORBIDDEN,
            "only admins can add knowledge".into(),
            json!([]),
        );
    }
    let mut results = Vec::new();
    let mut first_error: Option<(StatusCode, String)> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) => {
                let status = err.status();
                let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "the upload is larger than the 20 MB limit".to_owned()
                } else {
                    format!("the upload could not be read: {}", err.body_text())
                };
                first_error.get_or_insert((status, message.clone()));
                results.push(json!({ "error": message }));
                break;
            }
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("upload").to_owned();
        let content_type = field.content_type().map(str::to_owned);
        let bytes = match field.bytes().await {
            Ok(bytes) => bytes,
            Err(err) => {
                let status = err.status();
                let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    format!("{name} is larger than the 20 MB limit")
                } else {
                    format!("{name} could not be read: {}", err.body_text())
                };
                first_error.get_or_insert((status, message.clone()));
                results.push(json!({ "name": name, "error": message }));
                break;
            }
        };
        if bytes.is_empty() && name == "upload" {
            continue; // an empty file input
        }
        match jobs::add_file(
            &engines.pool,
            &engines.public_url,
            agent.workspace_id,
            &name,
            content_type.as_deref(),
            bytes.to_vec(),
        )
        .await
        {
            Ok((source_id, job_id)) => {
                results.push(json!({ "name": name, "source_id": source_id, "job_id": job_id }))
            }
            Err(IngestError::Rejected(message)) => {
                let status = if message.contains("20 MB") {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else {
                    StatusCode::UNSUPPORTED_MEDIA_TYPE
                };
                first_error.get_or_insert((status, message.clone()));
                results.push(json!({ "name": name, "error": message }));
            }
            Err(err) => {
                tracing::error!(error = %err, "storing an upload failed");
                let message = format!("{name} could not be stored; try again");
                first_error.get_or_insert((StatusCode::INTERNAL_SERVER_ERROR, message.clone()));
                results.push(json!({ "name": name, "error": message }));
            }
        }
    }
    let files = serde_json::Value::Array(results.clone());
    match first_error {
        Some((status, message)) => reply(status, message, files),
        None if results.is_empty() => reply(
            StatusCode::BAD_REQUEST,
            "choose a file to upload".into(),
            files,
        ),
        None => reply(
            StatusCode::OK,
            format!(
                "{} uploaded; indexing started",
                results
                    .iter()
                    .filter_map(|r| r["name"].as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            files,
        ),
    }
}
