//! The live thread's protocol over real sockets: acknowledgements and
//! resends, read receipts, debouncing, the human-priority lock, typing,
//! drafts across instances, lost wake-ups, dead peers and oversize frames.

use std::time::Duration;
use tandem::db::Scope;

use app::types::{ClientMsg, ConversationStatus, EventBody, ServerMsg, ThreadEvent, Typist};
use futures::SinkExt;
use sqlx::PgPool;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::helpers::desks::*;
use crate::helpers::{count_events, Client, Options, TestApp};

fn send(text: &str) -> (Uuid, ClientMsg) {
    let client_id = Uuid::new_v4();
    (
        client_id,
        ClientMsg::Send {
            client_id,
            text: text.into(),
        },
    )
}

fn claim() -> ClientMsg {
    ClientMsg::Claim {
        client_id: Uuid::new_v4(),
    }
}

async fn scalar(pool: &PgPool, sql: &str, id: Uuid) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Every message the client gets within `wait`.
async fn collect_for(client: &mut Client, wait: Duration) -> Vec<ServerMsg> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Some(msg) = client
        .quiet_for(deadline.saturating_duration_since(tokio::time::Instant::now()))
        .await
    {
        got.push(msg);
    }
    got
}

fn is_ai_output(msg: &ServerMsg) -> bool {
    matches!(
        msg,
        ServerMsg::AiToken { .. }
            | ServerMsg::Event {
                event: ThreadEvent {
                    body: EventBody::AiAnswer { .. },
                    ..
                }
            }
    )
}

