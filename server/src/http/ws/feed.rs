//! What one socket has sent of one conversation. Each call re-reads the
//! database and sends only what this client does not have yet: events after
//! the last seq sent, the part of the AI's draft not yet sent, who is typing
//! when that changed, how far the visitor has read (for the team).

use std::time::Duration;

use app::types::{ServerMsg, Typist};
use sqlx::PgPool;
use uuid::Uuid;

use super::{send, Sink, SocketError};
use crate::db::Scope;
use crate::thread::hub::Change;
use crate::thread::store::{self, Party};

/// Who is at the other end of a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// A visitor: private notes, decision records and handoff details are left out.
    Visitor,
    Team,
}

pub struct Feed {
    pub conversation_id: Uuid,
    /// The conversation's workspace: every read is scoped to it.
    workspace_id: Uuid,
    audience: Audience,
    /// The client itself, whose own typing is not echoed back.
    me: Party,
    /// The last event seq sent.
    last: i64,
    /// The AI turn whose draft was sent, and how many bytes of it.
    draft: Option<(Uuid, usize)>,
    typists: Vec<Typist>,
    /// When the first of them stops typing unless they go on (typing lapses
    /// without a wake-up, so the feed looks again then).
    typing_lapses: Option<tokio::time::Instant>,
    /// How far the visitor has read, as last sent (team sockets).
    visitor_seen: i64,
    /// The other agents viewing, as last sent (team sockets).
    viewers: Vec<Typist>,
}

/// Events read per query while catching up.
const PAGE: i64 = 500;

impl Feed {
    /// A feed for a client that has every event up to `after`.
    pub fn new(
        conversation_id: Uuid,
        workspace_id: Uuid,
        audience: Audience,
        me: Party,
        after: i64,
    ) -> Self {
        Self {
            conversation_id,
            workspace_id,
            audience,
            me,
            last: after.max(0),
            draft: None,
            typists: Vec::new(),
            typing_lapses: None,
            visitor_seen: 0,
            viewers: Vec::new(),
        }
    }

    /// Everything: on connect, and after wake-ups may have been lost.
    pub async fn everything(&mut self, sink: &mut Sink, pool: &PgPool) -> Result<(), SocketError> {
        self.events(sink, pool).await?;
        self.draft(sink, pool).await?;
        self.typing(sink, pool).await?;
        self.seen(sink, pool).await?;
        self.viewers(sink, pool).await
    }

    /// What a wake-up calls for.
    pub async fn on(
        &mut self,
        change: Change,
        sink: &mut Sink,
        pool: &PgPool,
    ) -> Result<(), SocketError> {
        match change {
            Change::Stored => self.events(sink, pool).await,
            Change::Draft => self.draft(sink, pool).await,
            Change::Typing => self.typing(sink, pool).await,
            Change::Seen => self.seen(sink, pool).await,
            Change::Viewers => self.viewers(sink, pool).await,
        }
    }

