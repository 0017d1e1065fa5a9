//! The HTTP edge: pages (Leptos SSR), server functions, sockets, the widget
//! launcher script, the demo site and the health check.

mod kb;
mod private;
mod ws;

pub use ws::LiveSettings;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use uuid::Uuid;

use crate::db::Scope;
use crate::{demo, desk, widget, AppState, Engines};

const WIDGET_JS: &str = include_str!("http/widget.js");

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let desk = state.desk.clone();
    let options = state.leptos_options.clone();
    let widget_page = {
        let desk = state.desk.clone();
        let options = state.leptos_options.clone();
        leptos_axum::render_app_to_stream_with_context(
            move || desk::provide(&desk),
            move || app::widget_shell(options.clone()),
        )
    };
    // The UI bundles, sent as built: brotli or gzip files written by
    // scripts/build.sh at the highest levels (no compression per request).
    let pkg = std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    Router::new()
        .nest_service(
            "/pkg",
            tower_http::services::ServeDir::new(pkg)
                .precompressed_br()
                .precompressed_gzip(),
        )
        .route("/widget", get(move |request: axum::extract::Request| widget_page(request)))
        .route("/widget.js", get(widget_js))
        .route("/widget/config", get(widget_config))
        .route("/favicon.svg", get(favicon))
        .route("/favicon.ico", get(favicon))
        .route("/demo/favicon.ico", get(favicon))
        .route("/demo", get(|| async { Redirect::permanent("/demo/") }))
        .route(
            "/demo/",
            get(|engines: State<Engines>| demo_file(engines, Path("index.html".to_owned()))),
        )
        .route("/demo/{file}", get(demo_file))
        .route("/kb/{workspace}/files/{source}/{name}", get(kb::file))
        .route("/kb/{workspace}/snippets/{id}", get(kb::snippet))
        .route(
            "/admin/files",
            axum::routing::post(kb::upload).layer(axum::extract::DefaultBodyLimit::max(
                crate::ingest::document::MAX_FILE_BYTES + 1024 * 1024,
            )),
        )
        .route("/admin/export/conversations.csv", get(export_csv))
        .route("/admin/export/visitor/{conversation}", get(export_visitor))
        .route("/ws/visitor", get(ws::visitor))
        .route("/ws/inbox", get(ws::inbox))
        .leptos_routes_with_context(&state, routes, move || desk::provide(&desk), move || {
            app::shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(app::shell))
        .layer(axum::middleware::from_fn_with_state(
            state.engines.clone(),
            frame_policy,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.engines.clone(),
            private::page_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.engines.clone(),
            same_origin_writes,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.engines.clone(),
            client_address,
        ))
        .layer(CompressionLayer::new())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().on_failure(DefaultOnFailure::new().level(tracing::Level::WARN)).make_span_with(|request: &Request<_>| {
            let request_id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        // Probes are polled often; they stay out of the request log.
        .route("/healthz", get(healthz).layer(axum::middleware::map_response(probe_headers)))
        .route("/readyz", get(readyz).layer(axum::middleware::map_response(probe_headers)))
        .with_state(state)
}

/// Behind a reverse proxy (`TANDEM_CLIENT_IP_HEADER`), the client's address
/// is the last one the proxy put in that header, and every handler (the
/// sign-in throttle, the visitors' limits) sees it as the peer's.
async fn client_address(
    State(engines): State<Engines>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(name) = &engines.client_ip_header {
        let named = request
            .headers()
            .get_all(name)
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|ip| ip.trim().parse::<std::net::IpAddr>().ok());
        let peer = request
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0);
        if let (Some(ip), Some(peer)) = (named, peer) {
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(std::net::SocketAddr::new(
                    ip,
                    peer.port(),
                )));
        }
    }
    next.run(request).await
}

/// A query string or path that does not decode: said plainly (the
/// decoder's text would tell what the handler expects).
pub(crate) fn bad_address() -> Response {
    (StatusCode::BAD_REQUEST, "This address is not valid.").into_response()
}

/// What every response carries, for the probes (outside the layers that
/// add it to the rest).
async fn probe_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Refuses a socket opened from another site's page (cross-site WebSocket hijacking).
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match (
        headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()),
        host,
    ) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, rest)| rest) == Some(host),
        (Some(_), None) => false,
    }
}

/// Whether a request that changes something comes from a page of this
/// server: its `Origin` is this host (or the public URL's), and the browser
/// does not say it came from another site. Clients that are not browsers
/// send neither header and are judged by their credentials alone.
pub(crate) fn may_write(headers: &HeaderMap, public_url: &str) -> bool {
    let fetched_from = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(fetched_from, Some("cross-site" | "same-site")) {
        return false;
    }
    let public = public_url.trim_end_matches('/');
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        None => true,
        // Behind TLS the public URL was configured: only its origin writes
        // (an Origin that merely matches the request's Host could be a
        // rebound name). Otherwise the address it was reached by counts too
        // (localhost or 127.0.0.1 on a laptop).
        Some(origin) => {
            origin.trim_end_matches('/') == public
                || (!public.starts_with("https://") && same_origin(headers))
        }
    }
}

