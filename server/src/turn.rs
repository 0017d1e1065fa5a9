//! The AI's turn in a conversation: answer the visitor's unanswered messages
//! from the content, or hand the conversation to the team, and say why.
//!
//! - **One writer.** A conversation's turn runs on one instance at a time,
//!   the one holding its lease (`conversation.turn_owner/turn_until`, renewed
//!   while it works, lapsing if the instance dies); on that instance, one task.
//! - **Debounce.** A burst of visitor messages gets one answer: the turn
//!   starts once the visitor is not typing (and has been quiet for `quiet`,
//!   0 by default), or the first unanswered message is [`MAX_WAIT`] old. A
//!   message, or typing, that arrives before the answer is stored restarts
//!   the turn with it (its draft withdrawn), until the burst is `MAX_WAIT`
//!   old: a visitor who never pauses still gets answers, and the next turn
//!   takes what came meanwhile.
//! - **Lease checked at the end.** The answer is stored only if this
//!   instance still holds the lease and nobody answered the messages
//!   meanwhile: a turn whose lease lapsed (it could not renew in time) and
//!   was taken over stores nothing.
//! - **Human priority.** The AI never posts once a person has claimed or
//!   resolved the conversation, nor while an agent is typing in it: a claim
//!   drops what it was writing (nothing is stored), typing holds it.
//! - **Nothing stranded.** Every instance sweeps for conversations with
//!   unanswered messages and no live lease (a crash, a restart).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use app::types::{ConversationStatus, EventBody, HandoffReason};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{InWorkspace, Scope, System};
use crate::policy::{replay, settings, DecideError, Effects, Message};
use crate::thread::assign;
use crate::thread::hub::{self, Change, Signal};
use crate::thread::store::{self, StoreError};
use crate::{answer, Engines};

/// The built-in generator's pieces are spaced like typing.
const TYPING_PACE: Duration = Duration::from_millis(18);
/// How long a lease lasts unless renewed, and how often it is renewed.
const LEASE: Duration = Duration::from_secs(10);
const RENEW: Duration = Duration::from_secs(3);
/// How often the draft being written is published.
const DRAFT_EVERY: Duration = Duration::from_millis(40);
/// How often each instance looks for stranded work.
const SWEEP_EVERY: Duration = Duration::from_secs(3);
/// The longest a visitor who keeps typing (or writing) waits for an answer
/// to what they sent.
const MAX_WAIT: Duration = Duration::from_millis(3_500);

#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Decide(#[from] DecideError),
}

/// This instance's turns: who it is (the lease owner) and which
/// conversations have a task here (`true`: look again when it ends).
pub struct Turns {
    pub instance_id: Uuid,
    /// How long the visitor must have been quiet before the AI answers
    /// (besides not typing; 0 by default: at once).
    pub quiet: Duration,
    running: Mutex<HashMap<Uuid, bool>>,
}

impl Turns {
    pub fn new(quiet: Duration) -> Self {
        Self {
            instance_id: Uuid::new_v4(),
            quiet,
            running: Mutex::new(HashMap::new()),
        }
    }

    fn max_wait(&self) -> Duration {
        MAX_WAIT.max(self.quiet * 5)
    }

    /// Registers a task for the conversation; false if one is already running
    /// here (which is then told to look again before it ends).
    fn start(&self, conversation_id: Uuid) -> bool {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        match running.get_mut(&conversation_id) {
            Some(again) => {
                *again = true;
                false
            }
            None => {
                running.insert(conversation_id, false);
                true
            }
        }
    }

    /// Whether the task should run again (and, if not, it is unregistered).
    fn finish(&self, conversation_id: Uuid) -> bool {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if running.get(&conversation_id) == Some(&true) {
            running.insert(conversation_id, false);
            true
        } else {
            running.remove(&conversation_id);
            false
        }
    }
}

/// Makes sure the conversation's pending messages get the AI's turn: starts
/// a task unless one runs here already. Cheap to call on every message.
pub fn spawn(engines: Engines, workspace_id: Uuid, conversation_id: Uuid) {
    if !engines.turns.start(conversation_id) {
        return;
    }
    tokio::spawn(async move {
        loop {
            // Its own task, so that a panic ends this turn and nothing else.
            let task = tokio::spawn({
                let engines = engines.clone();
                async move { run(&engines, workspace_id, conversation_id).await }
            });
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => {
                    tracing::error!(conversation.id = %conversation_id, error = %err, "AI turn failed")
                }
                Err(err) => {
                    tracing::error!(conversation.id = %conversation_id, error = %err, "AI turn panicked")
                }
            }
            if !engines.turns.finish(conversation_id) {
                return;
            }
        }
    });
}

