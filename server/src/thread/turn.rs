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

#[tracing::instrument(skip(engines), fields(conversation.id = %conversation_id))]
pub async fn run(engines: &Engines, conversation_id: Uuid) -> Result<(), TurnError> {
    let mut guard = engines.pool.begin().await?;
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(lock_key(conversation_id))
        .execute(&mut *guard)
        .await?;

    // The visitor's messages since the AI or a person last spoke or handed off.
    let (workspace_id, status): (Uuid, String) =
        sqlx::query_as("select workspace_id, status from conversation where conversation_id = $1")
            .bind(conversation_id)
            .fetch_one(&engines.pool)
            .await?;
    let status = ConversationStatus::parse(&status).unwrap_or(ConversationStatus::Ai);
    if matches!(
        status,
        ConversationStatus::Open | ConversationStatus::Resolved
    ) {
        return Ok(());
    }
    let pending: Vec<String> = sqlx::query_scalar(
        "select payload->>'text' from event
         where conversation_id = $1 and kind = 'visitor_message'
           and seq > coalesce((select max(seq) from event where conversation_id = $1
                               and kind in ('ai_answer', 'human_reply', 'status_change')), 0)
         order by seq",
    )
    .bind(conversation_id)
    .fetch_all(&engines.pool)
    .await?;
    if pending.is_empty() {
        return Ok(());
    }
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
        tx.commit().await?;
        return Ok(());
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
        if !store::escalate(
            &mut tx,
            &conversation,
            None,
            reason.clone(),
            Some(decision.clone()),
        )
        .await?
        {
            // Already waiting for a person: record that the AI did not answer.
            let body = EventBody::StatusChange {
                status: conversation.status(),
                reason: Some(reason),
                agent_name: None,
                decision: Some(decision),
            };
            store::append(&mut tx, &conversation, None, &body).await?;
        }
        tx.commit().await?;
        return Ok(());
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
        return Ok(());
    }
    let body = EventBody::AiAnswer {
        text: draft.text,
        citations: draft.citations,
        decision,
    };
    store::append(&mut tx, &conversation, None, &body).await?;
    tx.commit().await?;
    guard.commit().await?;
    Ok(())
}
