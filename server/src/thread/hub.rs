//! The per-instance hub: turns PostgreSQL notifications (ids only) and local
//! AI token streams into signals for the sockets of this instance. The
//! database stays the only source of truth; sockets re-read it on a signal.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::store::CHANNEL;

#[derive(Clone, Debug)]
pub enum Signal {
    /// New events were stored in a conversation.
    Stored {
        workspace_id: Uuid,
        conversation_id: Uuid,
    },
    /// A piece of an AI answer being written on this instance.
    Token {
        workspace_id: Uuid,
        conversation_id: Uuid,
        turn_id: Uuid,
        delta: Arc<str>,
    },
}

#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<Signal>,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Self {
        Self {
            tx: broadcast::channel(4096).0,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Signal> {
        self.tx.subscribe()
    }

    pub fn publish(&self, signal: Signal) {
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(signal);
    }

    /// Forwards this database's notifications to the hub until the process ends.
    pub fn listen(&self, pool: PgPool) {
        let hub = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(err) = hub.forward(&pool).await {
                    tracing::warn!(error = %err, "notification listener failed; retrying");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    async fn forward(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        loop {
            let note = listener.recv().await?;
            let mut ids = note
                .payload()
                .split(':')
                .filter_map(|s| Uuid::parse_str(s).ok());
            if let (Some(workspace_id), Some(conversation_id)) = (ids.next(), ids.next()) {
                self.publish(Signal::Stored {
                    workspace_id,
                    conversation_id,
                });
            }
        }
    }
}
