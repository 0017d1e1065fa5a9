//! The two sockets: the visitor's (widget) and the agent's (inbox). Both
//! resume from the last sequence number the client has, then go live; the
//! database is re-read on every wake-up, so nothing is missed or sent twice.

use std::time::Duration;

use app::types::{
    ClientMsg, ConversationStatus, EventBody, HandoffReason, MessageBody, RequestChannel, ServerMsg,
};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use crate::thread::hub::Signal;
use crate::thread::store::{self, Appended, StoreError};
use crate::thread::turn;
use crate::{auth, Engines};

/// Largest frame a client may send; the server closes sockets that send more.
const MAX_FRAME: usize = 64 * 1024;
const HEARTBEAT: Duration = Duration::from_secs(15);

type Sink = SplitSink<WebSocket, Message>;

#[derive(Debug, thiserror::Error)]
enum SocketError {
    #[error("the client went away")]
    Gone,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Logs why a socket session ended, unless the client simply left.
fn log_end(socket: &'static str, result: Result<(), SocketError>) {
    match result {
        Ok(()) | Err(SocketError::Gone) => {}
        Err(err) => tracing::warn!(error = %err, socket, "socket session failed"),
    }
}

async fn send(sink: &mut Sink, msg: &ServerMsg) -> Result<(), SocketError> {
    let text = serde_json::to_string(msg).expect("server messages serialise");
    sink.send(Message::Text(text.into()))
        .await
        .map_err(|_| SocketError::Gone)
}

/// Who is at the other end of a socket.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Audience {
    /// A visitor: decision records and handoff details are left out.
    Visitor,
    Team,
}

/// Sends every stored event after `last`, advancing it.
async fn catch_up(
    sink: &mut Sink,
    engines: &Engines,
    conversation_id: Uuid,
    last: &mut i64,
    audience: Audience,
) -> Result<(), SocketError> {
    loop {
        let events = store::events_after(&engines.pool, conversation_id, *last, 500).await?;
        if events.is_empty() {
            return Ok(());
        }
        for event in events {
            *last = event.seq;
            let event = match audience {
                Audience::Visitor => event.for_visitor(),
                Audience::Team => event,
            };
            send(sink, &ServerMsg::Event { event }).await?;
        }
    }
}

