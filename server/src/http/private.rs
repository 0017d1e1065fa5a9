//! What every response says about itself, and what the signed-in pages and
//! the server functions add: no caching of anyone's inbox, no referrer to
//! other sites, a link from another site reloaded so the `SameSite=Strict`
//! session comes along, and a server function's refusal as its HTTP status.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::error::DeskError;

use crate::Engines;

/// The largest server function error body read to find its status.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Pages for the signed-in (or signing in), and the server functions.
fn private(path: &str) -> bool {
    [
        "/inbox", "/admin", "/account", "/api/", "/setup", "/login", "/invite",
    ]
    .iter()
    .any(|prefix| path.starts_with(prefix))
}

/// Sent instead of a signed-in page that a link from another site opened:
/// the strict session cookie stays behind on such a request, and one reload
/// from this origin brings it (no script needed; the policy allows none).
const RELOAD: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"refresh\" content=\"0\"><title>Tandem</title></head>\
<body><p><a href=\"\">Continue to Tandem</a></p></body></html>";

pub(super) async fn page_headers(
    State(engines): State<Engines>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let private = private(&path);
    // A NUL in the path or query (a workspace's name, an id) goes no
    // further: PostgreSQL cannot take it, and it is nobody's name.
    let nul_in_uri = request
        .uri()
        .path_and_query()
        .is_some_and(|pq| pq.as_str().to_ascii_lowercase().contains("%00"));
    if nul_in_uri {
        return finish(
            (
                StatusCode::BAD_REQUEST,
                "NUL characters are not allowed in addresses.",
            )
                .into_response(),
            private,
        );
    }
    let linked_from_elsewhere = {
        let headers = request.headers();
        let fetch = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        fetch("sec-fetch-site") == Some("cross-site")
            && fetch("sec-fetch-mode") == Some("navigate")
            && app::desk::session_from(headers, engines.https()).is_none()
    };
    if private
        && request.method() == Method::GET
        && !path.starts_with("/api/")
        && linked_from_elsewhere
    {
        let reload = (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; frame-ancestors 'none'",
                ),
            ],
            RELOAD,
        )
            .into_response();
        return finish(reload, private);
    }
    let request = if path.starts_with("/api/") && request.method() == Method::POST {
        match without_nul(request).await {
            Ok(request) => request,
            Err(refused) => return refused,
        }
    } else {
        request
    };
    let mut response = next.run(request).await;
    if path.starts_with("/api/") && response.status() == StatusCode::INTERNAL_SERVER_ERROR {
        response = with_status(response).await;
    }
    finish(response, private)
}

/// What every response says about itself.
fn finish(mut response: Response, private: bool) -> Response {
    let headers = response.headers_mut();
    if private {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("same-origin"));
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    response
}

/// The largest server function request read whole (the policy with its
/// examples is the largest, well below).
const REQUEST_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// A server function's request, refused with a clear 400 when its text
/// holds a NUL character (as `%00` or `\u0000`), which PostgreSQL cannot
/// store: one answer for every function instead of a failure in each.
async fn without_nul(request: Request) -> Result<Request, Response> {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, REQUEST_BODY_LIMIT).await else {
        let (status, error) = (
            StatusCode::PAYLOAD_TOO_LARGE,
            DeskError::Invalid("This request is too large.".into()),
        );
        return Err((status, serde_json::to_string(&error).unwrap_or_default()).into_response());
    };
    let nul = bytes.contains(&0)
        || bytes.windows(3).any(|w| w.eq_ignore_ascii_case(b"%00"))
        || bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000"));
    if nul {
        let error = DeskError::Invalid("Text may not contain NUL characters.".into());
        return Err((
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_string(&error).unwrap_or_default(),
        )
            .into_response());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// A server function's error with the status it means (Leptos answers every
/// error with 500): 401, 403, 404, 400 or 429; a request the function
/// could not read is a 400 that says so, without the decoder's words.
async fn with_status(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, ERROR_BODY_LIMIT).await else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on our side; it has been logged.",
        )
            .into_response();
    };
    let Ok(error) = serde_json::from_slice::<DeskError>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let (status, error) = status_of(error);
    parts.status = status;
    let body = serde_json::to_vec(&error).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// The HTTP status of a server function's error, and the error as sent.
pub(crate) fn status_of(error: DeskError) -> (StatusCode, DeskError) {
    let status = match &error {
        DeskError::NotSignedIn | DeskError::BadCredentials => StatusCode::UNAUTHORIZED,
        DeskError::Forbidden => StatusCode::FORBIDDEN,
        DeskError::NotFound => StatusCode::NOT_FOUND,
        DeskError::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
        DeskError::Invalid(_) => StatusCode::BAD_REQUEST,
        DeskError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        DeskError::Transport(err) => {
            tracing::debug!(error = %err, "a server function's arguments were refused");
            return (
                StatusCode::BAD_REQUEST,
                DeskError::Invalid(
                    "This request could not be read: a field is missing or malformed.".into(),
                ),
            );
        }
    };
    (status, error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_have_their_own_status_and_no_decoder_text() {
        assert_eq!(
            status_of(DeskError::NotSignedIn).0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(status_of(DeskError::Forbidden).0, StatusCode::FORBIDDEN);
        assert_eq!(status_of(DeskError::NotFound).0, StatusCode::NOT_FOUND);
        let (status, error) = status_of(DeskError::Transport(
            leptos::prelude::ServerFnErrorErr::Args("missing field `app::types::Foo`".into()),
        ));
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(!error.to_string().contains("app::"));
    }

    #[test]
    fn signed_in_pages_are_private() {
        for path in [
            "/inbox",
            "/inbox/1",
            "/admin/policy",
            "/api/login123",
            "/setup",
            "/account",
        ] {
            assert!(private(path), "{path}");
        }
        for path in ["/", "/demo/", "/widget", "/widget.js", "/kb/demo/files/x/y"] {
            assert!(!private(path), "{path}");
        }
    }
}
