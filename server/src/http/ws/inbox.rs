//! The agent's socket (`/ws/inbox`): with `?conversation=ID&after=N`, one
//! conversation's feed and the agent's actions on it; without, the live
//! lists (changed rows and queue counts) of the agent's workspace. The
//! session cookie is checked on connect and on every heartbeat.

use std::collections::HashSet;

use app::types::{ClientMsg, MessageBody, ServerMsg};
use axum::extract::ws::WebSocket;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use uuid::Uuid;

use super::feed::{Audience, Feed};
use super::session::{converse, Participant};
use super::{
    acknowledge, configure, decode, log_end, refuse, same_origin, send, Frame, Heartbeat, Sink,
    SocketError,
};
use crate::auth::SessionAgent;
use crate::db::Scope;
use crate::thread::actions::{self, Agent, AgentAction};
use crate::thread::hub::{Change, Signal};
use crate::thread::presence;
use crate::thread::store::{self, Party};
use crate::{auth, inbox, mail, Engines};

#[derive(Debug, Deserialize)]
pub struct InboxParams {
    conversation: Option<Uuid>,
    after: Option<i64>,
}

pub async fn inbox(
    ws: WebSocketUpgrade,
    headers: HeaderMap,
    params: Result<Query<InboxParams>, axum::extract::rejection::QueryRejection>,
    State(engines): State<Engines>,
) -> Response {
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "cross-origin socket refused").into_response();
    }
    let Some(token) = app::desk::session_from(&headers, engines.https()) else {
        return (StatusCode::UNAUTHORIZED, "sign in first").into_response();
    };
    let agent = match auth::session_agent(&engines.system, &token).await {
        Ok(Some(agent)) => agent,
        Ok(None) => return (StatusCode::UNAUTHORIZED, "sign in first").into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "inbox socket: session lookup failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again shortly").into_response();
        }
    };
    // After the session: nobody learns what a malformed address lacks.
    let Ok(Query(params)) = params else {
        return crate::http::bad_address();
    };
    if let Some(id) = params.conversation {
        let owned: Result<Option<Uuid>, _> = sqlx::query_scalar!(
            "select workspace_id from conversation where conversation_id = $1",
            id,
        )
        .fetch_optional(engines.pool.ws(agent.workspace_id))
        .await;
        match owned {
            Ok(Some(w)) if w == agent.workspace_id => {}
            Ok(_) => return (StatusCode::NOT_FOUND, "no such conversation").into_response(),
            Err(err) => {
                tracing::warn!(error = %err, "inbox socket: conversation lookup failed");
                return (StatusCode::SERVICE_UNAVAILABLE, "try again shortly").into_response();
            }
        }
    }
    if let Err(err) =
        presence::agent_seen(&engines.pool, agent.account_id, agent.workspace_id).await
    {
        tracing::warn!(error = %err, "inbox socket: presence not recorded");
    }
    configure(ws).on_upgrade(move |socket| async move {
        let result = match params.conversation {
            Some(id) => conversation(socket, engines, token, agent, id, params.after).await,
            None => lists(socket, engines, token, agent).await,
        };
        log_end("inbox", result);
    })
}