#[sqlx::test(migrations = "../migrations")]
async fn resends_are_acknowledged_with_the_first_seq_and_stored_once(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let mut visitor = app.visitor(None, 0).await;
    let token = visitor.token.clone().unwrap();
    let conversation = visitor.conversation_id;
    let session = app.session().await;
    let mut agent = app.agent_socket(&session, conversation, 0).await;
    // A person has it, so the AI stays out of the way.
    assert_eq!(agent.act(claim()).await, Ok(Some(1)));

    let sends: Vec<(Uuid, ClientMsg)> = ["A", "B", "C"].iter().map(|t| send(t)).collect();
    for (_, msg) in &sends {
        visitor.send(msg).await;
    }
    let mut acks = Vec::new();
    while acks.len() < 3 {
        if let ServerMsg::Ack { client_id, seq } = visitor.next().await {
            acks.push((client_id, seq.unwrap()));
        }
    }
    let ids: Vec<Uuid> = sends.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        acks,
        vec![(ids[0], 2), (ids[1], 3), (ids[2], 4)],
        "acknowledged in order, with their seqs"
    );

    // The connection drops before the client saw the acks; it resends what
    // it had, out of order. Each resend is acknowledged with its first seq.
    drop(visitor);
    let mut back = app.visitor(Some(&token), 1).await;
    assert_eq!(back.act(sends[2].1.clone()).await, Ok(Some(4)));
    assert_eq!(back.act(sends[0].1.clone()).await, Ok(Some(2)));
    // The same id with another text is refused, and says which message.
    let reused = back
        .act(ClientMsg::Send {
            client_id: ids[0],
            text: "something else".into(),
        })
        .await;
    assert!(
        reused
            .as_ref()
            .unwrap_err()
            .contains("already sent with this id"),
        "{reused:?}"
    );

    // The log has each message once, in the order first sent; the agent got
    // each event exactly once, in order.
    let log = tandem::thread::store::events_after(pool.ws(app.workspace_id), conversation, 0, 100)
        .await
        .unwrap();
    let texts: Vec<String> = log
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::VisitorMessage { text } => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(texts, vec!["A", "B", "C"]);
    assert_eq!(log.len(), 4);
    let mut seqs = Vec::new();
    while seqs.len() < 4 {
        seqs.push(agent.next_event().await.seq);
    }
    assert_eq!(seqs, vec![1, 2, 3, 4]);
    let late = collect_for(&mut agent, Duration::from_millis(400)).await;
    assert!(
        !late.iter().any(|m| matches!(m, ServerMsg::Event { .. })),
        "nothing twice: {late:?}"
    );

    // Read receipts only move forward: a late, older one changes nothing,
    // and one past the end counts as the end.
    back.send(&ClientMsg::Seen { seq: 3 }).await;
    back.send(&ClientMsg::Seen { seq: 2 }).await;
    back.send(&ClientMsg::Seen { seq: 99 }).await;
    back.send(&ClientMsg::Ping).await;
    back.until(|m| matches!(m, ServerMsg::Pong).then_some(()))
        .await;
    let seen: Vec<i64> = collect_for(&mut agent, Duration::from_millis(600))
        .await
        .into_iter()
        .filter_map(|m| match m {
            ServerMsg::VisitorSeen { seq, .. } => Some(seq),
            _ => None,
        })
        .collect();
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]) && seen.last() == Some(&4),
        "the agent sees the visitor's position move forward to the end: {seen:?}"
    );
    let stored = scalar(
        &pool,
        "select seq from seen where conversation_id = $1 and party = 'visitor'",
        conversation,
    )
    .await;
    assert_eq!(stored, 4);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_burst_of_five_messages_gets_one_ai_turn(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let mut visitor = app.visitor(None, 0).await;
    let burst = [
        "hi",
        "I bought a Nimbus lamp last month",
        "it arrived fine",
        "but I changed my mind",
        "how long do refunds take?",
    ];
    for text in burst {
        visitor.ask(text).await;
    }
    let mut questions = Vec::new();
    let reply = loop {
        let event = visitor.next_event().await;
        match event.body {
            EventBody::VisitorMessage { .. } => questions.push(event.seq),
            _ => break event,
        }
    };
    assert_eq!(questions, vec![1, 2, 3, 4, 5]);
    assert_eq!(reply.seq, 6, "one reply after the whole burst");
    assert!(
        matches!(&reply.body, EventBody::AiAnswer { text, .. } if text.contains("5 business days")),
        "the burst was read as one question: {reply:?}"
    );
    let more = collect_for(&mut visitor, Duration::from_millis(1500)).await;
    assert!(
        !more.iter().any(|m| matches!(m, ServerMsg::Event { .. })),
        "{more:?}"
    );
    let conversation = visitor.conversation_id;
    let decisions = scalar(
        &pool,
        "select count(*) from decision where conversation_id = $1",
        conversation,
    )
    .await;
    assert_eq!(decisions, 1, "one AI turn");
    let handled = scalar(
        &pool,
        "select ai_handled_seq from conversation where conversation_id = $1",
        conversation,
    )
    .await;
    assert_eq!(handled, 5);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_agent_claiming_while_the_ai_writes_stops_it_and_nothing_half_said_is_kept(
    pool: PgPool,
) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let mut visitor = app.visitor(None, 0).await;
    // The agent is there first (signing in takes a while), watching.
    let session = app.session().await;
    let mut agent = app.agent_socket(&session, visitor.conversation_id, 0).await;
    visitor.ask("how long do refunds take?").await;
    let question = visitor.next_event().await.seq;
    let (first, _) = visitor
        .until(|m| match m {
            ServerMsg::AiToken { offset, .. } => Some(*offset),
            _ => None,
        })
        .await;
    assert_eq!(first, 0, "a draft starts at offset 0");
    let claimed = agent.act(claim()).await.unwrap().unwrap();

    // The visitor sees the agent join and the draft go; nothing more from the AI.
    let (_, before) = visitor
        .until(|m| match m {
            ServerMsg::Event { event } if event.seq == claimed => Some(()),
            _ => None,
        })
        .await;
    assert!(!before.iter().any(|m| matches!(
        m,
        ServerMsg::Event {
            event: ThreadEvent {
                body: EventBody::AiAnswer { .. },
                ..
            }
        }
    )));
    let after = collect_for(&mut visitor, Duration::from_millis(1500)).await;
    let dropped = before
        .iter()
        .chain(&after)
        .any(|m| matches!(m, ServerMsg::DraftDropped { .. }));
    assert!(dropped, "the visitor is told the draft is gone");
    assert!(!after.iter().any(is_ai_output), "the AI stopped: {after:?}");
    assert_eq!(count_events(&pool, "ai_answer").await, 0);
    let conversation = visitor.conversation_id;
    let drafts = scalar(
        &pool,
        "select count(*) from ai_draft where conversation_id = $1",
        conversation,
    )
    .await;
    assert_eq!(drafts, 0);
    let handled = scalar(
        &pool,
        "select ai_handled_seq from conversation where conversation_id = $1",
        conversation,
    )
    .await;
    assert_eq!(handled, question, "the person has the question now");
}

