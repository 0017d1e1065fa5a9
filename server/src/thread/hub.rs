//! The per-instance hub: turns PostgreSQL notifications (ids only) into
//! wake-ups for the sockets of this instance. The database stays the only
//! source of truth; a socket re-reads it when woken.
//!
//! Sockets subscribe to one conversation (or, for inbox lists, to one
//! workspace), so a wake-up reaches only the sockets it concerns, however
//! many are connected. When the listener loses PostgreSQL (a restart, a
//! network cut) it reconnects and wakes every socket to catch up, since
//! notifications sent meanwhile are lost.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::broadcast;
use uuid::Uuid;

/// The notification channel (payload: `kind:workspace:conversation`).
pub const CHANNEL: &str = "tandem_thread";

/// What changed in a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// New events were stored (or its list row changed).
    Stored,
    /// The AI's draft changed.
    Draft,
    /// Someone started or stopped typing.
    Typing,
    /// The visitor read further.
    Seen,
    /// An agent opened or closed the conversation.
    Viewers,
}

impl Change {
    fn letter(self) -> char {
        match self {
            Self::Stored => 'e',
            Self::Draft => 'd',
            Self::Typing => 't',
            Self::Seen => 's',
            Self::Viewers => 'v',
        }
    }

    fn parse(letter: &str) -> Option<Self> {
        Some(match letter {
            "e" => Self::Stored,
            "d" => Self::Draft,
            "t" => Self::Typing,
            "s" => Self::Seen,
            "v" => Self::Viewers,
            _ => return None,
        })
    }
}

/// A wake-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Changed {
        workspace_id: Uuid,
        conversation_id: Uuid,
        change: Change,
    },
    /// Wake-ups may have been lost: re-read everything.
    Resync,
}

/// The payload of a notification: ids and the kind of change, never content.
pub fn payload(change: Change, workspace_id: Uuid, conversation_id: Uuid) -> String {
    format!("{}:{workspace_id}:{conversation_id}", change.letter())
}

fn parse(payload: &str) -> Option<Signal> {
    let mut parts = payload.split(':');
    let change = Change::parse(parts.next()?)?;
    let workspace_id = Uuid::parse_str(parts.next()?).ok()?;
    let conversation_id = Uuid::parse_str(parts.next()?).ok()?;
    Some(Signal::Changed {
        workspace_id,
        conversation_id,
        change,
    })
}

/// Per-topic channels hold few signals: a socket that falls behind is told
/// (`Lagged`) and re-reads the database, so nothing depends on the buffer.
const TOPIC_CAPACITY: usize = 8;

#[derive(Default)]
struct Topics {
    conversations: HashMap<Uuid, broadcast::Sender<Signal>>,
    workspaces: HashMap<Uuid, broadcast::Sender<Signal>>,
}

struct Inner {
    topics: Mutex<Topics>,
    /// Every socket of the instance listens here for `Resync`.
    all: broadcast::Sender<Signal>,
}

#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Clone, Copy)]
enum Topic {
    Conversation(Uuid),
    Workspace(Uuid),
}

/// A subscription to one conversation's or one workspace's wake-ups, plus
/// the instance-wide resync. Dropping it frees the topic when it was the last.
pub struct Subscription {
    hub: Hub,
    topic: Topic,
    rx: Option<broadcast::Receiver<Signal>>,
    all: broadcast::Receiver<Signal>,
}

