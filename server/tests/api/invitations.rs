//! Invitations: emailed when email is set up (the admin never sees the
//! link, so cannot accept it for an address they do not own nor learn
//! whether it has an account), shown otherwise; an account made from a
//! shown link is unconfirmed until an emailed invitation reaches its
//! address, whose owner then sets its password; revoking; a relay that
//! refuses makes no invitation.

use std::time::Duration;

use app::error::DeskError;
use app::types::inbox::Invited;
use sqlx::PgPool;

use crate::helpers::desks::*;
use crate::helpers::{shown_token, Options, TestApp, ADMIN_PASSWORD};
use crate::smtp::{Mail, Smtp};

/// The token of the invitation link in an email.
fn token_in(mail: &Mail) -> String {
    let start = mail.data.find("/invite/").expect("an invitation link") + "/invite/".len();
    mail.data[start..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect()
}

async fn confirmed(pool: &PgPool, email: &str) -> bool {
    sqlx::query_scalar("select email_verified from account where email = $1")
        .bind(email)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn mailing(pool: &PgPool, smtp: &Smtp) -> TestApp {
    TestApp::spawn_with(
        pool.clone(),
        Options {
            smtp: Some(smtp.url()),
            ..Default::default()
        },
    )
    .await
}

#[sqlx::test(migrations = "../migrations")]
async fn an_emailed_invitation_is_the_invitees_alone(pool: PgPool) {
    let smtp = Smtp::start().await;
    let app = mailing(&pool, &smtp).await;
    let desk = &app.state.desk;
    let admin = app.admin().await;

    // The admin learns where it went, not the link.
    let invited = desk
        .invite(&admin, "Kim@Nimbus.example", "agent")
        .await
        .unwrap();
    assert_eq!(invited, Invited::Emailed("Kim@Nimbus.example".into()));
    let team = desk.team_admin(&admin).await.unwrap();
    assert!(team.email_invitations);
    assert_eq!(team.invitations.len(), 1);
    assert!(team.invitations[0].emailed);

    let mail = smtp.next_message(Duration::from_secs(10)).await;
    assert_eq!(mail.to, vec!["<Kim@Nimbus.example>".to_owned()]);
    assert!(
        mail.data
            .contains("Alex (demo admin) invited you to join Nimbus"),
        "{}",
        mail.data
    );
    assert!(mail.data.contains(&app.url("/invite/")), "{}", mail.data);
    let token = token_in(&mail);
    assert_eq!(token.len(), 64);
    let shown = serde_json::to_string(&team).unwrap() + &format!("{invited:?}");
    assert!(!shown.contains(&token), "the admin never sees the token");

    // Kim accepts from the email: the address is confirmed.
    let session = desk
        .accept_invitation(&token, "Kim", "kim-password-1")
        .await
        .unwrap();
    assert_eq!(
        desk.signed_in(&session).await.unwrap().workspace_id,
        app.workspace_id
    );
    assert!(confirmed(&pool, "Kim@Nimbus.example").await);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_account_from_a_shown_link_is_unconfirmed_until_its_addresss_owner_takes_it(
    pool: PgPool,
) {
    // One install, two instances: one without email (links shown), one
    // with.
    let plain = TestApp::spawn(pool.clone()).await;
    let smtp = Smtp::start().await;
    let with_mail = mailing(&pool, &smtp).await;
    let (desk, mail_desk) = (&plain.state.desk, &with_mail.state.desk);
    let admin = plain.admin().await;

    // The demo's admin makes an account for an address that is not theirs.
    let token = shown_token(
        desk.invite(&admin, "ada@example.com", "agent")
            .await
            .unwrap(),
    );
    let squatter = desk
        .accept_invitation(&token, "Not Ada", "squatter-password-1")
        .await
        .unwrap();
    assert!(!confirmed(&pool, "ada@example.com").await);

    // Another workspace invites Ada by email; she sets her own password,
    // and the squatter's sessions and password end.
    let (acme, eve) = with_mail
        .other_workspace("acme", "eve@acme.example", "admin")
        .await;
    let eve = app::desk::Admin::check(mail_desk.signed_in(&eve).await.unwrap()).unwrap();
    mail_desk
        .invite(&eve, "ada@example.com", "agent")
        .await
        .unwrap();
    let token = token_in(&smtp.next_message(Duration::from_secs(10)).await);
    let session = mail_desk
        .accept_invitation(&token, "Ada Lovelace", "adas-own-password")
        .await
        .unwrap();
    let ada = mail_desk.signed_in(&session).await.unwrap();
    assert_eq!(
        (ada.workspace_id, ada.profile.name.as_str()),
        (acme, "Ada Lovelace")
    );
    assert!(confirmed(&pool, "ada@example.com").await);
    assert_eq!(
        desk.signed_in(&squatter).await.unwrap_err(),
        DeskError::NotSignedIn
    );
    assert!(desk
        .login("ada@example.com", "squatter-password-1", None)
        .await
        .is_err());
    assert!(desk
        .login("ada@example.com", "adas-own-password", None)
        .await
        .is_ok());

    // A confirmed account is never taken over: an emailed invitation to it
    // needs its password.
    mail_desk
        .invite(&eve, "admin@nimbus.example", "agent")
        .await
        .unwrap();
    let token = token_in(&smtp.next_message(Duration::from_secs(10)).await);
    let refused = mail_desk
        .accept_invitation(&token, "Eve's Alex", "another-password-1")
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, DeskError::Invalid(m) if m.contains("password is wrong")),
        "{refused:?}"
    );
    mail_desk
        .accept_invitation(&token, "Alex", ADMIN_PASSWORD)
        .await
        .unwrap();
    assert!(desk
        .login("admin@nimbus.example", ADMIN_PASSWORD, None)
        .await
        .is_ok());
}

#[sqlx::test(migrations = "../migrations")]
async fn a_revoked_invitation_stops_working_and_a_refusing_relay_makes_none(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let desk = &app.state.desk;
    let admin = app.admin().await;
    let token = shown_token(
        desk.invite(&admin, "sam@nimbus.example", "agent")
            .await
            .unwrap(),
    );
    // A name that reorders the text around it is refused.
    let refused = desk
        .accept_invitation(&token, "Sam\u{202E}nimdA", "sam-password-1")
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, DeskError::Invalid(m) if m.contains("control characters")),
        "{refused:?}"
    );
    let team = desk.team_admin(&admin).await.unwrap();
    assert!(!team.email_invitations);
    let id = team.invitations[0].invitation_id;
    assert!(!team.invitations[0].emailed);
    desk.revoke_invitation(&admin, id).await.unwrap();
    assert!(desk.invitation(&token).await.is_err());
    assert!(desk
        .accept_invitation(&token, "Sam", "sam-password-1")
        .await
        .is_err());
    assert_eq!(
        desk.revoke_invitation(&admin, id).await.unwrap_err(),
        DeskError::NotFound
    );

    // A relay nobody answers on: a clear error, and no invitation.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let broken = TestApp::spawn_with(
        pool.clone(),
        Options {
            smtp: Some(format!("smtp://127.0.0.1:{port}")),
            ..Default::default()
        },
    )
    .await;
    let refused = broken
        .state
        .desk
        .invite(&admin, "lee@nimbus.example", "agent")
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, DeskError::Invalid(m) if m.contains("could not be sent")),
        "{refused:?}"
    );
    assert!(desk
        .team_admin(&admin)
        .await
        .unwrap()
        .invitations
        .is_empty());
}