/// Refuses a socket opened from another site's page (cross-site WebSocket hijacking).
fn same_origin(headers: &HeaderMap) -> bool {
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

#[derive(Debug, Deserialize)]
pub struct VisitorParams {
    workspace: String,
    token: Option<String>,
    after: Option<i64>,
    /// The page the widget is on (for the handoff rules).
    page: Option<String>,
}

pub async fn visitor(
    ws: WebSocketUpgrade,
    Query(params): Query<VisitorParams>,
    State(engines): State<Engines>,
) -> Response {
    ws.max_message_size(MAX_FRAME)
        .on_upgrade(move |socket| async move {
            log_end("visitor", visitor_session(socket, engines, params).await);
        })
}

async fn visitor_session(
    socket: WebSocket,
    engines: Engines,
    params: VisitorParams,
) -> Result<(), SocketError> {
    let (mut sink, mut stream) = socket.split();
    let workspace_id: Option<Uuid> =
        sqlx::query_scalar("select workspace_id from workspace where slug = $1")
            .bind(&params.workspace)
            .fetch_optional(&engines.pool)
            .await?;
    let Some(workspace_id) = workspace_id else {
        send(
            &mut sink,
            &ServerMsg::Error {
                message: "This chat is not set up (unknown workspace).".into(),
            },
        )
        .await?;
        return Ok(());
    };

    // Who the visitor is: the token they kept, or a new visitor.
    let known: Option<Uuid> = match &params.token {
        Some(token) => {
            sqlx::query_scalar(
                "select visitor_id from visitor where token_hash = $1 and workspace_id = $2",
            )
            .bind(auth::token_hash(token))
            .bind(workspace_id)
            .fetch_optional(&engines.pool)
            .await?
        }
        None => None,
    };
    let (visitor_id, new_token) = match known {
        Some(id) => (id, None),
        None => {
            let token = auth::new_token();
            let id = Uuid::new_v4();
            sqlx::query(
                "insert into visitor (visitor_id, workspace_id, token_hash) values ($1, $2, $3)",
            )
            .bind(id)
            .bind(workspace_id)
            .bind(auth::token_hash(&token))
            .execute(&engines.pool)
            .await?;
            (id, Some(token))
        }
    };
    let new_visitor = new_token.is_some();
    let existing: Option<Uuid> = sqlx::query_scalar(
        "select conversation_id from conversation where visitor_id = $1 order by created_at desc limit 1",
    )
    .bind(visitor_id)
    .fetch_optional(&engines.pool)
    .await?;
    let conversation_id = match existing {
        Some(id) => id,
        None => {
            let id = Uuid::new_v4();
            sqlx::query("insert into conversation (conversation_id, workspace_id, visitor_id) values ($1, $2, $3)")
                .bind(id)
                .bind(workspace_id)
                .bind(visitor_id)
                .execute(&engines.pool)
                .await?;
            id
        }
    };
    if let Some(page) = params
        .page
        .as_deref()
        .filter(|p| p.len() <= 2000 && (p.starts_with("https://") || p.starts_with("http://")))
    {
        sqlx::query("update conversation set page_url = $2 where conversation_id = $1")
            .bind(conversation_id)
            .bind(page)
            .execute(&engines.pool)
            .await?;
    }
    tracing::debug!(conversation.id = %conversation_id, "visitor connected");

    // Subscribe before reading the backlog: nothing falls between the two.
    let mut signals = engines.hub.subscribe();
    send(
        &mut sink,
        &ServerMsg::Welcome {
            conversation_id,
            visitor_token: new_token,
        },
    )
    .await?;
    // A client's `after` only means something for the conversation it had.
    let mut last = if new_visitor || existing.is_none() {
        0
    } else {
        params.after.unwrap_or(0).max(0)
    };
    catch_up(
        &mut sink,
        &engines,
        conversation_id,
        &mut last,
        Audience::Visitor,
    )
    .await?;

    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    let reply = handle_visitor_message(&engines, conversation_id, text.as_str()).await?;
                    if let Some(reply) = reply {
                        send(&mut sink, &reply).await?;
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    send(&mut sink, &ServerMsg::Error { message: "Binary frames are not supported.".into() }).await?;
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(()),
                Some(Ok(_)) => {}
            },
            signal = signals.recv() => match signal {
                Ok(Signal::Stored { conversation_id: id, .. }) if id == conversation_id => {
                    catch_up(&mut sink, &engines, conversation_id, &mut last, Audience::Visitor).await?;
                }
                Ok(Signal::Token { conversation_id: id, turn_id, delta, .. }) if id == conversation_id => {
                    send(&mut sink, &ServerMsg::AiToken { conversation_id, turn_id, delta: delta.to_string() }).await?;
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => catch_up(&mut sink, &engines, conversation_id, &mut last, Audience::Visitor).await?,
                Err(RecvError::Closed) => return Ok(()),
            },
            _ = heartbeat.tick() => {
                // A missed wake-up (listener reconnecting) is healed here.
                catch_up(&mut sink, &engines, conversation_id, &mut last, Audience::Visitor).await?;
                sink.send(Message::Ping(Default::default())).await.map_err(|_| SocketError::Gone)?;
            }
        }
    }
}