impl Subscription {
    /// The next wake-up; `Signal::Resync` also when wake-ups were dropped.
    pub async fn recv(&mut self) -> Signal {
        let rx = self.rx.as_mut().expect("present until dropped");
        loop {
            let received = tokio::select! {
                signal = rx.recv() => signal,
                signal = self.all.recv() => signal,
            };
            match received {
                Ok(signal) => return signal,
                Err(broadcast::error::RecvError::Lagged(_)) => return Signal::Resync,
                // The hub lives as long as the process; a closed channel means
                // shutting down: wait for the socket to be dropped.
                Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut topics = self
            .hub
            .inner
            .topics
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // Drop the receiver under the lock so a concurrent subscribe cannot
        // pick up a sender that is about to be removed.
        drop(self.rx.take());
        let map = match self.topic {
            Topic::Conversation(_) => &mut topics.conversations,
            Topic::Workspace(_) => &mut topics.workspaces,
        };
        let key = match self.topic {
            Topic::Conversation(id) | Topic::Workspace(id) => id,
        };
        if map.get(&key).is_some_and(|tx| tx.receiver_count() == 0) {
            map.remove(&key);
        }
    }
}

impl Hub {
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                topics: Mutex::new(Topics::default()),
                all: broadcast::channel(TOPIC_CAPACITY).0,
            }),
        }
    }

    fn subscribe(&self, topic: Topic) -> Subscription {
        let mut topics = self.inner.topics.lock().unwrap_or_else(|p| p.into_inner());
        let (map, key) = match topic {
            Topic::Conversation(id) => (&mut topics.conversations, id),
            Topic::Workspace(id) => (&mut topics.workspaces, id),
        };
        let rx = map
            .entry(key)
            .or_insert_with(|| broadcast::channel(TOPIC_CAPACITY).0)
            .subscribe();
        Subscription {
            hub: self.clone(),
            topic,
            rx: Some(rx),
            all: self.inner.all.subscribe(),
        }
    }

    /// Wake-ups for one conversation.
    pub fn conversation(&self, conversation_id: Uuid) -> Subscription {
        self.subscribe(Topic::Conversation(conversation_id))
    }

    /// Wake-ups for every conversation of a workspace (inbox lists).
    pub fn workspace(&self, workspace_id: Uuid) -> Subscription {
        self.subscribe(Topic::Workspace(workspace_id))
    }

    /// How many conversations and workspaces have subscribers (for benches).
    pub fn topics(&self) -> (usize, usize) {
        let topics = self.inner.topics.lock().unwrap_or_else(|p| p.into_inner());
        (topics.conversations.len(), topics.workspaces.len())
    }

    pub fn publish(&self, signal: Signal) {
        match signal {
            Signal::Changed {
                workspace_id,
                conversation_id,
                ..
            } => {
                let topics = self.inner.topics.lock().unwrap_or_else(|p| p.into_inner());
                // No receivers is fine: nobody here is watching.
                if let Some(tx) = topics.conversations.get(&conversation_id) {
                    let _ = tx.send(signal);
                }
                // Lists change only with stored events; drafts and typing
                // (many a second) would only crowd them out.
                let stored = matches!(
                    signal,
                    Signal::Changed {
                        change: Change::Stored,
                        ..
                    }
                );
                if let Some(tx) = topics.workspaces.get(&workspace_id).filter(|_| stored) {
                    let _ = tx.send(signal);
                }
            }
            Signal::Resync => {
                let _ = self.inner.all.send(signal);
            }
        }
    }

    /// Forwards this database's notifications to the hub until the process ends.
    pub fn listen(&self, pool: PgPool) {
        let hub = self.clone();
        tokio::spawn(async move {
            let mut first = true;
            loop {
                match hub.forward(&pool, first).await {
                    Ok(()) => {
                        tracing::warn!("notification listener lost its connection; reconnecting")
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "notification listener failed; reconnecting")
                    }
                }
                first = false;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
    }

    async fn forward(&self, pool: &PgPool, first: bool) -> Result<(), sqlx::Error> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        if !first {
            tracing::info!("notification listener reconnected; sockets catch up");
        }
        // Anything stored before this point was missed: sockets catch up.
        self.publish(Signal::Resync);
        // A connection can die without closing (a half-open TCP link): every
        // so often a ping goes through the database to this listener, and
        // one that does not come back in time means reconnecting.
        let mut check = tokio::time::interval(LIVENESS_EVERY);
        check.reset();
        let mut awaiting: Option<String> = None;
        // The listener reads in a task of its own, so that giving up on it
        // never interrupts a read half-way.
        let (tx, mut payloads) = tokio::sync::mpsc::unbounded_channel::<String>();
        let reader = tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    Ok(Some(note)) => {
                        if tx.send(note.payload().to_owned()).is_err() {
                            return;
                        }
                    }
                    // Lost: a fresh listener is made, and only once it
                    // listens again does every socket catch up.
                    Ok(None) => return,
                    Err(err) => {
                        tracing::warn!(error = %err, "notification listener failed");
                        return;
                    }
                }
            }
        });
        let _reader = AbortOnDrop(reader);
        loop {
            tokio::select! {
                payload = payloads.recv() => match payload {
                    Some(payload) if awaiting.as_deref() == Some(payload.as_str()) => awaiting = None,
                    Some(payload) => {
                        if let Some(signal) = parse(&payload) {
                            self.publish(signal);
                        }
                    }
                    None => return Ok(()),
                },
                _ = check.tick() => {
                    if awaiting.is_some() {
                        tracing::warn!("notification listener stopped hearing its own pings");
                        return Ok(());
                    }
                    let ping = format!("ping:{}", Uuid::new_v4());
                    let sent = sqlx::query!(
                        "select pg_notify($1, $2)",
                        CHANNEL,
                        &ping,
                    )
                        .execute(pool)
                        .await;
                    // When the database itself is away, the listener finds out.
                    if sent.is_ok() {
                        awaiting = Some(ping);
                    }
                }
            }
        }
    }
}

/// Aborts its task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How often the listener checks that its connection still delivers.
const LIVENESS_EVERY: Duration = Duration::from_secs(20);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_carry_ids_and_the_kind_of_change_only() {
        let (w, c) = (Uuid::new_v4(), Uuid::new_v4());
        for change in [Change::Stored, Change::Draft, Change::Typing, Change::Seen] {
            assert_eq!(
                parse(&payload(change, w, c)),
                Some(Signal::Changed {
                    workspace_id: w,
                    conversation_id: c,
                    change
                })
            );
        }
        assert_eq!(parse("x:1:2"), None);
        assert_eq!(parse("e:not-a-uuid"), None);
    }

    #[tokio::test]
    async fn wake_ups_reach_only_their_topic_and_topics_are_freed() {
        let hub = Hub::new();
        let (w, a, b) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let mut on_a = hub.conversation(a);
        let mut on_w = hub.workspace(w);
        let signal = |c| Signal::Changed {
            workspace_id: w,
            conversation_id: c,
            change: Change::Stored,
        };
        hub.publish(signal(b));
        hub.publish(signal(a));
        assert_eq!(on_a.recv().await, signal(a));
        assert_eq!(on_w.recv().await, signal(b));
        assert_eq!(on_w.recv().await, signal(a));
        hub.publish(Signal::Resync);
        assert_eq!(on_a.recv().await, Signal::Resync);
        assert_eq!(hub.topics(), (1, 1));
        drop(on_a);
        drop(on_w);
        assert_eq!(hub.topics(), (0, 0));
    }

    #[tokio::test]
    async fn a_socket_that_falls_behind_is_told_to_resync() {
        let hub = Hub::new();
        let (w, a) = (Uuid::new_v4(), Uuid::new_v4());
        let mut sub = hub.conversation(a);
        for _ in 0..TOPIC_CAPACITY + 3 {
            hub.publish(Signal::Changed {
                workspace_id: w,
                conversation_id: a,
                change: Change::Draft,
            });
        }
        assert_eq!(sub.recv().await, Signal::Resync);
    }
}