/// Sweeps for conversations whose pending messages have no live turn (an
/// instance died, or a database restart cut a turn short), every few seconds.
pub fn sweep(engines: Engines) {
    tokio::spawn(async move {
        loop {
            match stranded(&engines.system).await {
                Ok(ids) => {
                    for (workspace_id, id) in ids {
                        spawn(engines.clone(), workspace_id, id);
                    }
                }
                Err(err) => tracing::warn!(error = %err, "sweep for pending AI turns failed"),
            }
            tokio::time::sleep(SWEEP_EVERY).await;
        }
    });
}

/// Found across workspaces; each turn runs in its own.
async fn stranded(system: &System) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
    sqlx::query_as(
        "select c.workspace_id, c.conversation_id from conversation c
           left join answer_settings s using (workspace_id)
         where c.visitor_seq > c.ai_handled_seq and c.status in ('ai', 'waiting_human')
           and (c.status = 'ai' or coalesce(s.answer_while_waiting, true))
           and (c.turn_until is null or c.turn_until < now())
         order by c.updated_at limit 200",
    )
    .fetch_all(system.pool())
    .await
}

async fn claim_lease(
    engines: &Engines,
    workspace_id: Uuid,
    conversation_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query!(
        "update conversation set turn_owner = $2, turn_until = now() + make_interval(secs => $3)
         where conversation_id = $1
           and (turn_owner is null or turn_owner = $2 or turn_until < now())",
        conversation_id,
        engines.turns.instance_id,
        LEASE.as_secs_f64(),
    )
    .execute(engines.pool.ws(workspace_id))
    .await?;
    Ok(claimed.rows_affected() == 1)
}

async fn release_lease(
    engines: &Engines,
    workspace_id: Uuid,
    conversation_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update conversation set turn_owner = null, turn_until = null
         where conversation_id = $1 and turn_owner = $2",
        conversation_id,
        engines.turns.instance_id,
    )
    .execute(engines.pool.ws(workspace_id))
    .await?;
    Ok(())
}

/// Aborts its task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Deals with the conversation's pending messages while holding its lease.
#[tracing::instrument(skip(engines), fields(conversation.id = %conversation_id))]
pub async fn run(
    engines: &Engines,
    workspace_id: Uuid,
    conversation_id: Uuid,
) -> Result<(), TurnError> {
    loop {
        if !claim_lease(engines, workspace_id, conversation_id).await? {
            // Another instance has it; the sweep covers it if that one dies.
            return Ok(());
        }
        // Renewed while the work goes on; stopped however the work ends (a
        // panic included), so a lease never outlives its turn.
        let renewal = AbortOnDrop(tokio::spawn({
            let engines = engines.clone();
            async move {
                let mut every = tokio::time::interval(RENEW);
                every.tick().await;
                loop {
                    every.tick().await;
                    match claim_lease(&engines, workspace_id, conversation_id).await {
                        Ok(true) => {}
                        // Another instance took it over (this one was too slow
                        // to renew): whatever this turn writes is not stored.
                        Ok(false) => tracing::warn!("the AI turn's lease was lost"),
                        Err(err) => {
                            tracing::warn!(error = %err, "could not renew the AI turn's lease")
                        }
                    }
                }
            }
        }));
        let worked = work(engines, workspace_id, conversation_id).await;
        drop(renewal);
        release_lease(engines, workspace_id, conversation_id).await?;
        worked?;
        // A message stored while the lease was being released is caught here:
        // its sender's own attempt found the lease still held.
        if matches!(
            readiness(engines, workspace_id, conversation_id).await?,
            Ready::Nothing
        ) {
            return Ok(());
        }
    }
}

/// What the turn should do next.
enum Ready {
    /// Nothing for the AI to do.
    Nothing,
    /// Not yet (debounce, or an agent is typing): look again after this.
    Wait(Duration),
    Go,
}

