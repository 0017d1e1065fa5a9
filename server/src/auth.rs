//! Accounts, password hashes (argon2) and login sessions. Session tokens are
//! random; only their SHA-256 is stored.

use app::types::Role;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::db::{Scope, System};
use uuid::Uuid;

const SESSION_DAYS: i32 = 14;

pub fn hash_password(password: &str) -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).expect("16 bytes make a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default params")
        .to_string()
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A new random token (hex) for a cookie or a visitor.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// An account as stored (`Debug` shows its id only: no email, no hash).
#[derive(sqlx::FromRow)]
pub struct AccountRow {
    pub account_id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: String,
}

impl std::fmt::Debug for AccountRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRow")
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

/// The account with these credentials, if they are right. A missing account
/// costs as much time as a wrong password.
pub async fn check_credentials(
    pool: &PgPool,
    email: &str,
    password: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    let account = sqlx::query_as::<_, AccountRow>(
        "select account_id, email, name, password_hash from account where lower(email) = lower($1)",
    )
    .bind(email)
    .fetch_optional(pool)
    .await?;
    let checked = match account {
        Some(a) => verify_off_runtime(password, Some(a.password_hash))
            .await
            .then_some(a.account_id),
        None => {
            verify_off_runtime(password, None).await;
            None
        }
    };
    Ok(checked)
}

/// [`hash_password`] on a blocking thread (argon2 is tens of milliseconds
/// of CPU).
pub async fn hash_off_runtime(password: &str) -> String {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .expect("hashing task")
}