    /// Sends every stored event after the last one sent, in order.
    pub async fn events(&mut self, sink: &mut Sink, pool: &PgPool) -> Result<(), SocketError> {
        loop {
            let events = store::events_after(
                pool.ws(self.workspace_id),
                self.conversation_id,
                self.last,
                PAGE,
            )
            .await?;
            let full = events.len() as i64 == PAGE;
            for event in events {
                self.last = event.seq;
                let event = match self.audience {
                    Audience::Visitor => match event.for_visitor() {
                        Some(event) => event,
                        None => continue,
                    },
                    Audience::Team => event,
                };
                send(sink, &ServerMsg::Event { event }).await?;
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Sends what is new of the AI's draft: the rest of the one being sent,
    /// or a new one whole; tells the client when the draft it has is gone.
    pub async fn draft(&mut self, sink: &mut Sink, pool: &PgPool) -> Result<(), SocketError> {
        let current = store::draft(pool.ws(self.workspace_id), self.conversation_id).await?;
        if let Some((turn_id, _)) = self.draft {
            if current.as_ref().map(|(t, _)| *t) != Some(turn_id) {
                // The answer that ended it (if any) goes first, so the client
                // replaces the draft with the answer, never with nothing.
                self.events(sink, pool).await?;
                self.draft = None;
                send(
                    sink,
                    &ServerMsg::DraftDropped {
                        conversation_id: self.conversation_id,
                        turn_id,
                    },
                )
                .await?;
            }
        }
        let Some((turn_id, text)) = current else {
            return Ok(());
        };
        let offset = match self.draft {
            Some((_, sent)) => sent,
            None => 0,
        };
        // Drafts only grow; `offset` is where this client's copy ends.
        let Some(delta) = text.get(offset..).filter(|d| !d.is_empty()) else {
            return Ok(());
        };
        send(
            sink,
            &ServerMsg::AiToken {
                conversation_id: self.conversation_id,
                turn_id,
                offset,
                delta: delta.to_owned(),
            },
        )
        .await?;
        self.draft = Some((turn_id, text.len()));
        Ok(())
    }

    /// Sends who is typing, when that changed. A visitor learns agents'
    /// names, not their account ids.
    pub async fn typing(&mut self, sink: &mut Sink, pool: &PgPool) -> Result<(), SocketError> {
        let mut typists = store::typists(pool.ws(self.workspace_id), self.conversation_id).await?;
        typists.retain(|(t, _)| !self.me.is(t));
        let soonest = typists.iter().map(|(_, left)| *left).reduce(f64::min);
        self.typing_lapses = soonest.map(|left| {
            tokio::time::Instant::now() + Duration::from_secs_f64(left.max(0.0) + 0.05)
        });
        let typists: Vec<Typist> = typists
            .into_iter()
            .map(|(typist, _)| match (self.audience, typist) {
                (Audience::Visitor, Typist::Agent { name, .. }) => Typist::Agent {
                    account_id: Uuid::nil(),
                    name,
                },
                (_, typist) => typist,
            })
            .collect();
        if typists != self.typists {
            self.typists = typists.clone();
            send(
                sink,
                &ServerMsg::Typing {
                    conversation_id: self.conversation_id,
                    typists,
                },
            )
            .await?;
        }
        Ok(())
    }

    /// When someone's typing lapses, if anyone types: the session calls
    /// [`Feed::typing`] then.
    pub fn typing_lapses(&self) -> Option<tokio::time::Instant> {
        self.typing_lapses
    }

    /// Sends how far the visitor has read (team sockets), when it moved.
    pub async fn seen(&mut self, sink: &mut Sink, pool: &PgPool) -> Result<(), SocketError> {
        if self.audience != Audience::Team {
            return Ok(());
        }
        let seq = store::seen(
            pool.ws(self.workspace_id),
            self.conversation_id,
            &Party::Visitor,
        )
        .await?;
        if seq > self.visitor_seen {
            self.visitor_seen = seq;
            send(
                sink,
                &ServerMsg::VisitorSeen {
                    conversation_id: self.conversation_id,
                    seq,
                },
            )
            .await?;
        }
        Ok(())
    }
}

impl Feed {
    /// Sends which other agents have the conversation open (team sockets),
    /// when that changed; also called on every heartbeat, since a viewer
    /// whose instance died lapses without a wake-up.
    pub async fn viewers(&mut self, sink: &mut Sink, pool: &PgPool) -> Result<(), SocketError> {
        if self.audience != Audience::Team {
            return Ok(());
        }
        let mut agents =
            crate::thread::presence::viewers(pool.ws(self.workspace_id), self.conversation_id)
                .await?;
        agents.retain(|a| !self.me.is(a));
        if agents != self.viewers {
            self.viewers = agents.clone();
            send(
                sink,
                &ServerMsg::Viewers {
                    conversation_id: self.conversation_id,
                    agents,
                },
            )
            .await?;
        }
        Ok(())
    }
}

/// Waits until `at`, or forever.
pub async fn until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
