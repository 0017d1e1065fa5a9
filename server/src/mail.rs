//! Email over SMTP (`lettre`): follow-ups to visitors who left an email and
//! are gone when the team replies, and reminders to agents whose visitor
//! waits. Emails go through `email_outbox`: queued in the database, sent by
//! whichever instance claims them, retried with back-off.
//!
//! A follow-up is composed when it is sent: every team reply the visitor
//! has not seen since the last email, and a link that opens the same
//! conversation in the chat (on any device). It is skipped when the
//! visitor's chat is open or they saw the replies meanwhile.

use app::types::Role;
use std::sync::Arc;
use std::time::Duration;

use app::types::EventBody;
use lettre::message::{header::ContentType, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth;
use crate::db::{InWorkspace, Scope, System};

/// How long the link in a follow-up opens the chat.
const LINK_DAYS: i32 = 30;
/// How often an instance looks for emails to send.
const POLL_EVERY: Duration = Duration::from_millis(500);
/// At most this many attempts per email.
const MAX_ATTEMPTS: i32 = 8;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("TANDEM_SMTP_URL: {0}")]
    Url(String),
    #[error("TANDEM_MAIL_FROM is not an address: {0}")]
    From(String),
}

/// Email settings; without an SMTP URL, nothing is sent (and nothing queued).
#[derive(Clone)]
pub struct Mail {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    /// How long after a team reply its follow-up waits (the visitor may be
    /// about to see it in the chat).
    pub follow_up_delay: Duration,
}