/// Refuses a state-changing request (any method but GET, HEAD, OPTIONS)
/// from another origin — a page on another port of the same host included,
/// whose requests carry the admin's cookie — before it reaches a server
/// function or an upload.
async fn same_origin_writes(
    State(engines): State<Engines>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let reads = matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    if !reads && !may_write(request.headers(), &engines.public_url) {
        tracing::warn!(
            path = %request.uri().path(),
            origin = ?request.headers().get(header::ORIGIN),
            "a request from another origin was refused"
        );
        return (
            StatusCode::FORBIDDEN,
            "This request came from another site's page and was refused.",
        )
            .into_response();
    }
    next.run(request).await
}

#[derive(serde::Deserialize)]
struct ConfigParams {
    workspace: String,
}

fn json_response(status: StatusCode, body: String, allow_origin: Option<&str>) -> Response {
    let mut response = (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::VARY,
                HeaderValue::from_static("Origin, Accept-Language"),
            ),
        ],
        body,
    )
        .into_response();
    if let Some(value) = allow_origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        response
            .headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    response
}

/// What the launcher script needs (colour, corner, texts), for a page of an
/// allowed site; a page elsewhere gets 403 and shows no launcher.
async fn widget_config(
    State(engines): State<Engines>,
    headers: HeaderMap,
    params: Result<Query<ConfigParams>, QueryRejection>,
) -> Response {
    let Ok(Query(params)) = params else {
        return bad_address();
    };
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    let error = |status, message: &str, origin| {
        json_response(
            status,
            serde_json::json!({ "error": message }).to_string(),
            origin,
        )
    };
    let row = match widget::by_slug(&engines.pool, &params.workspace).await {
        Ok(Some(row)) => row,
        Ok(None) => return error(StatusCode::NOT_FOUND, "unknown workspace", origin),
        Err(err) => {
            tracing::warn!(error = %err, "widget config: database unreachable");
            return error(StatusCode::SERVICE_UNAVAILABLE, "try again shortly", origin);
        }
    };
    if !same_origin(&headers) && !row.allows(origin) {
        return error(StatusCode::FORBIDDEN, widget::NOT_ALLOWED_HERE, origin);
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let config = row.launcher(row.language(accept));
    json_response(
        StatusCode::OK,
        serde_json::to_string(&config).expect("launcher config serialises"),
        origin,
    )
}

/// Which pages may frame Tandem's: the chat frame (`/widget`) only on the
/// workspace's allowed sites (any, while it has no list), everything else
/// only on Tandem itself (no clickjacking of the inbox).
async fn frame_policy(
    State(engines): State<Engines>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // Exactly one `workspace`: with two, the page could render one
    // workspace's chat under another's policy.
    let widget_of = (request.uri().path() == "/widget").then(|| {
        let mut named =
            url::form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
                .filter(|(k, _)| k == "workspace")
                .map(|(_, v)| v.into_owned());
        match (named.next(), named.next()) {
            (Some(slug), None) => slug,
            _ => String::new(),
        }
    });
    let top_level = request
        .headers()
        .get("sec-fetch-dest")
        .is_some_and(|dest| dest == "document");
    let row = match &widget_of {
        Some(slug) => widget::by_slug(&engines.pool, slug).await.ok().flatten(),
        None => None,
    };
    // Opened as a page of its own, the chat has no embedding site to check
    // (the `host` it is given is the opener's word): a workspace that lists
    // its sites shows its chat only inside them.
    if top_level
        && row
            .as_ref()
            .is_some_and(|row| !row.allowed_origins.is_empty())
    {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            format!(
                "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
                 <title>Chat unavailable</title></head><body><p role=\"alert\">{}</p></body></html>",
                widget::NOT_ALLOWED_HERE
            ),
        )
            .into_response();
    }
    let mut response = next.run(request).await;
    let ancestors = match (&widget_of, row) {
        (Some(_), Some(row)) => row.frame_ancestors(),
        _ => "'self'".to_owned(),
    };
    // Added to the page's own policy, if it has one (a cited page's or a
    // file's), never in its place.
    let policy = match response
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
    {
        Some(own) => format!("{own}; frame-ancestors {ancestors}"),
        None => format!("frame-ancestors {ancestors}"),
    };
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// 200 once the database answers.
async fn healthz(State(engines): State<Engines>) -> Response {
    match sqlx::query_scalar::<_, i32>("select 1")
        .fetch_one(&engines.pool)
        .await
    {
        Ok(_) => (StatusCode::OK, "ok").into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

/// 200 once the database answers and no ingest job is queued or running.
async fn readyz(State(engines): State<Engines>) -> Response {
    // Ready to serve once the database answers and, with the demo, its
    // first training is done (the instance's own content); no workspace's
    // jobs are counted or told: a team's crawl takes no instance out of
    // rotation.
    let starting = sqlx::query_scalar::<_, bool>(
        "select $1 and exists (
            select 1 from ingest_job j join source s using (source_id)
              join workspace w on w.workspace_id = s.workspace_id
             where w.slug = $2 and j.status in ('queued', 'running'))",
    )
    .bind(engines.demo)
    .bind(demo::WORKSPACE_SLUG)
    .fetch_one(engines.system.pool())
    .await;
    match starting {
        Ok(false) => (StatusCode::OK, "ready").into_response(),
        Ok(true) => (StatusCode::SERVICE_UNAVAILABLE, "starting").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response(),
    }
}

async fn widget_js() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        WIDGET_JS,
    )
        .into_response()
}

const FAVICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#0f172a"/><circle cx="12" cy="16" r="6" fill="#f59e0b"/><circle cx="20" cy="16" r="6" fill="none" stroke="#fff" stroke-width="2.5"/></svg>"##;

async fn favicon() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        FAVICON,
    )
        .into_response()
}

async fn demo_file(State(engines): State<Engines>, Path(file): Path<String>) -> Response {
    // A production install (`TANDEM_DEMO=false`) serves no demo.
    let Some(body) = demo::page(&file).filter(|_| engines.demo) else {
        return (StatusCode::NOT_FOUND, "no such demo page").into_response();
    };
    let content_type = if file.ends_with(".css") {
        "text/css; charset=utf-8"
    } else {
        "text/html; charset=utf-8"
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            // The demo help centre: its own styles, the widget's script and
            // the chat frame from this origin, nothing inline.
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                     img-src 'self' data:; frame-src 'self'; object-src 'none'; base-uri 'none'",
                ),
            ),
        ],
        body,
    )
        .into_response()
}

/// The signed-in admin behind the request's session cookie; 401 without a
/// session, 403 for an agent.
async fn admin_by_cookie(
    engines: &Engines,
    headers: &HeaderMap,
) -> Result<crate::auth::SessionAgent, Response> {
    let token = app::desk::session_from(headers, engines.https());
    let agent = match token {
        Some(token) => match crate::auth::session_agent(&engines.system, &token).await {
            Ok(agent) => agent,
            Err(err) => {
                tracing::error!(error = %err, "export: session lookup failed");
                return Err(StatusCode::SERVICE_UNAVAILABLE.into_response());
            }
        },
        None => None,
    };
    let Some(agent) = agent else {
        return Err((StatusCode::UNAUTHORIZED, "Sign in first.").into_response());
    };
    if !agent.role.is_admin() {
        return Err((StatusCode::FORBIDDEN, "Only admins can export.").into_response());
    }
    Ok(agent)
}

/// Everything stored about the visitor of a conversation, as a JSON
/// download (admins only; recorded in the audit log).
async fn export_visitor(
    State(engines): State<Engines>,
    headers: HeaderMap,
    conversation: Result<Path<Uuid>, axum::extract::rejection::PathRejection>,
) -> Response {
    let agent = match admin_by_cookie(&engines, &headers).await {
        Ok(agent) => agent,
        Err(refused) => return refused,
    };
    // After the session: a malformed id is as missing as an unknown one.
    let Ok(Path(conversation)) = conversation else {
        return (StatusCode::NOT_FOUND, "No such conversation.").into_response();
    };
    let actor = crate::privacy::Actor {
        id: Some(agent.account_id),
        name: format!("{} <{}>", agent.name, agent.email),
    };
    let export =
        crate::privacy::export_visitor(engines.pool.ws(agent.workspace_id), &actor, conversation)
            .await;
    match export {
        Ok(Some(export)) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_static("attachment; filename=\"tandem-visitor.json\""),
                ),
            ],
            serde_json::to_string_pretty(&export).unwrap_or_default(),
        )
            .into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "No such conversation.").into_response(),
        Err(err) => {
            tracing::error!(error = %err, "visitor export failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

#[derive(serde::Deserialize)]
struct ExportQuery {
    days: Option<u32>,
}

/// The workspace's conversations of the last `days` (7, 30 or 90) with
/// their outcomes, as CSV (admins only, by their session cookie).
async fn export_csv(
    State(engines): State<Engines>,
    headers: HeaderMap,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> Response {
    let agent = match admin_by_cookie(&engines, &headers).await {
        Ok(agent) => agent,
        Err(refused) => return refused,
    };
    let Ok(Query(query)) = query else {
        return bad_address();
    };
    let days = app::types::review::window(query.days.unwrap_or(30));
    let now = chrono::Utc::now();
    let since = crate::review::metrics::window_start(days, now);
    let facts = match crate::review::metrics::facts(&engines.pool, agent.workspace_id, since).await
    {
        Ok(facts) => facts,
        Err(err) => {
            tracing::error!(error = %err, "export failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let mut body = String::from(crate::review::metrics::CSV_HEADER);
    body.push_str("\r\n");
    for f in &facts {
        body.push_str(&crate::review::metrics::csv_line(f, now));
        body.push_str("\r\n");
    }
    let name = format!(
        "attachment; filename=\"tandem-conversations-{}-{days}d.csv\"",
        now.format("%Y-%m-%d")
    );
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&name).unwrap_or(HeaderValue::from_static("attachment")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}