#[derive(sqlx::FromRow)]
struct Readiness {
    status: String,
    pending: bool,
    answer_while_waiting: bool,
    first_at: Option<DateTime<Utc>>,
    last_at: Option<DateTime<Utc>>,
    visitor_typing: bool,
    agent_typing: bool,
    now: DateTime<Utc>,
}

async fn readiness(
    engines: &Engines,
    workspace_id: Uuid,
    conversation_id: Uuid,
) -> Result<Ready, sqlx::Error> {
    let r = sqlx::query_as::<_, Readiness>(
        "select c.status, c.visitor_seq > c.ai_handled_seq as pending,
                coalesce(s.answer_while_waiting, true) as answer_while_waiting,
                p.first_at, p.last_at,
                exists(select 1 from typing t where t.conversation_id = c.conversation_id
                         and t.party = 'visitor' and t.until > now()) as visitor_typing,
                exists(select 1 from typing t where t.conversation_id = c.conversation_id
                         and t.party <> 'visitor' and t.until > now()) as agent_typing,
                now() as now
         from conversation c
           left join answer_settings s using (workspace_id)
           left join lateral (
             select min(e.created_at) as first_at, max(e.created_at) as last_at from event e
             where e.conversation_id = c.conversation_id and e.kind = 'visitor_message'
               and e.seq > c.ai_handled_seq) p on true
         where c.conversation_id = $1",
    )
    .bind(conversation_id)
    .fetch_one(engines.pool.ws(workspace_id))
    .await?;
    let status = ConversationStatus::parse(&r.status).unwrap_or(ConversationStatus::Ai);
    let allowed = match status {
        ConversationStatus::Ai => true,
        ConversationStatus::WaitingHuman => r.answer_while_waiting,
        ConversationStatus::Open | ConversationStatus::Resolved => false,
    };
    let (Some(first_at), Some(last_at)) = (r.first_at, r.last_at) else {
        return Ok(Ready::Nothing);
    };
    if !r.pending || !allowed {
        return Ok(Ready::Nothing);
    }
    if r.agent_typing {
        // Human priority: hold while a person is writing.
        return Ok(Ready::Wait(Duration::from_millis(500)));
    }
    let since = |t: DateTime<Utc>| (r.now - t).to_std().unwrap_or_default();
    let (quiet, waited) = (since(last_at), since(first_at));
    let max_wait = engines.turns.max_wait();
    if waited >= max_wait {
        return Ok(Ready::Go);
    }
    if r.visitor_typing {
        return Ok(Ready::Wait(
            (max_wait - waited).min(Duration::from_millis(300)),
        ));
    }
    if quiet >= engines.turns.quiet {
        Ok(Ready::Go)
    } else {
        Ok(Ready::Wait(engines.turns.quiet - quiet))
    }
}

/// Answers (or hands off) until nothing is pending.
async fn work(
    engines: &Engines,
    workspace_id: Uuid,
    conversation_id: Uuid,
) -> Result<(), TurnError> {
    let mut wakes = engines.hub.conversation(conversation_id);
    loop {
        match readiness(engines, workspace_id, conversation_id).await? {
            Ready::Nothing => return Ok(()),
            Ready::Wait(wait) => {
                // A wake-up (typing stopped, a message) re-evaluates sooner.
                let _ = tokio::time::timeout(wait, wakes.recv()).await;
                continue;
            }
            Ready::Go => {}
        }
        // Bounded concurrency keeps turns from exhausting the connection pool.
        let _slot = engines
            .turn_slots
            .acquire()
            .await
            .expect("the semaphore is never closed");
        match step(engines, workspace_id, conversation_id).await? {
            Ended::Stored => {}
            // Another instance holds the lease now: it answers.
            Ended::Stopped(Stop::LeaseLost) => return Ok(()),
            Ended::Stopped(why) => tracing::debug!(?why, "AI turn step stopped"),
        }
    }
}

/// The visitor's messages the AI has not dealt with yet.
struct Pending {
    /// The AI had dealt with every message up to this seq when they were read.
    from: i64,
    /// The last one's seq.
    upto: i64,
    texts: Vec<String>,
    /// How long ago the first one was sent.
    waited: Duration,
}

