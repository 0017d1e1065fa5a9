//! The AI's turn in a conversation: answer the visitor's unanswered messages
//! from the content, or hand the conversation to the team, and say why.
//!
//! One turn runs at a time per conversation (a transaction-level advisory
//! lock, so across instances too). The answer is only stored if no person has
//! claimed the conversation meanwhile (human-priority lock).

use std::sync::Arc;
use std::time::Duration;

use app::types::{
    Confidence, ConversationStatus, Decision, EventBody, HandoffReason, RequestChannel,
    RetrievedPassage,
};
use uuid::Uuid;

use super::hub::Signal;
use super::store::{self, StoreError};
use crate::{answer, handoff, retrieve, Engines};

#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Embed(#[from] crate::embed::EmbedError),
}

/// The advisory-lock key of a conversation's AI turn.
fn lock_key(conversation_id: Uuid) -> i64 {
    let bytes = conversation_id.as_bytes();
    i64::from_be_bytes(bytes[..8].try_into().expect("16-byte uuid"))
}

/// Runs the AI's turn in the background, logging failures.
pub fn spawn(engines: Engines, conversation_id: Uuid) {
    tokio::spawn(async move {
        if let Err(err) = run(&engines, conversation_id).await {
            tracing::error!(conversation.id = %conversation_id, error = %err, "AI turn failed");
        }
    });
}

/// Deals with every pending visitor message of the conversation. If another
/// turn holds the conversation (here or on another instance), returns at once:
/// that turn picks up what is pending before it lets go, and checks again after.
#[tracing::instrument(skip(engines), fields(conversation.id = %conversation_id))]
pub async fn run(engines: &Engines, conversation_id: Uuid) -> Result<(), TurnError> {
    // Bounded concurrency keeps turns from exhausting the connection pool.
    let _slot = engines
        .turn_slots
        .acquire()
        .await
        .expect("the semaphore is never closed");
    loop {
        let mut guard = engines.pool.begin().await?;
        let locked: bool = sqlx::query_scalar("select pg_try_advisory_xact_lock($1)")
            .bind(lock_key(conversation_id))
            .fetch_one(&mut *guard)
            .await?;
        if !locked {
            return Ok(());
        }
        while step(engines, conversation_id).await? {}
        guard.commit().await?;
        // A message stored while the lock was being released is caught here.
        if pending(engines, conversation_id).await?.1.is_empty() {
            return Ok(());
        }
    }
}

/// The visitor's messages the AI has not dealt with yet, and the last one's seq.
async fn pending(
    engines: &Engines,
    conversation_id: Uuid,
) -> Result<(i64, Vec<String>), sqlx::Error> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "select e.seq, e.payload->>'text' from event e join conversation c using (conversation_id)
         where e.conversation_id = $1 and e.kind = 'visitor_message' and e.seq > c.ai_handled_seq
           and c.status in ('ai', 'waiting_human')
         order by e.seq",
    )
    .bind(conversation_id)
    .fetch_all(&engines.pool)
    .await?;
    let upto = rows.last().map_or(0, |(seq, _)| *seq);
    Ok((upto, rows.into_iter().map(|(_, text)| text).collect()))
}

async fn mark_handled(
    conn: &mut sqlx::PgConnection,
    conversation_id: Uuid,
    upto: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("update conversation set ai_handled_seq = greatest(ai_handled_seq, $2) where conversation_id = $1")
        .bind(conversation_id)
        .bind(upto)
        .execute(conn)
        .await?;
    Ok(())
}