/// [`verify_password`] on a blocking thread; with no hash, a dummy one is
/// checked (and fails), so a missing account costs as much as a wrong
/// password.
pub async fn verify_off_runtime(password: &str, hash: Option<String>) -> bool {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || match hash {
        Some(hash) => verify_password(&password, &hash),
        None => {
            let _ = verify_password(&password, &DUMMY_HASH);
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random string, to spend the same time on unknown emails.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password(&new_token()));

pub async fn create_session(pool: &PgPool, account_id: Uuid) -> Result<String, sqlx::Error> {
    create_session_in(pool, account_id, None).await
}

/// A session looking at `workspace_id` (their first workspace: `None`).
pub async fn create_session_in(
    pool: &PgPool,
    account_id: Uuid,
    workspace_id: Option<Uuid>,
) -> Result<String, sqlx::Error> {
    let token = new_token();
    sqlx::query!(
        "insert into session (token_hash, account_id, expires_at, workspace_id)
         values ($1, $2, now() + make_interval(days => $3), $4)",
        token_hash(&token),
        account_id,
        SESSION_DAYS,
        workspace_id,
    )
    .execute(pool)
    .await?;
    Ok(token)
}

pub async fn end_session(pool: &PgPool, token: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from session where token_hash = $1",
        token_hash(token),
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Failed sign-ins allowed per email and client address within
/// [`THROTTLE_MINUTES`]: the guesser is paused, not the account (its owner
/// signs in from their own address all the same).
pub const FAILURES_PER_EMAIL: i64 = 5;
/// Failed sign-ins allowed per client address within [`THROTTLE_MINUTES`].
pub const FAILURES_PER_ADDRESS: i64 = 30;
pub const THROTTLE_MINUTES: i32 = 15;

fn throttle_keys(email: &str, address: Option<std::net::IpAddr>) -> Vec<String> {
    let mut keys = vec![account_key(email, address)];
    keys.extend(address.map(|a| format!("ip:{}", network(a))));
    keys
}

/// The key of an email's attempts from one address; `email` as
/// [`folded`] gives it.
fn account_key(email: &str, address: Option<std::net::IpAddr>) -> String {
    let from = address.map_or_else(|| "-".to_owned(), network);
    format!("email:{email}|{from}")
}

/// Where attempts come from: an IPv4 address, or an IPv6 address's /64
/// (one subscriber holds a whole /64, and would otherwise have as many
/// addresses as it likes).
fn network(address: std::net::IpAddr) -> String {
    match address {
        std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_default(),
        v4 => v4.to_string(),
    }
}

/// An email as the account lookup compares it (PostgreSQL's `lower`, not
/// Rust's: they differ on letters like İ, and a guesser would get five
/// more tries per spelling).
async fn folded(pool: &PgPool, email: &str) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("select lower($1)")
        .bind(email.trim())
        .fetch_one(pool)
        .await
}

/// Counts a sign-in attempt, unless sign-ins for this email or from this
/// address are paused (too many attempts that failed lately): false then.
/// The check and the count are one step under a per-key lock, so a burst of
/// parallel guesses is counted guess by guess; a success takes its own
/// attempt back ([`succeeded`]).
pub async fn attempt(
    pool: &PgPool,
    email: &str,
    address: Option<std::net::IpAddr>,
) -> Result<bool, sqlx::Error> {
    let keys = throttle_keys(&folded(pool, email).await?, address);
    let mut tx = pool.begin().await?;
    // In a stable order: two attempts never wait on each other's locks.
    let mut locks = keys.clone();
    locks.sort();
    for key in &locks {
        sqlx::query!(
            "select pg_advisory_xact_lock(hashtext('login:' || $1))",
            key,
        )
        .execute(&mut *tx)
        .await?;
    }
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "select key, count(*) from login_failure
          where key = any($1) and at > now() - make_interval(mins => $2) group by key",
    )
    .bind(&keys)
    .bind(THROTTLE_MINUTES)
    .fetch_all(&mut *tx)
    .await?;
    let paused = counts.iter().any(|(key, n)| {
        *n >= if key.starts_with("ip:") {
            FAILURES_PER_ADDRESS
        } else {
            FAILURES_PER_EMAIL
        }
    });
    if paused {
        return Ok(false);
    }
    sqlx::query!(
        "delete from login_failure where key = any($1) and at < now() - make_interval(mins => $2)",
        &keys,
        THROTTLE_MINUTES,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into login_failure (key) select unnest($1::text[])",
        &keys,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// A successful sign-in clears the email's failures and takes back its own
/// attempt from the address's count.
pub async fn succeeded(
    pool: &PgPool,
    email: &str,
    address: Option<std::net::IpAddr>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from login_failure where key = $1",
        account_key(&folded(pool, email).await?, address),
    )
    .execute(pool)
    .await?;
    if let Some(address) = address {
        sqlx::query!(
            "delete from login_failure where ctid = (
               select ctid from login_failure where key = $1 order by at desc limit 1)",
            format!("ip:{}", network(address)),
        )
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// Changes an account's password if `current` is right; every other session
/// of the account ends.
pub async fn change_password(
    pool: &PgPool,
    account_id: Uuid,
    keep_session: &str,
    current: &str,
    new: &str,
) -> Result<bool, sqlx::Error> {
    let hash: String = sqlx::query_scalar!(
        "select password_hash from account where account_id = $1",
        account_id,
    )
    .fetch_one(pool)
    .await?;
    if !verify_off_runtime(current, Some(hash)).await {
        return Ok(false);
    }
    let new_hash = hash_off_runtime(new).await;
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "update account set password_hash = $2 where account_id = $1",
        account_id,
        new_hash,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "delete from session where account_id = $1 and token_hash <> $2",
        account_id,
        token_hash(keep_session),
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// How long an invitation link works.
pub const INVITATION_DAYS: i32 = 7;

/// A new invitation to the workspace; returns its id and the link's token.
/// `emailed`: it goes to the invitee by email, never shown to the admin.
pub async fn invite(
    conn: &mut sqlx::PgConnection,
    workspace_id: Uuid,
    email: &str,
    role: Role,
    invited_by: Uuid,
    emailed: bool,
) -> Result<(Uuid, String), sqlx::Error> {
    let token = new_token();
    let invitation_id: Uuid = sqlx::query_scalar!(
        "insert into invitation (token_hash, workspace_id, email, role, invited_by, expires_at, emailed)
         values ($1, $2, $3, $4, $5, now() + make_interval(days => $6), $7)
         returning invitation_id",
        token_hash(&token),
        workspace_id,
        email,
        role.as_str(),
        invited_by,
        INVITATION_DAYS,
        emailed,
    )
    .fetch_one(conn)
    .await?;
    Ok((invitation_id, token))
}

/// Withdraws a pending invitation; false when there is none by this id.
pub async fn revoke_invitation(
    pool: &PgPool,
    workspace_id: Uuid,
    invitation_id: Uuid,
) -> Result<bool, sqlx::Error> {
    // Kept, marked: it still counts against the day's cap.
    let revoked = sqlx::query!(
        "update invitation set revoked_at = now()
          where workspace_id = $1 and invitation_id = $2 and accepted_at is null
            and revoked_at is null and expires_at > now()",
        workspace_id,
        invitation_id,
    )
    .execute(pool.ws(workspace_id))
    .await?;
    Ok(revoked.rows_affected() == 1)
}

/// An invitation that can still be accepted.
#[derive(Debug, sqlx::FromRow)]
pub struct PendingInvitation {
    pub workspace_id: Uuid,
    pub workspace_name: String,
    pub email: String,
    #[sqlx(try_from = "String")]
    pub role: app::types::Role,
    /// Its link reached the invitee by email: whoever holds it owns the
    /// address.
    pub emailed: bool,
}

/// The invitation of a token, if it can still be accepted.
///
/// The token is the credential: it is found across workspaces.
pub async fn invitation(
    system: &System,
    token: &str,
) -> Result<Option<PendingInvitation>, sqlx::Error> {
    sqlx::query_as(
        "select i.workspace_id, w.name as workspace_name, i.email, i.role, i.emailed
           from invitation i join workspace w using (workspace_id)
          where i.token_hash = $1 and i.accepted_at is null and i.revoked_at is null
            and i.expires_at > now()",
    )
    .bind(token_hash(token))
    .fetch_optional(system.pool())
    .await
}

/// Why an invitation could not be accepted.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("This invitation link is no longer valid. Ask for a new one.")]
    Invalid,
    #[error("That password is wrong for the existing account of this email.")]
    WrongPassword,
    #[error(
        "An account with this email was just created. Open the link again and use its password."
    )]
    AccountExists,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// How an invitation's acceptance reaches its account.
enum Joining {
    /// A new account with this password hash.
    New(String),
    /// The existing account, its password given.
    Existing,
    /// The existing account, whose email nobody had confirmed, now set to
    /// this password by the email's owner (the invitation was emailed).
    TakenOver(String),
}

/// Accepts an invitation: a new account with this name and password, or,
/// when the email already has an account (of another workspace), a
/// membership for it if the password is theirs. An emailed invitation
/// confirms the account's email; if nobody had confirmed it (the account
/// came from a link an admin handed over), the email's owner sets its
/// password and every other session of it ends. Returns the account and
/// the workspace.
pub async fn accept_invitation(
    pool: &PgPool,
    system: &System,
    token: &str,
    name: &str,
    password: &str,
) -> Result<(Uuid, Uuid), AcceptError> {
    let invitation = invitation(system, token)
        .await?
        .ok_or(AcceptError::Invalid)?;
    let existing: Option<(Uuid, String, bool)> = sqlx::query_as(
        "select account_id, password_hash, email_verified from account where lower(email) = lower($1)",
    )
    .bind(&invitation.email)
    .fetch_optional(pool)
    .await?;
    let (account_id, joining) = match existing {
        Some((account_id, hash, verified)) => {
            if verify_off_runtime(password, Some(hash)).await {
                (account_id, Joining::Existing)
            } else if invitation.emailed && !verified {
                (
                    account_id,
                    Joining::TakenOver(hash_off_runtime(password).await),
                )
            } else {
                return Err(AcceptError::WrongPassword);
            }
        }
        None => (
            Uuid::new_v4(),
            Joining::New(hash_off_runtime(password).await),
        ),
    };
    let mut tx = pool.ws(invitation.workspace_id).begin().await?;
    let claimed = sqlx::query!(
        "update invitation set accepted_at = now()
          where token_hash = $1 and accepted_at is null and revoked_at is null
            and expires_at > now()",
        token_hash(token),
    )
    .execute(&mut *tx)
    .await?;
    if claimed.rows_affected() != 1 {
        return Err(AcceptError::Invalid);
    }
    match joining {
        Joining::New(hash) => {
            let created = sqlx::query!(
                "insert into account (account_id, email, name, password_hash, email_verified)
                 values ($1, $2, $3, $4, $5)",
                account_id,
                &invitation.email,
                name,
                hash,
                invitation.emailed,
            )
            .execute(&mut *tx)
            .await;
            match created {
                Ok(_) => {}
                // Another invitation for this email was accepted meanwhile.
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                    return Err(AcceptError::AccountExists)
                }
                Err(err) => return Err(err.into()),
            }
        }
        Joining::Existing => {
            sqlx::query!(
                "update account set email_verified = email_verified or $2 where account_id = $1",
                account_id,
                invitation.emailed,
            )
            .execute(&mut *tx)
            .await?;
        }
        Joining::TakenOver(hash) => {
            sqlx::query!(
                "update account set password_hash = $2, name = $3, email_verified = true
                  where account_id = $1",
                account_id,
                hash,
                name,
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query!("delete from session where account_id = $1", account_id,)
                .execute(&mut *tx)
                .await?;
            tracing::info!(account.id = %account_id, "an unconfirmed account was taken over by its email's owner");
        }
    }
    sqlx::query!(
        "insert into membership (account_id, workspace_id, role) values ($1, $2, $3)
         on conflict (account_id, workspace_id) do nothing",
        account_id,
        invitation.workspace_id,
        invitation.role.as_str(),
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((account_id, invitation.workspace_id))
}

/// Points a session at another workspace of its account; false when the
/// account is not a member of it.
pub async fn switch_workspace(
    pool: &PgPool,
    token: &str,
    workspace_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let switched = sqlx::query!(
        "update session s set workspace_id = $2
          where s.token_hash = $1 and exists (
            select 1 from membership m where m.account_id = s.account_id and m.workspace_id = $2)",
        token_hash(token),
        workspace_id,
    )
    .execute(pool.ws(workspace_id))
    .await?;
    Ok(switched.rows_affected() == 1)
}

/// The signed-in agent behind a session token, in the workspace the session
/// looks at (their first one until they switch).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionAgent {
    pub account_id: Uuid,
    pub email: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: app::types::Role,
    pub workspace_id: Uuid,
    pub workspace_slug: String,
    pub workspace_name: String,
    pub away: bool,
}

/// Found across workspaces: the account's membership of the workspace the
/// session looks at, or its first one.
pub async fn session_agent(
    system: &System,
    token: &str,
) -> Result<Option<SessionAgent>, sqlx::Error> {
    sqlx::query_as::<_, SessionAgent>(
        "select a.account_id, a.email, a.name, m.role, w.workspace_id, w.slug as workspace_slug, w.name as workspace_name, m.away
         from session s
         join account a using (account_id)
         join membership m using (account_id)
         join workspace w on w.workspace_id = m.workspace_id
         where s.token_hash = $1 and s.expires_at > now()
         order by (m.workspace_id = s.workspace_id) is true desc, m.created_at limit 1",
    )
    .bind(token_hash(token))
    .fetch_optional(system.pool())
    .await
}

pub async fn create_account(
    pool: &PgPool,
    workspace_id: Uuid,
    email: &str,
    name: &str,
    password: &str,
    role: Role,
) -> Result<Uuid, sqlx::Error> {
    let hash = hash_off_runtime(password).await;
    let account_id = Uuid::new_v4();
    let mut tx = pool.ws(workspace_id).begin().await?;
    sqlx::query!(
        "insert into account (account_id, email, name, password_hash) values ($1, $2, $3, $4)",
        account_id,
        email,
        name,
        hash,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into membership (account_id, workspace_id, role) values ($1, $2, $3)",
        account_id,
        workspace_id,
        role.as_str(),
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(account_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_when_right() {
        let hash = hash_password("correct horse");
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("anything", "not a hash"));
        assert!(PasswordHash::new(&DUMMY_HASH).is_ok());
    }

    #[test]
    fn a_guesser_is_one_ipv6_network_not_one_address() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert_eq!(
            network(ip("2001:db8:1:2:aaaa::1")),
            network(ip("2001:db8:1:2:ffff:1:2:3"))
        );
        assert_ne!(
            network(ip("2001:db8:1:2::1")),
            network(ip("2001:db8:1:3::1"))
        );
        assert_eq!(network(ip("::ffff:203.0.113.9")), "203.0.113.9");
        assert_eq!(network(ip("203.0.113.9")), "203.0.113.9");
    }
}