async fn pending(
    engines: &Engines,
    workspace_id: Uuid,
    conversation_id: Uuid,
) -> Result<Pending, sqlx::Error> {
    // One statement, one snapshot: the messages are those after `from`.
    #[derive(sqlx::FromRow)]
    struct Row {
        handled: i64,
        seq: Option<i64>,
        text: Option<String>,
        age: Option<f64>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "select c.ai_handled_seq as handled, e.seq, e.payload->>'text' as text,
                extract(epoch from now() - e.created_at)::float8 as age
         from conversation c left join event e on e.conversation_id = c.conversation_id
           and e.kind = 'visitor_message' and e.seq > c.ai_handled_seq
         where c.conversation_id = $1
         order by e.seq",
    )
    .bind(conversation_id)
    .fetch_all(engines.pool.ws(workspace_id))
    .await?;
    let from = rows.first().map_or(0, |r| r.handled);
    let rows: Vec<(i64, String, f64)> = rows
        .into_iter()
        .filter_map(|r| Some((r.seq?, r.text.unwrap_or_default(), r.age?)))
        .collect();
    Ok(Pending {
        from,
        upto: rows.last().map_or(0, |(seq, _, _)| *seq),
        waited: Duration::from_secs_f64(rows.first().map_or(0.0, |(_, _, age)| age.max(0.0))),
        texts: rows.into_iter().map(|(_, text, _)| text).collect(),
    })
}

async fn mark_handled(
    conn: &mut sqlx::PgConnection,
    conversation_id: Uuid,
    upto: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update conversation set ai_handled_seq = greatest(ai_handled_seq, $2) where conversation_id = $1",
        conversation_id,
        upto,
    )
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes this turn's draft, if it is still there (and wakes the sockets).
async fn drop_draft(
    conn: &mut sqlx::PgConnection,
    workspace_id: Uuid,
    conversation_id: Uuid,
    turn_id: Uuid,
) -> Result<(), sqlx::Error> {
    let removed = sqlx::query!(
        "delete from ai_draft where conversation_id = $1 and turn_id = $2",
        conversation_id,
        turn_id,
    )
    .execute(&mut *conn)
    .await?;
    if removed.rows_affected() > 0 {
        store::notify(conn, Change::Draft, workspace_id, conversation_id).await?;
    }
    Ok(())
}

/// The conversation's context for the policy.
#[derive(sqlx::FromRow)]
struct Context {
    workspace_id: Uuid,
    page_url: Option<String>,
    attributes: sqlx::types::Json<serde_json::Map<String, serde_json::Value>>,
}

/// Why a turn stopped before its answer was stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// A person claimed or resolved the conversation: drop everything.
    TakenOver,
    /// An agent is typing: hold until they stop (or claim).
    AgentTyping,
    /// The visitor wrote again (or started to) before the answer was stored:
    /// start over with every message (the draft shown so far is withdrawn).
    Superseded,
    /// Another instance holds the conversation's lease now (this one failed
    /// to renew it in time): that one answers.
    LeaseLost,
}

/// How a step ended.
#[derive(Debug)]
enum Ended {
    Stored,
    Stopped(Stop),
}

#[derive(sqlx::FromRow)]
struct Watch {
    status: String,
    visitor_seq: i64,
    agent_typing: bool,
    visitor_typing: bool,
}

/// Whether the turn must stop now, and why.
/// Why the turn must stop now, if it must. `may_restart`: a newer visitor
/// message (or typing) may still restart it (the burst has not waited its
/// longest: a visitor who keeps writing still gets answers).
async fn must_stop(
    db: InWorkspace<'_>,
    conversation_id: Uuid,
    upto: i64,
    may_restart: bool,
) -> Option<Stop> {
    let watch = sqlx::query_as::<_, Watch>(
        "select status, visitor_seq,
                exists(select 1 from typing t where t.conversation_id = c.conversation_id
                         and t.party <> 'visitor' and t.until > now()) as agent_typing,
                exists(select 1 from typing t where t.conversation_id = c.conversation_id
                         and t.party = 'visitor' and t.until > now()) as visitor_typing
         from conversation c where conversation_id = $1",
    )
    .bind(conversation_id)
    .fetch_one(db)
    .await
    .ok()?;
    if matches!(watch.status.as_str(), "open" | "resolved") {
        Some(Stop::TakenOver)
    } else if watch.agent_typing {
        Some(Stop::AgentTyping)
    } else if (watch.visitor_seq > upto || watch.visitor_typing) && may_restart {
        // More is coming: the burst gets one answer.
        Some(Stop::Superseded)
    } else {
        None
    }
}