impl Mail {
    /// `smtp://[user:pass@]host[:port]` (STARTTLS when offered; add
    /// `?tls=required` to insist) or `smtps://…` (TLS); `None`: no email.
    pub fn new(
        smtp_url: Option<&str>,
        from: &str,
        follow_up_delay: Duration,
    ) -> Result<Arc<Self>, MailError> {
        let transport = match smtp_url.filter(|u| !u.is_empty()) {
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| MailError::Url(e.to_string()))?
                    .timeout(Some(Duration::from_secs(20)))
                    .build(),
            ),
            None => None,
        };
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| MailError::From(e.to_string()))?;
        Ok(Arc::new(Self {
            transport,
            from,
            follow_up_delay,
        }))
    }

    /// No email at all.
    pub fn disabled() -> Arc<Self> {
        Self::new(None, "Tandem <tandem@localhost>", Duration::ZERO).expect("a valid address")
    }

    pub fn enabled(&self) -> bool {
        self.transport.is_some()
    }

    /// Sends one email now (not through the outbox): for an admin who waits
    /// to hear whether it went. The error is the relay's, for the log.
    pub async fn send_now(&self, to: &str, subject: &str, body: String) -> Result<(), String> {
        let transport = self.transport.as_ref().ok_or("email is off")?;
        let to = to.parse::<Mailbox>().map_err(|e| e.to_string())?;
        transport
            .send(message(self.from.clone(), to, subject, body))
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

/// An invitation email: who invited whom to which workspace, and the link.
pub fn invitation(inviter: &str, workspace: &str, role: Role, link: &str) -> (String, String) {
    let subject = format!("{inviter} invited you to {workspace} on Tandem");
    let body = format!(
        "{inviter} invited you to join {workspace} on Tandem as {role}: \
         the team answers its customers' handed-off conversations there.\n\n\
         Join the team: {link}\n\n\
         The link works for {days} days and once. If you did not expect this \
         email, ignore it: nothing happens without the link.\n",
        role = role.with_article(),
        days = auth::INVITATION_DAYS,
    );
    (subject, body)
}

/// Queues (or extends) the follow-up of a team reply, if the visitor left
/// an email (or their site gave one).
pub async fn follow_up(
    db: InWorkspace<'_>,
    mail: &Mail,
    conversation_id: Uuid,
    reply_seq: i64,
) -> Result<(), sqlx::Error> {
    if !mail.enabled() {
        return Ok(());
    }
    sqlx::query!(
        "insert into email_outbox (email_id, workspace_id, conversation_id, kind, to_address, upto_seq, send_after)
         select $1, c.workspace_id, c.conversation_id, 'follow_up', coalesce(c.follow_up_email, v.email), $3,
                now() + make_interval(secs => $4)
           from conversation c join visitor v using (visitor_id)
          where c.conversation_id = $2 and coalesce(c.follow_up_email, v.email) is not null
         on conflict (conversation_id, kind) where sent_at is null and not skipped
         do update set upto_seq = greatest(email_outbox.upto_seq, excluded.upto_seq),
                       send_after = excluded.send_after",
        Uuid::new_v4(),
        conversation_id,
        reply_seq,
        mail.follow_up_delay.as_secs_f64(),
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Queues reminders to assignees whose visitor has waited longer than the
/// workspace's `remind_after_minutes` since their last message with no
/// team reply after it; one per visitor message. Returns how many. Across
/// workspaces (a sweep).
pub async fn queue_reminders(system: &System, mail: &Mail) -> Result<u64, sqlx::Error> {
    if !mail.enabled() {
        return Ok(0);
    }
    let queued = sqlx::query!(
        "with due as (
           select c.conversation_id, c.workspace_id, c.visitor_seq, a.email
             from conversation c
             join account a on a.account_id = c.assignee_id
             join membership m on m.account_id = c.assignee_id and m.workspace_id = c.workspace_id
             left join inbox_settings s on s.workspace_id = c.workspace_id
             join event e on e.conversation_id = c.conversation_id and e.seq = c.visitor_seq
            where c.status in ('waiting_human', 'open') and c.visitor_seq > c.reminded_seq
              and e.created_at < now() - make_interval(mins => coalesce(s.remind_after_minutes, 15))
              and not exists (select 1 from event r where r.conversation_id = c.conversation_id
                               and r.seq > c.visitor_seq and r.kind = 'human_reply')
            for update of c skip locked
         ), marked as (
           update conversation c set reminded_seq = due.visitor_seq from due
            where c.conversation_id = due.conversation_id
         )
         insert into email_outbox (email_id, workspace_id, conversation_id, kind, to_address, upto_seq)
         select gen_random_uuid(), workspace_id, conversation_id, 'reminder', email, visitor_seq from due
         on conflict (conversation_id, kind) where sent_at is null and not skipped
         do update set upto_seq = excluded.upto_seq",
    )
    .execute(system.pool())
    .await?;
    Ok(queued.rows_affected())
}

/// The visitor's chat is open (on connect and every heartbeat), until
/// `for_how_long` unless renewed.
pub async fn visitor_here(
    db: InWorkspace<'_>,
    visitor_id: Uuid,
    for_how_long: Duration,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update visitor set connected_until = now() + make_interval(secs => $2) where visitor_id = $1",
        visitor_id,
        for_how_long.as_secs_f64(),
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn visitor_gone(db: InWorkspace<'_>, visitor_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update visitor set connected_until = null where visitor_id = $1",
        visitor_id,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Sends due emails on this instance, forever.
pub fn spawn_sender(pool: PgPool, system: System, mail: Arc<Mail>, public_url: Arc<str>) {
    if !mail.enabled() {
        tracing::info!("email follow-up is off (set TANDEM_SMTP_URL to turn it on)");
        return;
    }
    tokio::spawn(async move {
        let mut reminders_due = tokio::time::Instant::now();
        loop {
            if tokio::time::Instant::now() >= reminders_due {
                if let Err(err) = queue_reminders(&system, &mail).await {
                    tracing::warn!(error = %err, "queueing reminders failed");
                }
                if let Err(err) = sqlx::query!("delete from visitor_link where expires_at < now()",)
                    .execute(system.pool())
                    .await
                {
                    tracing::warn!(error = %err, "deleting expired links failed");
                }
                reminders_due = tokio::time::Instant::now() + Duration::from_secs(15);
            }
            match send_due(&pool, &system, &mail, &public_url).await {
                Ok(0) => tokio::time::sleep(POLL_EVERY).await,
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "sending email failed");
                    tokio::time::sleep(POLL_EVERY).await;
                }
            }
        }
    });
}

#[derive(sqlx::FromRow)]
struct Due {
    email_id: Uuid,
    workspace_id: Uuid,
    conversation_id: Uuid,
    kind: String,
    to_address: String,
    upto_seq: i64,
    attempts: i32,
    visitor_id: Uuid,
    connected: bool,
    /// A signed-in user of the site (their link is the site's page).
    verified: bool,
    page_url: Option<String>,
    visitor_saw: i64,
    emailed_seq: i64,
    workspace_name: String,
    workspace_slug: String,
}

/// What to do with a due email.
enum Outcome {
    Send(Message),
    Skip(&'static str),
}

/// How long a claimed email is this instance's to send: if it dies while
/// sending, another instance sends it after this (at least once).
const CLAIM_SECS: f64 = 120.0;

/// Sends the emails that are due now; returns how many it dealt with. Each
/// is claimed in a short transaction (the row locked, pushed out of reach
/// for [`CLAIM_SECS`]), composed and sent with no transaction open (a slow
/// relay holds no lock), and its outcome recorded in another. Due emails
/// are found across workspaces; each is dealt with in its own.
pub async fn send_due(
    pool: &PgPool,
    system: &System,
    mail: &Mail,
    public_url: &str,
) -> Result<usize, sqlx::Error> {
    let Some(transport) = &mail.transport else {
        return Ok(0);
    };
    let mut dealt = 0;
    loop {
        let due = sqlx::query_as::<_, Due>(
            "with claimed as (
               select email_id from email_outbox
                where sent_at is null and not skipped and send_after <= now()
                order by send_after limit 1
                for update skip locked
             ), pushed as (
               update email_outbox o set send_after = now() + make_interval(secs => $1)
                 from claimed where o.email_id = claimed.email_id
               returning o.*
             )
             select o.email_id, o.workspace_id, o.conversation_id, o.kind, o.to_address, o.upto_seq, o.attempts,
                    c.visitor_id, coalesce(v.connected_until > now(), false) as connected,
                    v.verified, c.page_url,
                    coalesce((select s.seq from seen s where s.conversation_id = o.conversation_id
                               and s.party = 'visitor'), 0) as visitor_saw,
                    c.emailed_seq, w.name as workspace_name, w.slug as workspace_slug
               from pushed o
               join conversation c using (conversation_id)
               join visitor v on v.visitor_id = c.visitor_id
               join workspace w on w.workspace_id = o.workspace_id",
        )
        .bind(CLAIM_SECS)
        .fetch_optional(system.pool())
        .await?;
        let Some(due) = due else {
            return Ok(dealt);
        };
        dealt += 1;
        let db = pool.ws(due.workspace_id);
        match compose(db, mail, public_url, &due).await? {
            Outcome::Skip(why) => {
                tracing::debug!(email.id = %due.email_id, why, "email skipped");
                sqlx::query!(
                    "update email_outbox set skipped = true, last_error = $2 where email_id = $1",
                    due.email_id,
                    why,
                )
                .execute(db)
                .await?;
            }
            Outcome::Send(message) => match transport.send(message).await {
                Ok(_) => {
                    let mut tx = db.begin().await?;
                    sqlx::query!(
                        "update email_outbox set sent_at = now(), attempts = attempts + 1 where email_id = $1",
                        due.email_id,
                    )
                        .execute(&mut *tx)
                        .await?;
                    if due.kind == "follow_up" {
                        sqlx::query!(
                            "update conversation set emailed_seq = greatest(emailed_seq, $2) where conversation_id = $1",
                            due.conversation_id,
                            due.upto_seq,
                        )
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    tracing::info!(email.id = %due.email_id, kind = %due.kind, "email sent");
                }
                Err(err) => {
                    let attempts = due.attempts + 1;
                    tracing::warn!(email.id = %due.email_id, attempts, error = %err, "email not sent");
                    // 30 s, 1 min, 2 min, … then give up.
                    sqlx::query(
                        "update email_outbox set attempts = $2, last_error = $3,
                            skipped = $2 >= $4,
                            send_after = now() + make_interval(secs => 30 * power(2, $2 - 1))
                          where email_id = $1",
                    )
                    .bind(due.email_id)
                    .bind(attempts)
                    .bind(err.to_string())
                    .bind(MAX_ATTEMPTS)
                    .execute(db)
                    .await?;
                }
            },
        }
    }
}

async fn compose(
    db: InWorkspace<'_>,
    mail: &Mail,
    public_url: &str,
    due: &Due,
) -> Result<Outcome, sqlx::Error> {
    let Ok(to) = due.to_address.parse::<Mailbox>() else {
        return Ok(Outcome::Skip("not an email address"));
    };
    let from = |name: &str| Mailbox::new(Some(no_encoded_word(name)), mail.from.email.clone());
    if due.kind == "reminder" {
        let waiting: Option<String> = sqlx::query_scalar(
            "select payload->>'text' from event where conversation_id = $1 and seq = $2",
        )
        .bind(due.conversation_id)
        .bind(due.upto_seq)
        .fetch_optional(db)
        .await?;
        let body = format!(
            "A visitor is waiting for your reply in {workspace}:\n\n{quote}\n\nReply in the inbox: {public_url}/inbox/{id}\n",
            workspace = due.workspace_name,
            quote = quote(waiting.as_deref().unwrap_or("")),
            id = due.conversation_id,
        );
        return Ok(Outcome::Send(message(
            from(&due.workspace_name),
            to,
            &format!(
                "A visitor is waiting for your reply ({})",
                due.workspace_name
            ),
            body,
        )));
    }
    if due.connected {
        return Ok(Outcome::Skip("the visitor's chat is open"));
    }
    if due.visitor_saw >= due.upto_seq {
        return Ok(Outcome::Skip("the visitor saw the replies in the chat"));
    }
    let from_seq = due.emailed_seq.max(due.visitor_saw);
    let replies: Vec<(sqlx::types::Json<EventBody>,)> = sqlx::query_as(
        "select payload from event where conversation_id = $1 and seq > $2 and seq <= $3
           and kind = 'human_reply' order by seq",
    )
    .bind(due.conversation_id)
    .bind(from_seq)
    .bind(due.upto_seq)
    .fetch_all(db)
    .await?;
    let replies: Vec<(String, String)> = replies
        .into_iter()
        .filter_map(|(body,)| match body.0 {
            EventBody::HumanReply { text, agent_name } => Some((agent_name, text)),
            _ => None,
        })
        .collect();
    if replies.is_empty() {
        return Ok(Outcome::Skip("no reply left to send"));
    }
    // A link is a key to the visitor's chat, for anonymous visitors; a
    // signed-in user continues where their site signs them in.
    let link = if due.verified {
        due.page_url
            .clone()
            .unwrap_or_else(|| public_url.to_owned())
    } else {
        link(db, due.visitor_id, public_url, &due.workspace_slug).await?
    };
    let mut body = String::new();
    for (agent, text) in &replies {
        body.push_str(&format!(
            "{agent} from {} wrote:\n\n{}\n\n",
            due.workspace_name,
            quote(text)
        ));
    }
    body.push_str(&format!(
        "Reply in the chat, where the whole conversation is: {link}\n\n\
         You get this email because you left your address in the chat.\n"
    ));
    let first_agent = &replies[0].0;
    Ok(Outcome::Send(message(
        from(&format!("{first_agent} ({})", due.workspace_name)),
        to,
        &format!("{} replied to your question", due.workspace_name),
        body,
    )))
}

/// Names (a workspace's, an agent's) go into headers as they are when they
/// are ASCII: an encoded word in one ("=?utf-8?q?…?=") would be decoded by
/// the reader's mail client into whatever it hides.
fn no_encoded_word(text: &str) -> String {
    text.replace("=?", "= ?")
}

fn message(from: Mailbox, to: Mailbox, subject: &str, body: String) -> Message {
    Message::builder()
        .from(from)
        .to(to)
        .subject(no_encoded_word(subject))
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .expect("a message with from, to and a text body")
}

/// Text quoted email-style.
fn quote(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                ">".to_owned()
            } else {
                format!("> {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A new link that opens the visitor's chat (on any device) for
/// [`LINK_DAYS`]: `/widget?…&resume=TOKEN`.
async fn link(
    db: InWorkspace<'_>,
    visitor_id: Uuid,
    public_url: &str,
    workspace_slug: &str,
) -> Result<String, sqlx::Error> {
    let token = auth::new_token();
    sqlx::query!(
        "insert into visitor_link (token_hash, visitor_id, expires_at)
         values ($1, $2, now() + make_interval(days => $3))",
        auth::token_hash(&token),
        visitor_id,
        LINK_DAYS,
    )
    .execute(db)
    .await?;
    let host = url::form_urlencoded::byte_serialize(public_url.as_bytes()).collect::<String>();
    Ok(format!(
        "{public_url}/widget?workspace={workspace_slug}&host={host}&resume={token}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_encoded_word_reaches_a_subject_or_a_sender() {
        let (subject, body) = invitation(
            "Eve",
            "Acme =?utf-8?q?=E2=80=AE?=xcod.eciovni",
            Role::Agent,
            "https://support.example/invite/ab",
        );
        assert!(body.contains("https://support.example/invite/ab"));
        let sender = Mailbox::new(
            Some(no_encoded_word("Eve =?utf-8?q?=E2=80=AE?= (Acme)")),
            "tandem@support.example".parse().unwrap(),
        );
        let sent = message(sender, "ada@example.com".parse().unwrap(), &subject, body);
        let headers = String::from_utf8(sent.formatted()).unwrap();
        let headers = headers.split("\r\n\r\n").next().unwrap();
        assert!(!headers.contains("=?utf-8?q?=E2"), "{headers}");
        assert!(
            headers.contains("Acme = ?utf-8?q?=E2=80=AE?=xcod"),
            "{headers}"
        );
    }

    #[test]
    fn replies_are_quoted_line_by_line() {
        assert_eq!(quote("one\n\ntwo"), "> one\n>\n> two");
    }

    #[test]
    fn settings_are_checked() {
        assert!(Mail::new(
            Some("smtp://127.0.0.1:2525"),
            "Support <help@example.com>",
            Duration::ZERO
        )
        .is_ok_and(|m| m.enabled()));
        assert!(Mail::new(Some("ftp://nope"), "help@example.com", Duration::ZERO).is_err());
        assert!(Mail::new(None, "not an address", Duration::ZERO).is_err());
        assert!(!Mail::disabled().enabled());
    }
}
