//! The visitor's socket (`/ws/visitor?workspace=SLUG&token=T&after=N`): who the
//! visitor is, their conversation's feed, and what a visitor may do.

use app::types::{ClientMsg, MessageBody, ServerMsg};
use axum::extract::ws::WebSocket;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use uuid::Uuid;

use super::feed::{Audience, Feed};
use super::session::{converse, Participant};
use super::{acknowledge, configure, log_end, refuse, send, Sink, SocketError};
use crate::thread::store::{self, Party};
use crate::thread::{actions, turn};
use crate::{auth, Engines};

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
    // Found before the upgrade: when the database is away, the handshake
    // fails and the client backs off, rather than connecting to be dropped.
    let visitor = match identify(&engines, &params).await {
        Ok(visitor) => visitor,
        Err(err) => {
            tracing::warn!(error = %err, "visitor socket: cannot identify the visitor");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again shortly").into_response();
        }
    };
    configure(ws).on_upgrade(move |socket| async move {
        log_end(
            "visitor",
            session(socket, engines, visitor, params.after).await,
        );
    })
}

/// The visitor's conversation, found or started.
struct Visitor {
    workspace_id: Uuid,
    conversation_id: Uuid,
    /// Set when the visitor is new: the token for the client to keep.
    new_token: Option<String>,
    /// Whether the client's `after` refers to this conversation.
    resumed: bool,
}

async fn identify(
    engines: &Engines,
    params: &VisitorParams,
) -> Result<Option<Visitor>, SocketError> {
    let pool = &engines.pool;
    let workspace_id: Option<Uuid> =
        sqlx::query_scalar("select workspace_id from workspace where slug = $1")
            .bind(&params.workspace)
            .fetch_optional(pool)
            .await?;
    let Some(workspace_id) = workspace_id else {
        return Ok(None);
    };
    // The token they kept, or a new visitor.
    let known: Option<Uuid> = match &params.token {
        Some(token) => {
            sqlx::query_scalar(
                "select visitor_id from visitor where token_hash = $1 and workspace_id = $2",
            )
            .bind(auth::token_hash(token))
            .bind(workspace_id)
            .fetch_optional(pool)
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
            .execute(pool)
            .await?;
            (id, Some(token))
        }
    };
    let existing: Option<Uuid> = sqlx::query_scalar(
        "select conversation_id from conversation where visitor_id = $1 order by created_at desc limit 1",
    )
    .bind(visitor_id)
    .fetch_optional(pool)
    .await?;
    let conversation_id = match existing {
        Some(id) => id,
        None => {
            let id = Uuid::new_v4();
            sqlx::query(
                "insert into conversation (conversation_id, workspace_id, visitor_id) values ($1, $2, $3)",
            )
            .bind(id)
            .bind(workspace_id)
            .bind(visitor_id)
            .execute(pool)
            .await?;
            id
        }
    };
    if let Some(page) = params
        .page
        .as_deref()
        .filter(|p| p.len() <= 2000 && (p.starts_with("https://") || p.starts_with("http://")))
    {
        sqlx::query(
            "update conversation set page_url = $2 where conversation_id = $1 and page_url is distinct from $2",
        )
        .bind(conversation_id)
        .bind(page)
        .execute(pool)
        .await?;
    }
    Ok(Some(Visitor {
        workspace_id,
        conversation_id,
        resumed: new_token.is_none() && existing.is_some(),
        new_token,
    }))
}

async fn session(
    socket: WebSocket,
    engines: Engines,
    visitor: Option<Visitor>,
    after: Option<i64>,
) -> Result<(), SocketError> {
    let (mut sink, stream) = socket.split();
    let Some(visitor) = visitor else {
        refuse(
            &mut sink,
            "This chat is not set up (unknown workspace).",
            None,
        )
        .await?;
        return Ok(());
    };
    let conversation_id = visitor.conversation_id;
    tracing::debug!(conversation.id = %conversation_id, "visitor connected");

    // Subscribe before reading the backlog: nothing falls between the two.
    let wakes = engines.hub.conversation(conversation_id);
    send(
        &mut sink,
        &ServerMsg::Welcome {
            conversation_id,
            visitor_token: visitor.new_token.clone(),
        },
    )
    .await?;
    // A client's `after` only means something for the conversation it had.
    let after = match visitor.resumed {
        true => after.unwrap_or(0),
        false => 0,
    };
    let feed = Feed::new(conversation_id, Audience::Visitor, Party::Visitor, after);
    converse(sink, stream, &engines, wakes, feed, &visitor).await
}

impl Participant for Visitor {
    async fn act(
        &self,
        engines: &Engines,
        sink: &mut Sink,
        msg: ClientMsg,
    ) -> Result<(), SocketError> {
        handle(engines, self, sink, msg).await
    }

    async fn still_allowed(&self, _: &Engines) -> Result<bool, SocketError> {
        Ok(true)
    }

    fn party(&self) -> &Party {
        &Party::Visitor
    }

    fn workspace_id(&self) -> Uuid {
        self.workspace_id
    }
}

/// Does what the visitor asked; answers with an acknowledgement or an error.
async fn handle(
    engines: &Engines,
    visitor: &Visitor,
    sink: &mut Sink,
    msg: ClientMsg,
) -> Result<(), SocketError> {
    let pool = &engines.pool;
    let (workspace_id, conversation_id) = (visitor.workspace_id, visitor.conversation_id);
    match msg {
        ClientMsg::Ping => send(sink, &ServerMsg::Pong).await,
        ClientMsg::Send { client_id, text } => {
            let body = match MessageBody::parse(&text) {
                Ok(body) => body,
                Err(err) => return refuse(sink, err.to_string(), Some(client_id)).await,
            };
            let done = actions::visitor_message(pool, conversation_id, client_id, body).await;
            if let Ok(stored) = &done {
                // Sent, so no longer typing: the AI need not wait for more.
                // Both happen before the acknowledgement, which may fail.
                store::set_typing(pool, workspace_id, conversation_id, &Party::Visitor, false)
                    .await?;
                if stored.ai_has_work {
                    turn::spawn(engines.clone(), conversation_id);
                }
            }
            acknowledge(sink, client_id, done).await.map(drop)
        }
        ClientMsg::TalkToTeam { client_id } => {
            let done = actions::talk_to_team(pool, conversation_id, client_id).await;
            acknowledge(sink, client_id, done).await.map(drop)
        }
        ClientMsg::Typing { typing } => {
            store::set_typing(pool, workspace_id, conversation_id, &Party::Visitor, typing)
                .await
                .map_err(Into::into)
        }
        ClientMsg::Seen { seq } => {
            store::mark_seen(pool, workspace_id, conversation_id, &Party::Visitor, seq).await?;
            Ok(())
        }
        ClientMsg::Note { client_id, .. }
        | ClientMsg::Claim { client_id }
        | ClientMsg::Resolve { client_id }
        | ClientMsg::Reopen { client_id } => {
            refuse(sink, "Only the team can do that.", Some(client_id)).await
        }
    }
}