/// The draft one turn is writing.
#[derive(Clone, Copy)]
struct Drafting {
    workspace_id: Uuid,
    conversation_id: Uuid,
    turn_id: Uuid,
    /// The last visitor message the turn answers.
    upto: i64,
    /// Until when a newer message (or typing) restarts the turn.
    restart_until: tokio::time::Instant,
}

/// Publishes the generator's pieces as the conversation's draft (read by
/// every instance's sockets), and watches for a reason to stop.
async fn forward_pieces(
    engines: Engines,
    drafting: Drafting,
    mut wakes: hub::Subscription,
    mut pieces: tokio::sync::mpsc::UnboundedReceiver<String>,
    stop: tokio::sync::oneshot::Sender<Stop>,
    // The generator's instructions, which no draft may repeat.
    instructions: Vec<String>,
) {
    let mut stop = Some(stop);
    let mut text = String::new();
    let mut published = 0;
    // What the visitor was shown: whole sentences, cleaned (no link, no
    // claim of an action; see `answer::guard`), only ever growing.
    let mut shown = String::new();
    let mut every = tokio::time::interval(DRAFT_EVERY);
    loop {
        tokio::select! {
            piece = pieces.recv() => match piece {
                Some(delta) if stop.is_some() => text.push_str(&delta),
                Some(_) => {}
                None => {
                    // The generator is done: the draft's last piece goes out
                    // before the answer is stored.
                    if stop.is_some() {
                        let cleaned = crate::answer::guard::draft(&text, &instructions);
                        if cleaned.len() > shown.len() && cleaned.starts_with(&shown) {
                            publish_draft(&engines, drafting, &cleaned).await;
                        }
                    }
                    return;
                }
            },
            _ = every.tick(), if text.len() > published && stop.is_some() => {
                let cleaned = crate::answer::guard::draft_view(&text, &instructions);
                if cleaned.len() > shown.len() && cleaned.starts_with(&shown) {
                    publish_draft(&engines, drafting, &cleaned).await;
                    shown = cleaned;
                }
                published = text.len();
            }
            signal = wakes.recv(), if stop.is_some() => {
                let relevant = match signal {
                    Signal::Changed { change, .. } => change != Change::Draft,
                    Signal::Resync => true,
                };
                if relevant {
                    let conversation_id = drafting.conversation_id;
                    // Until the answer is stored, more from the visitor (a
                    // message, or typing) restarts it with the whole burst:
                    // the draft so far is withdrawn.
                    let may_restart = tokio::time::Instant::now() < drafting.restart_until;
                    if let Some(why) = must_stop(engines.pool.ws(drafting.workspace_id), conversation_id, drafting.upto, may_restart).await {
                        if let Some(tell) = stop.take() {
                            let _ = tell.send(why);
                        }
                    }
                }
            }
        }
    }
}