#[sqlx::test(migrations = "../migrations")]
async fn parallel_requests_count_one_by_one_against_the_caps(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let desk = &app.state.desk;
    let admin = app.admin().await;
    // Twenty at once to one address: one invitation.
    let same = futures::future::join_all(
        (0..20).map(|_| desk.invite(&admin, "race@nimbus.example", "agent")),
    )
    .await;
    assert_eq!(same.iter().filter(|r| r.is_ok()).count(), 1);
    // Revoked ones still count; then 120 at once to as many addresses: the
    // day's 100 and no more.
    let id = desk.team_admin(&admin).await.unwrap().invitations[0].invitation_id;
    desk.revoke_invitation(&admin, id).await.unwrap();
    let addresses: Vec<String> = (0..120).map(|i| format!("p{i}@nimbus.example")).collect();
    let many =
        futures::future::join_all(addresses.iter().map(|a| desk.invite(&admin, a, "agent"))).await;
    assert_eq!(many.iter().filter(|r| r.is_ok()).count(), 99);

    // Fifteen workspaces at once: ten a day, counted by who created them.
    let session = app.session().await;
    let made = futures::future::join_all((0..15).map(|i| {
        desk.create_workspace(
            &admin,
            &session,
            app::types::setup::NewWorkspace {
                name: format!("Branch {i}"),
                days: "always".into(),
                ..Default::default()
            },
        )
    }))
    .await;
    assert_eq!(made.iter().filter(|r| r.is_ok()).count(), 10);
}
