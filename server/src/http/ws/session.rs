//! One conversation's socket, whoever is at the other end: the feed from
//! where the client is, live wake-ups, the client's actions, heartbeats, and
//! the client's typing cleared on the way out. What differs between a visitor
//! and an agent is a [`Participant`].

use std::future::Future;

use app::types::ClientMsg;
use axum::extract::ws::{Message, WebSocket};
use futures::stream::SplitStream;
use futures::StreamExt;
use uuid::Uuid;

use super::feed::{self, Feed};
use super::{decode, refuse, Frame, Heartbeat, Sink, SocketError};
use crate::thread::hub::{Signal, Subscription};
use crate::thread::store::{self, Party};
use crate::Engines;

/// The client of a conversation socket.
pub trait Participant: Sync {
    /// Does what the client asked, and answers it.
    fn act(
        &self,
        engines: &Engines,
        sink: &mut Sink,
        msg: ClientMsg,
    ) -> impl Future<Output = Result<(), SocketError>> + Send;

    /// Whether the client may still be here (checked on every heartbeat).
    fn still_allowed(
        &self,
        engines: &Engines,
    ) -> impl Future<Output = Result<bool, SocketError>> + Send;

    /// Who the client is, for typing.
    fn party(&self) -> &Party;

    fn workspace_id(&self) -> Uuid;
}

/// Serves the conversation until the client leaves. `wakes` must have been
/// subscribed before anything of the conversation was read for the client,
/// so that nothing falls between the backlog and what comes live.
pub async fn converse(
    mut sink: Sink,
    mut stream: SplitStream<WebSocket>,
    engines: &Engines,
    mut wakes: Subscription,
    mut feed: Feed,
    client: &impl Participant,
) -> Result<(), SocketError> {
    let pool = &engines.pool;
    // Large, rare futures (database reads) are boxed: an idle socket's task
    // holds only what waiting needs.
    Box::pin(feed.everything(&mut sink, pool)).await?;
    let mut heartbeat = Heartbeat::new(engines.live);
    let ended = loop {
        let typing_lapses = feed.typing_lapses();
        tokio::select! {
            frame = stream.next() => {
                heartbeat.heard();
                match decode(frame) {
                    Frame::Msg(msg) => Box::pin(client.act(engines, &mut sink, msg)).await?,
                    Frame::Malformed(why) => refuse(&mut sink, why, None).await?,
                    Frame::Nothing => {}
                    Frame::Closed => break Ok(()),
                }
            }
            signal = wakes.recv() => match signal {
                Signal::Changed { change, .. } => Box::pin(feed.on(change, &mut sink, pool)).await?,
                Signal::Resync => Box::pin(feed.everything(&mut sink, pool)).await?,
            },
            _ = feed::until(typing_lapses) => Box::pin(feed.typing(&mut sink, pool)).await?,
            _ = heartbeat.tick() => {
                if !Box::pin(client.still_allowed(engines)).await? {
                    let _ = futures::SinkExt::send(&mut sink, Message::Close(None)).await;
                    break Ok(());
                }
                if let Err(err) = heartbeat.beat(&mut sink).await {
                    break Err(err);
                }
                Box::pin(feed.viewers(&mut sink, pool)).await?;
            }
        }
    };
    // A client who leaves mid-sentence is no longer typing.
    Box::pin(store::set_typing(
        pool,
        client.workspace_id(),
        feed.conversation_id,
        client.party(),
        false,
    ))
    .await?;
    ended
}