/// Stores the draft so far and wakes the sockets (a failure only costs the
/// live view: the answer is stored whole at the end). Only while the
/// messages are still the AI's to answer: once a person has claimed or
/// resolved the conversation (in a committed transaction), no piece of the
/// draft reaches anyone, even before this turn hears of it.
async fn publish_draft(engines: &Engines, drafting: Drafting, text: &str) {
    let published = sqlx::query!(
        "with draft as (
           insert into ai_draft (conversation_id, turn_id, text)
           select $1, $2, $3 from conversation
            where conversation_id = $1 and status in ('ai', 'waiting_human')
              and ai_handled_seq < $6
           on conflict (conversation_id) do update
             set turn_id = excluded.turn_id, text = excluded.text, updated_at = now()
           returning 1
         ) select pg_notify($4, $5) from draft",
        drafting.conversation_id,
        drafting.turn_id,
        text,
        hub::CHANNEL,
        hub::payload(
            Change::Draft,
            drafting.workspace_id,
            drafting.conversation_id,
        ),
        drafting.upto,
    )
    .execute(engines.pool.ws(drafting.workspace_id))
    .await;
    if let Err(err) = published {
        tracing::warn!(error = %err, "could not publish the AI's draft");
    }
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
    sqlx::query!(
        "update conversation set
            tags = array(select distinct unnest(tags || $2::text[])),
            priority = coalesce($3, priority),
            team = coalesce($4, team)
         where conversation_id = $1",
        conversation_id,
        &effects.tags,
        effects.priority.map(|p| p.as_str()),
        effects.team.as_deref(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends a step that stops without an answer: the draft goes; the messages
/// count as dealt with only when a person took over.
async fn stopped(
    engines: &Engines,
    workspace_id: Uuid,
    conversation_id: Uuid,
    turn_id: Uuid,
    upto: i64,
    why: Stop,
) -> Result<Ended, TurnError> {
    tracing::info!(?why, "the AI's turn stopped before its answer was stored");
    let mut tx = engines.pool.ws(workspace_id).begin().await?;
    drop_draft(&mut tx, workspace_id, conversation_id, turn_id).await?;
    if why == Stop::TakenOver {
        mark_handled(&mut tx, conversation_id, upto).await?;
    }
    tx.commit().await?;
    Ok(Ended::Stopped(why))
}

/// One answer or handoff for what is pending. However it ends, the draft it
/// wrote does not outlive it.
async fn step(
    engines: &Engines,
    workspace_id: Uuid,
    conversation_id: Uuid,
) -> Result<Ended, TurnError> {
    let turn_id = Uuid::new_v4();
    let ended = answer_pending(engines, workspace_id, conversation_id, turn_id).await;
    if ended.is_err() {
        let cleared = sqlx::query!(
            "delete from ai_draft where conversation_id = $1 and turn_id = $2",
            conversation_id,
            turn_id,
        )
        .execute(engines.pool.ws(workspace_id))
        .await;
        if let Err(err) = cleared {
            tracing::warn!(error = %err, "could not remove a failed turn's draft");
        }
    }
    ended
}

/// Whether an unanswered message is met by saying the AI is unsure and
/// offering the team, rather than by a handoff: when only confidence (or
/// an answer that could not be grounded) stood in the way, the workspace
/// chose so, the conversation is still the AI's, and the AI's last turn
/// helped (a second miss in a row, or one after a thumbs-down, hands off).
fn offers_instead(
    policy: &app::types::policy::Policy,
    decision: &app::types::Decision,
    status: ConversationStatus,
    unhelpful_in_a_row: u32,
) -> bool {
    policy.unsure == app::types::policy::Unsure::Offer
        && status == ConversationStatus::Ai
        && unhelpful_in_a_row == 0
        && matches!(
            decision.handoff,
            Some(HandoffReason::LowConfidence { .. } | HandoffReason::NotGrounded)
        )
}

async fn answer_pending(
    engines: &Engines,
    workspace_id: Uuid,
    conversation_id: Uuid,
    turn_id: Uuid,
) -> Result<Ended, TurnError> {
    let Pending {
        from,
        upto,
        texts: pending,
        waited,
    } = pending(engines, workspace_id, conversation_id).await?;
    let context = sqlx::query_as::<_, Context>(
        "select c.workspace_id, c.page_url, v.attributes from conversation c
         join visitor v using (visitor_id) where c.conversation_id = $1",
    )
    .bind(conversation_id)
    .fetch_one(engines.pool.ws(workspace_id))
    .await?;
    debug_assert_eq!(workspace_id, context.workspace_id);
    if pending.is_empty() {
        return Ok(Ended::Stored);
    }
    // A burst is one question (its last few messages, if it was long).
    let question = pending
        .iter()
        .rev()
        .take(5)
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
    // What the visitor asked before this burst (within the hour): a
    // follow-up is read with it.
    let mut history: Vec<String> = sqlx::query_scalar(
        "select payload->>'text' from event
         where conversation_id = $1 and kind = 'visitor_message' and seq <= $2
           and created_at > now() - interval '1 hour'
         order by seq desc limit 3",
    )
    .bind(conversation_id)
    .bind(from)
    .fetch_all(engines.pool.ws(workspace_id))
    .await?;
    history.reverse();
    let message = Message {
        workspace_id,
        text: question.clone(),
        history,
        parts: if pending.len() > 1 {
            pending.clone()
        } else {
            Vec::new()
        },
        page_url: context.page_url,
        attributes: context.attributes.0,
        unhelpful_in_a_row: replay::unhelpful_in_a_row(
            engines.pool.ws(workspace_id),
            conversation_id,
        )
        .await?,
        at: Some(chrono::Utc::now()),
    };
    let last = Message {
        text: pending.last().cloned().unwrap_or_default(),
        ..message.clone()
    };

    // The answer goes out as a draft while the generator writes it, until
    // there is a reason to stop. The watch starts before the check below, so
    // no claim or typing can fall between the two.
    let (out, pieces) = tokio::sync::mpsc::unbounded_channel::<String>();
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<Stop>();
    let wakes = engines.hub.conversation(conversation_id);
    let generator = answer::generator(&policy.generator, &engines.outbound, TYPING_PACE);
    let forward = tokio::spawn(forward_pieces(
        engines.clone(),
        Drafting {
            workspace_id,
            conversation_id,
            turn_id,
            upto,
            restart_until: tokio::time::Instant::now()
                + engines.turns.max_wait().saturating_sub(waited),
        },
        wakes,
        pieces,
        stop_tx,
        generator.instructions(),
    ));
    // Something may have changed between the readiness check and the watch.
    let may_restart = waited < engines.turns.max_wait();
    let early = must_stop(
        engines.pool.ws(workspace_id),
        conversation_id,
        upto,
        may_restart,
    )
    .await;
    let response = match early {
        Some(why) => Err(why),
        None => tokio::select! {
            response = answer::respond_to_burst(
                &engines.pool,
                &engines.embedder,
                &policy,
                generator.as_ref(),
                &message,
                &last,
                &out,
            ) => Ok(response),
            Ok(why) = &mut stop_rx => Err(why),
        },
    };
    drop(out);
    // The forwarder has published its last piece before anything is stored.
    let _ = forward.await;
    let response = match response {
        Ok(response) => response?,
        Err(why) => {
            return stopped(engines, workspace_id, conversation_id, turn_id, upto, why).await
        }
    };
    let decision = response.decision;
    let vector = response.vector;

    let mut tx = engines.pool.ws(workspace_id).begin().await?;
    let conversation = store::lock(&mut tx, conversation_id).await?;
    // Checked again on the locked row: nothing can change it until commit.
    let agent_typing: bool = sqlx::query_scalar(
        "select exists(select 1 from typing where conversation_id = $1
                         and party <> 'visitor' and until > now())",
    )
    .bind(conversation_id)
    .fetch_one(&mut *tx)
    .await?;
    // Still this instance's turn, and nobody dealt with any message since it
    // read them (a lease that lapsed while this one wrote, taken over).
    let ours: bool = sqlx::query_scalar(
        "select turn_owner is not distinct from $2 and ai_handled_seq = $3
         from conversation where conversation_id = $1",
    )
    .bind(conversation_id)
    .bind(engines.turns.instance_id)
    .bind(from)
    .fetch_one(&mut *tx)
    .await?;
    let why = if matches!(
        conversation.status(),
        ConversationStatus::Open | ConversationStatus::Resolved
    ) {
        Some(Stop::TakenOver)
    } else if !ours {
        Some(Stop::LeaseLost)
    } else if agent_typing {
        Some(Stop::AgentTyping)
    } else {
        None
    };
    if let Some(why) = why {
        tx.rollback().await?;
        return stopped(engines, workspace_id, conversation_id, turn_id, upto, why).await;
    }
    apply(&mut tx, conversation_id, &response.effects).await?;
    drop_draft(&mut tx, workspace_id, conversation_id, turn_id).await?;
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
        None if offers_instead(
            &policy,
            &decision,
            conversation.status(),
            message.unhelpful_in_a_row,
        ) =>
        {
            // The workspace's choice: say so and offer the team; the
            // conversation stays with the AI and the visitor may rephrase.
            let body = EventBody::AiUnsure {
                decision: decision.clone(),
            };
            store::append(&mut tx, &conversation, None, &body).await?;
            None
        }
        None => {
            let reason = decision
                .handoff
                .clone()
                .expect("a decision without an answer has a reason");
            let escalated = assign::escalate(
                &mut tx,
                &conversation,
                None,
                reason.clone(),
                Some(decision.clone()),
            )
            .await?;
            if escalated.is_none() && conversation.status() == ConversationStatus::WaitingHuman {
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
        Some(replay::Turn {
            conversation_id,
            from,
            upto,
        }),
        &response.question,
        &decision,
        answer_seq,
        Some(&vector),
    )
    .await?;
    mark_handled(&mut tx, conversation_id, upto).await?;
    tx.commit().await?;
    Ok(Ended::Stored)
}