/// One answer or handoff for what is pending; false when nothing was.
async fn step(engines: &Engines, conversation_id: Uuid) -> Result<bool, TurnError> {
    let (upto, pending) = pending(engines, conversation_id).await?;
    if pending.is_empty() {
        return Ok(false);
    }
    let workspace_id: Uuid =
        sqlx::query_scalar("select workspace_id from conversation where conversation_id = $1")
            .bind(conversation_id)
            .fetch_one(&engines.pool)
            .await?;
    let question = pending
        .iter()
        .rev()
        .take(3)
        .rev()
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");

    // Triggers that need no retrieval.
    let trigger = handoff::human_request(&question)
        .map(|matched| HandoffReason::HumanRequested {
            via: RequestChannel::Message,
            matched: Some(matched),
        })
        .or_else(|| {
            handoff::sensitive_topic(&question)
                .map(|(category, matched)| HandoffReason::Sensitive { category, matched })
        });
    if let Some(reason) = trigger {
        let mut tx = engines.pool.begin().await?;
        let conversation = store::lock(&mut tx, conversation_id).await?;
        if conversation.status() == ConversationStatus::WaitingHuman {
            // Already with the team; the AI stays quiet on this one.
            let body = EventBody::StatusChange {
                status: ConversationStatus::WaitingHuman,
                reason: Some(reason),
                agent_name: None,
                decision: None,
            };
            store::append(&mut tx, &conversation, None, &body).await?;
        } else {
            store::escalate(&mut tx, &conversation, None, reason, None).await?;
        }
        mark_handled(&mut tx, conversation_id, upto).await?;
        tx.commit().await?;
        return Ok(true);
    }

    let vector = engines.embedder.embed_one(&question).await?;
    let passages = retrieve::retrieve(&engines.pool, workspace_id, &question, &vector, 8).await?;
    let draft = answer::compose(&engines.embedder, &question, &vector, &passages).await?;
    let threshold = engines.settings.confidence_threshold;
    let confidence = draft
        .as_ref()
        .map_or(Confidence::clamped(0.0), |d| d.confidence);
    let retrieved = passages
        .iter()
        .map(|p| RetrievedPassage {
            chunk_id: p.chunk_id,
            title: p.title.clone(),
            heading_path: p.heading_path.clone(),
            url: p.url.clone(),
            fused_score: p.fused_score as f32,
            similarity: p.similarity as f32,
        })
        .collect();
    let answered = confidence >= threshold && draft.is_some();
    let decision = Decision {
        answered,
        confidence,
        handoff: (!answered).then_some(HandoffReason::LowConfidence {
            confidence,
            threshold,
        }),
        retrieved,
    };
    tracing::info!(confidence = confidence.value(), answered, "answer decided");

    let Some(draft) = draft.filter(|_| answered) else {
        let mut tx = engines.pool.begin().await?;
        let conversation = store::lock(&mut tx, conversation_id).await?;
        let reason = HandoffReason::LowConfidence {
            confidence,
            threshold,
        };
        let escalated = store::escalate(
            &mut tx,
            &conversation,
            None,
            reason.clone(),
            Some(decision.clone()),
        )
        .await?;
        if !escalated && conversation.status() == ConversationStatus::WaitingHuman {
            // Already waiting for a person: record that the AI did not answer.
            let body = EventBody::StatusChange {
                status: conversation.status(),
                reason: Some(reason),
                agent_name: None,
                decision: Some(decision),
            };
            store::append(&mut tx, &conversation, None, &body).await?;
        }
        mark_handled(&mut tx, conversation_id, upto).await?;
        tx.commit().await?;
        return Ok(true);
    };

    // Stream the answer, then store it once, unless a person took over.
    let turn_id = Uuid::new_v4();
    let mut words = draft.text.split_inclusive(' ').peekable();
    while words.peek().is_some() {
        let delta: String = words.by_ref().take(2).collect();
        engines.hub.publish(Signal::Token {
            workspace_id,
            conversation_id,
            turn_id,
            delta: Arc::from(delta),
        });
        tokio::time::sleep(Duration::from_millis(18)).await;
    }
    let mut tx = engines.pool.begin().await?;
    let conversation = store::lock(&mut tx, conversation_id).await?;
    if matches!(
        conversation.status(),
        ConversationStatus::Open | ConversationStatus::Resolved
    ) {
        tracing::info!("a person took over while the AI was writing; answer dropped");
        mark_handled(&mut tx, conversation_id, upto).await?;
        tx.commit().await?;
        return Ok(true);
    }
    let body = EventBody::AiAnswer {
        text: draft.text,
        citations: draft.citations,
        decision,
    };
    store::append(&mut tx, &conversation, None, &body).await?;
    mark_handled(&mut tx, conversation_id, upto).await?;
    tx.commit().await?;
    Ok(true)
}
