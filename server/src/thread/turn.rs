//! The AI's turn in a conversation: answer the visitor's unanswered messages
//! from the content, or hand the conversation to the team, and say why.
//!
//! One turn runs at a time per conversation (a transaction-level advisory
//! lock, so across instances too). The answer is only stored if no person has
//! claimed the conversation meanwhile (human-priority lock).

use std::sync::Arc;
use std::time::Duration;

use app::types::{ConversationStatus, EventBody};
use uuid::Uuid;

use super::hub::Signal;
use super::store::{self, StoreError};
use crate::policy::{replay, settings, DecideError, Effects, Message};
use crate::{answer, Engines};

/// The built-in generator's pieces are spaced like typing.
const TYPING_PACE: Duration = Duration::from_millis(18);

#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Decide(#[from] DecideError),
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

/// The conversation's context for the policy.
#[derive(sqlx::FromRow)]
struct Context {
    workspace_id: Uuid,
    page_url: Option<String>,
    attributes: sqlx::types::Json<serde_json::Map<String, serde_json::Value>>,
}

/// Publishes the generator's pieces; stops (and tells the turn) as soon as
/// a person has claimed or resolved the conversation.
async fn forward_pieces(
    engines: Engines,
    workspace_id: Uuid,
    conversation_id: Uuid,
    turn_id: Uuid,
    mut pieces: tokio::sync::mpsc::UnboundedReceiver<String>,
    taken_over: tokio::sync::oneshot::Sender<()>,
) {
    let mut signals = engines.hub.subscribe();
    let mut taken_over = Some(taken_over);
    loop {
        tokio::select! {
            piece = pieces.recv() => match piece {
                Some(delta) if taken_over.is_some() => engines.hub.publish(Signal::Token {
                    workspace_id,
                    conversation_id,
                    turn_id,
                    delta: Arc::from(delta),
                }),
                Some(_) => {}
                None => return,
            },
            signal = signals.recv(), if taken_over.is_some() => {
                let ours = matches!(
                    signal,
                    Ok(Signal::Stored { conversation_id: id, .. }) if id == conversation_id
                ) || signal.is_err();
                if ours && person_has_it(&engines.pool, conversation_id).await {
                    if let Some(tell) = taken_over.take() {
                        let _ = tell.send(());
                    }
                }
            }
        }
    }
}

async fn person_has_it(pool: &sqlx::PgPool, conversation_id: Uuid) -> bool {
    sqlx::query_scalar::<_, bool>(
        "select status in ('open', 'resolved') from conversation where conversation_id = $1",
    )
    .bind(conversation_id)
    .fetch_one(pool)
    .await
    .unwrap_or(false)
}

/// Applies what the rules asked for besides the handoff.
async fn apply(
    conn: &mut sqlx::PgConnection,
    conversation_id: Uuid,
    effects: &Effects,
) -> Result<(), sqlx::Error> {
    if effects == &Effects::default() {
        return Ok(());
    }
    sqlx::query(
        "update conversation set
            tags = array(select distinct unnest(tags || $2::text[])),
            priority = coalesce($3, priority),
            team = coalesce($4, team)
         where conversation_id = $1",
    )
    .bind(conversation_id)
    .bind(&effects.tags)
    .bind(effects.priority.map(|p| p.as_str()))
    .bind(effects.team.as_deref())
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
    let context = sqlx::query_as::<_, Context>(
        "select c.workspace_id, c.page_url, v.attributes from conversation c
         join visitor v using (visitor_id) where c.conversation_id = $1",
    )
    .bind(conversation_id)
    .fetch_one(&engines.pool)
    .await?;
    let workspace_id = context.workspace_id;
    let question = pending
        .iter()
        .rev()
        .take(3)
        .rev()
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    let policy = settings::load(
        &engines.pool,
        workspace_id,
        engines.settings.confidence_threshold,
    )
    .await?;
    let message = Message {
        workspace_id,
        text: question.clone(),
        page_url: context.page_url,
        attributes: context.attributes.0,
        unhelpful_in_a_row: replay::unhelpful_in_a_row(&engines.pool, conversation_id).await?,
        at: Some(chrono::Utc::now()),
    };

    // Pieces of the answer go out live as the generator writes them, until
    // a person takes the conversation over: then the turn stops at once.
    let turn_id = Uuid::new_v4();
    let (out, pieces) = tokio::sync::mpsc::unbounded_channel::<String>();
    let (taken_over, mut taken_over_rx) = tokio::sync::oneshot::channel::<()>();
    let forward = tokio::spawn(forward_pieces(
        engines.clone(),
        workspace_id,
        conversation_id,
        turn_id,
        pieces,
        taken_over,
    ));
    let generator = answer::generator(&policy.generator, TYPING_PACE);
    let response = tokio::select! {
        response = answer::respond(
            &engines.pool,
            &engines.embedder,
            &policy,
            generator.as_ref(),
            &message,
            &out,
        ) => Some(response),
        Ok(()) = &mut taken_over_rx => None,
    };
    drop(out);
    let _ = forward.await;
    let Some(response) = response else {
        tracing::info!("a person took over while the AI was writing; turn stopped");
        let mut tx = engines.pool.begin().await?;
        mark_handled(&mut tx, conversation_id, upto).await?;
        tx.commit().await?;
        return Ok(true);
    };
    let response = response?;
    let decision = response.decision;

    let mut tx = engines.pool.begin().await?;
    let conversation = store::lock(&mut tx, conversation_id).await?;
    if matches!(
        conversation.status(),
        ConversationStatus::Open | ConversationStatus::Resolved
    ) {
        // A person took over (or resolved it) meanwhile: theirs now, as is.
        tracing::info!("a person took over while the AI was deciding; nothing stored");
        mark_handled(&mut tx, conversation_id, upto).await?;
        tx.commit().await?;
        return Ok(true);
    }
    apply(&mut tx, conversation_id, &response.effects).await?;
    let answer_seq = match response.answer.filter(|_| decision.answered) {
        Some(answer) => {
            let body = EventBody::AiAnswer {
                text: answer.text,
                citations: answer.citations,
                decision: decision.clone(),
            };
            let stored = store::append(&mut tx, &conversation, None, &body).await?;
            Some(stored.event().seq)
        }
        None => {
            let reason = decision
                .handoff
                .clone()
                .expect("a decision without an answer has a reason");
            let escalated = store::escalate(
                &mut tx,
                &conversation,
                None,
                reason.clone(),
                Some(decision.clone()),
            )
            .await?;
            if !escalated && conversation.status() == ConversationStatus::WaitingHuman {
                // Already waiting for a person: record what the AI did not answer.
                let body = EventBody::StatusChange {
                    status: conversation.status(),
                    reason: Some(reason),
                    agent_name: None,
                    decision: Some(decision.clone()),
                };
                store::append(&mut tx, &conversation, None, &body).await?;
            }
            None
        }
    };
    replay::record(
        &mut tx,
        workspace_id,
        Some(conversation_id),
        &question,
        &decision,
        answer_seq,
    )
    .await?;
    mark_handled(&mut tx, conversation_id, upto).await?;
    tx.commit().await?;
    Ok(true)
}