/// Handles one client frame; returns what to tell this client, if anything.
async fn handle_visitor_message(
    engines: &Engines,
    conversation_id: Uuid,
    text: &str,
) -> Result<Option<ServerMsg>, SocketError> {
    let msg = match serde_json::from_str::<ClientMsg>(text) {
        Ok(msg) => msg,
        Err(err) => {
            return Ok(Some(ServerMsg::Error {
                message: format!("Malformed message: {err}"),
            }))
        }
    };
    match msg {
        ClientMsg::Ping => Ok(Some(ServerMsg::Pong)),
        ClientMsg::Send { client_id, text } => {
            let body = match MessageBody::parse(&text) {
                Ok(body) => body,
                Err(err) => {
                    return Ok(Some(ServerMsg::Error {
                        message: err.to_string(),
                    }))
                }
            };
            let mut tx = engines.pool.begin().await?;
            let conversation = store::lock(&mut tx, conversation_id).await?;
            if conversation.status() == ConversationStatus::Resolved {
                sqlx::query("update conversation set status = 'ai', assignee_id = null where conversation_id = $1")
                    .bind(conversation_id)
                    .execute(&mut *tx)
                    .await?;
            }
            let event = EventBody::VisitorMessage { text: body.into() };
            match store::append(&mut tx, &conversation, Some(client_id), &event).await {
                Ok(Appended::New(_)) => {
                    tx.commit().await?;
                    turn::spawn(engines.clone(), conversation_id);
                    Ok(None)
                }
                Ok(Appended::Existing(_)) => {
                    // A resend: make sure a turn deals with it (a no-op if one did).
                    turn::spawn(engines.clone(), conversation_id);
                    Ok(None)
                }
                Err(StoreError::IdReused) => Ok(Some(ServerMsg::Error {
                    message: StoreError::IdReused.to_string(),
                })),
                Err(err) => Err(err.into()),
            }
        }
        ClientMsg::TalkToTeam { client_id } => {
            let mut tx = engines.pool.begin().await?;
            let conversation = store::lock(&mut tx, conversation_id).await?;
            let reason = HandoffReason::HumanRequested {
                via: RequestChannel::Button,
                matched: None,
            };
            store::escalate(&mut tx, &conversation, Some(client_id), reason, None).await?;
            tx.commit().await?;
            Ok(None)
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct InboxParams {
    conversation: Option<Uuid>,
    after: Option<i64>,
}

pub async fn inbox(
    ws: WebSocketUpgrade,
    headers: HeaderMap,
    Query(params): Query<InboxParams>,
    State(engines): State<Engines>,
) -> Response {
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "cross-origin socket refused").into_response();
    }
    let Some(token) = app::desk::cookie_value(&headers, app::desk::SESSION_COOKIE) else {
        return (StatusCode::UNAUTHORIZED, "sign in first").into_response();
    };
    let agent = match auth::session_agent(&engines.pool, &token).await {
        Ok(Some(agent)) => agent,
        Ok(None) => return (StatusCode::UNAUTHORIZED, "sign in first").into_response(),
        Err(err) => {
            tracing::error!(error = %err, "inbox socket: session lookup failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    if let Some(id) = params.conversation {
        let owned: Result<Option<Uuid>, _> =
            sqlx::query_scalar("select workspace_id from conversation where conversation_id = $1")
                .bind(id)
                .fetch_optional(&engines.pool)
                .await;
        if !matches!(owned, Ok(Some(w)) if w == agent.workspace_id) {
            return (StatusCode::NOT_FOUND, "no such conversation").into_response();
        }
    }
    ws.max_message_size(MAX_FRAME)
        .on_upgrade(move |socket| async move {
            log_end(
                "inbox",
                inbox_session(socket, engines, token, agent.workspace_id, params).await,
            );
        })
}

async fn inbox_session(
    socket: WebSocket,
    engines: Engines,
    session: String,
    workspace_id: Uuid,
    params: InboxParams,
) -> Result<(), SocketError> {
    let (mut sink, mut stream) = socket.split();
    let mut signals = engines.hub.subscribe();
    let mut last = params.after.unwrap_or(0).max(0);
    if let Some(id) = params.conversation {
        catch_up(&mut sink, &engines, id, &mut last, Audience::Team).await?;
    }
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    let reply = match serde_json::from_str::<ClientMsg>(text.as_str()) {
                        Ok(ClientMsg::Ping) => ServerMsg::Pong,
                        Ok(_) => ServerMsg::Error { message: "Agents reply through the inbox, not this socket.".into() },
                        Err(err) => ServerMsg::Error { message: format!("Malformed message: {err}") },
                    };
                    send(&mut sink, &reply).await?;
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(()),
                Some(Ok(_)) => {}
            },
            signal = signals.recv() => match signal {
                Ok(Signal::Stored { workspace_id: w, conversation_id }) if w == workspace_id => {
                    send(&mut sink, &ServerMsg::ConversationChanged { conversation_id }).await?;
                    if params.conversation == Some(conversation_id) {
                        catch_up(&mut sink, &engines, conversation_id, &mut last, Audience::Team).await?;
                    }
                }
                Ok(Signal::Token { conversation_id, turn_id, delta, .. }) if params.conversation == Some(conversation_id) => {
                    send(&mut sink, &ServerMsg::AiToken { conversation_id, turn_id, delta: delta.to_string() }).await?;
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    // Wake-ups were dropped: lists refresh, the thread catches up.
                    send(&mut sink, &ServerMsg::ConversationChanged { conversation_id: Uuid::nil() }).await?;
                    if let Some(id) = params.conversation {
                        catch_up(&mut sink, &engines, id, &mut last, Audience::Team).await?;
                    }
                }
                Err(RecvError::Closed) => return Ok(()),
            },
            _ = heartbeat.tick() => {
                // Signed out or expired: the socket closes.
                if auth::session_agent(&engines.pool, &session).await?.is_none() {
                    return Ok(());
                }
                match params.conversation {
                    Some(id) => catch_up(&mut sink, &engines, id, &mut last, Audience::Team).await?,
                    // A wake-up missed while the listener reconnected is healed here.
                    None => send(&mut sink, &ServerMsg::ConversationChanged { conversation_id: Uuid::nil() }).await?,
                }
                sink.send(Message::Ping(Default::default())).await.map_err(|_| SocketError::Gone)?;
            }
        }
    }
}