/// Whether the session behind the socket is still valid; an agent whose
/// inbox is open counts as online (presence, for the widget's estimates).
async fn still_signed_in(
    engines: &Engines,
    token: &str,
    workspace_id: Uuid,
) -> Result<bool, SocketError> {
    // Still a member of this socket's workspace, and still looking at it.
    match auth::session_agent(&engines.system, token)
        .await?
        .filter(|agent| agent.workspace_id == workspace_id)
    {
        Some(agent) => {
            presence::agent_seen(&engines.pool, agent.account_id, agent.workspace_id).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Whether the session is still valid, renewing the agent's place among the
/// conversation's viewers.
async fn still_viewing(
    engines: &Engines,
    token: &str,
    agent: &Agent,
    conversation_id: Uuid,
) -> Result<bool, SocketError> {
    if !still_signed_in(engines, token, agent.workspace_id).await? {
        return Ok(false);
    }
    presence::viewing(
        &engines.pool,
        agent.workspace_id,
        conversation_id,
        agent.account_id,
        &agent.name,
    )
    .await?;
    Ok(true)
}

/// An agent on a conversation's socket.
struct AgentClient {
    agent: Agent,
    me: Party,
    /// The session, checked on every heartbeat.
    token: String,
    conversation_id: Uuid,
}

impl Participant for AgentClient {
    async fn act(
        &self,
        engines: &Engines,
        sink: &mut Sink,
        msg: ClientMsg,
    ) -> Result<(), SocketError> {
        act(
            engines,
            &self.agent,
            &self.me,
            self.conversation_id,
            sink,
            msg,
        )
        .await
    }

    async fn still_allowed(&self, engines: &Engines) -> Result<bool, SocketError> {
        still_viewing(engines, &self.token, &self.agent, self.conversation_id).await
    }

    fn party(&self) -> &Party {
        &self.me
    }

    fn workspace_id(&self) -> Uuid {
        self.agent.workspace_id
    }
}

/// One conversation: its feed, and the agent's actions on it.
async fn conversation(
    socket: WebSocket,
    engines: Engines,
    token: String,
    agent: SessionAgent,
    conversation_id: Uuid,
    after: Option<i64>,
) -> Result<(), SocketError> {
    let (sink, stream) = socket.split();
    let client = AgentClient {
        me: Party::Agent {
            account_id: agent.account_id,
            name: agent.name.clone(),
        },
        agent: Agent {
            account_id: agent.account_id,
            name: agent.name,
            workspace_id: agent.workspace_id,
        },
        token,
        conversation_id,
    };
    let wakes = engines.hub.conversation(conversation_id);
    let feed = Feed::new(
        conversation_id,
        client.agent.workspace_id,
        Audience::Team,
        client.me.clone(),
        after.unwrap_or(0),
    );
    presence::viewing(
        &engines.pool,
        client.agent.workspace_id,
        conversation_id,
        client.agent.account_id,
        &client.agent.name,
    )
    .await?;
    let ended = converse(sink, stream, &engines, wakes, feed, &client).await;
    presence::left(
        &engines.pool,
        client.agent.workspace_id,
        conversation_id,
        client.agent.account_id,
    )
    .await?;
    ended
}

/// Does what the agent asked in a conversation.
async fn act(
    engines: &Engines,
    agent: &Agent,
    me: &Party,
    conversation_id: Uuid,
    sink: &mut Sink,
    msg: ClientMsg,
) -> Result<(), SocketError> {
    let pool = &engines.pool;
    let text_action = |text: &str, make: fn(MessageBody) -> AgentAction| {
        MessageBody::parse(text)
            .map(make)
            .map_err(|e| e.to_string())
    };
    let (client_id, action) = match msg {
        ClientMsg::Ping => return send(sink, &ServerMsg::Pong).await,
        ClientMsg::Typing { typing } => {
            return store::set_typing(pool, agent.workspace_id, conversation_id, me, typing)
                .await
                .map_err(Into::into);
        }
        ClientMsg::Seen { seq } => {
            store::mark_seen(pool, agent.workspace_id, conversation_id, me, seq).await?;
            return Ok(());
        }
        ClientMsg::Send { client_id, text } => (client_id, text_action(&text, AgentAction::Reply)),
        ClientMsg::Note { client_id, text } => (client_id, text_action(&text, AgentAction::Note)),
        ClientMsg::Claim { client_id } => (client_id, Ok(AgentAction::Claim)),
        ClientMsg::Resolve { client_id } => (client_id, Ok(AgentAction::Resolve)),
        ClientMsg::Reopen { client_id } => (client_id, Ok(AgentAction::Reopen)),
        ClientMsg::TakeOver { client_id } => (client_id, Ok(AgentAction::TakeOver)),
        ClientMsg::HandBack { client_id } => (client_id, Ok(AgentAction::HandBack)),
        ClientMsg::Assign {
            client_id,
            agent,
            team,
        } => (client_id, Ok(AgentAction::Assign { agent, team })),
        ClientMsg::Presence { .. } => {
            return refuse(sink, "Presence is set from the inbox's lists.", None).await;
        }
        ClientMsg::TalkToTeam { client_id } => {
            return refuse(
                sink,
                "Only a visitor can ask for the team.",
                Some(client_id),
            )
            .await;
        }
        ClientMsg::LeaveEmail { client_id, .. } => {
            return refuse(sink, "Only a visitor can leave an email.", Some(client_id)).await;
        }
        ClientMsg::Rate { .. } => {
            return refuse(sink, "Only a visitor can rate answers.", None).await;
        }
    };
    let action = match action {
        Ok(action) => action,
        Err(why) => return refuse(sink, why, Some(client_id)).await,
    };
    let replied = matches!(action, AgentAction::Reply(_));
    let done = actions::agent_action(
        pool.ws(agent.workspace_id),
        agent,
        conversation_id,
        client_id,
        action,
    )
    .await;
    let acknowledged = acknowledge(sink, client_id, done).await?;
    if let Some(seq) = acknowledged.filter(|_| replied).and_then(|done| done.seq) {
        store::set_typing(pool, agent.workspace_id, conversation_id, me, false).await?;
        // By email too, if the visitor left one and is gone by then.
        mail::follow_up(
            pool.ws(agent.workspace_id),
            &engines.mail,
            conversation_id,
            seq,
        )
        .await?;
    }
    Ok(())
}

/// The workspace's lists: a changed row for every stored event, and the
/// queue counts; `Refresh` when wake-ups may have been lost. Wake-ups are
/// gathered for a moment, so a busy workspace costs one read per row and
/// one count per [`LIST_EVERY`], not one per event.
async fn lists(
    socket: WebSocket,
    engines: Engines,
    token: String,
    agent: SessionAgent,
) -> Result<(), SocketError> {
    let (mut sink, mut stream) = socket.split();
    let pool = &engines.pool;
    let mut wakes = engines.hub.workspace(agent.workspace_id);
    let mut counts = inbox::queue_counts(pool, agent.workspace_id, agent.account_id).await?;
    send(&mut sink, &ServerMsg::Counts { counts }).await?;
    let mut heartbeat = Heartbeat::new(engines.live);
    let mut changed: HashSet<Uuid> = HashSet::new();
    let mut refresh = false;
    let flush = tokio::time::sleep(LIST_EVERY);
    tokio::pin!(flush);
    let mut armed = false;
    loop {
        tokio::select! {
            frame = stream.next() => {
                heartbeat.heard();
                match decode(frame) {
                    Frame::Msg(ClientMsg::Ping) => send(&mut sink, &ServerMsg::Pong).await?,
                    Frame::Msg(ClientMsg::Presence { away }) => {
                        presence::set_away(pool, agent.account_id, agent.workspace_id, away).await?;
                    }
                    Frame::Msg(_) => refuse(&mut sink, "Open a conversation to act on it.", None).await?,
                    Frame::Malformed(why) => refuse(&mut sink, why, None).await?,
                    Frame::Nothing => {}
                    Frame::Closed => return Ok(()),
                }
            }
            signal = wakes.recv() => {
                match signal {
                    Signal::Changed { change: Change::Stored, conversation_id, .. } => {
                        changed.insert(conversation_id);
                    }
                    Signal::Changed { .. } => continue,
                    Signal::Resync => refresh = true,
                }
                if !armed {
                    flush.as_mut().reset(tokio::time::Instant::now() + LIST_EVERY);
                    armed = true;
                }
            }
            _ = &mut flush, if armed => {
                armed = false;
                if std::mem::take(&mut refresh) {
                    changed.clear();
                    send(&mut sink, &ServerMsg::Refresh).await?;
                }
                for conversation_id in changed.drain() {
                    if let Some(summary) = inbox::summary(pool, agent.workspace_id, agent.account_id, conversation_id).await? {
                        send(&mut sink, &ServerMsg::ConversationChanged { summary }).await?;
                    }
                }
                let now = inbox::queue_counts(pool, agent.workspace_id, agent.account_id).await?;
                if now != counts {
                    counts = now;
                    send(&mut sink, &ServerMsg::Counts { counts }).await?;
                }
            }
            _ = heartbeat.tick() => {
                if !Box::pin(still_signed_in(&engines, &token, agent.workspace_id)).await? {
                    return Ok(());
                }
                heartbeat.beat(&mut sink).await?;
            }
        }
    }
}

/// How long a list socket gathers wake-ups before it reads.
const LIST_EVERY: std::time::Duration = std::time::Duration::from_millis(100);
