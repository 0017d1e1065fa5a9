//! The two sockets, one protocol (`app::types::{ClientMsg, ServerMsg}`): the
//! visitor's (widget) and the agent's (inbox). A socket resumes from the last
//! sequence number its client has, then goes live; on every wake-up it re-reads
//! the database and sends only what this client has not had, so nothing is
//! missed or sent twice, whichever instance stored it.
//!
//! - `feed`: what one socket has sent of a conversation (events, the AI's
//!   draft, who is typing, how far the visitor has read).
//! - `session`: one conversation's socket, whoever the client is.
//! - `visitor` and `inbox`: who the client is and what it may do.
//!
//! Both sessions ping their client every [`LiveSettings::heartbeat`] and close
//! a socket that has said nothing (not even a pong) for three of them.

mod feed;
mod inbox;
mod session;
mod visitor;

use std::time::{Duration, Instant};

use app::types::ServerMsg;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};

use super::same_origin;
use futures::stream::SplitSink;
use futures::SinkExt;

use crate::thread::actions::{ActionError, Done};
use crate::thread::store::StoreError;

pub use inbox::inbox;
pub use visitor::visitor;

/// Largest message a client may send; a socket that sends more is closed.
pub const MAX_FRAME: usize = 64 * 1024;

/// The sockets' timing.
#[derive(Clone, Copy, Debug)]
pub struct LiveSettings {
    /// How often a socket pings its client; one silent for three is closed.
    pub heartbeat: Duration,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(15),
        }
    }
}

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

/// Small buffers: most sockets are idle, and every byte counts thousands of
/// times (clients send small frames; a larger one grows the buffer). The
/// sessions box their rare, large futures (database reads) for the same
/// reason: an idle socket's task holds only what waiting needs.
fn configure(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        .read_buffer_size(1024)
        .write_buffer_size(0)
}

async fn send(sink: &mut Sink, msg: &ServerMsg) -> Result<(), SocketError> {
    let text = serde_json::to_string(msg).expect("server messages serialise");
    sink.send(Message::Text(text.into()))
        .await
        .map_err(|_| SocketError::Gone)
}

/// Tells the client its request was refused; the socket stays open.
async fn refuse(
    sink: &mut Sink,
    message: impl Into<String>,
    client_id: Option<uuid::Uuid>,
) -> Result<(), SocketError> {
    send(
        sink,
        &ServerMsg::Error {
            message: message.into(),
            client_id,
        },
    )
    .await
}

/// Answers a client's action: an acknowledgement with the event's seq, or
/// the refusal; returns what was done, if anything.
async fn acknowledge(
    sink: &mut Sink,
    client_id: uuid::Uuid,
    result: Result<Done, ActionError>,
) -> Result<Option<Done>, SocketError> {
    match result {
        Ok(done) => {
            send(
                sink,
                &ServerMsg::Ack {
                    client_id,
                    seq: done.seq,
                },
            )
            .await?;
            Ok(Some(done))
        }
        Err(ActionError::Refused(message)) => {
            refuse(sink, message, Some(client_id)).await?;
            Ok(None)
        }
        Err(ActionError::NotFound) => {
            refuse(sink, "This conversation no longer exists.", Some(client_id)).await?;
            Ok(None)
        }
        Err(ActionError::Db(err)) => Err(err.into()),
    }
}

/// Watches that the client is still there.
struct Heartbeat {
    every: tokio::time::Interval,
    period: Duration,
    heard: Instant,
}

impl Heartbeat {
    fn new(settings: LiveSettings) -> Self {
        let mut every = tokio::time::interval(settings.heartbeat);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.reset();
        Self {
            every,
            period: settings.heartbeat,
            heard: Instant::now(),
        }
    }

    /// The client said something (any frame, pongs included).
    fn heard(&mut self) {
        self.heard = Instant::now();
    }

    async fn tick(&mut self) {
        self.every.tick().await;
    }

    /// On a tick: pings the client, or ends the session when it has been
    /// silent too long (a dead peer: a closed laptop, a lost network).
    async fn beat(&mut self, sink: &mut Sink) -> Result<(), SocketError> {
        if self.heard.elapsed() > self.period * 3 {
            let _ = sink.send(Message::Close(None)).await;
            return Err(SocketError::Gone);
        }
        sink.send(Message::Ping(Default::default()))
            .await
            .map_err(|_| SocketError::Gone)
    }
}

/// A client frame, decoded.
enum Frame {
    Msg(app::types::ClientMsg),
    /// Not a message this protocol has; the client is told why.
    Malformed(String),
    /// Pings, pongs: nothing to do.
    Nothing,
    Closed,
}

fn decode(frame: Option<Result<Message, axum::Error>>) -> Frame {
    match frame {
        Some(Ok(Message::Text(text))) => {
            match serde_json::from_str::<app::types::ClientMsg>(text.as_str()) {
                Ok(msg) => Frame::Msg(msg),
                Err(err) => Frame::Malformed(format!("Malformed message: {err}")),
            }
        }
        Some(Ok(Message::Binary(_))) => Frame::Malformed("Binary frames are not supported.".into()),
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Frame::Nothing,
        Some(Ok(Message::Close(_)) | Err(_)) | None => Frame::Closed,
    }
}
