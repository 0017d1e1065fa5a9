//! The agent inbox: the collision guard, assignment (by hand and
//! round-robin), handing back, reopening, the maximum wait, filters and
//! search, suggested replies, accounts (throttled sign-in, invitations,
//! password change, several workspaces) and email follow-up over SMTP.

use std::time::Duration;
use tandem::db::System;

use app::error::DeskError;
use app::types::inbox::{InboxSettings, ListFilter};
use app::types::{ClientMsg, ConversationStatus, EventBody, HandoffReason, Queue, ServerMsg};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::desks::*;
use crate::helpers::{shown_token, Client, Options, TestApp, ADMIN_PASSWORD, TEAMMATE_PASSWORD};
use crate::smtp::Smtp;

fn stored(msg: &ServerMsg) -> Option<()> {
    matches!(msg, ServerMsg::Ack { seq: Some(_), .. }).then_some(())
}

/// A visitor who asked for a person (the conversation waits for the team).
async fn escalated(app: &TestApp) -> Client {
    let mut visitor = app.visitor(None, 0).await;
    visitor
        .act(ClientMsg::TalkToTeam {
            client_id: Uuid::new_v4(),
        })
        .await
        .expect("handed to the team");
    visitor
}

/// A second agent of the demo workspace; returns (account, session).
async fn status_of(pool: &PgPool, id: Uuid) -> (String, Option<Uuid>) {
    sqlx::query_as("select status, assignee_id from conversation where conversation_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn only(queue: Queue) -> ListFilter {
    ListFilter {
        queue,
        ..Default::default()
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_second_agent_sees_who_is_here_and_must_take_over_to_reply(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let visitor = escalated(&app).await;
    let id = visitor.conversation_id;
    let admin = app.session().await;
    let mut alex = app.agent_socket(&admin, id, 0).await;
    alex.act(ClientMsg::Claim {
        client_id: Uuid::new_v4(),
    })
    .await
    .unwrap();
    let (sam_id, sam_session) = app.teammate("Sam", "agent").await;
    let mut sam = app.agent_socket(&sam_session, id, 0).await;
    // Each sees the other among the viewers.
    let (names, _) = sam
        .until(|m| match m {
            ServerMsg::Viewers { agents, .. } if !agents.is_empty() => Some(agents.clone()),
            _ => None,
        })
        .await;
    assert!(
        matches!(&names[..], [app::types::Typist::Agent { name, .. }] if name == "Alex (demo admin)")
    );
    let (names, _) = alex
        .until(|m| match m {
            ServerMsg::Viewers { agents, .. } if !agents.is_empty() => Some(agents.clone()),
            _ => None,
        })
        .await;
    assert!(
        matches!(&names[..], [app::types::Typist::Agent { account_id, .. }] if *account_id == sam_id)
    );

    // Sam cannot reply into Alex's conversation, nor claim it.
    let refused = sam
        .act(ClientMsg::Send {
            client_id: Uuid::new_v4(),
            text: "I'll help".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        "Alex (demo admin) has this conversation. Take it over to reply."
    );
    assert!(sam
        .act(ClientMsg::Claim {
            client_id: Uuid::new_v4()
        })
        .await
        .is_err());
    assert_eq!(crate::helpers::count_events(&pool, "human_reply").await, 0);
    // A private note is fine.
    sam.act(ClientMsg::Note {
        client_id: Uuid::new_v4(),
        text: "I know this customer".into(),
    })
    .await
    .unwrap();
    // Taking over is explicit; then Sam replies and Alex is the one refused.
    sam.act(ClientMsg::TakeOver {
        client_id: Uuid::new_v4(),
    })
    .await
    .unwrap();
    assert_eq!(status_of(&pool, id).await, ("open".into(), Some(sam_id)));
    sam.reply("Sam here, I have it.").await;
    assert!(alex
        .act(ClientMsg::Send {
            client_id: Uuid::new_v4(),
            text: "me too".into()
        })
        .await
        .unwrap_err()
        .starts_with("Sam has this conversation"));
    // Sam leaves: Alex sees nobody else.
    drop(sam);
    alex.until(|m| match m {
        ServerMsg::Viewers { agents, .. } if agents.is_empty() => Some(()),
        _ => None,
    })
    .await;
}

#[sqlx::test(migrations = "../migrations")]
async fn assigning_handing_back_and_a_visitor_reopening(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let desk = &app.state.desk;
    let admin = app.admin().await;
    desk.add_team(&admin, "Billing").await.unwrap();
    let mut visitor = escalated(&app).await;
    let id = visitor.conversation_id;
    let (sam_id, sam_session) = app.teammate("Sam", "agent").await;
    let sam = desk.signed_in(&sam_session).await.unwrap();
    let session = app.session().await;
    let mut alex = app.agent_socket(&session, id, 0).await;

    // To Sam and the billing team: still waiting, in Sam's "mine".
    let seq = alex
        .act(ClientMsg::Assign {
            client_id: Uuid::new_v4(),
            agent: Some(sam_id),
            team: Some("billing".into()),
        })
        .await
        .unwrap();
    assert!(seq.is_some());
    assert_eq!(
        status_of(&pool, id).await,
        ("waiting_human".into(), Some(sam_id))
    );
    let mine = desk.conversations(&sam, only(Queue::Mine)).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].team.as_deref(), Some("Billing"));
    let event = alex
        .until(|m| match m {
            ServerMsg::Event { event } if matches!(event.body, EventBody::Assigned { .. }) => {
                Some(event.body.clone())
            }
            _ => None,
        })
        .await
        .0;
    assert_eq!(
        event,
        EventBody::Assigned {
            by: "Alex (demo admin)".into(),
            agent: Some("Sam".into()),
            team: Some("Billing".into()),
        }
    );
    // The visitor never sees assignments.
    assert!(visitor
        .quiet_for(Duration::from_millis(300))
        .await
        .is_none_or(|m| !matches!(m, ServerMsg::Event { event } if matches!(event.body, EventBody::Assigned { .. }))));
    // Nobody and no team, an unknown agent, a resolved conversation.
    assert!(alex
        .act(ClientMsg::Assign {
            client_id: Uuid::new_v4(),
            agent: Some(Uuid::new_v4()),
            team: None
        })
        .await
        .unwrap_err()
        .contains("No such agent"));
    assert!(alex
        .act(ClientMsg::Assign {
            client_id: Uuid::new_v4(),
            agent: None,
            team: Some("Nope".into())
        })
        .await
        .unwrap_err()
        .contains("no team"));
    alex.act(ClientMsg::Assign {
        client_id: Uuid::new_v4(),
        agent: None,
        team: None,
    })
    .await
    .unwrap();
    assert_eq!(status_of(&pool, id).await, ("waiting_human".into(), None));

    // Handed back to the AI: it answers the visitor's next message.
    alex.act(ClientMsg::HandBack {
        client_id: Uuid::new_v4(),
    })
    .await
    .unwrap();
    assert_eq!(status_of(&pool, id).await.0, "ai");
    // The AI's conversation is read-only until taken over.
    assert_eq!(
        alex.act(ClientMsg::Send {
            client_id: Uuid::new_v4(),
            text: "me?".into()
        })
        .await
        .unwrap_err(),
        "The AI is handling this conversation. Take it over to reply."
    );
    let asked = visitor
        .act(ClientMsg::Send {
            client_id: Uuid::new_v4(),
            text: "what are your opening hours?".into(),
        })
        .await
        .unwrap()
        .unwrap();
    // The AI deals with it: an answer, or a handoff of its own.
    visitor
        .until(|m| match m {
            ServerMsg::Event { event }
                if event.seq > asked
                    && matches!(
                        event.body,
                        EventBody::AiAnswer { .. }
                            | EventBody::StatusChange {
                                status: ConversationStatus::WaitingHuman,
                                ..
                            }
                    ) =>
            {
                Some(())
            }
            _ => None,
        })
        .await;

    // Resolved, then the visitor writes again: back to the queue, not the bot.
    alex.act(ClientMsg::Resolve {
        client_id: Uuid::new_v4(),
    })
    .await
    .unwrap();
    visitor.ask("one more thing").await;
    visitor
        .until(|m| match m {
            ServerMsg::Event { event } => match &event.body {
                EventBody::StatusChange {
                    status: ConversationStatus::WaitingHuman,
                    reason: Some(HandoffReason::Reopened),
                    ..
                } => Some(()),
                _ => None,
            },
            _ => None,
        })
        .await;
    let waiting = desk
        .conversations(&admin, only(Queue::Waiting))
        .await
        .unwrap();
    assert_eq!(waiting[0].conversation_id, id);
    let reopened = desk
        .conversations(
            &admin,
            ListFilter {
                reason: Some("reopened".into()),
                ..only(Queue::Waiting)
            },
        )
        .await
        .unwrap();
    assert_eq!(reopened.len(), 1);

    // A workspace that wants the bot back gets it.
    desk.save_inbox_settings(
        &admin,
        InboxSettings {
            reopen_to_ai: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    alex.act(ClientMsg::Resolve {
        client_id: Uuid::new_v4(),
    })
    .await
    .unwrap();
    let asked = visitor
        .act(ClientMsg::Send {
            client_id: Uuid::new_v4(),
            text: "and another".into(),
        })
        .await
        .unwrap()
        .unwrap();
    let next: String = sqlx::query_scalar(
        "select payload->>'status' from event where conversation_id = $1
           and kind = 'status_change' and seq > $2 order by seq limit 1",
    )
    .bind(id)
    .bind(asked)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(next, "ai", "back to the AI, not the queue");
}

/// Marks an agent's inbox as open now (presence).
async fn online(pool: &PgPool, account: Uuid) {
    sqlx::query("update membership set last_seen_at = now(), away = false where account_id = $1")
        .bind(account)
        .execute(pool)
        .await
        .unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn automatic_assignment_is_round_robin_within_caps_teams_and_presence(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let desk = &app.state.desk;
    let admin = app.admin().await;
    desk.save_inbox_settings(
        &admin,
        InboxSettings {
            auto_assign: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (sam, _) = app.teammate("Sam", "agent").await;
    let (kim, _) = app.teammate("Kim", "agent").await;
    desk.save_member(&admin, kim, "agent", Vec::new(), Some(1))
        .await
        .unwrap();
    online(&pool, sam).await;
    online(&pool, kim).await;
    // The admin is offline: never picked.
    let mut assigned = Vec::new();
    for _ in 0..3 {
        let visitor = escalated(&app).await;
        assigned.push(status_of(&pool, visitor.conversation_id).await.1);
    }
    // Sam and Kim in turn; Kim is at her cap of one, so Sam again.
    assert_eq!(assigned[..2].iter().filter(|a| **a == Some(sam)).count(), 1);
    assert_eq!(assigned[..2].iter().filter(|a| **a == Some(kim)).count(), 1);
    assert_eq!(assigned[2], Some(sam));
    // Away: skipped; nobody available: it waits unassigned.
    tandem::thread::presence::set_away(&pool, sam, app.workspace_id, true)
        .await
        .unwrap();
    let visitor = escalated(&app).await;
    assert_eq!(status_of(&pool, visitor.conversation_id).await.1, None);

    // A conversation routed to a team goes to its members only.
    desk.add_team(&admin, "Billing").await.unwrap();
    desk.save_member(&admin, kim, "agent", vec!["Billing".into()], Some(5))
        .await
        .unwrap();
    tandem::thread::presence::set_away(&pool, sam, app.workspace_id, false)
        .await
        .unwrap();
    let visitor = app.visitor(None, 0).await;
    sqlx::query("update conversation set team = 'Billing' where conversation_id = $1")
        .bind(visitor.conversation_id)
        .execute(&pool)
        .await
        .unwrap();
    let mut visitor = visitor;
    visitor
        .act(ClientMsg::TalkToTeam {
            client_id: Uuid::new_v4(),
        })
        .await
        .unwrap();
    assert_eq!(status_of(&pool, visitor.conversation_id).await.1, Some(kim));
    let directory = desk.directory(&admin).await.unwrap();
    let kim_row = directory
        .members
        .iter()
        .find(|m| m.account_id == kim)
        .unwrap();
    assert_eq!(kim_row.assigned, 2);
    assert_eq!(kim_row.teams, vec!["Billing".to_owned()]);
    assert_eq!(kim_row.presence, app::types::inbox::Presence::Online);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_visitor_waiting_past_the_maximum_is_told_once_and_stays_queued(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let mut visitor = escalated(&app).await;
    let id = visitor.conversation_id;
    assert_eq!(
        tandem::thread::waits::notify_overdue(&pool, &System(pool.clone()))
            .await
            .unwrap(),
        0
    );
    sqlx::query("update conversation set escalated_at = now() - interval '11 minutes' where conversation_id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        tandem::thread::waits::notify_overdue(&pool, &System(pool.clone()))
            .await
            .unwrap(),
        1
    );
    let minutes = visitor
        .until(|m| match m {
            ServerMsg::Event { event } => match event.body {
                EventBody::WaitNotice { minutes } => Some(minutes),
                _ => None,
            },
            _ => None,
        })
        .await
        .0;
    assert_eq!(minutes, 10);
    assert_eq!(
        tandem::thread::waits::notify_overdue(&pool, &System(pool.clone()))
            .await
            .unwrap(),
        0
    );
    assert_eq!(status_of(&pool, id).await.0, "waiting_human");
}

#[sqlx::test(migrations = "../migrations")]
async fn lists_filter_by_reason_tag_and_team_and_search_whole_threads(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let desk = &app.state.desk;
    let admin = app.admin().await;
    let mut button = escalated(&app).await;
    button.ask("hello?").await;
    let _ = button.until(stored).await;
    let mut words = app.visitor(None, 0).await;
    words
        .ask("My invoice 50%_off is wrong. I want to talk to a person")
        .await;
    words
        .until(|m| match m {
            ServerMsg::Event { event } if matches!(event.body, EventBody::StatusChange { .. }) => {
                Some(())
            }
            _ => None,
        })
        .await;
    desk.add_team(&admin, "Billing").await.unwrap();
    assert_eq!(
        desk.set_tags(
            &admin,
            words.conversation_id,
            vec![" VIP ".into(), "invoice".into(), "vip".into()]
        )
        .await
        .unwrap(),
        vec!["invoice".to_owned(), "vip".to_owned()]
    );
    assert!(desk
        .set_tags(&admin, words.conversation_id, vec!["a,b".into()])
        .await
        .is_err());
    let session = app.session().await;
    let mut alex = app.agent_socket(&session, button.conversation_id, 0).await;
    alex.act(ClientMsg::Assign {
        client_id: Uuid::new_v4(),
        agent: None,
        team: Some("Billing".into()),
    })
    .await
    .unwrap();
    alex.act(ClientMsg::Note {
        client_id: Uuid::new_v4(),
        text: "Customer mentioned a chargeback".into(),
    })
    .await
    .unwrap();

    let ids = |list: Vec<app::types::ConversationSummary>| {
        list.into_iter()
            .map(|c| c.conversation_id)
            .collect::<Vec<_>>()
    };
    let open = only(Queue::Open);
    let find = |filter: ListFilter| desk.conversations(&admin, filter);
    assert_eq!(ids(find(open.clone()).await.unwrap()).len(), 2);
    assert_eq!(
        ids(find(ListFilter {
            tag: Some("vip".into()),
            ..open.clone()
        })
        .await
        .unwrap()),
        vec![words.conversation_id]
    );
    assert_eq!(
        ids(find(ListFilter {
            team: Some("billing".into()),
            ..open.clone()
        })
        .await
        .unwrap()),
        vec![button.conversation_id]
    );
    assert_eq!(
        ids(find(ListFilter {
            reason: Some("asked for a person".into()),
            ..open.clone()
        })
        .await
        .unwrap())
        .len(),
        2
    );
    assert!(find(ListFilter {
        reason: Some("sensitive".into()),
        ..open.clone()
    })
    .await
    .unwrap()
    .is_empty());
    assert!(find(ListFilter {
        reason: Some("made up".into()),
        ..open.clone()
    })
    .await
    .is_err());
    // Search: the visitor's words (percent and underscore taken literally),
    // a private note, nothing.
    assert_eq!(
        ids(find(ListFilter {
            search: Some("50%_OFF".into()),
            ..open.clone()
        })
        .await
        .unwrap()),
        vec![words.conversation_id]
    );
    assert!(find(ListFilter {
        search: Some("50%x".into()),
        ..open.clone()
    })
    .await
    .unwrap()
    .is_empty());
    assert_eq!(
        ids(find(ListFilter {
            search: Some("chargeback".into()),
            ..open.clone()
        })
        .await
        .unwrap()),
        vec![button.conversation_id]
    );
    let rows = find(open.clone()).await.unwrap();
    assert!(rows.iter().all(|r| r.unread), "the admin has read neither");
    alex.send(&ClientMsg::Seen { seq: 100 }).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rows = find(open).await.unwrap();
    let read = rows
        .iter()
        .find(|r| r.conversation_id == button.conversation_id)
        .unwrap();
    assert!(!read.unread);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_suggested_reply_is_written_from_the_knowledge_with_sources(pool: PgPool) {
    let app = TestApp::spawn_trained(pool.clone()).await;
    let desk = &app.state.desk;
    let admin = app.admin().await;
    let mut visitor = escalated(&app).await;
    visitor.ask("How long do refunds take?").await;
    let _ = visitor.until(stored).await;
    let suggestion = desk
        .suggest_reply(&admin, visitor.conversation_id)
        .await
        .unwrap();
    assert_eq!(suggestion.question, "How long do refunds take?");
    assert!(!suggestion.text.is_empty());
    assert!(
        suggestion
            .citations
            .iter()
            .any(|c| c.url.contains("refunds")),
        "{suggestion:?}"
    );
    let reply = app::types::inbox::reply_from_suggestion(&suggestion);
    assert!(reply.contains("](http"), "{reply}");
    // Nothing was sent: a suggestion is the agent's to edit.
    assert_eq!(crate::helpers::count_events(&pool, "human_reply").await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn sign_in_is_throttled_per_guesser_not_per_account(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let desk = &app.state.desk;
    let email = tandem::demo::ADMIN_EMAIL;
    let here: std::net::IpAddr = "203.0.113.7".parse().unwrap();
    for _ in 0..tandem::auth::FAILURES_PER_EMAIL {
        assert_eq!(
            desk.login(email, "wrong", Some(here)).await.unwrap_err(),
            DeskError::BadCredentials
        );
    }
    // Even the right password waits now, from the guesser's address; the
    // owner, from their own, is not locked out.
    assert_eq!(
        desk.login(email, ADMIN_PASSWORD, Some(here))
            .await
            .unwrap_err(),
        DeskError::TooManyAttempts
    );
    // Any spelling the account lookup folds alike waits alike (Rust and
    // PostgreSQL lower-case İ differently).
    for spelling in ["Admin@NIMBUS.example", "admİn@nimbus.example"] {
        assert!(
            desk.login(spelling, ADMIN_PASSWORD, Some(here))
                .await
                .is_err(),
            "{spelling}"
        );
    }
    let owners: std::net::IpAddr = "192.0.2.10".parse().unwrap();
    assert!(desk
        .login(email, ADMIN_PASSWORD, Some(owners))
        .await
        .is_ok());
    let (_, _) = app.teammate("Sam", "agent").await;
    // Many emails from one address: that address waits too.
    for i in 0..tandem::auth::FAILURES_PER_ADDRESS {
        let _ = desk
            .login(&format!("guess{i}@x.example"), "wrong", Some(here))
            .await;
    }
    assert_eq!(
        desk.login("sam@nimbus.example", TEAMMATE_PASSWORD, Some(here))
            .await
            .unwrap_err(),
        DeskError::TooManyAttempts
    );
    assert!(desk
        .login(
            "sam@nimbus.example",
            TEAMMATE_PASSWORD,
            Some("198.51.100.1".parse().unwrap())
        )
        .await
        .is_ok());
    // The window passes.
    sqlx::query("update login_failure set at = at - interval '16 minutes'")
        .execute(&pool)
        .await
        .unwrap();
    assert!(desk.login(email, ADMIN_PASSWORD, Some(here)).await.is_ok());
}

#[sqlx::test(migrations = "../migrations")]
async fn invitations_passwords_and_several_workspaces(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let desk = &app.state.desk;
    let admin = app.admin().await;
    let token = shown_token(
        desk.invite(&admin, "sam@nimbus.example", "agent")
            .await
            .unwrap(),
    );
    let view = desk.invitation(&token).await.unwrap();
    assert_eq!(view.email, "sam@nimbus.example");
    assert_eq!(view.workspace_name, tandem::demo::WORKSPACE_NAME);
    assert!(desk
        .accept_invitation(&token, "Sam", "short")
        .await
        .is_err());
    let session = desk
        .accept_invitation(&token, "Sam", "sam-password-1")
        .await
        .unwrap();
    let sam = desk.signed_in(&session).await.unwrap();
    assert_eq!(sam.profile.role, app::types::Role::Agent);
    assert_eq!(sam.workspace_id, app.workspace_id);
    // Used once; an invitation for a member is refused.
    assert!(desk
        .accept_invitation(&token, "Sam", "sam-password-1")
        .await
        .is_err());
    assert!(desk
        .invite(&admin, "SAM@nimbus.example", "agent")
        .await
        .is_err());
    assert!(desk.invite(&admin, "x@y.example", "owner").await.is_err());

    // Password change: the current one is checked; other sessions end.
    let other_session = desk
        .login("sam@nimbus.example", "sam-password-1", None)
        .await
        .unwrap();
    assert!(desk
        .change_password(&sam, &session, "wrong-password", "sam-password-2", None)
        .await
        .is_err());
    desk.change_password(&sam, &session, "sam-password-1", "sam-password-2", None)
        .await
        .unwrap();
    assert!(desk.signed_in(&session).await.is_ok());
    assert_eq!(
        desk.signed_in(&other_session).await.unwrap_err(),
        DeskError::NotSignedIn
    );
    assert!(desk
        .login("sam@nimbus.example", "sam-password-2", None)
        .await
        .is_ok());

    // Sam is invited to a second workspace too, with his existing account.
    let (other, eve_session) = app
        .other_workspace("acme", "eve@acme.example", "admin")
        .await;
    let eve = app::desk::Admin::check(desk.signed_in(&eve_session).await.unwrap()).unwrap();
    let token = shown_token(
        desk.invite(&eve, "sam@nimbus.example", "admin")
            .await
            .unwrap(),
    );
    let token = token.as_str();
    assert!(desk
        .accept_invitation(token, "Sam", "not-his-password")
        .await
        .is_err());
    let acme_session = desk
        .accept_invitation(token, "Sam", "sam-password-2")
        .await
        .unwrap();
    let in_acme = desk.signed_in(&acme_session).await.unwrap();
    assert_eq!(
        (in_acme.workspace_id, in_acme.profile.role.as_str()),
        (other, "admin")
    );
    let choices = desk.workspaces(&in_acme).await.unwrap();
    assert_eq!(choices.len(), 2);
    // His first session still looks at the demo; he switches it.
    assert_eq!(
        desk.signed_in(&session).await.unwrap().workspace_id,
        app.workspace_id
    );
    desk.switch_workspace(&session, other).await.unwrap();
    assert_eq!(desk.signed_in(&session).await.unwrap().workspace_id, other);
    // Not to a workspace he is not in.
    assert_eq!(
        desk.switch_workspace(&eve_session, app.workspace_id)
            .await
            .unwrap_err(),
        DeskError::NotFound
    );
    // Removed from the demo: his sessions there end, his conversations return.
    desk.remove_member(&admin, sam.profile.account_id)
        .await
        .unwrap();
    assert_eq!(
        desk.signed_in(&session).await.unwrap_err(),
        DeskError::NotSignedIn,
        "every session of a removed member ends"
    );
    assert!(desk
        .remove_member(&admin, admin.profile.account_id)
        .await
        .is_err());
}

#[sqlx::test(migrations = "../migrations")]
async fn another_workspace_gets_nothing_through_any_desk_call_or_socket(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let desk = &app.state.desk;
    let admin = app.admin().await;
    let visitor = escalated(&app).await;
    let id = visitor.conversation_id;
    desk.add_team(&admin, "Billing").await.unwrap();
    let canned = desk
        .save_canned(&admin, None, "hello", "Hello there!")
        .await
        .unwrap();
    let (_, eve_session) = app
        .other_workspace("acme", "eve@acme.example", "admin")
        .await;
    let eve = app::desk::Admin::check(desk.signed_in(&eve_session).await.unwrap()).unwrap();

    assert_eq!(
        desk.conversation(&eve, id).await.unwrap_err(),
        DeskError::NotFound
    );
    assert_eq!(
        desk.set_tags(&eve, id, vec!["x".into()]).await.unwrap_err(),
        DeskError::NotFound
    );
    assert_eq!(
        desk.suggest_reply(&eve, id).await.unwrap_err(),
        DeskError::NotFound
    );
    for queue in Queue::ALL {
        assert!(desk
            .conversations(&eve, only(queue))
            .await
            .unwrap()
            .is_empty());
    }
    let directory = desk.directory(&eve).await.unwrap();
    assert_eq!(directory.members.len(), 1);
    assert!(directory.teams.is_empty() && directory.canned.is_empty() && directory.tags.is_empty());
    let team = desk.team_admin(&eve).await.unwrap();
    assert_eq!(team.directory.members.len(), 1);
    assert_eq!(
        desk.save_member(&eve, admin.profile.account_id, "agent", Vec::new(), None)
            .await
            .unwrap_err(),
        DeskError::NotFound
    );
    assert_eq!(
        desk.remove_member(&eve, admin.profile.account_id)
            .await
            .unwrap_err(),
        DeskError::NotFound
    );
    // Another workspace's canned reply and team are out of reach.
    desk.delete_canned(&eve, canned).await.unwrap();
    desk.delete_team(&eve, "Billing").await.unwrap();
    // ... missing, as an id that exists nowhere is (no 500 to tell them apart).
    for id in [canned, Uuid::new_v4()] {
        assert_eq!(
            desk.save_canned(&eve, Some(id), "mine", "Stolen")
                .await
                .unwrap_err(),
            DeskError::NotFound
        );
    }
    let ours = desk.directory(&admin).await.unwrap();
    let kept = ours.canned.iter().find(|c| c.canned_id == canned).unwrap();
    assert_eq!(kept.body, "Hello there!");
    assert_eq!(ours.teams, vec!["Billing".to_owned()]);
    // Eve's team cannot be given a demo conversation, nor a demo agent hers.
    let session = app.session().await;
    let mut alex = app.agent_socket(&session, id, 0).await;
    let eve_id = eve.profile.account_id;
    assert!(alex
        .act(ClientMsg::Assign {
            client_id: Uuid::new_v4(),
            agent: Some(eve_id),
            team: None
        })
        .await
        .unwrap_err()
        .contains("No such agent"));
    // Her socket cannot open the conversation.
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{}/ws/inbox?conversation={id}", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "cookie",
        format!("tandem_session={eve_session}").parse().unwrap(),
    );
    assert!(tokio_tungstenite::connect_async(request).await.is_err());
}

/// Every server function, called over HTTP as nobody, as an agent and as
/// an admin of another workspace: the session and the role are checked on
/// every call. The table must name every registered server function.
#[sqlx::test(migrations = "../migrations")]
async fn every_server_function_checks_the_session_and_the_role(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let visitor = escalated(&app).await;
    let id = visitor.conversation_id;
    let (_, agent_session) = app.teammate("Sam", "agent").await;
    let nil = Uuid::nil();
    // (name, body, JSON?, who may call: "public", "agent" or "admin")
    let form = crate::helpers::form;
    let policy = serde_json::to_string(&app::types::policy::Policy {
        threshold: app::types::Confidence::new(0.4).unwrap(),
        categories: Vec::new(),
        rules: Vec::new(),
        generator: app::types::policy::GeneratorSettings::Builtin,
        support_hours: None,
        answer_while_waiting: true,
        human_request: Default::default(),
        handoff_target: None,
        calibration: None,
        unsure: Default::default(),
    })
    .unwrap();
    let look = serde_json::to_string(&app::types::widget::WidgetLook {
        brand_color: "#123456".into(),
        position: Default::default(),
        greeting: String::new(),
        launcher_text: String::new(),
        language: None,
        allowed_origins: Vec::new(),
    })
    .unwrap();
    let table: Vec<(&str, String, bool, &str)> = vec![
        ("login", form(&[("email", "x@y.example".into()), ("password", "nope".into())]), false, "public"),
        ("logout", String::new(), false, "public"),
        ("me", String::new(), false, "agent"),
        ("change_password", form(&[("current", "a".into()), ("new", "b".into())]), false, "agent"),
        ("my_workspaces", String::new(), false, "agent"),
        ("switch_workspace", form(&[("workspace_id", nil.to_string())]), false, "agent"),
        ("get_invitation", form(&[("token", "nope".into())]), false, "public"),
        ("accept_invitation", form(&[("token", "nope".into()), ("name", "X".into()), ("password", "long-enough-1".into())]), false, "public"),
        ("list_conversations", form(&[("filter[queue]", "waiting".into())]), false, "agent"),
        ("get_conversation", form(&[("id", id.to_string())]), false, "agent"),
        ("get_directory", String::new(), false, "agent"),
        ("set_tags", form(&[("id", id.to_string()), ("tags[0]", "x".into())]), false, "agent"),
        ("suggest_reply", form(&[("id", id.to_string())]), false, "agent"),
        ("get_team_admin", String::new(), false, "admin"),
        ("invite_member", form(&[("email", "new@y.example".into()), ("role", "agent".into())]), false, "admin"),
        ("revoke_invitation", form(&[("invitation_id", nil.to_string())]), false, "admin"),
        ("save_member", format!(r#"{{"account_id":"{nil}","role":"agent","teams":[],"max_open":null}}"#), true, "admin"),
        ("remove_member", form(&[("account_id", nil.to_string())]), false, "admin"),
        ("add_team", form(&[("name", "T".into())]), false, "admin"),
        ("delete_team", form(&[("name", "T".into())]), false, "admin"),
        ("save_canned", form(&[("shortcut", "hi".into()), ("body", "Hi".into())]), false, "admin"),
        ("delete_canned", form(&[("id", nil.to_string())]), false, "admin"),
        ("save_inbox_settings", r#"{"settings":{"reopen_to_ai":false,"auto_assign":false,"max_wait_minutes":10,"remind_after_minutes":15}}"#.into(), true, "admin"),
        ("list_sources", String::new(), false, "admin"),
        ("model_move", String::new(), false, "admin"),
        ("get_source", form(&[("id", nil.to_string())]), false, "admin"),
        ("add_website", form(&[("website[url]", "https://example.com".into()), ("website[extra_prefixes]", String::new()), ("website[max_pages]", String::new()), ("website[max_depth]", String::new()), ("website[recrawl_hours]", String::new())]), false, "admin"),
        ("recrawl_source", form(&[("id", nil.to_string())]), false, "admin"),
        ("cancel_source", form(&[("id", nil.to_string())]), false, "admin"),
        ("delete_source", form(&[("id", nil.to_string())]), false, "admin"),
        ("list_snippets", String::new(), false, "admin"),
        ("save_snippet", form(&[("question", "q?".into()), ("answer", "a".into())]), false, "admin"),
        ("delete_snippet", form(&[("id", nil.to_string())]), false, "admin"),
        ("get_policy", String::new(), false, "admin"),
        ("save_policy", format!(r#"{{"policy":{policy}}}"#), true, "admin"),
        ("replay_policy", format!(r#"{{"policy":{policy}}}"#), true, "admin"),
        ("get_widget_admin", String::new(), false, "admin"),
        ("save_widget", format!(r#"{{"look":{look}}}"#), true, "admin"),
        ("rotate_identity_secret", String::new(), false, "admin"),
        ("load_review", form(&[("days", "30".into())]), false, "admin"),
        ("load_topic", form(&[("key", nil.to_string()), ("days", "30".into())]), false, "admin"),
        ("write_topic_snippet", form(&[("key", nil.to_string()), ("days", "30".into()), ("question", "q?".into()), ("answer", "a".into())]), false, "admin"),
        ("recrawl_topic_source", form(&[("key", nil.to_string()), ("days", "30".into()), ("source_id", nil.to_string())]), false, "admin"),
        ("mark_always_a_person", form(&[("key", nil.to_string()), ("days", "30".into())]), false, "admin"),
        ("retest_topic", form(&[("key", nil.to_string()), ("days", "30".into())]), false, "admin"),
        ("load_dashboard", form(&[("days", "30".into())]), false, "admin"),
        ("load_privacy", String::new(), false, "admin"),
        ("save_retention", form(&[("days", "30".into())]), false, "admin"),
        ("erase_visitor", form(&[("id", id.to_string())]), false, "admin"),
        ("fetch_widget_settings", form(&[("workspace", "demo".into())]), false, "public"),
        ("fetch_expectation", form(&[("workspace", "demo".into())]), false, "public"),
        ("get_install_state", form(&[("code", "nope".into())]), false, "public"),
        ("complete_setup", crate::setup::setup_form("nope", "x@y.example"), false, "public"),
        ("create_workspace", form(&[("workspace[name]", "Another".into())]), false, "admin"),
    ];
    let registered = crate::helpers::server_functions();
    for (name, _) in &registered {
        assert!(
            table.iter().any(|(n, ..)| n == name),
            "server function {name} is missing from the permission table"
        );
    }
    let mut calls = 0;
    for (name, body, json, who) in &table {
        if *who == "public" {
            continue;
        }
        let (_, anonymous) = app
            .call_server_fn(&registered, name, body, *json, None)
            .await;
        assert!(
            anonymous.contains("NotSignedIn"),
            "{name} as nobody: {anonymous}"
        );
        let (_, forged) = app
            .call_server_fn(&registered, name, body, *json, Some("forged-session"))
            .await;
        assert!(
            forged.contains("NotSignedIn"),
            "{name} with a forged session: {forged}"
        );
        calls += 2;
        if *who == "admin" {
            let (_, agent) = app
                .call_server_fn(&registered, name, body, *json, Some(&agent_session))
                .await;
            assert!(agent.contains("Forbidden"), "{name} as an agent: {agent}");
            calls += 1;
        }
    }
    println!(
        "permission table: {} server functions, {calls} refused calls",
        table.len()
    );
    // Nothing of the demo changed.
    assert_eq!(status_of(&pool, id).await.0, "waiting_human");
    let tags: Vec<String> =
        sqlx::query_scalar("select tags from conversation where conversation_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(tags.is_empty());
}

#[sqlx::test(migrations = "../migrations")]
async fn a_reply_to_a_visitor_who_left_goes_by_email_and_its_link_continues_the_chat(pool: PgPool) {
    let smtp = Smtp::start().await;
    let app = TestApp::spawn_with(
        pool.clone(),
        Options {
            smtp: Some(smtp.url()),
            ..Default::default()
        },
    )
    .await;
    let mut visitor = escalated(&app).await;
    let id = visitor.conversation_id;
    visitor
        .act(ClientMsg::LeaveEmail {
            client_id: Uuid::new_v4(),
            email: "ada@example.com".into(),
        })
        .await
        .unwrap();
    let session = app.session().await;
    let mut alex = app.agent_socket(&session, id, 0).await;

    // While the chat is open, a reply is not emailed.
    alex.reply("Looking into it now.").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(smtp.messages().is_empty());
    let skipped: bool =
        sqlx::query_scalar("select skipped from email_outbox where conversation_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(skipped);

    // The visitor saw that reply, then leaves; the next replies go by
    // email, together.
    visitor.send(&ClientMsg::Seen { seq: 1_000 }).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(visitor);
    tokio::time::sleep(Duration::from_millis(300)).await;
    alex.reply("Your refund was sent today.").await;
    let mail = smtp.next_message(Duration::from_secs(10)).await;
    assert_eq!(mail.to, vec!["<ada@example.com>".to_owned()]);
    assert_eq!(mail.from, "<support@nimbus.example>");
    assert!(
        mail.data.contains(&format!(
            "Subject: {} replied to your question",
            tandem::demo::WORKSPACE_NAME
        )),
        "{}",
        mail.data
    );
    assert!(
        mail.data.contains("> Your refund was sent today."),
        "{}",
        mail.data
    );
    assert!(
        !mail.data.contains("Looking into it now"),
        "the reply seen in the chat is not repeated"
    );
    let link = mail
        .data
        .split_whitespace()
        .find(|w| w.contains("/widget?workspace=demo"))
        .expect("a link back to the chat")
        .to_owned();
    let key = link
        .split("resume=")
        .nth(1)
        .unwrap()
        .trim_end_matches('.')
        .to_owned();

    // The link opens the same conversation on another device; a reply
    // there continues it.
    let mut again = app.visitor_from_link(&key).await;
    assert_eq!(again.conversation_id, id);
    // A link's key is no visitor's token, and a visitor's token no link:
    // nobody fixes another browser's chat to their own conversation with
    // a crafted `resume=`.
    let as_token = app.visitor(Some(&key), 0).await;
    assert_ne!(as_token.conversation_id, id);
    let planted = app.visitor(None, 0).await;
    let their_token = planted.token.clone().unwrap();
    let fixed = app.visitor_from_link(&their_token).await;
    assert_ne!(fixed.conversation_id, planted.conversation_id);
    // A token kept from an earlier (or made-up) link never hides the
    // conversation of the link opened now.
    let both = app
        .visitor_with("demo", &format!("&token={their_token}&link={key}"), None, 0)
        .await;
    assert_eq!(both.conversation_id, id);
    let backlog = again
        .until(|m| match m {
            ServerMsg::Event { event } => match &event.body {
                EventBody::HumanReply { text, .. } if text.contains("refund") => Some(()),
                _ => None,
            },
            _ => None,
        })
        .await;
    drop(backlog);
    again.ask("Thanks, received!").await;
    let _ = again.until(stored).await;
    let last: String = sqlx::query_scalar(
        "select payload->>'text' from event where conversation_id = $1 and kind = 'visitor_message' order by seq desc limit 1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(last, "Thanks, received!");
    // A made-up key is a new visitor, not this one.
    let stranger = app.visitor(Some(&"ab".repeat(32)), 0).await;
    assert_ne!(stranger.conversation_id, id);

    // A visitor message left waiting reminds the assignee by email.
    sqlx::query(
        "update event set created_at = now() - interval '20 minutes' where conversation_id = $1",
    )
    .bind(id)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        tandem::mail::queue_reminders(&System(pool.clone()), &app.state.engines.mail)
            .await
            .unwrap(),
        1
    );
    let reminder = smtp.next_message(Duration::from_secs(10)).await;
    assert_eq!(
        reminder.to,
        vec![format!("<{}>", tandem::demo::ADMIN_EMAIL)]
    );
    assert!(
        reminder.data.contains(&format!("/inbox/{id}")),
        "{}",
        reminder.data
    );
    assert!(
        reminder.data.contains("> Thanks, received!"),
        "{}",
        reminder.data
    );
    assert_eq!(
        tandem::mail::queue_reminders(&System(pool.clone()), &app.state.engines.mail)
            .await
            .unwrap(),
        0
    );
}
