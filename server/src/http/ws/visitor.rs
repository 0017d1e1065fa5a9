//! The visitor's socket (`/ws/visitor?workspace=SLUG&token=T&after=N`, plus
//! `host`, the embedding page's origin, and for a site's signed-in user
//! `user_id`, `user_hash`, `name`, `email`): who the visitor is, their
//! conversation's feed, and what a visitor may do.
//!
//! A socket from a site the workspace does not allow, or with an identity
//! whose signature does not check out, gets an error and the close code
//! [`CLOSE_REFUSED`], so the client does not come back.

use app::types::widget::Identity;
use app::types::{ClientMsg, MessageBody, ServerMsg, CLOSE_REFUSED};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::{ConnectInfo, Query, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use uuid::Uuid;

use super::feed::{Audience, Feed};
use super::session::{converse, Participant};
use super::{acknowledge, configure, log_end, refuse, same_origin, send, Sink, SocketError};
use crate::db::Scope;
use crate::thread::actions;
use crate::thread::store::{self, Party};
use crate::turn;
use crate::widget::WidgetRow;
use crate::{auth, mail, widget, Engines};

#[derive(Debug, Deserialize)]
pub struct VisitorParams {
    workspace: String,
    /// The visitor's own token, kept by their browser.
    token: Option<String>,
    /// The key of a link in a follow-up email (never a visitor's token).
    link: Option<String>,
    after: Option<i64>,
    /// The page the widget is on (for the handoff rules).
    page: Option<String>,
    /// The embedding page's origin.
    host: Option<String>,
    /// The chat's language (its code), for the team.
    lang: Option<String>,
    user_id: Option<String>,
    user_hash: Option<String>,
    name: Option<String>,
    email: Option<String>,
}

impl VisitorParams {
    fn identity(&self) -> Option<Identity> {
        self.user_id.as_ref().map(|user_id| Identity {
            user_id: user_id.clone(),
            user_hash: self.user_hash.clone().unwrap_or_default(),
            name: self
                .name
                .as_deref()
                .map(|n| n.trim().chars().take(100).collect())
                .filter(|n: &String| !n.is_empty()),
            email: self.email.as_deref().and_then(actions::email_address),
        })
    }
}

const UNKNOWN_WORKSPACE: &str = "This chat is not set up (unknown workspace).";

/// Whether the workspace serves this socket; `Err` says why not.
fn admitted(
    row: &WidgetRow,
    headers: &HeaderMap,
    params: &VisitorParams,
) -> Result<(), &'static str> {
    // The socket comes from the chat frame, on Tandem's own origin; a page
    // elsewhere opening it directly must be on the list too. The frame says
    // which page embeds it (and the browser enforced that on the frame).
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    let direct_allowed = same_origin(headers) || row.allows(origin);
    let tandem_host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if !direct_allowed || !row.allows_page(params.host.as_deref(), tandem_host) {
        return Err(widget::NOT_ALLOWED_HERE);
    }
    if let Some(identity) = params.identity() {
        if let Err(err) = widget::verify(&row.identity_secret, &identity) {
            tracing::warn!(error = %err, workspace = %params.workspace, "visitor socket: identity refused");
            return Err(widget::IDENTITY_REFUSED);
        }
    }
    Ok(())
}