#[sqlx::test(migrations = "../migrations")]
async fn an_agent_typing_holds_the_ai_until_they_stop(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let mut visitor = app.visitor(None, 0).await;
    let session = app.session().await;
    let mut agent = app.agent_socket(&session, visitor.conversation_id, 0).await;
    agent.send(&ClientMsg::Typing { typing: true }).await;
    let (typists, _) = visitor
        .until(|m| match m {
            ServerMsg::Typing { typists, .. } => Some(typists.clone()),
            _ => None,
        })
        .await;
    assert!(
        matches!(&typists[..], [Typist::Agent { name, .. }] if name == tandem::demo::ADMIN_NAME)
    );

    visitor.ask("how long do refunds take?").await;
    let held = collect_for(&mut visitor, Duration::from_millis(2000)).await;
    assert!(
        !held.iter().any(is_ai_output),
        "the AI waits while a person types: {held:?}"
    );
    agent.send(&ClientMsg::Typing { typing: false }).await;
    let (answer, _) = visitor
        .until(|m| match m {
            ServerMsg::Event { event } if matches!(event.body, EventBody::AiAnswer { .. }) => {
                Some(event.clone())
            }
            _ => None,
        })
        .await;
    assert_eq!(answer.seq, 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_ai_answers_while_the_visitor_waits_only_if_the_workspace_wants_it(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let talk = || ClientMsg::TalkToTeam {
        client_id: Uuid::new_v4(),
    };

    // By default it keeps answering, as the AI.
    let mut visitor = app.visitor(None, 0).await;
    assert_eq!(visitor.act(talk()).await, Ok(Some(1)));
    visitor.ask("how long do refunds take?").await;
    let (answer, _) = visitor
        .until(|m| match m {
            ServerMsg::Event { event } if matches!(event.body, EventBody::AiAnswer { .. }) => {
                Some(event.seq)
            }
            _ => None,
        })
        .await;
    assert_eq!(answer, 3);

    // Switched off, the visitor's follow-up waits for the person.
    let admin = app.admin().await;
    let desk = &app.state.desk;
    let mut policy = desk.policy(&admin).await.unwrap();
    policy.answer_while_waiting = false;
    desk.save_policy(&admin, policy).await.unwrap();
    let mut other = app.visitor(None, 0).await;
    assert_eq!(other.act(talk()).await, Ok(Some(1)));
    other.ask("how long do refunds take?").await;
    let quiet = collect_for(&mut other, Duration::from_millis(2000)).await;
    assert!(!quiet.iter().any(is_ai_output), "{quiet:?}");
    let status: String =
        sqlx::query_scalar("select status from conversation where conversation_id = $1")
            .bind(other.conversation_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, ConversationStatus::WaitingHuman.as_str());
}

#[sqlx::test(migrations = "../migrations")]
async fn typing_reaches_the_other_instance_and_ends_with_the_socket(pool: PgPool) {
    let a = TestApp::spawn(pool.clone()).await;
    let b = TestApp::spawn(pool.clone()).await;
    let visitor_on_b = b.visitor(None, 0).await;
    let session = a.session().await;
    let mut agent_on_a = a
        .agent_socket(&session, visitor_on_b.conversation_id, 0)
        .await;
    let mut visitor = visitor_on_b;
    visitor.send(&ClientMsg::Typing { typing: true }).await;
    let (typists, _) = agent_on_a
        .until(|m| match m {
            ServerMsg::Typing { typists, .. } => Some(typists.clone()),
            _ => None,
        })
        .await;
    assert_eq!(typists, vec![Typist::Visitor]);
    // Repeats only extend it: nothing new to say.
    visitor.send(&ClientMsg::Typing { typing: true }).await;
    assert_eq!(agent_on_a.quiet_for(Duration::from_millis(400)).await, None);
    drop(visitor);
    let (typists, _) = agent_on_a
        .until(|m| match m {
            ServerMsg::Typing { typists, .. } => Some(typists.clone()),
            _ => None,
        })
        .await;
    assert!(typists.is_empty(), "a visitor who left is not typing");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_ai_draft_streams_to_every_instance(pool: PgPool) {
    let a = TestApp::spawn_trained(pool.clone()).await;
    let b = TestApp::spawn(pool.clone()).await;
    let session = a.session().await;
    let mut visitor = b.visitor(None, 0).await;
    let mut agent_on_a = a.agent_socket(&session, visitor.conversation_id, 0).await;
    visitor.ask("how long do refunds take?").await;
    let (answer, before) = agent_on_a
        .until(|m| match m {
            ServerMsg::Event { event } => match &event.body {
                EventBody::AiAnswer { text, .. } => Some(text.clone()),
                _ => None,
            },
            _ => None,
        })
        .await;
    let mut draft = String::new();
    for msg in &before {
        if let ServerMsg::AiToken { offset, delta, .. } = msg {
            assert_eq!(*offset, draft.len(), "pieces continue each other");
            draft.push_str(delta);
        }
    }
    assert!(!draft.is_empty(), "the agent on A watched B's AI write");
    assert_eq!(draft, answer, "the draft became the answer");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_lost_notification_connection_loses_nothing(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let mut visitor = app.visitor(None, 0).await;
    let session = app.session().await;
    let mut lists = app.inbox_socket(&session, None).await;
    let mut agent = app.agent_socket(&session, visitor.conversation_id, 0).await;
    assert_eq!(agent.act(claim()).await, Ok(Some(1)));
    assert_eq!(visitor.next_event().await.seq, 1);

    // The instance's LISTEN connection is cut (a restart, a network blip);
    // what is stored meanwhile still reaches everyone.
    let cut: Vec<bool> = sqlx::query_scalar(
        "select pg_terminate_backend(pid) from pg_stat_activity
         where datname = current_database() and query ilike 'listen%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(cut, vec![true], "one listener per instance");
    let reply = agent.reply("Stored while the listener was down").await;
    let event = visitor.next_event().await;
    assert_eq!(event.seq, reply);
    // The lists are told to fetch again, since changes may have been missed.
    lists
        .until(|m| matches!(m, ServerMsg::Refresh).then_some(()))
        .await;
    // And it is live again afterwards.
    let next = agent.reply("And after").await;
    assert_eq!(visitor.next_event().await.seq, next);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_silent_client_is_disconnected_and_a_live_one_is_not(pool: PgPool) {
    let app = TestApp::spawn_with(
        pool,
        Options {
            heartbeat: Duration::from_millis(100),
            ..Options::default()
        },
    )
    .await;
    let mut silent = app.visitor(None, 0).await;
    let mut live = app.visitor(None, 0).await;
    // `live` reads (and so answers pings); `silent` does not read at all.
    assert_eq!(live.quiet_for(Duration::from_millis(800)).await, None);
    live.send(&ClientMsg::Ping).await;
    live.until(|m| matches!(m, ServerMsg::Pong).then_some(()))
        .await;
    assert!(
        silent.closed_within(Duration::from_secs(5)).await,
        "the server closed the silent socket"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn an_oversize_frame_closes_that_socket_only(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let mut big = app.visitor(None, 0).await;
    let mut other = app.visitor(None, 0).await;
    let frame = format!(
        r#"{{"type":"send","client_id":"{}","text":"{}"}}"#,
        Uuid::new_v4(),
        "x".repeat(100 * 1024)
    );
    let _ = big.socket.send(Message::Text(frame.into())).await;
    assert!(
        big.closed_within(Duration::from_secs(5)).await,
        "the oversize socket is closed"
    );
    other.send(&ClientMsg::Ping).await;
    other
        .until(|m| matches!(m, ServerMsg::Pong).then_some(()))
        .await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_turn_that_lost_its_lease_stores_nothing_and_the_next_holder_answers_once(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let mut visitor = app.visitor(None, 0).await;
    visitor.ask("how long do refunds take?").await;
    visitor.until_the_ai_writes().await;
    // While the AI writes, another instance takes the lease over, as when
    // this one failed to renew it in time.
    let conversation = visitor.conversation_id;
    sqlx::query(
        "update conversation set turn_owner = $2, turn_until = now() + interval '2 seconds'
         where conversation_id = $1",
    )
    .bind(conversation)
    .bind(Uuid::new_v4())
    .execute(&pool)
    .await
    .unwrap();
    // The writer stores nothing; once the taken lease lapses, a sweep answers.
    let (answer, before) = visitor
        .until(|m| match m {
            ServerMsg::Event { event } if matches!(event.body, EventBody::AiAnswer { .. }) => {
                Some(event.seq)
            }
            _ => None,
        })
        .await;
    assert_eq!(answer, 2);
    assert!(
        before
            .iter()
            .any(|m| matches!(m, ServerMsg::DraftDropped { .. })),
        "the first writer's draft was dropped: {before:?}"
    );
    let after = collect_for(&mut visitor, Duration::from_millis(1500)).await;
    assert!(!after.iter().any(is_ai_output), "{after:?}");
    assert_eq!(count_events(&pool, "ai_answer").await, 1);
    let decisions = scalar(
        &pool,
        "select count(*) from decision where conversation_id = $1",
        conversation,
    )
    .await;
    assert_eq!(decisions, 1);
}
