//! Accounts, password hashes (argon2) and login sessions. Session tokens are
//! random; only their SHA-256 is stored.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
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

#[derive(Debug, sqlx::FromRow)]
pub struct AccountRow {
    pub account_id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: String,
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
    let password = password.to_owned();
    let checked = tokio::task::spawn_blocking(move || match account {
        Some(a) if verify_password(&password, &a.password_hash) => Some(a.account_id),
        Some(_) => None,
        None => {
            let _ = verify_password(&password, &DUMMY_HASH);
            None
        }
    })
    .await
    .unwrap_or(None);
    Ok(checked)
}

/// A hash of a random string, to spend the same time on unknown emails.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password(&new_token()));

pub async fn create_session(pool: &PgPool, account_id: Uuid) -> Result<String, sqlx::Error> {
    let token = new_token();
    sqlx::query(
        "insert into session (token_hash, account_id, expires_at)
         values ($1, $2, now() + make_interval(days => $3))",
    )
    .bind(token_hash(&token))
    .bind(account_id)
    .bind(SESSION_DAYS)
    .execute(pool)
    .await?;
    Ok(token)
}

pub async fn end_session(pool: &PgPool, token: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from session where token_hash = $1")
        .bind(token_hash(token))
        .execute(pool)
        .await?;
    Ok(())
}

/// The signed-in agent behind a session token, with their (first) workspace.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionAgent {
    pub account_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub workspace_id: Uuid,
    pub workspace_slug: String,
    pub workspace_name: String,
}

pub async fn session_agent(
    pool: &PgPool,
    token: &str,
) -> Result<Option<SessionAgent>, sqlx::Error> {
    sqlx::query_as::<_, SessionAgent>(
        "select a.account_id, a.email, a.name, m.role, w.workspace_id, w.slug as workspace_slug, w.name as workspace_name
         from session s
         join account a using (account_id)
         join membership m using (account_id)
         join workspace w using (workspace_id)
         where s.token_hash = $1 and s.expires_at > now()
         order by m.created_at limit 1",
    )
    .bind(token_hash(token))
    .fetch_optional(pool)
    .await
}

pub async fn create_account(
    pool: &PgPool,
    workspace_id: Uuid,
    email: &str,
    name: &str,
    password: &str,
    role: &str,
) -> Result<Uuid, sqlx::Error> {
    let hash = {
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .expect("hashing task")
    };
    let account_id = Uuid::new_v4();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "insert into account (account_id, email, name, password_hash) values ($1, $2, $3, $4)",
    )
    .bind(account_id)
    .bind(email)
    .bind(name)
    .bind(hash)
    .execute(&mut *tx)
    .await?;
    sqlx::query("insert into membership (account_id, workspace_id, role) values ($1, $2, $3)")
        .bind(account_id)
        .bind(workspace_id)
        .bind(role)
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
}