pub async fn visitor(
    ws: WebSocketUpgrade,
    ConnectInfo(address): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    params: Result<Query<VisitorParams>, axum::extract::rejection::QueryRejection>,
    State(engines): State<Engines>,
) -> Response {
    let Ok(Query(params)) = params else {
        return crate::http::bad_address();
    };
    // Found before the upgrade: when the database is away, the handshake
    // fails and the client backs off, rather than connecting to be dropped.
    let row = match widget::by_slug(&engines.pool, &params.workspace).await {
        Ok(row) => row,
        Err(err) => {
            tracing::warn!(error = %err, "visitor socket: cannot read the widget settings");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again shortly").into_response();
        }
    };
    let admission = match &row {
        Some(row) => admitted(row, &headers, &params).map(|()| row),
        None => Err(UNKNOWN_WORKSPACE),
    };
    let row = match admission {
        Ok(row) => row,
        Err(why) => return configure(ws).on_upgrade(move |socket| refused(socket, why)),
    };
    let visitor = match identify(&engines, row, &params, address.ip()).await {
        Ok(Some(visitor)) => visitor,
        Ok(None) => {
            return configure(ws)
                .on_upgrade(move |socket| refused(socket, crate::limits::TOO_MANY_VISITORS))
        }
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

/// Says why, then closes with [`CLOSE_REFUSED`] (browsers cannot read a
/// refused handshake's reason, and would retry it).
async fn refused(socket: WebSocket, why: &'static str) {
    let (mut sink, _) = socket.split();
    let _ = refuse(&mut sink, why, None).await;
    let _ = sink
        .send(Message::Close(Some(CloseFrame {
            code: CLOSE_REFUSED,
            reason: "refused".into(),
        })))
        .await;
}

/// The visitor's conversation, found or started.
struct Visitor {
    workspace_id: Uuid,
    /// The client's address, for the rate limits.
    address: std::net::IpAddr,
    visitor_id: Uuid,
    conversation_id: Uuid,
    /// Set when the visitor is new: the token for the client to keep.
    new_token: Option<String>,
    /// Whether the client's `after` refers to this conversation.
    resumed: bool,
}

/// `None` when a new visitor would pass the limit of new visitors per
/// client address.
async fn identify(
    engines: &Engines,
    row: &WidgetRow,
    params: &VisitorParams,
    address: std::net::IpAddr,
) -> Result<Option<Visitor>, SocketError> {
    let pool = &engines.pool;
    let workspace_id = row.workspace_id;
    let db = pool.ws(workspace_id);
    // The token they kept, if any, or the key of a link in a follow-up
    // email (which opens their chat on any device, signed in or not).
    // A valid link first (the frame opened from it shows its
    // conversation), else the token.
    let by_link: Option<(Uuid, Option<String>, bool)> = match &params.link {
        Some(link) => {
            sqlx::query_as(
                "select v.visitor_id, v.external_id, true from visitor_link l join visitor v using (visitor_id)
                  where l.token_hash = $1 and v.workspace_id = $2 and l.expires_at > now()",
            )
            .bind(auth::token_hash(link))
            .bind(workspace_id)
            .fetch_optional(db)
            .await?
        }
        None => None,
    };
    let known = match (by_link, &params.token) {
        (Some(known), _) => Some(known),
        (None, Some(token)) => {
            sqlx::query_as(
                "select visitor_id, external_id, false from visitor where token_hash = $1 and workspace_id = $2",
            )
            .bind(auth::token_hash(token))
            .bind(workspace_id)
            .fetch_optional(db)
            .await?
        }
        (None, None) => None,
    };
    // A user the site vouched for (checked in `admitted`), with a name and
    // email only when the site signed them too.
    let vouched_for = params
        .identity()
        .and_then(|identity| widget::verify(&row.identity_secret, &identity).ok());
    let (visitor_id, new_token) = match vouched_for {
        Some(identity) => (
            vouched(
                pool,
                workspace_id,
                &identity,
                known.map(|(id, ext, _)| (id, ext)),
            )
            .await?,
            None,
        ),
        None => match known {
            // (Links are only made for anonymous visitors.)
            Some((id, None, _)) => (id, None),
            // A token of a signed-in user is not enough without the signature.
            Some((_, Some(_), _)) | None => {
                if !engines.limits.address_visitors.allow(&address.to_string()) {
                    return Ok(None);
                }
                let token = auth::new_token();
                let id = Uuid::new_v4();
                sqlx::query!(
                    "insert into visitor (visitor_id, workspace_id, token_hash) values ($1, $2, $3)",
                    id,
                    workspace_id,
                    auth::token_hash(&token),
                )
                .execute(db)
                .await?;
                (id, Some(token))
            }
        },
    };
    // One conversation however many tabs or devices connect at once: the
    // visitor's row is locked while it is found or started.
    let mut tx = db.begin().await?;
    sqlx::query("select 1 from visitor where visitor_id = $1 for update")
        .bind(visitor_id)
        .execute(&mut *tx)
        .await?;
    let existing: Option<Uuid> = sqlx::query_scalar!(
        "select conversation_id from conversation where visitor_id = $1 order by created_at desc limit 1",
        visitor_id,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let conversation_id = match existing {
        Some(id) => id,
        None => {
            let id = Uuid::new_v4();
            sqlx::query!(
                "insert into conversation (conversation_id, workspace_id, visitor_id) values ($1, $2, $3)",
                id,
                workspace_id,
                visitor_id,
            )
            .execute(&mut *tx)
            .await?;
            id
        }
    };
    tx.commit().await?;
    if let Some(page) = params
        .page
        .as_deref()
        .filter(|p| p.len() <= 2000 && (p.starts_with("https://") || p.starts_with("http://")))
    {
        sqlx::query!(
            "update conversation set page_url = $2 where conversation_id = $1 and page_url is distinct from $2",
            conversation_id,
            page,
        )
        .execute(db)
        .await?;
    }
    if let Some(language) = params
        .lang
        .as_deref()
        .and_then(app::types::widget::Language::parse)
    {
        sqlx::query!(
            "update conversation set language = $2 where conversation_id = $1 and language is distinct from $2",
            conversation_id,
            language.code(),
        )
        .execute(db)
        .await?;
    }
    Ok(Some(Visitor {
        workspace_id,
        address,
        visitor_id,
        conversation_id,
        resumed: new_token.is_none() && existing.is_some(),
        new_token,
    }))
}

/// The visitor a signed identity names: the one with that user id, else the
/// anonymous visitor whose token this browser kept (their conversation
/// continues, now verified), else a new one.
async fn vouched(
    pool: &sqlx::PgPool,
    workspace_id: Uuid,
    identity: &Identity,
    known: Option<(Uuid, Option<String>)>,
) -> Result<Uuid, sqlx::Error> {
    let existing: Option<Uuid> = sqlx::query_scalar(
        "update visitor set name = coalesce($3, name), email = coalesce($4, email), verified = true
          where workspace_id = $1 and external_id = $2 returning visitor_id",
    )
    .bind(workspace_id)
    .bind(&identity.user_id)
    .bind(&identity.name)
    .bind(&identity.email)
    .fetch_optional(pool.ws(workspace_id))
    .await?;
    if let Some(id) = existing {
        return Ok(id);
    }
    if let Some((anonymous, None)) = known {
        // Only if still anonymous (another tab may have just signed it in as
        // someone else); a concurrent first connection of the same user makes
        // this fail on the unique index, and the client's retry finds them.
        let merged = sqlx::query(
            "update visitor set external_id = $2, name = $3, email = $4, verified = true
              where visitor_id = $1 and external_id is null",
        )
        .bind(anonymous)
        .bind(&identity.user_id)
        .bind(&identity.name)
        .bind(&identity.email)
        .execute(pool.ws(workspace_id))
        .await?;
        if merged.rows_affected() == 1 {
            return Ok(anonymous);
        }
    }
    // A concurrent first connection of the same user may have inserted them
    // meanwhile: the conflict's update returns their row.
    sqlx::query_scalar(
        "insert into visitor (visitor_id, workspace_id, token_hash, external_id, name, email, verified)
         values ($1, $2, $3, $4, $5, $6, true)
         on conflict (workspace_id, external_id) where external_id is not null
         do update set verified = true
         returning visitor_id",
    )
    .bind(Uuid::new_v4())
    .bind(workspace_id)
    // Never handed out: a signed-in user is known by the signature.
    .bind(auth::token_hash(&auth::new_token()))
    .bind(&identity.user_id)
    .bind(&identity.name)
    .bind(&identity.email)
    .fetch_one(pool.ws(workspace_id))
    .await
}

async fn session(
    socket: WebSocket,
    engines: Engines,
    visitor: Visitor,
    after: Option<i64>,
) -> Result<(), SocketError> {
    let (mut sink, stream) = socket.split();
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
    for (seq, helpful) in
        actions::ratings(engines.pool.ws(visitor.workspace_id), conversation_id).await?
    {
        send(&mut sink, &ServerMsg::Rated { seq, helpful }).await?;
    }
    // A client's `after` only means something for the conversation it had.
    let after = match visitor.resumed {
        true => after.unwrap_or(0),
        false => 0,
    };
    let feed = Feed::new(
        conversation_id,
        visitor.workspace_id,
        Audience::Visitor,
        Party::Visitor,
        after,
    );
    // While the chat is open, replies are not also emailed.
    mail::visitor_here(
        engines.pool.ws(visitor.workspace_id),
        visitor.visitor_id,
        engines.live.heartbeat * 3,
    )
    .await?;
    let ended = converse(sink, stream, &engines, wakes, feed, &visitor).await;
    mail::visitor_gone(engines.pool.ws(visitor.workspace_id), visitor.visitor_id).await?;
    ended
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

    async fn still_allowed(&self, engines: &Engines) -> Result<bool, SocketError> {
        mail::visitor_here(
            engines.pool.ws(self.workspace_id),
            self.visitor_id,
            engines.live.heartbeat * 3,
        )
        .await?;
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
    // What a visitor makes the server do is rate limited (the refused
    // message goes back to its composer).
    if let Some(client_id) = match &msg {
        ClientMsg::Send { client_id, .. }
        | ClientMsg::TalkToTeam { client_id }
        | ClientMsg::LeaveEmail { client_id, .. } => Some(*client_id),
        _ => None,
    } {
        let limits = &engines.limits;
        if !limits
            .visitor_messages
            .allow(&visitor.visitor_id.to_string())
            || !limits.address_messages.allow(&visitor.address.to_string())
        {
            return refuse(sink, crate::limits::TOO_FAST, Some(client_id)).await;
        }
    }
    match msg {
        ClientMsg::Ping => send(sink, &ServerMsg::Pong).await,
        ClientMsg::Send { client_id, text } => {
            let body = match MessageBody::parse(&text) {
                Ok(body) => body,
                Err(err) => return refuse(sink, err.to_string(), Some(client_id)).await,
            };
            let done =
                actions::visitor_message(pool.ws(workspace_id), conversation_id, client_id, body)
                    .await;
            if let Ok(stored) = &done {
                // Sent, so no longer typing: the AI need not wait for more.
                // Both happen before the acknowledgement, which may fail.
                store::set_typing(pool, workspace_id, conversation_id, &Party::Visitor, false)
                    .await?;
                if stored.ai_has_work {
                    turn::spawn(engines.clone(), workspace_id, conversation_id);
                }
            }
            acknowledge(sink, client_id, done).await.map(drop)
        }
        ClientMsg::TalkToTeam { client_id } => {
            let done =
                actions::talk_to_team(pool.ws(workspace_id), conversation_id, client_id).await;
            acknowledge(sink, client_id, done).await.map(drop)
        }
        ClientMsg::Typing { typing } => {
            if !engines
                .limits
                .visitor_typing
                .allow(&visitor.visitor_id.to_string())
            {
                return Ok(());
            }
            store::set_typing(pool, workspace_id, conversation_id, &Party::Visitor, typing)
                .await
                .map_err(Into::into)
        }
        ClientMsg::Seen { seq } => {
            store::mark_seen(pool, workspace_id, conversation_id, &Party::Visitor, seq).await?;
            Ok(())
        }
        ClientMsg::Rate { seq, helpful } => {
            if actions::rate_answer(pool.ws(workspace_id), conversation_id, seq, helpful).await? {
                send(sink, &ServerMsg::Rated { seq, helpful }).await
            } else {
                refuse(sink, "Only answers from the AI can be rated.", None).await
            }
        }
        ClientMsg::LeaveEmail { client_id, email } => {
            let done =
                actions::leave_email(pool.ws(workspace_id), conversation_id, client_id, &email)
                    .await;
            acknowledge(sink, client_id, done).await.map(drop)
        }
        ClientMsg::Note { client_id, .. }
        | ClientMsg::Claim { client_id }
        | ClientMsg::Resolve { client_id }
        | ClientMsg::Reopen { client_id }
        | ClientMsg::TakeOver { client_id }
        | ClientMsg::Assign { client_id, .. }
        | ClientMsg::HandBack { client_id } => {
            refuse(sink, "Only the team can do that.", Some(client_id)).await
        }
        ClientMsg::Presence { .. } => refuse(sink, "Only the team can do that.", None).await,
    }
}
