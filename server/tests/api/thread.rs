//! One conversation over real sockets: answer, handoff, agent reply, resume.

use app::error::DeskError;
use app::types::inbox::ListFilter;
use app::types::{
    ClientMsg, ConversationStatus, EventBody, HandoffReason, Queue, RequestChannel, ServerMsg,
};
use sqlx::PgPool;
use tandem::db::Scope;
use uuid::Uuid;

use crate::helpers::desks::*;
use crate::helpers::{count_events, TestApp};

fn stored(msg: &ServerMsg) -> Option<EventBody> {
    match msg {
        ServerMsg::Event { event } => Some(event.body.clone()),
        _ => None,
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_conversation_from_question_to_human_reply(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let mut visitor = app.visitor(None, 0).await;
    let token = visitor.token.clone().expect("a new visitor gets a token");

    // The question is stored, then the answer streams and is stored once.
    visitor.ask("how long do refunds take?").await;
    let (question, _) = visitor.until(stored).await;
    assert!(
        matches!(question, EventBody::VisitorMessage { ref text } if text == "how long do refunds take?")
    );
    let (answer, before) = visitor
        .until(|m| stored(m).filter(|b| matches!(b, EventBody::AiAnswer { .. })))
        .await;
    let streamed: String = before
        .iter()
        .filter_map(|m| match m {
            ServerMsg::AiToken { delta, .. } => Some(delta.as_str()),
            _ => None,
        })
        .collect();
    let EventBody::AiAnswer {
        text,
        citations,
        decision,
    } = answer
    else {
        unreachable!()
    };
    assert_eq!(streamed, text, "the streamed tokens make the stored answer");
    assert!(text.contains("5 business days"), "answer: {text}");
    assert!(text.contains("[1]"));
    assert!(citations[0]
        .url
        .ends_with("/demo/refunds.html#refund-timing"));
    assert_eq!(citations[0].heading_path, "Refunds › Refund timing");
    // The visitor gets no decision record; the team's copy has the scores.
    assert!(decision.answered && decision.signals.is_none() && decision.retrieved.is_empty());
    let team = tandem::thread::store::events_after(
        pool.ws(app.workspace_id),
        visitor.conversation_id,
        0,
        10,
    )
    .await
    .unwrap();
    let recorded = team
        .iter()
        .find_map(|e| match &e.body {
            EventBody::AiAnswer { decision, .. } => Some(decision.clone()),
            _ => None,
        })
        .unwrap();
    assert!(recorded.answered && recorded.confidence >= recorded.threshold.unwrap());
    assert!(!recorded.retrieved.is_empty() && recorded.signals.is_some());
    // Every sentence of the answer is in a cited passage: nothing invented.
    for sentence in text
        .split('.')
        .map(|s| s.split(" [").next().unwrap().trim())
        .filter(|s| !s.is_empty())
    {
        assert!(
            citations.iter().any(|c| c.passage.contains(sentence)),
            "not grounded: {sentence}"
        );
    }

    // "Talk to the team" hands off with its reason.
    visitor
        .send(&ClientMsg::TalkToTeam {
            client_id: Uuid::new_v4(),
        })
        .await;
    let (handoff, _) = visitor.until(stored).await;
    assert_eq!(
        handoff,
        EventBody::StatusChange {
            status: ConversationStatus::WaitingHuman,
            reason: Some(HandoffReason::HumanRequested {
                via: RequestChannel::Button,
                matched: None
            }),
            agent_name: None,
            decision: None,
        }
    );

    // The agent sees it at the top of the inbox, with the thread.
    let agent = app.admin().await;
    let desk = &app.state.desk;
    let list = desk
        .conversations(
            &agent,
            ListFilter {
                queue: Queue::Waiting,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(list[0].conversation_id, visitor.conversation_id);
    assert_eq!(list[0].status, ConversationStatus::WaitingHuman);
    let view = desk
        .conversation(&agent, visitor.conversation_id)
        .await
        .unwrap();
    assert_eq!(
        view.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );

    // The agent's reply reaches the visitor live.
    let session = app.session().await;
    let mut inbox = app.agent_socket(&session, visitor.conversation_id, 3).await;
    inbox.reply("Your refund was issued today.").await;
    let (claimed, _) = visitor.until(stored).await;
    assert!(matches!(
        claimed,
        EventBody::StatusChange {
            status: ConversationStatus::Open,
            ..
        }
    ));
    let (human, _) = visitor.until(stored).await;
    assert!(
        matches!(human, EventBody::HumanReply { ref text, .. } if text == "Your refund was issued today.")
    );

    // Coming back with the token resumes the same thread after what it had.
    drop(visitor);
    let mut back = app.visitor(Some(&token), 3).await;
    let (first, _) = back
        .until(|m| match m {
            ServerMsg::Event { event } => Some(event.seq),
            _ => None,
        })
        .await;
    assert_eq!(first, 4, "resumes right after the last event it had");
    let mut fresh = app.visitor(Some(&token), 0).await;
    assert_eq!(fresh.conversation_id, back.conversation_id);
    let mut seqs = Vec::new();
    while seqs.len() < 5 {
        if let ServerMsg::Event { event } = fresh.next().await {
            seqs.push(event.seq);
        }
    }
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
}

#[sqlx::test(migrations = "../migrations")]
async fn asking_for_a_person_in_words_hands_off_without_an_answer(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let mut visitor = app.visitor(None, 0).await;
    visitor.ask("I want to talk to a person").await;
    let _question = visitor.until(stored).await;
    let (handoff, _) = visitor.until(stored).await;
    match handoff {
        EventBody::StatusChange {
            status: ConversationStatus::WaitingHuman,
            reason: Some(HandoffReason::HumanRequested { via, matched }),
            ..
        } => {
            assert_eq!(via, RequestChannel::Message);
            assert_eq!(matched, None, "the matched words stay with the team");
        }
        other => panic!("expected a handoff, got {other:?}"),
    }
    let team = tandem::thread::store::events_after(
        pool.ws(app.workspace_id),
        visitor.conversation_id,
        0,
        10,
    )
    .await
    .unwrap();
    assert!(
        matches!(&team.last().unwrap().body, EventBody::StatusChange { reason: Some(HandoffReason::HumanRequested { matched: Some(m), .. }), .. } if m == "I want to talk to a person")
    );
    let answers = count_events(&pool, "ai_answer").await;
    assert_eq!(answers, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_unanswerable_question_goes_to_the_team_with_its_scores(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let mut visitor = app.visitor(None, 0).await;
    visitor.ask("What is the capital of Mongolia?").await;
    let _question = visitor.until(stored).await;
    let (handoff, _) = visitor.until(stored).await;
    // The visitor learns that the AI was unsure, not the numbers.
    assert!(
        matches!(&handoff, EventBody::StatusChange { reason: Some(HandoffReason::LowConfidence { confidence, .. }), decision: None, .. } if confidence.value() == 0.0),
        "{handoff:?}"
    );
    let team = tandem::thread::store::events_after(
        pool.ws(app.workspace_id),
        visitor.conversation_id,
        0,
        10,
    )
    .await
    .unwrap();
    match team.last().unwrap().body.clone() {
        EventBody::StatusChange {
            status: ConversationStatus::WaitingHuman,
            reason:
                Some(HandoffReason::LowConfidence {
                    confidence,
                    threshold,
                }),
            decision: Some(decision),
            ..
        } => {
            assert!(confidence < threshold);
            assert!(!decision.answered);
            assert!(
                !decision.retrieved.is_empty(),
                "the passages it looked at are recorded"
            );
        }
        other => panic!("expected a low-confidence handoff, got {other:?}"),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn sending_is_idempotent_and_bad_input_is_refused_clearly(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let mut visitor = app.visitor(None, 0).await;
    let client_id = Uuid::new_v4();
    for _ in 0..2 {
        visitor
            .send(&ClientMsg::Send {
                client_id,
                text: "I want to talk to a person".into(),
            })
            .await;
    }
    visitor
        .send(&ClientMsg::Send {
            client_id,
            text: "something else".into(),
        })
        .await;
    let error = visitor.next_error().await;
    assert!(error.contains("already sent with this id"), "{error}");

    visitor.send_raw("{not json").await;
    let error = visitor.next_error().await;
    assert!(error.starts_with("Malformed message"), "{error}");
    visitor.ask(&"x".repeat(5000)).await;
    let error = visitor.next_error().await;
    assert!(error.contains("too long"), "{error}");
    // The socket still works after bad input.
    visitor.send(&ClientMsg::Ping).await;
    let (_, _) = visitor
        .until(|m| matches!(m, ServerMsg::Pong).then_some(()))
        .await;

    let messages = count_events(&pool, "visitor_message").await;
    assert_eq!(messages, 1, "the duplicate send stored nothing");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_ai_stays_quiet_once_an_agent_has_claimed(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let mut visitor = app.visitor(None, 0).await;
    visitor
        .send(&ClientMsg::TalkToTeam {
            client_id: Uuid::new_v4(),
        })
        .await;
    let _ = visitor.until(stored).await;
    let session = app.session().await;
    let mut inbox = app.agent_socket(&session, visitor.conversation_id, 0).await;
    inbox.reply("Hi, I'm here.").await;
    visitor.ask("how long do refunds take?").await;
    // Run the AI's turn to completion: it must not answer.
    tandem::turn::run(
        &app.state.engines,
        app.workspace_id,
        visitor.conversation_id,
    )
    .await
    .unwrap();
    let answers = count_events(&pool, "ai_answer").await;
    assert_eq!(answers, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn agents_see_only_their_workspace_and_need_a_session(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let mut visitor = app.visitor(None, 0).await;
    visitor.ask("I want to talk to a person").await;
    let _ = visitor.until(stored).await;

    let (_, token) = app
        .other_workspace("other", "eve@other.example", "agent")
        .await;
    let desk = &app.state.desk;
    let eve = desk.signed_in(&token).await.unwrap();
    for queue in Queue::ALL {
        assert!(desk
            .conversations(
                &eve,
                ListFilter {
                    queue,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .is_empty());
    }
    assert_eq!(
        desk.conversation(&eve, visitor.conversation_id)
            .await
            .unwrap_err(),
        DeskError::NotFound
    );
    // Nor can Eve open its socket, nor does her list socket hear of it.
    let refused = tokio_tungstenite::connect_async({
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!(
            "ws://{}/ws/inbox?conversation={}",
            app.addr, visitor.conversation_id
        )
        .into_client_request()
        .unwrap();
        request
            .headers_mut()
            .insert("cookie", format!("tandem_session={token}").parse().unwrap());
        request
    })
    .await;
    assert!(refused.is_err(), "another workspace's conversation socket");
    let mut eves_lists = app.inbox_socket(&token, None).await;
    let counts = eves_lists
        .until(|m| match m {
            ServerMsg::Counts { counts } => Some(*counts),
            _ => None,
        })
        .await
        .0;
    assert_eq!(counts, app::types::QueueCounts::default());
    visitor.ask("still there?").await;
    let _ = visitor.until(stored).await;
    assert_eq!(
        eves_lists
            .quiet_for(std::time::Duration::from_millis(500))
            .await,
        None,
        "another workspace's changes never reach Eve"
    );
    assert_eq!(
        desk.login("eve@other.example", "wrong", None)
            .await
            .unwrap_err(),
        DeskError::BadCredentials
    );
    assert_eq!(
        desk.signed_in("not-a-session").await.unwrap_err(),
        DeskError::NotSignedIn
    );

    // The inbox socket refuses anonymous and cross-site connections.
    let anonymous = tokio_tungstenite::connect_async(format!("ws://{}/ws/inbox", app.addr)).await;
    assert!(anonymous.is_err());
}

#[sqlx::test(migrations = "../migrations")]
async fn a_reconnect_in_the_middle_of_a_streamed_answer_loses_nothing(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let mut visitor = app.visitor(None, 0).await;
    let token = visitor.token.clone().unwrap();
    visitor.ask("how long do refunds take?").await;
    let (question_seq, _) = visitor
        .until(|m| match m {
            ServerMsg::Event { event } => Some(event.seq),
            _ => None,
        })
        .await;
    // The answer starts streaming; the connection drops.
    visitor.until_the_ai_writes().await;
    drop(visitor);

    let mut back = app.visitor(Some(&token), question_seq).await;
    let (event, before) = back
        .until(|m| match m {
            ServerMsg::Event { event } => Some(event.clone()),
            _ => None,
        })
        .await;
    assert_eq!(event.seq, question_seq + 1, "no gap, no repeat");
    let EventBody::AiAnswer { text, .. } = &event.body else {
        panic!("expected the answer, got {event:?}");
    };
    assert!(text.contains("5 business days"));
    // What it gets of the draft after reconnecting starts from the beginning
    // (offset 0) and continues without a hole: a prefix of the answer.
    let mut draft = String::new();
    for msg in &before {
        if let ServerMsg::AiToken { offset, delta, .. } = msg {
            if *offset == 0 {
                draft.clear();
            }
            assert_eq!(*offset, draft.len());
            draft.push_str(delta);
        }
    }
    assert!(
        text.starts_with(&draft),
        "{draft:?} is not how {text:?} starts"
    );
    assert_eq!(count_events(&pool, "ai_answer").await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn two_instances_on_one_database_behave_as_one(pool: PgPool) {
    let a = TestApp::spawn(pool.clone()).await;
    let b = TestApp::spawn(pool.clone()).await;
    let session = a
        .state
        .desk
        .login(
            tandem::demo::ADMIN_EMAIL,
            crate::helpers::ADMIN_PASSWORD,
            None,
        )
        .await
        .unwrap();
    let mut inbox = a.inbox_socket(&session, None).await;

    // A visitor talks to instance B; the agent on instance A hears of it
    // live: the row, then the counts.
    let mut visitor = b.visitor(None, 0).await;
    visitor.ask("I want to talk to a person").await;
    let (changed, _) = inbox
        .until(|m| match m {
            ServerMsg::ConversationChanged { summary }
                if summary.status == ConversationStatus::WaitingHuman =>
            {
                Some(summary.clone())
            }
            _ => None,
        })
        .await;
    assert_eq!(changed.conversation_id, visitor.conversation_id);
    assert_eq!(changed.last_message, "I want to talk to a person");
    let (counts, _) = inbox
        .until(|m| match m {
            ServerMsg::Counts { counts } if counts.waiting_human == 1 => Some(*counts),
            _ => None,
        })
        .await;
    assert_eq!((counts.open, counts.ai), (1, 0));

    // A conversation socket on A receives B's events in order, then the
    // agent's reply (written through A) reaches the visitor on B.
    let mut thread = a
        .inbox_socket(&session, Some(visitor.conversation_id))
        .await;
    let mut seqs = Vec::new();
    while seqs.len() < 2 {
        if let ServerMsg::Event { event } = thread.next().await {
            seqs.push(event.seq);
        }
    }
    assert_eq!(seqs, vec![1, 2]);
    thread.reply("Hello from A").await;
    let (reply, _) = visitor
        .until(|m| stored(m).filter(|b| matches!(b, EventBody::HumanReply { .. })))
        .await;
    assert!(matches!(reply, EventBody::HumanReply { ref text, .. } if text == "Hello from A"));

    // Without a session, or from another site, the inbox socket is refused.
    let anonymous = tokio_tungstenite::connect_async(format!("ws://{}/ws/inbox", a.addr)).await;
    assert!(anonymous.is_err());
    {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://{}/ws/inbox", a.addr)
            .into_client_request()
            .unwrap();
        let headers = request.headers_mut();
        headers.insert(
            "cookie",
            format!("tandem_session={session}").parse().unwrap(),
        );
        headers.insert("origin", "http://evil.example".parse().unwrap());
        assert!(tokio_tungstenite::connect_async(request).await.is_err());
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_message_sent_while_the_ai_is_answering_is_not_lost(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let mut visitor = app.visitor(None, 0).await;
    visitor.ask("how long do refunds take?").await;
    visitor.until_the_ai_writes().await;
    visitor.ask("Do you ship to the United States?").await;
    let (second, _) = visitor
        .until(|m| match m {
            ServerMsg::Event { event } if matches!(&event.body, EventBody::VisitorMessage { text } if text.contains("United States")) => Some(event.seq),
            _ => None,
        })
        .await;
    // The first answer is stored after the second question; then the second
    // question gets its own answer (before the fix it was never dealt with).
    let (answers, _) = visitor
        .until(|m| match m {
            ServerMsg::Event { event } if event.seq > second => match &event.body {
                EventBody::AiAnswer { text, .. } if text.contains("United States") => {
                    Some(event.seq)
                }
                _ => None,
            },
            _ => None,
        })
        .await;
    assert!(answers > second);
    let handled: i64 =
        sqlx::query_scalar("select ai_handled_seq from conversation where conversation_id = $1")
            .bind(visitor.conversation_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(handled, second);
}
